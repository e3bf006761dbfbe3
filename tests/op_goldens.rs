//! Every int8 op against TensorFlow Lite Micro, element for element.
//!
//! `tests/goldens/ops/*.json` hold single-op int8 models' parameters, seeded inputs and the
//! outputs of TFLM's interpreter (made by `tools/tflite/scripts/make_op_goldens.py`). Each test
//! derives tinyconv's parameters from the tensors' scales and zero points only (as the importer
//! does: multipliers, activation ranges, SAME padding), runs the op — every kernel, for the
//! convolutions — and asserts the output equals TFLM's exactly.

mod common;

use std::path::Path;

use common::int8::assert_same;
use serde_json::Value;
use tinyconv::activation::{
    LogisticI8, ReluI8, SoftmaxI8, TanhI8, clamp_i8, logistic_i8, softmax_i8, tanh_i8,
};
use tinyconv::conv::{direct, im2col, reference};
use tinyconv::depthwise::DepthwiseI8Kernel;
use tinyconv::elementwise::{AddParamsI8, add_i8};
use tinyconv::quant::{
    ActivationRange, LayerParamsI8, QuantParams, QuantizedMultiplier, apply_table,
    requant_multiplier, sigmoid_table, tanh_table,
};
use tinyconv::reduce::{MeanParamsI8, mean_hw_i8};
use tinyconv::shape::{concatenate_i8, pad, reshape};
use tinyconv::{Conv2dGeometry, Padding};

fn load(op: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/goldens/ops")
        .join(format!("{op}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    let cases = doc["cases"].as_array().expect("cases").clone();
    assert!(!cases.is_empty(), "{op}: no cases");
    cases
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_i64().expect("integer"))
        .collect()
}

fn i8s(v: &Value) -> Vec<i8> {
    ints(v)
        .into_iter()
        .map(|x| i8::try_from(x).expect("int8"))
        .collect()
}

fn shape(t: &Value) -> Vec<usize> {
    ints(&t["shape"]).into_iter().map(|x| x as usize).collect()
}

/// A tensor's quantization; the JSON holds the f64 value of the model's f32, so `as f32` is
/// exact.
fn qp(t: &Value) -> QuantParams {
    QuantParams::new(
        t["scale"].as_f64().expect("scale") as f32,
        t["zero_point"].as_i64().expect("zero point") as i32,
    )
    .expect("valid quantization")
}

fn scale(t: &Value) -> f32 {
    t["scale"].as_f64().expect("scale") as f32
}

/// The fused activation's clamp range in the output's quantization.
fn fused_range(case: &Value, out: QuantParams) -> ActivationRange {
    match case["options"]["fusedActivationFunction"]
        .as_str()
        .unwrap_or("NONE")
    {
        "NONE" => ActivationRange::none(),
        "RELU" => ActivationRange::relu(out),
        "RELU6" => ActivationRange::relu6(out),
        "RELU_N1_TO_1" => ActivationRange::relu_n1_to_1(out),
        other => panic!("unsupported fused activation {other}"),
    }
}

/// `(inputs of the op in operand order, TFLM's output)` of every run.
fn runs(case: &Value) -> Vec<(Vec<Vec<i8>>, Vec<i8>)> {
    // Operands that are model inputs; none for conv1d, whose CONV_2D reads a RESHAPE of the
    // model's one input (the same values).
    let mut order: Vec<usize> = match case.get("op_inputs") {
        Some(v) => ints(v)
            .into_iter()
            .filter(|&i| i >= 0)
            .map(|i| i as usize)
            .collect(),
        None => Vec::new(),
    };
    if order.is_empty() {
        order.push(0);
    }
    case["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            let model_inputs: Vec<Vec<i8>> = r["inputs"]
                .as_array()
                .expect("inputs")
                .iter()
                .map(i8s)
                .collect();
            let inputs = order.iter().map(|&i| model_inputs[i].clone()).collect();
            (inputs, i8s(&r["output"]))
        })
        .collect()
}

/// The op's operand `k` (model input) description.
fn operand(case: &Value, k: usize) -> &Value {
    let i = ints(&case["op_inputs"])[k];
    &case["inputs"][i as usize]
}

fn stride_dilation(o: &Value) -> ([usize; 2], [usize; 2]) {
    let u = |k: &str| o[k].as_u64().unwrap_or(1) as usize;
    (
        [u("strideH"), u("strideW")],
        [u("dilationHFactor"), u("dilationWFactor")],
    )
}

