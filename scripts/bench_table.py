#!/usr/bin/env python3
"""Run tinyconv's criterion suite and write the README's performance table.

    scripts/bench_table.py            # full run (~10 min on 2 cores), then docs/bench-table.md
    scripts/bench_table.py --quick    # shorter warm-up/measurement (~3 min), same table
    scripts/bench_table.py --no-run   # only rebuild the table from the last results
    scripts/bench_table.py --allow-dirty  # measure uncommitted changes (table marked -dirty)

It refuses a tree with uncommitted changes (scripts/provenance.py) unless --allow-dirty, and
names the commit it measured in the table; `--no-run` takes that commit from the stamp the last
run left next to criterion's results (`<target>/criterion/tinyconv-commit`).

The suite is `cargo bench --bench conv` (benches/conv.rs). This script reads criterion's JSON
(`<target>/criterion/**/new/{benchmark,estimates}.json`), takes each benchmark's estimate of
thread CPU time per call (criterion's slope, or the median under flat sampling), and writes a
Markdown table: time, GMAC/s, ratio to the reference of the same precision, and the share of
this core's f32 FMA peak, per layer and for whole LeNet-5 images (every algorithm, then the best
one per precision).

The peak is measured in the same run, not assumed: `machine/fma_peak_f32x8` runs 12 independent
`f32x8::mul_add` chains (more than latency x FMA units on any current x86 core: 4-5 cycles x 1-2
units), so its throughput is what the core's FMA units deliver to `wide` code (one core, the
benchmark thread's CPU time). int8 layers are shown against the same f32 peak: `pmaddwd` does 16
MACs per instruction where an f32 FMA does 8, so int8 can exceed 100 %. /proc/cpuinfo's nominal
clock only turns the peak into FMA lanes per cycle for the reader. Only the Python standard
library is used.
"""

import argparse
import datetime
import json
import os
import pathlib
import re
import subprocess
import sys

from provenance import measured_commit

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORES_USED = 1
# Multiply-accumulates of one LeNet-5 image (benches/conv.rs LENET_MACS).
LENET_MACS = 416_520

CONV_NAMES = {
    "lenet_conv1_28x28x1_6_5x5_p2": "LeNet conv1: 28×28×1 → 6, 5×5, pad 2",
    "lenet_conv2_14x14x6_16_5x5": "LeNet conv2: 14×14×6 → 16, 5×5",
    "3x3_16x16x16_16_p1": "3×3, 16×16×16 → 16, pad 1",
    "3x3_32x32x16_32_p1": "3×3, 32×32×16 → 32, pad 1",
    "3x3_16x16x64_64_p1": "3×3, 16×16×64 → 64, pad 1",
    "3x3_32x32x64_64_p1": "3×3, 32×32×64 → 64, pad 1",
    "1x1_32x32x16_32": "1×1, 32×32×16 → 32",
    "1x1_16x16x64_64": "1×1, 16×16×64 → 64",
    "1x1_32x32x64_64": "1×1, 32×32×64 → 64",
}
POOL_NAMES = {
    "lenet_pool1_28x28x6_2x2_s2": "LeNet pool1: 28×28×6, 2×2, stride 2",
    "lenet_pool2_10x10x16_2x2_s2": "LeNet pool2: 10×10×16, 2×2, stride 2",
}
DENSE_NAMES = {
    "lenet_fc1_400_120": "LeNet fc1: 400 → 120",
    "lenet_fc2_120_84": "LeNet fc2: 120 → 84",
    "lenet_fc3_84_10": "LeNet fc3: 84 → 10",
}


def target_dir():
    return pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def commit_stamp():
    return target_dir() / "criterion" / "tinyconv-commit"


def run_suite(quick, filt, commit):
    env = dict(os.environ)
    if quick:
        env["TINYCONV_BENCH_QUICK"] = "1"
    cmd = ["cargo", "bench", "--bench", "conv", "--"]
    if filt:
        cmd.append(filt)
    print("+", " ".join(cmd), "(TINYCONV_BENCH_QUICK=1)" if quick else "", file=sys.stderr)
    stamp = commit_stamp()
    stamp.unlink(missing_ok=True)  # results of an interrupted run belong to no commit
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(commit + "\n")


