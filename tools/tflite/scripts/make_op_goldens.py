#!/usr/bin/env python3
"""Golden data for tinyconv's single ops, from TensorFlow Lite Micro's own interpreter.

    python3 tools/tflite/scripts/make_op_goldens.py            # every op
    python3 tools/tflite/scripts/make_op_goldens.py add mean   # some

For each case this builds a one-op Keras model (DEPTHWISE_CONV_2D, CONV_2D as conv1d, ADD, MEAN,
SOFTMAX, LOGISTIC, TANH, PAD, CONCATENATION, RESHAPE, RELU, RELU6), converts it to a fully int8
.tflite with `tensorflow-cpu` (seeded random weights, a seeded representative dataset), reads the
op, its options and its tensors (quantization, weights, bias) back from the flatbuffer, runs
`tflite_micro.runtime.Interpreter` (TFLM's reference kernels: the oracle) on seeded random int8
inputs (uniform over [-128, 127], plus inputs quantized from the calibration distribution), and
writes `tests/goldens/ops/OP.json`:

    {"op": "ADD", "tensorflow": "2.21.0", "tflite_micro": "...", "cases": [
        {"name": ..., "ops": [op names in the converted model], "options": {...builtin options},
         "inputs": [{"shape": [...], "scale": s, "zero_point": z}, ...],
         "output": {"shape": [...], "scale": s, "zero_point": z},
         "weights": {"shape": [...], "data": [...], "scales": [...]} | null,   (conv ops)
         "bias": [...] | null,
         "runs": [{"inputs": [[int8, flattened NHWC], ...], "output": [int8, ...]}, ...]}]}

Scales are written as the f64 value of the f32 in the model, so they read back exactly.
`tests/op_goldens.rs` recomputes every parameter from these scales (as the importer will) and
compares tinyconv's output with TFLM's, element for element.

The converter and TFLM are used only here (never by a build or test of the crates). The script
is deterministic for a given TensorFlow / tflite-micro version; the committed files were made by
the versions recorded in each file.
"""

import contextlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tests" / "goldens" / "ops"
RUNS_RANDOM = 6
RUNS_CALIBRATION = 2


def keras_layers():
    import keras
    from keras import layers

    return keras, layers


def convert(model, representative):
    """Full-integer int8 conversion (int8 inputs and outputs)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: (list(xs) for xs in representative)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with contextlib.redirect_stdout(sys.stderr):
        return converter.convert()


def read_model(tflite):
    """The flatbuffer as TensorFlow's generated object API (tensors, buffers, operators)."""
    from tensorflow.lite.python import schema_py_generated as schema

    return schema.ModelT.InitFromObj(schema.Model.GetRootAs(tflite, 0)), schema


def op_name(model, schema, op):
    code = model.operatorCodes[op.opcodeIndex]
    value = max(code.builtinCode, code.deprecatedBuiltinCode)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return names[value]


def options(model, schema, op):
    """The operator's builtin options as a plain dict (enums as names)."""
    opts = op.builtinOptions
    if opts is None:
        return {}
    act = {v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")}
    pad = {v: k for k, v in vars(schema.Padding).items() if not k.startswith("_")}
    out = {}
    for key, value in vars(opts).items():
        if key == "fusedActivationFunction":
            value = act[value]
        elif key == "padding":
            value = pad[value]
        elif isinstance(value, (np.integer, np.floating)):
            value = value.item()
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, (int, float, str, bool, list)):
            out[key] = value
    return out


def tensor_info(model, t_index):
    sub = model.subgraphs[0]
    t = sub.tensors[t_index]
    q = t.quantization
    info = {"shape": [int(d) for d in t.shape]}
    if q is not None and q.scale is not None and len(q.scale) > 0:
        info["scale"] = float(np.float32(q.scale[0]))
        info["zero_point"] = int(q.zeroPoint[0])
        if len(q.scale) > 1:
            info["scales"] = [float(np.float32(s)) for s in q.scale]
    return info


def tensor_data(model, t_index, dtype):
    t = model.subgraphs[0].tensors[t_index]
    buf = model.buffers[t.buffer]
    if buf.data is None:
        return None
    return np.frombuffer(bytes(bytearray(buf.data)), dtype=dtype).reshape(t.shape)


