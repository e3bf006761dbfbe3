//! The parser on the committed models, and on models with one feature changed (rebuilt with
//! planus' builder): every unsupported or malformed feature gets its own error, naming the
//! operator or tensor, and no input panics.

use tinyconv_tflite::model::{Op, Precision};
use tinyconv_tflite::schema_generated::tflite;
use tinyconv_tflite::{Error, Plan, parse};

const MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models");

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!("{MODELS}/{name}.tflite")).unwrap()
}

const ALL: [&str; 8] = [
    "lenet5_modern",
    "lenet5_classic",
    "lenet5_modern_f32",
    "ds_cnn",
    "resnet8",
    "mobilenet_v1",
    "conv1d",
    "small_f32",
];

/// The model decoded into planus' owned types, changed by `edit`, and written back.
fn mutated(name: &str, edit: impl FnOnce(&mut tflite::Model)) -> Vec<u8> {
    use planus::ReadAsRoot;
    let original = bytes(name);
    let mut model: tflite::Model = tflite::ModelRef::read_as_root(&original)
        .unwrap()
        .try_into()
        .unwrap();
    edit(&mut model);
    let mut builder = planus::Builder::new();
    let mut b = builder.finish(&model, Some(*b"TFL3")).to_vec();
    // planus 1.3 writes the file identifier before the root offset (which is relative to its
    // own position, 4); flatbuffers (and TFLite) put the offset first and the identifier after.
    assert_eq!(&b[..4], b"TFL3");
    let root = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) + 4;
    b[..4].copy_from_slice(&root.to_le_bytes());
    b[4..8].copy_from_slice(b"TFL3");
    b
}

fn graph(m: &mut tflite::Model) -> &mut tflite::SubGraph {
    &mut m.subgraphs.as_mut().unwrap()[0]
}

fn tensor(m: &mut tflite::Model, i: usize) -> &mut tflite::Tensor {
    &mut graph(m).tensors.as_mut().unwrap()[i]
}

fn operator(m: &mut tflite::Model, i: usize) -> &mut tflite::Operator {
    &mut graph(m).operators.as_mut().unwrap()[i]
}

/// Index of the `k`-th input tensor of operator `op`.
fn op_input(m: &mut tflite::Model, op: usize, k: usize) -> usize {
    operator(m, op).inputs.as_ref().unwrap()[k] as usize
}

fn message(result: Result<tinyconv_tflite::Model, Error>) -> String {
    match result {
        Ok(_) => panic!("the model should be rejected"),
        Err(e) => e.to_string(),
    }
}

/// Indices of the tensors without constant data (activations).
fn activations(m: &tflite::Model) -> Vec<usize> {
    let buffers = m.buffers.as_ref().unwrap();
    let tensors = m.subgraphs.as_ref().unwrap()[0].tensors.as_ref().unwrap();
    (0..tensors.len())
        .filter(|&i| {
            buffers[tensors[i].buffer as usize]
                .data
                .as_ref()
                .is_none_or(|d| d.is_empty())
        })
        .collect()
}

