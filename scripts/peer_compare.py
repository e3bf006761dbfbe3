#!/usr/bin/env python3
"""tinyconv's LeNet-5 against ONNX Runtime on this machine: writes docs/peer-table.md.

    python3 scripts/peer_compare.py                  # 7 rounds on core 1, clean tree only
    python3 scripts/peer_compare.py --rounds 9 --core 0 --allow-dirty

1. Exports the shipped trained weights (models/lenet5-{modern,classic}.safetensors) to ONNX with
   `onnx.helper` and quantizes them to int8 QDQ with onnxruntime.quantization, both s8s8 and u8s8
   (scripts/peer_onnx.py; models in target/peer/).
2. Builds and runs peer/ (a binary outside the library's dependencies) pinned to one core with
   `taskset`: it checks ONNX Runtime's f32 logits against tinyconv's on the shipped 1,000 images
   (within --tolerance, every prediction equal; it fails otherwise), then times every
   configuration in alternating rounds (batch 1, one thread; ONNX Runtime through its C API with
   I/O binding, from the library the onnxruntime wheel ships).
3. Writes the medians and the ratios tinyconv / ONNX Runtime (median of the per-round ratios) to
   docs/peer-table.md, with the CPU, the load, the commit and this command.
   scripts/update_readme.py splices it into the README (`<!-- BEGIN peer-table -->`).

A dirty tree is refused unless --allow-dirty, which marks the table.
"""
import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import peer_onnx  # noqa: E402


def git(*a):
    return subprocess.run(["git", *a], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def cpu_flags():
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return ", ".join(f for f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags)
    return ""


def load():
    return open("/proc/loadavg").read().split()[:3]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds (at least 5)")
    ap.add_argument("--passes", type=int, default=1, help="passes over the 1,000 images per round")
    ap.add_argument("--core", type=int, default=1, help="the core both engines are pinned to")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="largest |ORT - tinyconv| f32 logit")
    ap.add_argument("--allow-dirty", action="store_true", help="measure an uncommitted tree (marked)")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "peer-table.md"))
    args = ap.parse_args()
    if args.rounds < 5:
        ap.error("--rounds must be at least 5")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    if dirty and not args.allow_dirty:
        sys.exit(f"refusing to measure a dirty tree (commit, or pass --allow-dirty):\n{dirty}")
    commit = git("rev-parse", "--short=12", "HEAD")

    import onnxruntime

    dylib_dir = os.path.join(os.path.dirname(onnxruntime.__file__), "capi")
    dylibs = sorted(f for f in os.listdir(dylib_dir) if f.startswith("libonnxruntime.so"))
    if not dylibs:
        sys.exit(f"no libonnxruntime.so in {dylib_dir}")
    dylib = os.path.join(dylib_dir, dylibs[0])

    onnx_dir = os.path.join(ROOT, "target", "peer")
    peer_onnx.export_all(onnx_dir)
    # An explicit target dir: with CARGO_TARGET_DIR set, cargo would build elsewhere and a stale
    # binary under peer/target would be timed.
    peer_target = os.path.join(ROOT, "peer", "target")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--manifest-path", "peer/Cargo.toml",
                    "--target-dir", peer_target], cwd=ROOT, check=True)
    exe = os.path.join(peer_target, "release", "tinyconv-peer")
    cmd = ["taskset", "-c", str(args.core), exe, "--onnx-dir", onnx_dir, "--ort-dylib", dylib,
           "--rounds", str(args.rounds), "--passes", str(args.passes), "--tolerance", str(args.tolerance)]
    load_before = load()
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    load_after = load()
    report = json.loads(out)
    write_table(args, report, commit, dirty, dylib, onnxruntime.__version__, load_before, load_after)


def label(t):
    return f"{t['engine']} {t['precision']}" + (f" {t['algorithm']}" if t["algorithm"] else "")


