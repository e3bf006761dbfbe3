//! int8 pooling and dense layers: SIMD bit-exact with the reference for random shapes, data
//! and parameters; TFLite's average-pool rounding by hand; the accumulator bound; typed layers;
//! activations as clamps; int8 dense against f32.

mod common;

use common::int8::{
    QuantLayer, activation_range, assert_same, check_dense_i8, check_pool2d_i8, input_i8,
    pool_geometry, quant_layer, random_i8, random_i32, weights_i8,
};
use proptest::prelude::*;
use tinyconv::activation::clamp_i8;
use tinyconv::conv::reference as conv_ref;
use tinyconv::dense::{reference as dense_ref, simd as dense_simd};
use tinyconv::pool::{reference as pool_ref, simd as pool_simd};
use tinyconv::quant::{
    ActivationRange, LayerParamsI8, QuantParams, QuantizedMultiplier, Rounding, dequantize,
    quantize_multiplier, requant_multiplier,
};
use tinyconv::{
    Activation, Conv2dGeometry, DenseI8, DenseI8Kernel, Error, Padding, Pool2d, Pool2dGeometry,
    Pool2dKernel,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn simd_pooling_matches_reference_bit_exactly(
        g in pool_geometry(),
        seed in any::<u64>(),
        extreme in any::<bool>(),
        range in activation_range(QuantParams::new(0.1, -7).unwrap()),
    ) {
        let d = g.dims().unwrap();
        check_pool2d_i8(&g, range, &input_i8(d.input_len, seed, extreme));
    }

    #[test]
    fn simd_dense_matches_reference_bit_exactly(
        (n_in, n_out, layer) in (1usize..=300, 1usize..=40)
            .prop_flat_map(|(i, o)| (Just(i), Just(o), quant_layer(o, i))),
        seed in any::<u64>(),
        extreme in any::<bool>(),
    ) {
        let x = input_i8(n_in, seed, extreme);
        let w = weights_i8(n_in * n_out, seed ^ 1, extreme);
        check_dense_i8(&x, &w, &layer.params());
    }
}

// ---- average pooling: TFLite's rounding, by hand ------------------------------------------

fn avg(g: &Pool2dGeometry, x: &[i8]) -> Vec<i8> {
    let [_, avg] = check_pool2d_i8(g, ActivationRange::none(), x);
    avg
}

#[test]
fn average_pool_rounds_half_away_from_zero() {
    // 1×2 windows, stride 2: (sum ± n/2) / n with truncating division, n = 2.
    let g = Pool2dGeometry::new([1, 8, 1], [1, 2]);
    let x = [1, 2, -1, -2, 5, -2, -5, 2];
    // 3/2 = 1.5 → (3 + 1)/2 = 2; −3/2 = −1.5 → (−3 − 1)/2 = −2; 3/2 → 2; −3/2 → −2.
    assert_eq!(avg(&g, &x), [2, -2, 2, -2]);
    // n = 4: 5/4 = 1.25 → (5 + 2)/4 = 1; 6/4 = 1.5 → (6 + 2)/4 = 2; −6/4 → (−6 − 2)/4 = −2;
    // −7/4 = −1.75 → (−7 − 2)/4 = −2 (truncation of −2.25).
    let g = Pool2dGeometry::new([1, 16, 1], [1, 4]);
    let x = [1, 1, 1, 2, 1, 1, 2, 2, -1, -1, -2, -2, -1, -2, -2, -2];
    assert_eq!(avg(&g, &x), [1, 2, -2, -2]);
    // A zero sum stays 0: (0 − 1)/2 truncates to 0.
    let g = Pool2dGeometry::new([1, 2, 1], [1, 2]);
    assert_eq!(avg(&g, &[-3, 3]), [0]);
}

