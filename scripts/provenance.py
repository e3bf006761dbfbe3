"""Which commit a generated table measured (used by scripts/lenet_table.py and
scripts/bench_table.py).

A table must name the clean commit its numbers come from, so the generators refuse a tree with
uncommitted changes to tracked files. Changes to the generated files themselves (docs/, README.md)
do not count: they do not change what is measured, and regenerating one table must not block the
next. `--allow-dirty` measures anyway and marks the output `<hash>-dirty`.
"""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Paths whose changes do not affect any measurement.
IGNORED = ("docs/", "README.md")


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout


def measured_commit(allow_dirty: bool, script: str) -> str:
    """The short hash of HEAD, or `<hash>-dirty` with `allow_dirty`; exits with a message listing
    the changed files when the tree is dirty and `allow_dirty` is false."""
    rev = _git("rev-parse", "--short", "HEAD").strip()
    changed = []
    for line in _git("status", "--porcelain", "--untracked-files=no").splitlines():
        path = line[3:].split(" -> ")[-1]
        if not path.startswith(IGNORED):
            changed.append(path)
    if not changed:
        return rev
    if allow_dirty:
        print(f"{script}: measuring a dirty tree ({len(changed)} changed files); output marked {rev}-dirty",
              file=sys.stderr)
        return f"{rev}-dirty"
    sys.exit(
        f"{script}: refusing to measure a dirty tree (uncommitted changes in {', '.join(changed)}).\n"
        "Commit first so the table can name the commit it measured, or pass --allow-dirty to mark "
        "the output as measured on a dirty tree."
    )
