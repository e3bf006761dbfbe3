//! int8 convolution for cores with a 16 × 16 + 32 multiply-accumulate that takes either half of
//! a register (Arm's DSP extension on Cortex-M4/M7/M33: `smlabb`, `smlatb`), in plain Rust.
//!
//! The input is widened once per call into the scratch as 32-bit **pair words**, channels-last
//! with the padding materialised as zeros: the word of padded position `(r, X, c)` holds
//! `x − input_zero_point` at `(r, X, c)` in its low half and at `(r, X + stride_w, c)` in its high
//! half. For output pixel `x` and tap `(i, j, c)` the word at `(y·stride_h + i·dilation_h,
//! x·stride_w + j·dilation_w, c)` therefore holds the tap's input for pixels `x` and `x + 1`: one
//! load feeds two pixels, and each weight, loaded once as a sign-extended byte, is multiplied with
//! both halves (LLVM selects `smlabb`/`smlatb` for `(word as i16 as i32) * w` and
//! `((word as i32) >> 16) * w`). A block computes 2 filters × 2 pixels (or × 2 × 2 pixels, the two
//! rows of a pooling window): per tap one (two) word loads, two byte loads and four (eight)
//! multiply-accumulates, 1.75 (1.5) instructions per MAC, with no test for padding. A kernel row
//! of a dilation-1 filter is one contiguous run of `kernel_w · in_c` words.
//!
//! (The words must be loaded as words: from `i16` memory LLVM loads the halves one by one. And
//! the schedule matters: built for the core, `-C target-cpu=cortex-m4`, LLVM keeps the
//! accumulators in registers; for a generic ARMv7E-M it spills them.)
//!
//! [`conv2d_max_pool_i8`] fuses a 2×2, stride-2 max pooling into the output stage: a block is a
//! pooling window, whose accumulators are reduced by `max` and requantized once per filter.
//! This is exact: requantization (a non-negative multiplier, rounding, the zero point and the
//! activation clamp) is monotone in the accumulator, so the maximum of the requantized values is
//! the requantized maximum.
//!
//! Weights are packed at compile time ([`pack_weights_i8`]) in the order the blocks read them.

use crate::conv::ConvStats;
use crate::error::{Error, check_len};
use crate::geometry::{Conv2dDims, Conv2dGeometry};
use crate::quant::LayerParamsI8;
use crate::quant::requantize_fast as requantize;

/// Filters per block.
const MR: usize = 2;

/// The pair words in the scratch: `[rows][cols][in_c]`, the padded input's shape.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Padded {
    pub(crate) row_len: usize,
    pub(crate) rows: usize,
}

impl Padded {
    pub(crate) const fn of(g: &Conv2dGeometry) -> Self {
        let cols = g.in_w + g.padding.left + g.padding.right;
        Padded {
            row_len: cols.saturating_mul(g.in_c),
            rows: g.in_h + g.padding.top + g.padding.bottom,
        }
    }

    /// Scratch words: `rows · row_len` (saturating).
    pub(crate) const fn total(&self) -> usize {
        self.rows.saturating_mul(self.row_len)
    }
}

/// `i16` elements of scratch [`conv2d_i8`] and [`conv2d_max_pool_i8`] need for `g`: one 32-bit
/// pair word per element of the padded input, i.e. `(in_h + pad_top + pad_bottom) ·
/// (in_w + pad_left + pad_right) · in_c` words, as `2 · words + 1` `i16`s (the kernel reads
/// the words from the first 4-byte-aligned element on; saturating).
///
/// ```
/// use tinyconv::{Conv2dGeometry, Padding, conv::pairs};
/// let conv1 = Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2));
/// assert_eq!(pairs::scratch_len_i8(&conv1), 2 * 32 * 32 + 1);
/// ```
pub const fn scratch_len_i8(g: &Conv2dGeometry) -> usize {
    words_to_i16(Padded::of(g).total())
}

/// `i16` elements that hold `words` aligned 32-bit words wherever the slice starts.
pub(crate) const fn words_to_i16(words: usize) -> usize {
    words.saturating_mul(2).saturating_add(1)
}

/// The 4-byte-aligned part of an `i16` scratch of at least [`words_to_i16`]`(words)` elements,
/// as `words` 32-bit words.
///
/// # Errors
/// [`Error::ScratchTooSmall`] if `scratch` is shorter than that.
pub(crate) fn scratch_words(scratch: &mut [i16], words: usize) -> Result<&mut [i32], Error> {
    let needed = words_to_i16(words);
    if scratch.len() < needed {
        return Err(Error::ScratchTooSmall {
            needed,
            actual: scratch.len(),
        });
    }
    // At most one element before the aligned part, so it holds at least `words` words.
    let (_, aligned, _) = bytemuck::pod_align_to_mut::<i16, i32>(scratch);
    Ok(&mut aligned[..words])
}

