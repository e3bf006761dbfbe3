//! Kernels over filters packed at compile time ([`implicit_gemm`], [`one_channel`], [`scalar`]
//! (f32 only)), plain and
//! with the 2×2 pooling fused into their output stage: f32 within the suite's tolerance of the reference
//! convolution (then the reference pooling), int8 bit-exact. Scratch is filled with garbage
//! before every call (the kernels must not rely on zeroed scratch).

mod common;

use common::int8::{QuantLayer, assert_same, conv_geometry, input_i8, quant_layer, weights_i8};
use common::{assert_close, conv_magnitude, pseudo_random};
use proptest::prelude::*;
use tinyconv::conv::{ConvStats, Pool2x2, implicit_gemm, one_channel, reference, scalar};
use tinyconv::pool::reference as pool_ref;
use tinyconv::quant::LayerParamsI8;
use tinyconv::quant::{ActivationRange, apply_table_in_place};
use tinyconv::{Activation, AvgPoolDivisor, Conv2dGeometry, Padding, Pool2dGeometry};

fn any_activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Identity),
        Just(Activation::Relu),
        Just(Activation::Relu6),
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
    ]
}

/// The kernels under test.
#[derive(Clone, Copy, Debug)]
enum Kernel {
    Implicit,
    OneChannel,
    /// f32 only.
    Scalar,
}

type F32Run = fn(
    &Conv2dGeometry,
    &[f32],
    &[f32],
    Option<&[f32]>,
    Activation,
    &mut [f32],
    &mut [f32],
) -> Result<ConvStats, tinyconv::Error>;
type F32Pool = fn(
    &Conv2dGeometry,
    &[f32],
    &[f32],
    Option<&[f32]>,
    Activation,
    Pool2x2,
    &mut [f32],
    &mut [f32],
) -> Result<ConvStats, tinyconv::Error>;
type I8Run = fn(
    &Conv2dGeometry,
    &[i8],
    &[i8],
    &LayerParamsI8<'_>,
    &mut [i16],
    &mut [i8],
) -> Result<ConvStats, tinyconv::Error>;
type I8Pool = fn(
    &Conv2dGeometry,
    &[i8],
    &[i8],
    &LayerParamsI8<'_>,
    Option<&[i8; 256]>,
    Pool2x2,
    &mut [i16],
    &mut [i8],
) -> Result<ConvStats, tinyconv::Error>;

impl Kernel {
    fn f32(self) -> (fn(&Conv2dGeometry) -> usize, F32Run, F32Pool) {
        match self {
            Kernel::Implicit => (
                implicit_gemm::scratch_len_f32,
                implicit_gemm::conv2d_f32,
                implicit_gemm::conv2d_pool2_f32,
            ),
            Kernel::OneChannel => (
                one_channel::scratch_len_f32,
                one_channel::conv2d_f32,
                one_channel::conv2d_pool2_f32,
            ),
            Kernel::Scalar => (
                scalar::scratch_len_f32,
                scalar::conv2d_f32,
                scalar::conv2d_pool2_f32,
            ),
        }
    }

    fn pack_f32(self, g: &Conv2dGeometry, w: &[f32], p: &mut [f32]) {
        match self {
            Kernel::Implicit => implicit_gemm::pack_weights_f32(g, w, p).unwrap(),
            Kernel::OneChannel => one_channel::pack_weights_f32(g, w, p).unwrap(),
            Kernel::Scalar => scalar::pack_weights_f32(g, w, p).unwrap(),
        }
    }

    fn i8(self) -> (fn(&Conv2dGeometry) -> usize, I8Run, I8Pool) {
        match self {
            Kernel::Implicit => (
                implicit_gemm::scratch_len_i8,
                implicit_gemm::conv2d_i8,
                implicit_gemm::conv2d_pool2_i8,
            ),
            Kernel::OneChannel => (
                one_channel::scratch_len_i8,
                one_channel::conv2d_i8,
                one_channel::conv2d_pool2_i8,
            ),
            Kernel::Scalar => unreachable!("the scalar kernel is f32 only"),
        }
    }

    fn pack_i8(self, g: &Conv2dGeometry, w: &[i8], p: &mut [i8]) {
        match self {
            Kernel::Implicit => implicit_gemm::pack_weights_i8(g, w, p).unwrap(),
            Kernel::OneChannel => one_channel::pack_weights_i8(g, w, p).unwrap(),
            Kernel::Scalar => unreachable!("the scalar kernel is f32 only"),
        }
    }
}

/// Geometries the one-channel kernels take: `in_c = 1`, unit horizontal stride and dilation.
fn one_channel_geometry() -> impl Strategy<Value = Conv2dGeometry> {
    conv_geometry()
        .prop_map(|g| {
            let mut g = g;
            g.in_c = 1;
            g.stride_w = 1;
            g.dilation_w = 1;
            g
        })
        .prop_filter("kernel must fit the padded input", |g| g.dims().is_ok())
}

