//! int8 convolution for cores with a plain 32 × 32 → 32 multiply and nothing else (Arm
//! Cortex-M0/M0+, ARMv6-M `muls`): two 16-bit products per multiply, SIMD within a register.
//!
//! The input is widened once per call into the scratch as 32-bit **pair words**, channels-last
//! with the padding materialised: the word of padded position `(r, X, c)` is the integer
//! `u(r, X, c) + 2^16 · u(r, X + stride_w, c)`, where `u = −x` inside the image and `u = −zp`
//! (the input zero point) in the padding. For output pixel `x` and tap `(i, j, c)` the word at
//! `(y·stride_h + i·dilation_h, x·stride_w + j·dilation_w, c)` holds the tap's input for pixels
//! `x` (low half) and `x + 1` (high half), so one multiply by the weight `w` computes both
//! products: `word · w = u_x·w + 2^16 · u_{x+1}·w`.
//!
//! Two taps are summed that way before the halves are separated: with `u ∈ [−127, 128]` and
//! `w ∈ [−128, 127]` each product lies in `[−16384, 16256]`, a sum of two in
//! `[−32768, 32512]`, so the low half of `a = word_k·w_k + word_{k+1}·w_{k+1}` (sign-extended)
//! is exactly the low pixel's sum `L`, and `(a − L) >> 16` exactly the high pixel's. Per pair of
//! taps and two pixels: two word loads, two weight loads, two multiplies and one add, then
//! sign-extend, subtract, shift and two adds, where plain code needs four multiplies and four
//! adds besides the same loads and two sign extensions per word.
//!
//! The input zero point is folded into the bias: `acc = bias + Σ (x − zp)·w = (bias − zp·Σw) −
//! Σ u·w` over all taps, padded taps having `u = −zp` (wrapping `i32` arithmetic, exact because
//! the true accumulator fits `i32`). The inputs are negated so that `u` (not `x`, which reaches
//! −128) stays within `[−127, 128]`, whose products with weights in `[−128, 127]` fit the bound
//! above.
//!
//! Filters go one at a time over every pixel pair (the bias term, multiplier and `Σw` are
//! computed once per filter), so the weights are read in canonical order: packing is the identity.
//! [`conv2d_max_pool_i8`] fuses a 2×2, stride-2 max pooling into the output stage: both pixel
//! pairs of a pooling window, the maximum accumulator requantized once (exact: requantization is
//! monotone in the accumulator).

use crate::conv::ConvStats;
use crate::conv::pairs::{Padded, scratch_words};
use crate::error::{Error, check_len};
use crate::geometry::{Conv2dDims, Conv2dGeometry};
use crate::quant::LayerParamsI8;
use crate::quant::requantize_fast as requantize;

/// `i16` elements of scratch [`conv2d_i8`] and [`conv2d_max_pool_i8`] need for `g`: one 32-bit
/// pair word per element of the padded input, `(in_h + pad_top + pad_bottom) ·
/// (in_w + pad_left + pad_right) · in_c` words, and one word per weight of a filter
/// (`kh · kw · in_c`: the filter being computed, widened), as `2 · words + 1` `i16`s (the
/// words start at the first 4-byte-aligned element; saturating).
///
/// ```
/// use tinyconv::{Conv2dGeometry, Padding, conv::swar};
/// let conv1 = Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2));
/// assert_eq!(swar::scratch_len_i8(&conv1), 2 * (32 * 32 + 25) + 1);
/// ```
pub const fn scratch_len_i8(g: &Conv2dGeometry) -> usize {
    let patch = g.kernel_h.saturating_mul(g.kernel_w).saturating_mul(g.in_c);
    crate::conv::pairs::words_to_i16(Padded::of(g).total().saturating_add(patch))
}

