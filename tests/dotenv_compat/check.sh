#!/usr/bin/env bash
# Reads the env files our writer produced (tests/dotenv_compat/written.env and the fixtures'
# .expected results) with python-dotenv and Node's dotenv, and compares with manifest.json.
# `cargo test --test envfile dotenv_compat` checks that manifest.json and written.env are current
# (it fails when they are stale), so run the tests first, as .ci/run does.
# Installs python-dotenv (pip, user-wide) and dotenv (npm, into node_modules/ here, git-ignored)
# when missing; an install that fails stops the script with its error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
PYTHON_DOTENV_SPEC="python-dotenv>=1.0,<2"
NODE_DOTENV_SPEC="dotenv@^17 || ^18"

if ! "$python" -c 'import dotenv' 2>/dev/null; then
  echo "dotenv compat: installing $PYTHON_DOTENV_SPEC"
  pip_args=(-m pip install --quiet --disable-pip-version-check --root-user-action=ignore "$PYTHON_DOTENV_SPEC")
  # A Debian system Python refuses pip installs (PEP 668) unless told otherwise.
  "$python" "${pip_args[@]}" 2>/dev/null || "$python" "${pip_args[@]}" --break-system-packages
  "$python" -c 'import dotenv' || { echo "dotenv compat: python-dotenv did not install" >&2; exit 1; }
fi
if [ ! -f "$here/node_modules/dotenv/package.json" ]; then
  echo "dotenv compat: installing node dotenv ($NODE_DOTENV_SPEC)"
  npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$here" "dotenv@${NODE_DOTENV_SPEC#dotenv@}" >/dev/null
  [ -f "$here/node_modules/dotenv/package.json" ] || { echo "dotenv compat: node dotenv did not install" >&2; exit 1; }
fi

status=0
"$python" "$here/check.py" "$here/manifest.json" "$root" || status=1
NODE_PATH="$here/node_modules" node "$here/check.js" "$here/manifest.json" "$root" || status=1
if [ "$status" -eq 0 ]; then
  echo "dotenv compat: ok"
else
  echo "dotenv compat: FAILED"
fi
exit "$status"
