#!/usr/bin/env bash
# Run `ansible-test sanity` the way it must run: from an ansible_collections/mailops/port25 copy
# (a symlink is not enough), with pip bootstrapped offline when its download is impossible.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=${VENV:-$repo/.venv}
copy=$venv/ansible-test/ansible_collections/mailops/port25
cache=$HOME/.ansible/test/cache

# ansible-test bootstraps pip in its test venvs from a cached get-pip script, or downloads it.
# Seed the cache with our stand-in (ensurepip + pip install) for every pip version it may ask for.
pip_version=$("$venv/bin/python" - <<'PY'
import inspect, re
from ansible_test._internal import python_requirements as pr
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(pr.get_venv_packages)).group(1))
PY
)
mkdir -p "$cache"
target=$cache/get_pip_${pip_version//./_}.py
if [ ! -s "$target" ]; then
  cp "$repo/tests/tools/get_pip_offline.py" "$target"
  echo "sanity: seeded $target (offline pip bootstrap)"
fi

# Copy what git tracks plus untracked files it does not ignore: the collection as it would be built.
# Keep tests/output (ansible-test's own venvs) between runs; replace everything else.
mkdir -p "$copy"
find "$copy" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
[ -d "$copy/tests" ] && find "$copy/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
cd "$repo"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
  # A tracked file deleted in the working tree is not part of the collection any more.
  if [ -e "$file" ] || [ -L "$file" ]; then
    cp --parents -P "$file" "$copy/"
  fi
done
cd "$copy"
# ansible-test wants a git-less or git-backed tree; init one so it lists exactly these files.
rm -rf .git && git init -q . && git add -A >/dev/null 2>&1
exec "$venv/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
