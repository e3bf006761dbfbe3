#!/usr/bin/env python3
"""Splices the generated tables (docs/NAME.md) into README.md between `<!-- BEGIN NAME -->` and
`<!-- END NAME -->`, so the README never holds a number that no command produced.

    python3 scripts/update_readme.py           # rewrite README.md
    python3 scripts/update_readme.py --check   # exit 1 if README.md differs from docs/*.md (CI)

Regenerate the tables first (each names the clean commit it measured):

    python3 scripts/lenet_table.py        # docs/lenet-table.md
    python3 scripts/bench_table.py        # docs/bench-table.md
    python3 scripts/firmware_report.py    # docs/firmware-table.md
    python3 scripts/update_readme.py

Fails (exit 1, nothing written) when a BEGIN marker has no END marker or the other way round, a
marker appears twice, a section's file docs/NAME.md is missing or empty, or a file that should be
spliced (REQUIRED below) has no markers in the README.
"""
import argparse
import difflib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
# Sections the README must have: a marker deleted by accident fails too.
REQUIRED = [
    "lenet-table",
    "peer-table",
    "bench-table",
    "microcontroller",
    "firmware-table",
    "firmware-tflite-table",
    "fuzzing",
]

MARKER = re.compile(r"^<!-- (BEGIN|END) (\S+) -->$", re.M)


def splice(readme: str) -> tuple[str, list[str]]:
    """The README with every section replaced by its file, and the errors found."""
    errors = []
    seen: dict[tuple[str, str], int] = {}
    for m in MARKER.finditer(readme):
        key = (m.group(1), m.group(2))
        seen[key] = seen.get(key, 0) + 1
    names = sorted({name for _, name in seen})
    for name in names:
        for kind in ("BEGIN", "END"):
            n = seen.get((kind, name), 0)
            if n != 1:
                errors.append(f"README.md has {n} `<!-- {kind} {name} -->` markers (want 1)")
    for name in REQUIRED:
        if name not in names:
            errors.append(f"README.md has no `<!-- BEGIN {name} -->` section")
    if errors:
        return readme, errors

    for name in names:
        src = os.path.join(ROOT, "docs", name + ".md")
        try:
            with open(src, encoding="utf-8") as f:
                body = f.read().strip()
        except OSError as e:
            errors.append(f"section {name}: cannot read {os.path.relpath(src, ROOT)}: {e.strerror}")
            continue
        if not body:
            errors.append(f"section {name}: {os.path.relpath(src, ROOT)} is empty")
            continue
        pattern = re.compile(
            rf"^(<!-- BEGIN {re.escape(name)} -->\n).*?^(<!-- END {re.escape(name)} -->)$", re.S | re.M
        )
        readme, n = pattern.subn(lambda m: m.group(1) + body + "\n" + m.group(2), readme)
        if n != 1:
            errors.append(f"section {name}: END marker comes before BEGIN")
    return readme, errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 if README.md is stale")
    args = ap.parse_args()
    with open(README, encoding="utf-8") as f:
        old = f.read()
    new, errors = splice(old)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        return 1
    if args.check:
        if new != old:
            diff = difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True), "README.md", "README.md (spliced)"
            )
            sys.stderr.writelines(diff)
            print("error: README.md differs from docs/*.md; run python3 scripts/update_readme.py", file=sys.stderr)
            return 1
        print("README.md sections equal docs/*.md")
        return 0
    if new == old:
        print("README.md already up to date")
    else:
        with open(README, "w", encoding="utf-8") as f:
            f.write(new)
        print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
