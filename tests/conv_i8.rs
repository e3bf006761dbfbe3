//! int8 convolution: `im2col` and `direct` are bit-exact with `reference` for random geometry,
//! data, scales and zero points; named edge cases; the accumulator bound; errors; the typed
//! layer; int8 against f32.

mod common;

use common::int8::{
    QuantLayer, assert_same, check_conv2d_i8, conv_geometry, input_i8, quant_layer, random_i8,
    random_i32, weights_i8,
};
use proptest::prelude::*;
use tinyconv::conv::PackedFilters;
use tinyconv::conv::{direct, im2col, implicit_gemm, one_channel, pairs, reference, swar};
use tinyconv::error::const_expect;
use tinyconv::quant::{
    ActivationRange, LayerParamsI8, MAX_ABS_PRODUCT, QuantParams, QuantizedMultiplier, Rounding,
    dequantize, quantize, quantize_multiplier, requant_multiplier,
};
use tinyconv::{Activation, Conv2dGeometry, Conv2dI8, Conv2dI8Kernel, Error, Padding, Tensor};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fast_algorithms_match_reference_bit_exactly(
        (g, layer) in conv_geometry().prop_flat_map(|g| {
            let d = g.dims().unwrap();
            (Just(g), quant_layer(g.out_c, d.patch_len))
        }),
        seed in any::<u64>(),
        extreme in any::<bool>(),
    ) {
        let d = g.dims().unwrap();
        let x = input_i8(d.input_len, seed, extreme);
        let w = weights_i8(d.weights_len, seed ^ 1, extreme);
        check_conv2d_i8(&g, &x, &w, &layer.params());
    }
}

/// A layer with typical parameters: input zero point −3, output zero point 5, per-channel
/// multipliers around 1/1500, a bias, no activation.
fn typical(out_c: usize) -> QuantLayer {
    QuantLayer {
        input_zero_point: -3,
        output_zero_point: 5,
        multipliers: (0..out_c)
            .map(|o| quantize_multiplier(1.0 / (1500.0 + 37.0 * o as f64)).unwrap())
            .collect(),
        bias: Some(random_i32(out_c, 7, 20_000)),
        range: ActivationRange::none(),
        rounding: Rounding::Double,
    }
}

/// Named edge cases (XNNPACK style), as the f32 suite: random data, typical parameters.
fn case(g: Conv2dGeometry) -> Vec<i8> {
    let d = g.dims().expect("valid geometry");
    let x = random_i8(d.input_len, 11, i8::MIN, i8::MAX);
    let w = random_i8(d.weights_len, 12, -127, 127);
    check_conv2d_i8(&g, &x, &w, &typical(g.out_c).params())
}

#[test]
fn lenet_conv1() {
    case(Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2)));
}

#[test]
fn lenet_conv2() {
    case(Conv2dGeometry::new([14, 14, 6], 16, [5, 5]));
}

#[test]
fn patch_shorter_than_a_vector_and_odd() {
    // 2·3·1 = 6 values: odd kernel rows (3) padded to 4 in the im2col panel.
    case(Conv2dGeometry::new([5, 5, 1], 3, [2, 3]));
}

#[test]
fn pointwise_many_channels() {
    case(Conv2dGeometry::new([7, 9, 33], 17, [1, 1]));
}

#[test]
fn output_channels_around_the_16_filter_panel() {
    for cout in [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 32, 33] {
        case(Conv2dGeometry::new([6, 6, 3], cout, [3, 3]).with_padding(Padding::uniform(1)));
    }
}

#[test]
fn output_widths_around_the_6_pixel_block() {
    for w in 1..=14 {
        case(Conv2dGeometry::new([3, w, 2], 5, [3, 1]));
    }
}

#[test]
fn input_smaller_than_kernel_with_padding() {
    case(Conv2dGeometry::new([2, 1, 2], 3, [5, 4]).with_padding(Padding::new(2, 2, 3, 1)));
}

#[test]
fn asymmetric_padding_stride_dilation() {
    case(
        Conv2dGeometry::new([11, 13, 4], 6, [3, 2])
            .with_stride([2, 3])
            .with_dilation([2, 2])
            .with_padding(Padding::new(0, 3, 1, 0)),
    );
}

