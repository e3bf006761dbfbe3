//! SIMD pooling: each window cell of a channels-last tensor is a contiguous run of `channels`
//! values, so max and sum run 8 channels per instruction (`f32x8`), the last `< 8` channels in a
//! zero-padded vector.

use wide::f32x8;

use crate::error::Error;
use crate::gemm::load_tail;
use crate::geometry::{AvgPoolDivisor, Pool2dGeometry};

/// f32 max pooling, same meaning as [`reference::max_pool2d_f32`](super::reference::max_pool2d_f32).
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

// ---- int8 ------------------------------------------------------------------------------------

use wide::{i8x16, i16x16};

use super::reference::{check_cells_i8, rounded_div};
use crate::quant::ActivationRange;

/// Loads up to 16 channels, filling missing lanes with `fill`.
#[inline(always)]
fn load_i8(cell: &[i8], fill: i8) -> i8x16 {
    match <&[i8; 16]>::try_from(cell) {
        Ok(v) => i8x16::from(*v),
        Err(_) => {
            let mut v = [fill; 16];
            v[..cell.len()].copy_from_slice(cell);
            i8x16::from(v)
        }
    }
}

/// int8 max pooling, 16 channels per `i8x16` max, same meaning as
/// [`reference::max_pool2d_i8`](super::reference::max_pool2d_i8) (bit-exact).
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn max_pool2d_i8(
    g: &Pool2dGeometry,
    range: ActivationRange,
    input: &[i8],
    output: &mut [i8],
) -> Result<(), Error> {
    let d = g.check(input.len(), output.len())?;
    let c = g.channels;
    let (lo, hi) = (i8x16::splat(range.min()), i8x16::splat(range.max()));
    for oy in 0..d.out_h {
        let (y0, y1) = g.rows(oy);
        for ox in 0..d.out_w {
            let (x0, x1) = g.cols(ox);
            let out = &mut output[(oy * d.out_w + ox) * c..][..c];
            for (c0, dst) in (0..c).step_by(16).zip(out.chunks_mut(16)) {
                let lanes = dst.len();
                let mut acc = i8x16::splat(i8::MIN);
                for y in y0..y1 {
                    for x in x0..x1 {
                        let cell = &input[(y * g.in_w + x) * c + c0..][..lanes];
                        acc = acc.max(load_i8(cell, i8::MIN));
                    }
                }
                let r = acc.max(lo).min(hi).to_array();
                dst.copy_from_slice(&r[..lanes]);
            }
        }
    }
    Ok(())
}

/// int8 average pooling, same meaning as
/// [`reference::avg_pool2d_i8`](super::reference::avg_pool2d_i8) (bit-exact): window sums of 16
/// channels at a time in `i16x16` lanes (exact for windows of up to 256 cells:
/// `256 · 128 = 2^15`), then TFLite's rounding division per channel. Windows of more than 256
/// cells sum in `i32`, one channel at a time.
///
/// # Errors
/// [`Error::InvalidGeometry`], [`Error::LengthMismatch`], or [`Error::AccumulatorOverflow`]
/// as the reference.
pub fn avg_pool2d_i8(
    g: &Pool2dGeometry,
    range: ActivationRange,
    input: &[i8],
    output: &mut [i8],
) -> Result<(), Error> {
    let d = g.check(input.len(), output.len())?;
    check_cells_i8(g)?;
    if g.kernel_h * g.kernel_w > 256 {
        return super::reference::avg_pool2d_i8(g, range, input, output);
    }
    let c = g.channels;
    for oy in 0..d.out_h {
        let (y0, y1) = g.rows(oy);
        for ox in 0..d.out_w {
            let (x0, x1) = g.cols(ox);
            let n = ((y1 - y0) * (x1 - x0)) as i32;
            let out = &mut output[(oy * d.out_w + ox) * c..][..c];
            for (c0, dst) in (0..c).step_by(16).zip(out.chunks_mut(16)) {
                let lanes = dst.len();
                let mut acc = i16x16::ZERO;
                for y in y0..y1 {
                    for x in x0..x1 {
                        let cell = &input[(y * g.in_w + x) * c + c0..][..lanes];
                        acc += i16x16::from_i8x16(load_i8(cell, 0));
                    }
                }
                for (o, &s) in dst.iter_mut().zip(acc.as_array()) {
                    *o = range.clamp(rounded_div(i32::from(s), n));
                }
            }
        }
    }
    Ok(())
}
