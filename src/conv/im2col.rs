//! im2col + GEMM convolution.
//!
//! Output pixels are processed in tiles: for each pixel of a tile, its receptive field (the
//! `kernel_h × kernel_w × in_c` patch, zeros where it overlaps the padding) is copied into one row
//! of the caller's scratch buffer; then one GEMM multiplies the tile by all filters
//! (`out[p][o] = Σ_k patch[p][k] · w[o][k]`) with `crate::gemm`'s micro-kernel, bias and
//! activation fused into its epilogue.
//!
//! The scratch size is the caller's choice and the only memory the algorithm needs:
//! `tile · patch_len` elements for a tile of `tile` pixels ([`scratch_len`]). CMSIS-NN builds two
//! columns at a time on a Cortex-M; on a desktop a tile of 16–64 pixels pays. A 1×1 convolution
//! with stride 1 and no padding needs no im2col at all: its input already is the patch matrix,
//! and it goes straight to the GEMM (scratch unused, may be empty).
//!
//! With a single input channel (LeNet's first layer) a patch is only `kernel_h · kernel_w`
//! values, too short for dot products along it; the tile is then stored K-major (one scratch
//! row per tap, one column per pixel, same size) and multiplied by broadcast blocks that
//! vectorise over 8–16 output pixels (see `crate::gemm`).

use crate::activation::Activation;
use crate::conv::ConvStats;
use crate::error::Error;
use crate::gemm::i16::{CH_BLOCK, RequantBlock, Segments, even, gemm_row_i16, pack_panel_i16};
use crate::gemm::{Epilogue, gemm_abt_f32, gemm_kmajor_f32};
use crate::geometry::Conv2dGeometry;
use crate::quant::LayerParamsI8;
use wide::{i8x16, i16x16};

/// Scratch elements needed for tiles of `tile` output pixels: `tile · kernel_h · kernel_w ·
/// in_c` (saturating; 0 for a pointwise convolution, which needs none).
///
/// ```
/// use tinyconv::{Conv2dGeometry, conv::im2col};
/// let conv2 = Conv2dGeometry::new([14, 14, 6], 16, [5, 5]);
/// assert_eq!(im2col::scratch_len(&conv2, 2), 2 * 5 * 5 * 6);
/// ```
pub const fn scratch_len(g: &Conv2dGeometry, tile: usize) -> usize {
    if is_pointwise(g) {
        0
    } else {
        g.kernel_h
            .saturating_mul(g.kernel_w)
            .saturating_mul(g.in_c)
            .saturating_mul(tile)
    }
}

/// True for a 1×1, stride-1, unpadded convolution, which skips im2col.
pub const fn is_pointwise(g: &Conv2dGeometry) -> bool {
    g.kernel_h == 1
        && g.kernel_w == 1
        && g.stride_h == 1
        && g.stride_w == 1
        && g.padding.top == 0
        && g.padding.bottom == 0
        && g.padding.left == 0
        && g.padding.right == 0
}

/// The f32 GEMM reads filters in the canonical `[c_out][kh][kw][c_in]` layout (one row of the
/// weight matrix per filter): packing is a checked copy.
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

/// The canonical layout, as [`pack_weights_f32`] (the 16-filter `i16` panels are built per call
/// in the scratch).
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

