//! Depthwise convolution: every kernel equals the reference (int8 bit for bit; f32 `scalar`
//! exactly, `simd` within a stated tolerance) on random geometry, data and parameters; named
//! edge cases; packing is a permutation; errors; the typed layers; kernel selection.
//!
//! Run the scalar (Cortex-M) selection on the host with
//! `RUSTFLAGS="--cfg tinyconv_scalar_kernels" cargo test --release --test depthwise`.

mod common;

use common::int8::{QuantLayer, assert_same, input_i8, quant_layer, random_i8, weights_i8};
use common::pseudo_random;
use proptest::prelude::*;
use tinyconv::depthwise::{
    DepthwiseConv2d, DepthwiseConv2dI8, DepthwiseF32Kernel, DepthwiseI8Kernel, reference,
};
use tinyconv::quant::{ActivationRange, LayerParamsI8, QuantizedMultiplier, Rounding};
use tinyconv::{Activation, Conv2dGeometry, Error, Padding, Tensor};

/// `|simd − reference| ≤ F32_REL_TOL · (|b| + Σ|w·x|) + F32_ABS_TOL`: the SIMD kernel uses FMA,
/// the reference separate multiplies and adds, in the same order; at most `taps + 1` roundings
/// of `2^-24` each apart (taps ≤ 25 here).
const F32_REL_TOL: f32 = 1e-5;
const F32_ABS_TOL: f32 = 1e-6;

/// Random depthwise geometry: 1..=40 input channels (full 16-lane blocks and tails), multiplier
/// 1..=3, sizes 1..=12, kernel 1..=5 per side, stride 1..=3, dilation 1..=2, padding 0..kernel.
fn depthwise_geometry() -> impl Strategy<Value = Conv2dGeometry> {
    (
        (1usize..=40, 1usize..=3, 1usize..=12, 1usize..=12),
        (
            1usize..=5,
            1usize..=5,
            1usize..=3,
            1usize..=3,
            1usize..=2,
            1usize..=2,
        ),
    )
        .prop_flat_map(|((c, m, h, w), (kh, kw, sh, sw, dh, dw))| {
            (0..kh, 0..kh, 0..kw, 0..kw).prop_map(move |(pt, pb, pl, pr)| {
                Conv2dGeometry::depthwise([h, w, c], m, [kh, kw])
                    .with_stride([sh, sw])
                    .with_dilation([dh, dw])
                    .with_padding(Padding::new(pt, pb, pl, pr))
            })
        })
        .prop_filter("kernel must fit the padded input", |g| {
            g.depthwise_dims().is_ok()
        })
}

/// Output pixels whose whole window lies inside the image, by brute force.
fn interior_pixels(g: &Conv2dGeometry) -> usize {
    let d = g.depthwise_dims().unwrap();
    let inside = |o: usize, k: usize, s: usize, dil: usize, p: usize, n: usize| {
        (0..k).all(|t| {
            let pos = o * s + t * dil;
            pos >= p && pos - p < n
        })
    };
    let rows = (0..d.out_h)
        .filter(|&y| {
            inside(
                y,
                g.kernel_h,
                g.stride_h,
                g.dilation_h,
                g.padding.top,
                g.in_h,
            )
        })
        .count();
    let cols = (0..d.out_w)
        .filter(|&x| {
            inside(
                x,
                g.kernel_w,
                g.stride_w,
                g.dilation_w,
                g.padding.left,
                g.in_w,
            )
        })
        .count();
    rows * cols
}

/// Runs every int8 kernel over its own packing of the canonical filters `w` and asserts that
/// each equals the reference exactly, and that the fast kernels covered every pixel through
/// their interior or border path. Returns the reference output.
fn check_depthwise_i8(g: &Conv2dGeometry, x: &[i8], w: &[i8], p: &LayerParamsI8<'_>) -> Vec<i8> {
    let d = g.depthwise_dims().unwrap();
    let mut want = vec![0i8; d.output_len];
    reference::depthwise_conv2d_i8(g, x, w, p, &mut [], &mut want).unwrap();
    for k in DepthwiseI8Kernel::ALL {
        let mut packed = vec![0i8; w.len()];
        k.pack(g, w, &mut packed).unwrap();
        let mut scratch = vec![0x5555i16; k.scratch_len(g)];
        let mut got = vec![0x55i8; d.output_len];
        let stats = k.run(g, x, &packed, p, &mut scratch, &mut got).unwrap();
        assert_same(&format!("{}, {g:?}", k.name()), &got, &want);
        if k != DepthwiseI8Kernel::Reference {
            assert_eq!(stats.interior_pixels, interior_pixels(g), "{stats:?}");
            assert_eq!(
                stats.interior_pixels + stats.border_pixels,
                d.out_h * d.out_w
            );
        }
    }
    want
}