#[test]
fn average_pool_does_not_count_padding() {
    // 2×2 window, stride 2, padding 1 on every side over a 3×3 input: the corner windows see
    // 1 cell, the edge windows 2, and each divides by that count, not by 4.
    let g = Pool2dGeometry::new([3, 3, 1], [2, 2])
        .with_stride([2, 2])
        .with_padding(Padding::uniform(1));
    let x = [10, 20, 30, 40, 50, 60, 70, 80, 90];
    // Windows: {10} {20,30} {40,70} {50,60,80,90}: 10, 25, 55, 70.
    assert_eq!(avg(&g, &x), [10, 25, 55, 70]);
    // Stride 1, padding bottom/right over [[1, 1], [2, −3]]: windows {1, 1, 2, −3} = 1/4 →
    // (1 + 2)/4 = 0; {1, −3} = −1 → (−2 − 1)/2 = −1; {2, −3} = −0.5 → (−1 − 1)/2 = −1 (a tie,
    // away from zero); {−3} = −3.
    let g = Pool2dGeometry::new([2, 2, 1], [2, 2])
        .with_stride([1, 1])
        .with_padding(Padding::new(0, 1, 0, 1));
    assert_eq!(avg(&g, &[1, 1, 2, -3]), [0, -1, -1, -3]);
    // n = 3: a 1×4 window with one padded cell over a 1×3 input: 4/3 = 1.33 → (4 + 1)/3 = 1;
    // 5/3 = 1.67 → (5 + 1)/3 = 2; −5/3 → (−5 − 1)/3 = −2.
    let g = Pool2dGeometry::new([1, 3, 3], [1, 4]).with_padding(Padding::new(0, 0, 1, 0));
    assert_eq!(avg(&g, &[1, 2, -2, 1, 2, -2, 2, 1, -1]), [1, 2, -2]);
}

#[test]
fn average_pool_window_sizes_around_the_i16_sum() {
    // 16 × 16 = 256 cells sum in i16 lanes: −128 · 256 = −32 768 exactly, 127 · 256 = 32 512.
    // 17 × 17 = 289 cells take the i32 path.
    for side in [16usize, 17] {
        let g = Pool2dGeometry::new([side, side, 18], [side, side]);
        let n = side * side * 18;
        assert_eq!(avg(&g, &vec![-128; n]), vec![-128; 18]);
        assert_eq!(avg(&g, &vec![127; n]), vec![127; 18]);
        check_pool2d_i8(
            &g,
            ActivationRange::none(),
            &random_i8(n, 3, i8::MIN, i8::MAX),
        );
    }
}

#[test]
fn max_pool_padding_never_wins_and_clamps_apply() {
    let g = Pool2dGeometry::new([3, 3, 2], [2, 2])
        .with_stride([2, 2])
        .with_padding(Padding::uniform(1));
    let x = [-100i8; 18];
    let [max, avg] = check_pool2d_i8(&g, ActivationRange::none(), &x);
    assert_eq!(max, vec![-100; 8]);
    assert_eq!(avg, vec![-100; 8]);
    // Fused ReLU with zero point −90: both pools clamp to it.
    let relu = ActivationRange::relu(QuantParams::new(0.5, -90).unwrap());
    let [max, avg] = check_pool2d_i8(&g, relu, &x);
    assert_eq!(max, vec![-90; 8]);
    assert_eq!(avg, vec![-90; 8]);
}

#[test]
fn huge_pool_windows_are_rejected_not_overflowed() {
    let g = Pool2dGeometry::new([1, 1, 1], [1 << 12, 1 << 12]).with_padding(Padding::new(
        (1 << 12) - 1,
        0,
        (1 << 12) - 1,
        0,
    ));
    let mut y = [0i8; 1];
    let r = ActivationRange::none();
    assert_eq!(
        pool_ref::avg_pool2d_i8(&g, r, &[1], &mut y),
        Err(Error::AccumulatorOverflow)
    );
    assert_eq!(
        pool_simd::avg_pool2d_i8(&g, r, &[1], &mut y),
        Err(Error::AccumulatorOverflow)
    );
    // Max pooling has no sum: fine.
    pool_simd::max_pool2d_i8(&g, r, &[1], &mut y).unwrap();
    assert_eq!(y, [1]);
}

// ---- dense ----------------------------------------------------------------------------------

#[test]
fn dense_lenet_shapes_and_vector_edges() {
    for (n_in, n_out) in [
        (400, 120),
        (120, 84),
        (84, 10),
        (1, 1),
        (15, 3),
        (16, 4),
        (17, 5),
    ] {
        let l = QuantLayer {
            input_zero_point: -128,
            output_zero_point: 3,
            multipliers: (0..n_out)
                .map(|o| quantize_multiplier(0.002 + 0.0001 * o as f64).unwrap())
                .collect(),
            bias: Some(random_i32(n_out, 5, 10_000)),
            range: ActivationRange::none(),
            rounding: Rounding::Double,
        };
        let x = random_i8(n_in, 1, i8::MIN, i8::MAX);
        let w = random_i8(n_in * n_out, 2, -127, 127);
        check_dense_i8(&x, &w, &l.params());
    }
}

