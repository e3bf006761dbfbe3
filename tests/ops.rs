//! The element-wise, reduction, activation and shape ops, conv1d and batch-norm folding:
//! int8 against the real-valued result (within one output step where TFLite's integer
//! arithmetic rounds more than once), f32 against the formula, errors, and the f32-built
//! sigmoid/tanh tables against the exact integer kernels. Bit-exactness with TFLite Micro is
//! `tests/op_goldens.rs`.

mod common;

use common::pseudo_random;
use proptest::prelude::*;
use tinyconv::activation::{
    LogisticI8, ReluI8, SoftmaxI8, TanhI8, logistic_f32, softmax_f32, softmax_i8, tanh_f32,
};
use tinyconv::batchnorm::BatchNorm;
use tinyconv::conv::Conv2dF32Kernel;
use tinyconv::conv::conv1d::Conv1d;
use tinyconv::depthwise::reference as dw_reference;
use tinyconv::elementwise::{AddParamsI8, add_f32, add_i8};
use tinyconv::quant::{ActivationRange, QuantParams, dequantize, sigmoid_table, tanh_table};
use tinyconv::reduce::{MeanParamsI8, mean_hw_f32, mean_hw_i8};
use tinyconv::shape::{concatenate, concatenate_i8, flatten, pad, reshape};
use tinyconv::{Activation, Conv2dGeometry, Error, Padding, conv};

fn params() -> impl Strategy<Value = QuantParams> {
    (1e-3f32..1.0, -128i32..=127).prop_map(|(s, z)| QuantParams::new(s, z).unwrap())
}

/// `q` as the real value of the output quantization `out`, unclamped.
fn steps(real: f64, out: QuantParams) -> f64 {
    real / f64::from(out.scale()) + f64::from(out.zero_point())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// ADD rounds three times (both rescaled inputs, then the output): within one step of the
    /// correctly rounded real sum.
    #[test]
    fn add_i8_is_within_one_step(a in params(), b in params(), x in any::<i8>(), y in any::<i8>(), k in 0.3f32..3.0) {
        let s = a.scale().max(b.scale()) * k;
        let out = QuantParams::new(s, 0).unwrap();
        let p = AddParamsI8::new(a, b, out, ActivationRange::none()).unwrap();
        let real = f64::from(dequantize(x, a)) + f64::from(dequantize(y, b));
        let want = steps(real, out).round().clamp(-128.0, 127.0);
        let got = f64::from(p.apply(x, y));
        prop_assert!((got - want).abs() <= 1.0, "{got} vs {want}");
        // Symmetric in its operands.
        let q = AddParamsI8::new(b, a, out, ActivationRange::none()).unwrap();
        prop_assert_eq!(q.apply(y, x), p.apply(x, y));
    }

    /// MEAN: one requantization with `1 / count` folded into the multiplier.
    #[test]
    fn mean_i8_is_within_one_step(inp in params(), k in 0.2f32..5.0, zo in -128i32..=127, h in 1usize..=9, w in 1usize..=9, seed in any::<u64>()) {
        let out = QuantParams::new(inp.scale() * k, zo).unwrap();
        let c = 3;
        let x = common::int8::random_i8(h * w * c, seed, i8::MIN, i8::MAX);
        let p = MeanParamsI8::new(inp, out, h * w).unwrap();
        let mut y = [0i8; 3];
        mean_hw_i8([h, w, c], &x, &p, &mut y).unwrap();
        for ch in 0..c {
            let real: f64 = (0..h * w).map(|i| f64::from(dequantize(x[i * c + ch], inp))).sum::<f64>() / (h * w) as f64;
            let want = steps(real, out).round().clamp(-128.0, 127.0);
            prop_assert!((f64::from(y[ch]) - want).abs() <= 1.0, "{} vs {want}", y[ch]);
        }
    }

    /// SOFTMAX: within one step of the real softmax (1/256 steps), rows sum to about 1.
    #[test]
    fn softmax_i8_is_within_one_step(s in 0.005f32..0.5, zp in -128i32..=127, seed in any::<u64>(), depth in 1usize..=40) {
        let inp = QuantParams::new(s, zp).unwrap();
        let p = SoftmaxI8::new(s, 1.0).unwrap();
        let x = common::int8::random_i8(depth, seed, i8::MIN, i8::MAX);
        let mut y = vec![0i8; depth];
        softmax_i8(&p, depth, &x, &mut y).unwrap();
        let real: Vec<f64> = x.iter().map(|&q| f64::from(dequantize(q, inp))).collect();
        let max = real.iter().copied().fold(f64::MIN, f64::max);
        let sum: f64 = real.iter().map(|v| (v - max).exp()).sum();
        for (i, &q) in y.iter().enumerate() {
            let want = steps((real[i] - max).exp() / sum, SoftmaxI8::OUTPUT).round().clamp(-128.0, 127.0);
            prop_assert!((f64::from(q) - want).abs() <= 1.0, "{i}: {q} vs {want}");
        }
    }

    /// LOGISTIC and TANH: within one step of the real function.
    #[test]
    fn logistic_and_tanh_i8_are_within_one_step(inp in params(), q in any::<i8>()) {
        let x = f64::from(dequantize(q, inp));
        let s = steps(1.0 / (1.0 + (-x).exp()), LogisticI8::OUTPUT).round().clamp(-128.0, 127.0);
        prop_assert!((f64::from(LogisticI8::new(inp).apply(q)) - s).abs() <= 1.0);
        let t = steps(x.tanh(), TanhI8::OUTPUT).round().clamp(-128.0, 127.0);
        prop_assert!((f64::from(TanhI8::new(inp).apply(q)) - t).abs() <= 1.0);
    }

    /// RELU between two quantizations: the requantized value, floored at the output zero point.
    #[test]
    fn relu_i8_is_within_one_step(a in params(), b in params(), q in any::<i8>()) {
        let Ok(r) = ReluI8::new(a, b) else { return Ok(()) };
        let x = f64::from(dequantize(q, a)).max(0.0);
        let want = steps(x, b).round().clamp(f64::from(b.zero_point()), 127.0);
        prop_assert!((f64::from(r.apply(q)) - want).abs() <= 1.0);
    }
}