def tflm_runs(tflite, inputs_list):
    """TFLM's output for each list of inputs."""
    from tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(tflite, arena_size=1 << 22)
    outs = []
    for inputs in inputs_list:
        for i, x in enumerate(inputs):
            interp.set_input(x, i)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)).reshape(-1))
    return outs


def quantize(x, scale, zero_point):
    return np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)


def make_case(name, build, shapes, seed, scales=None, want_ops=None):
    """Builds, converts and runs one single-op model. `shapes`: input shapes without batch;
    `scales`: standard deviation of each input's calibration data (different input scales)."""
    keras, _ = keras_layers()
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build()
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        w = layer.get_weights()
        if len(w) == 2 and layer.__class__.__name__ in ("Conv1D", "Conv2D", "DepthwiseConv2D"):
            w[1] = rng.normal(0.0, 0.3, w[1].shape).astype(np.float32)
            layer.set_weights(w)
    scales = scales or [1.0] * len(shapes)
    calib = [
        [(rng.standard_normal((1, *s)) * k).astype(np.float32) for s, k in zip(shapes, scales)]
        for _ in range(100)
    ]
    tflite = convert(model, calib)
    fb, schema = read_model(tflite)
    sub = fb.subgraphs[0]
    ops = [op_name(fb, schema, op) for op in sub.operators]
    if want_ops is not None:
        assert ops == want_ops, (name, ops)

    # Inputs in the order of the model's input tensors (TFLM's indices).
    ins = [tensor_info(fb, i) for i in sub.inputs]
    out = tensor_info(fb, sub.outputs[0])
    runs_in = []
    # Fewer runs of big tensors (keeps the committed JSON small).
    big = sum(int(np.prod(t["shape"])) for t in ins) > 2000
    for _ in range(3 if big else RUNS_RANDOM):
        runs_in.append([rng.integers(-128, 128, t["shape"], dtype=np.int8) for t in ins])
    for _ in range(1 if big else RUNS_CALIBRATION):
        runs_in.append(
            [
                quantize(rng.standard_normal(t["shape"]) * k, t["scale"], t["zero_point"])
                for t, k in zip(ins, scales)
            ]
        )
    runs_out = tflm_runs(tflite, runs_in)

    case = {
        "name": name,
        "ops": ops,
        "inputs": ins,
        "output": out,
        "runs": [
            {"inputs": [x.reshape(-1).tolist() for x in xs], "output": y.astype(int).tolist()}
            for xs, y in zip(runs_in, runs_out)
        ],
    }
    # The main op: its options and constant operands (filters, bias).
    main = [op for op in sub.operators if op_name(fb, schema, op) not in ("RESHAPE", "EXPAND_DIMS", "SQUEEZE")]
    if len(main) == 1 or ops.count(ops[0]) == len(ops):
        op = main[0] if main else sub.operators[0]
        case["op"] = op_name(fb, schema, op)
        case["options"] = options(fb, schema, op)
        # Which model input feeds each operand of the op (the converter may reorder inputs).
        case["op_inputs"] = [list(sub.inputs).index(t) if t in list(sub.inputs) else -1 for t in op.inputs]
        if case["op"] in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w_index, b_index = op.inputs[1], op.inputs[2]
            w = tensor_data(fb, w_index, np.int8)
            winfo = tensor_info(fb, w_index)
            case["weights"] = {
                "shape": winfo["shape"],
                "data": w.reshape(-1).astype(int).tolist(),
                "scales": winfo.get("scales", [winfo["scale"]]),
            }
            case["conv_input"] = tensor_info(fb, op.inputs[0])
            case["conv_output"] = tensor_info(fb, op.outputs[0])
            if b_index >= 0:
                case["bias"] = tensor_data(fb, b_index, np.int32).reshape(-1).astype(int).tolist()
        if case["op"] in ("MEAN", "PAD", "CONCATENATION"):
            if case["op"] in ("MEAN", "PAD"):
                case["axis_or_paddings"] = tensor_data(fb, op.inputs[1], np.int32).reshape(-1).tolist()
    print(f"{name}: ops {' '.join(ops)}, {len(runs_in)} runs", file=sys.stderr)
    return case


