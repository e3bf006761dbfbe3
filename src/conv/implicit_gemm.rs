//! Implicit GEMM convolution: the patch matrix of im2col is never copied. The micro-kernel reads
//! each output pixel's patch in place — from the input when the layer has no padding (f32), else
//! from a ring of padded input rows in the caller's scratch — and multiplies it by filters packed
//! at compile time in blocks of 16 output channels, vectorising over the channels:
//!
//! ```text
//! acc[p][o..o+8] += x_p[k] · w[o..o+8][k]      one broadcast input value, one filter vector
//! ```
//!
//! so the accumulators are the outputs themselves (no horizontal sums), the output stage runs on
//! whole vectors of channels and the output is written channels-last as it is.
//!
//! - **f32**: per patch value `k`, two `f32x8` filter loads, one broadcast per pixel and two FMAs
//!   per pixel; 6 pixels of an output row (12 accumulators), or a 2×2 pooling window (8).
//! - **int8**: pairs of patch values — one `i32` broadcast per pixel of `(x[k], x[k+1])` as `i16`
//!   with the input offset folded in — times 16 filters × 2 values by two `i16x16::dot`
//!   (`pmaddwd`); filters are `i8` in memory, sign-extended on load (`vpmovsxbw`). The rows are
//!   widened to `i16` once per call into the ring (zeros in the padding, so padded taps add
//!   nothing). Requantization runs on 8 channels per vector.
//!
//! **Packed layout** (a permutation of the canonical `[c_out][kh][kw][c_in]`, same length; see
//! [`pack_weights_f32`] and [`pack_weights_i8`]): channel blocks of 16 (the last one holds the
//! remaining `nb ≤ 16`), block `c0` at `c0 · K`. f32: `[k][o]` inside a block. int8: the patch is
//! cut in segments (a kernel row of `kw · c_in` values, or one tap of `c_in` when dilated
//! horizontally), and inside a segment the pairs `[j][o][2]` come first, then, for an odd
//! segment, its last value `[o]`.
//!
//! **Pooling** ([`conv2d_pool2_f32`], [`conv2d_pool2_i8`]): the four pixels of a 2×2 window are
//! one register block; see [`pool_stage`](super::pool_stage).

// Indexed loops over the const-sized register blocks (pixels × channels) unroll completely.
#![allow(clippy::needless_range_loop)]
use wide::{bytemuck, f32x8, i8x16, i16x8, i16x16, i32x8};

use super::pool_stage::{Pool2x2, avg4_f32, avg4_i8, check_pooled};
use crate::activation::Activation;
use crate::conv::ConvStats;
use crate::error::Error;
use crate::gemm::i16::RequantBlock;
use crate::gemm::{Epilogue, load_tail, load8};
use crate::geometry::{Conv2dDims, Conv2dGeometry};
use crate::quant::LayerParamsI8;

/// Output channels per packed block (two vectors of 8).
pub const BLOCK: usize = 16;

/// Pixels of an output row per micro-kernel call (6 × 2 accumulators).
const ROW_PIXELS: usize = 6;

// ---- layout, packing, scratch ------------------------------------------------------------------

/// How a patch is cut into segments: `(per_row, seg)`, segments per kernel row and values per
/// segment — one segment of `kw · c_in` per kernel row, or `kw` segments of `c_in` (one per tap)
/// when the kernel is dilated horizontally.
const fn segments(g: &Conv2dGeometry) -> (usize, usize) {
    if g.dilation_w == 1 {
        (1, g.kernel_w.saturating_mul(g.in_c))
    } else {
        (g.kernel_w, g.in_c)
    }
}

const fn has_padding(g: &Conv2dGeometry) -> bool {
    let p = g.padding;
    p.top != 0 || p.bottom != 0 || p.left != 0 || p.right != 0
}

/// Length of one padded input row, `(pad.left + in_w + pad.right) · in_c` (saturating).
const fn padded_row_len(g: &Conv2dGeometry) -> usize {
    g.padding
        .left
        .saturating_add(g.in_w)
        .saturating_add(g.padding.right)
        .saturating_mul(g.in_c)
}

/// Rows in the ring: what two consecutive output rows read, `stride_h + (kh − 1) · dh + 1`.
const fn ring_rows(g: &Conv2dGeometry) -> usize {
    g.stride_h
        .saturating_add(g.kernel_h.saturating_sub(1).saturating_mul(g.dilation_h))
        .saturating_add(1)
}

/// f32 scratch elements [`conv2d_f32`] and [`conv2d_pool2_f32`] need: none without padding (the
/// patches are read from the input), else a ring of padded rows,
/// `(stride_h + (kh − 1) · dh + 1) · (pad.left + in_w + pad.right) · in_c` (saturating).
///
/// ```
/// use tinyconv::{Conv2dGeometry, Padding, conv::implicit_gemm};
/// let conv2 = Conv2dGeometry::new([14, 14, 6], 16, [5, 5]);
/// assert_eq!(implicit_gemm::scratch_len_f32(&conv2), 0);
/// let same = Conv2dGeometry::new([32, 32, 16], 32, [3, 3]).with_padding(Padding::uniform(1));
/// assert_eq!(implicit_gemm::scratch_len_f32(&same), 4 * 34 * 16);
/// ```
pub const fn scratch_len_f32(g: &Conv2dGeometry) -> usize {
    if has_padding(g) { scratch_len_i8(g) } else { 0 }
}

