//! The checks shared by the int8 kernels that have a convolution and a fused 2×2 max pooling
//! over their own packed weights (`conv::pairs`, `conv::swar`): bit-exact with the reference
//! convolution (then the reference pooling), packing a permutation, scratch never assumed zeroed.

use super::int8::{assert_same, input_i8, weights_i8};
use tinyconv::conv::reference;
use tinyconv::quant::{ActivationRange, LayerParamsI8};
use tinyconv::{Conv2dGeometry, ConvStats, Error, Padding, Pool2dGeometry, pool};

type Pack = fn(&Conv2dGeometry, &[i8], &mut [i8]) -> Result<(), Error>;

type Conv = fn(
    &Conv2dGeometry,
    &[i8],
    &[i8],
    &LayerParamsI8<'_>,
    &mut [i16],
    &mut [i8],
) -> Result<ConvStats, Error>;

/// One kernel module's entry points.
pub struct PooledKernelI8 {
    pub conv_name: &'static str,
    pub pool_name: &'static str,
    pub pack: Pack,
    pub scratch_len: fn(&Conv2dGeometry) -> usize,
    pub conv: Conv,
    pub conv_max_pool: Conv,
}

/// Runs `k`'s convolution and its fused 2×2 max pooling (when the output is at least 2×2)
/// and asserts both equal the reference convolution (then the reference 2×2 max pooling).
pub fn check(k: &PooledKernelI8, g: &Conv2dGeometry, x: &[i8], w: &[i8], p: &LayerParamsI8<'_>) {
    let d = g.dims().unwrap();
    let mut want = vec![0i8; d.output_len];
    reference::conv2d_i8(g, x, w, p, &mut [], &mut want).unwrap();
    let mut packed = vec![0i8; w.len()];
    (k.pack)(g, w, &mut packed).unwrap();
    let mut sorted_w = w.to_vec();
    let mut sorted_p = packed.clone();
    sorted_w.sort_unstable();
    sorted_p.sort_unstable();
    assert_eq!(sorted_w, sorted_p, "packing is a permutation");
    // Scratch full of garbage: the kernel must not rely on it being zeroed. Exactly the
    // documented length, starting at a 4-byte boundary and 2 bytes past one.
    let mut scratch = vec![0x5a5a_i16; (k.scratch_len)(g) + 1];
    for skip in [0, 1] {
        let s = &mut scratch[skip..][..(k.scratch_len)(g)];
        let mut got = vec![0i8; d.output_len];
        let stats = (k.conv)(g, x, &packed, p, s, &mut got).unwrap();
        assert_same(k.conv_name, &got, &want);
        assert_eq!(stats.interior_pixels, d.out_h * d.out_w);
    }
    if d.out_h >= 2 && d.out_w >= 2 {
        let pg = Pool2dGeometry::new([d.out_h, d.out_w, g.out_c], [2, 2]).with_stride([2, 2]);
        let mut want_pool = vec![0i8; pg.dims().unwrap().output_len];
        pool::reference::max_pool2d_i8(&pg, ActivationRange::none(), &want, &mut want_pool)
            .unwrap();
        scratch.fill(-1);
        let mut got_pool = vec![0i8; want_pool.len()];
        (k.conv_max_pool)(g, x, &packed, p, &mut scratch, &mut got_pool).unwrap();
        assert_same(k.pool_name, &got_pool, &want_pool);
    }
}

/// A LeNet-like layer (ReLU range, per-channel multipliers, bias) through [`check`].
pub fn lenet_case(k: &PooledKernelI8, g: Conv2dGeometry, izp: i8) {
    let d = g.dims().unwrap();
    let x = input_i8(d.input_len, 3, false);
    let w = weights_i8(d.weights_len, 4, false);
    let m: Vec<_> = (0..g.out_c)
        .map(|o| tinyconv::quant::quantize_multiplier(1.0 / (900.0 + 31.0 * o as f64)).unwrap())
        .collect();
    let b = super::int8::random_i32(g.out_c, 5, 30_000);
    let out = tinyconv::quant::QuantParams::new(0.05, -128).unwrap();
    let p = LayerParamsI8::new(izp, -128, &m, Some(&b)).with_range(ActivationRange::relu(out));
    check(k, &g, &x, &w, &p);
}

/// Wrong lengths, a short scratch and a too-small pooled output are errors, not panics.
pub fn errors(k: &PooledKernelI8) {
    let g = Conv2dGeometry::new([4, 4, 1], 2, [3, 3]);
    let w = [1i8; 18];
    let m = [tinyconv::quant::QuantizedMultiplier::ONE];
    let p = LayerParamsI8::new(0, 0, &m, None);
    let mut packed = [0i8; 18];
    (k.pack)(&g, &w, &mut packed).unwrap();
    assert!(matches!(
        (k.pack)(&g, &w[..17], &mut packed),
        Err(Error::LengthMismatch { .. })
    ));
    let mut out = [0i8; 8];
    let mut small = vec![0i16; (k.scratch_len)(&g) - 1];
    assert_eq!(
        (k.conv)(&g, &[0; 16], &packed, &p, &mut small, &mut out),
        Err(Error::ScratchTooSmall {
            needed: (k.scratch_len)(&g),
            actual: small.len()
        })
    );
    let mut scratch = vec![0i16; (k.scratch_len)(&g)];
    let mut pooled = [0i8; 2];
    (k.conv_max_pool)(&g, &[0; 16], &packed, &p, &mut scratch, &mut pooled).unwrap();
    let tiny = Conv2dGeometry::new([3, 4, 1], 2, [3, 3]);
    assert!(matches!(
        (k.conv_max_pool)(&tiny, &[0; 12], &packed, &p, &mut scratch, &mut pooled[..0]),
        Err(Error::InvalidGeometry(_))
    ));
}

/// LeNet's conv1 and conv2 whole and band by band (the shapes the models run), and odd filters,
/// strides, dilations and asymmetric padding.
pub fn named_shapes(k: &PooledKernelI8) {
    let conv1 = Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2));
    lenet_case(k, conv1, -128);
    for oy in (0..28).step_by(2) {
        lenet_case(k, conv1.row_band(oy, 2).unwrap().0, -128);
    }
    let conv2 = Conv2dGeometry::new([14, 14, 6], 16, [5, 5]);
    lenet_case(k, conv2, -128);
    lenet_case(k, conv2, 17);
    for oy in (0..10).step_by(2) {
        lenet_case(k, conv2.row_band(oy, 2).unwrap().0, -128);
    }
    for (s, dl, cout) in [(2, 1, 5), (3, 2, 3), (1, 2, 7), (2, 2, 1)] {
        let g = Conv2dGeometry::new([13, 11, 3], cout, [3, 4])
            .with_stride([s, s])
            .with_dilation([dl, dl])
            .with_padding(Padding::new(1, 2, 2, 1));
        lenet_case(k, g, -7);
    }
}
