//! The reference convolution: plain loops straight from the formula. It is the oracle every
//! other algorithm is tested against, so it stays simple: no SIMD, no tiling, no reordering.

use core::ops::{Add, Mul};

use num_traits::Zero;

use crate::activation::Activation;
use crate::conv::{ConvStats, check_pack_len};
use crate::error::Error;
use crate::geometry::Conv2dGeometry;
use crate::quant::LayerParamsI8;

/// The reference reads filters in the canonical `[c_out][kh][kw][c_in]` layout: packing is a
/// copy (after checking both lengths).
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub const fn pack_weights_f32(
    g: &Conv2dGeometry,
    canonical: &[f32],
    packed: &mut [f32],
) -> Result<(), Error> {
    match check_pack_len(g, canonical.len(), packed.len()) {
        Ok(_) => {
            packed.copy_from_slice(canonical);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The canonical layout, as [`pack_weights_f32`].
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub const fn pack_weights_i8(
    g: &Conv2dGeometry,
    canonical: &[i8],
    packed: &mut [i8],
) -> Result<(), Error> {
    match check_pack_len(g, canonical.len(), packed.len()) {
        Ok(_) => {
            packed.copy_from_slice(canonical);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The reference needs no scratch: 0.
pub const fn scratch_len_i8(g: &Conv2dGeometry) -> usize {
    let _ = g;
    0
}

/// Convolution over any element type with a caller-chosen accumulator:
/// `out[y][x][o] = finish(o, fold(init(o), mac, taps))` where `mac(acc, input, weight)` is
/// applied to every tap inside the image in the order `(i, j, c)`; padded taps are skipped (they
/// contribute nothing, as zero input does for f32 and as TFLite's int8 kernels require).
///
/// This is the generic core of the f32 and int8 references. Layouts as in [`Conv2dGeometry`].
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`] (nothing is written then).
pub fn conv2d_with<X: Copy, W: Copy, A, O>(
    g: &Conv2dGeometry,
    input: &[X],
    weights: &[W],
    output: &mut [O],
    init: impl Fn(usize) -> A,
    mac: impl Fn(A, X, W) -> A,
    finish: impl Fn(usize, A) -> O,
) -> Result<(), Error> {
    let d = g.check(input.len(), weights.len(), None, output.len())?;
    for oy in 0..d.out_h {
        for ox in 0..d.out_w {
            for o in 0..g.out_c {
                let mut acc = init(o);
                for i in 0..g.kernel_h {
                    let Some(iy) = g.input_row(oy, i) else {
                        continue;
                    };
                    for j in 0..g.kernel_w {
                        let Some(ix) = g.input_col(ox, j) else {
                            continue;
                        };
                        for c in 0..g.in_c {
                            let x = input[(iy * g.in_w + ix) * g.in_c + c];
                            let w = weights[((o * g.kernel_h + i) * g.kernel_w + j) * g.in_c + c];
                            acc = mac(acc, x, w);
                        }
                    }
                }
                output[(oy * d.out_w + ox) * g.out_c + o] = finish(o, acc);
            }
        }
    }
    Ok(())
}

/// Convolution over any numeric type: `out = bias + Σ w·x` (cross-correlation, as PyTorch and
/// TFLite), bias optional.
///
/// ```
/// use tinyconv::{Conv2dGeometry, conv::reference};
/// // The chapter's corr2d: X = 0..9 as 3×3, K = [[0, 1], [2, 3]].
/// let x: [i32; 9] = core::array::from_fn(|i| i as i32);
/// let mut y = [0i32; 4];
/// let g = Conv2dGeometry::new([3, 3, 1], 1, [2, 2]);
/// reference::conv2d(&g, &x, &[0, 1, 2, 3], None, &mut y).unwrap();
/// assert_eq!(y, [19, 25, 37, 43]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn conv2d<T>(
    g: &Conv2dGeometry,
    input: &[T],
    weights: &[T],
    bias: Option<&[T]>,
    output: &mut [T],
) -> Result<(), Error>
where
    T: Copy + Zero + Add<Output = T> + Mul<Output = T>,
{
    g.check(
        input.len(),
        weights.len(),
        bias.map(<[T]>::len),
        output.len(),
    )?;
    conv2d_with(
        g,
        input,
        weights,
        output,
        |o| bias.map_or(T::zero(), |b| b[o]),
        |acc, x, w| acc + x * w,
        |_, acc| acc,
    )
}

/// f32 convolution with a fused activation: `out = act(bias + Σ w·x)`. `scratch` is unused (it
/// may be empty); the signature is the one every convolution kernel has.
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn conv2d_f32(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    scratch: &mut [f32],
    output: &mut [f32],
) -> Result<ConvStats, Error> {
    let _ = scratch;
    g.check(
        input.len(),
        weights.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    conv2d_with(
        g,
        input,
        weights,
        output,
        |o| bias.map_or(0.0, |b| b[o]),
        |acc, x, w| acc + x * w,
        |_, acc| act.apply(acc),
    )?;
    Ok(ConvStats::default())
}

/// int8 convolution, per-channel quantized, exactly as TFLite's reference
/// `reference_integer_ops::ConvPerChannel`:
///
/// ```text
/// acc = bias[o] + Σ_{taps inside the image} (x − input_zero_point) · w      (i32)
/// out = clamp(MultiplyByQuantizedMultiplier(acc, M[o]) + output_zero_point, range)
/// ```
///
/// Padded taps contribute nothing (the input offset is applied only inside the image). Layouts
/// as [`conv2d_f32`]; parameters in [`LayerParamsI8`].
///
/// ```
/// use tinyconv::{Conv2dGeometry, conv::reference, quant::{LayerParamsI8, QuantizedMultiplier}};
/// // 2×2 input, one 1×2 filter [1, −1], input zero point −1, multiplier 1 (exact), output zp 3.
/// let g = Conv2dGeometry::new([2, 2, 1], 1, [1, 2]);
/// let p = LayerParamsI8::new(-1, 3, &[QuantizedMultiplier::ONE], Some(&[10]));
/// let mut y = [0i8; 2];
/// reference::conv2d_i8(&g, &[5, 2, -1, 7], &[1, -1], &p, &mut [], &mut y).unwrap();
/// // row 0: 10 + (5+1) − (2+1) = 13 → 16; row 1: 10 + 0 − 8 = 2 → 5
/// assert_eq!(y, [16, 5]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`], [`Error::LengthMismatch`] (input, weights, bias, output,
/// multipliers), or [`Error::AccumulatorOverflow`] (see
/// [`check_accumulator`](crate::quant::check_accumulator)).
pub fn conv2d_i8(
    g: &Conv2dGeometry,
    input: &[i8],
    weights: &[i8],
    p: &LayerParamsI8<'_>,
    scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let _ = scratch;
    let d = g.check(
        input.len(),
        weights.len(),
        p.bias.map(<[i32]>::len),
        output.len(),
    )?;
    p.check(g.out_c, d.patch_len)?;
    let offset = p.input_offset();
    conv2d_with(
        g,
        input,
        weights,
        output,
        |o| p.bias(o),
        |acc, x: i8, w: i8| acc + (i32::from(x) + offset) * i32::from(w),
        |o, acc| p.requantize(o, acc),
    )?;
    Ok(ConvStats::default())
}