/// The kernel reads the filters in canonical order `[out_c][kh][kw][in_c]`: a copy.
///
/// # Errors
/// [`Error::InvalidGeometry`], or [`Error::LengthMismatch`] if either slice is not
/// `out_c · kh · kw · in_c` long.
pub const fn pack_weights_i8(
    g: &Conv2dGeometry,
    canonical: &[i8],
    packed: &mut [i8],
) -> Result<(), Error> {
    if let Err(e) = super::check_pack_len(g, canonical.len(), packed.len()) {
        return Err(e);
    }
    packed.copy_from_slice(canonical);
    Ok(())
}

/// int8 convolution, bit-exact with [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8),
/// over weights packed by [`pack_weights_i8`], with [`scratch_len_i8`] elements of scratch (not
/// zeroed by the caller). Returns the output pixels computed as
/// [`ConvStats::interior_pixels`] (padding is in the widened input: every pixel takes the same
/// path).
///
/// # Errors
/// [`Error::InvalidGeometry`], [`Error::LengthMismatch`] (input, packed weights, bias, output,
/// multipliers), [`Error::AccumulatorOverflow`], or [`Error::ScratchTooSmall`].
pub fn conv2d_i8(
    g: &Conv2dGeometry,
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let (d, x_in, wide) = prepare(g, input, packed, p, scratch, output.len(), false)?;
    let walk = Walk::of(g);
    let x_in = &*x_in;
    let (out_w, out_c) = (d.out_w, g.out_c);
    for (o, w) in packed.chunks_exact(d.patch_len).enumerate() {
        let base = widen_filter(p, o, w, wide);
        let w = &*wide;
        for (y, row) in output.chunks_exact_mut(out_w * out_c).enumerate() {
            for x in (0..out_w).step_by(2) {
                let [s0, s1] = walk.pair(x_in, walk.pixel(y, x), w);
                row[x * out_c + o] = requantize(p, o, base.wrapping_sub(s0));
                if x + 1 < out_w {
                    row[(x + 1) * out_c + o] = requantize(p, o, base.wrapping_sub(s1));
                }
            }
        }
    }
    Ok(ConvStats {
        interior_pixels: d.out_h * d.out_w,
        ..ConvStats::default()
    })
}

/// The int8 convolution followed by a 2×2, stride-2 max pooling (no padding, windows past the
/// last full one dropped): `output` is `[out_h / 2][out_w / 2][out_c]`, equal to
/// [`conv2d_i8`] then [`pool::reference::max_pool2d_i8`](crate::pool::reference::max_pool2d_i8)
/// with a 2×2 window and stride 2. Same packed weights and scratch as [`conv2d_i8`]; the
/// convolution rows and columns the pooling drops are not computed. Returns the convolution
/// pixels computed.
///
/// # Errors
/// As [`conv2d_i8`]; [`Error::InvalidGeometry`] also if the convolution's output is smaller
/// than 2×2.
pub fn conv2d_max_pool_i8(
    g: &Conv2dGeometry,
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let (d, x_in, wide) = prepare(g, input, packed, p, scratch, output.len(), true)?;
    let walk = Walk::of(g);
    let x_in = &*x_in;
    let (pw, out_c) = (d.out_w / 2, g.out_c);
    for (o, w) in packed.chunks_exact(d.patch_len).enumerate() {
        let base = widen_filter(p, o, w, wide);
        let w = &*wide;
        for (py, row) in output.chunks_exact_mut(pw * out_c).enumerate() {
            for px in 0..pw {
                let [t0, t1] = walk.pair(x_in, walk.pixel(2 * py, 2 * px), w);
                let [b0, b1] = walk.pair(x_in, walk.pixel(2 * py + 1, 2 * px), w);
                // acc = base − s: the largest accumulator has the smallest sum.
                let s = t0.min(t1).min(b0.min(b1));
                row[px * out_c + o] = requantize(p, o, base.wrapping_sub(s));
            }
        }
    }
    Ok(ConvStats {
        interior_pixels: 4 * (d.out_h / 2) * pw,
        ..ConvStats::default()
    })
}