/// The pooling of a conv output of `[h][w][c]`: 2×2, stride 2, no padding.
fn pool_geometry(g: &Conv2dGeometry) -> Pool2dGeometry {
    let d = g.dims().unwrap();
    Pool2dGeometry::new([d.out_h, d.out_w, g.out_c], [2, 2]).with_stride([2, 2])
}

fn check_f32(
    k: Kernel,
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    act: Activation,
) {
    let d = g.dims().unwrap();
    let (scratch_len, run, run_pool) = k.f32();
    let mut packed = vec![0.0; w.len()];
    k.pack_f32(g, w, &mut packed);
    let mut sorted_w = w.to_vec();
    let mut sorted_p = packed.clone();
    sorted_w.sort_by(f32::total_cmp);
    sorted_p.sort_by(f32::total_cmp);
    assert_eq!(sorted_w, sorted_p, "packing is a permutation");

    let mut want = vec![0.0; d.output_len];
    reference::conv2d_f32(g, x, w, b, act, &mut [], &mut want).unwrap();
    let mag = conv_magnitude(g, x, w, b);
    let mut scratch = vec![f32::NAN; scratch_len(g)];
    let mut got = vec![f32::NAN; d.output_len];
    run(g, x, &packed, b, act, &mut scratch, &mut got).unwrap();
    assert_close(&format!("{k:?}, {g:?}"), &got, &want, &mag);

    if d.out_h < 2 || d.out_w < 2 {
        let mut out = vec![0.0; 0];
        let r = run_pool(g, x, &packed, b, act, Pool2x2::Max, &mut scratch, &mut out);
        assert!(r.is_err());
        return;
    }
    let pg = pool_geometry(g);
    let pd = pg.dims().unwrap();
    // Tolerance of a pooled value: the largest magnitude in its window.
    let mut pmag = vec![0.0; pd.output_len];
    pool_ref::max_pool2d(&pg, &mag, &mut pmag).unwrap();
    for pool in [Pool2x2::Max, Pool2x2::Avg] {
        let mut want_p = vec![0.0; pd.output_len];
        match pool {
            Pool2x2::Max => pool_ref::max_pool2d(&pg, &want, &mut want_p).unwrap(),
            Pool2x2::Avg => {
                pool_ref::avg_pool2d_f32(&pg, AvgPoolDivisor::IncludePadding, &want, &mut want_p)
                    .unwrap()
            }
        }
        let mut got = vec![f32::NAN; pd.output_len];
        scratch.fill(f32::NAN);
        run_pool(g, x, &packed, b, act, pool, &mut scratch, &mut got).unwrap();
        assert_close(&format!("{k:?} + {pool:?}, {g:?}"), &got, &want_p, &pmag);
    }
}

fn check_i8(
    k: Kernel,
    g: &Conv2dGeometry,
    x: &[i8],
    w: &[i8],
    layer: &QuantLayer,
    table: Option<&[i8; 256]>,
) {
    let d = g.dims().unwrap();
    let p = layer.params();
    let (scratch_len, run, run_pool) = k.i8();
    let mut packed = vec![0i8; w.len()];
    k.pack_i8(g, w, &mut packed);
    let (mut sorted_w, mut sorted_p) = (w.to_vec(), packed.clone());
    sorted_w.sort();
    sorted_p.sort();
    assert_eq!(sorted_w, sorted_p, "packing is a permutation");

    let mut want = vec![0i8; d.output_len];
    reference::conv2d_i8(g, x, w, &p, &mut [], &mut want).unwrap();
    let mut scratch = vec![0x5555i16; scratch_len(g)];
    let mut got = vec![0x55i8; d.output_len];
    run(g, x, &packed, &p, &mut scratch, &mut got).unwrap();
    assert_same(&format!("{k:?}, {g:?}"), &got, &want);

    if d.out_h < 2 || d.out_w < 2 {
        return;
    }
    if let Some(t) = table {
        apply_table_in_place(t, &mut want);
    }
    let pg = pool_geometry(g);
    let pd = pg.dims().unwrap();
    for pool in [Pool2x2::Max, Pool2x2::Avg] {
        let mut want_p = vec![0i8; pd.output_len];
        let none = ActivationRange::none();
        match pool {
            Pool2x2::Max => pool_ref::max_pool2d_i8(&pg, none, &want, &mut want_p).unwrap(),
            Pool2x2::Avg => pool_ref::avg_pool2d_i8(&pg, none, &want, &mut want_p).unwrap(),
        }
        let mut got = vec![0x55i8; pd.output_len];
        scratch.fill(0x5555);
        run_pool(g, x, &packed, &p, table, pool, &mut scratch, &mut got).unwrap();
        assert_same(
            &format!("{k:?} + {pool:?}, table {}, {g:?}", table.is_some()),
            &got,
            &want_p,
        );
    }
}