/// `i16` scratch elements [`conv2d_i8`] and [`conv2d_pool2_i8`] need: a ring of padded input rows
/// widened to `i16`, `(stride_h + (kh − 1) · dh + 1) · (pad.left + in_w + pad.right) · in_c`
/// (saturating).
///
/// ```
/// use tinyconv::{Conv2dGeometry, conv::implicit_gemm};
/// let conv2 = Conv2dGeometry::new([14, 14, 6], 16, [5, 5]);
/// assert_eq!(implicit_gemm::scratch_len_i8(&conv2), 6 * 14 * 6);
/// ```
pub const fn scratch_len_i8(g: &Conv2dGeometry) -> usize {
    ring_rows(g).saturating_mul(padded_row_len(g))
}

/// Checks the lengths of a packing call: both `canonical` and `packed` hold `out_c · K` values.
const fn check_pack(g: &Conv2dGeometry, canonical: usize, packed: usize) -> Result<usize, Error> {
    let d = match g.dims() {
        Ok(d) => d,
        Err(e) => return Err(e),
    };
    if canonical != d.weights_len {
        return Err(Error::LengthMismatch {
            what: "weights",
            expected: d.weights_len,
            actual: canonical,
        });
    }
    if packed != d.weights_len {
        return Err(Error::LengthMismatch {
            what: "packed weights",
            expected: d.weights_len,
            actual: packed,
        });
    }
    Ok(d.patch_len)
}

/// Packs canonical `[c_out][kh][kw][c_in]` f32 filters for the f32 kernels: blocks of 16
/// channels, `packed[c0·K + k·nb + o] = canonical[(c0 + o)·K + k]` with `nb = min(16, c_out − c0)`
/// (a permutation; same length). A `const fn`, for weights packed at compile time.
///
/// # Errors
/// [`Error::InvalidGeometry`], or [`Error::LengthMismatch`] if either slice is not
/// `out_c · kh · kw · in_c` long.
pub const fn pack_weights_f32(
    g: &Conv2dGeometry,
    canonical: &[f32],
    packed: &mut [f32],
) -> Result<(), Error> {
    let k = match check_pack(g, canonical.len(), packed.len()) {
        Ok(k) => k,
        Err(e) => return Err(e),
    };
    let mut c0 = 0;
    while c0 < g.out_c {
        let nb = block_len(g.out_c, c0);
        let mut kk = 0;
        while kk < k {
            let mut o = 0;
            while o < nb {
                packed[c0 * k + kk * nb + o] = canonical[(c0 + o) * k + kk];
                o += 1;
            }
            kk += 1;
        }
        c0 += BLOCK;
    }
    Ok(())
}

/// Packs canonical `[c_out][kh][kw][c_in]` int8 filters for the int8 kernels: blocks of 16
/// channels at `c0 · K`; inside a block, segment by segment (`seg` values each, at
/// `s · seg · nb`), the pairs `[j][o][t] = w[c0 + o][s·seg + 2j + t]` and, when `seg` is odd, the
/// last value `[o] = w[c0 + o][s·seg + seg − 1]` (a permutation; same length). A `const fn`, for
/// weights packed at compile time.
///
/// # Errors
/// [`Error::InvalidGeometry`], or [`Error::LengthMismatch`] if either slice is not
/// `out_c · kh · kw · in_c` long.
pub const fn pack_weights_i8(
    g: &Conv2dGeometry,
    canonical: &[i8],
    packed: &mut [i8],
) -> Result<(), Error> {
    let k = match check_pack(g, canonical.len(), packed.len()) {
        Ok(k) => k,
        Err(e) => return Err(e),
    };
    let (_, seg) = segments(g);
    let n_seg = k / seg;
    let pairs = seg / 2;
    let mut c0 = 0;
    while c0 < g.out_c {
        let nb = block_len(g.out_c, c0);
        let mut s = 0;
        while s < n_seg {
            let dst = c0 * k + s * seg * nb;
            let src = s * seg;
            let mut o = 0;
            while o < nb {
                let w = (c0 + o) * k + src;
                let mut j = 0;
                while j < pairs {
                    packed[dst + (j * nb + o) * 2] = canonical[w + 2 * j];
                    packed[dst + (j * nb + o) * 2 + 1] = canonical[w + 2 * j + 1];
                    j += 1;
                }
                if seg % 2 == 1 {
                    packed[dst + pairs * 2 * nb + o] = canonical[w + seg - 1];
                }
                o += 1;
            }
            s += 1;
        }
        c0 += BLOCK;
    }
    Ok(())
}