#[test]
fn dilated_rows_with_odd_channel_count() {
    // Horizontal dilation: one segment per tap of 3 channels, padded to 4.
    case(
        Conv2dGeometry::new([9, 9, 3], 4, [3, 3])
            .with_dilation([1, 2])
            .with_padding(Padding::uniform(2)),
    );
    // Vertical dilation only: kernel rows stay contiguous, no ring buffer.
    case(Conv2dGeometry::new([9, 9, 3], 4, [3, 3]).with_dilation([2, 1]));
}

#[test]
fn stride_two_rows_reload_the_buffer() {
    case(
        Conv2dGeometry::new([9, 10, 5], 7, [3, 3])
            .with_stride([2, 2])
            .with_same_padding(),
    );
}

#[test]
fn large_3x3() {
    case(Conv2dGeometry::new([16, 16, 32], 32, [3, 3]).with_padding(Padding::uniform(1)));
}

#[test]
fn padding_wider_than_input_gives_requantized_bias() {
    // Windows entirely in the padding: acc = bias, so out = requantize(bias) — the input
    // offset is never applied to padded taps.
    let g = Conv2dGeometry::new([1, 1, 1], 2, [1, 1]).with_padding(Padding::uniform(2));
    let m = [QuantizedMultiplier::ONE; 2];
    let p = LayerParamsI8::new(-100, 3, &m, Some(&[10, -20]));
    let mut y = [0i8; 5 * 5 * 2];
    reference::conv2d_i8(&g, &[50], &[7, 7], &p, &mut [], &mut y).unwrap();
    // Centre: 10 + (50 + 100)·7 = 1060 → 127 (clamped); −20 + 1050 → 127.
    assert_eq!(&y[24..26], &[127, 127]);
    // Everywhere else: 10 + 3 = 13 and −20 + 3 = −17.
    for (i, px) in y.chunks(2).enumerate() {
        if i != 12 {
            assert_eq!(px, [13, -17], "pixel {i}");
        }
    }
    check_conv2d_i8(&g, &[50], &[7, 7], &p);
}

#[test]
fn zero_points_at_the_ends_of_the_range() {
    let g = Conv2dGeometry::new([6, 7, 5], 9, [3, 3]).with_padding(Padding::uniform(1));
    let d = g.dims().unwrap();
    let x = random_i8(d.input_len, 3, i8::MIN, i8::MAX);
    let w = random_i8(d.weights_len, 4, -127, 127);
    for (izp, ozp) in [(-128, -128), (127, 127), (-128, 127), (127, -128), (0, 0)] {
        let mut l = typical(g.out_c);
        l.input_zero_point = izp;
        l.output_zero_point = ozp;
        check_conv2d_i8(&g, &x, &w, &l.params());
    }
}

#[test]
fn per_tensor_multiplier_equals_repeated_per_channel() {
    let g = Conv2dGeometry::new([8, 8, 4], 19, [3, 3]);
    let d = g.dims().unwrap();
    let x = random_i8(d.input_len, 5, i8::MIN, i8::MAX);
    let w = random_i8(d.weights_len, 6, -127, 127);
    let m = quantize_multiplier(0.0007).unwrap();
    let mut per_tensor = typical(g.out_c);
    per_tensor.multipliers = vec![m];
    let mut per_channel = per_tensor.clone();
    per_channel.multipliers = vec![m; g.out_c];
    let a = check_conv2d_i8(&g, &x, &w, &per_tensor.params());
    let b = check_conv2d_i8(&g, &x, &w, &per_channel.params());
    assert_same("per-tensor vs per-channel", &a, &b);
}

#[test]
fn single_rounding_and_fused_activations() {
    let g = Conv2dGeometry::new([7, 7, 6], 18, [3, 3]).with_padding(Padding::uniform(1));
    let d = g.dims().unwrap();
    let x = random_i8(d.input_len, 8, i8::MIN, i8::MAX);
    let w = random_i8(d.weights_len, 9, -127, 127);
    let out = QuantParams::new(0.05, 5).unwrap();
    for rounding in [Rounding::Double, Rounding::Single] {
        for range in [
            ActivationRange::none(),
            ActivationRange::relu(out),
            ActivationRange::relu6(out),
            ActivationRange::new(-3, -3).unwrap(),
        ] {
            let mut l = typical(g.out_c);
            l.rounding = rounding;
            l.range = range;
            let y = check_conv2d_i8(&g, &x, &w, &l.params());
            assert!(y.iter().all(|&v| (range.min()..=range.max()).contains(&v)));
        }
    }
}

