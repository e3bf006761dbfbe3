#!/usr/bin/env python3
"""Writes the committed seed corpora (fuzz/corpus/<target>/seed-*): LeNet-5's layer shapes and a
few small edge cases, spelled in the byte order of fuzz/src/checks.rs (one byte per geometry
field, `value - min`), followed by deterministic pseudo-random bytes for the data. Rerun after
changing how checks.rs derives its input."""
import os, random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def geom(h, w, cin, cout, kh, kw, sh=1, sw=1, dh=1, dw=1, pad=(0, 0, 0, 0)):
    return bytes([h - 1, w - 1, cin - 1, cout - 1, kh - 1, kw - 1, sh - 1, sw - 1, dh - 1, dw - 1, *pad])

def noise(n, seed):
    r = random.Random(seed)
    return bytes(r.randrange(256) for _ in range(n))

CONV = {
    "lenet_conv1": geom(28, 28, 1, 6, 5, 5, pad=(2, 2, 2, 2)),
    "lenet_conv2": geom(14, 14, 6, 16, 5, 5),
    "pointwise": geom(7, 9, 16, 5, 1, 1),
    "input_smaller_than_kernel": geom(2, 1, 2, 3, 5, 4, pad=(2, 2, 3, 1)),
    "stride_dilation_asymmetric": geom(11, 13, 4, 6, 3, 2, 2, 3, 2, 2, pad=(0, 3, 1, 0)),
    "same_3x3_stride2": geom(9, 10, 5, 7, 3, 3, 2, 2, pad=(1, 1, 1, 1)),
}

def write(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)

for i, (name, g) in enumerate(CONV.items()):
    # conv2d_f32: geometry, specials (byte 1 → no), activation (1 → ReLU), then data.
    write("conv2d_f32", name, g + bytes([1, 1]) + noise(3000, i))
    write("conv2d_f32", name + "_specials", g + bytes([0, 0]) + noise(3000, 100 + i))
    # conv2d_i8: geometry, then quantization parameters and data.
    write("conv2d_i8", name, g + noise(3000, 200 + i))
    write("shapes", name, g + noise(200, 300 + i))
# pool2d: LeNet's two poolings (h, w, c, kh, kw, sh, sw, pads), then data.
write("pool2d", "lenet_pool1", bytes([27, 27, 5, 1, 1, 1, 1, 0, 0, 0, 0]) + noise(3000, 400))
write("pool2d", "lenet_pool2", bytes([9, 9, 15, 1, 1, 1, 1, 0, 0, 0, 0]) + noise(3000, 401))
# dense: 120 → 84 and 84 → 10 (LeNet's fc2, fc3); the byte ranges are 0..=299 and 0..=39.
write("dense", "lenet_fc3", bytes([0, 83, 9]) + noise(2000, 500))
write("dense", "small", bytes([0, 7, 3]) + noise(500, 501))
for i in range(4):
    write("requantize", f"random{i}", noise(32, 600 + i))
write("model_loader", "empty", b"")
write("model_loader", "garbage", noise(64, 700))
