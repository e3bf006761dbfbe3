//! The reference depthwise convolution: plain loops straight from the formula, over canonical
//! `[KH][KW][C·M]` filters. The oracle of [`simd`](super::simd) and [`scalar`](super::scalar).

use crate::activation::Activation;
use crate::conv::ConvStats;
use crate::error::Error;
use crate::geometry::Conv2dGeometry;
use crate::quant::LayerParamsI8;

use super::{Layout, check_pack, permute_f32, permute_i8};

/// Depthwise convolution over any element type with a caller-chosen accumulator:
/// `out[y][x][o] = finish(o, fold(init(o), mac, taps))`, `mac(acc, input, weight)` applied to
/// every tap inside the image in the order `(i, j)`; padded taps are skipped. Input channel
/// `o / M` feeds output channel `o`. Layouts as in the [module docs](super).
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`] (nothing is written then).
pub fn depthwise_conv2d_with<X: Copy, W: Copy, A, O>(
    g: &Conv2dGeometry,
    input: &[X],
    weights: &[W],
    output: &mut [O],
    init: impl Fn(usize) -> A,
    mac: impl Fn(A, X, W) -> A,
    finish: impl Fn(usize, A) -> O,
) -> Result<(), Error> {
    let d = g.depthwise_check(input.len(), weights.len(), None, output.len())?;
    for oy in 0..d.out_h {
        for ox in 0..d.out_w {
            for o in 0..g.out_c {
                let c = o / d.multiplier;
                let mut acc = init(o);
                for i in 0..g.kernel_h {
                    let Some(iy) = g.input_row(oy, i) else {
                        continue;
                    };
                    for j in 0..g.kernel_w {
                        let Some(ix) = g.input_col(ox, j) else {
                            continue;
                        };
                        let x = input[(iy * g.in_w + ix) * g.in_c + c];
                        let w = weights[(i * g.kernel_w + j) * g.out_c + o];
                        acc = mac(acc, x, w);
                    }
                }
                output[(oy * d.out_w + ox) * g.out_c + o] = finish(o, acc);
            }
        }
    }
    Ok(())
}

/// Scratch (`f32`s) of [`depthwise_conv2d_f32`]: none.
pub const fn scratch_len_f32(_g: &Conv2dGeometry) -> usize {
    0
}

/// Scratch (`i16`s) of [`depthwise_conv2d_i8`]: none.
pub const fn scratch_len_i8(_g: &Conv2dGeometry) -> usize {
    0
}

/// The reference reads canonical `[KH][KW][C·M]` filters: a copy.
///
/// # Errors
/// [`Error::InvalidGeometry`] for an invalid depthwise geometry; [`Error::LengthMismatch`]
/// unless both buffers hold `kh · kw · out_c` values.
pub const fn pack_weights_f32(
    g: &Conv2dGeometry,
    canonical: &[f32],
    packed: &mut [f32],
) -> Result<(), Error> {
    let d = match check_pack(g, canonical.len(), packed.len()) {
        Ok(d) => d,
        Err(e) => return Err(e),
    };
    permute_f32(&d, g.out_c, canonical, packed, Layout::Canonical);
    Ok(())
}

/// As [`pack_weights_f32`] for `i8`.
///
/// # Errors
/// As [`pack_weights_f32`].
pub const fn pack_weights_i8(
    g: &Conv2dGeometry,
    canonical: &[i8],
    packed: &mut [i8],
) -> Result<(), Error> {
    let d = match check_pack(g, canonical.len(), packed.len()) {
        Ok(d) => d,
        Err(e) => return Err(e),
    };
    permute_i8(&d, g.out_c, canonical, packed, Layout::Canonical);
    Ok(())
}

/// f32 depthwise convolution with a fused activation: `out = act(bias + Σ w·x)`, summed
/// bias first, then taps in `(i, j)` order.
///
/// ```
/// use tinyconv::{Activation, Conv2dGeometry, depthwise::reference};
/// // Two channels, multiplier 1, a 1×2 filter per channel: [1, 1] and [1, −1].
/// let g = Conv2dGeometry::depthwise([1, 3, 2], 1, [1, 2]);
/// let x = [1.0, 10.0, 2.0, 20.0, 4.0, 40.0];
/// let w = [1.0, 1.0, 1.0, -1.0]; // [kh][kw][c]
/// let mut y = [0.0; 4];
/// reference::depthwise_conv2d_f32(&g, &x, &w, None, Activation::Identity, &mut [], &mut y)
///     .unwrap();
/// assert_eq!(y, [3.0, -10.0, 6.0, -20.0]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn depthwise_conv2d_f32(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    _scratch: &mut [f32],
    output: &mut [f32],
) -> Result<ConvStats, Error> {
    g.depthwise_check(
        input.len(),
        weights.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    depthwise_conv2d_with(
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

/// int8 depthwise convolution, per-channel quantized, exactly as TFLite's reference
/// `reference_integer_ops::DepthwiseConvPerChannel`:
///
/// ```text
/// acc = bias[o] + Σ_{taps inside the image} (x[o / M] − input_zero_point) · w[o]     (i32)
/// out = clamp(MultiplyByQuantizedMultiplier(acc, M[o]) + output_zero_point, range)
/// ```
///
/// ```
/// use tinyconv::{Conv2dGeometry, depthwise::reference, quant::{LayerParamsI8, QuantizedMultiplier}};
/// // One channel, multiplier 2: filters [1, 1] and [1, −1] over 1×3; input zero point −1.
/// let g = Conv2dGeometry::depthwise([1, 3, 1], 2, [1, 2]);
/// let p = LayerParamsI8::new(-1, 0, &[QuantizedMultiplier::ONE], Some(&[100, 0]));
/// let mut y = [0i8; 4];
/// reference::depthwise_conv2d_i8(&g, &[1, 3, 7], &[1, 1, 1, -1], &p, &mut [], &mut y).unwrap();
/// // (1+1) + (3+1) + 100 = 106, (1+1) − (3+1) = −2; then 4 + 8 + 100 = 112, 4 − 8 = −4.
/// assert_eq!(y, [106, -2, 112, -4]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`], [`Error::LengthMismatch`] (input, weights, bias, output,
/// multipliers), or [`Error::AccumulatorOverflow`] (`kh · kw · 255 · 128 + |bias| > i32::MAX`).
pub fn depthwise_conv2d_i8(
    g: &Conv2dGeometry,
    input: &[i8],
    weights: &[i8],
    p: &LayerParamsI8<'_>,
    _scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let d = g.depthwise_check(
        input.len(),
        weights.len(),
        p.bias.map(<[i32]>::len),
        output.len(),
    )?;
    p.check(g.out_c, d.taps)?;
    let offset = p.input_offset();
    depthwise_conv2d_with(
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
