//! Convolution of a one-channel input (LeNet-5's first layer, `28×28×1 → 28×28×6`, 5×5,
//! padding 2): a patch is only `kh · kw` values, too short to vectorise along, and 6 filters fill
//! few lanes of a channel vector, so these kernels vectorise over **output pixels**, 8 per vector,
//! and broadcast the weights.
//!
//! The output columns are split by parity: one vector holds the even columns `2k, 2k + 2, …` and
//! another the odd ones, so that the 2×2 pooling of [`conv2d_pool2_f32`] / [`conv2d_pool2_i8`] is
//! a lane-wise maximum (or mean) of four vectors, and the pooled vector's lane `k` is pooled
//! column `k`: no shuffles until the final transpose to channels-last. Two output rows and up to
//! 6 filters are computed at once (12 accumulators).
//!
//! - **f32**: each padded input row is split once into its even and odd columns (scratch), so
//!   that tap `j` of the even (odd) output columns is a contiguous vector of one of the two planes:
//!   input column `2k + p + j` is plane `(p + j) mod 2`, position `k + ⌊(p + j)/2⌋`.
//! - **int8**: each padded input row is widened once to `i16` with the input offset folded in
//!   (zeros in the padding). The pair of taps `(j, j + 1)` of output column `2k + p` is the pair of
//!   adjacent values at `2k + p + j`, so 16 `i16`s loaded at `p + j` hold the pairs of 8 output
//!   columns of one parity in their 32-bit lanes, and one `pmaddwd` with the broadcast weight
//!   pair adds two taps for 8 pixels. A kernel row of odd width ends with the pair `(w, 0)`. The
//!   weight pairs are widened into the scratch once per call (`out_c · kh · ⌈kw/2⌉` pairs: 90
//!   for LeNet's conv1).
//!
//! Both need `in_c == 1`, `stride_w == 1` and `dilation_w == 1` ([`applies`]); any height
//! stride, height dilation, padding and kernel size.

// Indexed loops over the const-sized register blocks (pixels × channels) unroll completely.
#![allow(clippy::needless_range_loop)]
use wide::{f32x8, i16x16, i32x8};

use super::pool_stage::{Pool2x2, avg4_f32, avg4_i8, check_pooled};
use crate::activation::Activation;
use crate::conv::ConvStats;
use crate::error::Error;
use crate::gemm::i16::RequantPixels;
use crate::gemm::{Epilogue, load8};
use crate::geometry::{Conv2dDims, Conv2dGeometry};
use crate::quant::LayerParamsI8;

/// Filters per pass (6 × 2 rows = 12 accumulators).
const MR: usize = 6;

/// True when the kernels apply to `g`: one input channel, unit horizontal stride and dilation.
pub const fn applies(g: &Conv2dGeometry) -> bool {
    g.in_c == 1 && g.stride_w == 1 && g.dilation_w == 1
}

/// Output columns of one parity, rounded up: `⌈out_w / 2⌉` (0 for an invalid geometry).
const fn half_cols(g: &Conv2dGeometry) -> usize {
    match g.dims() {
        Ok(d) => d.out_w.div_ceil(2),
        Err(_) => 0,
    }
}

/// Vectors of 8 columns per parity.
const fn tiles(g: &Conv2dGeometry) -> usize {
    half_cols(g).div_ceil(8)
}

/// Rows in the ring: what two consecutive output rows read.
const fn ring_rows(g: &Conv2dGeometry) -> usize {
    g.stride_h
        .saturating_add(g.kernel_h.saturating_sub(1).saturating_mul(g.dilation_h))
        .saturating_add(1)
}

/// Length of one plane (even or odd columns) of an f32 ring row: every vector a tile reads.
const fn plane_len(g: &Conv2dGeometry) -> usize {
    tiles(g)
        .saturating_mul(8)
        .saturating_add(g.kernel_w / 2)
        .saturating_add(1)
}

/// Length of one `i16` ring row: every 16-value load a tile makes.
const fn row_len_i8(g: &Conv2dGeometry) -> usize {
    tiles(g)
        .saturating_mul(16)
        .saturating_add(g.kernel_w)
        .saturating_add(1)
}

