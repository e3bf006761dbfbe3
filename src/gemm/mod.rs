//! GEMM micro-kernels shared by the im2col and direct convolutions and the dense layer.
//!
//! Two shapes of inner product, both on `f32x8` with `mul_add` (one FMA per lane on AVX2+FMA):
//!
//! - **K-contiguous dot products** ([`dot_block_f32`], [`gemm_abt_f32`]): row `m` of `B` (a
//!   filter) and row `n` of `A` (an im2col column, or a run of input pixels) are contiguous slices
//!   of the same length `K`; an `MR × NR` block of accumulators `acc[m][n] += B[m][k..k+8] ·
//!   A[n][k..k+8]` is reduced horizontally once, at the end of the whole dot product, with one
//!   8×8 transpose and 7 adds per 8 results ([`reduce8`]), never per chunk. The last `K mod 8`
//!   elements are loaded as the last full vector of the run with the already-counted lanes
//!   masked off (bitwise AND on both operands, so a masked lane is `0 · 0` and never turns an
//!   infinite value into NaN); only runs shorter than one vector are copied.
//! - **Broadcast (outer-product) blocks** ([`gemm_kmajor_f32`] and the single-channel direct
//!   convolution): eight *output pixels* share a vector, each filter weight is broadcast, so there
//!   is no horizontal reduction and no K tail at all; the `MR` filter accumulators are transposed
//!   once into channels-last output vectors. This suits small patches (`C_in = 1`), where a
//!   K-contiguous dot product would spend more on reductions than on FMAs.
//!
//! Register blocking: `MR · NR` accumulators (8–12) hide the 4-cycle FMA latency on two FMA
//! ports within the 16 `ymm` registers of AVX2.

use wide::f32x8;

use crate::activation::Activation;

pub(crate) mod i16;

/// f32 lanes per SIMD vector.
pub const F32_LANES: usize = 8;

/// A lane with every bit set (for bitwise masks).
const ONES: f32 = f32::from_bits(u32::MAX);

/// `HIGH_LANES[t]` keeps the top `t` lanes of a vector under bitwise AND (`t` in `0..8`).
const HIGH_LANES: [f32x8; F32_LANES] = {
    let mut masks = [f32x8::new([0.0; 8]); F32_LANES];
    let mut t = 0;
    while t < F32_LANES {
        let mut lanes = [0.0f32; 8];
        let mut l = F32_LANES - t;
        while l < F32_LANES {
            lanes[l] = ONES;
            l += 1;
        }
        masks[t] = f32x8::new(lanes);
        t += 1;
    }
    masks
};

/// Loads the first 8 values of `s` (which must hold at least 8).
#[inline(always)]
pub(crate) fn load8(s: &[f32]) -> f32x8 {
    let mut v = [0.0f32; 8];
    v.copy_from_slice(&s[..F32_LANES]);
    f32x8::from(v)
}

/// Accumulates `acc[m][n] += Σ_k b[m][k] · a[n][k]` lane-wise (horizontal sum deferred).
///
/// All slices must have the same length. The tail (`len mod 8` elements) is the last full
/// vector of each run with the lanes counted before masked off on both operands; a run shorter
/// than one vector is zero-padded by copy.
#[inline(always)]
pub(crate) fn dot_block_f32<const MR: usize, const NR: usize>(
    acc: &mut [[f32x8; NR]; MR],
    b: [&[f32]; MR],
    a: [&[f32]; NR],
) {
    let len = a[0].len();
    debug_assert!(a.iter().all(|s| s.len() == len) && b.iter().all(|s| s.len() == len));
    let chunks = len / F32_LANES;
    // Re-slicing to exactly `chunks` lets the compiler drop bounds checks in the loop. (Plain
    // loops rather than `array::from_fn`, whose closures are not always inlined.)
    let mut ac: [&[[f32; 8]]; NR] = [&[]; NR];
    for n in 0..NR {
        ac[n] = &a[n].as_chunks::<8>().0[..chunks];
    }
    let mut bc: [&[[f32; 8]]; MR] = [&[]; MR];
    for m in 0..MR {
        bc[m] = &b[m].as_chunks::<8>().0[..chunks];
    }
    for k in 0..chunks {
        let mut av = [f32x8::ZERO; NR];
        for n in 0..NR {
            av[n] = f32x8::from(ac[n][k]);
        }
        for m in 0..MR {
            let bv = f32x8::from(bc[m][k]);
            for n in 0..NR {
                acc[m][n] = bv.mul_add(av[n], acc[m][n]);
            }
        }
    }
    let t = len % F32_LANES;
    if t == 0 {
        return;
    }
    let mut av = [f32x8::ZERO; NR];
    let mut bv = [f32x8::ZERO; MR];
    if chunks > 0 {
        let mask = HIGH_LANES[t];
        let at = len - F32_LANES;
        for n in 0..NR {
            av[n] = load8(&a[n][at..]) & mask;
        }
        for m in 0..MR {
            bv[m] = load8(&b[m][at..]) & mask;
        }
    } else {
        for n in 0..NR {
            av[n] = load_tail(a[n]);
        }
        for m in 0..MR {
            bv[m] = load_tail(b[m]);
        }
    }
    for m in 0..MR {
        for n in 0..NR {
            acc[m][n] = bv[m].mul_add(av[n], acc[m][n]);
        }
    }
}