fn with_padding(g: Conv2dGeometry, o: &Value) -> Conv2dGeometry {
    match o["padding"].as_str().expect("padding") {
        "SAME" => g.with_same_padding(),
        "VALID" => g.with_padding(Padding::VALID),
        other => panic!("padding {other}"),
    }
}

/// Per-channel requantization multipliers, as TFLite computes them (f64, its order).
fn multipliers(case: &Value) -> Vec<QuantizedMultiplier> {
    let s_in = scale(&case["conv_input"]);
    let s_out = scale(&case["conv_output"]);
    case["weights"]["scales"]
        .as_array()
        .expect("scales")
        .iter()
        .map(|s| requant_multiplier(s_in, s.as_f64().unwrap() as f32, s_out).expect("multiplier"))
        .collect()
}

#[test]
fn depthwise_conv2d_matches_tflm() {
    let mut compared = 0;
    for case in load("depthwise") {
        let name = case["name"].as_str().unwrap();
        let o = &case["options"];
        let [_, h, w, c] = shape(&case["conv_input"])[..] else {
            panic!()
        };
        let [_, kh, kw, out_c] = shape(&case["weights"])[..] else {
            panic!()
        };
        let m = o["depthMultiplier"].as_u64().unwrap() as usize;
        assert_eq!(out_c, c * m, "{name}");
        let (stride, dilation) = stride_dilation(o);
        let g = with_padding(
            Conv2dGeometry::depthwise([h, w, c], m, [kh, kw])
                .with_stride(stride)
                .with_dilation(dilation),
            o,
        );
        let weights = i8s(&case["weights"]["data"]);
        let bias: Vec<i32> = ints(&case["bias"]).into_iter().map(|b| b as i32).collect();
        let mults = multipliers(&case);
        let out = qp(&case["conv_output"]);
        let p = LayerParamsI8::new(
            qp(&case["conv_input"]).zero_point(),
            out.zero_point(),
            &mults,
            Some(&bias),
        )
        .with_range(fused_range(&case, out));
        let d = g.depthwise_dims().unwrap();
        for (inputs, want) in runs(&case) {
            for k in DepthwiseI8Kernel::ALL {
                let mut packed = vec![0i8; weights.len()];
                k.pack(&g, &weights, &mut packed).unwrap();
                let mut got = vec![0x55i8; d.output_len];
                k.run(&g, &inputs[0], &packed, &p, &mut [], &mut got)
                    .unwrap();
                assert_same(&format!("{name}, {}", k.name()), &got, &want);
                compared += 1;
            }
        }
    }
    assert!(compared >= 6 * 3 * 4, "{compared}");
}

#[test]
fn conv1d_matches_tflm() {
    let mut compared = 0;
    for case in load("conv1d") {
        let name = case["name"].as_str().unwrap();
        let o = &case["options"];
        let [_, one, w, cin] = shape(&case["conv_input"])[..] else {
            panic!()
        };
        assert_eq!(one, 1, "{name}: height");
        let [cout, kh, k, wc] = shape(&case["weights"])[..] else {
            panic!()
        };
        assert_eq!((kh, wc), (1, cin));
        let (stride, dilation) = stride_dilation(o);
        assert_eq!((stride[0], dilation[0]), (1, 1));
        let g = with_padding(
            Conv2dGeometry::conv1d(w, cin, cout, k)
                .with_stride(stride)
                .with_dilation(dilation),
            o,
        );
        let weights = i8s(&case["weights"]["data"]);
        let bias: Vec<i32> = ints(&case["bias"]).into_iter().map(|b| b as i32).collect();
        let mults = multipliers(&case);
        let out = qp(&case["conv_output"]);
        let p = LayerParamsI8::new(
            qp(&case["conv_input"]).zero_point(),
            out.zero_point(),
            &mults,
            Some(&bias),
        )
        .with_range(fused_range(&case, out));
        let d = g.dims().unwrap();
        for (inputs, want) in runs(&case) {
            let x = &inputs[0];
            let mut got = vec![0i8; d.output_len];
            reference::conv2d_i8(&g, x, &weights, &p, &mut [], &mut got).unwrap();
            assert_same(&format!("{name}, reference"), &got, &want);
            direct::conv2d_i8(&g, x, &weights, &p, &mut [], &mut got).unwrap();
            assert_same(&format!("{name}, direct"), &got, &want);
            let mut scratch = vec![0i16; im2col::scratch_len_i8(&g)];
            im2col::conv2d_i8(&g, x, &weights, &p, &mut scratch, &mut got).unwrap();
            assert_same(&format!("{name}, im2col"), &got, &want);
            compared += 3;
            if name == "k5_s1_same_relu" {
                typed_conv1d(x, &weights, &bias, &mults, &p, &want);
                compared += 1;
            }
        }
    }
    assert!(compared >= 3 * 3 * 8, "{compared}");
}