/// f32 scratch elements the f32 kernels need: a ring of `stride_h + (kh − 1) · dh + 1` padded
/// rows, each split into two planes of `8 · ⌈⌈out_w / 2⌉ / 8⌉ + ⌊kw / 2⌋ + 1` values.
///
/// ```
/// use tinyconv::{conv::one_channel, models::lenet5};
/// assert_eq!(one_channel::scratch_len_f32(&lenet5::CONV1), 6 * 2 * (16 + 2 + 1));
/// ```
pub const fn scratch_len_f32(g: &Conv2dGeometry) -> usize {
    ring_rows(g).saturating_mul(2).saturating_mul(plane_len(g))
}

/// `i16` scratch elements the int8 kernels need: a ring of `stride_h + (kh − 1) · dh + 1`
/// widened rows of `16 · ⌈⌈out_w / 2⌉ / 8⌉ + kw + 1` values, and the weight pairs,
/// `2 · out_c · kh · ⌈kw / 2⌉`.
///
/// ```
/// use tinyconv::{conv::one_channel, models::lenet5};
/// assert_eq!(one_channel::scratch_len_i8(&lenet5::CONV1), 6 * (32 + 5 + 1) + 2 * 6 * 5 * 3);
/// ```
pub const fn scratch_len_i8(g: &Conv2dGeometry) -> usize {
    ring_rows(g)
        .saturating_mul(row_len_i8(g))
        .saturating_add(pairs_len(g))
}

/// `i16`s of the widened weight pairs.
const fn pairs_len(g: &Conv2dGeometry) -> usize {
    g.out_c
        .saturating_mul(g.kernel_h)
        .saturating_mul(g.kernel_w.div_ceil(2))
        .saturating_mul(2)
}

/// Checks a packing call: both slices hold `out_c · kh · kw · in_c` values.
const fn check_pack(g: &Conv2dGeometry, canonical: usize, packed: usize) -> Result<(), Error> {
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
    Ok(())
}