/// Widens the weights `w` of filter `o` into `wide` (one word each: loaded by one instruction
/// with an immediate offset, where a sign-extended byte takes two on ARMv6-M) and returns
/// `bias − zp · Σw`, wrapping.
fn widen_filter(p: &LayerParamsI8<'_>, o: usize, w: &[i8], wide: &mut [i32]) -> i32 {
    let mut sum = 0i32;
    for (d, &v) in wide.iter_mut().zip(w) {
        *d = i32::from(v);
        sum = sum.wrapping_add(*d);
    }
    p.bias(o)
        .wrapping_sub(i32::from(p.input_zero_point).wrapping_mul(sum))
}

/// Checks the arguments and widens the input into the scratch; returns the pair words and the
/// words for one filter's widened weights. `pooled`: the output is the 2×2-pooled one.
fn prepare<'s>(
    g: &Conv2dGeometry,
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    scratch: &'s mut [i16],
    output_len: usize,
    pooled: bool,
) -> Result<(Conv2dDims, &'s mut [i32], &'s mut [i32]), Error> {
    let d = g.dims()?;
    let expected_out = if pooled {
        if d.out_h < 2 || d.out_w < 2 {
            return Err(Error::InvalidGeometry(
                "2×2 pooling needs a convolution output of at least 2×2",
            ));
        }
        (d.out_h / 2) * (d.out_w / 2) * g.out_c
    } else {
        d.output_len
    };
    check_len("input", d.input_len, input.len())?;
    check_len("weights", d.weights_len, packed.len())?;
    check_len("output", expected_out, output_len)?;
    p.check(g.out_c, d.patch_len)?;
    let pad = Padded::of(g);
    let words = scratch_words(scratch, pad.total() + d.patch_len)?;
    let (words, wide) = words.split_at_mut(pad.total());
    widen(g, pad, input, i32::from(p.input_zero_point), words);
    Ok((d, words, wide))
}

/// Fills `words` with the pair words of `input` (see the module docs).
fn widen(g: &Conv2dGeometry, pad: Padded, input: &[i8], zp: i32, words: &mut [i32]) {
    // First the low halves alone: −x inside the image, −zp in the padding.
    words.fill(-zp);
    let (c_in, w) = (g.in_c, g.in_w);
    let first = g.padding.left * c_in;
    for (src, dst) in input
        .chunks_exact(w * c_in)
        .zip(words.chunks_exact_mut(pad.row_len).skip(g.padding.top))
    {
        for (d, &v) in dst[first..][..w * c_in].iter_mut().zip(src) {
            *d = -i32::from(v);
        }
    }
    // Then each word gets the low half of the word `stride_w` columns to its right as its high
    // half (still unmodified: the loop goes left to right); past the row's end, −zp.
    let shift = g.stride_w * c_in;
    for row in words.chunks_exact_mut(pad.row_len) {
        let n = row.len();
        for i in 0..n {
            let hi = if i + shift < n { row[i + shift] } else { -zp };
            row[i] = row[i].wrapping_add(hi << 16);
        }
    }
}

/// How a block walks the pair words: everything that depends only on the geometry.
#[derive(Clone, Copy, Debug)]
struct Walk {
    /// Distance between the kernel rows of one pixel (`dilation_h · row_len`).
    row_step: usize,
    /// Distance between output rows `y` and `y + 1` (`stride_h · row_len`).
    y_step: usize,
    /// Distance between the words of pixel pairs `(x, x + 1)` and `(x + 2, x + 3)`.
    pair_step: usize,
    /// Contiguous taps of a kernel row: `kernel_w · in_c` (dilation 1) or `in_c`.
    run: usize,
    /// Runs per kernel row: 1 or `kernel_w`.
    runs: usize,
    /// Distance between the runs of a kernel row (`dilation_w · in_c`).
    run_step: usize,
    kernel_h: usize,
}