/// The typed `Conv1dI8` on the 40 × 3 → 40 × 8, K = 5, SAME case, with every kernel.
fn typed_conv1d(
    x: &[i8],
    weights: &[i8],
    bias: &[i32],
    mults: &[QuantizedMultiplier],
    p: &LayerParamsI8<'_>,
    want: &[i8],
) {
    use tinyconv::conv::Conv2dI8Kernel;
    use tinyconv::conv::conv1d::Conv1dI8;
    type Layer<'a> = Conv1dI8<'a, 3, 8, 5, 1, 2, 2>;
    let w: [[[i8; 3]; 5]; 8] = core::array::from_fn(|o| {
        core::array::from_fn(|k| core::array::from_fn(|c| weights[(o * 5 + k) * 3 + c]))
    });
    let b: [i32; 8] = bias.try_into().unwrap();
    let m: [QuantizedMultiplier; 8] = mults.try_into().unwrap();
    let input: [[i8; 3]; 40] = core::array::from_fn(|i| core::array::from_fn(|c| x[i * 3 + c]));
    for k in Conv2dI8Kernel::ALL {
        // Three input channels: the one-channel kernel refuses the shape.
        if k == Conv2dI8Kernel::OneChannel {
            assert!(Layer::pack(k, &w).is_err());
            continue;
        }
        let packed = Layer::pack(k, &w).unwrap();
        let conv = Layer::new(&packed, &b, &m, p.input_zero_point, p.output_zero_point)
            .unwrap()
            .with_range(p.range);
        let mut scratch = vec![0i16; conv.scratch_len(40)];
        let mut y = [[0i8; 8]; 40];
        conv.forward(&input, &mut y, &mut scratch).unwrap();
        assert_same(
            &format!("typed Conv1dI8, {}", k.name()),
            y.as_flattened(),
            want,
        );
    }
}

#[test]
fn add_matches_tflm() {
    let mut compared = 0;
    for case in load("add") {
        let name = case["name"].as_str().unwrap();
        let out = qp(&case["output"]);
        let p = AddParamsI8::new(
            qp(operand(&case, 0)),
            qp(operand(&case, 1)),
            out,
            fused_range(&case, out),
        )
        .unwrap();
        for (inputs, want) in runs(&case) {
            let mut got = vec![0i8; want.len()];
            add_i8(&p, &inputs[0], &inputs[1], &mut got).unwrap();
            assert_same(name, &got, &want);
            compared += 1;
        }
    }
    assert!(compared >= 4 * 8, "{compared}");
}

#[test]
fn mean_matches_tflm() {
    let mut compared = 0;
    for case in load("mean") {
        let name = case["name"].as_str().unwrap();
        assert_eq!(ints(&case["axis_or_paddings"]), [1, 2], "{name}");
        let [_, h, w, c] = shape(&case["inputs"][0])[..] else {
            panic!()
        };
        let p = MeanParamsI8::new(qp(&case["inputs"][0]), qp(&case["output"]), h * w).unwrap();
        for (inputs, want) in runs(&case) {
            let mut got = vec![0i8; c];
            mean_hw_i8([h, w, c], &inputs[0], &p, &mut got).unwrap();
            assert_same(name, &got, &want);
            compared += 1;
        }
    }
    assert!(compared >= 4 * 4, "{compared}");
}

#[test]
fn softmax_matches_tflm() {
    let mut compared = 0;
    for case in load("softmax") {
        let name = case["name"].as_str().unwrap();
        assert_eq!(qp(&case["output"]), SoftmaxI8::OUTPUT, "{name}");
        let beta = case["options"]["beta"].as_f64().unwrap() as f32;
        let p = SoftmaxI8::new(scale(&case["inputs"][0]), beta).unwrap();
        let depth = *shape(&case["inputs"][0]).last().unwrap();
        for (inputs, want) in runs(&case) {
            let mut got = vec![0i8; want.len()];
            softmax_i8(&p, depth, &inputs[0], &mut got).unwrap();
            assert_same(name, &got, &want);
            compared += 1;
        }
    }
    assert!(compared >= 4 * 8, "{compared}");
}

