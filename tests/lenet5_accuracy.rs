//! Accuracy of the shipped LeNet-5 models.
//!
//! - On the 1,000 test images shipped in `data/`: the exact number of correct predictions per
//!   model × precision (any change in numerics or weights shows up here), identical for every
//!   algorithm in int8.
//! - On the full 10,000-image test set (Debian package `dataset-fashion-mnist`): the accuracy
//!   floors of the issue, int8 within 0.5 points of f32, int8 predictions identical across the
//!   three algorithms, f32 predictions agreeing on ≥ 99.9 % of the images. Skipped with a note
//!   when the package is absent, unless `TINYCONV_REQUIRE_DATASET=1` (CI sets it).

use tinyconv::models::lenet5::{
    self, Lenet5F32, Lenet5I8, Lenet5I8Weights, Lenet5Plan, Lenet5Weights, PackedF32, PackedI8,
    image_from_u8,
};
use tinyconv::models::{Auto, Direct, Im2col, Reference};
use tinyconv_data::Dataset;

fn predict_f32<P: Lenet5Plan>(w: &Lenet5Weights, data: &Dataset) -> Vec<usize> {
    let packed = Box::new(PackedF32::<P>::pack(w).unwrap());
    let mut m = Box::new(Lenet5F32::new(&*packed));
    data.images
        .iter()
        .map(|px| m.predict(&image_from_u8(px)).unwrap())
        .collect()
}

fn predict_i8<P: Lenet5Plan>(w: &Lenet5I8Weights, data: &Dataset) -> Vec<usize> {
    let packed = Box::new(PackedI8::<P>::pack(w).unwrap());
    let mut m = Box::new(Lenet5I8::new(&*packed));
    data.images
        .iter()
        .map(|px| m.predict_u8(px).unwrap())
        .collect()
}

fn correct(pred: &[usize], data: &Dataset) -> usize {
    pred.iter()
        .zip(&data.labels)
        .filter(|(p, l)| **p == **l as usize)
        .count()
}

fn agreement(a: &[usize], b: &[usize]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

struct Results {
    f32: [Vec<usize>; 4],
    i8: [Vec<usize>; 4],
}

fn run(w: &Lenet5Weights, q: &Lenet5I8Weights, data: &Dataset) -> Results {
    Results {
        f32: [
            predict_f32::<Reference>(w, data),
            predict_f32::<Im2col>(w, data),
            predict_f32::<Direct>(w, data),
            predict_f32::<Auto>(w, data),
        ],
        i8: [
            predict_i8::<Reference>(q, data),
            predict_i8::<Im2col>(q, data),
            predict_i8::<Direct>(q, data),
            predict_i8::<Auto>(q, data),
        ],
    }
}

/// Correct predictions on the shipped 1,000 images, as measured when the weights were exported:
/// (classic f32, classic int8, modern f32, modern int8).
const SHIPPED_CORRECT: (usize, usize, usize, usize) = (903, 900, 923, 922);

#[test]
fn shipped_subset_exact_accuracy() {
    let data = tinyconv_data::shipped_subset();
    assert_eq!(data.len(), 1000);
    let mut got = [0usize; 4];
    for (k, (w, q)) in [
        (&lenet5::CLASSIC_F32, &lenet5::CLASSIC_I8),
        (&lenet5::MODERN_F32, &lenet5::MODERN_I8),
    ]
    .into_iter()
    .enumerate()
    {
        let r = run(w, q, &data);
        // int8 is bit-exact across algorithms: identical predictions.
        assert_eq!(r.i8[0], r.i8[1], "{:?} int8 im2col vs reference", w.variant);
        assert_eq!(r.i8[0], r.i8[2], "{:?} int8 direct vs reference", w.variant);
        got[2 * k] = correct(&r.f32[0], &data);
        got[2 * k + 1] = correct(&r.i8[0], &data);
        for p in &r.f32[1..] {
            assert!(
                agreement(&r.f32[0], p) >= 0.998,
                "{:?} f32 algorithms disagree",
                w.variant
            );
        }
    }
    println!("shipped subset correct: {got:?}");
    assert_eq!((got[0], got[1], got[2], got[3]), SHIPPED_CORRECT);
}

#[test]
fn full_test_set_accuracy() {
    let required = std::env::var("TINYCONV_REQUIRE_DATASET").is_ok_and(|v| v == "1");
    if !tinyconv_data::debian_test_split_present() {
        assert!(
            !required,
            "TINYCONV_REQUIRE_DATASET=1 but {} is missing",
            tinyconv_data::DEBIAN_DIR
        );
        eprintln!("skipped: install dataset-fashion-mnist for the full test-set accuracy test");
        return;
    }
    let data = tinyconv_data::load_dir(tinyconv_data::DEBIAN_DIR).unwrap();
    assert_eq!(data.len(), 10_000);
    for (w, q, floor) in [
        (&lenet5::CLASSIC_F32, &lenet5::CLASSIC_I8, 0.880),
        (&lenet5::MODERN_F32, &lenet5::MODERN_I8, 0.905),
    ] {
        let r = run(w, q, &data);
        let n = data.len() as f64;
        let acc_f32 = correct(&r.f32[0], &data) as f64 / n;
        let acc_i8 = correct(&r.i8[0], &data) as f64 / n;
        println!(
            "{:?}: f32 {:.2} %, int8 {:.2} %",
            w.variant,
            100.0 * acc_f32,
            100.0 * acc_i8
        );
        assert!(
            acc_f32 >= floor,
            "{:?} f32 accuracy {acc_f32} below {floor}",
            w.variant
        );
        assert!(
            (acc_i8 - acc_f32).abs() <= 0.005,
            "{:?} int8 {acc_i8} vs f32 {acc_f32}",
            w.variant
        );
        assert_eq!(
            r.i8[0], r.i8[1],
            "{:?} int8 im2col differs from reference",
            w.variant
        );
        assert_eq!(
            r.i8[0], r.i8[2],
            "{:?} int8 direct differs from reference",
            w.variant
        );
        for (name, p) in ["im2col", "direct"].iter().zip(&r.f32[1..]) {
            let a = agreement(&r.f32[0], p);
            assert!(
                a >= 0.999,
                "{:?} f32 {name} agrees with reference on only {a}",
                w.variant
            );
        }
    }
}
