#!/usr/bin/env python3
"""Makes tinyconv-tflite's test models and their golden outputs from TensorFlow Lite Micro.

    python3 tools/tflite/scripts/make_models.py            # every model
    python3 tools/tflite/scripts/make_models.py resnet8    # one model

Needs `tensorflow-cpu` (the converter, only here: never a build or test dependency of a crate),
`tflite-micro` (the oracle: `tflite_micro.runtime.Interpreter`, TFLM's reference kernels) and
numpy. The LeNet-5 models are built from the trained safetensors under `models/` and calibrated on
the Fashion-MNIST training split (`/usr/share/datasets/fashion-mnist`, Debian package
`dataset-fashion-mnist`); every other model has seeded random weights (bit-exactness does not need
trained weights) and is calibrated on seeded Gaussian inputs.

Writes into `tools/tflite/models/`:
  NAME.tflite   the model: int8 full-integer quantization (int8 input and output, per-channel
                weights, TFLITE_BUILTINS_INT8), or plain f32 for the `*_f32` models;
  NAME.golden   inputs and TFLM's outputs (format below);
  manifest.json per model: ops, input/output shape and quantization, TFLM's arena use, cases.

Golden file format (little endian), readable without dependencies:
  b"TCG1", u8 dtype (1 = int8, 2 = f32), 3 zero bytes, u32 cases, u32 input_len, u32 output_len,
  then `cases` times: input (input_len elements) followed by TFLM's output (output_len elements),
  elements as i8 or f32, flattened NHWC.

The script is deterministic for a given TensorFlow version (seeded weights, data and inputs);
TensorFlow 2.21.0 and tflite-micro 0.dev20261023182759 made the committed files.
"""

import contextlib
import gzip
import hashlib
import json
import os
import struct
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tools" / "tflite" / "models"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
# TFLM is given this arena; the recording allocator reports what it actually used.
TFLM_ARENA = 4 << 20
RANDOM_CASES = 10


# --------------------------------------------------------------------------------------------
# Inputs: safetensors, Fashion-MNIST
# --------------------------------------------------------------------------------------------


def read_safetensors(path):
    """{name: float32 array} from a safetensors file (8-byte header length, JSON header, data)."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", (name, meta["dtype"])
        begin, end = meta["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(meta["shape"]).copy()
    return out


def read_idx_images(path, count):
    """The first `count` images of a gzip IDX file as float32 [count, 28, 28, 1] in [0, 1]."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = struct.unpack_from(">IIII", raw, 0)
    assert magic == 0x803 and rows == 28 and cols == 28, path
    count = min(count, n)
    pixels = np.frombuffer(raw, dtype=np.uint8, count=count * 784, offset=16)
    return pixels.reshape(count, 28, 28, 1).astype(np.float32) / 255.0


# --------------------------------------------------------------------------------------------
# Models (Keras)
# --------------------------------------------------------------------------------------------


def keras_modules():
    import keras
    from keras import layers

    return keras, layers


def calibrate_batchnorm(model, inputs, rng):
    """Batch-norm statistics from the data (per-channel mean and variance of each BN layer's
    input over `inputs`, in layer order) with random scale and shift, so that the converter folds
    something real and the signal of a random deep network neither dies nor explodes."""
    keras, _ = keras_modules()
    for layer in model.layers:
        if layer.__class__.__name__ != "BatchNormalization":
            continue
        probe = keras.Model(model.inputs, layer.input)
        x = np.concatenate([np.asarray(probe(x[None])) for x in inputs])
        axes = tuple(range(x.ndim - 1))
        gamma, beta, _, _ = layer.get_weights()
        layer.set_weights(
            [
                rng.uniform(0.5, 1.5, gamma.shape).astype(np.float32),
                rng.normal(0.0, 0.3, beta.shape).astype(np.float32),
                x.mean(axis=axes).astype(np.float32),
                (x.var(axis=axes) + 1e-3).astype(np.float32),
            ]
        )


