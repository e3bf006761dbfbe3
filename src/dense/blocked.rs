//! int8 dense layer over weights packed at compile time in blocks of 16 outputs, vectorised over
//! the outputs: each pair of input values is broadcast and multiplied by the weights of 16
//! consecutive outputs, so the accumulators are the outputs themselves — no horizontal sums, and
//! the requantization runs on 8 outputs per vector. This suits LeNet's small layers (400 → 120,
//! 120 → 84, 84 → 10), where [`simd`](super::simd)'s dot products spend much of their time on
//! reductions and on widening the same input again for every block of rows.
//!
//! The input is widened once per call into the scratch, `x − input_zero_point` as `i16` (an odd
//! length padded with a 0); a block holds the weight pairs `[j][16][2]` (and, for an odd input
//! length, the last weights `[16]`), multiplied by one broadcast input pair with two `pmaddwd`
//! (weights sign-extended on load); up to 4 blocks (64 outputs) per pass over the input.
//!
//! Packing ([`pack_weights_i8`]) is a permutation of the canonical `[out][in]` weights (same
//! length); the last block holds the remaining `nb < 16` outputs in the same order with `nb` in
//! place of 16. (An f32 version of this kernel was measured no faster than
//! [`simd::dense_f32`](super::simd::dense_f32) on these layers and is not kept.)

// Indexed loops over the const-sized register blocks unroll completely.
#![allow(clippy::needless_range_loop)]

use wide::{bytemuck, i8x16, i16x8, i16x16, i32x8};

use crate::error::Error;
use crate::gemm::i16::RequantBlock;
use crate::quant::LayerParamsI8;

/// Outputs per int8 block.
const I8_BLOCK: usize = 16;

/// Checks a packing call: both slices hold `inputs · outputs` values.
const fn check_pack(
    inputs: usize,
    outputs: usize,
    canonical: usize,
    packed: usize,
) -> Result<(), Error> {
    if inputs == 0 || outputs == 0 {
        return Err(Error::InvalidGeometry(
            "dense layer with zero inputs or outputs",
        ));
    }
    let Some(n) = inputs.checked_mul(outputs) else {
        return Err(Error::InvalidGeometry("size overflows usize"));
    };
    if canonical != n {
        return Err(Error::LengthMismatch {
            what: "weights",
            expected: n,
            actual: canonical,
        });
    }
    if packed != n {
        return Err(Error::LengthMismatch {
            what: "packed weights",
            expected: n,
            actual: packed,
        });
    }
    Ok(())
}

/// Outputs in the block starting at `o0`.
const fn block_len(outputs: usize, o0: usize, block: usize) -> usize {
    if outputs - o0 < block {
        outputs - o0
    } else {
        block
    }
}

/// Packs canonical `[out][in]` int8 weights: blocks of 16 outputs at `o0 · in`, inside a block
/// the pairs `[j][o][t] = w[o0 + o][2j + t]` and, for an odd `in`, the last column
/// `[o] = w[o0 + o][in − 1]`. A permutation, as a `const fn` for weights packed at compile time.
///
/// # Errors
/// [`Error::InvalidGeometry`] for zero inputs or outputs, [`Error::LengthMismatch`] if a slice is
/// not `inputs · outputs` long.
pub const fn pack_weights_i8(
    inputs: usize,
    outputs: usize,
    canonical: &[i8],
    packed: &mut [i8],
) -> Result<(), Error> {
    if let Err(e) = check_pack(inputs, outputs, canonical.len(), packed.len()) {
        return Err(e);
    }
    let pairs = inputs / 2;
    let mut o0 = 0;
    while o0 < outputs {
        let nb = block_len(outputs, o0, I8_BLOCK);
        let dst = o0 * inputs;
        let mut o = 0;
        while o < nb {
            let w = (o0 + o) * inputs;
            let mut j = 0;
            while j < pairs {
                packed[dst + (j * nb + o) * 2] = canonical[w + 2 * j];
                packed[dst + (j * nb + o) * 2 + 1] = canonical[w + 2 * j + 1];
                j += 1;
            }
            if inputs % 2 == 1 {
                packed[dst + pairs * 2 * nb + o] = canonical[w + inputs - 1];
            }
            o += 1;
        }
        o0 += I8_BLOCK;
    }
    Ok(())
}

/// `i16` scratch elements [`dense_i8`] needs: the widened input, `inputs` rounded up to even.
pub const fn scratch_len_i8(inputs: usize, outputs: usize) -> usize {
    let _ = outputs;
    inputs.saturating_add(inputs % 2)
}

/// Validates the lengths of a call.
fn check(input: usize, weights: usize, bias: Option<usize>, output: usize) -> Result<(), Error> {
    super::check(input, weights, bias, output)
}

// ---- int8 --------------------------------------------------------------------------------------

