#!/usr/bin/env python3
"""Footprint and cost of the models generated from .tflite files on microcontrollers (QEMU).

Builds `firmware/tflite/` (one binary per model: the generated `Model` of
tools/tflite/generated run on every case of `tools/tflite/models/NAME.golden`, TensorFlow Lite
Micro's inputs and outputs, embedded whole), runs each binary under qemu-system-arm with a
timeout, and writes docs/firmware-tflite-table.md:

- results = TFLM: cases whose int8 output equals TFLM's bit for bit (the firmware exits 1 on any
  difference, and so does this script);
- instructions per inference: SysTick clocked by the core under `-icount shift=6` (one
  instruction = 64 ns of virtual time; QEMU has no timing model, so instructions, not cycles);
- flash: .vector_table + .text + .rodata + .data (llvm-size) without the embedded golden file;
  code: .vector_table + .text;
- RAM: static (.data + .bss) + peak stack of the whole firmware (stack painting); the model
  (arena + scratch, `Model::RAM_BYTES`) lives on the stack in `main`'s frame; inference stack:
  the kernels' frames below it;
- `Model::RAM_BYTES` next to TFLM's arena for the same model (`tflm_arena_bytes.total` in
  tools/tflite/models/manifest.json, measured by tools/tflite/scripts/make_models.py).

A model whose `Model::RAM_BYTES` exceeds a board's RAM does not build for it (a compile-time
assertion in the firmware); the table says so instead of a row of figures.

Refuses a tree with uncommitted changes (the table names the commit it measured;
`--allow-dirty` measures anyway and marks it `-dirty`). Fails (exit 1) on a build failure other
than "does not fit", a QEMU timeout or non-zero exit, or any output that differs from TFLM's.
Usage:

    scripts/firmware_tflite.py [--out docs/firmware-tflite-table.md] [--allow-dirty]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATE = ROOT / "firmware" / "tflite"
MODELS = ROOT / "tools" / "tflite" / "models"
sys.path.insert(0, str(ROOT / "scripts"))
from provenance import measured_commit  # noqa: E402
from firmware_report import llvm_tool, log, sections  # noqa: E402

BOARDS = {
    "mps2-an386": {
        "target": "thumbv7em-none-eabihf",
        "name": "mps2-an386 (Cortex-M4F)",
        "ram": 4 * 1024 * 1024,
        "qemu": ["qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4"],
    },
    "microbit": {
        "target": "thumbv6m-none-eabi",
        "name": "microbit (Cortex-M0)",
        "ram": 16 * 1024,
        "qemu": ["qemu-system-arm", "-machine", "microbit"],
    },
}
QEMU_COMMON = ["-nographic", "-icount", "shift=6", "-semihosting-config", "enable=on,target=native"]
TIMEOUT_S = 600
# (board, model) pairs: the issue asks for DS-CNN and ResNet-8 on the Cortex-M4 and DS-CNN on the
# micro:bit if it fits.
RUNS = [("mps2-an386", "ds_cnn"), ("mps2-an386", "resnet8"), ("microbit", "ds_cnn")]
DOES_NOT_FIT = "does not fit the board's RAM"


def tool_version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()
    except (OSError, IndexError):
        return "not installed"


def build(board: str, model: str) -> tuple[Path | None, str]:
    """Builds `model`'s firmware for `board`; returns the ELF, or None and the reason when the
    model does not fit the board."""
    target = BOARDS[board]["target"]
    cmd = ["cargo", "build", "--release", "--locked", "--target", target, "--bin", model]
    env = dict(os.environ)
    env.pop("CARGO_TARGET_DIR", None)  # the firmware keeps its own target/ (gitignored)
    r = subprocess.run(cmd, cwd=CRATE, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        if DOES_NOT_FIT in r.stderr:
            return None, DOES_NOT_FIT
        sys.stderr.write(r.stderr[-6000:])
        raise RuntimeError(f"build failed: {' '.join(cmd)}")
    return CRATE / "target" / target / "release" / model, ""


def run(board: str, elf: Path) -> dict[str, str]:
    cmd = BOARDS[board]["qemu"] + QEMU_COMMON + ["-kernel", str(elf)]
    t0 = time.monotonic()
    try:
        r = subprocess.run(
            cmd, capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"timeout after {TIMEOUT_S} s: {' '.join(cmd)}") from e
    out = r.stdout + r.stderr
    results = [line[len("RESULT "):] for line in out.splitlines() if line.startswith("RESULT ")]
    if r.returncode != 0 or len(results) != 1:
        sys.stderr.write(out[-6000:])
        raise RuntimeError(f"firmware failed (exit {r.returncode}): {' '.join(cmd)}")
    res = dict(kv.split("=", 1) for kv in results[0].split())
    if res["matched"] != res["cases"] or int(res["cases"]) == 0:
        raise RuntimeError(f"{board} {res}: outputs differ from TFLM's")
    log(f"  ran in {time.monotonic() - t0:.1f} s: {res['matched']}/{res['cases']} equal to TFLM")
    return res


def footprint(elf: Path, model: str, size_tool: str) -> dict[str, int]:
    s = sections(elf, size_tool)
    code = s.get(".vector_table", 0) + s.get(".text", 0)
    data = s.get(".data", 0)
    flash = code + s.get(".rodata", 0) + data
    golden = (MODELS / f"{model}.golden").stat().st_size
    return {
        "code": code,
        "flash": flash - golden,
        "golden": golden,
        "static_ram": data + s.get(".bss", 0) + s.get(".uninit", 0),
    }


def kib(n: int) -> str:
    return f"{n / 1024:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "firmware-tflite-table.md")
    ap.add_argument("--allow-dirty", action="store_true", help="measure a dirty tree (marked -dirty)")
    args = ap.parse_args()
    commit = measured_commit(args.allow_dirty, "firmware_tflite.py")
    size_tool = llvm_tool("llvm-size")
    manifest = json.loads((MODELS / "manifest.json").read_text())

    rows, misfits = [], []
    measured_arena: dict[str, int] = {}
    for board, model in RUNS:
        log(f"{board} {model}: building")
        elf, why = build(board, model)
        if elf is None:
            misfits.append((board, model, why))
            log(f"  {why}")
            continue
        res = run(board, elf)
        fp = footprint(elf, model, size_tool)
        measured_arena[model] = int(res["arena_bytes"])
        rows.append((board, model, res, fp))

    rustc = tool_version(["rustc", "--version"])
    qemu = tool_version(["qemu-system-arm", "--version"])
    lines = [
        "<!-- Generated by scripts/firmware_tflite.py; do not edit. -->",
        f"Generated {datetime.date.today()} by `scripts/firmware_tflite.py` with {rustc} and {qemu}, "
        f"tree `{commit}`.",
        "Each row is its own firmware binary (`firmware/tflite/`, `--bin MODEL`, `opt-level = 3`, fat LTO): "
        "the model generated from `tools/tflite/models/MODEL.tflite` at build time "
        "(`tools/tflite/generated`) run under QEMU on every case of `MODEL.golden` "
        "(TensorFlow Lite Micro's inputs and outputs; int8 compared bit for bit).",
        "",
        "- **flash**: `.vector_table + .text + .rodata + .data` without the embedded golden file; "
        "**code**: `.vector_table + .text`; **weights**: the model's `WEIGHT_BYTES`.",
        "- **RAM** = static (`.data + .bss`) + peak stack of the whole firmware (stack painting). "
        "The model (`RAM_BYTES`: arena + scratch) lives on the stack; **inference stack**: the "
        "kernels' frames below it; **arena**: `Model::ARENA_BYTES`, the activation buffers "
        "as the generator planned them (the rest of `RAM_BYTES` is the kernels' scratch). "
        "**TFLM arena**: what TFLM's RecordingMicroAllocator reported for the same model with its "
        "reference kernels (`tflm_arena_bytes` in `tools/tflite/models/manifest.json`, by "
        "`tools/tflite/scripts/make_models.py`), as head (planned activation and scratch "
        "buffers) + tail (persistent interpreter state).",
        "- **instructions**: per inference, mean (min–max) over the cases; SysTick clocked by the core "
        "under `-icount shift=6` (one instruction = 64 ns of virtual time). QEMU has no timing model: "
        "these are instructions, not cycles.",
        "",
        "| target | model | results = TFLM | instructions | MACs | flash KiB | weights KiB | code KiB "
        "| RAM B | inference stack B | RAM_BYTES | arena B | TFLM arena B |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for board, model, res, fp in rows:
        ram = fp["static_ram"] + int(res["firmware_stack"])
        tflm = manifest[model]["tflm_arena_bytes"]
        insns = f"{int(res['insns_mean']) / 1e6:.2f} M ({int(res['insns_min']):,}–{int(res['insns_max']):,})"
        lines.append(
            f"| {BOARDS[board]['name']} | {model} | {res['matched']}/{res['cases']} | {insns} "
            f"| {int(res['macs']) / 1e6:.2f} M | {kib(fp['flash'])} | {kib(int(res['weight_bytes']))} "
            f"| {kib(fp['code'])} | {ram} | {res['inference_stack']} | {res['ram_bytes']} "
            f"| {res['arena_bytes']} | {tflm['head']} + {tflm['tail']} = {tflm['total']} |"
        )
    for board, model, why in misfits:
        # RAM_BYTES depends on the target (the kernels `select` picks need different scratch);
        # the activation arena is the generator's buffer plan, the same on every target.
        arena = measured_arena.get(model)
        need = f"its activation arena alone is {arena} B, " if arena else ""
        lines.append("")
        lines.append(
            f"{model} on {BOARDS[board]['name']}: {why}: {need}`Model::RAM_BYTES` (arena + scratch) "
            f"exceeds the {BOARDS[board]['ram']} B of RAM and the firmware refuses to build (TFLM's "
            f"arena for it is {manifest[model]['tflm_arena_bytes']['total']} B), so it is not run there."
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print(f"firmware_tflite.py: {e}", file=sys.stderr)
        sys.exit(1)