impl Walk {
    fn of(g: &Conv2dGeometry) -> Self {
        let row_len = Padded::of(g).row_len;
        let dense = g.dilation_w == 1;
        Walk {
            row_step: g.dilation_h * row_len,
            y_step: g.stride_h * row_len,
            pair_step: 2 * g.stride_w * g.in_c,
            run: if dense { g.kernel_w * g.in_c } else { g.in_c },
            runs: if dense { 1 } else { g.kernel_w },
            run_step: g.dilation_w * g.in_c,
            kernel_h: g.kernel_h,
        }
    }

    /// Index of the first tap's word of output pixels `(y, x)`, `(y, x + 1)` (`x` even).
    #[inline(always)]
    fn pixel(&self, y: usize, x: usize) -> usize {
        y * self.y_step + x / 2 * self.pair_step
    }

    /// `[Σ u·w at pixel x, Σ u·w at pixel x + 1]` over one filter's taps (`w`), for the pixel
    /// pair whose first word is `at`.
    #[inline(always)]
    fn pair(&self, x_in: &[i32], at: usize, w: &[i32]) -> [i32; 2] {
        // Straight-line code for LeNet's kernels (5×5 over one and six channels) and 3×3 ones:
        // no loop overhead, immediate load offsets.
        let (step, kh) = (self.row_step, self.kernel_h);
        let sums = match (self.runs, self.run, kh) {
            (1, 5, 5) => filter_fixed::<5, 5, 25>(x_in, at, step, w),
            (1, 3, 3) => filter_fixed::<3, 3, 9>(x_in, at, step, w),
            (1, 30, _) => filter_rows::<30>(x_in, at, step, w, kh),
            _ => filter(self, x_in, at, w),
        };
        finish(sums)
    }
}

/// The sums of one filter at a pixel pair as `(Σ a, Σ h)` (see [`add_pair`]), any geometry.
#[inline(never)]
fn filter(walk: &Walk, x_in: &[i32], at: usize, w: &[i32]) -> (i32, i32) {
    let mut s = (0, 0);
    let run = walk.run;
    let mut wr = w.chunks_exact(run);
    let mut row = at;
    for _ in 0..walk.kernel_h {
        let mut start = row;
        for _ in 0..walk.runs {
            let Some(wk) = wr.next() else { return s };
            s = run_taps(s, &x_in[start..start + run], wk);
            start += walk.run_step;
        }
        row += walk.row_step;
    }
    s
}

/// [`filter`] for `KH` kernel rows of `RUN` contiguous taps (`N = RUN · KH` weights), written
/// out (two rows at a time when `RUN` is odd, so that the taps pair up). Used for small odd
/// rows (LeNet's conv1: 5 taps), where it beat [`filter_rows`]' loop (1.05 M against 1.23 M
/// instructions for conv1 on the micro:bit).
#[inline(never)]
fn filter_fixed<const RUN: usize, const KH: usize, const N: usize>(
    x_in: &[i32],
    at: usize,
    row_step: usize,
    w: &[i32],
) -> (i32, i32) {
    const { assert!(RUN * KH == N) }
    let row = |r: usize| -> (&[i32; RUN], &[i32; RUN]) {
        let start = at + r * row_step;
        (
            x_in[start..start + RUN].try_into().unwrap_or(&[0; RUN]),
            w[r * RUN..(r + 1) * RUN].try_into().unwrap_or(&[0; RUN]),
        )
    };
    let mut s = (0, 0);
    if RUN.is_multiple_of(2) {
        for r in 0..KH {
            let (x, w) = row(r);
            s = straight::<RUN, false>(s, x, w, x, w);
        }
    } else {
        for r in (0..KH - KH % 2).step_by(2) {
            let ((xa, wa), (xb, wb)) = (row(r), row(r + 1));
            s = straight::<RUN, true>(s, xa, wa, xb, wb);
        }
        if KH % 2 == 1 {
            let (x, w) = row(KH - 1);
            s = straight::<RUN, false>(s, x, w, x, w);
        }
    }
    s
}

