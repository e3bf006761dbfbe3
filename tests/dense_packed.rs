//! The int8 dense kernel over weights packed at compile time ([`blocked`]), bit-exact with the
//! reference; scratch filled with garbage before every call.

mod common;

use common::int8::{assert_same, input_i8, quant_layer, weights_i8};
use proptest::prelude::*;
use tinyconv::dense::{blocked, reference};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn blocked_i8_matches_reference(
        (n_in, n_out, layer) in (1usize..=420, 1usize..=140)
            .prop_flat_map(|(i, o)| (Just(i), Just(o), quant_layer(o, i))),
        seed in any::<u64>(),
        extreme in any::<bool>(),
    ) {
        let x = input_i8(n_in, seed, extreme);
        let w = weights_i8(n_in * n_out, seed ^ 1, extreme);
        let p = layer.params();
        let mut packed = vec![0i8; w.len()];
        blocked::pack_weights_i8(n_in, n_out, &w, &mut packed).unwrap();
        let (mut sw, mut sp) = (w.clone(), packed.clone());
        sw.sort();
        sp.sort();
        prop_assert_eq!(sw, sp, "packing is a permutation");
        let mut want = vec![0i8; n_out];
        reference::dense_i8(&x, &w, &p, &mut want).unwrap();
        let mut scratch = vec![0x5555i16; blocked::scratch_len_i8(n_in, n_out)];
        let mut got = vec![0x55i8; n_out];
        blocked::dense_i8(&x, &packed, &p, &mut scratch, &mut got).unwrap();
        assert_same(&format!("blocked {n_in}->{n_out}"), &got, &want);
    }
}

#[test]
fn short_scratch_is_an_error() {
    let x = [1i8; 5];
    let w = [1i8; 15];
    let m = [tinyconv::quant::QuantizedMultiplier::ONE];
    let p = tinyconv::quant::LayerParamsI8::new(0, 0, &m, None);
    let mut y = [0i8; 3];
    let mut s = [0i16; 5];
    assert!(matches!(
        blocked::dense_i8(&x, &w, &p, &mut s, &mut y),
        Err(tinyconv::Error::ScratchTooSmall {
            needed: 6,
            actual: 5
        })
    ));
}
