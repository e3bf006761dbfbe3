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
    /// One element as the value that is multiplied (the scalar kernels).
    fn value(&self, v: Self::Elem) -> i32;
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
    #[inline(always)]
    fn value(&self, v: i16) -> i32 {
        i32::from(v)
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
    #[inline(always)]
    fn value(&self, v: i8) -> i32 {
        i32::from(v)
    }
}

/// Raw `i8` input plus the input offset `-zero_point`, added after widening. Tail lanes of a
/// short chunk hold the offset, not 0: pair it only with a zero-padded [`Row`] (weights).
#[derive(Clone, Copy)]
pub(crate) struct OffsetI8<'a> {
    /// The input run.
    pub data: &'a [i8],
    /// The offset (`|offset| ≤ 128`).
    pub offset: i16,
}

impl Row for OffsetI8<'_> {
    type Elem = i8;
    #[inline(always)]
    fn elems(&self) -> &[i8] {
        self.data
    }
    #[inline(always)]
    fn widen(&self, v: &[i8; I16_LANES]) -> i16x16 {
        i16x16::from_i8x16(i8x16::from(*v)) + i16x16::splat(self.offset)
    }
    #[inline(always)]
    fn value(&self, v: i8) -> i32 {
        i32::from(v) + i32::from(self.offset)
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
    if VECTOR {
        dot_block_i16_simd(acc, b, a);
    } else {
        dot_block_i16_scalar(acc, b, a);
    }
}

/// [`dot_block_i16`] without vector registers (Cortex-M, RISC-V), where `wide`'s 16 lanes would
/// be arrays in memory for every `MR × NR` instantiation: plain dot products, added to lane 0.
#[inline(always)]
fn dot_block_i16_scalar<const MR: usize, const NR: usize, B: Row, A: Row>(
    acc: &mut [[i32x8; NR]; MR],
    b: [B; MR],
    a: [A; NR],
) {
    for m in 0..MR {
        for n in 0..NR {
            let mut sum = 0i32;
            for (&x, &y) in b[m].elems().iter().zip(a[n].elems()) {
                sum += b[m].value(x) * a[n].value(y);
            }
            acc[m][n] += i32x8::from([sum, 0, 0, 0, 0, 0, 0, 0]);
        }
    }
}

