//! f32 convolution for targets without vector registers (Cortex-M4F/M7 with a single-precision
//! FPU, RISC-V, Cortex-M0 with soft float): plain scalar loops, register-blocked.
//!
//! There `wide::f32x8` is an array of eight `f32`s: the vector kernels' accumulators live in
//! memory and every vector operation is eight scalar ones plus loads and stores. This kernel
//! instead keeps a block of **4 filters × 4 output pixels** (the 2×2 pixels of one pooling
//! window: rows `y`, `y + 1`, columns `x`, `x + 1`) in 16 scalar accumulators; per tap it
//! loads 4 inputs and 4 weights and does 16 multiply-adds (the Cortex-M4F has 32
//! single-precision registers: 16 accumulators + 8 operands fit). The last `out_c mod 4`
//! filters are blocks of 2 and 1.
//!
//! - **Weights** are packed at compile time ([`pack_weights_f32`]) in the order a block reads
//!   them: for each group of 4 filters (then 2, then 1) and each tap in canonical `(i, j, c)`
//!   order, the group's weights side by side.
//! - **Padding**: a padded layer's input is copied once per call into the scratch with its
//!   zero border ([`scratch_len_f32`]), so no tap is ever tested; an unpadded layer is read in
//!   place (no scratch). A kernel row of a dilation-1 filter is one contiguous run of
//!   `kernel_w · in_c` values per pixel.
//! - **Output stage**: bias is the accumulators' initial value; [`conv2d_f32`] applies the
//!   activation per value, [`conv2d_pool2_f32`] pools the block's four pixels first (max: the
//!   maximum then the activation, every activation being non-decreasing; average: the
//!   activated values' mean in the reference's order, see [`pool_stage`](super::pool_stage)),
//!   so the convolution's output never exists.
//!
//! Odd output sizes: a block whose second row or column lies outside the output repeats the
//! last one and discards its results.

#![allow(clippy::needless_range_loop)]
use super::pool_stage::{Pool2x2, check_pooled};
use crate::activation::Activation;
use crate::conv::ConvStats;
use crate::error::Error;
use crate::geometry::{Conv2dDims, Conv2dGeometry};

/// Filters per full block.
const MR: usize = 4;

/// Filters in the group that starts with `left` filters to go: 4, then 2, then 1.
const fn group(left: usize) -> usize {
    if left >= MR {
        MR
    } else if left >= 2 {
        2
    } else {
        1
    }
}

/// True if `g` has any padding.
const fn padded(g: &Conv2dGeometry) -> bool {
    let p = g.padding;
    p.top != 0 || p.bottom != 0 || p.left != 0 || p.right != 0
}

/// Values per row of the padded input: `(in_w + pad_left + pad_right) · in_c` (saturating).
const fn padded_row_len(g: &Conv2dGeometry) -> usize {
    g.in_w
        .saturating_add(g.padding.left)
        .saturating_add(g.padding.right)
        .saturating_mul(g.in_c)
}

/// Elements of `f32` scratch [`conv2d_f32`] and [`conv2d_pool2_f32`] need for `g`: the padded
/// input, `(in_h + pad_top + pad_bottom) · (in_w + pad_left + pad_right) · in_c` values, or 0
/// for an unpadded layer (read in place). Saturating.
///
/// ```
/// use tinyconv::conv::scalar;
/// use tinyconv::models::lenet5::{CONV1, CONV2};
/// assert_eq!(scalar::scratch_len_f32(&CONV1), 32 * 32);
/// assert_eq!(scalar::scratch_len_f32(&CONV2), 0);
/// ```
pub const fn scratch_len_f32(g: &Conv2dGeometry) -> usize {
    if !padded(g) {
        return 0;
    }
    g.in_h
        .saturating_add(g.padding.top)
        .saturating_add(g.padding.bottom)
        .saturating_mul(padded_row_len(g))
}