/// Channels in the block starting at `c0`.
const fn block_len(out_c: usize, c0: usize) -> usize {
    if out_c - c0 < BLOCK {
        out_c - c0
    } else {
        BLOCK
    }
}

/// Where the patches lie: padded rows (from the input, or a ring in scratch) and segments.
#[derive(Clone, Copy, Debug)]
struct Layout {
    kh: usize,
    sh: usize,
    dh: usize,
    per_row: usize,
    seg: usize,
    seg_stride: usize,
    /// Distance between the patches of horizontally adjacent output pixels (`stride_w · c_in`).
    step: usize,
    row_len: usize,
    /// Rows of the ring; 0 when the rows are the input's own.
    ring: usize,
    k: usize,
}

impl Layout {
    fn new(g: &Conv2dGeometry, d: &Conv2dDims, ring: bool) -> Self {
        let (per_row, seg) = segments(g);
        Layout {
            kh: g.kernel_h,
            sh: g.stride_h,
            dh: g.dilation_h,
            per_row,
            seg,
            seg_stride: g.dilation_w * g.in_c,
            step: g.stride_w * g.in_c,
            row_len: padded_row_len(g),
            ring: if ring { ring_rows(g) } else { 0 },
            k: d.patch_len,
        }
    }

    /// Where padded row `r` (of the padded input) is in `data`.
    #[inline(always)]
    fn first_slot(&self, r: usize) -> usize {
        if self.ring == 0 { r } else { r % self.ring }
    }

    /// The slot of the padded row `dh` below the one in `slot` (no division: `dh` is smaller
    /// than the ring whenever `kh > 1`, and the value is unused otherwise).
    #[inline(always)]
    fn next_slot(&self, slot: usize) -> usize {
        let s = slot + self.dh;
        if self.ring != 0 && s >= self.ring {
            s - self.ring
        } else {
            s
        }
    }

    /// The row in `slot`, from output column `ox`'s patch on.
    #[inline(always)]
    fn pixel_row<'a, T>(&self, data: &'a [T], slot: usize, ox: usize) -> &'a [T] {
        &data[slot * self.row_len..][..self.row_len][ox * self.step..]
    }
}

/// Fills the ring rows that output rows `oy0..oy0 + n` read and are not there yet (`next`: the
/// first padded row not filled so far), with `fill(padded row, destination)`.
#[inline(always)]
fn advance_ring<T>(
    lay: &Layout,
    oy0: usize,
    n: usize,
    next: &mut usize,
    ring: &mut [T],
    mut fill: impl FnMut(usize, &mut [T]),
) {
    let lo = oy0 * lay.sh;
    let hi = (oy0 + n - 1) * lay.sh + (lay.kh - 1) * lay.dh + 1;
    for r in (*next).max(lo)..hi {
        let slot = r % lay.ring;
        fill(r, &mut ring[slot * lay.row_len..][..lay.row_len]);
    }
    *next = (*next).max(hi);
}

// ---- f32 ---------------------------------------------------------------------------------------

/// f32 convolution `out = act(bias + Σ w·x)` over filters packed by [`pack_weights_f32`], same
/// meaning as [`reference::conv2d_f32`](crate::conv::reference::conv2d_f32) (padded taps are
/// zeros multiplied like any other value, as in [`im2col`](crate::conv::im2col)).
///
/// Scratch: [`scratch_len_f32`] elements (none without padding); it need not be zeroed.
/// [`ConvStats::gemm_tiles`] counts (output row, channel block) pairs.
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
    run_f32(
        g,
        &d,
        input,
        packed,
        &Epilogue { bias, act },
        None,
        scratch,
        output,
    )
}

/// [`conv2d_f32`] followed by a 2×2, stride-2 pooling, in one pass: `output` is the pooled
/// `[out_h / 2][out_w / 2][out_c]` map (see [`pool_stage`](super::pool_stage)).
///
/// # Errors
/// As [`conv2d_f32`]; [`Error::InvalidGeometry`] when the convolution output is smaller than 2×2.
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
    let (d, _, _) = check_pooled(
        g,
        input.len(),
        packed.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    let epi = Epilogue { bias, act };
    run_f32(g, &d, input, packed, &epi, Some(pool), scratch, output)
}