#[inline(always)]
fn dot_block_i16_simd<const MR: usize, const NR: usize, B: Row, A: Row>(
    acc: &mut [[i32x8; NR]; MR],
    b: [B; MR],
    a: [A; NR],
) {
    let len = a[0].elems().len();
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
    if !VECTOR {
        // Register blocking only pays with vector registers; elsewhere one row at a time
        // keeps the code small (Cortex-M0 flash).
        while m0 < m_rows {
            gemm_rows_i16::<1, A>(&a, n_rows, b, k, m0, out, ldo, finish);
            m0 += 1;
        }
        return;
    }
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
    if VECTOR {
        while n0 + 2 <= n_rows {
            let mut acc = [[i32x8::ZERO; 2]; MR];
            dot_block_i16(&mut acc, brows, [a(n0), a(n0 + 1)]);
            store_block_i32(&acc, n0, m0, out, ldo, finish);
            n0 += 2;
        }
    }
    // The last row, or all of them without vector registers.
    while n0 < n_rows {
        let mut acc = [[i32x8::ZERO; 1]; MR];
        dot_block_i16(&mut acc, brows, [a(n0)]);
        store_block_i32(&acc, n0, m0, out, ldo, finish);
        n0 += 1;
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

// ---- channel-vectorised kernel (im2col) -------------------------------------------------------
//
// The K-contiguous kernel above needs a horizontal sum per output and pads K to 16 lanes. The
// im2col path instead vectorises over output channels. A filter is cut into `n_seg` equal
// segments of `seg` values (a kernel row `kw · c_in`, or one tap `c_in` when dilated), each
// padded to even; the weights of 16 filters are packed into a panel
// `panel[j][o][2] = (w[o][2j], w[o][2j+1])` over the padded segments, and each pair of input
// values `(a[2j], a[2j+1])` is broadcast to all lanes, so one `pmaddwd` adds
// `a[2j]·w[o][2j] + a[2j+1]·w[o][2j+1]` to the accumulators of 8 channels at once. The
// accumulators are the outputs themselves (no reduction) and the requantization runs on 8
// channels per vector ([`RequantI32x8`]).
//
// Cost per pair step of a 6-pixel × 16-channel block: 2 panel loads, 6 broadcasts (loads),
// 12 `pmaddwd`, 12 `paddd`: 192 MACs in 24 vector-ALU uops.

use wide::{bytemuck, i16x8, u32x8};

use crate::quant::{LayerParamsI8, QuantizedMultiplier, Rounding, requantize_to_i8};

/// Output channels per panel (two `i32x8` accumulators per pixel).
pub(crate) const CH_BLOCK: usize = 16;

/// Pixels per micro-kernel call: 6 × 2 accumulators, 2 panel vectors and a broadcast fill 15
/// of the 16 AVX2 registers.
const PX_BLOCK: usize = 6;

/// `k` rounded up to even.
#[inline]
pub(crate) const fn even(k: usize) -> usize {
    k + (k & 1)
}

/// Packs filters `c0..c0 + 16` (of `out_c`; `i8`, `n_seg · seg` values each) into `panel`
/// (`n_seg · even(seg) · 16` `i16`s): with `w'` the filter with every segment zero-padded to
/// `even(seg)`, `panel[(j·16 + o)·2 + t] = w'[c0 + o][2j + t]`, zero for channels past `out_c`
/// (on targets without vector registers: filter by filter, see [`pack_panel_i16_rows`]).
///
/// Seen as `i32` pairs this is a transpose of the `16 × pairs` pair matrix of the filters, done
/// in 8 × 8 blocks with `i32x8::transpose`.
pub(crate) fn pack_panel_i16(
    weights: &[i8],
    (n_seg, seg): (usize, usize),
    c0: usize,
    out_c: usize,
    panel: &mut [i16],
) {
    if VECTOR {
        pack_panel_i16_transposed(weights, (n_seg, seg), c0, out_c, panel);
    } else {
        pack_panel_i16_rows(weights, (n_seg, seg), c0, out_c, panel);
    }
}

/// The panel of [`gemm_row_i16_scalar`]: filter by filter, `panel[o·P + j] = w'[c0 + o][2j..]`
/// for the `P = n_seg · even(seg) / 2` pairs of a padded filter (zero for channels past
/// `out_c`), so a filter's pairs are contiguous. Same size as the transposed panel.
fn pack_panel_i16_rows(
    weights: &[i8],
    (n_seg, seg): (usize, usize),
    c0: usize,
    out_c: usize,
    panel: &mut [i16],
) {
    let k = n_seg * seg;
    let padded = n_seg * even(seg);
    let nc = CH_BLOCK.min(out_c - c0);
    for (o, row) in panel[..padded * CH_BLOCK]
        .chunks_exact_mut(padded)
        .enumerate()
    {
        if o >= nc {
            row.fill(0);
            continue;
        }
        let w = &weights[(c0 + o) * k..][..k];
        for (dst, src) in row.chunks_exact_mut(even(seg)).zip(w.chunks_exact(seg)) {
            for (d, &v) in dst.iter_mut().zip(src) {
                *d = i16::from(v);
            }
            dst[seg..].fill(0);
        }
    }
}

/// The panel of the SIMD kernel: `panel[(j·16 + o)·2 + t]` (see [`pack_panel_i16`]).
fn pack_panel_i16_transposed(
    weights: &[i8],
    (n_seg, seg): (usize, usize),
    c0: usize,
    out_c: usize,
    panel: &mut [i16],
) {
    let k = n_seg * seg;
    let seg_pairs = even(seg) / 2;
    let pairs = n_seg * seg_pairs;
    let nc = CH_BLOCK.min(out_c - c0);
    let panel = &mut panel[..pairs * 2 * CH_BLOCK];
    for half in 0..2 {
        for j0 in (0..pairs).step_by(8) {
            // Row r: padded pairs j0..j0 + 8 of channel half·8 + r (zero past nc).
            let mut rows = [i32x8::ZERO; 8];
            for (r, row) in rows.iter_mut().enumerate() {
                let o = half * 8 + r;
                if o < nc {
                    // Lanes past the filter (read from the next one) land in columns that are
                    // not stored.
                    let w = &weights[(c0 + o) * k..];
                    *row = bytemuck::cast(i16x16::from_i8x16(padded_pairs(w, k, seg, j0)));
                }
            }
            let cols = i32x8::transpose(rows);
            for (q, col) in cols.iter().enumerate().take(pairs - j0) {
                let at = ((j0 + q) * CH_BLOCK + half * 8) * 2;
                let v: [i16; 16] = bytemuck::cast(*col);
                panel[at..at + 16].copy_from_slice(&v);
            }
        }
    }
}

/// Values `2·j0 .. 2·j0 + 16` of the filter at the start of `w` (`k` values, then possibly more
/// filters) with every `seg`-long segment padded to even: zero past the filter when the
/// segments are padded, and whatever follows it (or zero at the end of `w`) when not.
#[inline(always)]
fn padded_pairs(w: &[i8], k: usize, seg: usize, j0: usize) -> i8x16 {
    if seg.is_multiple_of(2) {
        // No padding inside: 16 contiguous values.
        if let Some(v) = w
            .get(2 * j0..2 * j0 + 16)
            .and_then(|v| <&[i8; 16]>::try_from(v).ok())
        {
            return i8x16::from(*v);
        }
        let mut a = [0i8; 16];
        for (t, v) in a.iter_mut().enumerate() {
            if let Some(&x) = w.get(2 * j0 + t) {
                *v = x;
            }
        }
        return i8x16::from(a);
    }
    let seg_pairs = even(seg) / 2;
    let pairs = k / seg * seg_pairs;
    let mut a = [0i8; 16];
    for (t, v) in a.iter_mut().enumerate() {
        let j = j0 + t / 2;
        let at = (j % seg_pairs) * 2 + t % 2;
        if j < pairs && at < seg {
            *v = w[(j / seg_pairs) * seg + at];
        }
    }
    i8x16::from(a)
}

/// Where the segments of output pixels' patches lie in a row buffer: segment `s` of pixel
/// `x` starts at `base(s) + x · step` and is `even(seg)` values long.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segments {
    /// Number of segments.
    pub n_seg: usize,
    /// Values per segment (before padding to even).
    pub seg: usize,
    /// Segments per buffer row (`1`, or `kw` for a dilated kernel row).
    pub per_row: usize,
    /// Distance between buffer rows.
    pub row_stride: usize,
    /// Distance between two segments of one buffer row (`dilation_w · c_in`).
    pub seg_stride: usize,
    /// Distance between the patches of consecutive output pixels (`stride_w · c_in`).
    pub step: usize,
    /// Buffer rows (`kernel_h`); kernel row `i` is in buffer row `(i + rotation) % rows`.
    pub rows: usize,
    /// See `rows`: the buffer is a ring when rows are reused from one output row to the next.
    pub rotation: usize,
}

impl Segments {
    #[inline(always)]
    fn base(&self, s: usize) -> usize {
        let mut row = s / self.per_row + self.rotation;
        if row >= self.rows {
            row -= self.rows;
        }
        row * self.row_stride + (s % self.per_row) * self.seg_stride
    }
}

/// `out[x·ldo + o] = rq(Σ_t patch(x)[t] · w'[c0 + o][t])` for the `n_px` output pixels of a row
/// buffer `buf` laid out as `seg` describes, and the 16-channel `panel`; writes the `nc ≤ 16`
/// valid channels of each output pixel.
pub(crate) fn gemm_row_i16(
    buf: &[i16],
    seg: &Segments,
    n_px: usize,
    panel: &[i16],
    rq: &RequantBlock,
    out: &mut [i8],
    ldo: usize,
) {
    if VECTOR {
        gemm_row_i16_simd(buf, seg, n_px, panel, rq, out, ldo);
    } else {
        gemm_row_i16_scalar(buf, seg, n_px, panel, rq, out, ldo);
    }
}

/// `wide` has vector registers on this target (x86 SSE2/AVX2, AArch64 NEON, wasm SIMD); on
/// the others (Cortex-M, RISC-V) its types are arrays, and the channel-vectorised kernel's
/// 6 × 16 accumulators would live in memory: those targets use [`gemm_row_i16_scalar`], scalar
/// dot products in [`dot_block_i16`] and no register blocking.
///
/// `--cfg tinyconv_scalar_kernels` selects the scalar paths on any target, so that the host
/// test suite covers what Cortex-M and RISC-V run:
/// `RUSTFLAGS="--cfg tinyconv_scalar_kernels" cargo test --test conv_i8 --test pool_dense_i8
/// --test requantize_i8 --test lenet5_i8`.
pub(crate) const VECTOR: bool = cfg!(all(
    not(tinyconv_scalar_kernels),
    any(
        target_feature = "sse2",
        all(target_feature = "neon", target_arch = "aarch64"),
        target_feature = "simd128"
    )
));

/// [`gemm_row_i16`] for targets without vector registers: 2 pixels × 2 channels in 4 scalar
/// accumulators (they fit the 13 usable registers of a Cortex-M with the operand pointers),
/// over the same row buffer and panel.
///
/// Each step multiplies a pair of `i16` patch values by a pair of `i16` weights and adds both
/// products, `acc += a.0·w.0 + a.1·w.1`, with both pairs adjacent in memory: exactly `SMLAD`
/// on ARMv7E-M (Cortex-M4/M7). For that the panel is packed filter by filter here
/// ([`pack_panel_i16_rows`]), so all four operand streams are contiguous.
///
/// **What LLVM emits** (rustc 1.95, `cargo rustc --release --target thumbv7em-none-eabihf
/// --lib -- --emit asm`): [`dot_pairs`] becomes a loop unrolled 4×, each pair one 32-bit `ldr`
/// per operand and one `smlad` (8 `ldr` + 4 `smlad` per 8 MACs). A first version with the four
/// accumulators in one loop was unrolled and reassociated into `ldrsh` + `smlabb` chains with
/// the accumulators spilled (ARMParallelDSP did not fire), hence four single-accumulator loops,
/// which read each operand twice but keep `smlad`. The direct and dense int8 kernels multiply
/// `i8` weights, never a pair of `i16`s in memory, and get `smlabb`/`mla` instead. Cortex-M0
/// has no DSP extension: `muls` and `adds`.
fn gemm_row_i16_scalar(
    buf: &[i16],
    seg: &Segments,
    n_px: usize,
    panel: &[i16],
    rq: &RequantBlock,
    out: &mut [i8],
    ldo: usize,
) {
    let seg_pairs = even(seg.seg) / 2;
    let pairs = seg.n_seg * seg_pairs;
    let w_all = panel.as_chunks::<2>().0;
    let mut x0 = 0;
    while x0 < n_px {
        // A lone last pixel is computed twice (as pixel 1 too) and stored once.
        let x1 = (x0 + 1).min(n_px - 1);
        let mut o = 0;
        while o < rq.nc {
            let mut acc = [0i32; 4];
            let wa = &w_all[o * pairs..][..pairs];
            let wb = &w_all[(o + 1) * pairs..][..pairs];
            for s in 0..seg.n_seg {
                let base = seg.base(s);
                let a0 = buf[base + x0 * seg.step..][..2 * seg_pairs]
                    .as_chunks::<2>()
                    .0;
                let a1 = buf[base + x1 * seg.step..][..2 * seg_pairs]
                    .as_chunks::<2>()
                    .0;
                let wa = &wa[s * seg_pairs..][..seg_pairs];
                let wb = &wb[s * seg_pairs..][..seg_pairs];
                acc = dot2x2(acc, a0, a1, wa, wb);
            }
            for (p, x) in [x0, x1]
                .into_iter()
                .enumerate()
                .take(if x1 > x0 { 2 } else { 1 })
            {
                for c in 0..2.min(rq.nc - o) {
                    out[x * ldo + o + c] = rq.scalar(o + c, acc[2 * p + c]);
                }
            }
            o += 2;
        }
        x0 += 2;
    }
}

/// `acc += [a0·wa, a0·wb, a1·wa, a1·wb]` over pairs of `i16`.
///
/// Four single-accumulator dot products rather than one loop with four accumulators: that
/// loop is unrolled and reassociated by LLVM into `ldrsh` + `smlabb` chains with spills on
/// ARMv7E-M, while each single-accumulator loop is the pattern its ARMParallelDSP pass turns
/// into one 32-bit load per operand and `smlad` per pair.
#[inline(always)]
fn dot2x2(
    acc: [i32; 4],
    a0: &[[i16; 2]],
    a1: &[[i16; 2]],
    wa: &[[i16; 2]],
    wb: &[[i16; 2]],
) -> [i32; 4] {
    [
        dot_pairs(acc[0], a0, wa),
        dot_pairs(acc[1], a0, wb),
        dot_pairs(acc[2], a1, wa),
        dot_pairs(acc[3], a1, wb),
    ]
}

/// `acc + Σ_j a[j].0·b[j].0 + a[j].1·b[j].1`.
#[inline(never)]
fn dot_pairs(mut acc: i32, a: &[[i16; 2]], b: &[[i16; 2]]) -> i32 {
    for (x, y) in a.iter().zip(b) {
        acc += dot2(*x, *y);
    }
    acc
}

/// `a.0·b.0 + a.1·b.1` in `i32` (`SMLAD`'s two products).
#[inline(always)]
fn dot2(a: [i16; 2], b: [i16; 2]) -> i32 {
    i32::from(a[0]) * i32::from(b[0]) + i32::from(a[1]) * i32::from(b[1])
}

fn gemm_row_i16_simd(
    buf: &[i16],
    seg: &Segments,
    n_px: usize,
    panel: &[i16],
    rq: &RequantBlock,
    out: &mut [i8],
    ldo: usize,
) {
    let mut x0 = 0;
    while x0 + PX_BLOCK <= n_px {
        row_block::<PX_BLOCK>(buf, seg, x0, panel, rq, out, ldo);
        x0 += PX_BLOCK;
    }
    // The rest as 4 + 2 + 1 (fewer kernel copies than one per remainder).
    if x0 + 4 <= n_px {
        row_block::<4>(buf, seg, x0, panel, rq, out, ldo);
        x0 += 4;
    }
    if x0 + 2 <= n_px {
        row_block::<2>(buf, seg, x0, panel, rq, out, ldo);
        x0 += 2;
    }
    if x0 < n_px {
        row_block::<1>(buf, seg, x0, panel, rq, out, ldo);
    }
}

#[inline(always)]
fn row_block<const MR: usize>(
    buf: &[i16],
    seg: &Segments,
    x0: usize,
    panel: &[i16],
    rq: &RequantBlock,
    out: &mut [i8],
    ldo: usize,
) {
    let seg_len = even(seg.seg);
    let seg_pairs = seg_len / 2;
    let mut acc = [[i32x8::ZERO; 2]; MR];
    // One pair step of the panel: 16 channels × 2 values.
    let w_all = panel.as_chunks::<{ 2 * CH_BLOCK }>().0;
    for s in 0..seg.n_seg {
        let base = seg.base(s);
        let a: [&[[i16; 2]]; MR] = core::array::from_fn(|r| {
            let at = base + (x0 + r) * seg.step;
            &buf[at..at + seg_len].as_chunks::<2>().0[..seg_pairs]
        });
        let w = &w_all[s * seg_pairs..][..seg_pairs];
        for (j, wj) in w.iter().enumerate() {
            let (w0, w1) = wj.split_at(CH_BLOCK);
            let w0 = i16x16::from(<[i16; 16]>::try_from(w0).unwrap_or_default());
            let w1 = i16x16::from(<[i16; 16]>::try_from(w1).unwrap_or_default());
            for r in 0..MR {
                let [lo, hi] = a[r][j];
                // The pair in every 32-bit lane (one `vpbroadcastd`).
                let av = i16x16::from([
                    lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi,
                ]);
                acc[r][0] += av.dot(w0);
                acc[r][1] += av.dot(w1);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        rq.store(acc, &mut out[(x0 + r) * ldo..]);
    }
}

/// The output stage of one 16-channel block, 8 channels per vector: bias, TFLite's
/// `MultiplyByQuantizedMultiplier` (double rounding) lane by lane, output zero point, clamp.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequantBlock {
    halves: [RequantI32x8; 2],
    /// Valid channels in this block (≤ 16).
    nc: usize,
    /// Bias and multiplier per channel, for the scalar path: single rounding (no vector form
    /// here) and targets without vector registers.
    lanes: [(i32, QuantizedMultiplier); CH_BLOCK],
    /// Use `halves` (double rounding on a target with vector registers).
    vector: bool,
    rounding: Rounding,
    zero_point: i8,
    range: crate::quant::ActivationRange,
}

/// Per-lane requantization constants of 8 channels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequantI32x8 {
    bias: i32x8,
    multiplier: i32x8,
    left: u32x8,
    right: u32x8,
    /// `2^right − 1`.
    mask: i32x8,
    zero_point: i32x8,
    min: i32x8,
    max: i32x8,
    /// Some lane has `left > 0` (a multiplier ≥ 0.5).
    any_left: bool,
}

impl RequantBlock {
    /// Constants of channels `c0..min(c0 + 16, out_c)` of a layer.
    pub(crate) fn new(p: &LayerParamsI8<'_>, c0: usize, out_c: usize) -> Self {
        let nc = CH_BLOCK.min(out_c - c0);
        let vector = VECTOR && p.rounding == Rounding::Double;
        let per_tensor = p.multipliers.len() == 1;
        let mut lanes = [(0, QuantizedMultiplier::ZERO); CH_BLOCK];
        let halves = if vector {
            // Built from plain arrays (vectorised by LLVM): this runs once per block and call,
            // which for a small dense layer is a good part of the work.
            let (mut bias, mut mult, mut shift) = ([0i32; 16], [0i32; 16], [0i32; 16]);
            if let Some(b) = p.bias {
                bias[..nc].copy_from_slice(&b[c0..c0 + nc]);
            }
            if per_tensor {
                mult[..nc].fill(p.multipliers[0].multiplier());
                shift[..nc].fill(p.multipliers[0].shift());
            } else {
                for (o, m) in p.multipliers[c0..c0 + nc].iter().enumerate() {
                    mult[o] = m.multiplier();
                    shift[o] = m.shift();
                }
            }
            let half = |h: usize| {
                let a = |v: &[i32; 16]| -> [i32; 8] { core::array::from_fn(|l| v[8 * h + l]) };
                RequantI32x8::from_arrays(p, a(&bias), a(&mult), a(&shift))
            };
            [half(0), half(1)]
        } else {
            // The output stage goes lane by lane (single rounding, or no vector registers).
            for (o, lane) in lanes.iter_mut().enumerate().take(nc) {
                let c = c0 + o;
                *lane = (p.bias(c), p.multipliers[if per_tensor { 0 } else { c }]);
            }
            [RequantI32x8::UNUSED; 2]
        };
        RequantBlock {
            halves,
            nc,
            lanes,
            vector,
            rounding: p.rounding,
            zero_point: p.output_zero_point,
            range: p.range,
        }
    }

    /// The same block with the lane-by-lane output stage (`lanes` filled, `vector` off): what
    /// `new` builds on a target without vector registers. Lets the tests run the scalar kernel
    /// on x86, where `new` leaves `lanes` empty for double rounding.
    #[cfg(test)]
    fn lane_by_lane(mut self, p: &LayerParamsI8<'_>, c0: usize) -> Self {
        let per_tensor = p.multipliers.len() == 1;
        for (o, lane) in self.lanes.iter_mut().enumerate().take(self.nc) {
            let c = c0 + o;
            *lane = (p.bias(c), p.multipliers[if per_tensor { 0 } else { c }]);
        }
        self.vector = false;
        self
    }

    /// The output stage of channel `o` of the block, one accumulator at a time.
    #[inline(always)]
    fn scalar(&self, o: usize, acc: i32) -> i8 {
        let (b, m) = self.lanes[o];
        requantize_to_i8(acc + b, m, self.zero_point, self.range, self.rounding)
    }

    /// Requantizes one pixel's 16 accumulators and writes the valid channels to `out[..nc]`.
    #[inline(always)]
    pub(crate) fn store(&self, acc: &[i32x8; 2], out: &mut [i8]) {
        let v = self.requantize(acc);
        match out
            .get_mut(..CH_BLOCK)
            .and_then(|d| <&mut [i8; 16]>::try_from(d).ok())
        {
            Some(d) if self.nc == CH_BLOCK => *d = v,
            _ => out[..self.nc].copy_from_slice(&v[..self.nc]),
        }
    }

    /// One pixel's 16 accumulators requantized (lanes past `nc` are unspecified).
    #[inline(always)]
    pub(crate) fn requantize(&self, acc: &[i32x8; 2]) -> [i8; CH_BLOCK] {
        let mut v = [0i8; CH_BLOCK];
        if self.vector {
            // Already clamped to [-128, 127]: the saturating packs (`packssdw`, `packsswb`)
            // narrow exactly.
            let lo = i16x8::from_i32x8_saturate(self.halves[0].apply(acc[0]));
            let hi = i16x8::from_i32x8_saturate(self.halves[1].apply(acc[1]));
            let both: i16x16 = bytemuck::cast([lo, hi]);
            v = i8x16::from_i16x16_saturate(both).to_array();
        } else {
            let a = [acc[0].to_array(), acc[1].to_array()];
            for (o, y) in v.iter_mut().enumerate().take(self.nc) {
                *y = self.scalar(o, a[o / 8][o % 8]);
            }
        }
        v
    }
}

/// The output stage of one channel over 8 pixels (lanes are pixels, not channels): the
/// pixel-vectorised kernels' counterpart of [`RequantBlock`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequantPixels {
    v: RequantI32x8,
    bias: i32,
    multiplier: QuantizedMultiplier,
    vector: bool,
    rounding: Rounding,
    zero_point: i8,
    range: crate::quant::ActivationRange,
}

