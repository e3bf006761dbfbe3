//! int8 checkers and generators: every algorithm must equal the reference **bit for bit**.
//!
//! One checker per family (`check_conv2d_i8`, `check_pool2d_i8`, `check_dense_i8`), used by the
//! proptests and the named edge cases; a new int8 algorithm gets the whole suite by being listed
//! here once.

use proptest::prelude::*;
use tinyconv::conv::reference;
use tinyconv::quant::{
    ActivationRange, LayerParamsI8, MAX_ABS_PRODUCT, QuantParams, QuantizedMultiplier, Rounding,
};
use tinyconv::{
    Conv2dGeometry, Conv2dI8Kernel, DenseI8Kernel, Error, Padding, Pool2dGeometry, Pool2dKernel,
    dense, pool,
};

/// Owned int8 layer parameters, as a test generates them; [`QuantLayer::params`] borrows them
/// as the kernels' [`LayerParamsI8`].
#[derive(Clone, Debug)]
pub struct QuantLayer {
    pub input_zero_point: i8,
    pub output_zero_point: i8,
    pub multipliers: Vec<QuantizedMultiplier>,
    pub bias: Option<Vec<i32>>,
    pub range: ActivationRange,
    pub rounding: Rounding,
}

impl QuantLayer {
    pub fn params(&self) -> LayerParamsI8<'_> {
        LayerParamsI8::new(
            self.input_zero_point,
            self.output_zero_point,
            &self.multipliers,
            self.bias.as_deref(),
        )
        .with_range(self.range)
        .with_rounding(self.rounding)
    }
}

/// Asserts `got == want`, naming the first differing element (not dumping both).
pub fn assert_same(what: &str, got: &[i8], want: &[i8]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
        let bad = got.iter().zip(want).filter(|(g, w)| g != w).count();
        panic!(
            "{what}: element {i}: got {}, reference {} ({bad} of {} differ)",
            got[i],
            want[i],
            got.len()
        );
    }
}

/// Runs every int8 convolution kernel ([`Conv2dI8Kernel::ALL`]) over weights packed for it and
/// asserts that each equals the reference exactly, with exactly its documented scratch and with
/// a longer one, both filled with junk (kernels must not rely on zeroed scratch). Also asserts
/// that each fast path did the work itself (as the f32 checker does). Returns the reference
/// output.
pub fn check_conv2d_i8(g: &Conv2dGeometry, x: &[i8], w: &[i8], p: &LayerParamsI8<'_>) -> Vec<i8> {
    let d = g.dims().unwrap();
    let mut want = vec![0i8; d.output_len];
    reference::conv2d_i8(g, x, w, p, &mut [], &mut want).unwrap();
    for kernel in Conv2dI8Kernel::ALL {
        let mut packed = vec![0i8; w.len()];
        if !kernel.supports(g) {
            // A kernel for other shapes says so at packing time, and when run anyway.
            assert!(
                matches!(
                    kernel.pack(g, w, &mut packed),
                    Err(Error::InvalidGeometry(_))
                ),
                "{}",
                kernel.name()
            );
            let mut scratch = vec![0x5555i16; kernel.scratch_len(g)];
            let mut got = vec![0x55i8; d.output_len];
            let r = kernel.run(g, x, &packed, p, &mut scratch, &mut got);
            assert!(matches!(r, Err(Error::InvalidGeometry(_))), "{r:?}");
            continue;
        }
        kernel.pack(g, w, &mut packed).unwrap();
        for extra in [0usize, 33] {
            let mut scratch = vec![0x5555i16; kernel.scratch_len(g) + extra];
            let mut got = vec![0x55i8; d.output_len];
            let stats = kernel
                .run(g, x, &packed, p, &mut scratch, &mut got)
                .unwrap();
            let what = format!("{}, {g:?}", kernel.name());
            assert_same(&what, &got, &want);
            match kernel {
                Conv2dI8Kernel::Reference => {}
                Conv2dI8Kernel::Direct => {
                    assert_eq!(
                        stats.interior_pixels + stats.border_pixels,
                        d.out_h * d.out_w,
                        "{what}: {stats:?}"
                    );
                    assert_eq!(
                        stats.interior_pixels,
                        super::interior_pixels(g),
                        "{what}: {stats:?}"
                    );
                }
                Conv2dI8Kernel::Pairs | Conv2dI8Kernel::Swar => {
                    // Every pixel from the widened (padded) input.
                    assert_eq!(
                        stats.interior_pixels,
                        d.out_h * d.out_w,
                        "{what}: {stats:?}"
                    );
                    assert_eq!(stats.border_pixels, 0, "{what}: {stats:?}");
                }
                Conv2dI8Kernel::Im2col | Conv2dI8Kernel::ImplicitGemm => {
                    // One GEMM per output row and block of 16 filters.
                    assert!(!stats.pointwise, "{what}: {stats:?}");
                    assert_eq!(
                        stats.gemm_tiles,
                        d.out_h * g.out_c.div_ceil(16),
                        "{what}: {stats:?}"
                    );
                }
                Conv2dI8Kernel::OneChannel => {
                    // Tiles of 8 output columns of one parity.
                    assert!(stats.gemm_tiles >= 1, "{what}: {stats:?}");
                }
            }
        }
    }
    want
}