/// A table that is not monotone (so pooling the table's inputs would be wrong).
fn scrambled_table(seed: u8) -> [i8; 256] {
    core::array::from_fn(|i| (i as u8).wrapping_mul(167).wrapping_add(seed) as i8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn implicit_gemm_f32_matches_reference(
        g in conv_geometry(),
        act in any_activation(),
        seed in any::<u64>(),
        with_bias in any::<bool>(),
    ) {
        let d = g.dims().unwrap();
        let x = pseudo_random(d.input_len, seed);
        let w = pseudo_random(d.weights_len, seed ^ 1);
        let b = pseudo_random(g.out_c, seed ^ 2);
        check_f32(Kernel::Implicit, &g, &x, &w, with_bias.then_some(&b[..]), act);
    }

    #[test]
    fn one_channel_f32_matches_reference(
        g in one_channel_geometry(),
        act in any_activation(),
        seed in any::<u64>(),
        with_bias in any::<bool>(),
    ) {
        let d = g.dims().unwrap();
        let x = pseudo_random(d.input_len, seed);
        let w = pseudo_random(d.weights_len, seed ^ 1);
        let b = pseudo_random(g.out_c, seed ^ 2);
        check_f32(Kernel::OneChannel, &g, &x, &w, with_bias.then_some(&b[..]), act);
    }

    /// The scalar kernel (targets without vector registers) on any geometry: strides, padding
    /// (materialised in the scratch), dilation, out_c not a multiple of 4 (groups of 2 and 1),
    /// odd output sizes (repeated edge pixels), plain and pooled.
    #[test]
    fn scalar_f32_matches_reference(
        g in conv_geometry(),
        act in any_activation(),
        seed in any::<u64>(),
        with_bias in any::<bool>(),
    ) {
        let d = g.dims().unwrap();
        let x = pseudo_random(d.input_len, seed);
        let w = pseudo_random(d.weights_len, seed ^ 1);
        let b = pseudo_random(g.out_c, seed ^ 2);
        check_f32(Kernel::Scalar, &g, &x, &w, with_bias.then_some(&b[..]), act);
    }

    /// The scalar kernel's sliding path: one input channel, unit horizontal stride and
    /// dilation, 5-wide kernels (LeNet-5's conv1 shape family).
    #[test]
    fn scalar_f32_one_channel_5_wide_matches_reference(
        g in one_channel_geometry().prop_filter("5-wide kernel fits", |g| {
            let mut g5 = *g;
            g5.kernel_w = 5;
            g5.dims().is_ok()
        }).prop_map(|mut g| { g.kernel_w = 5; g }),
        act in any_activation(),
        seed in any::<u64>(),
        with_bias in any::<bool>(),
    ) {
        let d = g.dims().unwrap();
        let x = pseudo_random(d.input_len, seed);
        let w = pseudo_random(d.weights_len, seed ^ 1);
        let b = pseudo_random(g.out_c, seed ^ 2);
        check_f32(Kernel::Scalar, &g, &x, &w, with_bias.then_some(&b[..]), act);
    }

    #[test]
    fn one_channel_i8_matches_reference(
        (g, layer) in one_channel_geometry().prop_flat_map(|g| {
            let d = g.dims().unwrap();
            (Just(g), quant_layer(g.out_c, d.patch_len))
        }),
        seed in any::<u64>(),
        extreme in any::<bool>(),
        table in any::<Option<u8>>(),
    ) {
        let d = g.dims().unwrap();
        let x = input_i8(d.input_len, seed, extreme);
        let w = weights_i8(d.weights_len, seed ^ 1, extreme);
        let t = table.map(scrambled_table);
        check_i8(Kernel::OneChannel, &g, &x, &w, &layer, t.as_ref());
    }

    #[test]
    fn implicit_gemm_i8_matches_reference(
        (g, layer) in conv_geometry().prop_flat_map(|g| {
            let d = g.dims().unwrap();
            (Just(g), quant_layer(g.out_c, d.patch_len))
        }),
        seed in any::<u64>(),
        extreme in any::<bool>(),
        table in any::<Option<u8>>(),
    ) {
        let d = g.dims().unwrap();
        let x = input_i8(d.input_len, seed, extreme);
        let w = weights_i8(d.weights_len, seed ^ 1, extreme);
        let t = table.map(scrambled_table);
        check_i8(Kernel::Implicit, &g, &x, &w, &layer, t.as_ref());
    }
}

/// Shapes the proptest reaches rarely: LeNet's layers, several full channel blocks plus a
/// partial one, odd segments with dilation, 1×1.
#[test]
fn named_shapes() {
    let shapes = [
        Conv2dGeometry::new([14, 14, 6], 16, [5, 5]),
        Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2)),
        Conv2dGeometry::new([9, 11, 5], 37, [3, 3]).with_padding(Padding::uniform(1)),
        Conv2dGeometry::new([9, 10, 3], 33, [3, 3])
            .with_dilation([2, 2])
            .with_padding(Padding::new(1, 2, 0, 3)),
        Conv2dGeometry::new([8, 8, 7], 48, [1, 1]),
        Conv2dGeometry::new([10, 9, 4], 20, [3, 2]).with_stride([2, 3]),
        Conv2dGeometry::new([30, 37, 1], 13, [3, 6])
            .with_stride([2, 1])
            .with_dilation([2, 1])
            .with_padding(Padding::new(0, 3, 5, 1)),
    ];
    for (n, g) in shapes.iter().enumerate() {
        let d = g.dims().unwrap();
        let x = pseudo_random(d.input_len, n as u64);
        let w = pseudo_random(d.weights_len, 100 + n as u64);
        let b = pseudo_random(g.out_c, 200 + n as u64);
        let kernels: &[Kernel] = if one_channel::applies(g) {
            &[Kernel::Implicit, Kernel::OneChannel]
        } else {
            &[Kernel::Implicit]
        };
        for &k in kernels.iter().chain(&[Kernel::Scalar]) {
            check_f32(k, g, &x, &w, Some(&b), Activation::Relu);
        }
        let layer = QuantLayer {
            input_zero_point: -3,
            output_zero_point: 5,
            multipliers: (0..g.out_c)
                .map(|o| {
                    tinyconv::quant::quantize_multiplier(1.0 / (900.0 + 37.0 * o as f64)).unwrap()
                })
                .collect(),
            bias: Some(common::int8::random_i32(g.out_c, n as u64, 20_000)),
            range: ActivationRange::none(),
            rounding: tinyconv::quant::Rounding::Double,
        };
        let xq = input_i8(d.input_len, n as u64, false);
        let wq = weights_i8(d.weights_len, 7 + n as u64, false);
        for &k in kernels {
            check_i8(k, g, &xq, &wq, &layer, None);
            check_i8(k, g, &xq, &wq, &layer, Some(&scrambled_table(n as u8)));
        }
    }
}