impl RequantPixels {
    /// Constants of channel `c` of a layer.
    pub(crate) fn new(p: &LayerParamsI8<'_>, c: usize) -> Self {
        let m = p.multipliers[if p.multipliers.len() == 1 { 0 } else { c }];
        let b = p.bias(c);
        let vector = VECTOR && p.rounding == Rounding::Double;
        RequantPixels {
            v: if vector {
                RequantI32x8::from_arrays(p, [b; 8], [m.multiplier(); 8], [m.shift(); 8])
            } else {
                RequantI32x8::UNUSED
            },
            bias: b,
            multiplier: m,
            vector,
            rounding: p.rounding,
            zero_point: p.output_zero_point,
            range: p.range,
        }
    }

    /// The 8 accumulators requantized, as `i32` lanes in `[-128, 127]`.
    #[inline(always)]
    pub(crate) fn apply(&self, acc: i32x8) -> i32x8 {
        if self.vector {
            self.v.apply(acc)
        } else {
            i32x8::from(acc.to_array().map(|a| {
                i32::from(requantize_to_i8(
                    a + self.bias,
                    self.multiplier,
                    self.zero_point,
                    self.range,
                    self.rounding,
                ))
            }))
        }
    }
}

impl RequantI32x8 {
    /// The constants of 8 lanes of bias, multiplier and shift.
    #[inline]
    fn from_arrays(
        p: &LayerParamsI8<'_>,
        bias: [i32; 8],
        multiplier: [i32; 8],
        shift: [i32; 8],
    ) -> Self {
        // In vector registers (array `map`s here were 6 % of int8 LeNet's time: the dense
        // layers build one block per 16 channels per call). A shift is in [-31, 30], so
        // `2^right − 1` wraps only for right = 31, to i32::MAX as wanted.
        let shift = i32x8::from(shift);
        let left = shift.max(i32x8::ZERO);
        let right = (i32x8::ZERO - shift).max(i32x8::ZERO);
        let right: u32x8 = bytemuck::cast(right);
        let mask = i32x8::splat(1).unbounded_shl(right) - i32x8::splat(1);
        RequantI32x8 {
            bias: i32x8::from(bias),
            multiplier: i32x8::from(multiplier),
            left: bytemuck::cast(left),
            right,
            mask,
            zero_point: i32x8::splat(i32::from(p.output_zero_point)),
            min: i32x8::splat(i32::from(p.range.min())),
            max: i32x8::splat(i32::from(p.range.max())),
            any_left: left.simd_gt(i32x8::ZERO).any(),
        }
    }