/// As [`check_depthwise_i8`] for f32: `scalar` exactly (same summation order as the
/// reference), `simd` within the tolerance above.
fn check_depthwise_f32(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    act: Activation,
) -> Vec<f32> {
    let d = g.depthwise_dims().unwrap();
    let mut want = vec![0.0; d.output_len];
    reference::depthwise_conv2d_f32(g, x, w, b, act, &mut [], &mut want).unwrap();
    // |b| + Σ|w·x| per output, by the reference on absolute values.
    let ax: Vec<f32> = x.iter().map(|v| v.abs()).collect();
    let aw: Vec<f32> = w.iter().map(|v| v.abs()).collect();
    let ab: Option<Vec<f32>> = b.map(|b| b.iter().map(|v| v.abs()).collect());
    let mut mag = vec![0.0; d.output_len];
    reference::depthwise_conv2d_f32(
        g,
        &ax,
        &aw,
        ab.as_deref(),
        Activation::Identity,
        &mut [],
        &mut mag,
    )
    .unwrap();
    for k in DepthwiseF32Kernel::ALL {
        let mut packed = vec![f32::NAN; w.len()];
        k.pack(g, w, &mut packed).unwrap();
        let mut got = vec![f32::NAN; d.output_len];
        let stats = k.run(g, x, &packed, b, act, &mut [], &mut got).unwrap();
        if k == DepthwiseF32Kernel::Simd {
            for (i, ((&gv, &wv), &m)) in got.iter().zip(&want).zip(&mag).enumerate() {
                let tol = F32_REL_TOL * m + F32_ABS_TOL;
                assert!(
                    (gv - wv).abs() <= tol,
                    "simd, {g:?}: element {i}: got {gv}, reference {wv}, tolerance {tol}"
                );
            }
        } else {
            assert_eq!(got, want, "{}, {g:?}", k.name());
        }
        if k != DepthwiseF32Kernel::Reference {
            assert_eq!(stats.interior_pixels, interior_pixels(g), "{stats:?}");
        }
    }
    want
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn int8_kernels_match_reference_bit_exactly(
        (g, layer) in depthwise_geometry().prop_flat_map(|g| {
            let d = g.depthwise_dims().unwrap();
            (Just(g), quant_layer(g.out_c, d.taps))
        }),
        seed in any::<u64>(),
        extreme in any::<bool>(),
    ) {
        let d = g.depthwise_dims().unwrap();
        let x = input_i8(d.input_len, seed, extreme);
        let w = weights_i8(d.weights_len, seed ^ 1, extreme);
        check_depthwise_i8(&g, &x, &w, &layer.params());
    }

    #[test]
    fn f32_kernels_match_reference(
        g in depthwise_geometry(),
        seed in any::<u64>(),
        with_bias in any::<bool>(),
        act in prop_oneof![Just(Activation::Identity), Just(Activation::Relu), Just(Activation::Relu6)],
    ) {
        let d = g.depthwise_dims().unwrap();
        let x = pseudo_random(d.input_len, seed);
        let w = pseudo_random(d.weights_len, seed ^ 7);
        let b = pseudo_random(g.out_c, seed ^ 9);
        check_depthwise_f32(&g, &x, &w, with_bias.then_some(b.as_slice()), act);
    }

    #[test]
    fn packing_is_a_permutation(g in depthwise_geometry()) {
        // Distinct values: every kernel's packing keeps each exactly once.
        let d = g.depthwise_dims().unwrap();
        let w: Vec<f32> = (0..d.weights_len).map(|i| i as f32).collect();
        for k in DepthwiseF32Kernel::ALL {
            let mut packed = vec![-1.0; w.len()];
            k.pack(&g, &w, &mut packed).unwrap();
            let mut sorted = packed.clone();
            sorted.sort_by(f32::total_cmp);
            prop_assert_eq!(&sorted, &w, "{}", k.name());
        }
    }
}

