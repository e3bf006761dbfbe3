//! Property tests: SIMD pooling and dense layers equal their references.

mod common;

use common::{ABS_TOL, REL_TOL, pseudo_random};
use proptest::prelude::*;
use tinyconv::dense;
use tinyconv::pool::{reference, simd};
use tinyconv::{Activation, AvgPoolDivisor, Padding, Pool2dGeometry};

fn pool_geometry() -> impl Strategy<Value = Pool2dGeometry> {
    (
        1usize..=20,
        1usize..=24,
        1usize..=24,
        1usize..=4,
        1usize..=4,
        1usize..=3,
        1usize..=3,
    )
        .prop_flat_map(|(c, h, w, kh, kw, sh, sw)| {
            (0..kh, 0..kh, 0..kw, 0..kw).prop_map(move |(pt, pb, pl, pr)| {
                Pool2dGeometry::new([h, w, c], [kh, kw])
                    .with_stride([sh, sw])
                    .with_padding(Padding::new(pt, pb, pl, pr))
            })
        })
        .prop_filter("window must fit", |g| g.dims().is_ok())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn max_pool_simd_equals_reference(g in pool_geometry(), seed in any::<u64>()) {
        let d = g.dims().unwrap();
        let x = pseudo_random(d.input_len, seed);
        let mut want = vec![0.0; d.output_len];
        let mut got = vec![f32::NAN; d.output_len];
        reference::max_pool2d(&g, &x, &mut want).unwrap();
        simd::max_pool2d_f32(&g, &x, &mut got).unwrap();
        // Max selects an element: exact.
        prop_assert_eq!(got, want);
    }

    #[test]
    fn avg_pool_simd_equals_reference(g in pool_geometry(), seed in any::<u64>(), include in any::<bool>()) {
        let divisor = if include { AvgPoolDivisor::IncludePadding } else { AvgPoolDivisor::ExcludePadding };
        let d = g.dims().unwrap();
        let x = pseudo_random(d.input_len, seed);
        let mut want = vec![0.0; d.output_len];
        let mut got = vec![f32::NAN; d.output_len];
        reference::avg_pool2d_f32(&g, divisor, &x, &mut want).unwrap();
        simd::avg_pool2d_f32(&g, divisor, &x, &mut got).unwrap();
        // Both sum the window in the same order, so only the division can differ: none.
        for (a, b) in got.iter().zip(&want) {
            prop_assert!((a - b).abs() <= REL_TOL * b.abs() + ABS_TOL, "{} vs {}", a, b);
        }
    }

    #[test]
    fn channels_never_mix(g in pool_geometry(), seed in any::<u64>()) {
        // Pool a tensor, then the same tensor with channel 0 replaced: other channels unchanged.
        let d = g.dims().unwrap();
        let x = pseudo_random(d.input_len, seed);
        let mut x2 = x.clone();
        for v in x2.iter_mut().step_by(g.channels) { *v += 5.0; }
        let (mut a, mut b) = (vec![0.0; d.output_len], vec![0.0; d.output_len]);
        simd::max_pool2d_f32(&g, &x, &mut a).unwrap();
        simd::max_pool2d_f32(&g, &x2, &mut b).unwrap();
        for (i, (p, q)) in a.iter().zip(&b).enumerate() {
            if i % g.channels == 0 { prop_assert_eq!(*q, *p + 5.0); } else { prop_assert_eq!(p, q); }
        }
    }

    #[test]
    fn dense_simd_equals_reference(
        n_in in 1usize..=300,
        n_out in 1usize..=40,
        seed in any::<u64>(),
        with_bias in any::<bool>(),
    ) {
        let x = pseudo_random(n_in, seed);
        let w = pseudo_random(n_in * n_out, seed ^ 1);
        let b = pseudo_random(n_out, seed ^ 2);
        let bias = with_bias.then_some(&b[..]);
        let mut want = vec![0.0; n_out];
        let mut got = vec![f32::NAN; n_out];
        dense::reference::dense_f32(&x, &w, bias, Activation::Identity, &mut want).unwrap();
        dense::simd::dense_f32(&x, &w, bias, Activation::Identity, &mut got).unwrap();
        let ax: Vec<f32> = x.iter().map(|v| v.abs()).collect();
        let aw: Vec<f32> = w.iter().map(|v| v.abs()).collect();
        let ab: Vec<f32> = b.iter().map(|v| v.abs()).collect();
        let mut mag = vec![0.0; n_out];
        dense::reference::dense_f32(&ax, &aw, with_bias.then_some(&ab[..]), Activation::Identity, &mut mag).unwrap();
        common::assert_close("dense", &got, &want, &mag);
    }

    /// Every f32 dense kernel over weights packed for it (the scalar kernel's groups of 4, 2
    /// and 1 rows; packing a permutation), every activation, within the suite's tolerance.
    #[test]
    fn dense_kernels_equal_reference(
        n_in in 1usize..=130,
        n_out in 1usize..=23,
        seed in any::<u64>(),
        with_bias in any::<bool>(),
        act in prop_oneof![
            Just(Activation::Identity),
            Just(Activation::Relu),
            Just(Activation::Relu6),
            Just(Activation::Sigmoid),
            Just(Activation::Tanh),
        ],
    ) {
        let x = pseudo_random(n_in, seed);
        let w = pseudo_random(n_in * n_out, seed ^ 1);
        let b = pseudo_random(n_out, seed ^ 2);
        let bias = with_bias.then_some(&b[..]);
        let mut pre = vec![0.0; n_out];
        dense::reference::dense_f32(&x, &w, bias, Activation::Identity, &mut pre).unwrap();
        let mut want = vec![0.0; n_out];
        dense::reference::dense_f32(&x, &w, bias, act, &mut want).unwrap();
        let ax: Vec<f32> = x.iter().map(|v| v.abs()).collect();
        let aw: Vec<f32> = w.iter().map(|v| v.abs()).collect();
        let ab: Vec<f32> = b.iter().map(|v| v.abs()).collect();
        let mut mag = vec![0.0; n_out];
        dense::reference::dense_f32(&ax, &aw, with_bias.then_some(&ab[..]), Activation::Identity, &mut mag).unwrap();
        for k in dense::DenseF32Kernel::ALL {
            let mut packed = vec![0.0; w.len()];
            k.pack(n_in, n_out, &w, &mut packed).unwrap();
            let (mut sw, mut sp) = (w.clone(), packed.clone());
            sw.sort_by(f32::total_cmp);
            sp.sort_by(f32::total_cmp);
            prop_assert_eq!(&sw, &sp, "packing is a permutation");
            let mut got = vec![f32::NAN; n_out];
            k.run(&x, &packed, bias, act, &mut [], &mut got).unwrap();
            common::assert_close(k.name(), &got, &want, &mag);
        }
    }
}

