//! The int8 convolution for cores with a plain 32-bit multiply (`conv::swar`: two 16-bit
//! products per multiply) equals the reference bit for bit: random geometry, data, zero points,
//! multipliers, bias, activations and rounding (the generators of `common::int8`), extreme
//! inputs and weights (−128), and named LeNet shapes.

mod common;

use common::int8::{conv_geometry, input_i8, quant_layer, weights_i8};
use common::pooled_i8::{self, PooledKernelI8};
use proptest::prelude::*;
use tinyconv::conv::swar;
use tinyconv::quant::LayerParamsI8;
use tinyconv::{Conv2dGeometry, Padding};

const SWAR: PooledKernelI8 = PooledKernelI8 {
    conv_name: "swar::conv2d_i8",
    pool_name: "swar::conv2d_max_pool_i8",
    pack: swar::pack_weights_i8,
    scratch_len: swar::scratch_len_i8,
    conv: swar::conv2d_i8,
    conv_max_pool: swar::conv2d_max_pool_i8,
};

fn check(g: &Conv2dGeometry, x: &[i8], w: &[i8], p: &LayerParamsI8<'_>) {
    pooled_i8::check(&SWAR, g, x, w, p);
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

#[test]
fn lenet_and_odd_shapes() {
    pooled_i8::named_shapes(&SWAR);
}

#[test]
fn errors() {
    pooled_i8::errors(&SWAR);
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
