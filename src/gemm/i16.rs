//! int8 GEMM micro-kernel on `i16` lanes, shared by the int8 im2col and direct convolutions and
//! the int8 dense layer.
//!
//! Operands are K-contiguous rows as in the f32 kernel. Each is widened to `i16` as it is loaded
//! ([`Row`]): an im2col column is already `i16` with the input offset folded in, weights are
//! `i8` (sign-extended), raw input runs are `i8` plus the offset (`x − zp ∈ [-255, 255]` fits
//! `i16`). Then `i16x16::dot` — `pmaddwd` on x86, which multiplies 16 lanes and adds adjacent
//! pairs into 8 `i32` — feeds `i32x8` accumulators: `acc[m][n] += Σ_k b[m][k] · a[n][k]`.
//! Each product is at most `255 · 128` in magnitude, so a pair sum never saturates `pmaddwd`
//! and, under [`check_accumulator`](crate::quant::check_accumulator)'s bound, no lane overflows.
//! Register blocking as for f32: `MR × NR` accumulators, horizontal sums once at the end.

use wide::{i8x16, i16x16, i32x8};

/// `i16` lanes per SIMD vector.
pub const I16_LANES: usize = 16;

/// One K-contiguous operand row, widened to `i16` lanes on load.
pub(crate) trait Row: Copy {
    /// Stored element.
    type Elem: Copy + Default;
    /// The row.
    fn elems(&self) -> &[Self::Elem];
    /// Sixteen elements as `i16` lanes.
    fn widen(&self, v: &[Self::Elem; I16_LANES]) -> i16x16;
}

impl Row for &[i16] {
    type Elem = i16;
    #[inline(always)]
    fn elems(&self) -> &[i16] {
        self
    }
    #[inline(always)]
    fn widen(&self, v: &[i16; I16_LANES]) -> i16x16 {
        i16x16::from(*v)
    }
}

impl Row for &[i8] {
    type Elem = i8;
    #[inline(always)]
    fn elems(&self) -> &[i8] {
        self
    }
    #[inline(always)]
    fn widen(&self, v: &[i8; I16_LANES]) -> i16x16 {
        i16x16::from_i8x16(i8x16::from(*v))
    }
}

/// Raw `i8` input plus the input offset `-zero_point`, added after widening. Tail lanes of a
/// short chunk hold the offset, not 0: pair it only with a zero-padded [`Row`] (weights).
#[derive(Clone, Copy)]
pub(crate) struct OffsetI8<'a> {
    /// The input run.
    pub data: &'a [i8],
    /// The offset in every lane.
    pub offset: i16x16,
}

impl Row for OffsetI8<'_> {
    type Elem = i8;
    #[inline(always)]
    fn elems(&self) -> &[i8] {
        self.data
    }
    #[inline(always)]
    fn widen(&self, v: &[i8; I16_LANES]) -> i16x16 {
        i16x16::from_i8x16(i8x16::from(*v)) + self.offset
    }
}

/// Loads the last `< 16` elements of a row, zero-filling the missing lanes (before widening).
#[inline(always)]
fn widen_tail<R: Row>(r: &R, tail: &[R::Elem]) -> i16x16 {
    let mut v = [R::Elem::default(); I16_LANES];
    let n = tail.len().min(I16_LANES);
    v[..n].copy_from_slice(&tail[..n]);
    r.widen(&v)
}