def randomize_biases(model, rng):
    """Keras initialises biases to zero (and the converter then drops them): make them real."""
    for layer in model.layers:
        weights = layer.get_weights()
        if layer.__class__.__name__ in ("Conv1D", "Conv2D", "DepthwiseConv2D", "Dense") and len(weights) == 2:
            weights[1] = rng.normal(0.0, 0.1, weights[1].shape).astype(np.float32)
            layer.set_weights(weights)


def spread_logits(model, inputs, target_std=3.0):
    """Rescales the last Dense layer of a random network so its outputs (the softmax/sigmoid
    inputs) are centred per class with standard deviation `target_std` over `inputs`: random
    weights otherwise give near-uniform logits, and the output op would see only a few values."""
    keras, _ = keras_modules()
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"][-1]
    probe = keras.Model(model.inputs, dense.output)
    logits = np.concatenate([np.asarray(probe(x[None])) for x in inputs])
    k = target_std / max(float(logits.std()), 1e-6)
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * k, (bias - logits.mean(axis=0)) * k])


def lenet5(variant):
    """LeNet-5 from models/lenet5-VARIANT.safetensors (PyTorch names and layouts)."""
    keras, layers = keras_modules()
    w = read_safetensors(ROOT / "models" / f"lenet5-{variant}.safetensors")
    act = "relu" if variant == "modern" else "sigmoid"
    pool = layers.MaxPooling2D if variant == "modern" else layers.AveragePooling2D
    inp = keras.Input((28, 28, 1), batch_size=1, name="image")
    # Separate activation layers: the int8 converter fuses ReLU into the op before it and keeps
    # sigmoid as its own LOGISTIC op.
    x = layers.Conv2D(6, 5, padding="same", name="conv1")(inp)
    x = layers.Activation(act)(x)
    x = pool(2)(x)
    x = layers.Conv2D(16, 5, padding="valid", name="conv2")(x)
    x = layers.Activation(act)(x)
    x = pool(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, name="fc1")(x)
    x = layers.Activation(act)(x)
    x = layers.Dense(84, name="fc2")(x)
    x = layers.Activation(act)(x)
    x = layers.Dense(10, name="fc3")(x)
    model = keras.Model(inp, x)

    def conv(name):
        # PyTorch [out, in, kh, kw] -> Keras [kh, kw, in, out].
        return [w[f"{name}.weight"].transpose(2, 3, 1, 0), w[f"{name}.bias"]]

    model.get_layer("conv1").set_weights(conv("net.0"))
    model.get_layer("conv2").set_weights(conv("net.3"))
    # PyTorch flattens [C=16, H=5, W=5]; Keras flattens NHWC [H, W, C]: permute fc1's inputs.
    fc1 = w["net.7.weight"].reshape(120, 16, 5, 5).transpose(2, 3, 1, 0).reshape(400, 120)
    model.get_layer("fc1").set_weights([fc1, w["net.7.bias"]])
    model.get_layer("fc2").set_weights([w["net.9.weight"].T, w["net.9.bias"]])
    model.get_layer("fc3").set_weights([w["net.11.weight"].T, w["net.11.bias"]])
    return model


