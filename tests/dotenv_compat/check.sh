#!/usr/bin/env bash
# Reads the env files our writer produced (tests/dotenv_compat/written.env and the fixtures'
# .expected results) with python-dotenv and Node's dotenv, and compares with manifest.json.
# Installs python-dotenv (pip) and dotenv (npm, into this folder) when missing.
# `cargo test --test envfile dotenv_compat` checks that manifest.json and written.env are current.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"

if ! "$python" -c 'import dotenv' 2>/dev/null; then
  "$python" -m pip install --quiet python-dotenv
fi
if [ ! -d "$here/node_modules/dotenv" ]; then
  npm install --silent --no-save --no-package-lock --prefix "$here" dotenv >/dev/null
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
