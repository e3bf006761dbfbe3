//! Reference dense layer: one plain dot product per output.

use crate::activation::Activation;
use crate::error::Error;
use crate::quant::LayerParamsI8;

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

/// int8 dense layer as TFLite's `reference_integer_ops::FullyConnected` (per-tensor: one
/// multiplier) and `FullyConnectedPerChannel` (one multiplier per output):
///
/// ```text
/// acc[o] = bias[o] + Σ_i (x[i] − input_zero_point) · w[o][i]        (i32, weights symmetric)
/// out[o] = clamp(MultiplyByQuantizedMultiplier(acc[o], M[o]) + output_zero_point, range)
/// ```
///
/// ```
/// use tinyconv::{dense::reference, quant::{LayerParamsI8, QuantizedMultiplier}};
/// let p = LayerParamsI8::new(2, 0, &[QuantizedMultiplier::ONE], Some(&[1, 0]));
/// let mut y = [0i8; 2];
/// reference::dense_i8(&[3, 4], &[1, 2, -1, 0], &p, &mut y).unwrap();
/// assert_eq!(y, [6, -1]); // 1 + 1·1 + 2·2 = 6; −1·1 = −1
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`], [`Error::LengthMismatch`] (weights, bias, multipliers), or
/// [`Error::AccumulatorOverflow`] (see [`check_accumulator`](crate::quant::check_accumulator)).
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
    let offset = p.input_offset();
    dense_with(
        input,
        weights,
        output,
        |o| p.bias(o),
        |acc, x: i8, w: i8| acc + (i32::from(x) + offset) * i32::from(w),
        |o, acc| p.requantize(o, acc),
    )
}
