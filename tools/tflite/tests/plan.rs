//! The buffer plan of every test model against TFLM's own planner (the arena "head" its
//! recording allocator reported when the goldens were made, in models/manifest.json), and the
//! `inspect` command on every model.

use tinyconv_tflite::model::Precision;
use tinyconv_tflite::{Plan, parse};

const MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models");

fn manifest() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{MODELS}/manifest.json")).unwrap())
        .unwrap()
}

#[test]
fn arena_is_no_larger_than_tflms() {
    let manifest = manifest();
    let mut rows = Vec::new();
    for (name, entry) in manifest.as_object().unwrap() {
        if name.starts_with('_') {
            continue;
        }
        let model = parse(&std::fs::read(format!("{MODELS}/{name}.tflite")).unwrap()).unwrap();
        let plan = Plan::new(&model);
        plan.check().unwrap();
        let elem = if model.precision == Precision::I8 {
            1
        } else {
            4
        };
        let arena = plan.arena_len * elem;
        let io = (model.tensor(model.input).len() + model.tensor(model.output).len()) * elem;
        let tflm = entry["tflm_arena_bytes"]["head"].as_u64().unwrap() as usize;
        rows.push(format!(
            "{name:<18} arena {arena:>6}  + input/output {io:>5}  TFLM head {tflm:>6}"
        ));
        // TFLM's head also holds the input and output; tinyconv's arena holds only the
        // intermediates (input and output are the caller's arrays).
        assert!(arena <= tflm, "{name}: arena {arena} > TFLM {tflm}");
    }
    println!("{}", rows.join("\n"));
    assert_eq!(rows.len(), 8);
}

#[test]
fn inspect_prints_every_section() {
    let exe = env!("CARGO_BIN_EXE_tinyconv-tflite");
    let out = std::process::Command::new(exe)
        .args([
            "inspect",
            &format!("{MODELS}/resnet8.tflite"),
            "--tflm-arena",
            "49152",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "int8 model, 15 operators",
        "input  tensor 0",
        "ADD",
        "3x3 stride 2x2 SAME (pad t0 b1 l0 r1)",
        "16 scales along dim 0",
        "buffer plan",
        "arena: 49,152 bytes shared",
        "TFLM's planned tensor memory",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn inspect_reports_errors_without_panicking() {
    let exe = env!("CARGO_BIN_EXE_tinyconv-tflite");
    let out = std::process::Command::new(exe)
        .args(["inspect", &format!("{MODELS}/resnet8.golden")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("not a readable TFLite flatbuffer"), "{err}");
}

#[test]
fn lenet_convolutions_are_fused_with_their_poolings() {
    use tinyconv_tflite::plan::{Fusion, fusions};
    let model = parse(&std::fs::read(format!("{MODELS}/lenet5_modern.tflite")).unwrap()).unwrap();
    assert_eq!(
        fusions(&model),
        [
            Fusion {
                conv: 0,
                pool: 1,
                rows: 2,
                band_len: 2 * 28 * 6
            },
            Fusion {
                conv: 2,
                pool: 3,
                rows: 2,
                band_len: 2 * 10 * 16
            },
        ]
    );
    // The fused pair runs as one step: conv2's input (pool1's output) and pool2's output are
    // alive together, beside conv2's band.
    let plan = Plan::new(&model);
    plan.check().unwrap();
    assert_eq!(plan.arena_len, 14 * 14 * 6 + 2 * 10 * 16 + 5 * 5 * 16);
    // A pooling whose window overlaps vertically, or the model's output, is not fused.
    for name in ["ds_cnn", "resnet8", "mobilenet_v1", "conv1d", "small_f32"] {
        let m = parse(&std::fs::read(format!("{MODELS}/{name}.tflite")).unwrap()).unwrap();
        assert!(fusions(&m).is_empty(), "{name}");
    }
}
