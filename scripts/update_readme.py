#!/usr/bin/env python3
"""Splices the generated tables (docs/*.md) into README.md between
`<!-- BEGIN name -->` and `<!-- END name -->` markers, so the README never holds a number that
no command produced. Regenerate the tables first:

    python3 scripts/lenet_table.py        # docs/lenet-table.md
    python3 scripts/bench_table.py        # docs/bench-table.md
    bash scripts/firmware_report.sh       # docs/firmware-table.md
    python3 scripts/update_readme.py
"""
import os
import re

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
readme_path = os.path.join(root, "README.md")
readme = open(readme_path).read()
for name in re.findall(r"<!-- BEGIN (\S+) -->", readme):
    src = os.path.join(root, "docs", name + ".md")
    if not os.path.exists(src):
        print(f"skip {name}: {src} missing")
        continue
    body = open(src).read().strip()
    pattern = re.compile(rf"(<!-- BEGIN {re.escape(name)} -->\n).*?(\n<!-- END {re.escape(name)} -->)", re.S)
    readme = pattern.sub(lambda m: m.group(1) + body + m.group(2), readme)
    print(f"spliced {name}")
open(readme_path, "w").write(readme)