/// The f32 kernels read the canonical `[c_out][kh][kw][1]` filters: packing is a checked copy.
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub const fn pack_weights_f32(
    g: &Conv2dGeometry,
    canonical: &[f32],
    packed: &mut [f32],
) -> Result<(), Error> {
    match check_pack(g, canonical.len(), packed.len()) {
        Ok(()) => {
            packed.copy_from_slice(canonical);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The int8 kernels read the canonical `[c_out][kh][kw][1]` filters: packing is a checked copy.
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub const fn pack_weights_i8(
    g: &Conv2dGeometry,
    canonical: &[i8],
    packed: &mut [i8],
) -> Result<(), Error> {
    match check_pack(g, canonical.len(), packed.len()) {
        Ok(()) => {
            packed.copy_from_slice(canonical);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn check_applies(g: &Conv2dGeometry) -> Result<(), Error> {
    if applies(g) {
        Ok(())
    } else {
        Err(Error::InvalidGeometry(
            "one-channel kernel: in_c, stride_w and dilation_w must be 1",
        ))
    }
}

fn check_scratch(needed: usize, actual: usize) -> Result<(), Error> {
    if actual < needed {
        Err(Error::ScratchTooSmall { needed, actual })
    } else {
        Ok(())
    }
}

/// Which output rows a step computes and where its results go.
#[derive(Clone, Copy)]
struct Step {
    /// First output row.
    oy0: usize,
    /// Pooled row (pooling) or 0.
    py: usize,
    /// Ring slots of the first kernel row of output rows `oy0` and `oy0 + 1`.
    slot0: [usize; 2],
}

/// Geometry of the ring and the taps.
#[derive(Clone, Copy)]
struct Ring {
    kh: usize,
    kw: usize,
    sh: usize,
    dh: usize,
    rows: usize,
    /// Elements per ring row (both planes for f32).
    row_len: usize,
    out_w: usize,
    out_c: usize,
    tiles: usize,
}

impl Ring {
    fn new(g: &Conv2dGeometry, d: &Conv2dDims, row_len: usize) -> Self {
        Ring {
            kh: g.kernel_h,
            kw: g.kernel_w,
            sh: g.stride_h,
            dh: g.dilation_h,
            rows: ring_rows(g),
            row_len,
            out_w: d.out_w,
            out_c: g.out_c,
            tiles: tiles(g),
        }
    }

    /// Ring slot of padded row `r`.
    #[inline(always)]
    fn first_slot(&self, r: usize) -> usize {
        r % self.rows
    }

    /// The slot of the padded row `dh` below the one in `slot` (no division: `dh` is smaller
    /// than the ring whenever `kh > 1`, and the value is unused otherwise).
    #[inline(always)]
    fn next_slot(&self, slot: usize) -> usize {
        let s = slot + self.dh;
        if s >= self.rows { s - self.rows } else { s }
    }

    /// The ring row in `slot`.
    #[inline(always)]
    fn row<'a, T>(&self, ring: &'a [T], slot: usize) -> &'a [T] {
        &ring[slot * self.row_len..][..self.row_len]
    }

    /// Fills the padded rows that output rows `oy0..oy0 + n` read and that are not in the ring
    /// yet (`next`: the first padded row not filled so far).
    fn advance<T>(
        &self,
        oy0: usize,
        n: usize,
        next: &mut usize,
        ring: &mut [T],
        mut fill: impl FnMut(usize, &mut [T]),
    ) {
        let lo = oy0 * self.sh;
        let hi = (oy0 + n - 1) * self.sh + (self.kh - 1) * self.dh + 1;
        for r in (*next).max(lo)..hi {
            fill(
                r,
                &mut ring[(r % self.rows) * self.row_len..][..self.row_len],
            );
        }
        *next = (*next).max(hi);
    }
}

/// Input row of padded row `r`, if it is not padding.
#[inline(always)]
fn input_row<'a, T>(g: &Conv2dGeometry, input: &'a [T], r: usize) -> Option<&'a [T]> {
    r.checked_sub(g.padding.top)
        .filter(|&iy| iy < g.in_h)
        .map(|iy| &input[iy * g.in_w..][..g.in_w])
}

/// Transposes `M ≤ 8` vectors (filter `m`, lanes = 8 pixels) into one vector per pixel (lanes =
/// filters).
#[inline(always)]
fn transpose<const M: usize>(y: [f32x8; M]) -> [f32x8; 8] {
    let mut rows = [f32x8::ZERO; 8];
    rows[..M].copy_from_slice(&y);
    f32x8::transpose(rows)
}

// ---- f32 ---------------------------------------------------------------------------------------

/// f32 convolution of a one-channel input, `out = act(bias + Σ w·x)`, same meaning as
/// [`reference::conv2d_f32`](crate::conv::reference::conv2d_f32) (padded taps are zeros
/// multiplied like any other value, as in [`im2col`](crate::conv::im2col)).
///
/// Scratch: [`scratch_len_f32`] elements, need not be zeroed. [`ConvStats::gemm_tiles`] counts
/// the 8-column tiles computed (per filter pass, pair of rows and parity).
///
/// # Errors
/// [`Error::InvalidGeometry`] (also when [`applies`] is false), [`Error::LengthMismatch`],
/// [`Error::ScratchTooSmall`].
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
    w: &[f32],
    epi: &Epilogue<'_>,
    pool: Option<Pool2x2>,
    scratch: &mut [f32],
    output: &mut [f32],
) -> Result<ConvStats, Error> {
    check_applies(g)?;
    check_scratch(scratch_len_f32(g), scratch.len())?;
    let pl = plane_len(g);
    let ring = Ring::new(g, d, 2 * pl);
    let mut stats = ConvStats::default();
    let steps = match pool {
        Some(_) => d.out_h / 2,
        None => d.out_h.div_ceil(2),
    };
    // Filters outermost (one pass for up to 6 filters): the ring is refilled per pass.
    let mut m0 = 0;
    while m0 < g.out_c {
        let m = (g.out_c - m0).min(MR);
        let mut next = 0;
        for s in 0..steps {
            let step = Step {
                oy0: 2 * s,
                py: s,
                slot0: [
                    ring.first_slot(2 * s * ring.sh),
                    ring.first_slot((2 * s + 1) * ring.sh),
                ],
            };
            let n = (d.out_h - step.oy0).min(2);
            ring.advance(step.oy0, n, &mut next, scratch, |r, dst| {
                split_row(g, input_row(g, input, r), dst, pl)
            });
            let k = PassF32 {
                ring: &ring,
                data: scratch,
                pl,
                w,
                epi,
                step,
            };
            stats.gemm_tiles += match (pool, n) {
                (Some(pool), _) => k.pooled(m, m0, pool, output),
                (None, 2) => k.plain::<2>(m, m0, output),
                (None, _) => k.plain::<1>(m, m0, output),
            };
        }
        m0 += m;
    }
    Ok(stats)
}

/// Writes padded row `row` (`None`: a padding row) split into its even columns, `dst[..pl]`,
/// and odd columns, `dst[pl..]`, zero past the padded row.
fn split_row(g: &Conv2dGeometry, row: Option<&[f32]>, dst: &mut [f32], pl: usize) {
    let (even, odd) = dst.split_at_mut(pl);
    even.fill(0.0);
    odd.fill(0.0);
    if let Some(row) = row {
        // Input column x is padded column left + x: plane (left + x) mod 2, position
        // ⌊(left + x) / 2⌋. Even x share the parity of `left`.
        let left = g.padding.left;
        let (same, other) = if left.is_multiple_of(2) {
            (even, odd)
        } else {
            (odd, even)
        };
        for (d, &v) in same[left / 2..].iter_mut().zip(row.iter().step_by(2)) {
            *d = v;
        }
        for (d, &v) in other[left.div_ceil(2)..]
            .iter_mut()
            .zip(row.iter().skip(1).step_by(2))
        {
            *d = v;
        }
    }
}

/// One pair of output rows of the f32 kernels.
struct PassF32<'a> {
    ring: &'a Ring,
    data: &'a [f32],
    pl: usize,
    w: &'a [f32],
    epi: &'a Epilogue<'a>,
    step: Step,
}