def load_results():
    """{(group, function): {"ns": median, "elements": n}} from criterion's JSON."""
    base = target_dir() / "criterion"
    out = {}
    for bj in base.glob("**/new/benchmark.json"):
        meta = json.loads(bj.read_text())
        est = json.loads((bj.parent / "estimates.json").read_text())
        tp = meta.get("throughput") or {}
        # Criterion's own headline: the slope of time over iteration count (linear sampling),
        # which discounts the noisier short samples; the median where there is no slope (flat
        # sampling of the slow reference layers).
        point = (est.get("slope") or est["median"])["point_estimate"]
        out[(meta["group_id"], meta["function_id"])] = {
            "ns": point,
            "elements": tp.get("Elements"),
        }
    if not out:
        sys.exit(f"no criterion results under {base}; run without --no-run first")
    return out


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs" if ns < 1e5 else f"{ns / 1e3:.0f} µs"
    return f"{ns:.0f} ns"


def rate(r):
    """Giga-elements (MACs or taps) per second."""
    return r["elements"] / r["ns"] if r and r.get("elements") else None


def cpu_info():
    model, mhz = "unknown CPU", None
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        model = m.group(1).strip() if m else model
        m = re.search(r"^cpu MHz\s*:\s*([\d.]+)$", text, re.M)
        mhz = float(m.group(1)) if m else None
    except OSError:
        pass
    return model, mhz, os.cpu_count()


def cmd_out(cmd):
    try:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def cell(r, ref, peak_gfma):
    """'time · ratio× · GMAC/s · %peak' for one benchmark (no share when peak_gfma is None)."""
    if r is None:
        return "—"
    parts = [fmt_time(r["ns"])]
    if ref is not None and r is not ref:
        parts.append(f"**{ref['ns'] / r['ns']:.1f}×**")
    g = rate(r)
    if g is not None:
        parts.append(f"{g:.2f} G/s")
        if peak_gfma:
            parts.append(f"{100 * g / peak_gfma:.0f} %")
    return " · ".join(parts)


# The non-reference kernels a "best" may come from (bench function suffixes).
KERNELS = ("im2col", "direct", "implicit", "onech", "auto")


