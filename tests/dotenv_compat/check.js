// Reads each file of manifest.json with Node's dotenv and compares with the expected values.
// Usage: node check.js MANIFEST ROOT. A value of null means the key must be absent.
// Exit 0 when every file matches, 1 otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const dotenv = require('dotenv');

const manifest = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const root = process.argv[3];
let failures = 0;
for (const [name, expected] of Object.entries(manifest)) {
  const actual = dotenv.parse(fs.readFileSync(path.join(root, name)));
  for (const [key, value] of Object.entries(expected)) {
    const got = Object.prototype.hasOwnProperty.call(actual, key) ? actual[key] : null;
    if (got !== value) {
      failures += 1;
      console.log(`node dotenv: ${name}: ${key}: expected ${JSON.stringify(value)}, read ${JSON.stringify(got)}`);
    }
  }
}
console.log(`node dotenv: ${Object.keys(manifest).length} files, ${failures} mismatches`);
process.exit(failures ? 1 : 0);