#[allow(clippy::too_many_arguments)]
fn run_f32(
    g: &Conv2dGeometry,
    d: &Conv2dDims,
    input: &[f32],
    packed: &[f32],
    epi: &Epilogue<'_>,
    pool: Option<Pool2x2>,
    scratch: &mut [f32],
    output: &mut [f32],
) -> Result<ConvStats, Error> {
    let needed = scratch_len_f32(g);
    if scratch.len() < needed {
        return Err(Error::ScratchTooSmall {
            needed,
            actual: scratch.len(),
        });
    }
    let ring = has_padding(g);
    let lay = Layout::new(g, d, ring);
    let (rows_per_step, steps) = match pool {
        Some(_) => (2, d.out_h / 2),
        None => (1, d.out_h),
    };
    let mut next = 0;
    let mut stats = ConvStats::default();
    for step in 0..steps {
        let oy0 = step * rows_per_step;
        if ring {
            advance_ring(&lay, oy0, rows_per_step, &mut next, scratch, |r, dst| {
                fill_row_f32(g, input, r, dst)
            });
        }
        let data: &[f32] = if ring { scratch } else { input };
        let mut c0 = 0;
        while c0 < g.out_c {
            let nb = block_len(g.out_c, c0);
            let blk = BlockF32 {
                lay: &lay,
                oy0,
                slot0: [
                    lay.first_slot(oy0 * lay.sh),
                    lay.first_slot((oy0 + 1) * lay.sh),
                ],
                data,
                w: &packed[c0 * lay.k..][..nb * lay.k],
                nb,
                c0,
                out_c: g.out_c,
                epi,
            };
            match pool {
                None => {
                    let out = &mut output[oy0 * d.out_w * g.out_c..][..d.out_w * g.out_c];
                    blk.row(oy0, d.out_w, out);
                }
                Some(pool) => {
                    let pw = d.out_w / 2;
                    let out = &mut output[step * pw * g.out_c..][..pw * g.out_c];
                    blk.pooled_row(oy0, pw, pool, out);
                }
            }
            stats.gemm_tiles += 1;
            c0 += BLOCK;
        }
    }
    Ok(stats)
}

/// Writes padded row `r` into `dst`: zeros in the padding, input row `r − pad.top` between.
fn fill_row_f32(g: &Conv2dGeometry, input: &[f32], r: usize, dst: &mut [f32]) {
    match r.checked_sub(g.padding.top).filter(|&iy| iy < g.in_h) {
        None => dst.fill(0.0),
        Some(iy) => {
            let (left, len) = (g.padding.left * g.in_c, g.in_w * g.in_c);
            dst[..left].fill(0.0);
            dst[left..left + len].copy_from_slice(&input[iy * len..][..len]);
            dst[left + len..].fill(0.0);
        }
    }
}

/// One channel block of the f32 kernel on one output row (or pooled row).
struct BlockF32<'a> {
    lay: &'a Layout,
    /// First output row of the step, and the ring slots of its rows' first kernel rows.
    oy0: usize,
    slot0: [usize; 2],
    data: &'a [f32],
    /// The block's packed filters, `[k][nb]`.
    w: &'a [f32],
    nb: usize,
    c0: usize,
    out_c: usize,
    epi: &'a Epilogue<'a>,
}