#[test]
fn scalar_scratch_too_small_is_an_error() {
    let g = Conv2dGeometry::new([6, 6, 2], 3, [3, 3]).with_padding(Padding::uniform(1));
    let d = g.dims().unwrap();
    let (x, w) = (vec![0.0f32; d.input_len], vec![0.0f32; d.weights_len]);
    let mut s = vec![0.0f32; scalar::scratch_len_f32(&g) - 1];
    let mut y = vec![0.0f32; d.output_len];
    assert!(matches!(
        scalar::conv2d_f32(&g, &x, &w, None, Activation::Identity, &mut s, &mut y),
        Err(tinyconv::Error::ScratchTooSmall { .. })
    ));
    // An unpadded layer is read in place: no scratch at all.
    let g = Conv2dGeometry::new([6, 6, 2], 3, [3, 3]);
    let d = g.dims().unwrap();
    assert_eq!(scalar::scratch_len_f32(&g), 0);
    let mut y = vec![0.0f32; d.output_len];
    scalar::conv2d_f32(&g, &x, &w, None, Activation::Identity, &mut [], &mut y).unwrap();
}

#[test]
fn scratch_too_small_is_an_error() {
    let g = Conv2dGeometry::new([6, 6, 2], 3, [3, 3]).with_padding(Padding::uniform(1));
    let d = g.dims().unwrap();
    let x = vec![0i8; d.input_len];
    let w = vec![0i8; d.weights_len];
    let m = [tinyconv::quant::QuantizedMultiplier::ONE];
    let p = tinyconv::quant::LayerParamsI8::new(0, 0, &m, None);
    let n = implicit_gemm::scratch_len_i8(&g);
    let mut s = vec![0i16; n - 1];
    let mut y = vec![0i8; d.output_len];
    assert!(matches!(
        implicit_gemm::conv2d_i8(&g, &x, &w, &p, &mut s, &mut y),
        Err(tinyconv::Error::ScratchTooSmall { .. })
    ));
    let xf = vec![0.0f32; d.input_len];
    let wf = vec![0.0f32; d.weights_len];
    let mut sf = vec![0.0f32; implicit_gemm::scratch_len_f32(&g) - 1];
    let mut yf = vec![0.0f32; d.output_len];
    assert!(matches!(
        implicit_gemm::conv2d_f32(&g, &xf, &wf, None, Activation::Identity, &mut sf, &mut yf),
        Err(tinyconv::Error::ScratchTooSmall { .. })
    ));
}
