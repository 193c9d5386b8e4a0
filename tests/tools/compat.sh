#!/usr/bin/env bash
# Run the integration suite with an older ansible-core, to check meta/runtime.yml's requires_ansible.
#
#   bash tests/tools/compat.sh 2.16 [pytest args...]     e.g. bash tests/tools/compat.sh 2.17 -x -k report
#
# Builds (once) a throwaway venv outside the repository with the newest ansible-core of that minor release
# plus the test dependencies pinned in requirements/dev.txt, then runs tests/integration with it. The project
# .venv is only used for its collections symlink (created here if missing). Not part of `make test`.
# Environment: COMPAT_VENV (default /tmp/port25-compat-<version>), PYTHON (default python3; ansible-core 2.16
# needs 3.10 or later). Remove the venv to pick up a newer patch release.
set -euo pipefail

if [ $# -lt 1 ] || ! [[ $1 =~ ^2\.[0-9]+$ ]]; then
    echo "usage: $0 MINOR_VERSION [pytest args...]   (MINOR_VERSION like 2.16)" >&2
    exit 2
fi
minor=$1
shift

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv=${COMPAT_VENV:-/tmp/port25-compat-$minor}
python=${PYTHON:-python3}
collections=$root/.venv/collections
link=$collections/ansible_collections/mailops/port25

# The tests only need these from the dev pins; ansible-core brings its own (older) Jinja2/resolvelib bounds.
test_pins() {
    grep -iE '^(pywinrm|requests[_-]ntlm|pyspnego|pypsrp|cryptography|pyyaml|pytest)==' "$root/requirements/dev.txt"
}

# (Re)build when the venv is missing or was built for other pins; the stamp holds what was installed.
mapfile -t pins < <(test_pins)
if [ "${#pins[@]}" -ne 7 ]; then
    echo "$0: expected 7 test pins in requirements/dev.txt, found: ${pins[*]}" >&2
    exit 1
fi
wanted="ansible-core==$minor.* ${pins[*]}"
stamp=$venv/.port25-compat
if ! [ -x "$venv/bin/ansible-playbook" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    "$python" -m venv --clear "$venv"
    # ansible-core first, alone: pip picks its newest patch release and the dependency bounds of that release.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "ansible-core==$minor.*"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
    printf '%s\n' "$wanted" > "$stamp"
fi

if ! [ -e "$link" ]; then
    mkdir -p "$(dirname "$link")"
    ln -sfn "$root" "$link"
fi

echo "ansible-core $("$venv/bin/python" -c 'import ansible.release as r; print(r.__version__)') in $venv"
cd "$root"
# helpers.py runs ansible and ansible-playbook from the directory of the Python that runs pytest.
export PATH=$venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$collections
export PYTHONPATH=$collections:$root/tests/lab
export ANSIBLE_NOCOLOR=1
exec "$venv/bin/python" -m pytest -q tests/integration "$@"