#[test]
fn scalar_dense_rejects_wrong_lengths() {
    let k = dense::DenseF32Kernel::Scalar;
    let mut packed = [0.0; 5];
    assert!(k.pack(3, 2, &[0.0; 6], &mut packed).is_err());
    let r = k.run(
        &[1.0; 3],
        &[0.0; 5],
        None,
        Activation::Identity,
        &mut [],
        &mut [0.0; 2],
    );
    assert!(
        matches!(
            r,
            Err(tinyconv::Error::LengthMismatch {
                what: "weights",
                ..
            })
        ),
        "{r:?}"
    );
    let r = k.run(
        &[1.0; 3],
        &[0.0; 6],
        Some(&[0.0; 1]),
        Activation::Identity,
        &mut [],
        &mut [0.0; 2],
    );
    assert!(
        matches!(r, Err(tinyconv::Error::LengthMismatch { what: "bias", .. })),
        "{r:?}"
    );
}

#[test]
fn global_avg_pool_means_each_channel() {
    let x = [1.0, 10.0, 3.0, 20.0, 5.0, 30.0]; // 3 pixels, 2 channels
    let mut y = [0.0; 2];
    reference::global_avg_pool_f32(&x, &mut y).unwrap();
    assert_eq!(y, [3.0, 20.0]);
    assert!(reference::global_avg_pool_f32(&x[..5], &mut y).is_err());
    let t = [[[1.0f32, 2.0], [3.0, 4.0]]];
    let mut z = [0.0; 2];
    tinyconv::pool::global_avg_pool(&t, &mut z).unwrap();
    assert_eq!(z, [2.0, 3.0]);
}

#[test]
fn pool_rejects_padding_as_wide_as_window() {
    let g = Pool2dGeometry::new([4, 4, 1], [2, 2]).with_padding(Padding::uniform(2));
    assert!(matches!(g.dims(), Err(tinyconv::Error::InvalidGeometry(_))));
    let _ = pseudo_random(1, 0);
}

#[test]
fn dense_rejects_wrong_lengths() {
    let r = dense::simd::dense_f32(
        &[1.0; 3],
        &[0.0; 5],
        None,
        Activation::Identity,
        &mut [0.0; 2],
    );
    assert_eq!(
        r,
        Err(tinyconv::Error::LengthMismatch {
            what: "weights",
            expected: 6,
            actual: 5
        })
    );
}
