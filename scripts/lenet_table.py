#!/usr/bin/env python3
"""Runs the main job with --json and writes docs/lenet-table.md (accuracy, speed, memory per
model x precision x algorithm).

    python3 scripts/lenet_table.py            # full test set if the Debian package is present
    python3 scripts/lenet_table.py --shipped  # the 1,000 shipped images
"""
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cmd = ["cargo", "run", "--release", "--quiet", "--example", "lenet", "--", "--json"]
if "--shipped" in sys.argv:
    cmd.append("--shipped")
out = subprocess.run(cmd, cwd=root, check=True, capture_output=True, text=True).stdout
report = json.loads(out)
rows = report["results"]
lines = [
    f"LeNet-5 on {report['images']} Fashion-MNIST test images ({report['source']}), "
    f"batch 1, one thread, `{' '.join(cmd)}`:",
    "",
    "| model | precision | algorithm | accuracy | µs / image | speed-up vs reference | RAM bytes | weight bytes |",
    "|---|---|---|---:|---:|---:|---:|---:|",
]
ref = {(r["model"], r["precision"]): r["micros_per_image"] for r in rows if r["algorithm"] == "reference"}
for r in rows:
    base = ref.get((r["model"], r["precision"]))
    speedup = f"{base / r['micros_per_image']:.1f}×" if base else ""
    lines.append(
        f"| {r['model']} | {r['precision']} | {r['algorithm']} | {100 * r['accuracy']:.2f} % "
        f"| {r['micros_per_image']:.1f} | {speedup} | {r['ram_bytes']} | {r['weight_bytes']} |"
    )
path = os.path.join(root, "docs", "lenet-table.md")
with open(path, "w") as f:
    f.write("\n".join(lines) + "\n")
print(open(path).read())
