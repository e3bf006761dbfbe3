//! Checks of the `.tflite` importer's fuzz targets (`tflite_parse`, `tflite_mutate`), shared
//! with `tools/tflite/tests/fuzz_regressions.rs`, which includes this file by path.
//!
//! What every input must satisfy: `parse` returns a model or an error, never panics; for a
//! model, the buffer plan never overlaps two buffers alive at the same time, `inspect`'s report
//! renders, and the generator returns a module (that defines `Model`, `run`, `INPUT_LEN` and
//! `OUTPUT_LEN`) or an error — never a panic.

use tinyconv_tflite::{Plan, codegen, inspect, parse};

/// A fuzz check: panics when the input breaks an invariant.
pub type Check = fn(&[u8]);

/// The targets, by name.
pub const TARGETS: &[(&str, Check)] = &[
    ("tflite_parse", tflite_parse),
    ("tflite_mutate", tflite_mutate),
];

/// Real models the mutation target starts from (the small ones, so an execution stays short).
const MODELS: [&[u8]; 4] = [
    include_bytes!("../../tools/tflite/models/conv1d.tflite"),
    include_bytes!("../../tools/tflite/models/small_f32.tflite"),
    include_bytes!("../../tools/tflite/models/mobilenet_v1.tflite"),
    include_bytes!("../../tools/tflite/models/lenet5_modern.tflite"),
];

/// Arbitrary bytes as a `.tflite` file.
pub fn tflite_parse(data: &[u8]) {
    check_model_bytes(data);
}

/// A real model with edits: `data[0]` picks the model, `data[1]` (if odd) truncates it at a
/// point set by `data[2..4]`, then every 5 bytes are one edit (`u32` little-endian offset modulo
/// the length, new byte). Flatbuffer offsets, vtables, shapes, types, indices and options all
/// live in the first bytes a model's tables point at, so single-byte edits reach every check.
pub fn tflite_mutate(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut model = MODELS[usize::from(pick) % MODELS.len()].to_vec();
    let mut edits = rest;
    if let [flags, a, b, tail @ ..] = rest {
        if flags & 1 == 1 {
            let cut = usize::from(u16::from_le_bytes([*a, *b])) % model.len();
            model.truncate(cut);
        }
        edits = tail;
    }
    for e in edits.chunks_exact(5).take(64) {
        if model.is_empty() {
            break;
        }
        let at = u32::from_le_bytes([e[0], e[1], e[2], e[3]]) as usize % model.len();
        model[at] = e[4];
    }
    check_model_bytes(&model);
}

fn check_model_bytes(data: &[u8]) {
    let model = match parse(data) {
        Ok(m) => m,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let plan = Plan::new(&model);
    if let Err(e) = plan.check() {
        panic!("buffer plan: {e}");
    }
    assert!(plan.arena_len <= plan.unshared_len);
    let report = inspect::report(&model, &plan, Some(1024));
    assert!(report.contains("buffer plan"));
    match codegen::generate(&model, "fuzz.tflite") {
        Ok(code) => {
            for needle in [
                "pub struct Model",
                "pub fn run(",
                "pub const INPUT_LEN",
                "pub const OUTPUT_LEN",
            ] {
                assert!(code.contains(needle), "generated code without {needle}");
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