impl BlockF32<'_> {
    /// Output row `oy`: pixels 6 at a time, then 4, 2, 1.
    fn row(&self, oy: usize, out_w: usize, out: &mut [f32]) {
        if self.nb == BLOCK {
            self.row_v::<2, true>(oy, out_w, out);
        } else if self.nb > 8 {
            self.row_v::<2, false>(oy, out_w, out);
        } else {
            self.row_v::<1, false>(oy, out_w, out);
        }
    }

    #[inline(always)]
    fn row_v<const V: usize, const FULL: bool>(&self, oy: usize, out_w: usize, out: &mut [f32]) {
        let mut x = 0;
        while x + ROW_PIXELS <= out_w {
            self.pixels::<ROW_PIXELS, V, FULL>(core::array::from_fn(|p| (oy, x + p)), out);
            x += ROW_PIXELS;
        }
        if x + 4 <= out_w {
            self.pixels::<4, V, FULL>(core::array::from_fn(|p| (oy, x + p)), out);
            x += 4;
        }
        if x + 2 <= out_w {
            self.pixels::<2, V, FULL>(core::array::from_fn(|p| (oy, x + p)), out);
            x += 2;
        }
        if x < out_w {
            self.pixels::<1, V, FULL>([(oy, x)], out);
        }
    }

    #[inline(always)]
    fn pixels<const P: usize, const V: usize, const FULL: bool>(
        &self,
        px: [(usize, usize); P],
        out: &mut [f32],
    ) {
        let acc = self.tile::<P, V, FULL>(px);
        let bias = self.bias::<V>();
        for p in 0..P {
            let y: [f32x8; V] = core::array::from_fn(|v| self.epi.vector(acc[p][v], bias[v]));
            self.store(&mut out[px[p].1 * self.out_c..], y);
        }
    }

    /// Pooled row: output rows `oy`, `oy + 1`, one 2×2 window per call.
    fn pooled_row(&self, oy: usize, pw: usize, pool: Pool2x2, out: &mut [f32]) {
        if self.nb == BLOCK {
            self.pooled_v::<2, true>(oy, pw, pool, out);
        } else if self.nb > 8 {
            self.pooled_v::<2, false>(oy, pw, pool, out);
        } else {
            self.pooled_v::<1, false>(oy, pw, pool, out);
        }
    }

    #[inline(always)]
    fn pooled_v<const V: usize, const FULL: bool>(
        &self,
        oy: usize,
        pw: usize,
        pool: Pool2x2,
        out: &mut [f32],
    ) {
        let bias = self.bias::<V>();
        for x in 0..pw {
            let px = [
                (oy, 2 * x),
                (oy, 2 * x + 1),
                (oy + 1, 2 * x),
                (oy + 1, 2 * x + 1),
            ];
            let acc = self.tile::<4, V, FULL>(px);
            let y: [f32x8; V] = core::array::from_fn(|v| match pool {
                Pool2x2::Max => {
                    let m = acc[0][v].max(acc[1][v]).max(acc[2][v].max(acc[3][v]));
                    self.epi.vector(m, bias[v])
                }
                Pool2x2::Avg => avg4_f32(core::array::from_fn(|p| {
                    self.epi.vector(acc[p][v], bias[v])
                })),
            });
            self.store(&mut out[x * self.out_c..], y);
        }
    }

    #[inline(always)]
    fn bias<const V: usize>(&self) -> [f32x8; V] {
        core::array::from_fn(|v| {
            let lanes = self.nb.saturating_sub(8 * v).min(8);
            self.epi.bias_vec(self.c0 + 8 * v, lanes)
        })
    }

    /// Writes the block's `nb` channels of one pixel at `out[c0..]`.
    #[inline(always)]
    fn store<const V: usize>(&self, out: &mut [f32], y: [f32x8; V]) {
        let dst = &mut out[self.c0..][..self.nb];
        if self.nb == 8 * V {
            for (d, v) in dst.as_chunks_mut::<8>().0.iter_mut().zip(y) {
                *d = v.to_array();
            }
        } else {
            for (v, d) in dst.chunks_mut(8).enumerate() {
                d.copy_from_slice(&y[v].to_array()[..d.len()]);
            }
        }
    }

    /// The accumulators of `P` pixels (`(oy, ox)`) × `V` vectors of channels.
    #[inline(always)]
    fn tile<const P: usize, const V: usize, const FULL: bool>(
        &self,
        px: [(usize, usize); P],
    ) -> [[f32x8; V]; P] {
        let lay = self.lay;
        let mut acc = [[f32x8::ZERO; V]; P];
        let mut slots: [usize; P] = core::array::from_fn(|p| self.slot0[px[p].0 - self.oy0]);
        for i in 0..lay.kh {
            let rows: [&[f32]; P] =
                core::array::from_fn(|p| lay.pixel_row(self.data, slots[p], px[p].1));
            slots = slots.map(|s| lay.next_slot(s));
            for s in 0..lay.per_row {
                let kk0 = (i * lay.per_row + s) * lay.seg;
                let xs: [&[f32]; P] =
                    core::array::from_fn(|p| &rows[p][s * lay.seg_stride..][..lay.seg]);
                if FULL {
                    let w = &self.w[kk0 * BLOCK..][..lay.seg * BLOCK];
                    seg_full_f32(&mut acc, w, xs);
                } else {
                    seg_partial_f32(&mut acc, self.w, kk0, self.nb, xs);
                }
            }
        }
        acc
    }
}

/// `acc[p][v] += x_p[t] · w[t][8v..8v + 8]` over one segment, 16 channels (`w`: `[seg][16]`).
#[inline(always)]
fn seg_full_f32<const P: usize, const V: usize>(
    acc: &mut [[f32x8; V]; P],
    w: &[f32],
    xs: [&[f32]; P],
) {
    let w = w.as_chunks::<8>().0;
    let n = w.len() / 2;
    let xs: [&[f32]; P] = core::array::from_fn(|p| &xs[p][..n]);
    for t in 0..n {
        let wv: [f32x8; V] = core::array::from_fn(|v| f32x8::from(w[2 * t + v]));
        for p in 0..P {
            let x = f32x8::splat(xs[p][t]);
            for v in 0..V {
                acc[p][v] = wv[v].mul_add(x, acc[p][v]);
            }
        }
    }
}

/// As [`seg_full_f32`] for a block of `nb < 16` channels (`w`: the whole block, `[k][nb]`): the
/// loads read past the segment's `nb` values into the next ones (lanes never stored), or are
/// zero-filled at the end of the block.
#[inline(always)]
fn seg_partial_f32<const P: usize, const V: usize>(
    acc: &mut [[f32x8; V]; P],
    w: &[f32],
    kk0: usize,
    nb: usize,
    xs: [&[f32]; P],
) {
    for t in 0..xs[0].len() {
        let at = (kk0 + t) * nb;
        let wv: [f32x8; V] = core::array::from_fn(|v| load8_clamped(w, at + 8 * v));
        for p in 0..P {
            let x = f32x8::splat(xs[p][t]);
            for v in 0..V {
                acc[p][v] = wv[v].mul_add(x, acc[p][v]);
            }
        }
    }
}

/// `s[at..at + 8]`, zero-filled past the end of `s`.
#[inline(always)]
fn load8_clamped(s: &[f32], at: usize) -> f32x8 {
    match s.get(at..at + 8) {
        Some(v) => load8(v),
        None => load_tail(s.get(at..).unwrap_or(&[])),
    }
}

