#!/usr/bin/env python3
"""Footprint and cost of tinyconv's LeNet-5 firmware on microcontrollers (QEMU).

Builds the firmware in `firmware/` once per board x model x precision x algorithm (cargo
features select one configuration per binary, so its flash and RAM are its own), runs every
binary under qemu-system-arm with a timeout, and writes docs/firmware-table.md:

- flash: .vector_table + .text + .rodata + .data of the ELF (llvm-size), with the weights'
  share (llvm-nm sizes of the shipped weight statics) and the embedded test data's share;
- static RAM: .data + .bss;
- peak stack: stack painting in the firmware, for the whole firmware and for the inference
  alone (from the caller's stack pointer; the model's buffers live on the stack);
- instructions per inference: SysTick clocked by the core under `-icount shift=6`, where one
  instruction is exactly 64 ns of virtual time (QEMU has no timing model: these are
  instructions, not cycles);
- instructions per layer (conv1, pool1, conv2, pool2, dense, rest): the same run under the
  instruction-profile plugin (`firmware/profile/`), which counts the instructions executed inside
  each call of the model's layer functions (`band_step::<_, 6>` is conv1 + pool1,
  `band_step::<_, 16>` conv2 + pool2; the pooling kernels called inside them are pool1 and
  pool2; the dense kernel is the three dense layers; f32: `conv_pool_f32::<_, 6>` and
  `::<_, 16>`);
- stack bound: the worst case of the inference's call tree computed from the machine code
  (`scripts/stack_bound.py`: frames from the prologues, calls from `bl`/tail branches) plus an
  exception frame and the SysTick handler; checked to be at least the measured peak.

It also builds the default firmware (every configuration in one binary) for the three targets;
the riscv32 build is only built (and run if qemu-system-riscv32 is installed).

Refuses a tree with uncommitted changes (the table names the commit it measured;
`--allow-dirty` measures anyway and marks it `-dirty`). Fails (exit 1) on a build failure, a QEMU
timeout or non-zero exit, any result that differs from the host's, a stack bound below the
measured peak, or a figure above the BUDGETS below. Usage:

    scripts/firmware_report.py [--boards mps2-an386,microbit,sifive_e] [--out docs/firmware-table.md]
                               [--json PATH] [--allow-dirty] [--no-profile]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
sys.path.insert(0, str(ROOT / "scripts"))
from provenance import measured_commit  # noqa: E402
import stack_bound  # noqa: E402

BOARDS = {
    "mps2-an386": {
        "target": "thumbv7em-none-eabihf",
        "core": "Cortex-M4F",
        "qemu": ["qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4"],
        "precisions": ["i8", "f32"],
        "flash": 4 << 20,
        "ram": 4 << 20,
        # Exception entry with the FPU in use: 26 words of context (lazy FP stacking reserves
        # them) plus 4 bytes of alignment padding.
        "exception_frame": 108,
    },
    "microbit": {
        "target": "thumbv6m-none-eabi",
        "core": "Cortex-M0",
        "qemu": ["qemu-system-arm", "-machine", "microbit"],
        # No FPU, and the f32 weights (241 KiB per model) do not fit in 256 KiB of flash.
        "precisions": ["i8"],
        "flash": 256 << 10,
        "ram": 16 << 10,
        # Exception entry: 8 words of context plus 4 bytes of alignment padding.
        "exception_frame": 36,
    },
    "sifive_e": {
        "target": "riscv32imac-unknown-none-elf",
        "core": "RV32IMAC",
        "qemu": ["qemu-system-riscv32", "-machine", "sifive_e"],
        # No FPU and 16 KiB of RAM, as the micro:bit.
        "precisions": ["i8"],
        "flash": 4 << 20,
        "ram": 16 << 10,
        # Built (every configuration in one binary) and run only if Debian's qemu-system-misc
        # is installed; no table rows (CI has only qemu-system-arm).
        "build_only": True,
    },
}
MODELS = ["modern", "classic"]
ALGORITHMS = ["auto", "reference", "im2col", "direct"]
QEMU_COMMON = ["-nographic", "-icount", "shift=6", "-semihosting-config", "enable=on,target=native"]
TIMEOUT_S = 300

# Hard limits, checked for every (board, precision) configuration, any model and algorithm.
# `flash` excludes the embedded test images and expectations (a user's firmware has neither);
# `ram` is static RAM + the whole firmware's peak stack; `instructions` is the mean per
# inference. They sit above today's figures to catch regressions; AIMS are the targets.
BUDGETS = {
    ("mps2-an386", "i8"): {"flash": 256 << 10, "ram": 24 << 10, "instructions": 20_000_000},
    ("mps2-an386", "f32"): {"flash": 512 << 10, "ram": 64 << 10, "instructions": 20_000_000},
    ("microbit", "i8"): {"flash": 224 << 10, "ram": 14 << 10, "instructions": 30_000_000},
}
# Issue 9's aims, checked on the fastest configuration of each (board, precision, model):
# instructions per inference, `.text` and RAM (static + the whole firmware's peak stack).
AIMS = {
    ("mps2-an386", "i8", "modern"): {"instructions": 1_200_000, "text": 24 << 10},
    ("microbit", "i8", "modern"): {"instructions": 3_500_000, "text": 24 << 10, "ram": 4 << 10},
    ("mps2-an386", "f32", "modern"): {"instructions": 2_500_000, "text": 32 << 10},
}

# CMSIS-NN's figures for the same int8 `modern` LeNet-5 under the same QEMU and counting method
# (issue 9: its kernels built with Debian's arm-none-eabi-gcc 12.2 at -Ofast around a LeNet of the
# same shapes, counted between the same kind of markers). Not re-measured by this script.
CMSIS_NN = {
    "mps2-an386": {
        "instructions": 2_400_000,
        "layers": {"conv1": 1_500_000, "conv2": 690_000, "pools": 90_000, "dense": 120_000},
        "text": 25.2 * 1024,
    },
    "microbit": {"instructions": 4_940_000, "text": 20.8 * 1024, "ram": 7.8 * 1024},
}

# Layers of the int8 and f32 models, by the profile plugin's scopes: a function whose (v0-demangled) name
# matches the pattern opens a scope with the label; the columns are paths of scopes.
SCOPES = [
    ("conv1", re.compile(r"lenet5::i8::band_step::<.*, 6>$")),
    ("conv2", re.compile(r"lenet5::i8::band_step::<.*, 16>$")),
    ("pool", re.compile(r"pool2d_i8")),
    ("dense", re.compile(r"dense_i8")),
    ("conv1", re.compile(r"lenet5::conv_pool_f32::<.*, 6>$")),
    ("conv2", re.compile(r"lenet5::conv_pool_f32::<.*, 16>$")),
    ("pool", re.compile(r"pool2d_f32")),
    ("dense", re.compile(r"dense_f32")),
]
LAYERS = {
    "conv1": ["conv1"],
    "pool1": ["conv1/pool"],
    "conv2": ["conv2"],
    "pool2": ["conv2/pool"],
    "dense": ["dense"],
}
LAYER_ORDER = ["conv1", "pool1", "conv2", "pool2", "dense", "rest"]

WEIGHT_SYMBOL = re.compile(r"tinyconv::models::lenet5::(?:\w+::)*(?:MODERN|CLASSIC)_(?:I8|F32)\b")
TEST_DATA_SYMBOL = re.compile(r"tinyconv_firmware::(?:IMAGES|expected::\w+)\b")


def log(msg: str) -> None:
    print(msg, flush=True)


def llvm_tool(name: str) -> str:
    sysroot = subprocess.run(
        ["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True
    ).stdout.strip()
    host = re.search(
        r"host: (\S+)", subprocess.run(["rustc", "-vV"], capture_output=True, text=True).stdout
    ).group(1)
    path = Path(sysroot) / "lib" / "rustlib" / host / "bin" / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found:
        return found
    sys.exit(f"{name} not found: run `rustup component add llvm-tools`")


def sections(elf: Path, size_tool: str) -> dict[str, int]:
    out = subprocess.run([size_tool, "-A", str(elf)], capture_output=True, text=True, check=True)
    sec = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sec[parts[0]] = int(parts[1])
    return sec


def symbol_bytes(elf: Path, nm_tool: str, pattern: re.Pattern) -> int:
    out = subprocess.run(
        [nm_tool, "-C", "-S", "--size-sort", str(elf)], capture_output=True, text=True, check=True
    )
    total = 0
    for line in out.stdout.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and pattern.search(parts[3]):
            total += int(parts[1], 16)
    return total


def footprint(elf: Path, size_tool: str, nm_tool: str) -> dict[str, int]:
    s = sections(elf, size_tool)
    text = s.get(".vector_table", 0) + s.get(".text", 0) + s.get(".init", 0) + s.get(".init.rust", 0)
    rodata = s.get(".rodata", 0)
    data = s.get(".data", 0) + s.get(".sdata", 0)
    bss = s.get(".bss", 0) + s.get(".sbss", 0) + s.get(".uninit", 0)
    flash = text + rodata + data
    test_data = symbol_bytes(elf, nm_tool, TEST_DATA_SYMBOL)
    return {
        "text": text,
        "rodata": rodata,
        "flash": flash,
        "weights": symbol_bytes(elf, nm_tool, WEIGHT_SYMBOL),
        "test_data": test_data,
        "flash_model": flash - test_data,
        "static_ram": data + bss,
    }


def build(board: str, features: list[str] | None) -> Path:
    """Builds the firmware for `board` with `features` (None: the defaults); returns a copy of
    the ELF that later builds do not overwrite."""
    target = BOARDS[board]["target"]
    cmd = ["cargo", "build", "--release", "--locked", "--target", target]
    if features is not None:
        cmd += ["--no-default-features", "--features", ",".join(features)]
    env = dict(os.environ)
    env.pop("CARGO_TARGET_DIR", None)  # the firmware keeps its own target/ (gitignored)
    r = subprocess.run(cmd, cwd=FIRMWARE, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr[-6000:])
        raise RuntimeError(f"build failed: {' '.join(cmd)}")
    elf = FIRMWARE / "target" / target / "release" / "tinyconv-firmware"
    name = "default" if features is None else "-".join(features)
    dest = FIRMWARE / "target" / "report" / board / f"{name}.elf"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(elf, dest)
    return dest


RESULT = re.compile(r"^RESULT (.*)$")
SCOPE_LINE = re.compile(r"^scope\s+(\d+) (.+)$")


def profile_args(elf: Path, plugin: Path, nm_tool: str) -> list[str]:
    """QEMU arguments that load the profile plugin with the markers, symbols and layer scopes of
    `elf`."""
    out = subprocess.run([nm_tool, "-C", "-S", str(elf)], capture_output=True, text=True, check=True)
    syms, scopes, markers = [], [], {}
    for line in out.stdout.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[2] in "tTwW":
            syms.append(f"{parts[0]} {parts[1]} {parts[3]}")
            for label, pattern in SCOPES:
                if pattern.search(parts[3]):
                    scopes.append(f"{parts[0]} {label}")
            if parts[3] in ("bench_start", "bench_stop"):
                markers[parts[3]] = parts[0]
    base = elf.with_suffix("")
    Path(f"{base}.syms").write_text("\n".join(syms) + "\n")
    Path(f"{base}.scopes").write_text("\n".join(scopes) + "\n")
    return [
        "-plugin",
        f"{plugin},start=0x{markers['bench_start']},stop=0x{markers['bench_stop']},"
        f"syms={base}.syms,scopes={base}.scopes",
        "-d",
        "plugin",
    ]


def layer_counts(out: str) -> dict[str, int] | None:
    """Instructions per inference by layer, from the plugin's scope lines (None without them)."""
    paths = {}
    for line in out.splitlines():
        m = SCOPE_LINE.match(line)
        if m:
            paths[m.group(2)] = int(m.group(1))
    if not paths:
        return None
    layers = {name: sum(paths.pop(p, 0) for p in ps) for name, ps in LAYERS.items()}
    layers["rest"] = sum(paths.values())
    return layers


