//! The int8 kernels for cores with 16-bit multiply-accumulates (`conv::pairs`, `dense::pairs`)
//! equal the reference bit for bit: random geometry, data, zero points, multipliers, bias,
//! activations and rounding (the generators of `common::int8`), and named LeNet shapes.

mod common;

use common::int8::{assert_same, conv_geometry, input_i8, quant_layer, weights_i8};
use common::pooled_i8::{self, PooledKernelI8};
use proptest::prelude::*;
use tinyconv::conv::pairs;
use tinyconv::quant::LayerParamsI8;
use tinyconv::{Conv2dGeometry, Error, dense};

const PAIRS: PooledKernelI8 = PooledKernelI8 {
    conv_name: "pairs::conv2d_i8",
    pool_name: "pairs::conv2d_max_pool_i8",
    pack: pairs::pack_weights_i8,
    scratch_len: pairs::scratch_len_i8,
    conv: pairs::conv2d_i8,
    conv_max_pool: pairs::conv2d_max_pool_i8,
};

fn check(g: &Conv2dGeometry, x: &[i8], w: &[i8], p: &LayerParamsI8<'_>) {
    pooled_i8::check(&PAIRS, g, x, w, p);
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
    pooled_i8::named_shapes(&PAIRS);
}

#[test]
fn errors() {
    pooled_i8::errors(&PAIRS);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn dense_matches_reference_bit_exactly(
        ((n_in, n_out), layer) in (1usize..=70, 1usize..=13).prop_flat_map(|(i, o)| {
            (Just((i, o)), quant_layer(o, i))
        }),
        seed in any::<u64>(),
        extreme in any::<bool>(),
    ) {
        let x = input_i8(n_in, seed, extreme);
        let w = weights_i8(n_in * n_out, seed ^ 1, extreme);
        let p = layer.params();
        let mut want = vec![0i8; n_out];
        tinyconv::dense::reference::dense_i8(&x, &w, &p, &mut want).unwrap();
        let mut packed = vec![0i8; w.len()];
        dense::pairs::pack_weights_i8(n_in, n_out, &w, &mut packed).unwrap();
        let len = dense::pairs::scratch_len_i8(n_in);
        let mut scratch = vec![-77i16; len + 1];
        for skip in [0, 1] {
            let mut got = vec![0i8; n_out];
            dense::pairs::dense_i8(&x, &packed, &p, &mut scratch[skip..][..len], &mut got)
                .unwrap();
            assert_same("dense::pairs::dense_i8", &got, &want);
        }
    }
}

#[test]
fn dense_lenet_shapes_and_errors() {
    for (n_in, n_out) in [(400, 120), (120, 84), (84, 10)] {
        let x = input_i8(n_in, 8, false);
        let w = weights_i8(n_in * n_out, 9, false);
        let m = [tinyconv::quant::quantize_multiplier(1.0 / 3000.0).unwrap()];
        let b = common::int8::random_i32(n_out, 10, 50_000);
        let p = LayerParamsI8::new(-128, 3, &m, Some(&b));
        let mut want = vec![0i8; n_out];
        tinyconv::dense::reference::dense_i8(&x, &w, &p, &mut want).unwrap();
        let mut packed = vec![0i8; w.len()];
        dense::pairs::pack_weights_i8(n_in, n_out, &w, &mut packed).unwrap();
        let words = dense::pairs::scratch_len_i8(n_in);
        let mut scratch = vec![0i16; words];
        let mut got = vec![0i8; n_out];
        dense::pairs::dense_i8(&x, &packed, &p, &mut scratch, &mut got).unwrap();
        assert_same("dense lenet", &got, &want);
        assert_eq!(
            dense::pairs::dense_i8(&x, &packed, &p, &mut scratch[..words - 1], &mut got),
            Err(Error::ScratchTooSmall {
                needed: words,
                actual: words - 1
            })
        );
    }
    let mut packed = [0i8; 6];
    assert!(matches!(
        dense::pairs::pack_weights_i8(3, 2, &[0; 5], &mut packed),
        Err(Error::LengthMismatch { .. })
    ));
}