/// The f32-built tables of `quant::lut` (desktop TFLite's LUT) against the exact integer
/// kernels (TFLite Micro) over 2000 input scales × 4 zero points: where they differ, by one step.
#[test]
fn f32_tables_differ_from_the_integer_kernels_by_at_most_one_step() {
    let (mut differ, mut total) = (0usize, 0usize);
    for i in 0..2000 {
        let s = 1e-3f32 * 1.0035f32.powi(i);
        for zp in [-128, -3, 0, 77] {
            let inp = QuantParams::new(s, zp).unwrap();
            let exact = [LogisticI8::new(inp).table(), TanhI8::new(inp).table()];
            let lut = [
                sigmoid_table(inp, LogisticI8::OUTPUT),
                tanh_table(inp, TanhI8::OUTPUT),
            ];
            for (e, l) in exact.iter().zip(&lut) {
                for (a, b) in e.iter().zip(l) {
                    assert!(
                        (i32::from(*a) - i32::from(*b)).abs() <= 1,
                        "scale {s} zp {zp}"
                    );
                    differ += usize::from(a != b);
                    total += 1;
                }
            }
        }
    }
    println!("f32 tables vs integer kernels: {differ} of {total} entries differ by one step");
    assert!(differ * 1000 < total, "{differ} of {total}");
}

#[test]
fn int8_ops_by_hand() {
    // ADD with ReLU: 0.1 · (−50) + 0.1 · 20 = −3 → clamped at the output zero point.
    let p = QuantParams::new(0.1, 0).unwrap();
    let add = AddParamsI8::new(p, p, p, ActivationRange::relu(p)).unwrap();
    let mut y = [0i8; 2];
    add_i8(&add, &[-50, 30], &[20, 20], &mut y).unwrap();
    assert_eq!(y, [0, 50]);
    // Softmax of two equal values: ½ each = 128 steps of 1/256 → 0.
    let sm = SoftmaxI8::new(0.1, 1.0).unwrap();
    let mut y = [0i8; 4];
    softmax_i8(&sm, 2, &[5, 5, 127, -128], &mut y).unwrap();
    assert_eq!(&y[..2], &[0, 0]);
    // 25.5 apart at scale 0.1: e^−25.5 vanishes; the maximum gets 255/256 (saturated to 127).
    assert_eq!(&y[2..], &[127, -128]);
    // Mean of 1..=4 at equal scales: 2.5 → 3 (away from zero).
    let mp = MeanParamsI8::new(p, p, 4).unwrap();
    let mut m = [0i8; 1];
    mean_hw_i8([2, 2, 1], &[1, 2, 3, 4], &mp, &mut m).unwrap();
    assert_eq!(m, [3]);
}

