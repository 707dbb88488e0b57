#!/usr/bin/env bash
# The benchmark, one command: `bash benches/run.sh`.
# Builds the release binary, runs the criterion benches (render, scope filter), then
# benches/e2e.rs, which starts `zoho-auth sandbox --port 0` on loopback and prints one Markdown
# table of medians with PASS/MISS per goal (issue 8). Exit status 0 when every goal passes.
# Needs: Rust, curl, and gh as the reference CLI (both installed with apt-get when missing and
# possible). Knobs: BENCH_RUNS (31), BENCH_SLOW_RUNS (11), BENCH_IDLE_SECS (10).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v curl >/dev/null || missing+=(curl)
command -v gh >/dev/null || missing+=(gh)
command -v getconf >/dev/null || missing+=(libc-bin)
if ((${#missing[@]})); then
    sudo=()
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo=(sudo)
    fi
    if [ "$(id -u)" = 0 ] || ((${#sudo[@]})); then
        echo "== installing ${missing[*]}" >&2
        "${sudo[@]}" apt-get update -qq >&2 || true
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >&2 || true
    fi
    command -v curl >/dev/null || { echo "benches/run.sh: curl is needed" >&2; exit 2; }
    command -v gh >/dev/null || echo "benches/run.sh: gh is not installed; its columns are skipped" >&2
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
echo "== cargo build --release" >&2
cargo build --release --locked >&2
bin="$CARGO_TARGET_DIR/release/zoho-auth"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Measure exactly the binary `cargo build --release` produced.
cp "$bin" "$work/zoho-auth"

echo "== criterion: render per screen, scope filter per keystroke (log: $work/criterion.log)" >&2
if ! cargo bench --locked --bench render -- --warm-up-time 1 --measurement-time 3 \
    >"$work/criterion.log" 2>&1; then
    cat "$work/criterion.log" >&2
    exit 1
fi

echo "== end to end against the sandbox" >&2
ZOHO_AUTH_BIN="$work/zoho-auth" CRITERION_DIR="$CARGO_TARGET_DIR/criterion" \
    cargo bench --locked --bench e2e