#[test]
fn multipliers_of_one_half_and_more_use_the_left_shift() {
    // shift ≥ 1 (M ≥ 0.5): the saturating left shift of the vector output stage is exercised.
    let g = Conv2dGeometry::new([5, 5, 2], 20, [2, 2]);
    let d = g.dims().unwrap();
    let x = random_i8(d.input_len, 10, -4, 4);
    let w = random_i8(d.weights_len, 11, -3, 3);
    let mut l = typical(g.out_c);
    l.multipliers = (0..g.out_c)
        .map(|o| quantize_multiplier(0.5 + o as f64 * 0.37).unwrap())
        .collect();
    l.bias = Some(random_i32(g.out_c, 3, 40));
    let y = check_conv2d_i8(&g, &x, &w, &l.params());
    assert!(y.iter().any(|&v| v != -128 && v != 127), "all saturated");
}

// ---- the accumulator bound ----------------------------------------------------------------

/// `patch_len · 255 · 128 + |bias| ≤ i32::MAX` is tight: at the largest patch (65 793) with
/// extreme data every product is −255·128 (x = 127 against zero point −128, w = −128): the
/// accumulator reaches −2 147 483 520, one bias of −127 from i32::MIN, and all algorithms agree
/// (the test profile has overflow checks, so an overflow would panic). One more tap is refused.
#[test]
fn accumulator_bound_is_tight_and_enforced() {
    let max_patch = (i32::MAX as u64 / MAX_ABS_PRODUCT) as usize;
    assert_eq!(max_patch, 65_793);
    let m = [quantize_multiplier(1.0 / 16_777_216.0).unwrap()];
    // Kernel 3 × 1 × 21 931 (not 1×1, so im2col widens rows).
    let g = Conv2dGeometry::new([3, 1, max_patch / 3], 1, [3, 1]);
    assert_eq!(g.dims().unwrap().patch_len, max_patch);
    let x = vec![127i8; max_patch];
    let w = vec![-128i8; max_patch];
    let slack = i32::MAX as u64 - max_patch as u64 * MAX_ABS_PRODUCT;
    let bias = [-(slack as i32)];
    let p = LayerParamsI8::new(-128, 0, &m, Some(&bias));
    let y = check_conv2d_i8(&g, &x, &w, &p);
    // acc = −65 793 · 32 640 − 127 = −2 147 483 647 → · 2^-24 = −128.0000 → −128.
    assert_eq!(y, [-128]);

    let over = [-(slack as i32) - 1];
    let p = LayerParamsI8::new(-128, 0, &m, Some(&over));
    let mut out = [0i8; 1];
    let e = Err(Error::AccumulatorOverflow);
    for k in Conv2dI8Kernel::ALL.into_iter().filter(|k| k.supports(&g)) {
        let mut scratch = vec![0i16; k.scratch_len(&g)];
        let r = k.run(&g, &x, &w, &p, &mut scratch, &mut out);
        assert_eq!(r.map(|_| ()), e, "{}", k.name());
    }
    // One tap more, no bias.
    let g = Conv2dGeometry::new([1, 1, max_patch + 1], 1, [1, 1]);
    let x = vec![0i8; max_patch + 1];
    let p = LayerParamsI8::new(0, 0, &m, None);
    let r = reference::conv2d_i8(&g, &x, &x, &p, &mut [], &mut out);
    assert_eq!(r.map(|_| ()), e);
    assert_eq!(out, [0], "nothing written");
}

