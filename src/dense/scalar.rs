//! f32 dense layer for targets without vector registers (where `wide::f32x8` is eight scalar
//! lanes in memory): 4 outputs at a time in scalar registers, over weights packed at compile
//! time so that the 4 weights of one input are adjacent ([`pack_weights_f32`]). Per input: one
//! input load, 4 weight loads and 4 multiply-adds. The last `outputs mod 4` rows are groups of 2
//! and 1.

use crate::activation::Activation;
use crate::conv::scalar::activate;
use crate::error::Error;

/// Rows per full group.
const MR: usize = 4;

/// Rows in the group that starts with `left` rows to go: 4, then 2, then 1.
const fn group(left: usize) -> usize {
    if left >= MR {
        MR
    } else if left >= 2 {
        2
    } else {
        1
    }
}

/// Rearranges canonical `[outputs][inputs]` weights into groups of 4 rows (then 2, then 1),
/// each group input by input with the group's weights for that input side by side. A
/// permutation (same length), computed at compile time for `static` weights.
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub const fn pack_weights_f32(
    inputs: usize,
    outputs: usize,
    canonical: &[f32],
    packed: &mut [f32],
) -> Result<(), Error> {
    if let Err(e) = super::check_pack_len(inputs, outputs, canonical.len(), packed.len()) {
        return Err(e);
    }
    let mut o = 0;
    while o < outputs {
        let m = group(outputs - o);
        let mut k = 0;
        while k < inputs {
            let mut f = 0;
            while f < m {
                packed[o * inputs + k * m + f] = canonical[(o + f) * inputs + k];
                f += 1;
            }
            k += 1;
        }
        o += m;
    }
    Ok(())
}

/// f32 dense layer `out = act(W·x + b)` over weights packed by [`pack_weights_f32`], same
/// meaning as [`reference::dense_f32`](super::reference::dense_f32) (within rounding: bias
/// first, then the products in input order).
///
/// Never inlined (the firmware's per-layer profile finds the dense layers by this name).
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
#[inline(never)]
pub fn dense_f32(
    input: &[f32],
    packed: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), Error> {
    super::check(
        input.len(),
        packed.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    let n = input.len();
    let b = |o: usize| bias.map_or(0.0, |b| b[o]);
    let mut o = 0;
    while o < output.len() {
        let m = group(output.len() - o);
        let w = &packed[o * n..(o + m) * n];
        let out = &mut output[o..o + m];
        match m {
            MR => store(
                out,
                act,
                rows::<MR>(input, w, [b(o), b(o + 1), b(o + 2), b(o + 3)]),
            ),
            2 => store(out, act, rows::<2>(input, w, [b(o), b(o + 1)])),
            _ => store(out, act, rows::<1>(input, w, [b(o)])),
        }
        o += m;
    }
    Ok(())
}

#[inline(always)]
fn store<const M: usize>(out: &mut [f32], act: Activation, acc: [f32; M]) {
    for (y, a) in out.iter_mut().zip(acc) {
        // The clamps inline, sigmoid and tanh out of line (not in each group's copy).
        *y = activate(act, a);
    }
}

/// `bias[m] + Σ_k w[k][m] · x[k]` for the `M` rows of one group (`w`: `M · x.len()` values,
/// input-major).
#[inline(never)]
#[allow(clippy::needless_range_loop)]
fn rows<const M: usize>(x: &[f32], w: &[f32], bias: [f32; M]) -> [f32; M] {
    let mut acc = bias;
    let (wc, _) = w.as_chunks::<M>();
    for (wk, &v) in wc.iter().zip(x) {
        for m in 0..M {
            acc[m] += wk[m] * v;
        }
    }
    acc
}