/// f32 convolution by im2col + GEMM: `out = act(bias + Σ w·x)`, same meaning as
/// [`reference::conv2d_f32`](crate::conv::reference::conv2d_f32).
///
/// The tile is `scratch.len() / patch_len` pixels. Returns what ran ([`ConvStats::gemm_tiles`],
/// [`ConvStats::pointwise`]).
///
/// Padded taps are zeros in the scratch and are multiplied like any other value, so with an
/// infinite or NaN weight a pixel whose window reaches into the padding is NaN (the reference,
/// which skips padded taps, may give a finite value there). With finite weights the results
/// agree within rounding.
///
/// # Errors
/// [`Error::InvalidGeometry`], [`Error::LengthMismatch`], or [`Error::ScratchTooSmall`] when
/// the scratch cannot hold one patch (and the convolution is not pointwise).
pub fn conv2d_f32(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    scratch: &mut [f32],
    output: &mut [f32],
) -> Result<ConvStats, Error> {
    let d = g.check(
        input.len(),
        weights.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    let epi = Epilogue { bias, act };
    // The GEMM's `finish` makes one value at a time: sigmoid/tanh go over each finished tile,
    // eight lanes at a time.
    let (now, after) = act.split_per_row();
    let finish = |o: usize, acc: f32| Epilogue { bias, act: now }.scalar(o, acc);
    let k = d.patch_len;
    let pixels = d.out_h * d.out_w;
    if is_pointwise(g) {
        gemm_abt_f32(input, weights, k, output, g.out_c, &finish);
        after.apply_slice(output);
        return Ok(ConvStats {
            pointwise: true,
            gemm_tiles: 1,
            ..ConvStats::default()
        });
    }
    if scratch.len() < k {
        return Err(Error::ScratchTooSmall {
            needed: k,
            actual: scratch.len(),
        });
    }
    let tile = (scratch.len() / k).min(pixels);
    // One input channel: a patch is only kernel_h · kernel_w values, so the tile is stored
    // K-major (one row per tap, one column per pixel) and multiplied by broadcast blocks.
    let kmajor = g.in_c == 1;
    let mut stats = ConvStats::default();
    let mut p0 = 0;
    while p0 < pixels {
        let n = tile.min(pixels - p0);
        let out = &mut output[p0 * g.out_c..(p0 + n) * g.out_c];
        if kmajor {
            let at = &mut scratch[..k * n];
            fill_kmajor(g, d.out_w, input, p0, n, at);
            gemm_kmajor_f32(at, n, n, weights, k, out, g.out_c, &epi);
        } else {
            let cols = &mut scratch[..n * k];
            for (t, col) in cols.chunks_exact_mut(k).enumerate() {
                let p = p0 + t;
                fill_patch_map(g, input, p / d.out_w, p % d.out_w, col, 0.0, |x| x);
            }
            gemm_abt_f32(cols, weights, k, out, g.out_c, &finish);
            after.apply_slice(out);
        }
        stats.gemm_tiles += 1;
        p0 += n;
    }
    Ok(stats)
}

/// K-major im2col of a single-channel input: `at[kk·n + t]` is tap `kk = i·kernel_w + j` of
/// output pixel `p0 + t` (0 in the padding), for `n` pixels. Each tap row is filled one output
/// row segment at a time: zeros where the tap falls in the padding, a strided (for stride 1,
/// contiguous) copy of the input row in between.
fn fill_kmajor(
    g: &Conv2dGeometry,
    out_w: usize,
    input: &[f32],
    p0: usize,
    n: usize,
    at: &mut [f32],
) {
    let sw = g.stride_w;
    for (kk, dst) in at.chunks_exact_mut(n).enumerate() {
        let (i, j) = (kk / g.kernel_w, kk % g.kernel_w);
        // Output columns whose tap j lands in the image: ox·sw + j·dw ∈ [left, left + in_w).
        let off = j * g.dilation_w;
        let ox_lo = g.padding.left.saturating_sub(off).div_ceil(sw);
        let ox_hi = (g.padding.left + g.in_w)
            .checked_sub(off)
            .map_or(0, |e| e.div_ceil(sw))
            .min(out_w);
        let mut t = 0;
        while t < n {
            let p = p0 + t;
            let (oy, ox) = (p / out_w, p % out_w);
            let seg = (out_w - ox).min(n - t);
            let d = &mut dst[t..t + seg];
            match g.input_row(oy, i) {
                None => d.fill(0.0),
                Some(iy) => {
                    let row = &input[iy * g.in_w..][..g.in_w];
                    let a = ox_lo.clamp(ox, ox + seg);
                    let b = ox_hi.clamp(a, ox + seg);
                    d[..a - ox].fill(0.0);
                    d[b - ox..].fill(0.0);
                    if a < b {
                        let c0 = a * sw + off - g.padding.left;
                        if sw == 1 {
                            d[a - ox..b - ox].copy_from_slice(&row[c0..c0 + (b - a)]);
                        } else {
                            for (q, v) in d[a - ox..b - ox].iter_mut().enumerate() {
                                *v = row[c0 + q * sw];
                            }
                        }
                    }
                }
            }
            t += seg;
        }
    }
}

/// Copies the receptive field of output pixel `(oy, ox)` into `col` (`[kernel_h][kernel_w][in_c]`),
/// mapping every copied element through `f` and writing `zero` for taps in the padding (generic so
/// the int8 path can widen and offset while copying).
#[inline]
pub(crate) fn fill_patch_map<X: Copy, Y: Copy>(
    g: &Conv2dGeometry,
    input: &[X],
    oy: usize,
    ox: usize,
    col: &mut [Y],
    zero: Y,
    f: impl Fn(X) -> Y,
) {
    let c = g.in_c;
    let row_len = g.kernel_w * c;
    let (j0, j1) = g.valid_cols(ox);
    for (i, dst) in col.chunks_exact_mut(row_len).enumerate() {
        let Some(iy) = g.input_row(oy, i) else {
            dst.fill(zero);
            continue;
        };
        dst[..j0 * c].fill(zero);
        dst[j1 * c..].fill(zero);
        if j0 >= j1 {
            continue;
        }
        let ix0 = ox * g.stride_w + j0 * g.dilation_w - g.padding.left;
        let src_row = &input[iy * g.in_w * c..][..g.in_w * c];
        if g.dilation_w == 1 {
            // Valid taps of a dense kernel row are one contiguous run of the input row.
            let src = &src_row[ix0 * c..][..(j1 - j0) * c];
            for (d, &s) in dst[j0 * c..j1 * c].iter_mut().zip(src) {
                *d = f(s);
            }
        } else {
            for (t, j) in (j0..j1).enumerate() {
                let ix = ix0 + t * g.dilation_w;
                for (d, &s) in dst[j * c..][..c].iter_mut().zip(&src_row[ix * c..][..c]) {
                    *d = f(s);
                }
            }
        }
    }
}

/// How the int8 im2col cuts a filter into segments: `(n_seg, seg)` — whole kernel rows
/// (`kernel_h` segments of `kernel_w · in_c`), or single taps (`kernel_h · kernel_w` segments of
/// `in_c`) when the kernel is dilated horizontally.
const fn segments(g: &Conv2dGeometry) -> (usize, usize) {
    if g.dilation_w == 1 {
        (g.kernel_h, g.kernel_w.saturating_mul(g.in_c))
    } else {
        (g.kernel_h.saturating_mul(g.kernel_w), g.in_c)
    }
}

/// Length of one row of the int8 row buffer: the padded input row, `(pad.left + in_w +
/// pad.right) · in_c`, plus one value so a segment padded to even can be read past its end.
const fn buffer_row_len(g: &Conv2dGeometry) -> usize {
    g.padding
        .left
        .saturating_add(g.in_w)
        .saturating_add(g.padding.right)
        .saturating_mul(g.in_c)
        .saturating_add(1)
}

/// Scratch `i16` elements [`conv2d_i8`] needs (saturating): a row buffer of `kernel_h` padded
/// input rows, `kernel_h · ((pad.left + in_w + pad.right) · in_c + 1 + 16)` (16: a gap for
/// 16-wide writes), and a panel of 16
/// packed filters, `16 · n_seg · even(seg)` where a filter is cut into `n_seg` segments of
/// `seg` values (kernel rows, or taps when dilated horizontally) and `even` rounds up to even.
///
/// ```
/// use tinyconv::{Conv2dGeometry, Padding, conv::im2col};
/// // LeNet conv2: 5 rows of 14·6 (+1), and 16 filters of 5 rows of 5·6.
/// let conv2 = Conv2dGeometry::new([14, 14, 6], 16, [5, 5]);
/// assert_eq!(im2col::scratch_len_i8(&conv2), 5 * (14 * 6 + 1 + 16) + 16 * 5 * 30);
/// // LeNet conv1: padded rows of 32; kernel rows of 5 values padded to 6.
/// let conv1 = Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2));
/// assert_eq!(im2col::scratch_len_i8(&conv1), 5 * (33 + 16) + 16 * 5 * 6);
/// ```
pub const fn scratch_len_i8(g: &Conv2dGeometry) -> usize {
    let (n_seg, seg) = segments(g);
    let buffer = g.kernel_h.saturating_mul(buffer_row_stride(g));
    let panel = n_seg.saturating_mul(even(seg)).saturating_mul(CH_BLOCK);
    buffer.saturating_add(panel)
}

/// Distance between buffer rows: a row and a gap of 16 values, so that a row can be written 16
/// values at a time without touching its neighbours (which the ring keeps).
const fn buffer_row_stride(g: &Conv2dGeometry) -> usize {
    buffer_row_len(g).saturating_add(16)
}

/// int8 convolution by (implicit) im2col + GEMM, same meaning as
/// [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8) (bit-exact).
///
/// - **Widening.** For each output row, the `kernel_h` input rows it reads are widened to `i16`
///   with the input offset folded in (`x − input_zero_point ∈ [-255, 255]`) into a row buffer,
///   with zeros for the padding, so padded taps contribute nothing. Every patch of the output
///   row is then a set of runs of this buffer (one per kernel row, or per tap when dilated): the
///   column matrix of im2col is read in place instead of copied pixel by pixel, which cost
///   about a third of the time in a first version that did copy.
/// - **GEMM.** The filters are packed, 16 at a time, into a panel of `i16` pairs; the GEMM
///   broadcasts a pair of patch values and multiplies it with 16 filters by two
///   `i16x16::dot` (`pmaddwd`) into `i32x8` accumulators that are the outputs themselves (no
///   horizontal sums), 4 pixels at a time.
/// - **Output stage.** Bias, requantization (double rounding) and clamp run on 8 channels per
///   vector; single rounding goes channel by channel.
///
/// Scratch: [`scratch_len_i8`] `i16`s, fixed by the geometry (a longer slice is fine).
/// [`ConvStats::gemm_tiles`] counts GEMM calls: one per output row and block of 16 filters.
///
/// # Errors
/// As [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8), and
/// [`Error::ScratchTooSmall`] when `scratch` is shorter than [`scratch_len_i8`].
pub fn conv2d_i8(
    g: &Conv2dGeometry,
    input: &[i8],
    weights: &[i8],
    p: &LayerParamsI8<'_>,
    scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let d = g.check(
        input.len(),
        weights.len(),
        p.bias.map(<[i32]>::len),
        output.len(),
    )?;
    p.check(g.out_c, d.patch_len)?;
    let needed = scratch_len_i8(g);
    if scratch.len() < needed {
        return Err(Error::ScratchTooSmall {
            needed,
            actual: scratch.len(),
        });
    }
    let (n_seg, seg) = segments(g);
    let row_stride = buffer_row_stride(g);
    let (buf, panel) = scratch.split_at_mut(g.kernel_h * row_stride);
    let c = g.in_c;
    let mut layout = Segments {
        n_seg,
        seg,
        per_row: n_seg / g.kernel_h,
        row_stride,
        seg_stride: g.dilation_w * c,
        step: g.stride_w * c,
        rows: g.kernel_h,
        rotation: 0,
    };
    // With unit vertical stride and dilation, output row oy + 1 reads the rows of oy but the
    // first, plus one: keep the buffer as a ring and widen one new row per output row.
    let ring = g.stride_h == 1 && g.dilation_h == 1;
    // |offset| ≤ 128 fits i16.
    let offset = i16x16::splat(p.input_offset() as i16);
    let mut stats = ConvStats::default();
    for c0 in (0..g.out_c).step_by(CH_BLOCK) {
        pack_panel_i16(weights, (n_seg, seg), c0, g.out_c, panel);
        let rq = RequantBlock::new(p, c0, g.out_c);
        for oy in 0..d.out_h {
            let fresh = if ring && oy > 0 {
                g.kernel_h - 1..g.kernel_h
            } else {
                0..g.kernel_h
            };
            layout.rotation = if ring { oy % g.kernel_h } else { 0 };
            for i in fresh {
                let slot = (i + layout.rotation) % g.kernel_h;
                fill_row_i8(g, input, g.input_row(oy, i), buf, slot * row_stride, offset);
            }
            let out = &mut output[oy * d.out_w * g.out_c + c0..];
            gemm_row_i16(buf, &layout, d.out_w, panel, &rq, out, g.out_c);
            stats.gemm_tiles += 1;
        }
    }
    Ok(stats)
}

/// Writes buffer row `buf[at..at + buffer_row_len]`: input row `iy` widened with the offset
/// between `pad.left · in_c` zeros and zeros to the end of the row, or all zeros when the kernel
/// row lies in the padding (`iy` is `None`). May write up to 15 values past the row, into the
/// gap that follows it.
fn fill_row_i8(
    g: &Conv2dGeometry,
    input: &[i8],
    iy: Option<usize>,
    buf: &mut [i16],
    at: usize,
    offset: i16x16,
) {
    let row_len = buffer_row_len(g);
    let Some(iy) = iy else {
        put_zeros(buf, at, row_len);
        return;
    };
    let c = g.in_c;
    let left = g.padding.left * c;
    let len = g.in_w * c;
    put_zeros(buf, at, left);
    put_widened(buf, at + left, &input[iy * len..], len, offset);
    put_zeros(buf, at + left + len, row_len - left - len);
}

/// `row[at..at + len] = src[..len] + offset`, as `i16`, 16 at a time (may write past
/// `at + len` within `row`, and read past `len` within `src`: callers write in increasing
/// position).
#[inline(always)]
fn put_widened(row: &mut [i16], at: usize, src: &[i8], len: usize, offset: i16x16) {
    let mut t = 0;
    while t < len {
        let n = (len - t).min(16);
        let v = match src
            .get(t..t + 16)
            .and_then(|s| <&[i8; 16]>::try_from(s).ok())
        {
            Some(s) => i8x16::from(*s),
            None => {
                let mut a = [0i8; 16];
                a[..n].copy_from_slice(&src[t..t + n]);
                i8x16::from(a)
            }
        };
        put16(row, at + t, (i16x16::from_i8x16(v) + offset).to_array(), n);
        t += 16;
    }
}

/// `row[at..at + len] = 0`, 16 at a time (may write past `at + len` within `row`).
#[inline(always)]
fn put_zeros(row: &mut [i16], at: usize, len: usize) {
    let mut t = 0;
    while t < len {
        put16(row, at + t, [0; 16], (len - t).min(16));
        t += 16;
    }
}

/// Stores all 16 values if they fit in `row`, else the first `n`.
#[inline(always)]
fn put16(row: &mut [i16], at: usize, v: [i16; 16], n: usize) {
    match row
        .get_mut(at..at + 16)
        .and_then(|d| <&mut [i16; 16]>::try_from(d).ok())
    {
        Some(d) => *d = v,
        None => row[at..at + n].copy_from_slice(&v[..n]),
    }
}