/// Loads up to 8 values, zero-filling the missing lanes.
///
/// Built from the elements themselves (one case per length) rather than by copying into a
/// zeroed stack array and loading that, which would stall on store-to-load forwarding.
#[inline(always)]
pub(crate) fn load_tail(s: &[f32]) -> f32x8 {
    let z = 0.0;
    f32x8::new(match *s {
        [] => [z; 8],
        [a] => [a, z, z, z, z, z, z, z],
        [a, b] => [a, b, z, z, z, z, z, z],
        [a, b, c] => [a, b, c, z, z, z, z, z],
        [a, b, c, d] => [a, b, c, d, z, z, z, z],
        [a, b, c, d, e] => [a, b, c, d, e, z, z, z],
        [a, b, c, d, e, f] => [a, b, c, d, e, f, z, z],
        [a, b, c, d, e, f, g] => [a, b, c, d, e, f, g, z],
        [a, b, c, d, e, f, g, h, ..] => [a, b, c, d, e, f, g, h],
    })
}

/// Horizontal sums of eight vectors at once: lane `j` of the result is the sum of the lanes of
/// `v[j]` (one 8×8 transpose and 7 vector adds instead of eight separate reductions).
#[inline(always)]
pub(crate) fn reduce8(v: [f32x8; 8]) -> f32x8 {
    let t = f32x8::transpose(v);
    ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]))
}