/// Rearranges canonical filters `[out_c][kh][kw][in_c]` into the order the blocks read them:
/// for each pair of filters `(o, o + 1)` and each tap `k` (canonical order), the two weights
/// `w[o][k]`, `w[o + 1][k]` together; a last odd filter as it is. A permutation (same length),
/// computed at compile time for `static` weights.
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
    let k = g.kernel_h * g.kernel_w * g.in_c;
    let mut o = 0;
    while o < g.out_c {
        let m = if o + 1 < g.out_c { MR } else { 1 };
        let mut t = 0;
        while t < k {
            let mut f = 0;
            while f < m {
                packed[o * k + t * m + f] = canonical[(o + f) * k + t];
                f += 1;
            }
            t += 1;
        }
        o += m;
    }
    Ok(())
}

/// int8 convolution, bit-exact with [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8),
/// over weights packed by [`pack_weights_i8`], with [`scratch_len_i8`] words of scratch (not
/// zeroed by the caller). Returns the output pixels computed ([`ConvStats::interior_pixels`]:
/// the blocks handle padding through the widened input, so every pixel is "interior").
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
    let (d, x_in) = prepare(g, input, packed, p, scratch, output.len(), false)?;
    let walk = Walk::of(g, &d);
    let x_in = &*x_in;
    let (out_w, out_c) = (d.out_w, g.out_c);
    for (y, row) in output.chunks_exact_mut(out_w * out_c).enumerate() {
        for x in (0..out_w).step_by(2) {
            let at = walk.pixel(y, x);
            let mut o = 0;
            while o < out_c {
                o += walk.block(packed, p, x_in, at, o, |f, [a0, a1]| {
                    row[x * out_c + o + f] = requantize(p, o + f, a0);
                    if x + 1 < out_w {
                        row[(x + 1) * out_c + o + f] = requantize(p, o + f, a1);
                    }
                });
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
    let (d, x_in) = prepare(g, input, packed, p, scratch, output.len(), true)?;
    let walk = Walk::of(g, &d);
    let x_in = &*x_in;
    let (pw, out_c) = (d.out_w / 2, g.out_c);
    for (py, row) in output.chunks_exact_mut(pw * out_c).enumerate() {
        for (px, out) in row.chunks_exact_mut(out_c).enumerate() {
            let (top, bottom) = (walk.pixel(2 * py, 2 * px), walk.pixel(2 * py + 1, 2 * px));
            let mut max = [0i32; MR];
            let mut o = 0;
            while o < out_c {
                walk.block(packed, p, x_in, top, o, |f, [a0, a1]| max[f] = a0.max(a1));
                o += walk.block(packed, p, x_in, bottom, o, |f, [a0, a1]| {
                    out[o + f] = requantize(p, o + f, max[f].max(a0.max(a1)));
                });
            }
        }
    }
    Ok(ConvStats {
        interior_pixels: 4 * (d.out_h / 2) * pw,
        ..ConvStats::default()
    })
}

/// Checks the arguments and widens the input into the scratch (returned as pair words).
/// `pooled`: the output is the 2×2-pooled one.
fn prepare<'s>(
    g: &Conv2dGeometry,
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    scratch: &'s mut [i16],
    output_len: usize,
    pooled: bool,
) -> Result<(Conv2dDims, &'s mut [i32]), Error> {
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
    let scratch = scratch_words(scratch, pad.total())?;
    scratch.fill(0);
    let offset = p.input_offset();
    let (c_in, w) = (g.in_c, g.in_w);
    // x − zp (|x − zp| ≤ 255 fits the half-word) at its position and, in the high half, in the
    // word `stride_w` columns to the left (that word's right-hand pixel).
    let widen = |v: i8| (i32::from(v) + offset) as u16 as u32;
    let first = g.padding.left * c_in;
    let shift = g.stride_w * c_in;
    let (from, skip) = (first.saturating_sub(shift), shift.saturating_sub(first));
    for (src, dst) in input
        .chunks_exact(w * c_in)
        .zip(scratch.chunks_exact_mut(pad.row_len).skip(g.padding.top))
    {
        for (d, &v) in dst[first..][..w * c_in].iter_mut().zip(src) {
            *d = widen(v) as i32;
        }
        for (d, &v) in dst[from..].iter_mut().zip(src.get(skip..).unwrap_or(&[])) {
            *d |= (widen(v) << 16) as i32;
        }
    }
    Ok((d, scratch))
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
    /// Taps per filter.
    k: usize,
    out_c: usize,
}

impl Walk {
    fn of(g: &Conv2dGeometry, d: &Conv2dDims) -> Self {
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
            k: d.patch_len,
            out_c: g.out_c,
        }
    }

    /// Index of the first tap's word of output pixels `(y, x)`, `(y, x + 1)` (`x` even).
    #[inline(always)]
    fn pixel(&self, y: usize, x: usize) -> usize {
        y * self.y_step + x / 2 * self.pair_step
    }

    /// Filters `o`, `o + 1` (or the last one alone) at the pixel pair whose first word is
    /// `at`: `emit(f, [acc0, acc1])` for each of them, bias included. Returns how many filters.
    #[inline(always)]
    fn block(
        &self,
        packed: &[i8],
        p: &LayerParamsI8<'_>,
        x_in: &[i32],
        at: usize,
        o: usize,
        mut emit: impl FnMut(usize, [i32; 2]),
    ) -> usize {
        let k = self.k;
        if o + 1 < self.out_c {
            let w = &packed[o * k..(o + MR) * k];
            let bias = (p.bias(o), p.bias(o + 1));
            let [a0, a1, b0, b1] = match (self.runs, self.run) {
                (1, 3) => rows_fixed::<3>(self, x_in, at, w, bias),
                (1, 5) => rows_fixed::<5>(self, x_in, at, w, bias),
                _ => filter_pair(self, x_in, at, w, bias),
            };
            emit(0, [a0, a1]);
            emit(1, [b0, b1]);
            MR
        } else {
            let w = &packed[o * k..(o + 1) * k];
            emit(0, single(self, x_in, at, w, p.bias(o)));
            1
        }
    }
}