#[test]
fn f32_ops_match_their_formulas() {
    let a = pseudo_random(24, 1);
    let b = pseudo_random(24, 2);
    let mut y = vec![0.0; 24];
    add_f32(&a, &b, Activation::Relu, &mut y).unwrap();
    for i in 0..24 {
        assert_eq!(y[i], (a[i] + b[i]).max(0.0));
    }
    let mut m = [0.0f32; 4];
    mean_hw_f32([2, 3, 4], &a, &mut m).unwrap();
    for c in 0..4 {
        let want: f32 = (0..6).map(|i| a[i * 4 + c]).sum::<f32>() / 6.0;
        assert!((m[c] - want).abs() < 1e-6);
    }
    let mut s = vec![0.0; 24];
    softmax_f32(2.0, 6, &a, &mut s).unwrap();
    for row in s.chunks(6) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
    let mut l = vec![0.0; 24];
    logistic_f32(&a, &mut l).unwrap();
    tanh_f32(&a, &mut y).unwrap();
    for i in 0..24 {
        let x = f64::from(a[i]);
        assert!((f64::from(l[i]) - 1.0 / (1.0 + (-x).exp())).abs() < 1e-6);
        assert!((f64::from(y[i]) - x.tanh()).abs() < 1e-6);
    }
}

#[test]
fn shape_ops() {
    // Pad channels too: [1][1][2] → [1][2][4] with one column after and a channel each side.
    let mut y = [0.0f32; 8];
    pad(
        [1, 1, 2],
        [(0, 0), (0, 1), (1, 1)],
        9.0,
        &[1.0, 2.0],
        &mut y,
    )
    .unwrap();
    assert_eq!(y, [9.0, 1.0, 2.0, 9.0, 9.0, 9.0, 9.0, 9.0]);
    // Concatenate along W of [2][1][2] and [2][2][2] (outer = H = 2).
    let mut c = [0; 12];
    concatenate(2, &[&[1, 2, 3, 4], &[5, 6, 7, 8, 9, 10, 11, 12]], &mut c).unwrap();
    assert_eq!(c, [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12]);
    // Requantized concatenation saturates.
    let big = QuantParams::new(1.0, 0).unwrap();
    let small = QuantParams::new(0.1, 0).unwrap();
    let mut q = [0i8; 2];
    concatenate_i8(1, &[(&[100], big), (&[-3], small)], small, &mut q).unwrap();
    assert_eq!(q, [127, -3]);
    let mut r = [0u8; 3];
    reshape(&[1u8, 2, 3], &mut r).unwrap();
    assert_eq!(r, [1, 2, 3]);
    let t = [[[1u8, 2]], [[3, 4]]];
    assert_eq!(flatten::<u8, 2, 1, 2, 4>(&t), &[1, 2, 3, 4]);
}