/// Accumulates `acc[m][n] += Σ_k b[m][k] · a[n][k]` lane-wise (horizontal sum deferred).
///
/// All rows must have the same length; `b` must be zero-padded in the tail (weights are).
#[inline(always)]
pub(crate) fn dot_block_i16<const MR: usize, const NR: usize, B: Row, A: Row>(
    acc: &mut [[i32x8; NR]; MR],
    b: [B; MR],
    a: [A; NR],
) {
    let len = a[0].elems().len();
    debug_assert!(
        a.iter().all(|s| s.elems().len() == len) && b.iter().all(|s| s.elems().len() == len)
    );
    let chunks = len / I16_LANES;
    let ac: [&[[A::Elem; I16_LANES]]; NR] =
        core::array::from_fn(|n| &a[n].elems().as_chunks::<I16_LANES>().0[..chunks]);
    let bc: [&[[B::Elem; I16_LANES]]; MR] =
        core::array::from_fn(|m| &b[m].elems().as_chunks::<I16_LANES>().0[..chunks]);
    for k in 0..chunks {
        let av: [i16x16; NR] = core::array::from_fn(|n| a[n].widen(&ac[n][k]));
        for m in 0..MR {
            let bv = b[m].widen(&bc[m][k]);
            for n in 0..NR {
                acc[m][n] += bv.dot(av[n]);
            }
        }
    }
    let tail = chunks * I16_LANES;
    if tail < len {
        let av: [i16x16; NR] = core::array::from_fn(|n| widen_tail(&a[n], &a[n].elems()[tail..]));
        for m in 0..MR {
            let bv = widen_tail(&b[m], &b[m].elems()[tail..]);
            for n in 0..NR {
                acc[m][n] += bv.dot(av[n]);
            }
        }
    }
}

/// `out[n·ldo + m] = finish(m, Σ_k a(n)[k] · b[m][k])` for `n < n_rows` and the `m_rows = b.len()
/// / k` rows of `b` (`i8` weights, row-major): `C = A · Bᵀ` with a fused epilogue (bias,
/// requantization, clamp). `a(n)` yields row `n` of `A`, `k` long.
#[inline]
pub(crate) fn gemm_abt_i16<A: Row>(
    a: impl Fn(usize) -> A,
    n_rows: usize,
    b: &[i8],
    k: usize,
    out: &mut [i8],
    ldo: usize,
    finish: &impl Fn(usize, i32) -> i8,
) {
    let m_rows = b.len() / k;
    let mut m0 = 0;
    while m0 + 4 <= m_rows {
        gemm_rows_i16::<4, A>(&a, n_rows, b, k, m0, out, ldo, finish);
        m0 += 4;
    }
    match m_rows - m0 {
        3 => gemm_rows_i16::<3, A>(&a, n_rows, b, k, m0, out, ldo, finish),
        2 => gemm_rows_i16::<2, A>(&a, n_rows, b, k, m0, out, ldo, finish),
        1 => gemm_rows_i16::<1, A>(&a, n_rows, b, k, m0, out, ldo, finish),
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gemm_rows_i16<const MR: usize, A: Row>(
    a: &impl Fn(usize) -> A,
    n_rows: usize,
    b: &[i8],
    k: usize,
    m0: usize,
    out: &mut [i8],
    ldo: usize,
    finish: &impl Fn(usize, i32) -> i8,
) {
    let brows: [&[i8]; MR] = core::array::from_fn(|m| &b[(m0 + m) * k..][..k]);
    let mut n0 = 0;
    while n0 + 2 <= n_rows {
        let mut acc = [[i32x8::ZERO; 2]; MR];
        dot_block_i16(&mut acc, brows, [a(n0), a(n0 + 1)]);
        store_block_i32(&acc, n0, m0, out, ldo, finish);
        n0 += 2;
    }
    if n0 < n_rows {
        let mut acc = [[i32x8::ZERO; 1]; MR];
        dot_block_i16(&mut acc, brows, [a(n0)]);
        store_block_i32(&acc, n0, m0, out, ldo, finish);
    }
}

/// Reduces an accumulator block and writes it through the epilogue:
/// `out[(n0 + n)·ldo + m0 + m] = finish(m0 + m, Σ lanes of acc[m][n])`.
#[inline(always)]
pub(crate) fn store_block_i32<const MR: usize, const NR: usize>(
    acc: &[[i32x8; NR]; MR],
    n0: usize,
    m0: usize,
    out: &mut [i8],
    ldo: usize,
    finish: &impl Fn(usize, i32) -> i8,
) {
    for n in 0..NR {
        let row = &mut out[(n0 + n) * ldo + m0..][..MR];
        for m in 0..MR {
            row[m] = finish(m0 + m, acc[m][n].reduce_add());
        }
    }
}
