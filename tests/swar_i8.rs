//! The int8 convolution for cores with a plain 32-bit multiply (`conv::swar`: two 16-bit
//! products per multiply) equals the reference bit for bit: random geometry, data, zero points,
//! multipliers, bias, activations and rounding (the generators of `common::int8`), extreme
//! inputs and weights (−128), and named LeNet shapes.

mod common;

use common::int8::{assert_same, conv_geometry, input_i8, quant_layer, weights_i8};
use proptest::prelude::*;
use tinyconv::conv::{reference, swar};
use tinyconv::quant::{ActivationRange, LayerParamsI8};
use tinyconv::{Conv2dGeometry, Error, Padding, Pool2dGeometry, pool};

/// Runs `swar::conv2d_i8` and `swar::conv2d_max_pool_i8` (when the output is at least 2×2)
/// and asserts both equal the reference convolution (then the reference 2×2 max pooling).
fn check(g: &Conv2dGeometry, x: &[i8], w: &[i8], p: &LayerParamsI8<'_>) {
    let d = g.dims().unwrap();
    let mut want = vec![0i8; d.output_len];
    reference::conv2d_i8(g, x, w, p, &mut [], &mut want).unwrap();
    let mut packed = vec![0i8; w.len()];
    swar::pack_weights_i8(g, w, &mut packed).unwrap();
    let mut sorted_w = w.to_vec();
    let mut sorted_p = packed.clone();
    sorted_w.sort_unstable();
    sorted_p.sort_unstable();
    assert_eq!(sorted_w, sorted_p, "packing is a permutation");
    // Scratch full of garbage: the kernel must not rely on it being zeroed. Exactly the
    // documented length, starting at a 4-byte boundary and 2 bytes past one.
    let mut scratch = vec![0x5a5a_i16; swar::scratch_len_i8(g) + 1];
    for skip in [0, 1] {
        let s = &mut scratch[skip..][..swar::scratch_len_i8(g)];
        let mut got = vec![0i8; d.output_len];
        let stats = swar::conv2d_i8(g, x, &packed, p, s, &mut got).unwrap();
        assert_same("swar::conv2d_i8", &got, &want);
        assert_eq!(stats.interior_pixels, d.out_h * d.out_w);
    }
    if d.out_h >= 2 && d.out_w >= 2 {
        let pg = Pool2dGeometry::new([d.out_h, d.out_w, g.out_c], [2, 2]).with_stride([2, 2]);
        let mut want_pool = vec![0i8; pg.dims().unwrap().output_len];
        pool::reference::max_pool2d_i8(&pg, ActivationRange::none(), &want, &mut want_pool)
            .unwrap();
        scratch.fill(-1);
        let mut got_pool = vec![0i8; want_pool.len()];
        swar::conv2d_max_pool_i8(g, x, &packed, p, &mut scratch, &mut got_pool).unwrap();
        assert_same("swar::conv2d_max_pool_i8", &got_pool, &want_pool);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn conv_matches_reference_bit_exactly(
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
        check(&g, &x, &w, &layer.params());
    }
}

fn lenet_case(g: Conv2dGeometry, izp: i8) {
    let d = g.dims().unwrap();
    let x = input_i8(d.input_len, 3, false);
    let w = weights_i8(d.weights_len, 4, false);
    let m: Vec<_> = (0..g.out_c)
        .map(|o| tinyconv::quant::quantize_multiplier(1.0 / (900.0 + 31.0 * o as f64)).unwrap())
        .collect();
    let b = common::int8::random_i32(g.out_c, 5, 30_000);
    let out = tinyconv::quant::QuantParams::new(0.05, -128).unwrap();
    let p = LayerParamsI8::new(izp, -128, &m, Some(&b)).with_range(ActivationRange::relu(out));
    check(&g, &x, &w, &p);
}

#[test]
fn lenet_conv1_and_its_bands() {
    let g = Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2));
    lenet_case(g, -128);
    for oy in (0..28).step_by(2) {
        lenet_case(g.row_band(oy, 2).unwrap().0, -128);
    }
}

#[test]
fn lenet_conv2_and_its_bands() {
    let g = Conv2dGeometry::new([14, 14, 6], 16, [5, 5]);
    lenet_case(g, -128);
    lenet_case(g, 17);
    for oy in (0..10).step_by(2) {
        lenet_case(g.row_band(oy, 2).unwrap().0, -128);
    }
}

#[test]
fn odd_filters_strides_and_dilations() {
    for (s, dl, cout) in [(2, 1, 5), (3, 2, 3), (1, 2, 7), (2, 2, 1)] {
        let g = Conv2dGeometry::new([13, 11, 3], cout, [3, 4])
            .with_stride([s, s])
            .with_dilation([dl, dl])
            .with_padding(Padding::new(1, 2, 2, 1));
        lenet_case(g, -7);
    }
}

#[test]
fn errors() {
    let g = Conv2dGeometry::new([4, 4, 1], 2, [3, 3]);
    let w = [1i8; 18];
    let m = [tinyconv::quant::QuantizedMultiplier::ONE];
    let p = LayerParamsI8::new(0, 0, &m, None);
    let mut packed = [0i8; 18];
    swar::pack_weights_i8(&g, &w, &mut packed).unwrap();
    assert!(matches!(
        swar::pack_weights_i8(&g, &w[..17], &mut packed),
        Err(Error::LengthMismatch { .. })
    ));
    let mut out = [0i8; 8];
    let mut small = vec![0i16; swar::scratch_len_i8(&g) - 1];
    assert_eq!(
        swar::conv2d_i8(&g, &[0; 16], &packed, &p, &mut small, &mut out),
        Err(Error::ScratchTooSmall {
            needed: swar::scratch_len_i8(&g),
            actual: small.len()
        })
    );
    let mut scratch = vec![0i16; swar::scratch_len_i8(&g)];
    let mut pooled = [0i8; 2];
    swar::conv2d_max_pool_i8(&g, &[0; 16], &packed, &p, &mut scratch, &mut pooled).unwrap();
    let tiny = Conv2dGeometry::new([3, 4, 1], 2, [3, 3]);
    assert!(matches!(
        swar::conv2d_max_pool_i8(&tiny, &[0; 12], &packed, &p, &mut scratch, &mut pooled[..0]),
        Err(Error::InvalidGeometry(_))
    ));
}

/// The largest products the two-per-multiply sums can meet: inputs and weights at −128 or 127,
/// zero points at both ends (padded taps then hold `−zp = 128`).
#[test]
fn extreme_products() {
    let g = Conv2dGeometry::new([6, 7, 2], 3, [3, 3]).with_padding(Padding::uniform(2));
    let d = g.dims().unwrap();
    let m = [tinyconv::quant::quantize_multiplier(1.0 / 40_000.0).unwrap()];
    for (xv, wv) in [(-128i8, -128i8), (-128, 127), (127, -128), (127, 127)] {
        for izp in [-128i8, 127, 0] {
            let x = vec![xv; d.input_len];
            let w = vec![wv; d.weights_len];
            let p = LayerParamsI8::new(izp, 0, &m, None);
            check(&g, &x, &w, &p);
        }
    }
}