/// Typical parameters for `out_c` outputs: zero points −3 → 5, multipliers around 1/300, bias.
fn typical(out_c: usize) -> QuantLayer {
    QuantLayer {
        input_zero_point: -3,
        output_zero_point: 5,
        multipliers: (0..out_c)
            .map(|o| tinyconv::quant::quantize_multiplier(1.0 / (300.0 + 7.0 * o as f64)).unwrap())
            .collect(),
        bias: Some(common::int8::random_i32(out_c, 7, 20_000)),
        range: ActivationRange::none(),
        rounding: Rounding::Double,
    }
}

/// Named edge cases (XNNPACK style): random data, typical parameters.
fn case(g: Conv2dGeometry) {
    let d = g.depthwise_dims().expect("valid geometry");
    let x = random_i8(d.input_len, 11, i8::MIN, i8::MAX);
    let w = random_i8(d.weights_len, 12, -127, 127);
    let layer = typical(g.out_c);
    check_depthwise_i8(&g, &x, &w, &layer.params());
    let xf: Vec<f32> = x.iter().map(|&v| f32::from(v) / 64.0).collect();
    let wf: Vec<f32> = w.iter().map(|&v| f32::from(v) / 64.0).collect();
    let bf = pseudo_random(g.out_c, 3);
    check_depthwise_f32(&g, &xf, &wf, Some(&bf), Activation::Relu6);
}

#[test]
fn ds_cnn_3x3_same_25x5x64() {
    case(Conv2dGeometry::depthwise([25, 5, 64], 1, [3, 3]).with_same_padding());
}

#[test]
fn mobilenet_3x3_stride2_same_on_odd_size() {
    // TensorFlow's SAME on 15×15 with stride 2: padding 1 on each side (total 2).
    let g = Conv2dGeometry::depthwise([15, 15, 32], 1, [3, 3])
        .with_stride([2, 2])
        .with_same_padding();
    assert_eq!(g.padding, Padding::uniform(1));
    case(g);
    // On 16×16 with stride 2 the odd pixel goes bottom/right: padding (0, 1, 0, 1).
    let g = Conv2dGeometry::depthwise([16, 16, 24], 1, [3, 3])
        .with_stride([2, 2])
        .with_same_padding();
    assert_eq!(g.padding, Padding::new(0, 1, 0, 1));
    case(g);
}

#[test]
fn channels_eq_lanes_and_tail() {
    for c in [1, 15, 16, 17, 31, 32, 33] {
        case(Conv2dGeometry::depthwise([6, 9, c], 1, [3, 3]).with_padding(Padding::uniform(1)));
    }
}

#[test]
fn depth_multiplier_gt_1() {
    case(Conv2dGeometry::depthwise([7, 6, 3], 4, [3, 3]).with_same_padding());
    case(Conv2dGeometry::depthwise([5, 5, 20], 2, [2, 3]).with_padding(Padding::new(1, 0, 2, 1)));
}

#[test]
fn dilation_and_asymmetric_padding() {
    case(
        Conv2dGeometry::depthwise([11, 13, 18], 1, [3, 3])
            .with_dilation([2, 3])
            .with_padding(Padding::new(2, 0, 3, 1)),
    );
}

#[test]
fn kernel_larger_than_input_and_one_by_one() {
    case(Conv2dGeometry::depthwise([2, 3, 5], 1, [5, 5]).with_padding(Padding::uniform(2)));
    case(Conv2dGeometry::depthwise([4, 4, 20], 1, [1, 1]));
    case(Conv2dGeometry::depthwise([1, 1, 16], 1, [1, 1]));
}

#[test]
fn row_of_interior_pixels_not_a_multiple_of_four() {
    // 3 and 5 and 6 interior pixels per row: blocks of 4 plus single pixels.
    for w in [5, 7, 8] {
        case(Conv2dGeometry::depthwise([4, w, 16], 1, [3, 3]).with_padding(Padding::uniform(1)));
    }
}