/// LOGISTIC and TANH: the exact kernels and their tables equal TFLM; the f32-built tables of
/// `quant::lut` are counted where they differ (they follow desktop TFLite's LUT instead).
#[test]
fn logistic_and_tanh_match_tflm() {
    let mut compared = 0;
    let mut lut_differs = 0;
    let mut lut_entries = 0;
    for op in ["logistic", "tanh"] {
        for case in load(op) {
            let name = case["name"].as_str().unwrap();
            let input = qp(&case["inputs"][0]);
            let out = qp(&case["output"]);
            let (table, old) = if op == "logistic" {
                assert_eq!(out, LogisticI8::OUTPUT, "{name}");
                (LogisticI8::new(input).table(), sigmoid_table(input, out))
            } else {
                assert_eq!(out, TanhI8::OUTPUT, "{name}");
                (TanhI8::new(input).table(), tanh_table(input, out))
            };
            lut_entries += 256;
            lut_differs += table.iter().zip(&old).filter(|(a, b)| a != b).count();
            for (inputs, want) in runs(&case) {
                let mut got = vec![0i8; want.len()];
                if op == "logistic" {
                    logistic_i8(&LogisticI8::new(input), &inputs[0], &mut got).unwrap();
                } else {
                    tanh_i8(&TanhI8::new(input), &inputs[0], &mut got).unwrap();
                }
                assert_same(name, &got, &want);
                apply_table(&table, &inputs[0], &mut got).unwrap();
                assert_same(&format!("{name}, table"), &got, &want);
                compared += 1;
            }
        }
    }
    assert!(compared >= 8 * 8, "{compared}");
    // Reported by `cargo test -- --nocapture`.
    println!(
        "f32-built LUT entries that differ from TFLM's integer kernels: {lut_differs} of {lut_entries}"
    );
}

#[test]
fn relu_and_relu6_match_tflm() {
    let mut compared = 0;
    for case in load("relu") {
        let name = case["name"].as_str().unwrap();
        let input = qp(&case["inputs"][0]);
        for (inputs, want) in runs(&case) {
            let mut got = vec![0i8; want.len()];
            match case["op"].as_str().unwrap() {
                "RELU" => ReluI8::new(input, qp(&case["output"]))
                    .unwrap()
                    .run(&inputs[0], &mut got)
                    .unwrap(),
                "RELU6" => {
                    // TFLM clamps in the input's quantization (and ignores the output's).
                    got.copy_from_slice(&inputs[0]);
                    clamp_i8(ActivationRange::relu6(input), &mut got);
                }
                other => panic!("{other}"),
            }
            assert_same(name, &got, &want);
            compared += 1;
        }
    }
    assert!(compared >= 4 * 8, "{compared}");
}

#[test]
fn pad_matches_tflm() {
    let mut compared = 0;
    for case in load("pad") {
        let name = case["name"].as_str().unwrap();
        let p: Vec<usize> = ints(&case["axis_or_paddings"])
            .into_iter()
            .map(|v| v as usize)
            .collect();
        assert_eq!((p[0], p[1]), (0, 0), "{name}: batch padding");
        let [_, h, w, c] = shape(&case["inputs"][0])[..] else {
            panic!()
        };
        let value = qp(&case["output"]).zero_point();
        for (inputs, want) in runs(&case) {
            let mut got = vec![0i8; want.len()];
            pad(
                [h, w, c],
                [(p[2], p[3]), (p[4], p[5]), (p[6], p[7])],
                value,
                &inputs[0],
                &mut got,
            )
            .unwrap();
            assert_same(name, &got, &want);
            compared += 1;
        }
    }
    assert!(compared >= 2 * 8, "{compared}");
}

#[test]
fn concatenation_matches_tflm() {
    let mut compared = 0;
    for case in load("concatenation") {
        let name = case["name"].as_str().unwrap();
        let out_shape = shape(&case["output"]);
        let rank = out_shape.len() as i64;
        let axis = case["options"]["axis"].as_i64().unwrap().rem_euclid(rank) as usize;
        let outer: usize = out_shape[..axis].iter().product();
        let params = [qp(operand(&case, 0)), qp(operand(&case, 1))];
        for (inputs, want) in runs(&case) {
            let mut got = vec![0i8; want.len()];
            concatenate_i8(
                outer,
                &[(&inputs[0], params[0]), (&inputs[1], params[1])],
                qp(&case["output"]),
                &mut got,
            )
            .unwrap();
            assert_same(name, &got, &want);
            compared += 1;
        }
    }
    assert!(compared >= 3 * 8, "{compared}");
}

#[test]
fn reshape_matches_tflm() {
    for case in load("reshape") {
        for (inputs, want) in runs(&case) {
            let mut got = vec![0i8; want.len()];
            reshape(&inputs[0], &mut got).unwrap();
            assert_same("reshape", &got, &want);
        }
    }
}