// ---- int8 --------------------------------------------------------------------------------------

/// int8 convolution over filters packed by [`pack_weights_i8`], same meaning as
/// [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8) (bit-exact).
///
/// Scratch: [`scratch_len_i8`] `i16`s; it need not be zeroed. [`ConvStats::gemm_tiles`] counts
/// (output row, channel block) pairs.
///
/// # Errors
/// As [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8), and
/// [`Error::ScratchTooSmall`].
pub fn conv2d_i8(
    g: &Conv2dGeometry,
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let d = g.check(
        input.len(),
        packed.len(),
        p.bias.map(<[i32]>::len),
        output.len(),
    )?;
    p.check(g.out_c, d.patch_len)?;
    run_i8(g, &d, input, packed, p, None, scratch, output)
}

/// [`conv2d_i8`] followed by a lookup table (`classic` LeNet's sigmoid, indexed by `q + 128`;
/// `None`: no table) and a 2×2, stride-2 pooling, in one pass: `output` is the pooled
/// `[out_h / 2][out_w / 2][out_c]` map, bit-exact with the three steps one after the other
/// ([`reference::avg_pool2d_i8`](crate::pool::reference::avg_pool2d_i8) without clamp).
///
/// # Errors
/// As [`conv2d_i8`]; [`Error::InvalidGeometry`] when the convolution output is smaller than 2×2.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_pool2_i8(
    g: &Conv2dGeometry,
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    table: Option<&[i8; 256]>,
    pool: Pool2x2,
    scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let (d, _, _) = check_pooled(
        g,
        input.len(),
        packed.len(),
        p.bias.map(<[i32]>::len),
        output.len(),
    )?;
    p.check(g.out_c, d.patch_len)?;
    run_i8(
        g,
        &d,
        input,
        packed,
        p,
        Some((pool, table)),
        scratch,
        output,
    )
}

#[allow(clippy::too_many_arguments)]
fn run_i8(
    g: &Conv2dGeometry,
    d: &Conv2dDims,
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    pool: Option<(Pool2x2, Option<&[i8; 256]>)>,
    scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let needed = scratch_len_i8(g);
    if scratch.len() < needed {
        return Err(Error::ScratchTooSmall {
            needed,
            actual: scratch.len(),
        });
    }
    let lay = Layout::new(g, d, true);
    // |offset| ≤ 128 fits i16.
    let offset = p.input_offset() as i16;
    let (rows_per_step, steps) = match pool {
        Some(_) => (2, d.out_h / 2),
        None => (1, d.out_h),
    };
    let mut rq = [None; 8];
    let mut next = 0;
    let mut stats = ConvStats::default();
    for step in 0..steps {
        let oy0 = step * rows_per_step;
        advance_ring(&lay, oy0, rows_per_step, &mut next, scratch, |r, dst| {
            fill_row_i8(g, input, r, dst, offset)
        });
        let data: &[i16] = scratch;
        let mut c0 = 0;
        while c0 < g.out_c {
            let nb = block_len(g.out_c, c0);
            // Requantization constants of the first 8 blocks are built once per call.
            let b = c0 / BLOCK;
            let fresh;
            let rq = match rq.get_mut(b) {
                Some(slot) => &*slot.get_or_insert_with(|| RequantBlock::new(p, c0, g.out_c)),
                None => {
                    fresh = RequantBlock::new(p, c0, g.out_c);
                    &fresh
                }
            };
            let blk = BlockI8 {
                lay: &lay,
                oy0,
                slot0: [
                    lay.first_slot(oy0 * lay.sh),
                    lay.first_slot((oy0 + 1) * lay.sh),
                ],
                data,
                w: &packed[c0 * lay.k..][..nb * lay.k],
                nb,
                c0,
                out_c: g.out_c,
                rq,
            };
            match pool {
                None => {
                    let out = &mut output[oy0 * d.out_w * g.out_c..][..d.out_w * g.out_c];
                    blk.row(oy0, d.out_w, out);
                }
                Some((pool, table)) => {
                    let pw = d.out_w / 2;
                    let out = &mut output[step * pw * g.out_c..][..pw * g.out_c];
                    blk.pooled_row(oy0, pw, pool, table, out);
                }
            }
            stats.gemm_tiles += 1;
            c0 += BLOCK;
        }
    }
    Ok(stats)
}

/// Writes padded row `r` into `dst` as `i16`, `x − input_zero_point`: zeros in the padding.
fn fill_row_i8(g: &Conv2dGeometry, input: &[i8], r: usize, dst: &mut [i16], offset: i16) {
    match r.checked_sub(g.padding.top).filter(|&iy| iy < g.in_h) {
        None => dst.fill(0),
        Some(iy) => {
            let (left, len) = (g.padding.left * g.in_c, g.in_w * g.in_c);
            dst[..left].fill(0);
            widen(
                &input[iy * len..][..len],
                &mut dst[left..left + len],
                offset,
            );
            dst[left + len..].fill(0);
        }
    }
}

