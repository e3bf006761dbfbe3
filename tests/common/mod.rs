//! One checker per op family, shared by the proptests, the named edge cases and the regression
//! tests: a new algorithm gets the whole suite by being listed here once.
#![allow(dead_code)]

pub mod int8;
pub mod pooled_i8;

use tinyconv::conv::{im2col, reference};
use tinyconv::{Activation, Conv2dF32Kernel, Conv2dGeometry, ConvStats, Error};

/// Tolerance of f32 results against the reference: the reference sums in `(i, j, c)` order
/// without FMA, the fast kernels in SIMD lanes with FMA, so results differ by rounding. For a dot
/// product the rounding error is bounded by `n·ε·Σ|w·x|`; we allow
/// `|fast − ref| ≤ REL_TOL · (|b| + Σ|w·x|) + ABS_TOL`.
pub const REL_TOL: f32 = 1e-4;
/// Absolute slack for results near zero.
pub const ABS_TOL: f32 = 1e-6;

pub fn assert_close(what: &str, got: &[f32], want: &[f32], magnitude: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, ((&g, &w), &m)) in got.iter().zip(want).zip(magnitude).enumerate() {
        let tol = REL_TOL * m + ABS_TOL;
        assert!(
            (g - w).abs() <= tol || (g.is_nan() && w.is_nan()),
            "{what}: element {i}: got {g}, reference {w}, tolerance {tol}"
        );
    }
}

/// `|b| + Σ|w·x|` per output element, computed by the reference on absolute values.
pub fn conv_magnitude(g: &Conv2dGeometry, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f32> {
    let d = g.dims().unwrap();
    let ax: Vec<f32> = x.iter().map(|v| v.abs()).collect();
    let aw: Vec<f32> = w.iter().map(|v| v.abs()).collect();
    let ab: Option<Vec<f32>> = b.map(|b| b.iter().map(|v| v.abs()).collect());
    let mut m = vec![0.0; d.output_len];
    reference::conv2d_f32(
        g,
        &ax,
        &aw,
        ab.as_deref(),
        Activation::Identity,
        &mut [],
        &mut m,
    )
    .unwrap();
    m
}

/// Runs every f32 convolution kernel ([`Conv2dF32Kernel::ALL`]) over weights packed for it and
/// compares it with the reference, with its documented scratch filled with NaN (kernels must not
/// rely on zeroed scratch). Also asserts that each fast path did the work itself: direct covered
/// every output pixel through its interior or border path, im2col ran its GEMM (or its pointwise
/// path exactly when the layer is 1×1/s1/p0); im2col also runs with tiles of 1, 2, 7 and all
/// pixels.
pub fn check_conv2d_f32(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    act: Activation,
) {
    let d = g.dims().unwrap();
    let mut want = vec![0.0; d.output_len];
    reference::conv2d_f32(g, x, w, b, act, &mut [], &mut want).unwrap();
    let mag = conv_magnitude(g, x, w, b);
    let pixels = d.out_h * d.out_w;

    for kernel in Conv2dF32Kernel::ALL {
        let mut packed = vec![0.0; w.len()];
        if !kernel.supports(g) {
            // A kernel for other shapes says so at packing time, and when run anyway.
            let r = kernel.pack(g, w, &mut packed);
            assert!(matches!(r, Err(Error::InvalidGeometry(_))), "{r:?}");
            let mut scratch = vec![f32::NAN; kernel.scratch_len(g)];
            let mut got = vec![f32::NAN; d.output_len];
            let r = kernel.run(g, x, &packed, b, act, &mut scratch, &mut got);
            assert!(matches!(r, Err(Error::InvalidGeometry(_))), "{r:?}");
            continue;
        }
        kernel.pack(g, w, &mut packed).unwrap();
        let mut scratch = vec![f32::NAN; kernel.scratch_len(g)];
        let mut got = vec![f32::NAN; d.output_len];
        let stats = kernel
            .run(g, x, &packed, b, act, &mut scratch, &mut got)
            .unwrap();
        assert_close(kernel.name(), &got, &want, &mag);
        match kernel {
            Conv2dF32Kernel::Reference => {}
            Conv2dF32Kernel::Direct => {
                assert_eq!(
                    stats.interior_pixels + stats.border_pixels,
                    pixels,
                    "{stats:?}"
                );
                assert_eq!(stats.interior_pixels, interior_pixels(g), "{stats:?}");
            }
            Conv2dF32Kernel::ImplicitGemm => {
                // One block of 16 filters per output row.
                assert!(!stats.pointwise, "{stats:?}");
                assert_eq!(
                    stats.gemm_tiles,
                    d.out_h * g.out_c.div_ceil(16),
                    "{stats:?}"
                );
            }
            Conv2dF32Kernel::OneChannel => {
                // Tiles of 8 output columns of one parity.
                assert!(stats.gemm_tiles >= 1, "{stats:?}");
            }
            Conv2dF32Kernel::Scalar => {
                // Padding materialised: every pixel by the register blocks.
                assert_eq!(stats.interior_pixels, pixels, "{stats:?}");
            }
            Conv2dF32Kernel::Im2col => {
                assert_eq!(stats.pointwise, im2col::is_pointwise(g), "{stats:?}");
                assert!(stats.gemm_tiles >= 1, "{stats:?}");
                for tile in [1usize, 2, 7, pixels] {
                    let mut scratch = vec![f32::NAN; im2col::scratch_len(g, tile)];
                    let mut got = vec![f32::NAN; d.output_len];
                    let stats: ConvStats =
                        im2col::conv2d_f32(g, x, &packed, b, act, &mut scratch, &mut got).unwrap();
                    assert_close(&format!("im2col tile {tile}"), &got, &want, &mag);
                    if im2col::is_pointwise(g) {
                        assert!(stats.pointwise && stats.gemm_tiles == 1, "{stats:?}");
                    } else {
                        assert!(!stats.pointwise, "{stats:?}");
                        assert_eq!(stats.gemm_tiles, pixels.div_ceil(tile), "{stats:?}");
                    }
                }
            }
        }
    }
}

/// Output pixels whose whole window lies inside the image, by brute force.
pub fn interior_pixels(g: &Conv2dGeometry) -> usize {
    let d = g.dims().unwrap();
    let inside = |o: usize, k: usize, s: usize, dil: usize, p: usize, n: usize| {
        (0..k).all(|t| {
            let pos = o * s + t * dil;
            pos >= p && pos - p < n
        })
    };
    let rows = (0..d.out_h)
        .filter(|&y| {
            inside(
                y,
                g.kernel_h,
                g.stride_h,
                g.dilation_h,
                g.padding.top,
                g.in_h,
            )
        })
        .count();
    let cols = (0..d.out_w)
        .filter(|&x| {
            inside(
                x,
                g.kernel_w,
                g.stride_w,
                g.dilation_w,
                g.padding.left,
                g.in_w,
            )
        })
        .count();
    rows * cols
}

/// A deterministic pseudo-random vector in [-1, 1) (xorshift), for fixed tests.
pub fn pseudo_random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