#[test]
fn single_rounding_and_fused_ranges() {
    let g = Conv2dGeometry::depthwise([6, 6, 20], 1, [3, 3]).with_same_padding();
    let d = g.depthwise_dims().unwrap();
    let x = random_i8(d.input_len, 5, i8::MIN, i8::MAX);
    let w = random_i8(d.weights_len, 6, -127, 127);
    let mut layer = typical(g.out_c);
    for (rounding, range) in [
        (Rounding::Single, ActivationRange::none()),
        (Rounding::Double, ActivationRange::new(-20, 30).unwrap()),
        (Rounding::Single, ActivationRange::new(5, 5).unwrap()),
    ] {
        layer.rounding = rounding;
        layer.range = range;
        let y = check_depthwise_i8(&g, &x, &w, &layer.params());
        assert!(y.iter().all(|&v| v >= range.min() && v <= range.max()));
    }
    // Per-tensor multiplier, no bias.
    layer.multipliers.truncate(1);
    layer.bias = None;
    check_depthwise_i8(&g, &x, &w, &layer.params());
}

#[test]
fn int8_by_hand() {
    // 3×3 input of one channel, 3×3 filter of ones, padding 1, zero point −1, multiplier 1:
    // out = Σ over the window inside the image of (x + 1).
    let g = Conv2dGeometry::depthwise([3, 3, 1], 1, [3, 3]).with_padding(Padding::uniform(1));
    let x = [0i8, 1, 2, 3, 4, 5, 6, 7, 8]; // x + 1 = 1..=9
    let w = [1i8; 9];
    let m = [QuantizedMultiplier::ONE];
    let p = LayerParamsI8::new(-1, 0, &m, None);
    let y = check_depthwise_i8(&g, &x, &w, &p);
    // Corner (0,0): 1 + 2 + 4 + 5 = 12; centre: 45; (2,2): 5 + 6 + 8 + 9 = 28.
    assert_eq!((y[0], y[4], y[8]), (12, 45, 28));
}

#[test]
fn errors_are_reported() {
    let g = Conv2dGeometry::depthwise([4, 4, 3], 1, [3, 3]);
    let m = [QuantizedMultiplier::ONE];
    let p = LayerParamsI8::new(0, 0, &m, None);
    // out_c not a multiple of in_c.
    let bad = Conv2dGeometry::new([4, 4, 3], 4, [3, 3]);
    assert!(matches!(
        bad.depthwise_dims(),
        Err(Error::InvalidGeometry(_))
    ));
    for k in DepthwiseI8Kernel::ALL {
        let mut y = [0i8; 12];
        assert!(matches!(
            k.run(&bad, &[0; 48], &[0; 36], &p, &mut [], &mut y),
            Err(Error::InvalidGeometry(_))
        ));
        // Wrong lengths, each named.
        let mut y = [0i8; 2 * 2 * 3];
        assert_eq!(
            k.run(&g, &[0; 47], &[0; 27], &p, &mut [], &mut y),
            Err(Error::LengthMismatch {
                what: "input",
                expected: 48,
                actual: 47
            })
        );
        assert_eq!(
            k.run(&g, &[0; 48], &[0; 28], &p, &mut [], &mut y),
            Err(Error::LengthMismatch {
                what: "weights",
                expected: 27,
                actual: 28
            })
        );
        let mut short = [0i8; 11];
        assert_eq!(
            k.run(&g, &[0; 48], &[0; 27], &p, &mut [], &mut short),
            Err(Error::LengthMismatch {
                what: "output",
                expected: 12,
                actual: 11
            })
        );
        // A bias beyond the accumulator bound.
        let huge = [i32::MAX; 3];
        let p2 = LayerParamsI8 {
            bias: Some(&huge),
            ..p
        };
        assert_eq!(
            k.run(&g, &[0; 48], &[0; 27], &p2, &mut [], &mut y),
            Err(Error::AccumulatorOverflow)
        );
        // Pack: wrong buffer lengths.
        let mut packed = [0i8; 26];
        assert!(matches!(
            k.pack(&g, &[0; 27], &mut packed),
            Err(Error::LengthMismatch { .. })
        ));
    }
    for k in DepthwiseF32Kernel::ALL {
        let mut y = [0.0f32; 12];
        assert!(matches!(
            k.run(
                &g,
                &[0.0; 48],
                &[0.0; 27],
                Some(&[0.0; 2]),
                Activation::Identity,
                &mut [],
                &mut y
            ),
            Err(Error::LengthMismatch { what: "bias", .. })
        ));
    }
}

