//! Direct SIMD convolution: no im2col buffer, the kernel reads the input in place.
//!
//! Two kernels, chosen per layer:
//!
//! - **K-contiguous dot products** (any shape). For a dense kernel row (`dilation_w == 1`) the
//!   taps of one output pixel that fall inside the image form one contiguous run of the input
//!   row, `(j_end − j_start) · in_c` values long, and the matching filter values are contiguous
//!   too (`[kh][kw][in_c]` layout). So each kernel row is one dot product of two contiguous
//!   slices, computed by `crate::gemm`'s micro-kernel for 4 filters × 2 pixels at a time,
//!   accumulating lane-wise over all rows and reducing once. A dilated kernel row is handled tap
//!   by tap (runs of `in_c`).
//! - **Single input channel** (`in_c == 1`, `stride_w == 1`, e.g. LeNet's first layer): a
//!   kernel row is only `kernel_w` values, too short for a dot product, so the kernel vectorises
//!   over *output pixels* instead: 8 or 16 consecutive output pixels of a row read 8 or 16
//!   consecutive input values per tap, each weight is broadcast, and up to 6 filters accumulate
//!   in registers; the accumulators are transposed once into channels-last output. Columns of
//!   the window in the left/right padding read zeros from a small stack window (only when every
//!   weight is finite, so `0 · w` adds exactly nothing; otherwise the dot-product kernel runs).
//!
//! The output is split into the **interior**, where every tap lies in the image, and the
//! **border**, where the rows and columns of the window are clipped to the image. In the
//! dot-product kernel interior pixels go in pairs and border pixels one at a time with padded
//! taps skipped; kernel rows in the top/bottom padding are skipped by both kernels.

use wide::f32x8;

use crate::activation::Activation;
use crate::conv::ConvStats;
use crate::error::Error;
use crate::gemm::{Epilogue, bcast_step, dot_block_f32, load8, store_bcast, store_block};
use crate::geometry::{Conv2dDims, Conv2dGeometry};

/// Direct reads filters in the canonical `[c_out][kh][kw][c_in]` layout (each kernel row's taps
/// are one contiguous run): packing is a checked copy.
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub const fn pack_weights_f32(
    g: &Conv2dGeometry,
    canonical: &[f32],
    packed: &mut [f32],
) -> Result<(), Error> {
    crate::conv::reference::pack_weights_f32(g, canonical, packed)
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
    crate::conv::reference::pack_weights_i8(g, canonical, packed)
}

/// Direct needs no scratch: 0.
pub const fn scratch_len_i8(g: &Conv2dGeometry) -> usize {
    let _ = g;
    0
}

/// f32 direct convolution: `out = act(bias + Σ w·x)`, same meaning as
/// [`reference::conv2d_f32`](crate::conv::reference::conv2d_f32). Needs no scratch.
///
/// Returns how many output pixels lie in the interior (every tap inside the image) and on the
/// border; both kinds are computed by the SIMD kernels.
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
    let d = g.check(
        input.len(),
        weights.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    let (x_lo, x_hi) = interior_cols(g, d.out_w);
    let mut stats = ConvStats::default();
    for oy in 0..d.out_h {
        let interior = if g.valid_rows(oy) == (0, g.kernel_h) {
            x_hi - x_lo
        } else {
            0
        };
        stats.interior_pixels += interior;
        stats.border_pixels += d.out_w - interior;
    }
    let epi = Epilogue { bias, act };
    if single_channel_applies(g, weights) {
        single_channel(g, &d, input, weights, &epi, output);
        return Ok(stats);
    }
    // Sigmoid/tanh per output row, eight lanes at a time, not per value in `finish`.
    let (now, after) = act.split_per_row();
    let row_epi = Epilogue { bias, act: now };
    let finish = |o: usize, acc: f32| row_epi.scalar(o, acc);
    for oy in 0..d.out_h {
        let rows = g.valid_rows(oy);
        let row_interior = rows == (0, g.kernel_h);
        let cols = if row_interior {
            (x_lo, x_hi)
        } else {
            (d.out_w, d.out_w)
        };
        let out_row = &mut output[oy * d.out_w * g.out_c..][..d.out_w * g.out_c];
        let mut o0 = 0;
        while o0 < g.out_c {
            let ctx = RowF32 {
                g,
                input,
                weights,
                oy,
                rows,
                o0,
            };
            let mr = (g.out_c - o0).min(4);
            match mr {
                4 => ctx.row_block::<4>(cols, out_row, &finish),
                3 => ctx.row_block::<3>(cols, out_row, &finish),
                2 => ctx.row_block::<2>(cols, out_row, &finish),
                _ => ctx.row_block::<1>(cols, out_row, &finish),
            }
            o0 += mr;
        }
        after.apply_slice(out_row);
    }
    Ok(stats)
}

