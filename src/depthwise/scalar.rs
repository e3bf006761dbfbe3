//! Depthwise convolution for targets without vector registers (Cortex-M, RISC-V): one output
//! channel at a time, over filters packed channel-major (`[C·M][KH][KW]`, each filter's taps
//! contiguous), so a filter's taps stay in registers while the channel's output pixels are swept.
//!
//! Interior pixels (every tap inside the image) walk each kernel row of the input with a fixed
//! stride and no bounds logic; for int8 the input offset is folded into the bias once per
//! channel (`acc = bias − zp·Σw + Σ x·w`, wrapping `i32` arithmetic, exact because the true sum
//! fits), so the inner loop is a load and a multiply-accumulate per tap (`ldrsb` + `mla`/`smlabb`
//! on thumbv7em). Border pixels clip the window to the image and add the offset per tap, as the
//! reference does.

use crate::activation::Activation;
use crate::conv::ConvStats;
use crate::conv::direct::interior_cols;
use crate::error::Error;
use crate::geometry::Conv2dGeometry;
use crate::quant::LayerParamsI8;

use super::{DepthwiseDims, Layout, check_pack, permute_f32, permute_i8, pixel_stats};

/// Scratch (`f32`s) of [`depthwise_conv2d_f32`]: none.
pub const fn scratch_len_f32(_g: &Conv2dGeometry) -> usize {
    0
}

/// Scratch (`i16`s) of [`depthwise_conv2d_i8`]: none.
pub const fn scratch_len_i8(_g: &Conv2dGeometry) -> usize {
    0
}

/// Canonical `[KH][KW][C·M]` filters to channel-major `[C·M][KH][KW]`.
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
    permute_f32(&d, g.out_c, canonical, packed, Layout::ChannelMajor);
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
    permute_i8(&d, g.out_c, canonical, packed, Layout::ChannelMajor);
    Ok(())
}