    const UNUSED: Self = RequantI32x8 {
        bias: i32x8::ZERO,
        multiplier: i32x8::ZERO,
        left: u32x8::ZERO,
        right: u32x8::ZERO,
        mask: i32x8::ZERO,
        zero_point: i32x8::ZERO,
        min: i32x8::ZERO,
        max: i32x8::ZERO,
        any_left: false,
    };

    /// `clamp(MultiplyByQuantizedMultiplier(acc + bias, M) + zp, min, max)` per lane, equal to
    /// [`requantize_to_i8`] with [`Rounding::Double`].
    #[inline(always)]
    pub(crate) fn apply(&self, acc: i32x8) -> i32x8 {
        let mut x = acc + self.bias;
        if self.any_left {
            // Saturating x · 2^left (left ∈ [0, 30]): keep the shift if it round-trips.
            let shifted = x.unbounded_shl(self.left);
            let fits = shifted.unbounded_shr(self.left).simd_eq(x);
            let saturated = x.unbounded_shr_scalar(31) ^ i32x8::splat(i32::MAX);
            x = fits.select(shifted, saturated);
        }
        // SaturatingRoundingDoublingHighMul(x, m) for m ≥ 0 (so never the saturating case):
        // (x·m + 2^30) >> 31 = 2·hi + bit31(lo) + bit30(lo) with (lo, hi) the halves of x·m.
        let (lo, hi) = x.mul_keep_low_high(self.multiplier);
        let lo: i32x8 = bytemuck::cast(lo);
        let one = i32x8::splat(1);
        let high =
            hi + hi + (lo.unbounded_shr_scalar(31) & one) + (lo.unbounded_shr_scalar(30) & one);
        // RoundingDivideByPOT(high, right): ties away from zero.
        let remainder = high & self.mask;
        let threshold = self.mask.unbounded_shr_scalar(1) - high.unbounded_shr_scalar(31);
        let q = high.unbounded_shr(self.right) - remainder.simd_gt(threshold);
        // `requantize_to_i8` adds the zero point saturating; any |q| > 2^24 ends at an i8
        // bound either way, so clamping first makes a plain add exact (AVX2 has no saturating
        // 32-bit add).
        let limit = i32x8::splat(1 << 24);
        (q.max(-limit).min(limit) + self.zero_point)
            .max(self.min)
            .min(self.max)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::quant::ActivationRange;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn any_multiplier() -> impl Strategy<Value = QuantizedMultiplier> {
        (
            prop_oneof![
                Just(0),
                Just(1 << 30),
                Just(i32::MAX),
                1i32 << 30..=i32::MAX,
                0..=i32::MAX
            ],
            QuantizedMultiplier::MIN_SHIFT..=QuantizedMultiplier::MAX_SHIFT,
        )
            .prop_map(|(m, s)| QuantizedMultiplier::new(m, s).unwrap())
    }

    fn any_acc() -> impl Strategy<Value = i32> {
        prop_oneof![
            Just(i32::MIN),
            Just(i32::MAX),
            Just(0),
            -1000i32..1000,
            any::<i32>()
        ]
    }

    proptest! {
        /// The vector output stage equals the scalar `requantize_to_i8` lane by lane, for every
        /// shift in [-31, 30] (the conv proptests only reach shifts near the typical ones).
        #[test]
        fn vector_requantization_matches_scalar(
            lanes in proptest::collection::vec((any_acc(), any_acc(), any_multiplier()), 16),
            zp in any::<i8>(),
            (lo, hi) in (any::<i8>(), any::<i8>()),
            single in any::<bool>(),
            nc in 1usize..=16,
        ) {
            let range = ActivationRange::new(lo.min(hi), lo.max(hi)).unwrap();
            // The kernels add bias to accumulators that the bound keeps far from overflow;
            // here any sum that fits i32 is fair.
            let lanes: Vec<(i32, i32, QuantizedMultiplier)> = lanes
                .into_iter()
                .map(|(a, b, m)| if a.checked_add(b).is_some() { (a, b, m) } else { (a, 0, m) })
                .collect();
            let bias: Vec<i32> = lanes.iter().map(|l| l.1).collect();
            let multipliers: Vec<QuantizedMultiplier> = lanes.iter().map(|l| l.2).collect();
            let rounding = if single { Rounding::Single } else { Rounding::Double };
            let p = LayerParamsI8::new(0, zp, &multipliers[..nc], Some(&bias[..nc]))
                .with_range(range)
                .with_rounding(rounding);
            let rq = RequantBlock::new(&p, 0, nc);
            let acc: [i32; 16] = core::array::from_fn(|o| lanes[o].0);
            let acc = [
                i32x8::from(<[i32; 8]>::try_from(&acc[..8]).unwrap()),
                i32x8::from(<[i32; 8]>::try_from(&acc[8..]).unwrap()),
            ];
            let mut out = [0x55i8; 17];
            rq.store(&acc, &mut out);
            for o in 0..nc {
                let want = requantize_to_i8(lanes[o].0 + lanes[o].1, lanes[o].2, zp, range, rounding);
                prop_assert_eq!(out[o], want, "lane {}: {:?}", o, lanes[o]);
            }
            prop_assert!(out[nc..].iter().all(|&v| v == 0x55), "wrote past nc");
        }

        /// The scalar kernel (Cortex-M, RISC-V) and the SIMD kernel compute the same outputs
        /// (so the scalar one is tested on x86 too, where it is not the one in use).
        #[test]
        fn scalar_kernel_matches_simd_kernel(
            (n_seg, seg_len, per_row) in (1usize..=6, 1usize..=20, prop_oneof![Just(1usize), Just(2usize)]),
            n_px in 1usize..=15,
            step in 1usize..=3,
            out_c in 1usize..=19,
            single in any::<bool>(),
            seed in any::<u16>(),
        ) {
            let n_seg = n_seg * per_row;
            let k = n_seg * seg_len;
            let weights: Vec<i8> = (0..out_c * k)
                .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ u32::from(seed)) >> 24) as u8 as i8)
                .collect();
            let layout = Segments {
                n_seg,
                seg: seg_len,
                per_row,
                row_stride: 1000,
                seg_stride: 7,
                step,
                rows: n_seg / per_row,
                rotation: usize::from(seed) % (n_seg / per_row),
            };
            let buf: Vec<i16> = (0..1000 * (n_seg / per_row) + 64)
                .map(|i| ((i as u32).wrapping_mul(40_503).wrapping_add(u32::from(seed)) % 511) as i16 - 255)
                .collect();
            let m: Vec<QuantizedMultiplier> = (0..out_c)
                .map(|o| QuantizedMultiplier::new((1 << 30) + o as i32 * 7919, -9 - (o as i32 % 5)).unwrap())
                .collect();
            let bias: Vec<i32> = (0..out_c as i32).map(|o| o * 311 - 2000).collect();
            let rounding = if single { Rounding::Single } else { Rounding::Double };
            let p = LayerParamsI8::new(0, -3, &m, Some(&bias)).with_rounding(rounding);
            let pairs = n_seg * even(seg_len) / 2;
            let mut panel = std::vec![0i16; pairs * 2 * CH_BLOCK];
            for c0 in (0..out_c).step_by(CH_BLOCK) {
                let rq = RequantBlock::new(&p, c0, out_c);
                let mut a = std::vec![0x55i8; n_px * out_c];
                let mut b = std::vec![0x55i8; n_px * out_c];
                pack_panel_i16_transposed(&weights, (n_seg, seg_len), c0, out_c, &mut panel);
                gemm_row_i16_simd(&buf, &layout, n_px, &panel, &rq, &mut a[c0..], out_c);
                pack_panel_i16_rows(&weights, (n_seg, seg_len), c0, out_c, &mut panel);
                let rq = rq.lane_by_lane(&p, c0);
                gemm_row_i16_scalar(&buf, &layout, n_px, &panel, &rq, &mut b[c0..], out_c);
                prop_assert_eq!(a, b);
            }
        }

        /// The scalar and SIMD K-contiguous dot products agree (tails and offsets included).
        #[test]
        fn scalar_dot_block_matches_simd(len in 1usize..=70, offset in -128i16..=128, seed in any::<u8>()) {
            let w: Vec<i8> = (0..3 * len).map(|i| (i as u8).wrapping_mul(77).wrapping_add(seed) as i8).collect();
            let x: Vec<i8> = (0..2 * len).map(|i| (i as u8).wrapping_mul(13) as i8).collect();
            let b: [&[i8]; 3] = core::array::from_fn(|m| &w[m * len..][..len]);
            let a: [OffsetI8<'_>; 2] = core::array::from_fn(|n| OffsetI8 { data: &x[n * len..][..len], offset });
            let mut s = [[i32x8::ZERO; 2]; 3];
            let mut v = [[i32x8::ZERO; 2]; 3];
            dot_block_i16_scalar(&mut s, b, a);
            dot_block_i16_simd(&mut v, b, a);
            for m in 0..3 {
                for n in 0..2 {
                    let want: i32 = (0..len)
                        .map(|t| i32::from(b[m][t]) * (i32::from(a[n].data[t]) + i32::from(offset)))
                        .sum();
                    prop_assert_eq!(s[m][n].reduce_add(), want);
                    prop_assert_eq!(v[m][n].reduce_add(), want);
                }
            }
        }

        /// The packed panel holds `w'[c0 + o][2j + t]` at `(j·16 + o)·2 + t`, with every segment
        /// padded to even and zeros past `out_c`.
        #[test]
        fn panel_packing_matches_definition(
            n_seg in 1usize..=7,
            seg in 1usize..=40,
            out_c in 1usize..=40,
            seed in any::<u8>(),
        ) {
            let k = n_seg * seg;
            let weights: Vec<i8> = (0..out_c * k)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) as i8)
                .collect();
            let sp = even(seg) / 2;
            let pairs = n_seg * sp;
            for c0 in (0..out_c).step_by(CH_BLOCK) {
                let mut panel = std::vec![0x5555i16; pairs * 2 * CH_BLOCK];
                pack_panel_i16_transposed(&weights, (n_seg, seg), c0, out_c, &mut panel);
                for j in 0..pairs {
                    for o in 0..CH_BLOCK {
                        for t in 0..2 {
                            let at = (j % sp) * 2 + t;
                            let want = if c0 + o < out_c && at < seg {
                                i16::from(weights[(c0 + o) * k + (j / sp) * seg + at])
                            } else {
                                0
                            };
                            prop_assert_eq!(panel[(j * CH_BLOCK + o) * 2 + t], want);
                        }
                    }
                }
            }
        }
    }
}