# --------------------------------------------------------------------------------------------
# The cases, per op
# --------------------------------------------------------------------------------------------


def seq(shape, *layer_list):
    keras, layers = keras_layers()
    x = keras.Input(shape, batch_size=1)
    y = x
    for layer in layer_list:
        y = layer(y)
    return keras.Model(x, y)


def depthwise():
    _, L = keras_layers()
    cases = []
    specs = [
        # name, input shape, kernel, stride, padding, multiplier, dilation, activation
        ("ds_cnn_3x3_same_relu", (25, 5, 64), 3, 1, "same", 1, 1, "relu"),
        ("mobilenet_3x3_s2_same_odd_relu6", (15, 15, 16), 3, 2, "same", 1, 1, "relu6"),
        ("s2_same_even", (12, 10, 8), 3, 2, "same", 1, 1, None),
        ("multiplier_2_valid", (7, 9, 5), (2, 3), 1, "valid", 2, 1, None),
        ("dilation_2_same", (11, 9, 20), 3, 1, "same", 1, 2, "relu"),
        ("5x5_s1_valid_tail_channels", (9, 8, 17), 5, 1, "valid", 1, 1, None),
    ]
    for i, (name, shape, k, s, pad, m, d, act) in enumerate(specs):
        def build(shape=shape, k=k, s=s, pad=pad, m=m, d=d, act=act):
            layers = [L.DepthwiseConv2D(k, strides=s, padding=pad, depth_multiplier=m, dilation_rate=d, use_bias=True)]
            if act == "relu":
                layers.append(L.ReLU())
            elif act == "relu6":
                layers.append(L.ReLU(max_value=6.0))
            return seq(shape, *layers)

        cases.append(make_case(name, build, [shape], 100 + i, want_ops=["DEPTHWISE_CONV_2D"]))
    return cases


def conv1d():
    _, L = keras_layers()
    cases = []
    specs = [
        ("k5_s1_same_relu", (40, 3), 8, 5, 1, "same", 1, "relu"),
        ("k3_s2_valid", (31, 6), 5, 3, 2, "valid", 1, None),
        ("k3_dilation2_same", (20, 4), 4, 3, 1, "same", 2, None),
    ]
    for i, (name, shape, f, k, s, pad, d, act) in enumerate(specs):
        def build(shape=shape, f=f, k=k, s=s, pad=pad, d=d, act=act):
            return seq(shape, L.Conv1D(f, k, strides=s, padding=pad, dilation_rate=d, activation=act))

        cases.append(make_case(name, build, [shape], 200 + i))
    return cases


def two_inputs(shape_a, shape_b, combine):
    keras, _ = keras_layers()
    a = keras.Input(shape_a, batch_size=1)
    b = keras.Input(shape_b, batch_size=1)
    return keras.Model([a, b], combine(a, b))


def add():
    _, L = keras_layers()
    cases = []
    specs = [
        ("different_scales", (6, 5, 8), [1.0, 4.0], None),
        ("relu", (4, 4, 16), [2.0, 0.5], "relu"),
        ("relu6_equal_scales", (3, 7, 3), [1.0, 1.0], "relu6"),
        ("large_ratio", (4, 4, 4), [0.1, 8.0], None),
    ]
    for i, (name, shape, scales, act) in enumerate(specs):
        def combine(a, b, act=act):
            y = L.Add()([a, b])
            if act == "relu":
                y = L.ReLU()(y)
            elif act == "relu6":
                y = L.ReLU(max_value=6.0)(y)
            return y

        cases.append(
            make_case(name, lambda shape=shape, combine=combine: two_inputs(shape, shape, combine),
                      [shape, shape], 300 + i, scales=scales, want_ops=["ADD"])
        )
    return cases


def mean():
    _, L = keras_layers()
    cases = []
    specs = [
        ("global_avg_5x5x32", (5, 5, 32)),
        ("global_avg_8x8x10", (8, 8, 10)),
        ("global_avg_25x5x64", (25, 5, 64)),
        ("global_avg_1x3x7", (1, 3, 7)),
    ]
    for i, (name, shape) in enumerate(specs):
        cases.append(make_case(name, lambda shape=shape: seq(shape, L.GlobalAveragePooling2D()),
                               [shape], 400 + i, scales=[1.0 + i], want_ops=["MEAN"]))
    return cases