#[test]
fn every_committed_model_parses_and_plans() {
    for name in ALL {
        let model = parse(&bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let want = if name.ends_with("_f32") {
            Precision::F32
        } else {
            Precision::I8
        };
        assert_eq!(model.precision, want, "{name}");
        let plan = Plan::new(&model);
        plan.check().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(plan.arena_len <= plan.unshared_len, "{name}");
    }
}

#[test]
fn mobilenet_geometry_follows_tensorflow_same_padding() {
    let model = parse(&bytes("mobilenet_v1")).unwrap();
    let windows: Vec<_> = model
        .operators
        .iter()
        .filter_map(|op| match &op.op {
            Op::Conv2d { window, .. } | Op::DepthwiseConv2d { window, .. }
                if window.stride == [2, 2] =>
            {
                Some(*window)
            }
            _ => None,
        })
        .collect();
    // 33 -> 17 (SAME, odd: 1 each side), 17 -> 9 (SAME, odd), 10 -> 4 (VALID after PAD),
    // 4 -> 2 (SAME, even: 0 before, 1 after).
    let summary: Vec<_> = windows
        .iter()
        .map(|w| (w.input[0], w.output[0], w.pads.top, w.pads.bottom))
        .collect();
    assert_eq!(
        summary,
        [(33, 17, 1, 1), (17, 9, 1, 1), (10, 4, 0, 0), (4, 2, 0, 1)]
    );
    let dilated = model
        .operators
        .iter()
        .find_map(|op| match &op.op {
            Op::DepthwiseConv2d {
                window, multiplier, ..
            } if window.dilation == [2, 2] => Some((*multiplier, window.pads)),
            _ => None,
        })
        .unwrap();
    assert_eq!(dilated.0, 2);
    assert_eq!((dilated.1.top, dilated.1.bottom), (2, 2));
}

#[test]
fn conv1d_is_conv_2d_with_height_one_between_reshapes() {
    let model = parse(&bytes("conv1d")).unwrap();
    let convs: Vec<_> = model
        .operators
        .iter()
        .filter_map(|op| match &op.op {
            Op::Conv2d { window, .. } => Some(window.kernel),
            _ => None,
        })
        .collect();
    assert_eq!(convs, [[1, 5], [1, 3], [1, 1], [1, 3]]);
    let reshapes = model
        .operators
        .iter()
        .filter(|op| op.op == Op::Reshape)
        .count();
    assert_eq!(reshapes, 5);
    // Every reshape shares its input's buffer: 5 reshapes, 5 tensors without their own buffer.
    let plan = Plan::new(&model);
    let shared: usize = plan.buffers.iter().map(|b| b.tensors.len() - 1).sum();
    assert_eq!(shared, 5);
}

#[test]
fn truncated_files_are_errors() {
    let full = bytes("conv1d");
    for len in (0..full.len()).step_by(7) {
        assert!(parse(&full[..len]).is_err(), "prefix of {len} bytes parsed");
    }
    assert!(matches!(parse(&full[..100]), Err(Error::Flatbuffer(_))));
}

#[test]
fn wrong_identifier_is_a_flatbuffer_error() {
    let mut b = bytes("conv1d");
    b[4..8].copy_from_slice(b"ONNX");
    let e = message(parse(&b));
    assert!(e.contains("TFL3"), "{e}");
    assert!(matches!(parse(b"").unwrap_err(), Error::Flatbuffer(_)));
}

#[test]
fn flipped_bytes_never_panic() {
    // A deterministic walk over single-byte changes of a small model: each gives Ok or Err.
    let original = bytes("conv1d");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut errors = 0;
    for _ in 0..3000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut b = original.clone();
        let at = (state % b.len() as u64) as usize;
        b[at] = (state >> 32) as u8;
        if let Ok(model) = parse(&b) {
            Plan::new(&model).check().unwrap();
        } else {
            errors += 1;
        }
    }
    assert!(errors > 0);
}

#[test]
fn rebuilt_model_still_parses() {
    // The mutation helper itself: no change, same model.
    let again = parse(&mutated("lenet5_modern", |_| {})).unwrap();
    assert_eq!(again, parse(&bytes("lenet5_modern")).unwrap());
}

#[test]
fn custom_op_is_named_with_its_index() {
    let b = mutated("lenet5_modern", |m| {
        let code = operator(m, 1).opcode_index as usize;
        let c = &mut m.operator_codes.as_mut().unwrap()[code];
        c.builtin_code = 32;
        c.deprecated_builtin_code = 32;
        c.custom_code = Some("MyFancyPool".into());
    });
    assert_eq!(
        parse(&b).unwrap_err(),
        Error::UnsupportedOp {
            operator: 1,
            op: "CUSTOM:MyFancyPool".into()
        }
    );
    assert_eq!(
        message(parse(&b)),
        "operator 1: CUSTOM:MyFancyPool is not supported by tinyconv"
    );
}