/// f32 depthwise convolution over channel-major filters ([`pack_weights_f32`]); same meaning
/// as [`reference::depthwise_conv2d_f32`](super::reference::depthwise_conv2d_f32) (and the same
/// summation order: bias, then taps in `(i, j)` order, no FMA), so results are equal.
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn depthwise_conv2d_f32(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    _scratch: &mut [f32],
    output: &mut [f32],
) -> Result<ConvStats, Error> {
    let d = g.depthwise_check(
        input.len(),
        packed.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    let mac = |acc: f32, x: f32, w: f32| acc + x * w;
    by_channel(
        g,
        &d,
        input,
        packed,
        output,
        |o, _| {
            let b = bias.map_or(0.0, |b| b[o]);
            (b, b)
        },
        (mac, mac),
        |_, acc| act.apply(acc),
    );
    Ok(pixel_stats(g, &d))
}

/// int8 depthwise convolution over channel-major filters ([`pack_weights_i8`]), bit-exact with
/// [`reference::depthwise_conv2d_i8`](super::reference::depthwise_conv2d_i8).
///
/// # Errors
/// [`Error::InvalidGeometry`], [`Error::LengthMismatch`] or [`Error::AccumulatorOverflow`].
pub fn depthwise_conv2d_i8(
    g: &Conv2dGeometry,
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    _scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let d = g.depthwise_check(
        input.len(),
        packed.len(),
        p.bias.map(<[i32]>::len),
        output.len(),
    )?;
    p.check(g.out_c, d.taps)?;
    let offset = p.input_offset();
    by_channel(
        g,
        &d,
        input,
        packed,
        output,
        |o, w: &[i8]| {
            let b = p.bias(o);
            let sum = w.iter().fold(0i32, |s, &v| s + i32::from(v));
            // bias + offset·Σw + Σ x·w = bias + Σ (x + offset)·w; partial sums may leave the
            // i32 range, the final one does not.
            (b.wrapping_add(offset.wrapping_mul(sum)), b)
        },
        (
            |acc: i32, x: i8, w: i8| acc.wrapping_add(i32::from(x) * i32::from(w)),
            |acc: i32, x: i8, w: i8| acc + (i32::from(x) + offset) * i32::from(w),
        ),
        |o, acc| p.requantize(o, acc),
    );
    Ok(pixel_stats(g, &d))
}

/// The kernel over any element type: for each output channel `o`, `init(o, filter)` gives the
/// accumulator's start for interior and for border pixels, `mac.0` adds an interior tap,
/// `mac.1` a border tap, `finish` writes the output.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn by_channel<X: Copy, A: Copy, O>(
    g: &Conv2dGeometry,
    d: &DepthwiseDims,
    input: &[X],
    packed: &[X],
    output: &mut [O],
    init: impl Fn(usize, &[X]) -> (A, A),
    mac: (impl Fn(A, X, X) -> A, impl Fn(A, X, X) -> A),
    finish: impl Fn(usize, A) -> O,
) {
    let (x_lo, x_hi) = interior_cols(g, d.out_w);
    let (kh, kw) = (g.kernel_h, g.kernel_w);
    // Input distance between two taps of a kernel row, and between two output pixels.
    let tap_step = g.dilation_w * g.in_c;
    let px_step = g.stride_w * g.in_c;
    let row_step = g.dilation_h * g.in_w * g.in_c;
    let row_len = d.out_w * g.out_c;
    for o in 0..g.out_c {
        let c = o / d.multiplier;
        let w = &packed[o * d.taps..][..d.taps];
        let (init_interior, init_border) = init(o, w);
        for oy in 0..d.out_h {
            let rows = g.valid_rows(oy);
            let out_row = &mut output[oy * row_len..][..row_len];
            let (lo, hi) = if rows == (0, kh) {
                (x_lo, x_hi)
            } else {
                (d.out_w, d.out_w)
            };
            for ox in (0..lo.min(d.out_w)).chain(hi.max(lo)..d.out_w) {
                let acc = border(g, input, w, c, (oy, ox), rows, init_border, &mac.1);
                out_row[ox * g.out_c + o] = finish(o, acc);
            }
            if lo >= hi {
                continue;
            }
            // Interior, two pixels at a time (each filter value loaded once for both): input
            // offset of tap (0, 0) of pixel `ox`.
            let iy0 = oy * g.stride_h - g.padding.top;
            let ix0 = lo * g.stride_w - g.padding.left;
            let mut at = (iy0 * g.in_w + ix0) * g.in_c + c;
            let mut ox = lo;
            while ox + 2 <= hi {
                let [acc0, acc1] = interior::<2, _, _>(
                    &input[at..],
                    w,
                    (kw, tap_step, row_step, px_step),
                    init_interior,
                    &mac.0,
                );
                out_row[ox * g.out_c + o] = finish(o, acc0);
                out_row[(ox + 1) * g.out_c + o] = finish(o, acc1);
                at += 2 * px_step;
                ox += 2;
            }
            if ox < hi {
                let [acc] = interior::<1, _, _>(
                    &input[at..],
                    w,
                    (kw, tap_step, row_step, px_step),
                    init_interior,
                    &mac.0,
                );
                out_row[ox * g.out_c + o] = finish(o, acc);
            }
        }
    }
}

/// `N` interior pixels `px_step` apart, the first one's tap (0, 0) at `input[0]`: every tap of
/// the filter `w` (`kw` per kernel row) is inside the image. Kept out of line so that its few
/// live values stay in registers on a Cortex-M (ldrsb, ldrsb, smlabb per tap and pixel).
#[inline(never)]
fn interior<const N: usize, X: Copy, A: Copy>(
    input: &[X],
    w: &[X],
    (kw, tap_step, row_step, px_step): (usize, usize, usize, usize),
    init: A,
    mac: &impl Fn(A, X, X) -> A,
) -> [A; N] {
    let mut acc = [init; N];
    for (i, wr) in w.chunks_exact(kw).enumerate() {
        let mut k = i * row_step;
        for &wv in wr {
            for (n, a) in acc.iter_mut().enumerate() {
                *a = mac(*a, input[k + n * px_step], wv);
            }
            k += tap_step;
        }
    }
    acc
}

/// One border pixel: the window clipped to the image.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn border<X: Copy, A: Copy>(
    g: &Conv2dGeometry,
    input: &[X],
    w: &[X],
    c: usize,
    (oy, ox): (usize, usize),
    (i0, i1): (usize, usize),
    init: A,
    mac: &impl Fn(A, X, X) -> A,
) -> A {
    let (j0, j1) = g.valid_cols(ox);
    let mut acc = init;
    for i in i0..i1 {
        let iy = oy * g.stride_h + i * g.dilation_h - g.padding.top;
        for j in j0..j1 {
            let ix = ox * g.stride_w + j * g.dilation_w - g.padding.left;
            acc = mac(
                acc,
                input[(iy * g.in_w + ix) * g.in_c + c],
                w[i * g.kernel_w + j],
            );
        }
    }
    acc
}