def ds_cnn():
    """MLPerf Tiny keyword spotting DS-CNN: 49x10x1 MFCCs -> 12 classes."""
    keras, layers = keras_modules()
    inp = keras.Input((49, 10, 1), batch_size=1, name="mfcc")
    x = layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    for _ in range(4):
        x = layers.DepthwiseConv2D((3, 3), padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Conv2D(64, (1, 1), padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
    x = layers.AveragePooling2D(pool_size=(25, 5))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(12)(x)
    x = layers.Activation("softmax")(x)
    return keras.Model(inp, x)


def resnet8():
    """MLPerf Tiny image classification ResNet-8: 32x32x3 -> 10 classes, residual ADDs."""
    keras, layers = keras_modules()
    inp = keras.Input((32, 32, 3), batch_size=1, name="image")
    x = layers.Conv2D(16, 3, padding="same")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = layers.Conv2D(filters, 3, strides=stride, padding="same")(x)
        y = layers.BatchNormalization()(y)
        y = layers.Activation("relu")(y)
        y = layers.Conv2D(filters, 3, padding="same")(y)
        y = layers.BatchNormalization()(y)
        if stride != 1:
            x = layers.Conv2D(filters, 1, strides=stride, padding="same")(x)
        x = layers.Add()([x, y])
        x = layers.Activation("relu")(x)
    x = layers.AveragePooling2D(pool_size=8)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(10)(x)
    x = layers.Activation("softmax")(x)
    return keras.Model(inp, x)


def mobilenet_v1():
    """MobileNetV1-style: stride-2 depthwise layers, SAME padding on odd sizes (symmetric) and
    even sizes (asymmetric: one more row/column at the bottom/right), an explicit ZeroPadding2D
    (PAD) before a VALID stride-2 depthwise as Keras' MobileNet does, depth multiplier 2 with
    dilation 2, ReLU6, global average pooling (MEAN)."""
    keras, layers = keras_modules()

    def dw_pw(x, filters, stride, padding="same", multiplier=1, dilation=1):
        x = layers.DepthwiseConv2D(
            3, strides=stride, padding=padding, depth_multiplier=multiplier, dilation_rate=dilation
        )(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU(6.0)(x)
        x = layers.Conv2D(filters, 1)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU(6.0)(x)

    inp = keras.Input((33, 33, 3), batch_size=1, name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same")(inp)  # 33 -> 17
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = dw_pw(x, 16, 1)  # 17
    x = dw_pw(x, 24, 2)  # 17 -> 9, SAME on an odd size
    x = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)  # 9 -> 10 (PAD)
    x = dw_pw(x, 32, 2, padding="valid")  # 10 -> 4
    x = dw_pw(x, 32, 1, multiplier=2, dilation=2)  # 4, 64 depthwise channels
    x = dw_pw(x, 48, 2)  # 4 -> 2, SAME on an even size: padding 0 top/left, 1 bottom/right
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(10)(x)
    x = layers.Activation("softmax")(x)
    return keras.Model(inp, x)


def conv1d():
    """Time series: Conv1D layers (TFLite: CONV_2D with height 1 between RESHAPEs), stride,
    dilation, TANH, CONCATENATION, 1-D max pooling, global average (MEAN), LOGISTIC output."""
    keras, layers = keras_modules()
    inp = keras.Input((64, 3), batch_size=1, name="signal")
    x = layers.Conv1D(16, 5, padding="same", activation="relu")(inp)
    x = layers.Conv1D(16, 3, strides=2)(x)  # 64 -> 31
    x = layers.Activation("tanh")(x)
    a = layers.Conv1D(8, 1)(x)
    b = layers.Conv1D(8, 3, padding="same", dilation_rate=2)(x)
    x = layers.Concatenate()([a, b])
    x = layers.MaxPooling1D(2)(x)  # 31 -> 15
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dense(4)(x)
    x = layers.Activation("sigmoid")(x)
    return keras.Model(inp, x)


def small_f32():
    """A float model with the layers LeNet lacks: strided SAME conv, depthwise, residual ADD,
    average pooling, softmax."""
    keras, layers = keras_modules()
    inp = keras.Input((20, 12, 1), batch_size=1, name="features")
    x = layers.Conv2D(8, (5, 3), strides=2, padding="same", activation="relu")(inp)  # 10x6x8
    y = layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    y = layers.Conv2D(8, 1)(y)
    x = layers.Add()([x, y])
    x = layers.AveragePooling2D(2)(x)  # 5x3x8
    x = layers.Flatten()(x)
    x = layers.Dense(6)(x)
    x = layers.Activation("softmax")(x)
    return keras.Model(inp, x)


# --------------------------------------------------------------------------------------------
# Conversion and the oracle
# --------------------------------------------------------------------------------------------


def convert(model, representative, int8):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x[None]] for x in representative)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    with contextlib.redirect_stdout(sys.stderr):
        return converter.convert()


@contextlib.contextmanager
def captured_fd2():
    """Captures what C++ writes to file descriptor 2 (TFLM's allocation report)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        box = {}
        try:
            yield box
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            box["text"] = tmp.read().decode("utf-8", "replace")


def tflm_interpreter(model_bytes):
    from tflite_micro import runtime

    return runtime.Interpreter.from_bytes(model_bytes, arena_size=TFLM_ARENA)


def tflm_run(model_bytes, inputs):
    """TFLM's outputs for each input (flat arrays), and its arena use (bytes)."""
    interp = tflm_interpreter(model_bytes)
    shape = interp.get_input_details(0)["shape"]
    outputs = []
    for x in inputs:
        interp.set_input(x.reshape(shape), 0)
        interp.invoke()
        outputs.append(np.array(interp.get_output(0)).reshape(-1))
    with captured_fd2() as report:
        interp.print_allocations()
    arena = {}
    for line in report["text"].splitlines():
        for key in ("total", "head", "tail"):
            prefix = f"[RecordingMicroAllocator] Arena allocation {key} "
            if line.startswith(prefix):
                arena[key] = int(line[len(prefix) :].split()[0])
    return outputs, arena


def quantize(x, scale, zero_point):
    q = np.round(x / scale) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def write_golden(path, dtype, inputs, outputs):
    code = {np.int8: 1, np.float32: 2}[dtype]
    with open(path, "wb") as f:
        f.write(b"TCG1" + bytes([code, 0, 0, 0]))
        f.write(struct.pack("<III", len(inputs), inputs[0].size, outputs[0].size))
        for x, y in zip(inputs, outputs):
            f.write(np.ascontiguousarray(x, dtype=dtype).reshape(-1).astype(dtype).tobytes())
            f.write(np.ascontiguousarray(y, dtype=dtype).reshape(-1).astype(dtype).tobytes())


def read_golden(path):
    raw = Path(path).read_bytes()
    assert raw[:4] == b"TCG1", path
    dtype = {1: np.int8, 2: np.float32}[raw[4]]
    cases, n_in, n_out = struct.unpack_from("<III", raw, 8)
    size = np.dtype(dtype).itemsize
    pos, pairs = 20, []
    for _ in range(cases):
        x = np.frombuffer(raw, dtype=dtype, count=n_in, offset=pos)
        pos += n_in * size
        y = np.frombuffer(raw, dtype=dtype, count=n_out, offset=pos)
        pos += n_out * size
        pairs.append((x, y))
    assert pos == len(raw), path
    return dtype, pairs


def ops_of(model_bytes):
    """Op names in execution order, from TensorFlow's own interpreter (for the manifest)."""
    import tensorflow as tf

    with contextlib.redirect_stderr(open(os.devnull, "w")):
        interp = tf.lite.Interpreter(model_content=model_bytes)
    return [op["op_name"] for op in interp._get_ops_details()]


# --------------------------------------------------------------------------------------------
# The test models
# --------------------------------------------------------------------------------------------


def fashion_real(count):
    """The first `count` test images: the head of the committed subset data/t10k-1000-*."""
    return read_idx_images(ROOT / "data" / "t10k-1000-images-idx3-ubyte.gz", count)


def fashion_train(count):
    path = FASHION_DIR / "train-images-idx3-ubyte.gz"
    if not path.exists():
        sys.exit(f"{path} is missing: apt-get install dataset-fashion-mnist")
    return read_idx_images(path, count)


def gaussian(shape, count, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(count)]


MODELS = {
    # name: (builder, int8?, seed, input shape without batch, description)
    "lenet5_modern": (lambda: lenet5("modern"), True, 0, (28, 28, 1), "LeNet-5 modern, trained"),
    "lenet5_classic": (lambda: lenet5("classic"), True, 0, (28, 28, 1), "LeNet-5 classic, trained"),
    "lenet5_modern_f32": (lambda: lenet5("modern"), False, 0, (28, 28, 1), "LeNet-5 modern, f32"),
    "ds_cnn": (ds_cnn, True, 11, (49, 10, 1), "MLPerf Tiny DS-CNN (keyword spotting)"),
    "resnet8": (resnet8, True, 12, (32, 32, 3), "MLPerf Tiny ResNet-8 (image classification)"),
    "mobilenet_v1": (mobilenet_v1, True, 13, (33, 33, 3), "MobileNetV1-style, odd sizes"),
    "conv1d": (conv1d, True, 14, (64, 3), "Conv1D time series"),
    "small_f32": (small_f32, False, 15, (20, 12, 1), "f32: strided conv, depthwise, ADD, softmax"),
}


def make(name):
    import keras

    build, int8, seed, shape, description = MODELS[name]
    # A fresh session per model: layer names (stored in the .tflite) do not depend on which
    # models were made before in the same process.
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build()
    if not name.startswith("lenet5"):
        rng = np.random.default_rng(seed)
        randomize_biases(model, rng)
        calibrate_batchnorm(model, gaussian(shape, 20, seed + 4000), rng)
        spread_logits(model, gaussian(shape, 50, seed + 4000))

    lenet = name.startswith("lenet5")
    representative = list(fashion_train(1000)) if lenet else gaussian(shape, 200, seed + 1000)
    tflite = convert(model, representative, int8)
    (OUT / f"{name}.tflite").write_bytes(tflite)

    interp = tflm_interpreter(tflite)
    in_details = interp.get_input_details(0)
    out_details = interp.get_output_details(0)
    del interp

    # Inputs: real ones (the first Fashion-MNIST test images for LeNet, draws from the
    # calibration distribution otherwise), then uniformly random ones over the whole input range.
    rng = np.random.default_rng(seed + 2000)
    real = list(fashion_real(100 if int8 else 20)) if lenet else gaussian(shape, 10, seed + 3000)
    if int8:
        scale = float(in_details["quantization_parameters"]["scales"][0])
        zero_point = int(in_details["quantization_parameters"]["zero_points"][0])
        inputs = [quantize(x, scale, zero_point) for x in real]
        inputs += [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(RANDOM_CASES)]
        dtype = np.int8
    else:
        inputs = real + [rng.uniform(-1.0, 2.0, shape).astype(np.float32) for _ in range(RANDOM_CASES)]
        dtype = np.float32
    outputs, arena = tflm_run(tflite, inputs)
    write_golden(OUT / f"{name}.golden", dtype, inputs, outputs)

    def quant(details):
        q = details["quantization_parameters"]
        if len(q["scales"]) == 0:
            return None
        return {"scale": float(q["scales"][0]), "zero_point": int(q["zero_points"][0])}

    entry = {
        "description": description,
        "tflite": f"{name}.tflite",
        "golden": f"{name}.golden",
        "sha256": hashlib.sha256(tflite).hexdigest(),
        "bytes": len(tflite),
        "dtype": "int8" if int8 else "f32",
        "ops": ops_of(tflite),
        "input_shape": [int(d) for d in in_details["shape"]],
        "output_shape": [int(d) for d in out_details["shape"]],
        "input_quantization": quant(in_details),
        "output_quantization": quant(out_details),
        "cases": {"real": len(real), "random": RANDOM_CASES},
        "real_inputs": "first Fashion-MNIST test images (data/t10k-1000)" if lenet else "Gaussian, calibration distribution",
        "tflm_arena_bytes": arena,
    }
    if lenet and int8:
        labels = fashion_labels(len(real))
        predicted = [int(np.argmax(y)) for y in outputs[: len(real)]]
        entry["tflm_accuracy_real"] = float(np.mean(np.array(predicted) == labels))
    print(f"{name}: {len(tflite)} bytes, ops {' '.join(entry['ops'])}, TFLM arena {arena}", file=sys.stderr)
    return entry


def fashion_labels(count):
    with gzip.open(ROOT / "data" / "t10k-1000-labels-idx1-ubyte.gz", "rb") as f:
        raw = f.read()
    return np.frombuffer(raw, dtype=np.uint8, count=count, offset=8)


def main():
    names = sys.argv[1:] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; known: {list(MODELS)}")
    OUT.mkdir(parents=True, exist_ok=True)
    manifest_path = OUT / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    import tensorflow as tf
    import tflite_micro

    manifest["_made_by"] = {
        "script": "tools/tflite/scripts/make_models.py",
        "tensorflow": tf.__version__,
        "tflite_micro": tflite_micro.__version__,
    }
    for name in names:
        manifest[name] = make(name)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