/// Max and average pooling: every kernel equals the reference exactly. Returns the reference
/// outputs.
pub fn check_pool2d_i8(g: &Pool2dGeometry, range: ActivationRange, x: &[i8]) -> [Vec<i8>; 2] {
    let d = g.dims().unwrap();
    let mut want_max = vec![0i8; d.output_len];
    pool::reference::max_pool2d_i8(g, range, x, &mut want_max).unwrap();
    let mut want_avg = vec![0i8; d.output_len];
    pool::reference::avg_pool2d_i8(g, range, x, &mut want_avg).unwrap();
    for kernel in Pool2dKernel::ALL {
        let mut got = vec![0x55i8; d.output_len];
        kernel.max_i8(g, range, x, &mut got).unwrap();
        assert_same(
            &format!("{} max pool, {g:?}", kernel.name()),
            &got,
            &want_max,
        );
        let mut got = vec![0x55i8; d.output_len];
        kernel.avg_i8(g, range, x, &mut got).unwrap();
        assert_same(
            &format!("{} avg pool, {g:?}", kernel.name()),
            &got,
            &want_avg,
        );
    }
    [want_max, want_avg]
}

/// Dense: every kernel, over weights packed for it, equals the reference exactly. Returns the
/// reference output.
pub fn check_dense_i8(x: &[i8], w: &[i8], p: &LayerParamsI8<'_>) -> Vec<i8> {
    let out = w.len() / x.len();
    let mut want = vec![0i8; out];
    dense::reference::dense_i8(x, w, p, &mut want).unwrap();
    for kernel in DenseI8Kernel::ALL {
        let mut packed = vec![0i8; w.len()];
        kernel.pack(x.len(), out, w, &mut packed).unwrap();
        let mut scratch = vec![0x5555i16; kernel.scratch_len(x.len(), out)];
        let mut got = vec![0x55i8; out];
        kernel.run(x, &packed, p, &mut scratch, &mut got).unwrap();
        assert_same(&format!("{} dense", kernel.name()), &got, &want);
    }
    want
}

/// Deterministic pseudo-random `i8`s in `lo..=hi` (xorshift).
pub fn random_i8(n: usize, seed: u64, lo: i8, hi: i8) -> Vec<i8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let span = (i32::from(hi) - i32::from(lo) + 1) as u64;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (i64::from(lo) + ((s >> 32) % span) as i64) as i8
        })
        .collect()
}

/// Deterministic pseudo-random `i32`s in `-mag..=mag`.
pub fn random_i32(n: usize, seed: u64, mag: u32) -> Vec<i32> {
    let mut s = seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (((s >> 16) % (2 * u64::from(mag) + 1)) as i64 - i64::from(mag)) as i32
        })
        .collect()
}

/// Random geometry over the f32 suite's ranges: channels 1..=20, sizes 1..=24, kernel 1..=7
/// per side, stride 1..=3, padding 0..kernel per side, dilation 1..=2; valid geometries only.
pub fn conv_geometry() -> impl Strategy<Value = Conv2dGeometry> {
    (
        (1usize..=20, 1usize..=20, 1usize..=24, 1usize..=24),
        (
            1usize..=7,
            1usize..=7,
            1usize..=3,
            1usize..=3,
            1usize..=2,
            1usize..=2,
        ),
    )
        .prop_flat_map(|((cin, cout, h, w), (kh, kw, sh, sw, dh, dw))| {
            (0..kh, 0..kh, 0..kw, 0..kw).prop_map(move |(pt, pb, pl, pr)| {
                Conv2dGeometry::new([h, w, cin], cout, [kh, kw])
                    .with_stride([sh, sw])
                    .with_dilation([dh, dw])
                    .with_padding(Padding::new(pt, pb, pl, pr))
            })
        })
        .prop_filter("kernel must fit the padded input", |g| g.dims().is_ok())
}

