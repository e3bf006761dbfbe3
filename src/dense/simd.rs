//! SIMD dense layer: the GEMM micro-kernel of [`crate::gemm`] with one input row, 4 weight rows
//! per step.

use crate::activation::Activation;
use crate::error::Error;
use crate::gemm::gemm_abt_f32;

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
    let finish = |o: usize, acc: f32| act.apply(acc + bias.map_or(0.0, |b| b[o]));
    let ldo = output.len();
    gemm_abt_f32(input, weights, input.len(), output, ldo, &finish);
    Ok(())
}
