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

venv: $(STAMP) $(COLLECTION_LINK)

$(STAMP): requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	touch $@

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

sanity: venv system-deps
	bash tests/tools/sanity.sh

lint: venv
	$(BIN)/ansible-lint --offline --profile production

changelog-lint: venv
	$(BIN)/antsibull-changelog lint

# shellcheck backs ansible-test's shellcheck sanity test; install it where the machine lets us.
system-deps:
	@command -v shellcheck >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null) ; } || \
	  echo "shellcheck not installed: ansible-test will skip its shellcheck test"

# The closing line adds up the three pytest suites (sanity, lint and changelog-lint fail the run on their own).
test: venv unit lab-test integration sanity lint changelog-lint
	@$(BIN)/python tests/tools/summary.py $(RESULTS)/unit.xml $(RESULTS)/lab.xml $(RESULTS)/integration.xml

demo: venv
	$(BIN)/python scripts/demo.py

bench: venv
	$(BIN)/python benchmarks/run_all.py $(BENCH)

clean:
	rm -rf $(VENV) build out .lab-state
