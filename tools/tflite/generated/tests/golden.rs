//! Every generated model against TensorFlow Lite Micro's outputs: int8 bit for bit, f32 within
//! `|ours − TFLM| ≤ 1e-4 · (1 + |TFLM|)` (measured: 5.4e-6 on LeNet-5 f32).
//!
//! The goldens are `../models/NAME.golden` (made by scripts/make_models.py), or
//! `$TINYCONV_TFLITE_GOLDEN_DIR/NAME.golden` when that variable is set (fresh inputs from the
//! live interpreter: `scripts/check_tflm.py --fresh DIR`).

use tinyconv_tflite::golden::Golden;
use tinyconv_tflite_generated::{GENERATED, PENDING};

/// f32 tolerance relative to TFLM's value (different summation order, FMA).
const F32_TOLERANCE: f32 = 1e-4;

fn golden(name: &str) -> Golden {
    let dir = std::env::var("TINYCONV_TFLITE_GOLDEN_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../models").to_string());
    let path = format!("{dir}/{name}.golden");
    Golden::parse(&std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

/// Runs every case of an int8 model and asserts equality with TFLM.
#[allow(unused_macros)]
macro_rules! check_int8 {
    ($module:ident) => {{
        use tinyconv_tflite_generated::$module::Model;
        let Golden::I8(cases) = golden(stringify!($module)) else {
            panic!("not an int8 golden")
        };
        let mut model = Model::new();
        let mut output = [0i8; Model::OUTPUT_LEN];
        for (i, (x, want)) in cases.iter().enumerate() {
            model.run(x.as_slice().try_into().unwrap(), &mut output);
            assert_eq!(&output[..], &want[..], "{} case {i}", stringify!($module));
        }
        println!(
            "{}: {} cases, bit-exact with TFLM",
            stringify!($module),
            cases.len()
        );
        cases.len()
    }};
}

/// Runs every case of an f32 model; returns the largest relative difference.
#[allow(unused_macros)]
macro_rules! check_f32 {
    ($module:ident) => {{
        use tinyconv_tflite_generated::$module::Model;
        let Golden::F32(cases) = golden(stringify!($module)) else {
            panic!("not an f32 golden")
        };
        let mut model = Model::new();
        let mut output = [0f32; Model::OUTPUT_LEN];
        let mut worst = 0f32;
        for (i, (x, want)) in cases.iter().enumerate() {
            model.run(x.as_slice().try_into().unwrap(), &mut output);
            for (j, (&o, &w)) in output.iter().zip(want).enumerate() {
                let d = (o - w).abs() / (1.0 + w.abs());
                worst = worst.max(d);
                assert!(
                    d <= F32_TOLERANCE,
                    "{} case {i} output {j}: {o} vs TFLM {w}",
                    stringify!($module)
                );
            }
        }
        println!(
            "{}: {} cases, largest |ours − TFLM| / (1 + |TFLM|) = {worst:e}",
            stringify!($module),
            cases.len()
        );
        cases.len()
    }};
}

#[cfg(tinyconv_model_lenet5_modern)]
#[test]
fn lenet5_modern() {
    assert!(check_int8!(lenet5_modern) >= 20);
}

#[cfg(tinyconv_model_lenet5_classic)]
#[test]
fn lenet5_classic() {
    assert!(check_int8!(lenet5_classic) >= 20);
}

#[cfg(tinyconv_model_ds_cnn)]
#[test]
fn ds_cnn() {
    assert!(check_int8!(ds_cnn) >= 20);
}

#[cfg(tinyconv_model_resnet8)]
#[test]
fn resnet8() {
    assert!(check_int8!(resnet8) >= 20);
}

#[cfg(tinyconv_model_mobilenet_v1)]
#[test]
fn mobilenet_v1() {
    assert!(check_int8!(mobilenet_v1) >= 20);
}

#[cfg(tinyconv_model_conv1d)]
#[test]
fn conv1d() {
    assert!(check_int8!(conv1d) >= 20);
}

#[cfg(tinyconv_model_lenet5_modern_f32)]
#[test]
fn lenet5_modern_f32() {
    assert!(check_f32!(lenet5_modern_f32) >= 20);
}

#[cfg(tinyconv_model_small_f32)]
#[test]
fn small_f32() {
    assert!(check_f32!(small_f32) >= 20);
}

/// Every model either generated or waits for a named tinyconv kernel (no other generator
/// error gets past build.rs, which panics on those).
#[test]
fn every_model_is_generated_or_waits_for_a_kernel() {
    for (name, error) in PENDING {
        println!("pending: {name}: {error}");
        assert!(error.contains("tinyconv has no"), "{name}: {error}");
    }
    assert_eq!(GENERATED.len() + PENDING.len(), 8);
    // Every test model generates today.
    assert!(PENDING.is_empty(), "{PENDING:?}");
    for name in [
        "lenet5_modern",
        "lenet5_classic",
        "lenet5_modern_f32",
        "ds_cnn",
        "resnet8",
        "mobilenet_v1",
        "conv1d",
        "small_f32",
    ] {
        assert!(GENERATED.contains(&name), "{name} is no longer generated");
    }
}

/// The LeNet-5 generated from its `.tflite` needs no more RAM than the hand-written one with the
/// same kernels (both pick them with the library's `select`: `Auto`).
#[cfg(all(tinyconv_model_lenet5_modern, tinyconv_model_lenet5_modern_f32))]
#[test]
fn lenet_ram_is_no_more_than_the_handwritten_models() {
    use tinyconv::models::Auto;
    use tinyconv::models::lenet5::{Lenet5F32, Lenet5I8};
    let generated_i8 = tinyconv_tflite_generated::lenet5_modern::Model::RAM_BYTES;
    let generated_f32 = tinyconv_tflite_generated::lenet5_modern_f32::Model::RAM_BYTES;
    let hand_i8 = Lenet5I8::<Auto>::RAM_BYTES;
    let hand_f32 = Lenet5F32::<Auto>::RAM_BYTES;
    println!(
        "RAM bytes: int8 generated {generated_i8}, hand-written Auto {hand_i8}; f32 generated {generated_f32}, hand-written Auto {hand_f32}"
    );
    assert!(generated_i8 <= hand_i8);
    assert!(generated_f32 <= hand_f32);
}