#[test]
fn selection_follows_the_target() {
    let g = Conv2dGeometry::depthwise([25, 5, 64], 1, [3, 3]).with_same_padding();
    let scalar = cfg!(tinyconv_scalar_kernels) || !cfg!(target_feature = "sse2");
    let (want_i8, want_f32) = if scalar {
        (DepthwiseI8Kernel::Scalar, DepthwiseF32Kernel::Scalar)
    } else {
        (DepthwiseI8Kernel::Simd, DepthwiseF32Kernel::Simd)
    };
    assert_eq!(DepthwiseI8Kernel::select(&g), want_i8);
    assert_eq!(DepthwiseF32Kernel::select(&g), want_f32);
    for k in DepthwiseI8Kernel::ALL {
        assert_eq!(k.scratch_len(&g), 0);
    }
}

#[test]
fn typed_layers_match_the_runtime_kernels() {
    type L = DepthwiseConv2dI8<'static, 3, 6, 3, 3, 2, 2, 1, 1, 1, 1>;
    const CANON: [[[i8; 6]; 3]; 3] = {
        let mut w = [[[0i8; 6]; 3]; 3];
        let mut i = 0;
        while i < 54 {
            w[i / 18][(i / 6) % 3][i % 6] = ((i * 37 % 255) as i32 - 127) as i8 / 2;
            i += 1;
        }
        w
    };
    const K: DepthwiseI8Kernel = DepthwiseI8Kernel::select(&L::geometry(9, 9));
    static PACKED: [[[i8; 6]; 3]; 3] = L::pack(K, &CANON);
    static B: [i32; 6] = [100, -200, 300, 0, 5, -5];
    static M: [QuantizedMultiplier; 6] = [QuantizedMultiplier::ONE; 6];
    const LAYER: L = match L::new(K, &PACKED, &B, &M, 4, -2) {
        Ok(l) => l.with_range(ActivationRange::none()),
        Err(_) => panic!(),
    };
    let x: Tensor<i8, 9, 9, 3> = core::array::from_fn(|y| {
        core::array::from_fn(|xx| {
            core::array::from_fn(|c| ((y * 31 + xx * 7 + c * 3) % 60) as i8 - 30)
        })
    });
    let mut y: Tensor<i8, 5, 5, 6> = Default::default();
    LAYER.forward::<9, 9, 5, 5>(&x, &mut y);
    let g = L::geometry(9, 9);
    let mut want = vec![0i8; 5 * 5 * 6];
    reference::depthwise_conv2d_i8(
        &g,
        x.as_flattened().as_flattened(),
        CANON.as_flattened().as_flattened(),
        &LAYER.params(),
        &mut [],
        &mut want,
    )
    .unwrap();
    assert_same("typed int8", y.as_flattened().as_flattened(), &want);

    type F = DepthwiseConv2d<'static, 3, 6, 3, 3, 2, 2, 1, 1, 1, 1>;
    const CANON_F: [[[f32; 6]; 3]; 3] = {
        let mut w = [[[0.0f32; 6]; 3]; 3];
        let mut i = 0;
        while i < 54 {
            w[i / 18][(i / 6) % 3][i % 6] = CANON[i / 18][(i / 6) % 3][i % 6] as f32 / 64.0;
            i += 1;
        }
        w
    };
    static PACKED_F: [[[f32; 6]; 3]; 3] = F::pack(DepthwiseF32Kernel::Scalar, &CANON_F);
    static BF: [f32; 6] = [0.5, -0.5, 1.0, 0.0, 0.25, -0.25];
    let layer =
        F::new(DepthwiseF32Kernel::Scalar, &PACKED_F, &BF).with_activation(Activation::Relu);
    let xf: Tensor<f32, 9, 9, 3> = x.map(|r| r.map(|p| p.map(|v| f32::from(v) / 16.0)));
    let mut yf: Tensor<f32, 5, 5, 6> = Default::default();
    layer.forward::<9, 9, 5, 5>(&xf, &mut yf);
    let mut want = vec![0.0f32; 5 * 5 * 6];
    reference::depthwise_conv2d_f32(
        &g,
        xf.as_flattened().as_flattened(),
        CANON_F.as_flattened().as_flattened(),
        Some(&BF),
        Activation::Relu,
        &mut [],
        &mut want,
    )
    .unwrap();
    assert_eq!(yf.as_flattened().as_flattened(), want.as_slice());
}
