"""Reads each file of manifest.json with python-dotenv and compares with the expected values.

Usage: python3 check.py MANIFEST ROOT. A value of null means the key must be absent.
Exit 0 when every file matches, 1 otherwise.
"""
import json
import sys
from pathlib import Path

from dotenv import dotenv_values


def main() -> int:
    manifest = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    root = Path(sys.argv[2])
    failures = 0
    for name, expected in manifest.items():
        # utf-8-sig: with plain utf-8, python-dotenv keeps a BOM in the first key. That is a
        # property of the user's file (we keep its BOM), not of what we write.
        actual = dotenv_values(root / name, interpolate=True, encoding="utf-8-sig")
        for key, value in expected.items():
            got = actual.get(key)
            if got != value:
                failures += 1
                print(f"python-dotenv: {name}: {key}: expected {value!r}, read {got!r}")
    print(f"python-dotenv: {len(manifest)} files, {failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
