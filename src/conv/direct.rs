//! Direct SIMD convolution: no im2col buffer, the kernel reads the input in place.
//!
//! For a dense kernel row (`dilation_w == 1`) the taps of one output pixel that fall inside the
//! image form one contiguous run of the input row, `(j_end − j_start) · in_c` values long, and
//! the matching filter values are contiguous too (`[kh][kw][in_c]` layout). So each kernel row
//! is one dot product of two contiguous slices, computed by [`crate::gemm`]'s micro-kernel for 4
//! filters × 2 pixels at a time, accumulating lane-wise over all rows and reducing once.
//!
//! The output is split into the **interior**, where every tap lies in the image and pixels are
//! processed in pairs, and the **border**, where the rows and columns of the window are clipped
//! to the image (padded taps are skipped, never multiplied) and pixels go one at a time. A
//! dilated kernel row is handled tap by tap (runs of `in_c`).

use wide::f32x8;

use crate::activation::Activation;
use crate::conv::ConvStats;
use crate::error::Error;
use crate::gemm::{dot_block_f32, store_block};
use crate::geometry::Conv2dGeometry;

/// f32 direct convolution: `out = act(bias + Σ w·x)`, same meaning as
/// [`reference::conv2d_f32`](crate::conv::reference::conv2d_f32). Needs no scratch.
///
/// Returns how many output pixels went through the interior and border paths.
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn conv2d_f32(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<ConvStats, Error> {
    let d = g.check(
        input.len(),
        weights.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    let finish = |o: usize, acc: f32| act.apply(acc + bias.map_or(0.0, |b| b[o]));
    let (x_lo, x_hi) = interior_cols(g, d.out_w);
    let mut stats = ConvStats::default();
    for oy in 0..d.out_h {
        let rows = g.valid_rows(oy);
        let row_interior = rows == (0, g.kernel_h);
        let out_row = &mut output[oy * d.out_w * g.out_c..][..d.out_w * g.out_c];
        let mut o0 = 0;
        while o0 < g.out_c {
            let mr = (g.out_c - o0).min(4);
            match mr {
                4 => row_block::<4>(
                    g,
                    input,
                    weights,
                    oy,
                    rows,
                    row_interior,
                    (x_lo, x_hi),
                    o0,
                    out_row,
                    &finish,
                ),
                3 => row_block::<3>(
                    g,
                    input,
                    weights,
                    oy,
                    rows,
                    row_interior,
                    (x_lo, x_hi),
                    o0,
                    out_row,
                    &finish,
                ),
                2 => row_block::<2>(
                    g,
                    input,
                    weights,
                    oy,
                    rows,
                    row_interior,
                    (x_lo, x_hi),
                    o0,
                    out_row,
                    &finish,
                ),
                _ => row_block::<1>(
                    g,
                    input,
                    weights,
                    oy,
                    rows,
                    row_interior,
                    (x_lo, x_hi),
                    o0,
                    out_row,
                    &finish,
                ),
            }
            o0 += mr;
        }
        let interior = if row_interior { x_hi - x_lo } else { 0 };
        stats.interior_pixels += interior;
        stats.border_pixels += d.out_w - interior;
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

/// One output row for filters `o0..o0 + MR`: interior pixels in pairs, the rest one by one.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn row_block<const MR: usize>(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    oy: usize,
    rows: (usize, usize),
    row_interior: bool,
    (x_lo, x_hi): (usize, usize),
    o0: usize,
    out_row: &mut [f32],
    finish: &impl Fn(usize, f32) -> f32,
) {
    let out_w = out_row.len() / g.out_c;
    let (x_lo, x_hi) = if row_interior {
        (x_lo, x_hi)
    } else {
        (out_w, out_w)
    };
    for ox in 0..x_lo {
        pixels::<MR, 1>(
            g,
            input,
            weights,
            oy,
            [ox],
            rows,
            g.valid_cols(ox),
            o0,
            out_row,
            finish,
        );
    }
    let mut ox = x_lo;
    while ox + 2 <= x_hi {
        pixels::<MR, 2>(
            g,
            input,
            weights,
            oy,
            [ox, ox + 1],
            rows,
            (0, g.kernel_w),
            o0,
            out_row,
            finish,
        );
        ox += 2;
    }
    if ox < x_hi {
        pixels::<MR, 1>(
            g,
            input,
            weights,
            oy,
            [ox],
            rows,
            (0, g.kernel_w),
            o0,
            out_row,
            finish,
        );
    }
    for ox in x_hi..out_w {
        pixels::<MR, 1>(
            g,
            input,
            weights,
            oy,
            [ox],
            rows,
            g.valid_cols(ox),
            o0,
            out_row,
            finish,
        );
    }
}

/// `NR` output pixels of row `oy` that share the same valid kernel rows and columns, filters
/// `o0..o0 + MR`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn pixels<const MR: usize, const NR: usize>(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    oy: usize,
    oxs: [usize; NR],
    (i0, i1): (usize, usize),
    (j0, j1): (usize, usize),
    o0: usize,
    out_row: &mut [f32],
    finish: &impl Fn(usize, f32) -> f32,
) {
    let c = g.in_c;
    let filter_len = g.kernel_h * g.kernel_w * c;
    let mut acc = [[f32x8::ZERO; NR]; MR];
    if j0 < j1 {
        for i in i0..i1 {
            let iy = oy * g.stride_h + i * g.dilation_h - g.padding.top;
            let in_row = &input[iy * g.in_w * c..][..g.in_w * c];
            let w_row =
                |m: usize| &weights[(o0 + m) * filter_len + i * g.kernel_w * c..][..g.kernel_w * c];
            // Input column of tap j0 for each pixel.
            let x0: [usize; NR] =
                core::array::from_fn(|n| oxs[n] * g.stride_w + j0 * g.dilation_w - g.padding.left);
            if g.dilation_w == 1 {
                let len = (j1 - j0) * c;
                let b: [&[f32]; MR] = core::array::from_fn(|m| &w_row(m)[j0 * c..][..len]);
                let a: [&[f32]; NR] = core::array::from_fn(|n| &in_row[x0[n] * c..][..len]);
                dot_block_f32(&mut acc, b, a);
            } else {
                for (t, j) in (j0..j1).enumerate() {
                    let b: [&[f32]; MR] = core::array::from_fn(|m| &w_row(m)[j * c..][..c]);
                    let a: [&[f32]; NR] =
                        core::array::from_fn(|n| &in_row[(x0[n] + t * g.dilation_w) * c..][..c]);
                    dot_block_f32(&mut acc, b, a);
                }
            }
        }
    }
    // Pixels are adjacent (ox, ox + 1) so they are consecutive rows of the output row.
    store_block(&acc, oxs[0], o0, out_row, g.out_c, finish);
}

// ---- int8 ------------------------------------------------------------------------------------

use crate::gemm::i16::{OffsetI8, dot_block_i16, store_block_i32};
use crate::quant::LayerParamsI8;
use wide::{i16x16, i32x8};

/// int8 direct convolution, same meaning as
/// [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8) (bit-exact). Needs no scratch.
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
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let d = g.check(
        input.len(),
        weights.len(),
        p.bias.map(<[i32]>::len),
        output.len(),
    )?;
    p.check(g.out_c, d.patch_len)?;
    let finish = |o: usize, acc: i32| p.requantize(o, acc + p.bias(o));
    // |offset| ≤ 128 fits i16.
    let offset = i16x16::splat(p.input_offset() as i16);
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
            let mr = (g.out_c - o0).min(4);
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
    offset: i16x16,
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
        while ox + 2 <= x_hi {
            self.pixels::<MR, 2>([ox, ox + 1], (0, g.kernel_w), out_row, finish);
            ox += 2;
        }
        if ox < x_hi {
            self.pixels::<MR, 1>([ox], (0, g.kernel_w), out_row, finish);
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