#[test]
fn unsupported_builtin_is_named_with_its_index() {
    let b = mutated("lenet5_modern", |m| {
        let code = operator(m, 4).opcode_index as usize; // RESHAPE
        let c = &mut m.operator_codes.as_mut().unwrap()[code];
        c.builtin_code = 39;
        c.deprecated_builtin_code = 39;
    });
    assert_eq!(
        parse(&b).unwrap_err(),
        Error::UnsupportedOp {
            operator: 4,
            op: "TRANSPOSE".into()
        }
    );
}

#[test]
fn uint8_tensors_are_unsupported() {
    let b = mutated("lenet5_modern", |m| {
        let input = graph(m).inputs.as_ref().unwrap()[0] as usize;
        tensor(m, input).type_ = 3;
    });
    let e = message(parse(&b));
    assert!(
        e.starts_with("unsupported: tensor 0 ") && e.ends_with("UINT8 tensors"),
        "{e}"
    );
}

#[test]
fn asymmetric_weights_are_unsupported() {
    let b = mutated("lenet5_modern", |m| {
        let w = op_input(m, 0, 1);
        let q = tensor(m, w).quantization.as_mut().unwrap();
        q.zero_point.as_mut().unwrap()[2] = 3;
    });
    let e = message(parse(&b));
    assert!(
        e.contains("operator 0 (CONV_2D)") && e.contains("asymmetric weights (zero point 3)"),
        "{e}"
    );
}

#[test]
fn dynamic_shapes_are_unsupported_but_a_dynamic_batch_is_fine() {
    let b = mutated("lenet5_modern", |m| {
        let input = graph(m).inputs.as_ref().unwrap()[0] as usize;
        tensor(m, input).shape_signature = Some(vec![1, -1, 28, 1]);
    });
    let e = message(parse(&b));
    assert!(e.contains("dynamic shape"), "{e}");
    let b = mutated("lenet5_modern", |m| {
        let input = graph(m).inputs.as_ref().unwrap()[0] as usize;
        tensor(m, input).shape_signature = Some(vec![-1, 28, 28, 1]);
    });
    parse(&b).unwrap();
}

#[test]
fn negative_dimension_is_an_error() {
    let b = mutated("lenet5_modern", |m| {
        let input = graph(m).inputs.as_ref().unwrap()[0] as usize;
        tensor(m, input).shape = Some(vec![1, -1, 28, 1]);
    });
    assert!(message(parse(&b)).contains("dynamic or negative dimension -1"));
}

#[test]
fn batch_above_one_is_unsupported() {
    let b = mutated("lenet5_modern", |m| {
        let input = graph(m).inputs.as_ref().unwrap()[0] as usize;
        tensor(m, input).shape = Some(vec![2, 28, 28, 1]);
    });
    let e = message(parse(&b));
    assert!(e.contains("operator 0 (CONV_2D): batch 2"), "{e}");
}

#[test]
fn several_subgraphs_are_unsupported() {
    let b = mutated("conv1d", |m| {
        let g = m.subgraphs.as_ref().unwrap()[0].clone();
        m.subgraphs.as_mut().unwrap().push(g);
    });
    assert!(message(parse(&b)).contains("2 subgraphs"));
}

#[test]
fn tensor_index_out_of_range_is_malformed() {
    let b = mutated("conv1d", |m| {
        operator(m, 3).inputs.as_mut().unwrap()[0] = 999;
    });
    let e = parse(&b).unwrap_err();
    assert!(
        matches!(&e, Error::Malformed(m) if m.contains("operator 3 refers to tensor 999")),
        "{e}"
    );
}

#[test]
fn opcode_index_out_of_range_is_malformed() {
    let b = mutated("conv1d", |m| operator(m, 2).opcode_index = 77);
    assert!(message(parse(&b)).contains("operator 2: opcode index 77 out of range"));
}