#[test]
fn dense_per_tensor_equals_repeated_per_channel_and_bound_is_enforced() {
    let (n_in, n_out) = (37, 9);
    let x = random_i8(n_in, 1, i8::MIN, i8::MAX);
    let w = random_i8(n_in * n_out, 2, -127, 127);
    let m = quantize_multiplier(0.003).unwrap();
    let b = random_i32(n_out, 3, 500);
    let one = [m];
    let many = vec![m; n_out];
    let a = check_dense_i8(&x, &w, &LayerParamsI8::new(4, -4, &one, Some(&b)));
    let c = check_dense_i8(&x, &w, &LayerParamsI8::new(4, -4, &many, Some(&b)));
    assert_same("dense per-tensor", &a, &c);

    let n_in = 65_794; // one more than the bound allows
    let x = vec![0i8; n_in];
    let mut y = [7i8; 1];
    let p = LayerParamsI8::new(0, 0, &one, None);
    let e = Err(Error::AccumulatorOverflow);
    assert_eq!(dense_ref::dense_i8(&x, &x, &p, &mut y), e);
    assert_eq!(dense_simd::dense_i8(&x, &x, &p, &mut y), e);
    assert_eq!(
        dense_simd::dense_i8(&x[1..], &x[1..], &p, &mut y).map(|_| y),
        Ok([0])
    );
}

static DW: [[i8; 5]; 3] = [
    [1, -2, 3, -4, 5],
    [127, 127, 127, 127, 127],
    [-127, 0, 0, 0, 9],
];
static DB: [i32; 3] = [-7, 1000, 0];
static DM: [QuantizedMultiplier; 3] = [QuantizedMultiplier::ONE; 3];

fn dense_typed(kernel: DenseI8Kernel, x: &[i8; 5]) -> [i8; 3] {
    let packed = DenseI8::pack(kernel, &DW).unwrap();
    assert_eq!(packed.kernel(), kernel);
    let layer = DenseI8::new(&packed, &DB, &DM, 1, -1)
        .unwrap()
        .with_range(ActivationRange::new(-50, 60).unwrap());
    let mut y = [0x55; 3];
    if layer.scratch_len() == 0 {
        layer.forward(x, &mut y).unwrap();
    } else {
        assert!(matches!(
            layer.forward(x, &mut y),
            Err(Error::ScratchTooSmall { .. })
        ));
        let mut scratch = vec![0x55i16; layer.scratch_len()];
        let r = layer.forward_with_scratch(x, &mut y, &mut scratch[1..]);
        assert!(matches!(r, Err(Error::ScratchTooSmall { .. })), "{r:?}");
        layer.forward_with_scratch(x, &mut y, &mut scratch).unwrap();
    }
    y
}

#[test]
fn typed_dense_by_hand() {
    // x − zp = [1, 0, −1, 2, −2] for x = [2, 1, 0, 3, −1], zero point 1.
    let x = [2, 1, 0, 3, -1];
    // Row 0: −7 + 1 − 3 − 8 − 10 = −27, −1 → −28. Row 1: 1000 + 127·0 = 1000 → 60 (clamp).
    // Row 2: −127 − 18 = −145 → −50 (clamp).
    for kernel in DenseI8Kernel::ALL {
        assert_eq!(dense_typed(kernel, &x), [-28, 60, -50], "{}", kernel.name());
    }
}

#[test]
fn typed_pooling_equals_runtime() {
    let flat = random_i8(6 * 7 * 19, 9, i8::MIN, i8::MAX);
    let mut x = [[[0i8; 19]; 7]; 6];
    x.as_flattened_mut()
        .as_flattened_mut()
        .copy_from_slice(&flat);
    let g = Pool2dGeometry::new([6, 7, 19], [2, 3])
        .with_stride([2, 2])
        .with_padding(Padding::new(0, 1, 1, 0));
    let range = ActivationRange::new(-100, 90).unwrap();
    let [max, avg] = check_pool2d_i8(&g, range, &flat);
    type P = Pool2d<2, 3, 2, 2, 0, 1, 1, 0>;
    let mut y = [[[0i8; 19]; 3]; 3];
    for kernel in Pool2dKernel::ALL {
        P::max_i8(kernel, range, &x, &mut y).unwrap();
        assert_same("typed max", y.as_flattened().as_flattened(), &max);
        P::avg_i8(kernel, range, &x, &mut y).unwrap();
        assert_same("typed avg", y.as_flattened().as_flattened(), &avg);
    }
}