/// `out[n][m] = finish(m, Σ_k a[n][k] · b[m][k])` for `a` of `n_rows × k` and `b` of
/// `m_rows × k` (both row-major), writing row `n` of the result at `out[n·ldo ..][..m_rows]`.
///
/// This is `C = A · Bᵀ` with a fused epilogue (bias and activation). A single row (a dense
/// layer) is computed 8 rows of `B` at a time.
#[inline]
pub(crate) fn gemm_abt_f32(
    a: &[f32],
    b: &[f32],
    k: usize,
    out: &mut [f32],
    ldo: usize,
    finish: &impl Fn(usize, f32) -> f32,
) {
    if k == 0 {
        return;
    }
    let n_rows = a.len() / k;
    let m_rows = b.len() / k;
    let mut m0 = 0;
    if n_rows == 1 {
        while m0 + 8 <= m_rows {
            gemm_rows::<8>(a, b, k, n_rows, m0, out, ldo, finish);
            m0 += 8;
        }
    }
    // Filters outermost: an MR-row block of B stays in L1 while the columns of A stream by.
    while m0 + 4 <= m_rows {
        gemm_rows::<4>(a, b, k, n_rows, m0, out, ldo, finish);
        m0 += 4;
    }
    match m_rows - m0 {
        3 => gemm_rows::<3>(a, b, k, n_rows, m0, out, ldo, finish),
        2 => gemm_rows::<2>(a, b, k, n_rows, m0, out, ldo, finish),
        1 => gemm_rows::<1>(a, b, k, n_rows, m0, out, ldo, finish),
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gemm_rows<const MR: usize>(
    a: &[f32],
    b: &[f32],
    k: usize,
    n_rows: usize,
    m0: usize,
    out: &mut [f32],
    ldo: usize,
    finish: &impl Fn(usize, f32) -> f32,
) {
    let mut brows: [&[f32]; MR] = [&[]; MR];
    for (m, row) in brows.iter_mut().enumerate() {
        *row = &b[(m0 + m) * k..][..k];
    }
    let mut n0 = 0;
    // Three rows of A per block (12 accumulators with 4 filters), then a pair, then one.
    while n0 + 3 <= n_rows {
        let arows = [
            &a[n0 * k..][..k],
            &a[(n0 + 1) * k..][..k],
            &a[(n0 + 2) * k..][..k],
        ];
        let mut acc = [[f32x8::ZERO; 3]; MR];
        dot_block_f32(&mut acc, brows, arows);
        store_block(&acc, n0, m0, out, ldo, finish);
        n0 += 3;
    }
    if n0 + 2 <= n_rows {
        let arows = [&a[n0 * k..][..k], &a[(n0 + 1) * k..][..k]];
        let mut acc = [[f32x8::ZERO; 2]; MR];
        dot_block_f32(&mut acc, brows, arows);
        store_block(&acc, n0, m0, out, ldo, finish);
        n0 += 2;
    }
    if n0 < n_rows {
        let mut acc = [[f32x8::ZERO; 1]; MR];
        dot_block_f32(&mut acc, brows, [&a[n0 * k..][..k]]);
        store_block(&acc, n0, m0, out, ldo, finish);
    }
}

/// Reduces an accumulator block and writes it through the epilogue: `out[(n0 + n)·ldo + m0 +
/// m] = finish(m0 + m, Σ lanes of acc[m][n])`.
#[inline(always)]
pub(crate) fn store_block<const MR: usize, const NR: usize>(
    acc: &[[f32x8; NR]; MR],
    n0: usize,
    m0: usize,
    out: &mut [f32],
    ldo: usize,
    finish: &impl Fn(usize, f32) -> f32,
) {
    let total = MR * NR;
    // Always the same reduction tree, whatever the block shape, so a result never depends on
    // how pixels were grouped (tiles, bands, pairs). Pixel-major order, so each pixel's MR
    // results are adjacent lanes.
    let mut base = 0;
    while base < total {
        let mut v = [f32x8::ZERO; 8];
        for (j, vj) in v.iter_mut().enumerate().take(total - base) {
            let idx = base + j;
            *vj = acc[idx % MR][idx / MR];
        }
        let sums = reduce8(v).to_array();
        for (j, &s) in sums.iter().enumerate().take(total - base) {
            let idx = base + j;
            let (n, m) = (idx / MR, idx % MR);
            out[(n0 + n) * ldo + m0 + m] = finish(m0 + m, s);
        }
        base += 8;
    }
}

/// Bias and activation applied to a whole vector of output channels at once.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Epilogue<'a> {
    /// One bias per output channel, or none.
    pub bias: Option<&'a [f32]>,
    /// The fused activation.
    pub act: Activation,
}

impl Epilogue<'_> {
    /// `act(x + bias[o])` for one value.
    #[inline(always)]
    pub fn scalar(&self, o: usize, x: f32) -> f32 {
        self.act.apply(x + self.bias.map_or(0.0, |b| b[o]))
    }

    /// The bias of channels `o0..o0 + lanes` as a vector (zeros beyond `lanes`).
    #[inline(always)]
    pub fn bias_vec(&self, o0: usize, lanes: usize) -> f32x8 {
        match self.bias {
            Some(b) if lanes == F32_LANES => load8(&b[o0..]),
            Some(b) => load_tail(&b[o0..o0 + lanes]),
            None => f32x8::ZERO,
        }
    }

    /// `act(x + bias)` lane-wise, with [`Activation::apply_slice`]'s meaning (NaN stays NaN).
    #[inline(always)]
    pub fn vector(&self, x: f32x8, bias: f32x8) -> f32x8 {
        self.act.apply_f32x8(x + bias)
    }
}

/// Stores the `MR × NV` accumulators of a broadcast block — `acc[m][v]` holds filter `m0 + m`
/// for the 8 output pixels `p0 + 8v ..` — as channels-last output: pixel `p` (of the first
/// `pixels`) gets `out[p·ldo + m0 ..][..MR] = act(acc + bias)`.
#[inline(always)]
pub(crate) fn store_bcast<const MR: usize, const NV: usize>(
    acc: &[[f32x8; NV]; MR],
    p0: usize,
    pixels: usize,
    m0: usize,
    out: &mut [f32],
    ldo: usize,
    epi: &Epilogue<'_>,
) {
    let bias = epi.bias_vec(m0, MR);
    for v in 0..NV {
        let mut cols = [f32x8::ZERO; 8];
        for m in 0..MR {
            cols[m] = acc[m][v];
        }
        let t = f32x8::transpose(cols);
        for (l, &tv) in t.iter().enumerate().take(pixels.saturating_sub(8 * v)) {
            let y = epi.vector(tv, bias).to_array();
            out[(p0 + 8 * v + l) * ldo + m0..][..MR].copy_from_slice(&y[..MR]);
        }
    }
}