#[test]
fn errors_are_reported() {
    let p = QuantParams::new(0.1, 0).unwrap();
    let add = AddParamsI8::new(p, p, p, ActivationRange::none()).unwrap();
    assert!(matches!(
        add_i8(&add, &[0; 3], &[0; 2], &mut [0; 3]),
        Err(Error::LengthMismatch { what: "b", .. })
    ));
    assert!(matches!(
        add_f32(&[0.0; 3], &[0.0; 3], Activation::Identity, &mut [0.0; 2]),
        Err(Error::LengthMismatch { what: "output", .. })
    ));
    // Output scale too small for ADD's fixed point: TFLite aborts, here an error.
    let tiny = QuantParams::new(1e-9, 0).unwrap();
    assert!(AddParamsI8::new(p, p, tiny, ActivationRange::none()).is_err());
    let mp = MeanParamsI8::new(p, p, 4).unwrap();
    assert!(matches!(
        mean_hw_i8([2, 3, 1], &[0; 6], &mp, &mut [0]),
        Err(Error::LengthMismatch { what: "count", .. })
    ));
    assert!(MeanParamsI8::new(p, p, 0).is_err());
    assert!(matches!(
        mean_hw_f32([0, 3, 1], &[], &mut [0.0]),
        Err(Error::InvalidGeometry(_))
    ));
    let sm = SoftmaxI8::new(0.1, 1.0).unwrap();
    assert_eq!(softmax_i8(&sm, 0, &[], &mut []), Err(Error::Empty));
    assert!(matches!(
        softmax_i8(&sm, 3, &[0; 4], &mut [0; 4]),
        Err(Error::LengthMismatch { what: "input", .. })
    ));
    assert_eq!(
        softmax_f32(1.0, 2, &[0.0, f32::NAN], &mut [0.0; 2]),
        Err(Error::NonFinite)
    );
    // β · s_in · 2^26 ≤ 1: TFLite aborts.
    assert!(SoftmaxI8::new(1e-9, 1.0).is_err());
    assert!(matches!(
        pad([1, 2, 1], [(0, 0); 3], 0i8, &[0; 3], &mut [0; 2]),
        Err(Error::LengthMismatch { what: "input", .. })
    ));
    assert!(matches!(
        pad(
            [1, 1, 1],
            [(usize::MAX, 1), (0, 0), (0, 0)],
            0i8,
            &[0],
            &mut [0]
        ),
        Err(Error::InvalidGeometry(_))
    ));
    assert!(matches!(
        concatenate(2, &[&[0; 3]], &mut [0; 3]),
        Err(Error::InvalidGeometry(_))
    ));
    assert!(matches!(
        concatenate(0, &[&[0; 3]], &mut [0; 3]),
        Err(Error::InvalidGeometry(_))
    ));
    assert!(matches!(
        reshape(&[0; 3], &mut [0; 4]),
        Err(Error::LengthMismatch { .. })
    ));
}