def table(res, quick, cmdline, rev):
    lines = []
    model, mhz, ncpu = cpu_info()
    chain = res.get(("machine", "fma_latency_chain"))
    peak_meas = res.get(("machine", "fma_peak_f32x8"))
    peak = CORES_USED * rate(peak_meas) if peak_meas else None
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rustc = cmd_out(["rustc", "--version"])

    lines += [
        "<!-- generated by scripts/bench_table.py; do not edit by hand -->",
        "",
        f"Produced by `{cmdline}` ({'quick' if quick else 'full'} run, {when}, commit `{rev.removesuffix(' (filtered run)')}`"
        f"{'; only the benchmarks matching the filter were re-run, the rest come from earlier runs' if rev.endswith(' (filtered run)') else ''}) on {model} ({ncpu} cores, KVM guest), {rustc},"
        " `-C target-cpu=x86-64-v3` (AVX2 + FMA), one thread, batch 1.",
        "Each cell: **thread CPU time** per call (criterion's slope estimate; median for the"
        " flat-sampled slow references; other jobs on the machine inflate it less"
        " than wall time) · speed-up over the reference of the same precision · throughput in"
        " G MAC/s (pooling: G window elements/s) · share of the measured f32 FMA peak (int8"
        " too: `pmaddwd` does twice an FMA's MACs, so int8 can exceed 100 %).",
        "",
    ]
    if peak:
        per_cycle = f" = {peak / (mhz / 1000):.1f} f32 FMA per cycle at the nominal {mhz / 1000:.2f} GHz" if mhz else ""
        lines.append(
            f"**Peak, measured in this run**: 12 independent `f32x8::mul_add` chains"
            f" (`machine/fma_peak_f32x8`) on one core reach **{peak:.1f} G FMA/s**{per_cycle}"
            f" (/proc/cpuinfo). At that rate LeNet-5's {LENET_MACS:,} MACs take"
            f" {LENET_MACS / peak / 1e3:.1f} µs."
        )
    else:
        lines.append("**Peak**: `machine/fma_peak_f32x8` missing from this run; no shares shown.")
    if chain:
        lines.append(f"One dependent FMA chain (`machine/fma_latency_chain`): {1 / rate(chain):.3f} ns per FMA.")
    lines.append("")

    algs = ["reference", "im2col", "direct"]

    def precision_rows(group, names, precisions, fns, title_cols):
        rows = []
        for key, label in names.items():
            for prec in precisions:
                ref = res.get((f"{group}/{key}", f"{prec}-{fns[0]}"))
                cells = []
                for fn in fns:
                    r = res.get((f"{group}/{key}", f"{prec}-{fn}"))
                    cells.append(cell(r, ref, peak if group != "pool" else None))
                if any(c != "—" for c in cells):
                    rows.append(f"| {label} | {prec} | " + " | ".join(cells) + " |")
        if rows:
            lines.append("| layer | precision | " + " | ".join(title_cols) + " |")
            lines.append("|---|---|" + "---|" * len(title_cols))
            lines.extend(rows)
            lines.append("")

    lines.append("### Convolution layers")
    lines.append("")
    conv_algs = algs + ["implicit", "onech"]
    precision_rows("conv", CONV_NAMES, ["f32", "i8"], conv_algs,
                   algs + ["implicit GEMM", "one channel"])
    lines.append("### Convolution + 2×2 pooling (LeNet's pairs; throughput = the convolution's MACs)")
    lines.append("")
    lines.append("The two calls (`im2col` then the SIMD pooling) against the kernels that pool in their output stage.")
    lines.append("")
    precision_rows("convpool", {"lenet_conv1_pool1": "LeNet conv1 + pool1",
                                "lenet_conv2_pool2": "LeNet conv2 + pool2"},
                   ["f32", "i8"], ["im2col+pool", "implicit-pool", "onech-pool"],
                   ["im2col + pool", "implicit GEMM, pool fused", "one channel, pool fused"])
    lines.append("### Pooling (window elements per second)")
    lines.append("")
    precision_rows(
        "pool",
        POOL_NAMES,
        ["f32-max", "f32-avg", "i8-max", "i8-avg"],
        ["reference", "simd"],
        ["reference", "SIMD (im2col and direct)"],
    )
    lines.append("### Dense layers")
    lines.append("")
    precision_rows("dense", DENSE_NAMES, ["f32", "i8"], ["reference", "simd", "blocked"],
                   ["reference", "SIMD (im2col and direct)", "blocked (int8 auto)"])
    sig = [res.get(("activation/sigmoid_6508", f)) for f in ("std-exp", "scalar", "f32x8")]
    if any(sig):
        cells = [cell(x, sig[0], None) if x else "—" for x in sig]
        lines += [
            "### Sigmoid over a classic image's 6,508 activations (G values/s)",
            "",
            "| std `f32::exp` per value | tinyconv scalar polynomial | tinyconv `f32x8` (`apply_slice`) |",
            "|---|---|---|",
            "| " + " | ".join(cells) + " |",
            "",
        ]
    lines.append("### LeNet-5, one image end to end (416,520 MACs)")
    lines.append("")
    precision_rows("lenet5", {"modern": "modern (ReLU, max pool)",
                              "classic": "classic (sigmoid, avg pool)"},
                   ["f32", "i8"], algs + ["auto"], algs + ["auto (per-layer choice)"])

    def r(g, f):
        return res.get((g, f))

    def best(g, prec):
        cands = [x for x in (r(g, f"{prec}-{a}") for a in KERNELS) if x]
        return min(cands, key=lambda x: x["ns"]) if cands else None

    def name_of(g, x):
        for p in ("f32", "i8"):
            for a in KERNELS:
                if r(g, f"{p}-{a}") is x:
                    return f"{p}-{a}"
        return "?"

    # Whole models, the fastest algorithm per precision.
    best_rows = []
    for variant, label in (("modern", "modern (ReLU, max pool)"), ("classic", "classic (sigmoid, avg pool)")):
        g = f"lenet5/{variant}"
        for prec in ("f32", "i8"):
            b = best(g, prec)
            if b is None:
                continue
            share = f"{100 * rate(b) / peak:.0f} %" if peak else "—"
            bound = f"{b['ns'] / (LENET_MACS / peak):.1f}×" if peak else "—"
            best_rows.append(
                f"| {label} | {prec} | {name_of(g, b).split('-')[1]} | {fmt_time(b['ns'])} "
                f"| {rate(b):.2f} | {share} | {bound} |"
            )
    if best_rows:
        lines += [
            "### LeNet-5, best algorithm per precision",
            "",
            "| model | precision | algorithm | time / image | G MAC/s | share of f32 FMA peak | time ÷ FMA-bound time |",
            "|---|---|---|---:|---:|---:|---:|",
            *best_rows,
            "",
        ]

    # The issues' aims, each from this run.

    aims = []

    def aim(text, value, ok):
        aims.append(f"| {text} | {value} | {'met' if ok else '**not met**'} |")

    for key in ("lenet_conv2_14x14x6_16_5x5", "3x3_32x32x16_32_p1"):
        g = f"conv/{key}"
        ref = r(g, "f32-reference")
        for alg in ("im2col", "direct"):
            x = r(g, f"f32-{alg}")
            if ref and x:
                ratio = ref["ns"] / x["ns"]
                aim(f"f32 {alg} ≥ 8× reference on {CONV_NAMES[key]} (issue 2)", f"{ratio:.1f}×",
                    ratio >= 8)
    g = "conv/3x3_32x32x64_64_p1"
    b = best(g, "f32")
    if b and peak:
        share = 100 * rate(b) / peak
        aim(f"best f32 conv on {CONV_NAMES['3x3_32x32x64_64_p1']} ≥ 70 % of the measured FMA peak (issue 10)",
            f"{share:.0f} % ({name_of(g, b)}, {rate(b):.1f} GMAC/s)", share >= 70)
    g = "lenet5/modern"
    ref, b = r(g, "f32-reference"), best(g, "f32")
    if ref and b:
        ratio = ref["ns"] / b["ns"]
        aim("LeNet-5 modern f32, best algorithm ≥ 15× reference (issues 4, 6)",
            f"{ratio:.1f}× ({name_of(g, b)}, {fmt_time(b['ns'])} vs {fmt_time(ref['ns'])})",
            ratio >= 15)
    bi = best(g, "i8")
    if b and bi:
        ratio = bi["ns"] / b["ns"]
        aim("LeNet-5 modern int8 ≤ 0.6× f32, best algorithms (issue 10)",
            f"{ratio:.2f}× ({fmt_time(bi['ns'])} vs {fmt_time(b['ns'])})", ratio <= 0.6)
    g = "conv/lenet_conv2_14x14x6_16_5x5"
    bf, bi = best(g, "f32"), best(g, "i8")
    if bf and bi:
        ratio = bf["ns"] / bi["ns"]
        aim("best int8 conv ≥ 2× best f32 conv on LeNet conv2 (issue 3)",
            f"{ratio:.2f}× ({name_of(g, bi)} vs {name_of(g, bf)})", ratio >= 2)
    if aims:
        lines += ["### Aims, measured in this run", "", "| aim | measured | |", "|---|---|---|"]
        lines += aims
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter warm-up and measurement")
    ap.add_argument("--no-run", action="store_true", help="only rebuild the table from existing results")
    ap.add_argument("--filter", default="", help="criterion filter (regex) passed to the suite")
    ap.add_argument("--out", default=str(ROOT / "docs" / "bench-table.md"))
    ap.add_argument("--allow-dirty", action="store_true", help="measure a dirty tree, table marked -dirty")
    args = ap.parse_args()
    if args.no_run:
        try:
            commit = commit_stamp().read_text().strip()
        except OSError:
            commit = ""
        if not commit or (commit.endswith("-dirty") and not args.allow_dirty):
            sys.exit(f"{commit_stamp()}: the last run's results {'are from a dirty tree' if commit else 'name no commit'};"
                     " run the suite again (without --no-run), or pass --allow-dirty")
    else:
        commit = measured_commit(args.allow_dirty, "bench_table.py")
        if args.filter:
            # The other benchmarks' results stay from earlier runs, of unknown commits.
            commit += " (filtered run)"
        run_suite(args.quick, args.filter, commit)
    cmdline = "scripts/bench_table.py" + (" --quick" if args.quick else "")
    text = table(load_results(), args.quick, cmdline, commit)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(text)
    print(f"\nwrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
