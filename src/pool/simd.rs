//! SIMD pooling: each window cell of a channels-last tensor is a contiguous run of `channels`
//! values, so max and sum run 8 channels per instruction (`f32x8`), the last `< 8` channels in a
//! zero-padded vector.

use wide::f32x8;

use crate::error::Error;
use crate::gemm::load_tail;
use crate::geometry::{AvgPoolDivisor, Pool2dGeometry};

/// f32 max pooling, same meaning as [`reference::max_pool2d`](super::reference::max_pool2d).
///
/// NaN handling: a NaN cell may or may not win (as with `f32::max`); the reference keeps the
/// first value a NaN does not exceed. Feed finite data.
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn max_pool2d_f32(g: &Pool2dGeometry, input: &[f32], output: &mut [f32]) -> Result<(), Error> {
    reduce_windows(
        g,
        input,
        output,
        f32x8::splat(f32::NEG_INFINITY),
        |a, b| a.max(b),
        |v, _| v,
    )
}

/// f32 average pooling, same meaning as
/// [`reference::avg_pool2d_f32`](super::reference::avg_pool2d_f32).
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn avg_pool2d_f32(
    g: &Pool2dGeometry,
    divisor: AvgPoolDivisor,
    input: &[f32],
    output: &mut [f32],
) -> Result<(), Error> {
    let full = (g.kernel_h * g.kernel_w) as f32;
    reduce_windows(
        g,
        input,
        output,
        f32x8::ZERO,
        |a, b| a + b,
        |sum, n| match divisor {
            AvgPoolDivisor::IncludePadding => sum / f32x8::splat(full),
            AvgPoolDivisor::ExcludePadding => sum / f32x8::splat(n as f32),
        },
    )
}

fn reduce_windows(
    g: &Pool2dGeometry,
    input: &[f32],
    output: &mut [f32],
    init: f32x8,
    op: impl Fn(f32x8, f32x8) -> f32x8,
    finish: impl Fn(f32x8, usize) -> f32x8,
) -> Result<(), Error> {
    let d = g.check(input.len(), output.len())?;
    let c = g.channels;
    for oy in 0..d.out_h {
        let (y0, y1) = g.rows(oy);
        for ox in 0..d.out_w {
            let (x0, x1) = g.cols(ox);
            let n = (y1 - y0) * (x1 - x0);
            let out = &mut output[(oy * d.out_w + ox) * c..][..c];
            let mut c0 = 0;
            while c0 < c {
                let lanes = (c - c0).min(8);
                let mut acc = init;
                for y in y0..y1 {
                    for x in x0..x1 {
                        let cell = &input[(y * g.in_w + x) * c + c0..][..lanes];
                        let v = if lanes == 8 {
                            f32x8::from(<[f32; 8]>::try_from(cell).unwrap_or_default())
                        } else {
                            load_tail(cell)
                        };
                        acc = op(acc, v);
                    }
                }
                let r = finish(acc, n).to_array();
                out[c0..c0 + lanes].copy_from_slice(&r[..lanes]);
                c0 += lanes;
            }
        }
    }
    Ok(())
}