def run(board: str, elf: Path, extra: list[str] | None = None) -> tuple[list[dict[str, str]], str]:
    cmd = BOARDS[board]["qemu"] + QEMU_COMMON + (extra or []) + ["-kernel", str(elf)]
    t0 = time.monotonic()
    try:
        r = subprocess.run(
            cmd, capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"timeout after {TIMEOUT_S} s: {' '.join(cmd)}") from e
    out = r.stdout + r.stderr
    if r.returncode != 0 or "PASS" not in out:
        sys.stderr.write(out[-6000:])
        raise RuntimeError(f"firmware failed (exit {r.returncode}): {' '.join(cmd)}")
    results = []
    for line in out.splitlines():
        m = RESULT.match(line)
        if m:
            results.append(dict(kv.split("=", 1) for kv in m.group(1).split()))
    if not results:
        raise RuntimeError(f"no RESULT lines from {elf}")
    for res in results:
        if res["matched"] != res["images"]:
            raise RuntimeError(f"{board} {res}: results differ from the host's")
    log(f"  ran in {time.monotonic() - t0:.1f} s")
    return results, out


def kib(n: int) -> str:
    return f"{n / 1024:.1f}"


def millions(n: int) -> str:
    return f"{n / 1e6:.2f} M"


def inference_stack_bound(board: str, elf: Path, objdump: str) -> int | None:
    """Worst-case stack below the caller of `run_i8`/`run_f32` (the inference and the model's
    buffers), plus an exception frame and the SysTick handler; None if it cannot be computed."""
    frame = BOARDS[board].get("exception_frame")
    if frame is None:
        return None
    funcs = stack_bound.parse(str(elf), objdump)
    roots = [n for n in funcs if re.match(r"tinyconv_firmware::run_(i8|f32)::<", n)]
    handler = stack_bound.bound(funcs, "SysTick")[0] if "SysTick" in funcs else 0
    bounds = [stack_bound.bound(funcs, r)[0] for r in roots]
    if not roots or handler is None or any(b is None for b in bounds):
        return None
    return max(bounds) + frame + handler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--boards", default=",".join(BOARDS), help="comma-separated boards")
    ap.add_argument("--out", default=str(ROOT / "docs" / "firmware-table.md"))
    ap.add_argument("--json", help="also write the rows as JSON to this path")
    ap.add_argument("--allow-dirty", action="store_true", help="measure a dirty tree (marked -dirty)")
    ap.add_argument("--no-profile", action="store_true", help="no per-layer counts (no QEMU plugin)")
    ap.add_argument("--models", default=",".join(MODELS), help="subset of models (a partial table)")
    ap.add_argument("--precisions", default="i8,f32", help="subset of precisions (a partial table)")
    ap.add_argument("--algorithms", default=",".join(ALGORITHMS), help="subset of algorithms (a partial table)")
    ap.add_argument("--no-default-firmware", action="store_true", help="skip the all-configurations build")
    args = ap.parse_args()
    models = args.models.split(",")
    precisions = args.precisions.split(",")
    algorithms = args.algorithms.split(",")
    boards = [b for b in args.boards.split(",") if b]
    for b in boards:
        if b not in BOARDS:
            sys.exit(f"unknown board {b}; known: {', '.join(BOARDS)}")
    commit = measured_commit(args.allow_dirty, "firmware_report.py")

    size_tool, nm_tool, objdump = llvm_tool("llvm-size"), llvm_tool("llvm-nm"), llvm_tool("llvm-objdump")
    plugin = None
    if not args.no_profile:
        r = subprocess.run(
            [str(FIRMWARE / "profile" / "build.sh"), str(FIRMWARE / "target" / "profile")],
            capture_output=True, text=True,
        )
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-3000:])
            sys.exit("could not build the profile plugin (firmware/profile/build.sh); --no-profile skips it")
        plugin = Path(r.stdout.strip().splitlines()[-1])
    rows: list[dict] = []
    defaults: list[dict] = []
    failures: list[str] = []
    misses: list[str] = []

    for board in boards:
        spec = BOARDS[board]
        can_run = not spec.get("build_only") or shutil.which(spec["qemu"][0]) is not None
        # The default firmware: every configuration in one binary (what `cargo run` runs).
        log(f"== {board}: default firmware (all configurations)")
        try:
            if args.no_default_firmware:
                raise StopIteration
            elf = build(board, None)
            fp = footprint(elf, size_tool, nm_tool)
            ran = False
            if can_run:
                run(board, elf)
                ran = True
            defaults.append({"board": board, "ran": ran, **fp})
        except StopIteration:
            log("  skipped")
        except RuntimeError as e:
            failures.append(f"{board} default firmware: {e}")
            log(f"  FAILED: {e}")
        if spec.get("build_only"):
            continue
        for precision in (p for p in spec["precisions"] if p in precisions):
            for model in (m for m in MODELS if m in models):
                for alg in (a for a in ALGORITHMS if a in algorithms):
                    feats = [model, precision, alg]
                    log(f"== {board}: {model} {precision} {alg}")
                    try:
                        elf = build(board, feats)
                        fp = footprint(elf, size_tool, nm_tool)
                        extra = profile_args(elf, plugin, nm_tool) if plugin else None
                        results, out = run(board, elf, extra)
                    except RuntimeError as e:
                        failures.append(f"{board} {model} {precision} {alg}: {e}")
                        log(f"  FAILED: {e}")
                        continue
                    (res,) = results
                    row = {
                        "board": board,
                        "model": model,
                        "precision": precision,
                        "algorithm": alg,
                        **fp,
                        "inference_stack": int(res["inference_stack"]),
                        "firmware_stack": int(res["firmware_stack"]),
                        "ram": fp["static_ram"] + int(res["firmware_stack"]),
                        "ram_bytes": int(res["ram_bytes"]),
                        "inference_stack_bound": inference_stack_bound(board, elf, objdump),
                        "instructions": int(res["insns_mean"]),
                        "images": int(res["images"]),
                        "matched": int(res["matched"]),
                        "correct": int(res["correct"]),
                        "f32_deviation_ppb": int(res["f32_deviation_ppb"]),
                    }
                    row["layers"] = layer_counts(out) if plugin else None
                    bound = row["inference_stack_bound"]
                    if bound is not None and bound < row["inference_stack"]:
                        failures.append(
                            f"{board} {model} {precision} {alg}: stack bound {bound} B below the "
                            f"measured peak {row['inference_stack']} B (scripts/stack_bound.py misses a frame)"
                        )
                    rows.append(row)
                    log(
                        f"  flash {kib(row['flash_model'])} KiB (+{kib(row['test_data'])} test data), "
                        f"RAM {row['ram']} B, {row['instructions']} instructions"
                    )
                    budget = BUDGETS.get((board, precision), {})
                    for key, field in (("flash", "flash_model"), ("ram", "ram"), ("instructions", "instructions")):
                        if key in budget and row[field] > budget[key]:
                            failures.append(
                                f"{board} {model} {precision} {alg}: {key} {row[field]} > budget {budget[key]}"
                            )
                    row["aims"] = {}

    # Aims: on the fastest configuration of each (board, precision, model).
    for (board, precision, model), aim in AIMS.items():
        cands = [r for r in rows if (r["board"], r["precision"], r["model"]) == (board, precision, model)]
        if not cands:
            continue
        best = min(cands, key=lambda r: r["instructions"])
        for key, field in (("instructions", "instructions"), ("text", "text"), ("ram", "ram")):
            if key in aim:
                best["aims"][key] = best[field] <= aim[key]
                if best[field] > aim[key]:
                    misses.append(
                        f"{board} {model} {precision} {best['algorithm']} (fastest): {key} {best[field]} "
                        f"(aim <= {aim[key]})"
                    )

    write_table(Path(args.out), rows, defaults, failures, misses, commit)
    log(f"wrote {args.out}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"commit": commit, "rows": rows, "defaults": defaults, "cmsis_nn": CMSIS_NN,
                 "failures": failures, "aims_missed": misses},
                indent=1,
            )
            + "\n"
        )
        log(f"wrote {args.json}")
    for m in misses:
        log(f"aim not met: {m}")
    if failures:
        for f in failures:
            log(f"FAIL: {f}")
        return 1
    log("firmware report: all configurations pass (results equal the host's, within budgets)")
    return 0