/// [`filter`] for `kh` kernel rows of an even number `RUN` of contiguous taps: a loop over the
/// kernel rows, each straight-line code with immediate load offsets. (A loop rather than the
/// rows written out as in [`filter_fixed`]: for 5 rows of 30 taps LLVM's ARMv6-M schedule then
/// loads the taps of several rows first and spills them; measured 8 % fewer instructions.)
#[inline(never)]
fn filter_rows<const RUN: usize>(
    x_in: &[i32],
    at: usize,
    row_step: usize,
    w: &[i32],
    kh: usize,
) -> (i32, i32) {
    const { assert!(RUN.is_multiple_of(2)) }
    let mut s = (0, 0);
    let mut start = at;
    let mut r = 0;
    while r < kh {
        let x: &[i32; RUN] = x_in[start..start + RUN].try_into().unwrap_or(&[0; RUN]);
        // Weight rows by index (`chunks_exact` would divide, a library call on ARMv6-M).
        let wk: &[i32; RUN] = w
            .get(r * RUN..(r + 1) * RUN)
            .and_then(|v| v.try_into().ok())
            .unwrap_or(&[0; RUN]);
        s = straight::<RUN, false>(s, x, wk, x, wk);
        start += row_step;
        r += 1;
    }
    s
}

/// The taps of `(xa, wa)` followed, if `TWO`, by those of `(xb, wb)`, in pairs (a last single
/// tap when their number is odd). Fully unrolled.
#[inline(always)]
fn straight<const RUN: usize, const TWO: bool>(
    mut s: (i32, i32),
    xa: &[i32; RUN],
    wa: &[i32; RUN],
    xb: &[i32; RUN],
    wb: &[i32; RUN],
) -> (i32, i32) {
    let n = if TWO { 2 * RUN } else { RUN };
    let tap = |t: usize| {
        if t < RUN {
            xa[t].wrapping_mul(wa[t])
        } else {
            xb[t - RUN].wrapping_mul(wb[t - RUN])
        }
    };
    let mut t = 0;
    while t + 1 < n {
        s = add_pair(s, tap(t).wrapping_add(tap(t + 1)));
        t += 2;
    }
    if n % 2 == 1 {
        s = add_pair(s, tap(n - 1));
    }
    s
}

/// Adds one run of contiguous taps (`x`: pair words, `w`: weights, as long) to the sums.
#[inline(always)]
fn run_taps(mut s: (i32, i32), x: &[i32], w: &[i32]) -> (i32, i32) {
    let (xc, xt) = x.as_chunks::<2>();
    let (wc, wt) = w.as_chunks::<2>();
    for (xk, wk) in xc.iter().zip(wc) {
        let a = xk[0]
            .wrapping_mul(wk[0])
            .wrapping_add(xk[1].wrapping_mul(wk[1]));
        s = add_pair(s, a);
    }
    if let (Some(&v), Some(&wt)) = (xt.first(), wt.first()) {
        s = add_pair(s, v.wrapping_mul(wt));
    }
    s
}

/// Adds `a`, a sum of at most two products of a pair word and a weight (`L + 2^16·H` with `L`
/// and `H` in `[−32768, 32512]`, see the module docs), to the sums `(Σ a, Σ H)`: `H` is
/// `(a + 2^15) >> 16` because `L + 2^15 ∈ [0, 2^16)`. Both sums wrap; [`finish`] separates the
/// low pixel's `Σ L = Σ a − 2^16 · Σ H` at the end (exact modulo 2^32, and the true sum fits).
#[inline(always)]
fn add_pair(s: (i32, i32), a: i32) -> (i32, i32) {
    (
        s.0.wrapping_add(a),
        s.1.wrapping_add(a.wrapping_add(1 << 15) >> 16),
    )
}

/// `[Σ L, Σ H]` from the sums of [`add_pair`].
#[inline(always)]
fn finish(s: (i32, i32)) -> [i32; 2] {
    [s.0.wrapping_sub(s.1 << 16), s.1]
}