/// Output columns `x_lo..x_hi` whose every kernel column lies inside the image.
pub(crate) fn interior_cols(g: &Conv2dGeometry, out_w: usize) -> (usize, usize) {
    let full = |ox: usize| g.valid_cols(ox) == (0, g.kernel_w);
    let lo = (0..out_w).find(|&ox| full(ox)).unwrap_or(out_w);
    let hi = (lo..out_w).find(|&ox| !full(ox)).unwrap_or(out_w);
    (lo, hi)
}

/// What the dot-product kernel needs to compute filters `o0..` on output row `oy`.
#[derive(Clone, Copy)]
struct RowF32<'a> {
    g: &'a Conv2dGeometry,
    input: &'a [f32],
    weights: &'a [f32],
    oy: usize,
    /// Valid kernel rows of this output row.
    rows: (usize, usize),
    o0: usize,
}

impl RowF32<'_> {
    /// Interior pixels `x_lo..x_hi` in pairs, the rest one by one with clipped columns.
    #[inline(always)]
    fn row_block<const MR: usize>(
        &self,
        (x_lo, x_hi): (usize, usize),
        out_row: &mut [f32],
        finish: &impl Fn(usize, f32) -> f32,
    ) {
        let g = self.g;
        let out_w = out_row.len() / g.out_c;
        for ox in 0..x_lo {
            self.pixels::<MR, 1>([ox], g.valid_cols(ox), out_row, finish);
        }
        let mut ox = x_lo;
        while ox + 3 <= x_hi {
            self.pixels::<MR, 3>([ox, ox + 1, ox + 2], (0, g.kernel_w), out_row, finish);
            ox += 3;
        }
        match x_hi - ox {
            2 => self.pixels::<MR, 2>([ox, ox + 1], (0, g.kernel_w), out_row, finish),
            1 => self.pixels::<MR, 1>([ox], (0, g.kernel_w), out_row, finish),
            _ => {}
        }
        for ox in x_hi..out_w {
            self.pixels::<MR, 1>([ox], g.valid_cols(ox), out_row, finish);
        }
    }

    /// `NR` adjacent output pixels sharing valid kernel columns `j0..j1`, filters
    /// `o0..o0 + MR`.
    #[inline(always)]
    fn pixels<const MR: usize, const NR: usize>(
        &self,
        oxs: [usize; NR],
        (j0, j1): (usize, usize),
        out_row: &mut [f32],
        finish: &impl Fn(usize, f32) -> f32,
    ) {
        let g = self.g;
        let c = g.in_c;
        let filter_len = g.kernel_h * g.kernel_w * c;
        let mut acc = [[f32x8::ZERO; NR]; MR];
        if j0 < j1 {
            for i in self.rows.0..self.rows.1 {
                let iy = self.oy * g.stride_h + i * g.dilation_h - g.padding.top;
                let in_row = &self.input[iy * g.in_w * c..][..g.in_w * c];
                let row_len = g.kernel_w * c;
                let mut w_rows: [&[f32]; MR] = [&[]; MR];
                for (m, w) in w_rows.iter_mut().enumerate() {
                    *w = &self.weights[(self.o0 + m) * filter_len + i * row_len..][..row_len];
                }
                // Input column of tap j0 for each pixel.
                let mut x0 = [0usize; NR];
                for n in 0..NR {
                    x0[n] = oxs[n] * g.stride_w + j0 * g.dilation_w - g.padding.left;
                }
                let mut b: [&[f32]; MR] = [&[]; MR];
                let mut a: [&[f32]; NR] = [&[]; NR];
                if g.dilation_w == 1 {
                    let len = (j1 - j0) * c;
                    for m in 0..MR {
                        b[m] = &w_rows[m][j0 * c..][..len];
                    }
                    for n in 0..NR {
                        a[n] = &in_row[x0[n] * c..][..len];
                    }
                    dot_block_f32(&mut acc, b, a);
                } else {
                    for (t, j) in (j0..j1).enumerate() {
                        for m in 0..MR {
                            b[m] = &w_rows[m][j * c..][..c];
                        }
                        for n in 0..NR {
                            a[n] = &in_row[(x0[n] + t * g.dilation_w) * c..][..c];
                        }
                        dot_block_f32(&mut acc, b, a);
                    }
                }
            }
        }
        // Pixels are adjacent (ox, ox + 1) so they are consecutive rows of the output row.
        store_block(&acc, oxs[0], self.o0, out_row, g.out_c, finish);
    }
}

