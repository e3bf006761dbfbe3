//! SIMD dense layer: the GEMM micro-kernel of `crate::gemm` with one input row, 4 weight rows
//! per step.

use crate::activation::Activation;
use crate::error::Error;
use crate::gemm::gemm_abt_f32;
use crate::gemm::i16::{OffsetI8, gemm_abt_i16};
use crate::quant::LayerParamsI8;

/// f32 dense layer `out = act(W·x + b)`, same meaning as
/// [`reference::dense_f32`](super::reference::dense_f32).
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn dense_f32(
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), Error> {
    super::check(
        input.len(),
        weights.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    // Sigmoid/tanh over the whole output afterwards, eight lanes at a time.
    let (now, after) = act.split_per_row();
    let finish = |o: usize, acc: f32| now.apply(acc + bias.map_or(0.0, |b| b[o]));
    let ldo = output.len();
    gemm_abt_f32(input, weights, input.len(), output, ldo, &finish);
    after.apply_slice(output);
    Ok(())
}

/// int8 dense layer, same meaning as [`reference::dense_i8`](super::reference::dense_i8)
/// (bit-exact): the int8 GEMM micro-kernel with the input widened to `i16` plus the input
/// offset in registers, 4 weight rows per step.
///
/// # Errors
/// As [`reference::dense_i8`](super::reference::dense_i8).
pub fn dense_i8(
    input: &[i8],
    weights: &[i8],
    p: &LayerParamsI8<'_>,
    output: &mut [i8],
) -> Result<(), Error> {
    super::check(
        input.len(),
        weights.len(),
        p.bias.map(<[i32]>::len),
        output.len(),
    )?;
    p.check(output.len(), input.len())?;
    let finish = |o: usize, acc: i32| p.requantize(o, acc + p.bias(o));
    // |offset| ≤ 128 fits i16.
    let offset = p.input_offset() as i16;
    let row = |_| OffsetI8 {
        data: input,
        offset,
    };
    let ldo = output.len();
    gemm_abt_i16(row, 1, weights, input.len(), output, ldo, &finish);
    Ok(())
}