impl PassF32<'_> {
    /// Filters `m0..m0 + m` of output rows `oy0..oy0 + R`, every tile; returns the tiles.
    fn plain<const R: usize>(&self, m: usize, m0: usize, out: &mut [f32]) -> usize {
        match m {
            6 => self.plain_m::<6, R>(m0, out),
            5 => self.plain_m::<5, R>(m0, out),
            4 => self.plain_m::<4, R>(m0, out),
            3 => self.plain_m::<3, R>(m0, out),
            2 => self.plain_m::<2, R>(m0, out),
            _ => self.plain_m::<1, R>(m0, out),
        }
    }

    fn plain_m<const M: usize, const R: usize>(&self, m0: usize, out: &mut [f32]) -> usize {
        let ring = self.ring;
        let bias = self.bias::<M>(m0);
        for t in 0..ring.tiles {
            for p in 0..2 {
                let acc = self.acc::<M, R>(m0, 8 * t, p);
                for (r, _) in acc[0].iter().enumerate() {
                    let y: [f32x8; M] =
                        core::array::from_fn(|m| self.epi.vector(acc[m][r], bias[m]));
                    let cols = transpose(y);
                    let oy = self.step.oy0 + r;
                    for (l, c) in cols.iter().enumerate() {
                        let ox = 2 * (8 * t + l) + p;
                        if ox < ring.out_w {
                            let at = (oy * ring.out_w + ox) * ring.out_c + m0;
                            out[at..at + M].copy_from_slice(&c.to_array()[..M]);
                        }
                    }
                }
            }
        }
        2 * ring.tiles
    }

    /// Filters `m0..m0 + m` of pooled row `py`, every tile; returns the tiles.
    fn pooled(&self, m: usize, m0: usize, pool: Pool2x2, out: &mut [f32]) -> usize {
        match m {
            6 => self.pooled_m::<6>(m0, pool, out),
            5 => self.pooled_m::<5>(m0, pool, out),
            4 => self.pooled_m::<4>(m0, pool, out),
            3 => self.pooled_m::<3>(m0, pool, out),
            2 => self.pooled_m::<2>(m0, pool, out),
            _ => self.pooled_m::<1>(m0, pool, out),
        }
    }

    fn pooled_m<const M: usize>(&self, m0: usize, pool: Pool2x2, out: &mut [f32]) -> usize {
        let ring = self.ring;
        let pw = ring.out_w / 2;
        let bias = self.bias::<M>(m0);
        for t in 0..pw.div_ceil(8) {
            // One parity at a time (12 accumulators), each reduced before the next starts.
            let y: [f32x8; M] = match pool {
                Pool2x2::Max => {
                    let even = self.acc::<M, 2>(m0, 8 * t, 0).map(|a| a[0].max(a[1]));
                    let odd = self.acc::<M, 2>(m0, 8 * t, 1).map(|a| a[0].max(a[1]));
                    core::array::from_fn(|m| self.epi.vector(even[m].max(odd[m]), bias[m]))
                }
                Pool2x2::Avg => {
                    let act = |a: [[f32x8; 2]; M]| -> [[f32x8; 2]; M] {
                        core::array::from_fn(|m| a[m].map(|v| self.epi.vector(v, bias[m])))
                    };
                    let even = act(self.acc::<M, 2>(m0, 8 * t, 0));
                    let odd = act(self.acc::<M, 2>(m0, 8 * t, 1));
                    core::array::from_fn(|m| {
                        avg4_f32([even[m][0], odd[m][0], even[m][1], odd[m][1]])
                    })
                }
            };
            let cols = transpose(y);
            for (l, c) in cols.iter().enumerate().take(pw - 8 * t) {
                let at = (self.step.py * pw + 8 * t + l) * ring.out_c + m0;
                out[at..at + M].copy_from_slice(&c.to_array()[..M]);
            }
        }
        2 * pw.div_ceil(8)
    }

    #[inline(always)]
    fn bias<const M: usize>(&self, m0: usize) -> [f32x8; M] {
        core::array::from_fn(|m| f32x8::splat(self.epi.bias.map_or(0.0, |b| b[m0 + m])))
    }

    /// Accumulators of filters `m0..m0 + M`, rows `oy0..oy0 + R`, the 8 columns
    /// `2(k0 + l) + p` of parity `p`.
    #[inline(always)]
    fn acc<const M: usize, const R: usize>(
        &self,
        m0: usize,
        k0: usize,
        p: usize,
    ) -> [[f32x8; R]; M] {
        // Common kernel widths unrolled completely (no bounds checks, no loop overhead).
        match self.ring.kw {
            3 => self.acc_kw::<M, R, 3>(m0, k0, p),
            5 => self.acc_kw::<M, R, 5>(m0, k0, p),
            7 => self.acc_kw::<M, R, 7>(m0, k0, p),
            _ => self.acc_kw::<M, R, 0>(m0, k0, p),
        }
    }

    /// [`acc`](Self::acc) for kernel width `KW` (0: any width, read at run time).
    #[inline(always)]
    fn acc_kw<const M: usize, const R: usize, const KW: usize>(
        &self,
        m0: usize,
        k0: usize,
        p: usize,
    ) -> [[f32x8; R]; M] {
        let ring = self.ring;
        let kh = ring.kh;
        let kw = if KW > 0 { KW } else { ring.kw };
        let k = kh * kw;
        let mut acc = [[f32x8::ZERO; R]; M];
        let mut slots: [usize; R] = core::array::from_fn(|r| self.step.slot0[r]);
        // Tap j = 2u of parity p reads plane p at k0 + u, tap 2u + 1 plane 1 − p at k0 + u + p.
        let pl = self.pl;
        let (ea, oa) = (p * pl + k0, (1 - p) * pl + k0 + p);
        let (he, ho) = (kw.div_ceil(2), kw / 2);
        let filters: [&[f32]; M] = core::array::from_fn(|m| &self.w[(m0 + m) * k..][..k]);
        for i in 0..kh {
            let rows: [&[f32]; R] = core::array::from_fn(|r| ring.row(self.data, slots[r]));
            slots = slots.map(|s| ring.next_slot(s));
            let even: [&[f32]; R] = core::array::from_fn(|r| &rows[r][ea..ea + he + 7]);
            let odd: [&[f32]; R] = core::array::from_fn(|r| &rows[r][oa..oa + ho + 7]);
            let w: [&[f32]; M] = core::array::from_fn(|m| &filters[m][i * kw..][..kw]);
            for u in 0..ho {
                let xe: [f32x8; R] = core::array::from_fn(|r| load8(&even[r][u..]));
                let xo: [f32x8; R] = core::array::from_fn(|r| load8(&odd[r][u..]));
                for m in 0..M {
                    let (we, wo) = (f32x8::splat(w[m][2 * u]), f32x8::splat(w[m][2 * u + 1]));
                    for r in 0..R {
                        acc[m][r] = we.mul_add(xe[r], acc[m][r]);
                        acc[m][r] = wo.mul_add(xo[r], acc[m][r]);
                    }
                }
            }
            if he > ho {
                let xe: [f32x8; R] = core::array::from_fn(|r| load8(&even[r][ho..]));
                for m in 0..M {
                    let we = f32x8::splat(w[m][kw - 1]);
                    for r in 0..R {
                        acc[m][r] = we.mul_add(xe[r], acc[m][r]);
                    }
                }
            }
        }
        acc
    }
}

