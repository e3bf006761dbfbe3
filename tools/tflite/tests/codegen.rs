//! The generator's output and errors (the generated code itself runs in
//! `generated/tests/golden.rs`).

use tinyconv_tflite::codegen::generate;
use tinyconv_tflite::model::{Fused, Op};
use tinyconv_tflite::{Error, parse};

const MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models");

fn model(name: &str) -> tinyconv_tflite::Model {
    parse(&std::fs::read(format!("{MODELS}/{name}.tflite")).unwrap()).unwrap()
}

#[test]
fn output_is_deterministic_and_names_only_the_file() {
    let m = model("lenet5_modern");
    let a = generate(&m, "lenet5_modern.tflite").unwrap();
    assert_eq!(a, generate(&m, "lenet5_modern.tflite").unwrap());
    assert!(!a.contains(MODELS), "the output names a path");
    assert!(!a.contains("#!["), "inner attributes break include!");
}

#[test]
fn int8_module_has_the_api_and_the_plan() {
    let code = generate(&model("lenet5_modern"), "lenet5_modern.tflite").unwrap();
    for needle in [
        "pub struct Model {\n    arena: [i8; ARENA_LEN],",
        // conv + pool fused: only a band of two conv rows exists (28·6·2 = 336 bytes).
        "const ARENA_LEN: usize = 1896;",
        "// fused: 2 convolution rows at a time into a band, pooled as soon as computed",
        "let (g, rows) = L0_GEOMETRY.row_band(py * 2, 2)?;",
        "pub const INPUT_LEN: usize = 784;",
        "pub const OUTPUT_LEN: usize = 10;",
        "pub const INPUT_SCALE: f32 = 0.003921569;",
        "pub const INPUT_ZERO_POINT: i8 = -128;",
        "pub const RAM_BYTES: usize = core::mem::size_of::<Model>();",
        "pub const fn new() -> Self",
        "pub fn run(&mut self, input: &[i8; Self::INPUT_LEN], output: &mut [i8; Self::OUTPUT_LEN])",
        // conv1: SAME padding resolved, fused ReLU as a clamp from the zero point up.
        ".with_padding(Padding::new(2, 2, 2, 2))",
        ".with_range(range(-128, 127) /* RELU */)",
        // The reshape costs nothing; the last layer writes the caller's output.
        "// (the same bytes under another shape: nothing to do)",
        "let y = &mut output[..];",
    ] {
        assert!(code.contains(needle), "missing {needle:?}");
    }
}

#[test]
fn f32_module_uses_f32_everywhere() {
    let code = generate(&model("lenet5_modern_f32"), "lenet5_modern_f32.tflite").unwrap();
    assert!(code.contains("arena: [f32; ARENA_LEN]"));
    assert!(
        code.contains("const L0_KERNEL: Conv2dF32Kernel = Conv2dF32Kernel::select(&L0_GEOMETRY);")
    );
    assert!(code.contains("L0_KERNEL.run(&g, x, &L0_WEIGHTS, Some(&L0_BIAS), Activation::Relu, &mut self.scratch_f32, y)?;"));
    assert!(!code.contains("INPUT_SCALE"));
    assert!(!code.contains("LayerParamsI8::new"));
}

#[test]
fn every_test_model_generates_its_operators() {
    for (name, needles) in [
        (
            "resnet8",
            &[
                "static L3_ADD: AddParamsI8 = add_params(",
                "elementwise::add_i8(&L3_ADD, a, b, y)?;",
                "activation::softmax_i8(&L14_SOFTMAX, 10, x, y)?;",
            ][..],
        ),
        (
            "ds_cnn",
            &["static L11_SOFTMAX: SoftmaxI8 = softmax_params("][..],
        ),
        (
            "mobilenet_v1",
            &[
                "shape::pad(",
                "reduce::mean_hw_i8(",
                "MeanParamsI8 = mean_params(",
            ][..],
        ),
        (
            "lenet5_classic",
            &["static L1_TABLE: [i8; 256] = LogisticI8::new(quant("][..],
        ),
        (
            "conv1d",
            &[
                "TanhI8::new(quant(",
                "shape::concatenate(",
                "quant::apply_table(",
            ][..],
        ),
        ("small_f32", &["elementwise::add_f32(a, b, "][..]),
    ] {
        let code = generate(&model(name), "m.tflite").unwrap_or_else(|e| panic!("{name}: {e}"));
        for needle in needles {
            assert!(code.contains(needle), "{name}: missing {needle:?}");
        }
    }
}

#[test]
fn operators_without_a_kernel_are_named() {
    // small_f32's ADD (operator 3) with a fused RELU_N1_TO_1, which tinyconv has no f32 clamp for.
    let mut m = model("small_f32");
    let add = &mut m.operators[3];
    assert_eq!(add.tflite_name, "ADD");
    add.op = Op::Add {
        activation: Fused::ReluN1To1,
    };
    match generate(&m, "m.tflite") {
        Err(Error::MissingKernel { operator, op, .. }) => {
            assert_eq!((operator, op.as_str()), (3, "ADD"));
        }
        other => panic!("{other:?}"),
    }
}