/// Longest run of input values one kernel row of a 16-pixel block reads in the single-channel
/// kernel (`16 + (kernel_w − 1) · dilation_w`); the stack window for padded columns holds this.
const WINDOW: usize = 96;

/// The single-channel kernel applies: one input channel, unit horizontal stride, a kernel row
/// that fits the stack window, and only finite weights (so zeros read from the padding add
/// exactly nothing).
fn single_channel_applies(g: &Conv2dGeometry, weights: &[f32]) -> bool {
    g.in_c == 1
        && g.stride_w == 1
        && (g.kernel_w - 1)
            .checked_mul(g.dilation_w)
            .is_some_and(|span| span + 16 <= WINDOW)
        && all_finite(weights)
}

/// True when no value is NaN or infinite.
fn all_finite(s: &[f32]) -> bool {
    let (chunks, tail) = s.as_chunks::<8>();
    chunks.iter().all(|c| f32x8::from(*c).is_finite().all()) && tail.iter().all(|v| v.is_finite())
}

/// Single-channel direct convolution by broadcast blocks (see the module docs).
fn single_channel(
    g: &Conv2dGeometry,
    d: &Conv2dDims,
    input: &[f32],
    weights: &[f32],
    epi: &Epilogue<'_>,
    output: &mut [f32],
) {
    let out_w = d.out_w;
    for oy in 0..d.out_h {
        let out_row = &mut output[oy * out_w * g.out_c..][..out_w * g.out_c];
        let mut ox0 = 0;
        while ox0 < out_w {
            let left = out_w - ox0;
            // 16 pixels, 8 pixels, or the last 8 pixels of the row again (overlapping pixels
            // are recomputed with the same result), or a short row.
            let (start, nv) = if left >= 16 {
                (ox0, 2)
            } else if left >= 8 || out_w < 8 {
                (ox0, 1)
            } else {
                (out_w - 8, 1)
            };
            let blk = SingleBlock {
                g,
                input,
                weights,
                oy,
                start,
            };
            let mut m0 = 0;
            while m0 < g.out_c {
                let mr = (g.out_c - m0).min(6);
                match (mr, nv) {
                    (6, 2) => blk.run::<6, 2>(m0, out_row, epi),
                    (5, 2) => blk.run::<5, 2>(m0, out_row, epi),
                    (4, 2) => blk.run::<4, 2>(m0, out_row, epi),
                    (3, 2) => blk.run::<3, 2>(m0, out_row, epi),
                    (2, 2) => blk.run::<2, 2>(m0, out_row, epi),
                    (1, 2) => blk.run::<1, 2>(m0, out_row, epi),
                    (6, _) => blk.run::<6, 1>(m0, out_row, epi),
                    (5, _) => blk.run::<5, 1>(m0, out_row, epi),
                    (4, _) => blk.run::<4, 1>(m0, out_row, epi),
                    (3, _) => blk.run::<3, 1>(m0, out_row, epi),
                    (2, _) => blk.run::<2, 1>(m0, out_row, epi),
                    _ => blk.run::<1, 1>(m0, out_row, epi),
                }
                m0 += mr;
            }
            ox0 = (start + 8 * nv).max(ox0 + 1);
        }
    }
}

/// Output pixels `start .. start + 8·NV` of row `oy` in the single-channel kernel.
#[derive(Clone, Copy)]
struct SingleBlock<'a> {
    g: &'a Conv2dGeometry,
    input: &'a [f32],
    weights: &'a [f32],
    oy: usize,
    start: usize,
}