// ---- int8 --------------------------------------------------------------------------------------

/// int8 convolution of a one-channel input, same meaning as
/// [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8) (bit-exact).
///
/// Scratch: [`scratch_len_i8`] `i16`s, need not be zeroed.
///
/// # Errors
/// As [`reference::conv2d_i8`](crate::conv::reference::conv2d_i8);
/// [`Error::InvalidGeometry`] also when [`applies`] is false; [`Error::ScratchTooSmall`].
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

/// [`conv2d_i8`] followed by a lookup table (`None`: none) and a 2×2, stride-2 pooling, in one
/// pass, bit-exact with the three steps one after the other (see
/// [`implicit_gemm::conv2d_pool2_i8`](super::implicit_gemm::conv2d_pool2_i8)).
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
    w: &[i8],
    p: &LayerParamsI8<'_>,
    pool: Option<(Pool2x2, Option<&[i8; 256]>)>,
    scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    check_applies(g)?;
    check_scratch(scratch_len_i8(g), scratch.len())?;
    let row_len = row_len_i8(g);
    let ring = Ring::new(g, d, row_len);
    let (rows, pairs) = scratch.split_at_mut(ring.rows * row_len);
    let hp = g.kernel_w.div_ceil(2);
    // Weight pairs (w[j], w[j + 1]) of each kernel row, (w, 0) for an odd last tap, in the
    // order a pass of up to MR filters reads them: per pass `[kh][hp][m]` pairs, so that the
    // inner loop's reads are consecutive (and provably in bounds).
    let (kh, kw) = (g.kernel_h, g.kernel_w);
    let mut m0 = 0;
    while m0 < g.out_c {
        let m = (g.out_c - m0).min(MR);
        let dst = &mut pairs[2 * m0 * kh * hp..][..2 * m * kh * hp];
        for f in 0..m {
            let filter = &w[(m0 + f) * kh * kw..][..kh * kw];
            for i in 0..kh {
                for q in 0..hp {
                    let d = &mut dst[2 * ((i * hp + q) * m + f)..][..2];
                    d[0] = i16::from(filter[i * kw + 2 * q]);
                    d[1] = if 2 * q + 1 < kw {
                        i16::from(filter[i * kw + 2 * q + 1])
                    } else {
                        0
                    };
                }
            }
        }
        m0 += m;
    }
    let pairs: &[i16] = pairs;
    // |offset| ≤ 128 fits i16.
    let offset = p.input_offset() as i16;
    let left = g.padding.left;
    let mut stats = ConvStats::default();
    let steps = match pool {
        Some(_) => d.out_h / 2,
        None => d.out_h.div_ceil(2),
    };
    // Filters outermost (one pass for up to 6 filters): the ring is refilled per pass.
    let mut m0 = 0;
    while m0 < g.out_c {
        let m = (g.out_c - m0).min(MR);
        // Filled in place: `array::from_fn` moved each 320-byte element four times (memcpy
        // calls were a tenth of LeNet's int8 time).
        let mut rq = [RequantPixels::new(p, m0); MR];
        for (c, r) in rq.iter_mut().enumerate().take(m).skip(1) {
            *r = RequantPixels::new(p, m0 + c);
        }
        let mut next = 0;
        for s in 0..steps {
            let step = Step {
                oy0: 2 * s,
                py: s,
                slot0: [
                    ring.first_slot(2 * s * ring.sh),
                    ring.first_slot((2 * s + 1) * ring.sh),
                ],
            };
            let n = (d.out_h - step.oy0).min(2);
            ring.advance(step.oy0, n, &mut next, rows, |r, dst| {
                dst.fill(0);
                if let Some(row) = input_row(g, input, r) {
                    super::implicit_gemm::widen(row, &mut dst[left..left + g.in_w], offset);
                }
            });
            let k = PassI8 {
                ring: &ring,
                data: rows,
                pairs,
                hp,
                step,
            };
            stats.gemm_tiles += match (pool, n) {
                (Some((pool, table)), _) => k.pooled(m, m0, &rq, pool, table, output),
                (None, 2) => k.plain::<2>(m, m0, &rq, output),
                (None, _) => k.plain::<1>(m, m0, &rq, output),
            };
        }
        m0 += m;
    }
    Ok(stats)
}