/// int8 dense layer over weights packed by [`pack_weights_i8`], same meaning as
/// [`reference::dense_i8`](super::reference::dense_i8) (bit-exact).
///
/// Scratch: [`scratch_len_i8`] `i16`s (the widened input); it need not be zeroed.
///
/// # Errors
/// As [`reference::dense_i8`](super::reference::dense_i8), and [`Error::ScratchTooSmall`].
pub fn dense_i8(
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    scratch: &mut [i16],
    output: &mut [i8],
) -> Result<(), Error> {
    check(
        input.len(),
        packed.len(),
        p.bias.map(<[i32]>::len),
        output.len(),
    )?;
    p.check(output.len(), input.len())?;
    let k = input.len();
    let needed = scratch_len_i8(k, output.len());
    if scratch.len() < needed {
        return Err(Error::ScratchTooSmall {
            needed,
            actual: scratch.len(),
        });
    }
    // |offset| ≤ 128 fits i16.
    let offset = p.input_offset() as i16;
    let xs = &mut scratch[..needed];
    crate::conv::implicit_gemm::widen(input, &mut xs[..k], offset);
    if k % 2 == 1 {
        xs[k] = 0;
    }
    let xp: &[[i16; 2]] = xs.as_chunks::<2>().0;
    let n = output.len();
    let mut o0 = 0;
    while o0 < n {
        let left = n - o0;
        if left >= 4 * I8_BLOCK {
            pass_i8::<4>(xp, k, packed, p, o0, output);
            o0 += 4 * I8_BLOCK;
        } else if left >= 2 * I8_BLOCK {
            pass_i8::<2>(xp, k, packed, p, o0, output);
            o0 += 2 * I8_BLOCK;
        } else if left >= I8_BLOCK {
            pass_i8::<1>(xp, k, packed, p, o0, output);
            o0 += I8_BLOCK;
        } else {
            partial_i8(xp, k, &packed[o0 * k..], p, o0, &mut output[o0..]);
            o0 = n;
        }
    }
    Ok(())
}

/// `(lo, hi)` in every 32-bit lane.
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

/// Weights of 16 outputs `[16]` (an odd input length's last column) as two vectors of `i16`
/// pairs `(w, sign)`, for a broadcast pair `(x, 0)`.
#[inline(always)]
fn singles(w: &[i8; 16]) -> [i16x16; 2] {
    let halves: [i16x8; 2] = bytemuck::cast(widen16(w));
    halves.map(|h| bytemuck::cast(i32x8::from_i16x8(h)))
}

/// `G` full blocks of 16 outputs starting at `o0`.
#[inline(always)]
fn pass_i8<const G: usize>(
    xp: &[[i16; 2]],
    k: usize,
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    o0: usize,
    out: &mut [i8],
) {
    let pairs = k / 2;
    let blocks: [&[i8]; G] =
        core::array::from_fn(|b| &packed[(o0 + b * I8_BLOCK) * k..][..I8_BLOCK * k]);
    let wp: [&[[i8; 32]]; G] =
        core::array::from_fn(|b| &blocks[b][..pairs * 32].as_chunks::<32>().0[..pairs]);
    let mut acc = [[i32x8::ZERO; 2]; G];
    for j in 0..pairs {
        let [lo, hi] = xp[j];
        let a = pair(lo, hi);
        for b in 0..G {
            let halves: &[[i8; 16]; 2] = bytemuck::cast_ref(&wp[b][j]);
            acc[b][0] += a.dot(widen16(&halves[0]));
            acc[b][1] += a.dot(widen16(&halves[1]));
        }
    }
    if k % 2 == 1 {
        let a = pair(xp[pairs][0], 0);
        for b in 0..G {
            let last: &[i8; 16] = blocks[b][pairs * 32..].try_into().expect("16 weights");
            let w = singles(last);
            acc[b][0] += a.dot(w[0]);
            acc[b][1] += a.dot(w[1]);
        }
    }
    for b in 0..G {
        let o = o0 + b * I8_BLOCK;
        RequantBlock::new(p, o, out.len()).store(&acc[b], &mut out[o..]);
    }
}

/// The last block of `nb = out.len() < 16` outputs (`w`: the block, `[j][nb][2]` then `[nb]`):
/// loads read past a pair step into the next one (lanes never stored), zero-filled at the end.
fn partial_i8(
    xp: &[[i16; 2]],
    k: usize,
    w: &[i8],
    p: &LayerParamsI8<'_>,
    o0: usize,
    out: &mut [i8],
) {
    let nb = out.len();
    // 32 weights from `at` (two vectors of 8 output pairs), zero-filled past the block.
    let load = |at: usize| -> [i16x16; 2] {
        let v: [i8; 32] = match w
            .get(at..at + 32)
            .and_then(|s| <&[i8; 32]>::try_from(s).ok())
        {
            Some(v) => *v,
            None => {
                let mut v = [0i8; 32];
                for (d, &s) in v.iter_mut().zip(w.get(at..).unwrap_or(&[])) {
                    *d = s;
                }
                v
            }
        };
        let h: [[i8; 16]; 2] = bytemuck::cast(v);
        [widen16(&h[0]), widen16(&h[1])]
    };
    let pairs = k / 2;
    let mut acc = [i32x8::ZERO; 2];
    for (j, &[lo, hi]) in xp.iter().take(pairs).enumerate() {
        let a = pair(lo, hi);
        let wv = load(j * 2 * nb);
        acc[0] += a.dot(wv[0]);
        if nb > 8 {
            acc[1] += a.dot(wv[1]);
        }
    }
    if k % 2 == 1 {
        let a = pair(xp[pairs][0], 0);
        let wv = load(pairs * 2 * nb);
        let h: [i16x8; 2] = bytemuck::cast(wv[0]);
        let s = h.map(|h| -> i16x16 { bytemuck::cast(i32x8::from_i16x8(h)) });
        acc[0] += a.dot(s[0]);
        acc[1] += a.dot(s[1]);
    }
    RequantBlock::new(p, o0, o0 + nb).store(&acc, out);
}
