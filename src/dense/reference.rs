//! Reference dense layer: one plain dot product per output.

use crate::activation::Activation;
use crate::error::Error;

/// Dense layer over any accumulator: `out[o] = finish(o, fold(init(o), mac, (x[i], w[o][i])))`,
/// the generic core of the f32 and int8 references.
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn dense_with<X: Copy, W: Copy, A, O>(
    input: &[X],
    weights: &[W],
    output: &mut [O],
    init: impl Fn(usize) -> A,
    mac: impl Fn(A, X, W) -> A,
    finish: impl Fn(usize, A) -> O,
) -> Result<(), Error> {
    super::check(input.len(), weights.len(), None, output.len())?;
    for (o, (y, row)) in output
        .iter_mut()
        .zip(weights.chunks_exact(input.len()))
        .enumerate()
    {
        let acc = input
            .iter()
            .zip(row)
            .fold(init(o), |a, (&x, &w)| mac(a, x, w));
        *y = finish(o, acc);
    }
    Ok(())
}

/// f32 dense layer `out = act(W·x + b)`, `W` as `[out][in]`.
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
    dense_with(
        input,
        weights,
        output,
        |o| bias.map_or(0.0, |b| b[o]),
        |a, x, w| a + x * w,
        |_, a| act.apply(a),
    )
}
