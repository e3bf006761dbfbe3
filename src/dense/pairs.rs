//! int8 dense layer for cores with 16-bit multiply-accumulate instructions (Arm's DSP extension:
//! `smlabb`/`smlatb`), the companion of [`conv::pairs`](crate::conv::pairs).
//!
//! The input is widened once per call into the scratch as pairs of `i16` values
//! `x − input_zero_point` in 32-bit words (inputs `2t` and `2t + 1` in word `t`). Rows go four at
//! a time: per word, one load, eight sign-extended byte loads of weights (packed at compile time
//! so that they are consecutive) and eight multiply-accumulates that take the bottom or top half
//! of the input word (`smlabb`/`smlatb`).

use crate::error::Error;
use crate::quant::LayerParamsI8;
use crate::quant::requantize_fast as requantize;

/// Rows per block.
const ROWS: usize = 4;

/// `i16` elements of scratch [`dense_i8`] needs for `in_len` inputs: `⌈in_len / 2⌉` 32-bit
/// words, as `2 · words + 1` `i16`s (read from the first 4-byte-aligned element on).
///
/// ```
/// assert_eq!(tinyconv::dense::pairs::scratch_len_i8(401), 2 * 201 + 1);
/// ```
pub const fn scratch_len_i8(in_len: usize) -> usize {
    crate::conv::pairs::words_to_i16(in_len.div_ceil(2))
}

/// Rearranges canonical weights `[out_len][in_len]` into the order [`dense_i8`] reads them: for
/// each block of four rows `o..o + 4`, for each pair of inputs `(k, k + 1)`, the eight weights
/// `w[o][k], w[o][k + 1], w[o + 1][k], …, w[o + 3][k + 1]` (an odd last input: the four
/// `w[o + r][k]`); the last `out_len mod 4` rows as they are. A permutation (same length),
/// computed at compile time for `static` weights.
///
/// # Errors
/// [`Error::InvalidGeometry`] for zero lengths, [`Error::LengthMismatch`] if either slice is
/// not `in_len · out_len` long.
pub const fn pack_weights_i8(
    in_len: usize,
    out_len: usize,
    canonical: &[i8],
    packed: &mut [i8],
) -> Result<(), Error> {
    if let Err(e) = super::check_pack_len(in_len, out_len, canonical.len(), packed.len()) {
        return Err(e);
    }
    let n = in_len * out_len;
    let full = out_len - out_len % ROWS;
    let mut o = 0;
    while o < full {
        let base = o * in_len;
        let mut t = 0;
        let mut k = 0;
        while k < in_len {
            let pair = if k + 1 < in_len { 2 } else { 1 };
            let mut r = 0;
            while r < ROWS {
                let mut e = 0;
                while e < pair {
                    packed[base + t] = canonical[(o + r) * in_len + k + e];
                    t += 1;
                    e += 1;
                }
                r += 1;
            }
            k += pair;
        }
        o += ROWS;
    }
    let mut i = full * in_len;
    while i < n {
        packed[i] = canonical[i];
        i += 1;
    }
    Ok(())
}

/// int8 dense layer, bit-exact with [`reference::dense_i8`](super::reference::dense_i8)
/// (`out[o] = requantize(bias[o] + Σ_k (x[k] − input_zero_point) · w[o][k])`), over weights
/// packed by [`pack_weights_i8`], with [`scratch_len_i8`] words of scratch (not zeroed by the
/// caller).
///
/// # Errors
/// As [`reference::dense_i8`](super::reference::dense_i8), and [`Error::ScratchTooSmall`].
#[inline(never)]
pub fn dense_i8(
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    scratch: &mut [i16],
    output: &mut [i8],
) -> Result<(), Error> {
    let in_len = input.len();
    super::check(in_len, packed.len(), p.bias.map(<[i32]>::len), output.len())?;
    p.check(output.len(), in_len)?;
    let x = crate::conv::pairs::scratch_words(scratch, in_len.div_ceil(2))?;
    let offset = p.input_offset();
    // |x − zp| ≤ 255: fits the half-word.
    let widen = |v: i8| (i32::from(v) + offset) as u16 as u32;
    for (word, pair) in x.iter_mut().zip(input.chunks(2)) {
        let hi = pair.get(1).map_or(0, |&v| widen(v));
        *word = (widen(pair[0]) | hi << 16) as i32;
    }
    let x = &*x;
    let pairs = in_len / 2;
    let full = output.len() - output.len() % ROWS;
    let (blocked, rest) = packed.split_at(full * in_len);
    for ((o, out), w) in (0..full)
        .step_by(ROWS)
        .zip(output.chunks_exact_mut(ROWS))
        .zip(blocked.chunks_exact(ROWS * in_len))
    {
        let mut acc: [i32; ROWS] = core::array::from_fn(|r| p.bias(o + r));
        let (wp, wt) = w.split_at(ROWS * 2 * pairs);
        for (&v, wk) in x.iter().zip(wp.chunks_exact(2 * ROWS)) {
            let (a0, a1) = (i32::from(v as i16), v >> 16);
            for r in 0..ROWS {
                acc[r] += a0 * i32::from(wk[2 * r]) + a1 * i32::from(wk[2 * r + 1]);
            }
        }
        if in_len % 2 == 1 {
            let a0 = i32::from(x[pairs] as i16);
            for r in 0..ROWS {
                acc[r] += a0 * i32::from(wt[r]);
            }
        }
        for (r, y) in out.iter_mut().enumerate() {
            *y = requantize(p, o + r, acc[r]);
        }
    }
    for ((o, y), w) in (full..)
        .zip(&mut output[full..])
        .zip(rest.chunks_exact(in_len))
    {
        let mut acc = p.bias(o);
        for (&v, wk) in x.iter().zip(w.chunks(2)) {
            acc += i32::from(v as i16) * i32::from(wk[0]);
            if let Some(&w1) = wk.get(1) {
                acc += (v >> 16) * i32::from(w1);
            }
        }
        *y = requantize(p, o, acc);
    }
    Ok(())
}