impl SingleBlock<'_> {
    /// Filters `m0..m0 + MR` of the block.
    #[inline(always)]
    fn run<const MR: usize, const NV: usize>(
        self,
        m0: usize,
        out_row: &mut [f32],
        epi: &Epilogue<'_>,
    ) {
        let g = self.g;
        let (kw, dw) = (g.kernel_w, g.dilation_w);
        let k = g.kernel_h * kw;
        let span = 8 * NV + (kw - 1) * dw;
        let out_w = out_row.len() / g.out_c;
        let mut acc = [[f32x8::ZERO; NV]; MR];
        let mut window = [0.0f32; WINDOW];
        let (i0, i1) = g.valid_rows(self.oy);
        for i in i0..i1 {
            let iy = self.oy * g.stride_h + i * g.dilation_h - g.padding.top;
            let row = &self.input[iy * g.in_w..][..g.in_w];
            // Input columns read: start − left .. start − left + span.
            let src: &[f32] = match self.start.checked_sub(g.padding.left) {
                Some(c0) if c0 + span <= g.in_w => &row[c0..c0 + span],
                _ => {
                    // Copy the part inside the image; padding columns stay zero.
                    let win = &mut window[..span];
                    win.fill(0.0);
                    let first = g.padding.left.saturating_sub(self.start);
                    let c0 = (self.start + first) - g.padding.left;
                    if first < span && c0 < g.in_w {
                        let n = (span - first).min(g.in_w - c0);
                        win[first..first + n].copy_from_slice(&row[c0..c0 + n]);
                    }
                    &window[..span]
                }
            };
            let mut w_rows: [&[f32]; MR] = [&[]; MR];
            for (m, w) in w_rows.iter_mut().enumerate() {
                *w = &self.weights[(m0 + m) * k + i * kw..][..kw];
            }
            let mut x = [f32x8::ZERO; NV];
            let mut w = [0.0f32; MR];
            for j in 0..kw {
                for v in 0..NV {
                    x[v] = load8(&src[j * dw + 8 * v..]);
                }
                for m in 0..MR {
                    w[m] = w_rows[m][j];
                }
                bcast_step(&mut acc, w, x);
            }
        }
        let pixels = (out_w - self.start).min(8 * NV);
        store_bcast(&acc, self.start, pixels, m0, out_row, g.out_c, epi);
    }
}

// ---- int8 ------------------------------------------------------------------------------------

use crate::gemm::i16::{OffsetI8, VECTOR, dot_block_i16, store_block_i32};
use crate::quant::LayerParamsI8;
use wide::i32x8;

/// int8 direct convolution, same meaning as
/// [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8) (bit-exact). Needs no scratch
/// (`scratch` may be empty).
///
/// Same structure as [`conv2d_f32`]: each kernel row's valid taps are one contiguous run of
/// the `i8` input, widened to `i16` with the input offset added in registers (so padded taps,
/// never loaded, contribute nothing), multiplied with the `i8` filter run by `pmaddwd` into
/// `i32x8` accumulators, 4 filters × 2 pixels at a time in the interior.
///
/// Returns how many output pixels went through the interior and border paths.
///
/// # Errors
/// As [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8).
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
    let finish = |o: usize, acc: i32| p.requantize(o, acc + p.bias(o));
    // |offset| ≤ 128 fits i16.
    let offset = p.input_offset() as i16;
    let (x_lo, x_hi) = interior_cols(g, d.out_w);
    let mut stats = ConvStats::default();
    for oy in 0..d.out_h {
        let rows = g.valid_rows(oy);
        let row_interior = rows == (0, g.kernel_h);
        let out_row = &mut output[oy * d.out_w * g.out_c..][..d.out_w * g.out_c];
        let cols = if row_interior {
            (x_lo, x_hi)
        } else {
            (d.out_w, d.out_w)
        };
        let mut o0 = 0;
        while o0 < g.out_c {
            let ctx = RowI8 {
                g,
                input,
                weights,
                offset,
                oy,
                rows,
                o0,
            };
            // Blocks of 4 filters with vector registers; one at a time without (smaller code).
            let mr = (g.out_c - o0).min(if VECTOR { 4 } else { 1 });
            match mr {
                4 => ctx.row_block::<4>(cols, out_row, &finish),
                3 => ctx.row_block::<3>(cols, out_row, &finish),
                2 => ctx.row_block::<2>(cols, out_row, &finish),
                _ => ctx.row_block::<1>(cols, out_row, &finish),
            }
            o0 += mr;
        }
        let interior = cols.1 - cols.0;
        stats.interior_pixels += interior;
        stats.border_pixels += d.out_w - interior;
    }
    Ok(stats)
}

