# mailops.port25 — developer commands. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(VENV)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/mailops/port25
STAMP := $(VENV)/.installed
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(COLLECTIONS):$(CURDIR)/tests/lab
export ANSIBLE_NOCOLOR := 1
export PATH := $(BIN):$(PATH)

.PHONY: help venv system-deps unit lab-test integration sanity lint changelog-lint test demo bench clean

help:
	@echo "make demo   - start a lab fleet, diagnose (and fix) every host, show the verdicts"
	@echo "make test   - unit, lab, integration, ansible-test sanity and ansible-lint"
	@echo "make bench  - print the performance figures (not part of make test)"

venv: system-deps $(STAMP) $(COLLECTION_LINK)

# The Kerberos bindings (gssapi, krb5, pykerberos) build from source against libkrb5-dev: a few minutes the first
# time, seconds afterwards from pip's wheel cache. Without libkrb5-dev they are left out (the Kerberos tests are then
# skipped), except under CI=true, where that fails; the stamp is only written once everything is in.
KERBEROS_BINDINGS := gssapi|krb5|pykerberos
$(STAMP): requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if PATH=$$PATH:/usr/sbin command -v krb5-config >/dev/null; then \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt && touch $@; \
	elif [ "$$CI" = true ]; then \
	  echo "venv: error: krb5-config (Debian package libkrb5-dev) is missing: cannot build $(KERBEROS_BINDINGS)" >&2; exit 1; \
	else \
	  echo "venv: warning: no krb5-config (libkrb5-dev): installing without $(KERBEROS_BINDINGS); Kerberos tests will be skipped"; \
	  grep -vE '^($(KERBEROS_BINDINGS))==' requirements/dev.txt > $(VENV)/requirements-without-kerberos.txt && \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements-without-kerberos.txt; \
	fi

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

RESULTS := $(CURDIR)/out/test-results

unit: venv
	$(BIN)/python -m pytest -q tests/unit --junitxml=$(RESULTS)/unit.xml

lab-test: venv
	$(BIN)/python -m pytest -q tests/lab/tests --junitxml=$(RESULTS)/lab.xml

integration: venv
	$(BIN)/python -m pytest -q tests/integration --junitxml=$(RESULTS)/integration.xml

sanity: venv
	bash tests/tools/sanity.sh

lint: venv
	$(BIN)/ansible-lint --offline --profile production

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

# Debian packages: shellcheck (ansible-test), the MIT KDC and Kerberos tools (the lab's realm, kinit) and libkrb5-dev
# (the Python Kerberos bindings); installed where the machine lets us, see the script.
system-deps:
	@bash tests/tools/system-deps.sh

# The closing line adds up the three pytest suites (sanity, lint and changelog-lint fail the run on their own).
test: venv unit lab-test integration sanity lint changelog-lint
	@$(BIN)/python tests/tools/summary.py $(RESULTS)/unit.xml $(RESULTS)/lab.xml $(RESULTS)/integration.xml

demo: venv
	$(BIN)/python scripts/demo.py

bench: venv
	$(BIN)/python benchmarks/run_all.py $(BENCH)

clean:
	rm -rf $(VENV) build out .lab-state