/// Batch norm folded into the filters equals batch norm applied after the convolution.
#[test]
fn batchnorm_folding_matches_the_unfolded_computation() {
    let (cin, cout) = (3, 4);
    let g = Conv2dGeometry::new([6, 5, cin], cout, [3, 3]).with_padding(Padding::uniform(1));
    let d = g.dims().unwrap();
    let x = pseudo_random(d.input_len, 3);
    let w = pseudo_random(d.weights_len, 4);
    let b = pseudo_random(cout, 5);
    let gamma = [0.5, 1.5, -0.7, 2.0];
    let beta = [0.1, -0.2, 0.3, 0.0];
    let mean = [0.05, -0.4, 0.2, 1.0];
    let variance = [0.3, 2.0, 0.01, 0.7];
    let bn = BatchNorm {
        gamma: &gamma,
        beta: &beta,
        mean: &mean,
        variance: &variance,
        epsilon: 1e-3,
    };
    let bn_apply = |y: &mut [f32]| {
        for (i, v) in y.iter_mut().enumerate() {
            let o = i % cout;
            let k = f64::from(gamma[o]) / (f64::from(variance[o]) + 1e-3f64).sqrt();
            *v = ((f64::from(*v) - f64::from(mean[o])) * k + f64::from(beta[o])) as f32;
        }
    };
    let close = |got: &[f32], want: &[f32]| {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()) * 20.0, "{g} vs {w}");
        }
    };
    // Convolution.
    let mut want = vec![0.0; d.output_len];
    conv::reference::conv2d_f32(
        &g,
        &x,
        &w,
        Some(&b),
        Activation::Identity,
        &mut [],
        &mut want,
    )
    .unwrap();
    bn_apply(&mut want);
    let (mut wf, mut bf) = (w.clone(), b.clone());
    bn.fold_conv2d_f32(&mut wf, &mut bf).unwrap();
    let mut got = vec![0.0; d.output_len];
    conv::reference::conv2d_f32(
        &g,
        &x,
        &wf,
        Some(&bf),
        Activation::Identity,
        &mut [],
        &mut got,
    )
    .unwrap();
    close(&got, &want);
    // Depthwise, multiplier 2 (out channels = 2 · 2).
    let gd = Conv2dGeometry::depthwise([6, 5, 2], 2, [3, 3]).with_padding(Padding::uniform(1));
    let dd = gd.depthwise_dims().unwrap();
    let xd = pseudo_random(dd.input_len, 6);
    let wd = pseudo_random(dd.weights_len, 7);
    let mut want = vec![0.0; dd.output_len];
    dw_reference::depthwise_conv2d_f32(
        &gd,
        &xd,
        &wd,
        Some(&b),
        Activation::Identity,
        &mut [],
        &mut want,
    )
    .unwrap();
    bn_apply(&mut want);
    let (mut wf, mut bf) = (wd.clone(), b.clone());
    bn.fold_depthwise_f32(&mut wf, &mut bf).unwrap();
    let mut got = vec![0.0; dd.output_len];
    dw_reference::depthwise_conv2d_f32(
        &gd,
        &xd,
        &wf,
        Some(&bf),
        Activation::Identity,
        &mut [],
        &mut got,
    )
    .unwrap();
    close(&got, &want);
    // Errors: lengths, a non-positive variance.
    assert!(matches!(
        bn.fold_conv2d_f32(&mut [0.0; 7], &mut [0.0; 4]),
        Err(Error::LengthMismatch {
            what: "weights",
            ..
        })
    ));
    assert!(matches!(
        bn.fold_conv2d_f32(&mut [0.0; 8], &mut [0.0; 3]),
        Err(Error::LengthMismatch { what: "bias", .. })
    ));
    let bad = BatchNorm {
        variance: &[0.3, -5.0, 0.01, 0.7],
        ..bn
    };
    assert_eq!(
        bad.fold_conv2d_f32(&mut [0.0; 8], &mut [0.0; 4]),
        Err(Error::NonFinite)
    );
}

/// Conv1d equals the 2-D reference at height 1, with every algorithm.
#[test]
fn conv1d_equals_conv2d_of_height_one() {
    static W: [[[f32; 3]; 4]; 5] = {
        let mut w = [[[0.0f32; 3]; 4]; 5];
        let mut i = 0;
        while i < 60 {
            w[i / 12][(i / 3) % 4][i % 3] = ((i * 7 % 11) as f32 - 5.0) / 8.0;
            i += 1;
        }
        w
    };
    static B: [f32; 5] = [0.1, -0.2, 0.3, 0.0, 0.5];
    type C<'a> = Conv1d<'a, 3, 5, 4, 2, 1, 2, 1>; // K = 4, stride 2, padding (1, 2)
    let x: [[f32; 3]; 17] =
        core::array::from_fn(|i| core::array::from_fn(|c| ((i * 3 + c) % 5) as f32 - 2.0));
    let g = C::geometry(17);
    let d = g.dims().unwrap();
    assert_eq!((d.out_h, d.out_w), (1, C::out_w(17)));
    let mut want = vec![0.0; d.output_len];
    conv::reference::conv2d_f32(
        &g,
        x.as_flattened(),
        W.as_flattened().as_flattened(),
        Some(&B),
        Activation::Relu,
        &mut [],
        &mut want,
    )
    .unwrap();
    for k in Conv2dF32Kernel::ALL {
        if !k.supports(&g) {
            assert!(matches!(C::pack(k, &W), Err(Error::InvalidGeometry(_))));
            continue;
        }
        let packed = C::pack(k, &W).unwrap();
        let layer = C::new(&packed, &B).with_activation(Activation::Relu);
        let mut scratch = vec![0.0; layer.scratch_len(17)];
        let mut y = [[0.0f32; 5]; 9];
        layer.forward(&x, &mut y, &mut scratch).unwrap();
        if k == Conv2dF32Kernel::Reference {
            assert_eq!(y.as_flattened(), want.as_slice());
        } else {
            common::assert_close(k.name(), y.as_flattened(), &want, &vec![10.0; want.len()]);
        }
    }
}