/// `dst[t] = src[t] + offset` as `i16`, 16 at a time.
#[inline]
pub(crate) fn widen(src: &[i8], dst: &mut [i16], offset: i16) {
    let (sc, st) = src.as_chunks::<16>();
    let (dc, dt) = dst.as_chunks_mut::<16>();
    let off = i16x16::splat(offset);
    for (d, s) in dc.iter_mut().zip(sc) {
        *d = (i16x16::from_i8x16(i8x16::from(*s)) + off).to_array();
    }
    for (d, &s) in dt.iter_mut().zip(st) {
        *d = i16::from(s) + offset;
    }
}

/// One channel block of the int8 kernel on one output row (or pooled row).
struct BlockI8<'a> {
    lay: &'a Layout,
    /// First output row of the step, and the ring slots of its rows' first kernel rows.
    oy0: usize,
    slot0: [usize; 2],
    data: &'a [i16],
    /// The block's packed filters.
    w: &'a [i8],
    nb: usize,
    c0: usize,
    out_c: usize,
    rq: &'a RequantBlock,
}

impl BlockI8<'_> {
    fn row(&self, oy: usize, out_w: usize, out: &mut [i8]) {
        if self.nb == BLOCK {
            self.row_v::<true>(oy, out_w, out);
        } else {
            self.row_v::<false>(oy, out_w, out);
        }
    }

    #[inline(always)]
    fn row_v<const FULL: bool>(&self, oy: usize, out_w: usize, out: &mut [i8]) {
        let mut x = 0;
        while x + ROW_PIXELS <= out_w {
            self.pixels::<ROW_PIXELS, FULL>(core::array::from_fn(|p| (oy, x + p)), out);
            x += ROW_PIXELS;
        }
        if x + 4 <= out_w {
            self.pixels::<4, FULL>(core::array::from_fn(|p| (oy, x + p)), out);
            x += 4;
        }
        if x + 2 <= out_w {
            self.pixels::<2, FULL>(core::array::from_fn(|p| (oy, x + p)), out);
            x += 2;
        }
        if x < out_w {
            self.pixels::<1, FULL>([(oy, x)], out);
        }
    }

    #[inline(always)]
    fn pixels<const P: usize, const FULL: bool>(&self, px: [(usize, usize); P], out: &mut [i8]) {
        let acc = self.tile::<P, FULL>(px);
        for p in 0..P {
            self.rq
                .store(&acc[p], &mut out[px[p].1 * self.out_c + self.c0..]);
        }
    }

    fn pooled_row(
        &self,
        oy: usize,
        pw: usize,
        pool: Pool2x2,
        table: Option<&[i8; 256]>,
        out: &mut [i8],
    ) {
        if self.nb == BLOCK {
            self.pooled_v::<true>(oy, pw, pool, table, out);
        } else {
            self.pooled_v::<false>(oy, pw, pool, table, out);
        }
    }

    #[inline(always)]
    fn pooled_v<const FULL: bool>(
        &self,
        oy: usize,
        pw: usize,
        pool: Pool2x2,
        table: Option<&[i8; 256]>,
        out: &mut [i8],
    ) {
        for x in 0..pw {
            let px = [
                (oy, 2 * x),
                (oy, 2 * x + 1),
                (oy + 1, 2 * x),
                (oy + 1, 2 * x + 1),
            ];
            let acc = self.tile::<4, FULL>(px);
            let dst = &mut out[x * self.out_c + self.c0..];
            match (pool, table) {
                (Pool2x2::Max, None) => {
                    // Requantization is non-decreasing: pool the accumulators, requantize once.
                    let m: [i32x8; 2] = core::array::from_fn(|h| {
                        acc[0][h].max(acc[1][h]).max(acc[2][h].max(acc[3][h]))
                    });
                    self.rq.store(&m, dst);
                }
                _ => {
                    let q: [[i8; 16]; 4] = core::array::from_fn(|p| {
                        let mut v = self.rq.requantize(&acc[p]);
                        if let Some(t) = table {
                            for y in &mut v {
                                *y = t[(i16::from(*y) + 128) as usize];
                            }
                        }
                        v
                    });
                    let y = match pool {
                        Pool2x2::Max => {
                            core::array::from_fn(|l| q[0][l].max(q[1][l]).max(q[2][l].max(q[3][l])))
                        }
                        Pool2x2::Avg => avg4_i8(q),
                    };
                    dst[..self.nb].copy_from_slice(&y[..self.nb]);
                }
            }
        }
    }

    /// The accumulators of `P` pixels × 16 channels (two `i32x8`).
    #[inline(always)]
    fn tile<const P: usize, const FULL: bool>(&self, px: [(usize, usize); P]) -> [[i32x8; 2]; P] {
        let lay = self.lay;
        let mut acc = [[i32x8::ZERO; 2]; P];
        let mut slots: [usize; P] = core::array::from_fn(|p| self.slot0[px[p].0 - self.oy0]);
        for i in 0..lay.kh {
            let rows: [&[i16]; P] =
                core::array::from_fn(|p| lay.pixel_row(self.data, slots[p], px[p].1));
            slots = slots.map(|s| lay.next_slot(s));
            for s in 0..lay.per_row {
                let woff = (i * lay.per_row + s) * lay.seg * self.nb;
                let xs: [&[i16]; P] =
                    core::array::from_fn(|p| &rows[p][s * lay.seg_stride..][..lay.seg]);
                if FULL {
                    seg_full_i8(&mut acc, &self.w[woff..][..lay.seg * BLOCK], xs);
                } else {
                    seg_partial_i8(&mut acc, self.w, woff, self.nb, xs);
                }
            }
        }
        acc
    }
}

