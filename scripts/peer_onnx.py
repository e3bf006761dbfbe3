"""LeNet-5 safetensors (PyTorch names and layouts) -> ONNX, f32 and int8 (QDQ).

Used by scripts/peer_compare.py; importable on its own:

    python3 -c "import sys; sys.path.insert(0, 'scripts'); import peer_onnx; peer_onnx.export_all('target/peer')"

The graph is built with `onnx.helper` (no torch): NCHW input `[1, 1, 28, 28]` holding
`pixel / 255`, Conv (OIHW filters) -> Sigmoid/Relu -> AveragePool/MaxPool 2x2 -> Conv -> act ->
pool -> Flatten (C, H, W order, as PyTorch and the training tool) -> Gemm (transB, `[out][in]`
weights) -> act -> Gemm -> act -> Gemm -> logits `[1, 10]`. The safetensors are the ones tinyconv
ships (`models/lenet5-{classic,modern}.safetensors`), read here without the safetensors package.

int8: `onnxruntime.quantization.quantize_static`, QDQ format, weights int8 symmetric per output
channel (as tinyconv's), activations per tensor (int8 `s8s8` or uint8 `u8s8`), MinMax calibration
over the first `CALIBRATION_IMAGES` training images (the same count tinyconv's export tool uses).
"""
import gzip
import json
import logging
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ("modern", "classic")
CALIBRATION_IMAGES = 2000
TRAIN_IMAGES = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
# ONNX opset 13 is supported by every onnxruntime release this script may meet.
OPSET = 13

SHAPES = {
    "net.0.weight": (6, 1, 5, 5),
    "net.0.bias": (6,),
    "net.3.weight": (16, 6, 5, 5),
    "net.3.bias": (16,),
    "net.7.weight": (120, 400),
    "net.7.bias": (120,),
    "net.9.weight": (84, 120),
    "net.9.bias": (84,),
    "net.11.weight": (10, 84),
    "net.11.bias": (10,),
}


def read_safetensors(path):
    """The f32 tensors of a safetensors file by name (checked against LeNet-5's shapes)."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, shape in SHAPES.items():
        meta = header[name]
        if meta["dtype"] != "F32" or tuple(meta["shape"]) != shape:
            raise ValueError(f"{path}: {name} is {meta['dtype']} {meta['shape']}, want F32 {shape}")
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(shape).astype(np.float32)
    return out


def build_f32(variant, tensors):
    """The f32 ONNX model of one LeNet-5 variant."""
    act = "Sigmoid" if variant == "classic" else "Relu"
    pool = "AveragePool" if variant == "classic" else "MaxPool"
    inits = [numpy_helper.from_array(v, name=k) for k, v in tensors.items()]
    n = []
    n.append(helper.make_node("Conv", ["input", "net.0.weight", "net.0.bias"], ["c1"],
                              kernel_shape=[5, 5], pads=[2, 2, 2, 2]))
    n.append(helper.make_node(act, ["c1"], ["a1"]))
    n.append(helper.make_node(pool, ["a1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]))
    n.append(helper.make_node("Conv", ["p1", "net.3.weight", "net.3.bias"], ["c2"],
                              kernel_shape=[5, 5]))
    n.append(helper.make_node(act, ["c2"], ["a2"]))
    n.append(helper.make_node(pool, ["a2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]))
    n.append(helper.make_node("Flatten", ["p2"], ["f"], axis=1))
    n.append(helper.make_node("Gemm", ["f", "net.7.weight", "net.7.bias"], ["d1"], transB=1))
    n.append(helper.make_node(act, ["d1"], ["a3"]))
    n.append(helper.make_node("Gemm", ["a3", "net.9.weight", "net.9.bias"], ["d2"], transB=1))
    n.append(helper.make_node(act, ["d2"], ["a4"]))
    n.append(helper.make_node("Gemm", ["a4", "net.11.weight", "net.11.bias"], ["logits"], transB=1))
    graph = helper.make_graph(
        n,
        f"lenet5_{variant}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="tinyconv scripts/peer_onnx.py")
    # IR version 8 is what onnxruntime >= 1.10 reads; newer onnx packages default higher.
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def read_idx_images(path, count):
    """The first `count` images of an IDX3 file as `[count, 1, 28, 28]` f32 in `[0, 1]`."""
    with gzip.open(path, "rb") as f:
        magic, n, h, w = struct.unpack(">IIII", f.read(16))
        if magic != 2051 or (h, w) != (28, 28):
            raise ValueError(f"{path}: not a 28x28 IDX3 image file")
        count = min(count, n)
        px = np.frombuffer(f.read(count * 784), dtype=np.uint8)
    return (px.reshape(count, 1, 28, 28).astype(np.float32) / np.float32(255.0))


def quantize(f32_path, out_path, activation_type, calibration):
    """QDQ int8 model of `f32_path`: weights int8 per channel, activations `activation_type`."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calibration)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"input": x[None]}

    # quantize_static suggests its pre-processing (shape inference) on every call; LeNet's shapes
    # are static already.
    logging.getLogger().setLevel(logging.ERROR)
    quantize_static(
        f32_path,
        out_path,
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=activation_type,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )


def export_all(out_dir, train_images=TRAIN_IMAGES):
    """Writes `lenet5-{variant}.f32.onnx`, `.s8s8.onnx`, `.u8s8.onnx` into `out_dir`; returns
    their paths by (variant, kind)."""
    from onnxruntime.quantization import QuantType

    os.makedirs(out_dir, exist_ok=True)
    calibration = read_idx_images(train_images, CALIBRATION_IMAGES)
    paths = {}
    for v in MODELS:
        tensors = read_safetensors(os.path.join(ROOT, "models", f"lenet5-{v}.safetensors"))
        f32 = os.path.join(out_dir, f"lenet5-{v}.f32.onnx")
        onnx.save(build_f32(v, tensors), f32)
        paths[(v, "f32")] = f32
        for kind, qt in (("s8s8", QuantType.QInt8), ("u8s8", QuantType.QUInt8)):
            p = os.path.join(out_dir, f"lenet5-{v}.{kind}.onnx")
            quantize(f32, p, qt, calibration)
            paths[(v, kind)] = p
    return paths