def tool_version(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()
    except (OSError, IndexError):
        return "not installed"


def layer_cell(n: int | None) -> str:
    return "" if n is None else f"{n / 1e6:.3f}"


def write_table(path: Path, rows, defaults, failures, misses, commit: str) -> None:
    lines = [
        "<!-- Generated by scripts/firmware_report.py; do not edit. -->",
        f"Generated {datetime.date.today().isoformat()} by `python3 scripts/firmware_report.py"
        f"{''.join(' ' + a for a in sys.argv[1:])}` with "
        f"{tool_version(['rustc', '--version'])} and {tool_version(['qemu-system-arm', '--version'])}, "
        f"commit `{commit}`.",
        "Each row is its own firmware binary (`firmware/`, one model × precision × algorithm by cargo "
        "features, `opt-level = 3`, fat LTO) run under QEMU; every result equals the host's "
        "(int8 logits bit for bit, f32 logits within 1e-4).",
        "",
        "- **flash**: `.vector_table + .text + .rodata + .data` without the embedded test images and "
        "expectations; **weights**: the shipped weight statics (int8: weights, biases, requantization "
        "multipliers, sigmoid tables); **code**: `.text`.",
        "- **static**: `.data + .bss`; **model**: the model's `RAM_BYTES` const (activation buffers + "
        "scratch; the firmware keeps the model on the stack); **stack**: peak stack of the inference "
        "measured by stack painting (from the caller's stack pointer: model, kernels' frames and an "
        "interrupt that landed during it); **bound**: the worst case of the same, computed from the "
        "machine code (`scripts/stack_bound.py`: the inference's call tree, one exception frame and "
        "the SysTick handler); **RAM** = static + the whole firmware's measured peak stack.",
        "- **instructions**: per inference, mean over the images; SysTick clocked by the core under "
        "`-icount shift=6` (one instruction = 64 ns of virtual time). QEMU has no timing model: "
        "these are instructions, not cycles.",
        "",
        "| target | model | precision | algorithm | flash KiB | weights KiB | code KiB | static B | model B "
        "| stack B | bound B | RAM B | instructions | results = host | correct |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        board = BOARDS[r["board"]]
        aim_marks = "".join(
            f" ({'meets' if ok else 'misses'} aim)" for k, ok in r["aims"].items() if k == "instructions"
        )
        ram_mark = "".join(f" ({'meets' if ok else 'misses'} aim)" for k, ok in r["aims"].items() if k == "ram")
        text_mark = "".join(f" ({'meets' if ok else 'misses'} aim)" for k, ok in r["aims"].items() if k == "text")
        bound = r["inference_stack_bound"]
        lines.append(
            f"| {r['board']} ({board['core']}) | {r['model']} | {r['precision']} | {r['algorithm']} "
            f"| {kib(r['flash_model'])} | {kib(r['weights'])} | {kib(r['text'])}{text_mark} "
            f"| {r['static_ram']} | {r['ram_bytes']} | {r['inference_stack']} "
            f"| {'—' if bound is None else bound} | {r['ram']}{ram_mark} "
            f"| {millions(r['instructions'])}{aim_marks} | {r['matched']}/{r['images']} | {r['correct']}/{r['images']} |"
        )

    layered = [r for r in rows if r.get("layers")]
    if layered:
        lines += [
            "",
            "### Instructions per layer (millions per inference)",
            "",
            "From the same runs under the instruction-profile plugin (`firmware/profile/profile.c`): "
            "everything executed inside a call of conv1's and conv2's band functions (kernels, "
            "copies; f32: `conv_pool_f32`), the pooling kernels called in them, and the dense "
            "kernel (fc1 + fc2 + fc3); "
            "**rest** is the model's glue (input quantization, window shifts). A fused kernel that "
            "pools in its output stage counts under its convolution, its pool column is then 0. "
            "CMSIS-NN's rows are its figures for the same network (issue 9), not measured here.",
            "",
            "| target | model | precision | algorithm | " + " | ".join(LAYER_ORDER) + " | total |",
            "|---|---|---|---|" + "---:|" * (len(LAYER_ORDER) + 1),
        ]
        for board in BOARDS:
            for r in layered:
                if r["board"] != board:
                    continue
                cells = " | ".join(layer_cell(r["layers"][k]) for k in LAYER_ORDER)
                lines.append(
                    f"| {board} | {r['model']} | {r['precision']} | {r['algorithm']} | {cells} "
                    f"| {layer_cell(sum(r['layers'].values()))} |"
                )
            c = CMSIS_NN.get(board)
            if c and any(r["board"] == board for r in layered):
                ly = c.get("layers", {})
                cells = {
                    "conv1": layer_cell(ly.get("conv1")),
                    "conv2": layer_cell(ly.get("conv2")),
                    "pool1": f"{layer_cell(ly['pools'])} (both)" if "pools" in ly else "",
                    "dense": layer_cell(ly.get("dense")),
                }
                row = " | ".join(cells.get(k, "") for k in LAYER_ORDER)
                lines.append(f"| {board} | modern | i8 | **CMSIS-NN** | {row} | {layer_cell(c['instructions'])} |")

    lines += [
        "",
        "### Against CMSIS-NN (int8 `modern`)",
        "",
        "The fastest configuration of each board against Arm's CMSIS-NN on the same network, QEMU and "
        "counting method (CMSIS-NN's figures from issue 9: its kernels built with arm-none-eabi-gcc "
        "12.2 at `-Ofast`; RAM is its activation buffers, scratch and stack).",
        "",
        "| target | | instructions | code KiB | RAM KiB (static + stack) |",
        "|---|---|---:|---:|---:|",
    ]
    for board, c in CMSIS_NN.items():
        mine = [r for r in rows if r["board"] == board and r["model"] == "modern" and r["precision"] == "i8"]
        if not mine:
            continue
        best = min(mine, key=lambda r: r["instructions"])
        ram = c.get("ram")
        lines.append(
            f"| {board} ({BOARDS[board]['core']}) | CMSIS-NN | {millions(c['instructions'])} "
            f"| {kib(c['text'])} | {'—' if ram is None else kib(ram)} |"
        )
        lines.append(
            f"| | tinyconv {best['algorithm']} | {millions(best['instructions'])} | {kib(best['text'])} "
            f"| {kib(best['ram'])} |"
        )
    lines += [
        "",
        "Default firmware (every configuration in one binary, as `cargo run` builds it):",
        "",
        "| target | flash KiB (all) | of which weights KiB | of which test data KiB | static RAM B | run |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for d in defaults:
        lines.append(
            f"| {d['board']} ({BOARDS[d['board']]['core']}) | {kib(d['flash'])} | {kib(d['weights'])} "
            f"| {kib(d['test_data'])} | {d['static_ram']} | {'yes' if d['ran'] else 'build only'} |"
        )
    lines += ["", "Budgets the script checks (flash without test data; RAM = static + peak stack):", ""]
    for (board, precision), b in BUDGETS.items():
        parts = ", ".join(
            f"{k} ≤ {v // 1024} KiB" if k != "instructions" else f"instructions ≤ {millions(v)}"
            for k, v in b.items()
        )
        lines.append(f"- {board} {precision}: {parts}")
    lines += ["", "Aims (issue 9), on the fastest configuration of each board:", ""]
    for (board, precision, model), aim in AIMS.items():
        parts = ", ".join(
            f"{k} ≤ {millions(v)}" if k == "instructions" else f"{k} ≤ {kib(v)} KiB" for k, v in aim.items()
        )
        lines.append(f"- {board} {model} {precision}: {parts}")
    if misses:
        lines += ["", "Aims not met yet:", ""] + [f"- {m}" for m in misses]
    if failures:
        lines += ["", "**Failures:**", ""] + [f"- {f}" for f in failures]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