/// Filters `o`, `o + 1` (`w`: their packed weights) at the pixel pair at `at`: the kernel rows
/// one after the other, each a loop over its runs of contiguous taps. Returns the accumulators
/// `[o at x, o at x + 1, o + 1 at x, o + 1 at x + 1]`.
#[inline(never)]
fn filter_pair(walk: &Walk, x_in: &[i32], at: usize, w: &[i8], bias: (i32, i32)) -> [i32; 4] {
    // Bias as scalars and the accumulators local: an array argument is passed by reference,
    // and LLVM would store the accumulators through it after every kernel row.
    let mut acc = [bias.0, bias.0, bias.1, bias.1];
    let run = walk.run;
    let mut wi = 0;
    let mut row = at;
    for _ in 0..walk.kernel_h {
        let mut start = row;
        for _ in 0..walk.runs {
            acc = run_taps(acc, &x_in[start..start + run], &w[wi..wi + MR * run]);
            wi += MR * run;
            start += walk.run_step;
        }
        row += walk.row_step;
    }
    acc
}

/// [`filter_pair`] for kernel rows of `RUN` contiguous taps (one input channel, 3 or 5 wide):
/// each kernel row is straight-line code.
#[inline(never)]
fn rows_fixed<const RUN: usize>(
    walk: &Walk,
    x_in: &[i32],
    at: usize,
    w: &[i8],
    bias: (i32, i32),
) -> [i32; 4] {
    let mut acc = [bias.0, bias.0, bias.1, bias.1];
    let mut row = at;
    for wk in w.chunks_exact(MR * RUN) {
        for (&v, wt) in x_in[row..row + RUN].iter().zip(wk.chunks_exact(MR)) {
            acc = mac(acc, v, wt[0], wt[1]);
        }
        row += walk.row_step;
    }
    acc
}

/// One run of taps (`w` twice as long as `x`), in chunks of 6 taps written out (LLVM keeps the
/// loop over chunks rolled: the accumulators stay in registers, one branch per 24
/// multiply-accumulates).
#[inline(always)]
fn run_taps(mut acc: [i32; 4], x: &[i32], w: &[i8]) -> [i32; 4] {
    const CHUNK: usize = 6;
    let (xc, xt) = x.as_chunks::<CHUNK>();
    let (wc, wt) = w.as_chunks::<{ MR * CHUNK }>();
    for (xk, wk) in xc.iter().zip(wc) {
        for t in 0..CHUNK {
            acc = mac(acc, xk[t], wk[MR * t], wk[MR * t + 1]);
        }
    }
    for (&v, wk) in xt.iter().zip(wt.chunks_exact(MR)) {
        acc = mac(acc, v, wk[0], wk[1]);
    }
    acc
}

/// One tap of filters `o`, `o + 1` (weights `w0`, `w1`) at a pixel pair (word `v`).
#[inline(always)]
fn mac(acc: [i32; 4], v: i32, w0: i8, w1: i8) -> [i32; 4] {
    let (lo, hi) = (i32::from(v as i16), v >> 16);
    let (w0, w1) = (i32::from(w0), i32::from(w1));
    // |x − zp| · |w| ≤ 255 · 128, and check_accumulator bounds the sums.
    [
        acc[0] + lo * w0,
        acc[1] + hi * w0,
        acc[2] + lo * w1,
        acc[3] + hi * w1,
    ]
}

/// One filter (the last of an odd count) at the pixel pair at `at`, any geometry.
#[inline(never)]
fn single(walk: &Walk, x_in: &[i32], at: usize, w: &[i8], bias: i32) -> [i32; 2] {
    let (mut a0, mut a1) = (bias, bias);
    let mut wr = w.chunks_exact(walk.run);
    let mut row = at;
    for _ in 0..walk.kernel_h {
        let mut start = row;
        for _ in 0..walk.runs {
            let Some(wk) = wr.next() else { return [a0, a1] };
            for (&v, &wt) in x_in[start..start + walk.run].iter().zip(wk) {
                a0 += i32::from(v as i16) * i32::from(wt);
                a1 += (v >> 16) * i32::from(wt);
            }
            start += walk.run_step;
        }
        row += walk.row_step;
    }
    [a0, a1]
}