/// `acc[m][v] += w[m] · x[v]` for broadcast weights (one FMA per accumulator).
#[inline(always)]
pub(crate) fn bcast_step<const MR: usize, const NV: usize>(
    acc: &mut [[f32x8; NV]; MR],
    w: [f32; MR],
    x: [f32x8; NV],
) {
    for m in 0..MR {
        let wv = f32x8::splat(w[m]);
        for v in 0..NV {
            acc[m][v] = wv.mul_add(x[v], acc[m][v]);
        }
    }
}

/// `out[p][m] = act(bias[m] + Σ_k at[k·ldp + p] · b[m·k_len + k])` for `p < pixels`, `m <
/// m_rows`: a GEMM whose `A` is stored K-major (each row of `at` holds one patch element for
/// `ldp ≥ pixels` consecutive output pixels), computed by broadcast blocks of up to 6 filters ×
/// 16 pixels.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_kmajor_f32(
    at: &[f32],
    ldp: usize,
    pixels: usize,
    b: &[f32],
    k: usize,
    out: &mut [f32],
    ldo: usize,
    epi: &Epilogue<'_>,
) {
    let m_rows = b.len().checked_div(k).unwrap_or(0);
    let mut p0 = 0;
    while p0 < pixels {
        let left = pixels - p0;
        let mut m0 = 0;
        while m0 < m_rows {
            let mr = (m_rows - m0).min(6);
            let blk = KBlock {
                at,
                ldp,
                b,
                k,
                p0,
                m0,
            };
            match (mr, left >= 16) {
                (6, true) => blk.run::<6, 2>(pixels, out, ldo, epi),
                (5, true) => blk.run::<5, 2>(pixels, out, ldo, epi),
                (4, true) => blk.run::<4, 2>(pixels, out, ldo, epi),
                (3, true) => blk.run::<3, 2>(pixels, out, ldo, epi),
                (2, true) => blk.run::<2, 2>(pixels, out, ldo, epi),
                (1, true) => blk.run::<1, 2>(pixels, out, ldo, epi),
                (6, false) => blk.run::<6, 1>(pixels, out, ldo, epi),
                (5, false) => blk.run::<5, 1>(pixels, out, ldo, epi),
                (4, false) => blk.run::<4, 1>(pixels, out, ldo, epi),
                (3, false) => blk.run::<3, 1>(pixels, out, ldo, epi),
                (2, false) => blk.run::<2, 1>(pixels, out, ldo, epi),
                _ => blk.run::<1, 1>(pixels, out, ldo, epi),
            }
            m0 += mr;
        }
        p0 += if left >= 16 { 16 } else { 8 };
    }
}

/// One broadcast block of [`gemm_kmajor_f32`].
#[derive(Clone, Copy)]
struct KBlock<'a> {
    at: &'a [f32],
    ldp: usize,
    b: &'a [f32],
    k: usize,
    p0: usize,
    m0: usize,
}

impl KBlock<'_> {
    // Indexed loops over the const-sized register blocks unroll completely.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    fn run<const MR: usize, const NV: usize>(
        self,
        pixels: usize,
        out: &mut [f32],
        ldo: usize,
        epi: &Epilogue<'_>,
    ) {
        let KBlock {
            at,
            ldp,
            b,
            k,
            p0,
            m0,
        } = self;
        let mut brows: [&[f32]; MR] = [&[]; MR];
        for m in 0..MR {
            brows[m] = &b[(m0 + m) * k..][..k];
        }
        let mut acc = [[f32x8::ZERO; NV]; MR];
        let mut x = [f32x8::ZERO; NV];
        let mut w = [0.0f32; MR];
        if p0 + 8 * NV <= ldp {
            for (kk, row) in at.chunks_exact(ldp).take(k).enumerate() {
                let row = &row[p0..p0 + 8 * NV];
                for v in 0..NV {
                    x[v] = load8(&row[8 * v..]);
                }
                for m in 0..MR {
                    w[m] = brows[m][kk];
                }
                bcast_step(&mut acc, w, x);
            }
        } else {
            // The block reaches past the row: the missing lanes read zeros (never stored).
            for (kk, row) in at.chunks_exact(ldp).take(k).enumerate() {
                for v in 0..NV {
                    x[v] = load_tail(row.get(p0 + 8 * v..).unwrap_or(&[]));
                }
                for m in 0..MR {
                    w[m] = brows[m][kk];
                }
                bcast_step(&mut acc, w, x);
            }
        }
        store_bcast(&acc, p0, pixels - p0, m0, out, ldo, epi);
    }
}