/// Random pooling geometry: channels 1..=40 (so both full 16-lane vectors and tails occur),
/// sizes 1..=24, window 1..=5, stride 1..=3, padding below the window.
pub fn pool_geometry() -> impl Strategy<Value = Pool2dGeometry> {
    (
        (1usize..=40, 1usize..=24, 1usize..=24),
        (1usize..=5, 1usize..=5, 1usize..=3, 1usize..=3),
    )
        .prop_flat_map(|((c, h, w), (kh, kw, sh, sw))| {
            (0..kh, 0..kh, 0..kw, 0..kw).prop_map(move |(pt, pb, pl, pr)| {
                Pool2dGeometry::new([h, w, c], [kh, kw])
                    .with_stride([sh, sw])
                    .with_padding(Padding::new(pt, pb, pl, pr))
            })
        })
        .prop_filter("window must fit the padded input", |g| g.dims().is_ok())
}

/// A fused activation for output params `out`: none, ReLU, ReLU6, ReLU_N1_TO_1, or an
/// arbitrary ordered range.
pub fn activation_range(out: QuantParams) -> impl Strategy<Value = ActivationRange> {
    prop_oneof![
        Just(ActivationRange::none()),
        Just(ActivationRange::relu(out)),
        Just(ActivationRange::relu6(out)),
        Just(ActivationRange::relu_n1_to_1(out)),
        (any::<i8>(), any::<i8>())
            .prop_map(|(a, b)| ActivationRange::new(a.min(b), a.max(b)).unwrap()),
    ]
}

/// Random layer parameters for `out_c` outputs and dot products of `patch_len` terms:
/// any zero points; per-channel (or, one time in four, per-tensor) multipliers around the
/// value that maps a typical accumulator (`≈ 74 · 73 · √patch_len`) onto ±100, from 16× smaller
/// (outputs near the zero point) to 4× larger (many saturate), with random significands;
/// no bias, a moderate bias (`±2^16`), or (one time in eight) a bias at the accumulator bound;
/// either rounding.
pub fn quant_layer(out_c: usize, patch_len: usize) -> impl Strategy<Value = QuantLayer> {
    let typical = 100.0 / (74.0 * 73.0 * (patch_len as f64).sqrt());
    let centre = typical.log2().round() as i32 + 1; // shift of a multiplier ≈ typical
    let per_tensor = any::<u8>().prop_map(|b| b % 4 == 0);
    let bias_limit = (i32::MAX as u64 - patch_len as u64 * MAX_ABS_PRODUCT) as u32;
    (
        (any::<i8>(), 1e-3f32..1.0, any::<i8>()),
        per_tensor,
        proptest::collection::vec((1i32 << 30..=i32::MAX, -4i32..=2), out_c),
        (0u8..8, any::<u64>()),
        any::<bool>(),
    )
        .prop_flat_map(
            move |((izp, out_scale, ozp), per_tensor, ms, (bias_kind, seed), single)| {
                let out = QuantParams::new(out_scale, i32::from(ozp)).unwrap();
                let mut multipliers: Vec<QuantizedMultiplier> = ms
                    .iter()
                    .map(|&(m, ds)| {
                        let shift = (centre + ds).clamp(-31, 30);
                        QuantizedMultiplier::new(m, shift).unwrap()
                    })
                    .collect();
                if per_tensor {
                    multipliers.truncate(1);
                }
                let bias = match bias_kind {
                    0..=2 => None,
                    3..=6 => Some(random_i32(out_c, seed, 1 << 16)),
                    _ => Some(random_i32(out_c, seed, bias_limit)),
                };
                let rounding = if single {
                    Rounding::Single
                } else {
                    Rounding::Double
                };
                activation_range(out).prop_map(move |range| QuantLayer {
                    input_zero_point: izp,
                    output_zero_point: ozp,
                    multipliers: multipliers.clone(),
                    bias: bias.clone(),
                    range,
                    rounding,
                })
            },
        )
}

/// Input data: uniform over all of `i8`, or only extreme values (`-128`/`127`) to stress the
/// accumulator bound and the offset arithmetic.
pub fn input_i8(n: usize, seed: u64, extreme: bool) -> Vec<i8> {
    let v = random_i8(n, seed, i8::MIN, i8::MAX);
    if extreme {
        v.into_iter()
            .map(|x| if x < 0 { i8::MIN } else { i8::MAX })
            .collect()
    } else {
        v
    }
}

/// Weights: uniform over TFLite's symmetric `[-127, 127]`, or extremes `±127` and `-128`.
pub fn weights_i8(n: usize, seed: u64, extreme: bool) -> Vec<i8> {
    let v = random_i8(n, seed, -127, 127);
    if extreme {
        v.into_iter()
            .map(|x| match x.rem_euclid(3) {
                0 => -128,
                1 => -127,
                _ => 127,
            })
            .collect()
    } else {
        v
    }
}