/// Rearranges canonical filters `[out_c][kh][kw][in_c]` into the order the blocks read them:
/// groups of 4 filters (the last `out_c mod 4` as groups of 2 and 1), each group tap by tap in
/// canonical order with the group's weights for that tap side by side. A permutation (same
/// length), computed at compile time for `static` weights.
///
/// # Errors
/// [`Error::InvalidGeometry`], or [`Error::LengthMismatch`] if either slice is not
/// `out_c · kh · kw · in_c` long.
pub const fn pack_weights_f32(
    g: &Conv2dGeometry,
    canonical: &[f32],
    packed: &mut [f32],
) -> Result<(), Error> {
    if let Err(e) = super::check_pack_len(g, canonical.len(), packed.len()) {
        return Err(e);
    }
    let k = g.kernel_h * g.kernel_w * g.in_c;
    let mut o = 0;
    while o < g.out_c {
        let m = group(g.out_c - o);
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

/// f32 convolution `out = act(bias + Σ w·x)`, same meaning as
/// [`reference::conv2d_f32`](crate::conv::reference::conv2d_f32), over weights packed by
/// [`pack_weights_f32`], with [`scratch_len_f32`] elements of scratch (need not be zeroed).
/// Returns the output pixels computed ([`ConvStats::interior_pixels`]: padding is
/// materialised, so every pixel takes the same path).
///
/// Padded taps are zeros multiplied like any other value (as in
/// [`im2col`](crate::conv::im2col)): with an infinite or NaN weight a pixel whose window reaches
/// into the padding is NaN.
///
/// # Errors
/// [`Error::InvalidGeometry`], [`Error::LengthMismatch`], or [`Error::ScratchTooSmall`].
pub fn conv2d_f32(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    scratch: &mut [f32],
    output: &mut [f32],
) -> Result<ConvStats, Error> {
    let d = g.check(
        input.len(),
        packed.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    let x = source(g, input, scratch)?;
    let walk = Walk::of(g, &d);
    let (out_h, out_w, out_c) = (d.out_h, d.out_w, g.out_c);
    let mut acc = [[0.0f32; 4]; MR];
    for y in (0..out_h).step_by(2) {
        let y1 = (y + 1).min(out_h - 1);
        for x0 in (0..out_w).step_by(2) {
            let x1 = (x0 + 1).min(out_w - 1);
            let at = [
                walk.pixel(y, x0),
                walk.pixel(y, x1),
                walk.pixel(y1, x0),
                walk.pixel(y1, x1),
            ];
            let idx = [
                (y * out_w + x0) * out_c,
                (y * out_w + x1) * out_c,
                (y1 * out_w + x0) * out_c,
                (y1 * out_w + x1) * out_c,
            ];
            // Pixels repeated at an odd edge are stored twice with the same value.
            walk.filters(x, packed, bias, at, &mut acc, |o, acc| {
                for (&i, &a) in idx.iter().zip(&acc) {
                    output[i + o] = activate(act, a);
                }
            });
        }
    }
    Ok(ConvStats {
        interior_pixels: out_h * out_w,
        ..ConvStats::default()
    })
}

/// The convolution followed by a 2×2, stride-2 pooling in one pass (see
/// [`pool_stage`](super::pool_stage)): `output` is the pooled `[out_h / 2][out_w / 2][out_c]`
/// map; the convolution rows and columns the pooling drops are not computed. Same packed
/// weights and scratch as [`conv2d_f32`]. Returns the convolution pixels computed.
///
/// # Errors
/// As [`conv2d_f32`]; [`Error::InvalidGeometry`] also if the convolution's output is smaller
/// than 2×2.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_pool2_f32(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    pool: Pool2x2,
    scratch: &mut [f32],
    output: &mut [f32],
) -> Result<ConvStats, Error> {
    let (d, ph, pw) = check_pooled(
        g,
        input.len(),
        packed.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    let x = source(g, input, scratch)?;
    let walk = Walk::of(g, &d);
    let out_c = g.out_c;
    let mut acc = [[0.0f32; 4]; MR];
    for (py, row) in output.chunks_exact_mut(pw * out_c).enumerate() {
        let y = 2 * py;
        for (px, out) in row.chunks_exact_mut(out_c).enumerate() {
            let x0 = 2 * px;
            let at = [
                walk.pixel(y, x0),
                walk.pixel(y, x0 + 1),
                walk.pixel(y + 1, x0),
                walk.pixel(y + 1, x0 + 1),
            ];
            walk.filters(x, packed, bias, at, &mut acc, |o, [a, b, c, e]| {
                out[o] = match pool {
                    Pool2x2::Max => activate(act, max(max(a, b), max(c, e))),
                    Pool2x2::Avg => {
                        let f = |v| activate(act, v);
                        (((f(a) + f(b)) + f(c)) + f(e)) * 0.25
                    }
                };
            });
        }
    }
    Ok(ConvStats {
        interior_pixels: 4 * ph * pw,
        ..ConvStats::default()
    })
}

/// `a` if it is larger, else `b` (one compare and select; a NaN may or may not win, as in
/// [`pool::simd`](crate::pool::simd)).
#[inline(always)]
fn max(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// The input the blocks read: `input` itself for an unpadded layer, else its padded copy in
/// the scratch.
fn source<'a>(
    g: &Conv2dGeometry,
    input: &'a [f32],
    scratch: &'a mut [f32],
) -> Result<&'a [f32], Error> {
    if !padded(g) {
        return Ok(input);
    }
    let needed = scratch_len_f32(g);
    if scratch.len() < needed {
        return Err(Error::ScratchTooSmall {
            needed,
            actual: scratch.len(),
        });
    }
    let x = &mut scratch[..needed];
    let row_len = padded_row_len(g);
    let (top, left) = (g.padding.top * row_len, g.padding.left * g.in_c);
    let width = g.in_w * g.in_c;
    x[..top].fill(0.0);
    let mut rest = &mut x[top..];
    for src in input.chunks_exact(width) {
        let (row, tail) = rest.split_at_mut(row_len);
        row[..left].fill(0.0);
        row[left..left + width].copy_from_slice(src);
        row[left + width..].fill(0.0);
        rest = tail;
    }
    rest.fill(0.0);
    Ok(x)
}

/// `act(x)`: the clamps inline, sigmoid and tanh out of line (their code once, not in every
/// output stage).
#[inline(always)]
pub(crate) fn activate(act: Activation, x: f32) -> f32 {
    match act {
        Activation::Identity => x,
        // As `Activation::apply` (NaN stays NaN).
        Activation::Relu => {
            if x < 0.0 {
                0.0
            } else {
                x
            }
        }
        Activation::Relu6 => x.clamp(0.0, 6.0),
        Activation::Sigmoid | Activation::Tanh => activate_slow(act, x),
    }
}

#[inline(never)]
fn activate_slow(act: Activation, x: f32) -> f32 {
    act.apply(x)
}

/// How a block walks the (padded) input: everything that depends only on the geometry.
#[derive(Clone, Copy, Debug)]
struct Walk {
    /// Distance between output rows `y` and `y + 1` (`stride_h · row_len`).
    y_step: usize,
    /// Distance between output columns `x` and `x + 1` (`stride_w · in_c`).
    x_step: usize,
    /// Distance between the kernel rows of one pixel (`dilation_h · row_len`).
    row_step: usize,
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
    /// One input channel, unit horizontal stride and dilation: neighbouring pixels' kernel rows
    /// overlap, a kernel row of a pixel pair is `kernel_w + 1` consecutive values.
    slide: bool,
}

impl Walk {
    fn of(g: &Conv2dGeometry, d: &Conv2dDims) -> Self {
        let row_len = padded_row_len(g);
        let dense = g.dilation_w == 1;
        Walk {
            y_step: g.stride_h * row_len,
            x_step: g.stride_w * g.in_c,
            row_step: g.dilation_h * row_len,
            run: if dense { g.kernel_w * g.in_c } else { g.in_c },
            runs: if dense { 1 } else { g.kernel_w },
            run_step: g.dilation_w * g.in_c,
            kernel_h: g.kernel_h,
            k: d.patch_len,
            out_c: g.out_c,
            slide: dense && g.in_c == 1 && g.stride_w == 1,
        }
    }

    /// Index of the first tap of output pixel `(y, x)` in the (padded) input.
    #[inline(always)]
    fn pixel(&self, y: usize, x: usize) -> usize {
        y * self.y_step + x * self.x_step
    }

    /// All filters at the four pixels whose first taps are `at`, a group at a time (through
    /// `acc`, the caller's, so that it is not zeroed per block): `emit(o, sums)` for each
    /// filter `o`, `sums` its four sums, bias included.
    #[inline(always)]
    fn filters(
        &self,
        x: &[f32],
        packed: &[f32],
        bias: Option<&[f32]>,
        at: [usize; 4],
        acc: &mut [[f32; 4]; MR],
        mut emit: impl FnMut(usize, [f32; 4]),
    ) {
        let k = self.k;
        // Neighbouring pixel pairs (not a repeated last column): the sliding kernel rows.
        let slide = self.slide && at[1] == at[0] + 1 && at[3] == at[2] + 1;
        let mut o = 0;
        while o < self.out_c {
            let m = group(self.out_c - o);
            let w = &packed[o * k..(o + m) * k];
            let b = bias.map(|b| &b[o..o + m]);
            match m {
                MR => block::<MR>(self, slide, x, at, w, b, acc),
                2 => block::<2>(self, slide, x, at, w, b, acc),
                _ => block::<1>(self, slide, x, at, w, b, acc),
            }
            for (f, &a) in acc.iter().enumerate().take(m) {
                emit(o + f, a);
            }
            o += m;
        }
    }
}

/// `M` filters (`w`: their packed weights, `M · k` values; `bias`: theirs) at the four pixels
/// whose first taps are `at`: `out[m][n] = bias[m] + Σ_t w[m][t] · x[at[n] + tap t]` for
/// `m < M` (the other rows of `out` are left as they are).
#[inline(never)]
fn block<const M: usize>(
    walk: &Walk,
    slide: bool,
    x: &[f32],
    at: [usize; 4],
    w: &[f32],
    bias: Option<&[f32]>,
    out: &mut [[f32; 4]; MR],
) {
    let mut acc = [[0.0f32; 4]; M];
    if let Some(b) = bias {
        for (a, &b) in acc.iter_mut().zip(b) {
            *a = [b; 4];
        }
    }
    let acc = if slide && walk.run == 5 {
        slide_rows::<M, 5, 6>(walk, acc, x, at, w)
    } else {
        runs(walk, acc, x, at, w)
    };
    // Element by element (a slice copy would be a `memcpy` call).
    for m in 0..M {
        for n in 0..4 {
            out[m][n] = acc[m][n];
        }
    }
}

/// Any geometry: the kernel rows one after the other, each a loop over its runs of
/// contiguous taps.
#[inline(always)]
fn runs<const M: usize>(
    walk: &Walk,
    mut acc: [[f32; 4]; M],
    x: &[f32],
    at: [usize; 4],
    w: &[f32],
) -> [[f32; 4]; M] {
    let run = walk.run;
    let mut wi = 0;
    let mut row = 0;
    for _ in 0..walk.kernel_h {
        let mut start = row;
        for _ in 0..walk.runs {
            acc = run_taps(
                acc,
                [
                    &x[at[0] + start..][..run],
                    &x[at[1] + start..][..run],
                    &x[at[2] + start..][..run],
                    &x[at[3] + start..][..run],
                ],
                &w[wi..][..M * run],
            );
            wi += M * run;
            start += walk.run_step;
        }
        row += walk.row_step;
    }
    acc
}

/// One run of contiguous taps for the four pixels (`x`, each `run` long) and `M` filters (`w`,
/// `M · run` long, tap-major).
#[inline(always)]
fn run_taps<const M: usize>(mut acc: [[f32; 4]; M], x: [&[f32]; 4], w: &[f32]) -> [[f32; 4]; M] {
    let (wc, _) = w.as_chunks::<M>();
    let taps = wc.iter().zip(x[0]).zip(x[1]).zip(x[2]).zip(x[3]);
    for ((((wt, &a), &b), &c), &d) in taps {
        let v = [a, b, c, d];
        for m in 0..M {
            for n in 0..4 {
                acc[m][n] += wt[m] * v[n];
            }
        }
    }
    acc
}

/// One input channel, unit horizontal stride and dilation, kernel rows of `RUN` taps (`R1 =
/// RUN + 1`): the two pixels of a row share `RUN − 1` inputs, so a kernel row loads `RUN + 1`
/// values per output row, and is straight-line code. Instantiated for 5-wide kernels only
/// (LeNet-5's conv1; others take [`runs`], as each instance costs about 1 KiB of code).
#[inline(always)]
fn slide_rows<const M: usize, const RUN: usize, const R1: usize>(
    walk: &Walk,
    mut acc: [[f32; 4]; M],
    x: &[f32],
    at: [usize; 4],
    w: &[f32],
) -> [[f32; 4]; M] {
    let (wc, _) = w.as_chunks::<M>();
    let (wrows, _) = wc.as_chunks::<RUN>();
    let mut row = 0;
    for wr in wrows.iter().take(walk.kernel_h) {
        let top = &x[at[0] + row..][..R1];
        let bottom = &x[at[2] + row..][..R1];
        for t in 0..RUN {
            let v = [top[t], top[t + 1], bottom[t], bottom[t + 1]];
            for m in 0..M {
                for n in 0..4 {
                    acc[m][n] += wr[t][m] * v[n];
                }
            }
        }
        row += walk.row_step;
    }
    acc
}
