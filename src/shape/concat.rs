//! CONCATENATION along an axis of channels-last tensors.
//!
//! Viewed as `[outer][axis · inner]`, concatenation interleaves the inputs' rows: for each of
//! the `outer` rows, input 0's row, then input 1's, ... For channels of `[H][W][C_i]` tensors
//! `outer = H · W` and each row is `C_i` long; along W, `outer = H`; along H, `outer = 1`.

use crate::error::{Error, check_len};
use crate::quant::QuantParams;

/// Concatenates `inputs` along an axis: each input is `outer` rows of `len / outer` values,
/// and `output` gets, row by row, the rows of all inputs in order.
///
/// ```
/// use tinyconv::shape::concatenate;
/// // Two [2][1][C] tensors with 1 and 2 channels → [2][1][3].
/// let mut y = [0; 6];
/// concatenate(2, &[&[1, 2], &[10, 20, 30, 40]], &mut y).unwrap();
/// assert_eq!(y, [1, 10, 20, 2, 30, 40]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`] if `outer` is 0 or does not divide an input's length,
/// [`Error::LengthMismatch`] if `output` is not as long as all inputs together.
pub fn concatenate<T: Copy>(outer: usize, inputs: &[&[T]], output: &mut [T]) -> Result<(), Error> {
    let total = check(outer, inputs.iter().map(|x| x.len()), output.len())?;
    let _ = total;
    let mut at = 0;
    for row in 0..outer {
        for x in inputs {
            let n = x.len() / outer;
            output[at..at + n].copy_from_slice(&x[row * n..][..n]);
            at += n;
        }
    }
    Ok(())
}

/// int8 concatenation of inputs with their own quantization into `output_params`:
/// an input with the output's scale and zero point is copied (TFLite Micro requires this of
/// every input), any other is requantized as TFLite's `ConcatenationWithScaling`:
///
/// ```text
/// out = clamp(round(q · (s_in / s_out) − zp_in · (s_in / s_out)) + zp_out, −128, 127)
/// ```
///
/// in `f32` (`s_in · (1 / s_out)`, `round` half away from zero), as TFLite does for uint8.
///
/// ```
/// use tinyconv::quant::QuantParams;
/// use tinyconv::shape::concatenate_i8;
/// let same = QuantParams::new(0.1, 0)?;
/// let half = QuantParams::new(0.05, 4)?;
/// let mut y = [0i8; 4];
/// concatenate_i8(1, &[(&[5, -6], same), (&[24, -4], half)], same, &mut y).unwrap();
/// // (24 − 4) · 0.05 / 0.1 = 10; (−4 − 4) · 0.5 = −4.
/// assert_eq!(y, [5, -6, 10, -4]);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
///
/// # Errors
/// As [`concatenate`].
pub fn concatenate_i8(
    outer: usize,
    inputs: &[(&[i8], QuantParams)],
    output_params: QuantParams,
    output: &mut [i8],
) -> Result<(), Error> {
    check(outer, inputs.iter().map(|(x, _)| x.len()), output.len())?;
    let inverse_output_scale = 1.0 / output_params.scale();
    let out_zp = i32::from(output_params.zero_point());
    let mut at = 0;
    for row in 0..outer {
        for &(x, params) in inputs {
            let n = x.len() / outer;
            let src = &x[row * n..][..n];
            let dst = &mut output[at..at + n];
            if params == output_params {
                dst.copy_from_slice(src);
            } else {
                let scale = params.scale() * inverse_output_scale;
                let bias = -f32::from(params.zero_point()) * scale;
                for (d, &q) in dst.iter_mut().zip(src) {
                    let v = num_traits::float::Float::round(f32::from(q) * scale + bias) as i32;
                    *d = v.saturating_add(out_zp).clamp(-128, 127) as i8;
                }
            }
            at += n;
        }
    }
    Ok(())
}

fn check(outer: usize, lens: impl Iterator<Item = usize>, output: usize) -> Result<usize, Error> {
    if outer == 0 {
        return Err(Error::InvalidGeometry("concatenate: outer size is zero"));
    }
    let mut total = 0usize;
    for len in lens {
        if !len.is_multiple_of(outer) {
            return Err(Error::InvalidGeometry(
                "concatenate: an input's length is not a multiple of the outer size",
            ));
        }
        total = total
            .checked_add(len)
            .ok_or(Error::InvalidGeometry("concatenate: size overflows usize"))?;
    }
    check_len("output", total, output)?;
    Ok(total)
}