/// `(lo, hi)` in every 32-bit lane (one `vpbroadcastd`).
#[inline(always)]
fn pair(lo: i16, hi: i16) -> i16x16 {
    i16x16::from([
        lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi,
    ])
}

/// 16 `i8` sign-extended to `i16`.
#[inline(always)]
fn widen16(w: &[i8; 16]) -> i16x16 {
    i16x16::from_i8x16(i8x16::from(*w))
}

/// 8 `i8` (the low half of `w`) as `i32` lanes, i.e. `i16` pairs `(w, sign)`: times a pair
/// `(x, 0)` this is `x · w`.
#[inline(always)]
fn widen8_pairs(w: i16x16, half: usize) -> i16x16 {
    let halves: [i16x8; 2] = bytemuck::cast(w);
    bytemuck::cast(i32x8::from_i16x8(halves[half]))
}

/// One segment of 16 channels: pairs `[j][16][2]`, then the odd last value `[16]`.
#[inline(always)]
fn seg_full_i8<const P: usize>(acc: &mut [[i32x8; 2]; P], w: &[i8], xs: [&[i16]; P]) {
    let seg = xs[0].len();
    let pairs = seg / 2;
    let (wp, wl) = w.split_at(pairs * 2 * BLOCK);
    let wp = wp.as_chunks::<32>().0;
    let xp: [&[[i16; 2]]; P] = core::array::from_fn(|p| &xs[p].as_chunks::<2>().0[..wp.len()]);
    for (j, c) in wp.iter().enumerate() {
        let halves: &[[i8; 16]; 2] = bytemuck::cast_ref(c);
        let w0 = widen16(&halves[0]);
        let w1 = widen16(&halves[1]);
        for p in 0..P {
            let [lo, hi] = xp[p][j];
            let a = pair(lo, hi);
            acc[p][0] += a.dot(w0);
            acc[p][1] += a.dot(w1);
        }
    }
    if seg % 2 == 1 {
        let last: &[i8; 16] = wl.first_chunk::<16>().expect("16 channels");
        let wv = widen16(last);
        let (w0, w1) = (widen8_pairs(wv, 0), widen8_pairs(wv, 1));
        for p in 0..P {
            let a = pair(xs[p][seg - 1], 0);
            acc[p][0] += a.dot(w0);
            acc[p][1] += a.dot(w1);
        }
    }
}

/// As [`seg_full_i8`] for a block of `nb < 16` channels (`w`: the whole block; the segment at
/// `woff`): loads read past the segment's values (lanes never stored), or are zero-filled at the
/// end of the block.
#[inline(always)]
fn seg_partial_i8<const P: usize>(
    acc: &mut [[i32x8; 2]; P],
    w: &[i8],
    woff: usize,
    nb: usize,
    xs: [&[i16]; P],
) {
    let seg = xs[0].len();
    let pairs = seg / 2;
    for j in 0..pairs {
        let at = woff + j * 2 * nb;
        let w0 = widen16(&load16_clamped(w, at));
        let w1 = widen16(&load16_clamped(w, at + 16));
        for p in 0..P {
            let a = pair(xs[p][2 * j], xs[p][2 * j + 1]);
            acc[p][0] += a.dot(w0);
            acc[p][1] += a.dot(w1);
        }
    }
    if seg % 2 == 1 {
        let wv = widen16(&load16_clamped(w, woff + pairs * 2 * nb));
        let (w0, w1) = (widen8_pairs(wv, 0), widen8_pairs(wv, 1));
        for p in 0..P {
            let a = pair(xs[p][seg - 1], 0);
            acc[p][0] += a.dot(w0);
            acc[p][1] += a.dot(w1);
        }
    }
}

/// `s[at..at + 16]`, zero-filled past the end of `s`.
#[inline(always)]
fn load16_clamped(s: &[i8], at: usize) -> [i8; 16] {
    match s
        .get(at..at + 16)
        .and_then(|v| <&[i8; 16]>::try_from(v).ok())
    {
        Some(v) => *v,
        None => {
            let mut a = [0i8; 16];
            let rest = s.get(at..).unwrap_or(&[]);
            let n = rest.len().min(16);
            a[..n].copy_from_slice(&rest[..n]);
            a
        }
    }
}