#[test]
fn wrong_output_shape_is_malformed() {
    let b = mutated("lenet5_modern", |m| {
        let out = operator(m, 0).outputs.as_ref().unwrap()[0] as usize;
        tensor(m, out).shape = Some(vec![1, 27, 28, 6]);
    });
    let e = message(parse(&b));
    assert!(
        e.contains("operator 0 (CONV_2D)") && e.contains("[1, 27, 28, 6]"),
        "{e}"
    );
}

#[test]
fn short_weight_buffer_is_malformed() {
    let b = mutated("lenet5_modern", |m| {
        let w = op_input(m, 0, 1);
        let buffer = tensor(m, w).buffer as usize;
        m.buffers.as_mut().unwrap()[buffer]
            .data
            .as_mut()
            .unwrap()
            .pop();
    });
    let e = message(parse(&b));
    assert!(
        e.contains("149 bytes of data for shape [6, 5, 5, 1]"),
        "{e}"
    );
}

#[test]
fn missing_options_are_malformed() {
    let b = mutated("lenet5_modern", |m| operator(m, 0).builtin_options = None);
    assert!(message(parse(&b)).contains("operator 0 (CONV_2D): options of another operator"));
}

#[test]
fn zero_stride_is_malformed() {
    let b = mutated("lenet5_modern", |m| {
        if let Some(tflite::BuiltinOptions::Conv2DOptions(o)) =
            operator(m, 0).builtin_options.as_mut()
        {
            o.stride_w = 0;
        }
    });
    assert!(message(parse(&b)).contains("stride_w 0 (must be >= 1)"));
}

#[test]
fn fused_tanh_is_unsupported() {
    let b = mutated("lenet5_modern", |m| {
        if let Some(tflite::BuiltinOptions::Conv2DOptions(o)) =
            operator(m, 0).builtin_options.as_mut()
        {
            o.fused_activation_function = 4;
        }
    });
    assert!(message(parse(&b)).contains("operator 0 (CONV_2D): fused TANH activation"));
}

#[test]
fn hybrid_model_is_unsupported() {
    // int8 weights under f32 activations: dynamic-range quantization.
    let b = mutated("lenet5_modern", |m| {
        for t in activations(m) {
            tensor(m, t).type_ = 0;
            tensor(m, t).quantization = None;
        }
    });
    let e = message(parse(&b));
    assert!(
        e.contains("operator 0 (CONV_2D): INT8 weights in an f32 model"),
        "{e}"
    );
}

#[test]
fn softmax_output_quantization_must_be_tflites() {
    let b = mutated("ds_cnn", |m| {
        let out = graph(m).outputs.as_ref().unwrap()[0] as usize;
        tensor(m, out).quantization.as_mut().unwrap().zero_point = Some(vec![0]);
    });
    assert!(message(parse(&b)).contains("(SOFTMAX): int8 output quantization"));
}

#[test]
fn broadcasting_add_is_unsupported() {
    // The first ADD's second input replaced by the model's input: [1, 32, 32, 3] against
    // [1, 32, 32, 16].
    let b = mutated("resnet8", |m| {
        let input = graph(m).inputs.as_ref().unwrap()[0];
        let ops = graph(m).operators.as_ref().unwrap().len();
        let add = (0..ops)
            .find(|&i| {
                matches!(
                    operator(m, i).builtin_options,
                    Some(tflite::BuiltinOptions::AddOptions(_))
                )
            })
            .unwrap();
        operator(m, add).inputs.as_mut().unwrap()[1] = input;
    });
    let e = message(parse(&b));
    assert!(e.contains("operator 3 (ADD): ADD with broadcasting"), "{e}");
}

#[test]
fn read_before_written_is_malformed() {
    let b = mutated("conv1d", |m| {
        let ops = graph(m).operators.as_mut().unwrap();
        ops.swap(1, 2);
    });
    assert!(message(parse(&b)).contains("is read before any operator writes it"));
}
