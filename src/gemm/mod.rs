//! GEMM micro-kernels shared by the im2col and direct convolutions and the dense layer.
//!
//! Both operands are "K-contiguous": row `m` of `B` (a filter) and row `n` of `A` (an im2col
//! column, or a run of input pixels) are contiguous slices of the same length `K`, so the
//! micro-kernel computes an `MR × NR` block of dot products
//! `acc[m][n] += Σ_k B[m][k] · A[n][k]`, vectorised along `K` in `f32x8` lanes with
//! `mul_add` (one FMA per lane on AVX2+FMA). Register blocking: each step loads `MR + NR`
//! vectors and issues `MR · NR` FMAs; `4 × 2` keeps 8 accumulators in flight, enough to hide
//! the FMA latency on two FMA ports, with 6 loads per 8 FMAs. Accumulators are reduced
//! horizontally once, at the end of the whole dot product, never per chunk.

use wide::f32x8;

pub(crate) mod i16;

/// f32 lanes per SIMD vector.
pub const F32_LANES: usize = 8;

/// Accumulates `acc[m][n] += Σ_k b[m][k] · a[n][k]` lane-wise (horizontal sum deferred).
///
/// All slices must have the same length; a tail shorter than 8 is zero-padded.
#[inline(always)]
pub(crate) fn dot_block_f32<const MR: usize, const NR: usize>(
    acc: &mut [[f32x8; NR]; MR],
    b: [&[f32]; MR],
    a: [&[f32]; NR],
) {
    let len = a[0].len();
    debug_assert!(a.iter().all(|s| s.len() == len) && b.iter().all(|s| s.len() == len));
    let chunks = len / F32_LANES;
    // Re-slicing to exactly `chunks` lets the compiler drop bounds checks in the loop.
    let ac: [&[[f32; 8]]; NR] = core::array::from_fn(|n| &a[n].as_chunks::<8>().0[..chunks]);
    let bc: [&[[f32; 8]]; MR] = core::array::from_fn(|m| &b[m].as_chunks::<8>().0[..chunks]);
    for k in 0..chunks {
        let av: [f32x8; NR] = core::array::from_fn(|n| f32x8::from(ac[n][k]));
        for m in 0..MR {
            let bv = f32x8::from(bc[m][k]);
            for n in 0..NR {
                acc[m][n] = bv.mul_add(av[n], acc[m][n]);
            }
        }
    }
    let tail = chunks * F32_LANES;
    if tail < len {
        let av: [f32x8; NR] = core::array::from_fn(|n| load_tail(&a[n][tail..]));
        for m in 0..MR {
            let bv = load_tail(&b[m][tail..]);
            for n in 0..NR {
                acc[m][n] = bv.mul_add(av[n], acc[m][n]);
            }
        }
    }
}

/// Loads up to 8 values, zero-filling the missing lanes.
#[inline(always)]
pub(crate) fn load_tail(s: &[f32]) -> f32x8 {
    let mut v = [0.0f32; 8];
    let n = s.len().min(8);
    v[..n].copy_from_slice(&s[..n]);
    f32x8::from(v)
}

/// `out[n][m] = finish(m, Σ_k a[n][k] · b[m][k])` for `a` of `n_rows × k` and `b` of
/// `m_rows × k` (both row-major), writing row `n` of the result at `out[n·ldo ..][..m_rows]`.
///
/// This is `C = A · Bᵀ` with a fused epilogue (bias and activation).
#[inline]
pub(crate) fn gemm_abt_f32(
    a: &[f32],
    b: &[f32],
    k: usize,
    out: &mut [f32],
    ldo: usize,
    finish: &impl Fn(usize, f32) -> f32,
) {
    let n_rows = a.len() / k;
    let m_rows = b.len() / k;
    let mut m0 = 0;
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
    let brows: [&[f32]; MR] = core::array::from_fn(|m| &b[(m0 + m) * k..][..k]);
    let mut n0 = 0;
    while n0 + 2 <= n_rows {
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

/// Reduces an accumulator block and writes it through the epilogue.
#[inline(always)]
pub(crate) fn store_block<const MR: usize, const NR: usize>(
    acc: &[[f32x8; NR]; MR],
    n0: usize,
    m0: usize,
    out: &mut [f32],
    ldo: usize,
    finish: &impl Fn(usize, f32) -> f32,
) {
    for n in 0..NR {
        let row = &mut out[(n0 + n) * ldo + m0..][..MR];
        for m in 0..MR {
            row[m] = finish(m0 + m, acc[m][n].reduce_add());
        }
    }
}