// ---- activations ----------------------------------------------------------------------------

#[test]
fn separate_clamp_equals_fused_activation() {
    let g = Conv2dGeometry::new([6, 6, 3], 5, [3, 3]);
    let d = g.dims().unwrap();
    let x = random_i8(d.input_len, 4, i8::MIN, i8::MAX);
    let w = random_i8(d.weights_len, 5, -127, 127);
    let out = QuantParams::new(0.02, -9).unwrap();
    let m: Vec<QuantizedMultiplier> = (0..5)
        .map(|o| quantize_multiplier(0.0004 * (o + 1) as f64).unwrap())
        .collect();
    for range in [
        ActivationRange::relu(out),
        ActivationRange::relu6(out),
        ActivationRange::relu_n1_to_1(out),
    ] {
        let p = LayerParamsI8::new(2, out.zero_point(), &m, None);
        let mut plain = vec![0i8; d.output_len];
        conv_ref::conv2d_i8(&g, &x, &w, &p, &mut [], &mut plain).unwrap();
        clamp_i8(range, &mut plain);
        let mut fused = vec![0i8; d.output_len];
        conv_ref::conv2d_i8(&g, &x, &w, &p.with_range(range), &mut [], &mut fused).unwrap();
        assert_same("clamp", &plain, &fused);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// As for convolution: dequantized int8 dense output within one output step of the f32
    /// layer on the same quantized values, plus `1e-4 · (|b| + Σ|w·x|)` for f32 accumulation.
    #[test]
    fn dequantized_int8_dense_is_within_one_output_step_of_f32(
        (n_in, n_out) in (1usize..=200, 1usize..=30),
        seed in any::<u64>(),
        in_zp in -128i32..=127,
        relu in any::<bool>(),
    ) {
        let input = QuantParams::new(0.03, in_zp).unwrap();
        let w_scales: Vec<f32> = (0..n_out).map(|o| 0.004 + 0.001 * (o % 5) as f32).collect();
        let xq = random_i8(n_in, seed, i8::MIN, i8::MAX);
        let wq = random_i8(n_in * n_out, seed ^ 1, -127, 127);
        let bq = random_i32(n_out, seed ^ 2, 2000);
        let xr: Vec<f32> = xq.iter().map(|&q| dequantize(q, input)).collect();
        let wr: Vec<f32> = wq.iter().enumerate().map(|(i, &q)| f32::from(q) * w_scales[i / n_in]).collect();
        let br: Vec<f32> = (0..n_out).map(|o| bq[o] as f32 * input.scale() * w_scales[o]).collect();
        let mut yf = vec![0.0f32; n_out];
        dense_ref::dense_f32(&xr, &wr, Some(&br), Activation::Identity, &mut yf).unwrap();
        let span = yf.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        let output = QuantParams::new(span / 100.0, 3).unwrap();
        let m: Vec<QuantizedMultiplier> = w_scales
            .iter()
            .map(|&s| requant_multiplier(input.scale(), s, output.scale()).unwrap())
            .collect();
        let range = if relu { ActivationRange::relu(output) } else { ActivationRange::none() };
        let p = LayerParamsI8::new(input.zero_point(), output.zero_point(), &m, Some(&bq))
            .with_range(range);
        let yq = check_dense_i8(&xq, &wq, &p);
        let act = if relu { Activation::Relu } else { Activation::Identity };
        let (lo, hi) = (dequantize(range.min(), output), dequantize(range.max(), output));
        for o in 0..n_out {
            let mag = br[o].abs()
                + (0..n_in).map(|i| (wr[o * n_in + i] * xr[i]).abs()).sum::<f32>();
            let want = act.apply(yf[o]).clamp(lo, hi);
            let got = dequantize(yq[o], output);
            let tol = output.scale() + 1e-4 * mag;
            prop_assert!((got - want).abs() <= tol, "out {}: {} vs {} (tol {})", o, got, want, tol);
        }
    }
}