/// What the int8 kernel needs to compute filters `o0..` on output row `oy`.
#[derive(Clone, Copy)]
struct RowI8<'a> {
    g: &'a Conv2dGeometry,
    input: &'a [i8],
    weights: &'a [i8],
    offset: i16,
    oy: usize,
    /// Valid kernel rows of this output row.
    rows: (usize, usize),
    o0: usize,
}

impl RowI8<'_> {
    /// Interior pixels `x_lo..x_hi` in pairs, the rest one by one with clipped columns.
    #[inline(always)]
    fn row_block<const MR: usize>(
        &self,
        (x_lo, x_hi): (usize, usize),
        out_row: &mut [i8],
        finish: &impl Fn(usize, i32) -> i8,
    ) {
        let g = self.g;
        let out_w = out_row.len() / g.out_c;
        for ox in 0..x_lo {
            self.pixels::<MR, 1>([ox], g.valid_cols(ox), out_row, finish);
        }
        let mut ox = x_lo;
        if VECTOR {
            while ox + 2 <= x_hi {
                self.pixels::<MR, 2>([ox, ox + 1], (0, g.kernel_w), out_row, finish);
                ox += 2;
            }
        }
        // The last interior pixel, or all of them without vector registers.
        while ox < x_hi {
            self.pixels::<MR, 1>([ox], (0, g.kernel_w), out_row, finish);
            ox += 1;
        }
        for ox in x_hi..out_w {
            self.pixels::<MR, 1>([ox], g.valid_cols(ox), out_row, finish);
        }
    }

    /// `NR` adjacent output pixels sharing valid kernel columns `j0..j1`, filters
    /// `o0..o0 + MR`.
    #[inline(always)]
    fn pixels<const MR: usize, const NR: usize>(
        &self,
        oxs: [usize; NR],
        (j0, j1): (usize, usize),
        out_row: &mut [i8],
        finish: &impl Fn(usize, i32) -> i8,
    ) {
        let g = self.g;
        let c = g.in_c;
        let filter_len = g.kernel_h * g.kernel_w * c;
        let mut acc = [[i32x8::ZERO; NR]; MR];
        if j0 < j1 {
            for i in self.rows.0..self.rows.1 {
                let iy = self.oy * g.stride_h + i * g.dilation_h - g.padding.top;
                let in_row = &self.input[iy * g.in_w * c..][..g.in_w * c];
                let w_row = |m: usize| {
                    &self.weights[(self.o0 + m) * filter_len + i * g.kernel_w * c..]
                        [..g.kernel_w * c]
                };
                let x0: [usize; NR] = core::array::from_fn(|n| {
                    oxs[n] * g.stride_w + j0 * g.dilation_w - g.padding.left
                });
                let run = |from: usize, len: usize| OffsetI8 {
                    data: &in_row[from..][..len],
                    offset: self.offset,
                };
                if g.dilation_w == 1 {
                    let len = (j1 - j0) * c;
                    let b: [&[i8]; MR] = core::array::from_fn(|m| &w_row(m)[j0 * c..][..len]);
                    let a: [OffsetI8<'_>; NR] = core::array::from_fn(|n| run(x0[n] * c, len));
                    dot_block_i16(&mut acc, b, a);
                } else {
                    for (t, j) in (j0..j1).enumerate() {
                        let b: [&[i8]; MR] = core::array::from_fn(|m| &w_row(m)[j * c..][..c]);
                        let a: [OffsetI8<'_>; NR] =
                            core::array::from_fn(|n| run((x0[n] + t * g.dilation_w) * c, c));
                        dot_block_i16(&mut acc, b, a);
                    }
                }
            }
        }
        store_block_i32(&acc, oxs[0], self.o0, out_row, g.out_c, finish);
    }
}