/// One pair of output rows of the int8 kernels.
struct PassI8<'a> {
    ring: &'a Ring,
    data: &'a [i16],
    /// Weight pairs, per pass of up to `MR` filters `[kh][⌈kw/2⌉][m][2]`.
    pairs: &'a [i16],
    hp: usize,
    step: Step,
}

impl PassI8<'_> {
    fn plain<const R: usize>(
        &self,
        m: usize,
        m0: usize,
        rq: &[RequantPixels; MR],
        out: &mut [i8],
    ) -> usize {
        match m {
            6 => self.plain_m::<6, R>(m0, rq, out),
            5 => self.plain_m::<5, R>(m0, rq, out),
            4 => self.plain_m::<4, R>(m0, rq, out),
            3 => self.plain_m::<3, R>(m0, rq, out),
            2 => self.plain_m::<2, R>(m0, rq, out),
            _ => self.plain_m::<1, R>(m0, rq, out),
        }
    }

    fn plain_m<const M: usize, const R: usize>(
        &self,
        m0: usize,
        rq: &[RequantPixels; MR],
        out: &mut [i8],
    ) -> usize {
        let ring = self.ring;
        for t in 0..ring.tiles {
            for p in 0..2 {
                let acc = self.acc::<M, R>(m0, 8 * t, p);
                for r in 0..R {
                    let oy = self.step.oy0 + r;
                    let q: [[i32; 8]; M] = core::array::from_fn(|m| rq[m].apply(acc[m][r]).into());
                    for l in 0..8 {
                        let ox = 2 * (8 * t + l) + p;
                        if ox < ring.out_w {
                            let at = (oy * ring.out_w + ox) * ring.out_c + m0;
                            for (m, y) in out[at..at + M].iter_mut().enumerate() {
                                *y = q[m][l] as i8;
                            }
                        }
                    }
                }
            }
        }
        2 * ring.tiles
    }

    fn pooled(
        &self,
        m: usize,
        m0: usize,
        rq: &[RequantPixels; MR],
        pool: Pool2x2,
        table: Option<&[i8; 256]>,
        out: &mut [i8],
    ) -> usize {
        match m {
            6 => self.pooled_m::<6>(m0, rq, pool, table, out),
            5 => self.pooled_m::<5>(m0, rq, pool, table, out),
            4 => self.pooled_m::<4>(m0, rq, pool, table, out),
            3 => self.pooled_m::<3>(m0, rq, pool, table, out),
            2 => self.pooled_m::<2>(m0, rq, pool, table, out),
            _ => self.pooled_m::<1>(m0, rq, pool, table, out),
        }
    }

    fn pooled_m<const M: usize>(
        &self,
        m0: usize,
        rq: &[RequantPixels; MR],
        pool: Pool2x2,
        table: Option<&[i8; 256]>,
        out: &mut [i8],
    ) -> usize {
        let ring = self.ring;
        let pw = ring.out_w / 2;
        for t in 0..pw.div_ceil(8) {
            // One parity at a time (12 accumulators), each reduced before the next starts.
            let n = (pw - 8 * t).min(8);
            let at = (self.step.py * pw + 8 * t) * ring.out_c + m0;
            if let (Pool2x2::Max, None) = (pool, table) {
                // Requantization is non-decreasing: pool the accumulators first; then straight
                // to the channels-last output, one filter at a time (plain loops: an
                // `array::from_fn` here was outlined).
                let mut even = [i32x8::ZERO; M];
                for (e, a) in even.iter_mut().zip(self.acc::<M, 2>(m0, 8 * t, 0)) {
                    *e = a[0].max(a[1]);
                }
                let odd = self.acc::<M, 2>(m0, 8 * t, 1);
                for m in 0..M {
                    let q = rq[m]
                        .apply(even[m].max(odd[m][0]).max(odd[m][1]))
                        .to_array();
                    for (l, &v) in q.iter().enumerate().take(n) {
                        out[at + l * ring.out_c + m] = v as i8;
                    }
                }
                continue;
            }
            let y: [[i8; 16]; M] = {
                let requant = |a: [[i32x8; 2]; M]| -> [[[i8; 16]; 2]; M] {
                    core::array::from_fn(|m| a[m].map(|v| lanes_i8(rq[m].apply(v), table)))
                };
                let even = requant(self.acc::<M, 2>(m0, 8 * t, 0));
                let odd = requant(self.acc::<M, 2>(m0, 8 * t, 1));
                core::array::from_fn(|m| {
                    let q = [even[m][0], odd[m][0], even[m][1], odd[m][1]];
                    match pool {
                        Pool2x2::Max => {
                            core::array::from_fn(|l| q[0][l].max(q[1][l]).max(q[2][l].max(q[3][l])))
                        }
                        Pool2x2::Avg => avg4_i8(q),
                    }
                })
            };
            for l in 0..n {
                let at = at + l * ring.out_c;
                for (m, o) in out[at..at + M].iter_mut().enumerate() {
                    *o = y[m][l];
                }
            }
        }
        2 * pw.div_ceil(8)
    }

    /// Accumulators of filters `m0..m0 + M`, rows `oy0..oy0 + R`, the 8 columns
    /// `2(k0 + l) + p` of parity `p`.
    #[inline(always)]
    fn acc<const M: usize, const R: usize>(
        &self,
        m0: usize,
        k0: usize,
        p: usize,
    ) -> [[i32x8; R]; M] {
        // Common kernel widths unrolled completely (no bounds checks, no loop overhead).
        match self.hp {
            2 => self.acc_hp::<M, R, 2>(m0, k0, p),
            3 => self.acc_hp::<M, R, 3>(m0, k0, p),
            4 => self.acc_hp::<M, R, 4>(m0, k0, p),
            _ => self.acc_hp::<M, R, 0>(m0, k0, p),
        }
    }

    /// [`acc`](Self::acc) for `HP` weight pairs per kernel row (0: any number).
    #[inline(always)]
    fn acc_hp<const M: usize, const R: usize, const HP: usize>(
        &self,
        m0: usize,
        k0: usize,
        p: usize,
    ) -> [[i32x8; R]; M] {
        let ring = self.ring;
        let hp = if HP > 0 { HP } else { self.hp };
        // This pass's pairs, `[kh][hp][M]` (see `run_i8`).
        let pairs = &self.pairs.as_chunks::<2>().0[m0 * ring.kh * hp..][..ring.kh * hp * M];
        let mut acc = [[i32x8::ZERO; R]; M];
        let mut slots: [usize; R] = core::array::from_fn(|r| self.step.slot0[r]);
        let at = 2 * k0 + p;
        for (i, w) in pairs.chunks_exact(hp * M).enumerate() {
            let _ = i;
            let rows: [&[i16]; R] =
                core::array::from_fn(|r| &self.data[slots[r] * ring.row_len + at..][..2 * hp + 14]);
            slots = slots.map(|s| ring.next_slot(s));
            for q in 0..hp {
                let x: [i16x16; R] = core::array::from_fn(|r| {
                    let v: &[i16; 16] = rows[r][2 * q..2 * q + 16].try_into().expect("16 values");
                    i16x16::from(*v)
                });
                let wq = &w[q * M..][..M];
                for m in 0..M {
                    let [lo, hi] = wq[m];
                    let wv = i16x16::from([
                        lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi,
                    ]);
                    for r in 0..R {
                        acc[m][r] += x[r].dot(wv);
                    }
                }
            }
        }
        acc
    }
}

/// The 8 requantized lanes as `i8` (through `table` if any), in the low half of 16.
#[inline(always)]
fn lanes_i8(q: i32x8, table: Option<&[i8; 256]>) -> [i8; 16] {
    let q = q.to_array();
    core::array::from_fn(|l| {
        let v = if l < 8 { q[l] as i8 } else { 0 };
        match table {
            Some(t) => t[(i16::from(v) + 128) as usize],
            None => v,
        }
    })
}