def softmax():
    _, L = keras_layers()
    cases = []
    for i, (name, shape, k) in enumerate(
        [("12_classes", (12,), 3.0), ("10_classes_wide", (10,), 10.0), ("rows_4x6", (4, 6), 1.0), ("35_classes", (35,), 0.3)]
    ):
        cases.append(make_case(name, lambda shape=shape: seq(shape, L.Softmax()), [shape], 500 + i,
                               scales=[k], want_ops=["SOFTMAX"]))
    return cases


def unary(prefix, layer_fn, op, seed, specs):
    cases = []
    for i, (name, shape, k) in enumerate(specs):
        cases.append(make_case(f"{prefix}_{name}", lambda shape=shape: seq(shape, layer_fn()), [shape],
                               seed + i, scales=[k], want_ops=[op]))
    return cases


def logistic():
    _, L = keras_layers()
    return unary("logistic", lambda: L.Activation("sigmoid"), "LOGISTIC", 600,
                 [("s1", (64,), 1.0), ("s4", (8, 8), 4.0), ("s12", (100,), 12.0), ("s03", (50,), 0.3)])


def tanh():
    _, L = keras_layers()
    return unary("tanh", lambda: L.Activation("tanh"), "TANH", 700,
                 [("s1", (64,), 1.0), ("s4", (8, 8), 4.0), ("s12", (100,), 12.0), ("s03", (50,), 0.3)])


def relu():
    _, L = keras_layers()
    return unary("relu", lambda: L.ReLU(), "RELU", 800, [("s1", (5, 5, 4), 1.0), ("s5", (60,), 5.0)]) + unary(
        "relu6", lambda: L.ReLU(max_value=6.0), "RELU6", 810, [("s1", (5, 5, 4), 1.0), ("s5", (60,), 5.0)]
    )


def pad():
    _, L = keras_layers()
    cases = []
    for i, (name, shape, p) in enumerate(
        [("1_1", (5, 4, 3), ((1, 1), (1, 1))), ("asymmetric", (3, 6, 8), ((0, 2), (3, 1)))]
    ):
        cases.append(make_case(name, lambda shape=shape, p=p: seq(shape, L.ZeroPadding2D(p)), [shape], 900 + i,
                               scales=[2.0], want_ops=["PAD"]))
    return cases


def concatenation():
    _, L = keras_layers()
    cases = []
    for i, (name, sa, sb, axis, scales) in enumerate(
        [
            ("channels_same_scale", (4, 5, 3), (4, 5, 6), -1, [1.0, 1.0]),
            ("channels_different_scales", (4, 5, 3), (4, 5, 2), -1, [1.0, 5.0]),
            ("width", (3, 2, 4), (3, 5, 4), 2, [2.0, 2.0]),
        ]
    ):
        cases.append(
            make_case(name, lambda sa=sa, sb=sb, axis=axis: two_inputs(sa, sb, lambda a, b: L.Concatenate(axis=axis)([a, b])),
                      [sa, sb], 1000 + i, scales=scales)
        )
    return cases


def reshape():
    _, L = keras_layers()
    return [make_case("flatten_4x3x5", lambda: seq((4, 3, 5), L.Reshape((60,))), [(4, 3, 5)], 1100, want_ops=["RESHAPE"])]


OPS = {
    "depthwise": depthwise,
    "conv1d": conv1d,
    "add": add,
    "mean": mean,
    "softmax": softmax,
    "logistic": logistic,
    "tanh": tanh,
    "relu": relu,
    "pad": pad,
    "concatenation": concatenation,
    "reshape": reshape,
}


def main():
    import tensorflow as tf
    import tflite_micro

    OUT.mkdir(parents=True, exist_ok=True)
    names = sys.argv[1:] or list(OPS)
    for name in names:
        cases = OPS[name]()
        doc = {
            "op": name,
            "tensorflow": tf.__version__,
            "tflite_micro": getattr(tflite_micro, "__version__", "unknown"),
            "cases": cases,
        }
        path = OUT / f"{name}.json"
        path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
