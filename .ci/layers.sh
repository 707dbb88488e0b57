#!/usr/bin/env bash
# The layer rules of design.md, checked by grep (comments ignored): `auth` imports none of
# ui/wizard/runtime/cli/ratatui/crossterm; `wizard` and `ui` do no IO (no tokio, std::fs, std::env,
# Instant::now); `runtime` imports no `cli`; `sandbox` imports nothing of cli/runtime/wizard/ui.
# Then the import graph must have no cycle (.ci/import_graph.py, when python3 is there).
# Prints every breach and exits 1 on any.
set -euo pipefail
cd "$(dirname "$0")/.."

failed=0
# breach NAME DIR REGEX: the lines of DIR's .rs files (code, not comments) that match REGEX.
breach() {
  local name=$1 dir=$2 regex=$3 hits
  hits=$(grep -rnE --include='*.rs' "$regex" "$dir" | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
  if [ -n "$hits" ]; then
    echo "layer breach: $name"
    echo "$hits" | sed 's/^/  /'
    failed=1
  fi
}

breach "auth imports a UI or command layer" src/auth \
  '(crate|super)::(ui|wizard|runtime|cli)\b|\bratatui\b|\bcrossterm\b'
breach "wizard does IO" src/wizard '\btokio\b|std::fs|std::env|\bfs::|\benv::var|Instant::now'
breach "ui does IO" src/ui '\btokio\b|std::fs|std::env|\bfs::|\benv::var|Instant::now'
breach "runtime imports cli" src/runtime 'crate::cli\b'
breach "sandbox imports cli, runtime, wizard or ui" src/sandbox \
  'crate::(cli|runtime|wizard|ui)\b'

if command -v python3 >/dev/null; then
  graph=$(python3 .ci/import_graph.py || true)
  cycles=$(echo "$graph" | grep '^cycle:' || true)
  if [ -n "$cycles" ]; then
    echo "import cycle:"
    echo "$cycles" | sed 's/^/  /'
    failed=1
  fi
else
  echo "layers: python3 not found, import cycles not checked"
fi

if [ "$failed" = 0 ]; then
  echo "layers: ok"
fi
exit "$failed"
