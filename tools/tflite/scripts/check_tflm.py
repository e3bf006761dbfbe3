#!/usr/bin/env python3
"""Checks the committed goldens against the TensorFlow Lite Micro interpreter installed here,
and optionally writes fresh goldens (new random inputs) for tinyconv's Rust tests.

    python3 tools/tflite/scripts/check_tflm.py                 # committed goldens == live TFLM
    python3 tools/tflite/scripts/check_tflm.py --fresh DIR     # also: DIR/NAME.golden from live TFLM
    TINYCONV_TFLITE_GOLDEN_DIR=DIR cargo test --release -p tinyconv-tflite --test models

Needs numpy and `tflite-micro` (`pip install tflite-micro`), not TensorFlow. Exits non-zero when
an output of the live interpreter differs from the committed one (int8: any difference; f32: more
than 1e-6 relative, for a TFLM built with other compiler flags).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_models import OUT, read_golden, tflm_interpreter, tflm_run, write_golden  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", type=Path, help="write fresh goldens (random inputs) into this directory")
    parser.add_argument("--seed", type=int, default=20260101, help="seed of the fresh inputs")
    parser.add_argument("--cases", type=int, default=20, help="fresh cases per model")
    parser.add_argument("models", nargs="*", help="model names (default: every model in manifest.json)")
    args = parser.parse_args()

    manifest = json.loads((OUT / "manifest.json").read_text())
    names = args.models or sorted(k for k in manifest if not k.startswith("_"))
    failures = 0
    for name in names:
        entry = manifest[name]
        tflite = (OUT / entry["tflite"]).read_bytes()
        dtype, pairs = read_golden(OUT / entry["golden"])
        outputs, _ = tflm_run(tflite, [x for x, _ in pairs])
        bad = 0
        for (x, want), got in zip(pairs, outputs):
            got = np.asarray(got, dtype=dtype).reshape(-1)
            if dtype == np.int8:
                bad += int(not np.array_equal(got, want))
            else:
                bad += int(not np.allclose(got, want, rtol=1e-6, atol=1e-7))
        status = "ok" if bad == 0 else f"{bad} of {len(pairs)} cases differ"
        print(f"{name}: committed goldens vs live TFLM: {status}")
        failures += bad

        if args.fresh:
            args.fresh.mkdir(parents=True, exist_ok=True)
            shape = tflm_interpreter(tflite).get_input_details(0)["shape"][1:]
            rng = np.random.default_rng([args.seed, len(name)] + list(name.encode()))
            if dtype == np.int8:
                inputs = [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(args.cases)]
            else:
                inputs = [rng.uniform(-1.0, 2.0, shape).astype(np.float32) for _ in range(args.cases)]
            fresh, _ = tflm_run(tflite, inputs)
            write_golden(args.fresh / entry["golden"], dtype, inputs, fresh)
            print(f"{name}: {args.cases} fresh cases -> {args.fresh / entry['golden']}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
