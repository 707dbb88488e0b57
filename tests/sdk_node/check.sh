#!/usr/bin/env bash
# Zoho's official Node SDK (@zohocrm/nodejs-sdk-8.0, its own DBStore and findTokenById) reads back,
# field for field, the zoho-sdk layout row zoho-auth wrote to MariaDB. Needs ZOHO_AUTH_TEST_MYSQL_URL
# (.ci/databases.sh sets it) and node/npm. Installs the pinned SDK with `npm ci` when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${ZOHO_AUTH_TEST_MYSQL_URL:?set it, e.g. run: .ci/databases.sh bash tests/sdk_node/check.sh}"

if [ ! -d "$here/node_modules/@zohocrm/nodejs-sdk-8.0" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ZOHO_AUTH_SDK_TENANT="sdk-check-$$-$RANDOM"
export ZOHO_AUTH_SDK_EXPECTED="$tmp/expected.json"

# zoho-auth writes the row (an ignored test in tests/sqlstore.rs, so it uses the library as is).
(cd "$here/../.." && cargo test --quiet --locked --test sqlstore write_a_row_for_the_node_sdk \
  -- --exact --ignored >"$tmp/cargo.log" 2>&1) || { cat "$tmp/cargo.log" >&2; exit 1; }

(cd "$here" && node read_token.mjs) >"$tmp/actual.json"

node -e '
const fs = require("fs");
const expected = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const actual = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const keys = Object.keys(expected);
const bad = keys.filter((k) => actual[k] !== expected[k]);
if (bad.length > 0 || keys.length !== Object.keys(actual).length) {
  console.error("the Node SDK read a different row; fields that differ: " + bad.join(", "));
  process.exit(1);
}
console.log("the Node SDK read the row zoho-auth wrote: " + keys.length + " fields identical");
' "$tmp/expected.json" "$tmp/actual.json"