def write_table(args, report, commit, dirty, dylib, ort_version, load_before, load_after):
    timings = report["timings"]
    rounds = report["rounds"]
    med = lambda t: statistics.median(t["cpu_us"])  # noqa: E731

    def best(model, engine, precision):
        c = [t for t in timings if (t["model"], t["engine"], t["precision"]) == (model, engine, precision)]
        return min(c, key=med)

    def ratio(a, b):
        """Median over rounds of a's time / b's time in the same round."""
        return statistics.median(x / y for x, y in zip(a["cpu_us"], b["cpu_us"]))

    me = " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])
    lines = [
        f"LeNet-5 (shipped trained weights), batch 1, one thread, tinyconv and ONNX Runtime {ort_version} "
        f"pinned to the same core and timed in {rounds} alternating rounds of {report['images'] * report['passes']} "
        f"images each; median process CPU µs per image (the machine is shared, so wall time includes "
        f"waiting for the core). Ratio: tinyconv / ONNX Runtime, median of the per-round ratios "
        f"(below 1: tinyconv faster).",
        "",
        "| model | tinyconv f32 (best) | ORT f32 | ratio | tinyconv int8 (best) | ORT int8 (best QDQ) | ratio | tinyconv int8 / f32 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model in ("modern", "classic"):
        tf, of = best(model, "tinyconv", "f32"), best(model, "onnxruntime", "f32")
        ti, oi = best(model, "tinyconv", "int8"), best(model, "onnxruntime", "int8")
        lines.append(
            f"| {model} | {med(tf):.1f} µs ({tf['algorithm']}) | {med(of):.1f} µs | **{ratio(tf, of):.2f}×** "
            f"| {med(ti):.1f} µs ({ti['algorithm']}) | {med(oi):.1f} µs ({oi['algorithm'].removeprefix('qdq-')}) "
            f"| **{ratio(ti, oi):.2f}×** | {ratio(ti, tf):.2f}× |"
        )
    lines += [
        "",
        "<details><summary>Every configuration</summary>",
        "",
        "| model | configuration | correct of 1,000 | CPU µs / image: median (min – max) | wall µs / image: median |",
        "|---|---|---:|---:|---:|",
    ]
    for t in timings:
        lines.append(
            f"| {t['model']} | {label(t)} | {t['correct']} | {med(t):.1f} ({min(t['cpu_us']):.1f} – "
            f"{max(t['cpu_us']):.1f}) | {statistics.median(t['wall_us']):.1f} |"
        )
    checks = "; ".join(
        f"{c['model']} {c['algorithm']}: max |Δ| = {c['max_abs_diff']:.1e}, {c['same_predictions']} of "
        f"{report['images']} predictions equal"
        for c in report["checks"]
    )
    lines += [
        "",
        "</details>",
        "",
        f"Check (the run fails otherwise): ONNX Runtime's f32 logits against tinyconv's on all "
        f"{report['images']} images within {report['tolerance']:g}, every prediction equal — {checks}.",
        "ONNX Runtime: C API through the `ort` crate (API version "
        f"{report['ort_api_version']}) loading `{os.path.basename(dylib)}` from the onnxruntime wheel; "
        "I/O binding, `intra_op_num_threads = 1`, `inter_op_num_threads = 1`, sequential execution, "
        "all graph optimizations. int8: `quantize_static`, QDQ, weights int8 per channel, activations "
        f"int8 (s8s8) or uint8 (u8s8), MinMax over {peer_onnx.CALIBRATION_IMAGES} training images. "
        "tinyconv int8 uses its shipped int8 weights (calibrated by `tools/export`), so int8 accuracies differ.",
        "",
        f"CPU: {cpu_model()} ({cpu_flags()}), {os.cpu_count()} cores; tinyconv built with "
        f"`-C target-cpu=x86-64-v3` (AVX2 + FMA). Load average before / after: {' '.join(load_before)} / "
        f"{' '.join(load_after)}. Commit `{commit}`"
        + (" **with uncommitted changes (--allow-dirty): not a record**" if dirty else "")
        + f". Command: `python3 {me}`.",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(open(args.out).read())


if __name__ == "__main__":
    main()