#[test]
fn invalid_parameters_are_errors_and_write_nothing() {
    let g = Conv2dGeometry::new([4, 4, 2], 3, [3, 3]);
    let (x, w) = ([1i8; 32], [1i8; 54]);
    let m3 = [QuantizedMultiplier::ONE; 3];
    let mut y = [9i8; 12];
    let mut s = vec![0i16; im2col::scratch_len_i8(&g)];
    type Run =
        fn(&Conv2dGeometry, &[i8], &[i8], &LayerParamsI8<'_>, &mut [i8]) -> Result<(), Error>;
    let runs: [Run; 7] = [
        |g, x, w, p, y| reference::conv2d_i8(g, x, w, p, &mut [], y).map(|_| ()),
        |g, x, w, p, y| direct::conv2d_i8(g, x, w, p, &mut [], y).map(|_| ()),
        |g, x, w, p, y| {
            let mut s = vec![0i16; im2col::scratch_len_i8(g)];
            im2col::conv2d_i8(g, x, w, p, &mut s, y).map(|_| ())
        },
        |g, x, w, p, y| {
            let mut s = vec![0i16; pairs::scratch_len_i8(g)];
            pairs::conv2d_i8(g, x, w, p, &mut s, y).map(|_| ())
        },
        |g, x, w, p, y| {
            let mut s = vec![0i16; implicit_gemm::scratch_len_i8(g)];
            implicit_gemm::conv2d_i8(g, x, w, p, &mut s, y).map(|_| ())
        },
        // Two input channels: one_channel refuses the shape, but only after the checks of
        // the arguments every kernel makes.
        |g, x, w, p, y| {
            let mut s = vec![0i16; one_channel::scratch_len_i8(g)];
            one_channel::conv2d_i8(g, x, w, p, &mut s, y).map(|_| ())
        },
        |g, x, w, p, y| {
            let mut s = vec![0i16; swar::scratch_len_i8(g)];
            swar::conv2d_i8(g, x, w, p, &mut s, y).map(|_| ())
        },
    ];
    assert_eq!(runs.len(), Conv2dI8Kernel::ALL.len(), "every kernel");
    for run in runs {
        let bad_m = LayerParamsI8::new(0, 0, &m3[..2], None);
        assert_eq!(
            run(&g, &x, &w, &bad_m, &mut y),
            Err(Error::LengthMismatch {
                what: "multipliers",
                expected: 3,
                actual: 2
            })
        );
        let no_m = LayerParamsI8::new(0, 0, &[], None);
        assert!(matches!(
            run(&g, &x, &w, &no_m, &mut y),
            Err(Error::LengthMismatch {
                what: "multipliers",
                ..
            })
        ));
        let bad_b = LayerParamsI8::new(0, 0, &m3, Some(&[1, 2]));
        assert_eq!(
            run(&g, &x, &w, &bad_b, &mut y),
            Err(Error::LengthMismatch {
                what: "bias",
                expected: 3,
                actual: 2
            })
        );
        let ok = LayerParamsI8::new(0, 0, &m3, None);
        assert_eq!(
            run(&g, &x[1..], &w, &ok, &mut y),
            Err(Error::LengthMismatch {
                what: "input",
                expected: 32,
                actual: 31
            })
        );
        assert!(matches!(
            run(&g.with_stride([0, 1]), &x, &w, &ok, &mut y),
            Err(Error::InvalidGeometry(_))
        ));
        assert_eq!(y, [9; 12], "nothing written");
    }
    let ok = LayerParamsI8::new(0, 0, &m3, None);
    let short = im2col::scratch_len_i8(&g) - 1;
    assert_eq!(
        im2col::conv2d_i8(&g, &x, &w, &ok, &mut s[..short], &mut y),
        Err(Error::ScratchTooSmall {
            needed: short + 1,
            actual: short
        })
    );
}

// ---- typed layer ----------------------------------------------------------------------------

static W3: [[[[i8; 3]; 3]; 3]; 4] = {
    let mut w = [[[[0i8; 3]; 3]; 3]; 4];
    let mut i = 0;
    while i < 108 {
        w[i / 27][i / 9 % 3][i / 3 % 3][i % 3] = ((i * 37) % 255) as i8;
        i += 1;
    }
    w
};
static B3: [i32; 4] = [100, -2000, 0, 77];
const IN: QuantParams = match QuantParams::new(0.02, -7) {
    Ok(p) => p,
    Err(_) => panic!(),
};
const OUT: QuantParams = match QuantParams::new(0.3, 4) {
    Ok(p) => p,
    Err(_) => panic!(),
};
static M3: [QuantizedMultiplier; 4] = {
    let s = [0.004f32, 0.003, 0.005, 0.002];
    let mut m = [QuantizedMultiplier::ZERO; 4];
    let mut o = 0;
    while o < 4 {
        m[o] = match requant_multiplier(IN.scale(), s[o], OUT.scale()) {
            Ok(v) => v,
            Err(_) => panic!(),
        };
        o += 1;
    }
    m
};
/// 3×3, stride 2, padding 1, ReLU.
type Layer = Conv2dI8<'static, 3, 4, 3, 3, 2, 2, 1, 1, 1, 1>;
/// The filters packed for a kernel at compile time; `None` for the one-channel kernel, which
/// refuses three input channels (any other refusal fails the build).
const fn packed(k: Conv2dI8Kernel) -> Option<PackedFilters<Conv2dI8Kernel, i8, 4, 3, 3, 3>> {
    match (Layer::pack(k, &W3), k) {
        (Ok(p), _) => Some(p),
        (Err(Error::InvalidGeometry(_)), Conv2dI8Kernel::OneChannel) => None,
        (Err(_), _) => panic!("pack"),
    }
}
/// The filters packed for every kernel, at compile time.
static PACKED: [Option<PackedFilters<Conv2dI8Kernel, i8, 4, 3, 3, 3>>; 7] = [
    packed(Conv2dI8Kernel::ALL[0]),
    packed(Conv2dI8Kernel::ALL[1]),
    packed(Conv2dI8Kernel::ALL[2]),
    packed(Conv2dI8Kernel::ALL[3]),
    packed(Conv2dI8Kernel::ALL[4]),
    packed(Conv2dI8Kernel::ALL[5]),
    packed(Conv2dI8Kernel::ALL[6]),
];
/// Built and checked at compile time.
const fn layer(k: usize) -> Layer {
    let Some(p) = &PACKED[k] else {
        panic!("no filters packed for this kernel")
    };
    const_expect(
        Layer::new(p, &B3, &M3, IN.zero_point(), OUT.zero_point()),
        "layer",
    )
    .with_range(ActivationRange::relu(OUT))
}
const LAYER: Layer = layer(0);

fn typed_forward(k: usize, x: &Tensor<i8, 9, 8, 3>) -> Tensor<i8, 5, 4, 4> {
    let mut y = [[[0x55i8; 4]; 4]; 5];
    let l = layer(k);
    let mut scratch = vec![0x55i16; l.scratch_len(9, 8)];
    // Too little scratch is an error, not a panic (kernels without scratch have nothing to cut).
    if !scratch.is_empty() {
        let r = l.forward(x, &mut y, &mut scratch[1..]);
        assert!(matches!(r, Err(Error::ScratchTooSmall { .. })), "{r:?}");
    }
    l.forward(x, &mut y, &mut scratch).unwrap();
    y
}

#[test]
fn typed_layer_equals_runtime_reference_for_every_algorithm() {
    let flat = random_i8(9 * 8 * 3, 21, i8::MIN, i8::MAX);
    let mut x: Tensor<i8, 9, 8, 3> = [[[0; 3]; 8]; 9];
    x.as_flattened_mut()
        .as_flattened_mut()
        .copy_from_slice(&flat);
    let g = Conv2dI8::<3, 4, 3, 3, 2, 2, 1, 1, 1, 1>::geometry(9, 8);
    let mut want = vec![0i8; 5 * 4 * 4];
    let w = W3.as_flattened().as_flattened().as_flattened();
    reference::conv2d_i8(&g, &flat, w, &LAYER.params(), &mut [], &mut want).unwrap();
    assert_eq!(PACKED.len(), Conv2dI8Kernel::ALL.len(), "every kernel");
    for (k, kernel) in Conv2dI8Kernel::ALL.iter().enumerate() {
        let Some(p) = &PACKED[k] else {
            assert_eq!(*kernel, Conv2dI8Kernel::OneChannel);
            continue;
        };
        assert_eq!(p.kernel(), *kernel);
        let y = typed_forward(k, &x);
        assert_same(kernel.name(), y.as_flattened().as_flattened(), &want);
    }
    // ReLU: nothing below the output zero point.
    assert!(want.iter().all(|&v| v >= OUT.zero_point()));
}

#[test]
fn typed_constructor_rejects_a_bias_beyond_the_bound() {
    static HUGE: [i32; 4] = [0, 0, i32::MIN, 0];
    static P: PackedFilters<Conv2dI8Kernel, i8, 4, 3, 3, 3> = const_expect(
        Conv2dI8::<3, 4, 3, 3>::pack(Conv2dI8Kernel::Direct, &W3),
        "pack",
    );
    let r = Conv2dI8::<3, 4, 3, 3>::new(&P, &HUGE, &M3, 0, 0);
    assert_eq!(r.map(|_| ()), Err(Error::AccumulatorOverflow));
}

// ---- int8 against f32 -----------------------------------------------------------------------

/// Tolerance of the int8-vs-f32 comparison, in output steps: requantization rounds twice
/// (`SaturatingRoundingDoublingHighMul`, then `RoundingDivideByPOT`), so the int8 result is
/// within 1 step of the exact `acc · M`; the quantized multiplier `M` is within `2^-31`
/// relative of the real one.
const STEPS: f32 = 1.0;

/// f32 accumulation tolerance: the f32 reference sums `Σ w·x` in f32, relative error below
/// `1e-4` of `|b| + Σ|w·x|` (the f32 suite's `REL_TOL`).
const F32_REL_TOL: f32 = 1e-4;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Real input and weights are quantized (TFLite spec: activations asymmetric, weights
    /// symmetric per channel, bias `i32` at `input_scale · weight_scale[o]`), the int8 layer
    /// runs, and its dequantized output is compared with the f32 convolution of the same
    /// *quantized* values (so quantizing the operands is not counted, requantizing the output
    /// is): `|dequantize(y_q) − clamp(y_f32)| ≤ 1 · output_scale + 1e-4 · (|b| + Σ|w·x|)`,
    /// where the clamp is to the representable output range and the fused ReLU.
    #[test]
    fn dequantized_int8_is_within_one_output_step_of_f32(
        g in conv_geometry(),
        seed in any::<u64>(),
        in_scale in 0.005f32..0.05,
        in_zp in -128i32..=127,
        out_zp in -20i32..=20,
        relu in any::<bool>(),
    ) {
        let d = g.dims().unwrap();
        let input = QuantParams::new(in_scale, in_zp).unwrap();
        let w_scales: Vec<f32> = (0..g.out_c).map(|o| 0.002 + 0.0007 * (o % 7) as f32).collect();
        // Quantized operands and their exact real values.
        let xq = random_i8(d.input_len, seed, i8::MIN, i8::MAX);
        let wq = random_i8(d.weights_len, seed ^ 1, -127, 127);
        let bq = random_i32(g.out_c, seed ^ 2, 3000);
        let xr: Vec<f32> = xq.iter().map(|&q| dequantize(q, input)).collect();
        let wr: Vec<f32> = wq
            .iter()
            .enumerate()
            .map(|(i, &q)| f32::from(q) * w_scales[i / d.patch_len])
            .collect();
        let br: Vec<f32> = (0..g.out_c)
            .map(|o| bq[o] as f32 * in_scale * w_scales[o])
            .collect();
        let act = if relu { Activation::Relu } else { Activation::Identity };
        let mut yf = vec![0.0f32; d.output_len];
        reference::conv2d_f32(&g, &xr, &wr, Some(&br), Activation::Identity, &mut [], &mut yf).unwrap();
        // Output scale: the f32 range over ~200 steps, so that little saturates.
        let span = yf.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        let output = QuantParams::new(span / 100.0, out_zp).unwrap();
        let multipliers: Vec<QuantizedMultiplier> = w_scales
            .iter()
            .map(|&s| requant_multiplier(in_scale, s, output.scale()).unwrap())
            .collect();
        let range = if relu { ActivationRange::relu(output) } else { ActivationRange::none() };
        let p = LayerParamsI8::new(input.zero_point(), output.zero_point(), &multipliers, Some(&bq))
            .with_range(range);
        let yq = check_conv2d_i8(&g, &xq, &wq, &p);
        let mag = common::conv_magnitude(&g, &xr, &wr, Some(&br));
        let (lo, hi) = (dequantize(range.min(), output), dequantize(range.max(), output));
        for i in 0..d.output_len {
            let want = act.apply(yf[i]).clamp(lo, hi);
            let got = dequantize(yq[i], output);
            let tol = STEPS * output.scale() + F32_REL_TOL * mag[i];
            prop_assert!(
                (got - want).abs() <= tol,
                "element {}: int8 {} (q {}) vs f32 {}, tolerance {}", i, got, yq[i], want, tol
            );
        }
        // The quantize round trip the test relies on.
        prop_assert_eq!(quantize(dequantize(yq[0], output), output), yq[0]);
    }
}
