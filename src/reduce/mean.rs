//! MEAN over H and W (global average pooling), f32 and int8 (TFLite's `QuantizedMeanOrSum`,
//! bit for bit).

use crate::error::{Error, check_len};
use crate::quant::{
    QuantError, QuantParams, QuantizedMultiplier, multiply_by_quantized_multiplier,
    quantize_multiplier,
};

/// The parameters of an int8 MEAN over `count` elements per output, as TFLite Micro computes
/// them (`reduce_common.cc`, `reference_ops::QuantizedMeanOrSum`):
///
/// ```text
/// (m, s) = QuantizeMultiplier(s_in / s_out)                          (f64 division)
/// k = min(floor(log2(count)), 32, 31 + s)
/// m' = (m · 2^k) / count  (i64, truncated),  s' = s − k             (folds in 1 / count)
/// out = clamp(MultiplyByQuantizedMultiplier(Σ x − zp_in · count, m', s') + zp_out, −128, 127)
/// ```
///
/// ```
/// use tinyconv::quant::QuantParams;
/// use tinyconv::reduce::MeanParamsI8;
/// let p = MeanParamsI8::new(QuantParams::new(0.5, 3)?, QuantParams::new(0.25, -1)?, 4)?;
/// // Four values 13: (13 − 3) · 0.5 = 5.0 → 20 steps of 0.25, − 1 = 19.
/// assert_eq!(p.apply(4 * 13), 19);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeanParamsI8 {
    input_zero_point: i8,
    output_zero_point: i8,
    count: usize,
    multiplier: QuantizedMultiplier,
}

impl MeanParamsI8 {
    /// Parameters for the mean of `count` values (`H · W` for a global average).
    ///
    /// # Errors
    /// [`QuantError::ShiftOutOfRange`] if `s_in / s_out ≥ 2^30`; [`QuantError::LengthMismatch`]
    /// (`what: "count"`) if `count` is 0 or above `2^31 / 255` (the `i32` sum could overflow).
    pub const fn new(
        input: QuantParams,
        output: QuantParams,
        count: usize,
    ) -> Result<Self, QuantError> {
        if count == 0 || count > (i32::MAX as usize) / 255 {
            return Err(QuantError::LengthMismatch {
                what: "count",
                expected: 1,
                actual: count,
            });
        }
        let m = match quantize_multiplier(input.scale() as f64 / output.scale() as f64) {
            Ok(m) => m,
            Err(e) => return Err(e),
        };
        let mut k = 63 - (count as u64).leading_zeros() as i32;
        if k > 32 {
            k = 32;
        }
        if k > 31 + m.shift() {
            k = 31 + m.shift();
        }
        let multiplier = ((m.multiplier() as i64) << k) / count as i64;
        let multiplier = match QuantizedMultiplier::new(multiplier as i32, m.shift() - k) {
            Ok(m) => m,
            Err(e) => return Err(e),
        };
        Ok(MeanParamsI8 {
            input_zero_point: input.zero_point(),
            output_zero_point: output.zero_point(),
            count,
            multiplier,
        })
    }

    /// The number of values averaged.
    pub const fn count(&self) -> usize {
        self.count
    }

    /// The multiplier with `1 / count` folded in.
    pub const fn multiplier(&self) -> QuantizedMultiplier {
        self.multiplier
    }

    /// The output for the sum `sum` of `count` raw int8 inputs.
    #[inline]
    #[must_use]
    pub const fn apply(&self, sum: i32) -> i8 {
        // TFLite subtracts in i64 and narrows; |sum − zp·count| ≤ 255 · count < 2^31.
        let shifted = (sum as i64 - self.input_zero_point as i64 * self.count as i64) as i32;
        let v = multiply_by_quantized_multiplier(shifted, self.multiplier)
            .saturating_add(self.output_zero_point as i32);
        if v < -128 {
            -128
        } else if v > 127 {
            127
        } else {
            v as i8
        }
    }
}

/// Checks `[h, w, c]` against the buffers; returns `h · w`.
fn check_shape(shape: [usize; 3], input: usize, output: usize) -> Result<usize, Error> {
    let [h, w, c] = shape;
    let (Some(hw), true) = (h.checked_mul(w), h > 0 && w > 0 && c > 0) else {
        return Err(Error::InvalidGeometry("mean: zero or overflowing size"));
    };
    let Some(n) = hw.checked_mul(c) else {
        return Err(Error::InvalidGeometry("mean: zero or overflowing size"));
    };
    check_len("input", n, input)?;
    check_len("output", c, output)?;
    Ok(hw)
}

/// int8 MEAN over H and W of a `[h][w][c]` tensor: `output[c]` as [`MeanParamsI8::apply`] of
/// the channel's sum. Bit-exact with TFLite (Micro)'s int8 `MEAN` over axes `[1, 2]`.
///
/// # Errors
/// [`Error::InvalidGeometry`] for a zero size, [`Error::LengthMismatch`] for wrong buffers or
/// `p.count() != h · w`.
pub fn mean_hw_i8(
    shape: [usize; 3],
    input: &[i8],
    p: &MeanParamsI8,
    output: &mut [i8],
) -> Result<(), Error> {
    let hw = check_shape(shape, input.len(), output.len())?;
    check_len("count", hw, p.count())?;
    let c = shape[2];
    for (ch, y) in output.iter_mut().enumerate() {
        let sum = input[ch..]
            .iter()
            .step_by(c)
            .fold(0i32, |s, &v| s + i32::from(v));
        *y = p.apply(sum);
    }
    Ok(())
}

/// f32 MEAN over H and W: `output[c] = (Σ_{y,x} in[y][x][c]) / (h · w)`, summed in `(y, x)`
/// order then divided, as TFLite's reference `Mean`.
///
/// ```
/// use tinyconv::reduce::mean_hw_f32;
/// let mut y = [0.0; 2];
/// mean_hw_f32([2, 1, 2], &[1.0, 10.0, 3.0, 30.0], &mut y).unwrap();
/// assert_eq!(y, [2.0, 20.0]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`] for a zero size, [`Error::LengthMismatch`] for wrong buffers.
pub fn mean_hw_f32(shape: [usize; 3], input: &[f32], output: &mut [f32]) -> Result<(), Error> {
    let hw = check_shape(shape, input.len(), output.len())?;
    let c = shape[2];
    for (ch, y) in output.iter_mut().enumerate() {
        let sum = input[ch..].iter().step_by(c).fold(0.0f32, |s, &v| s + v);
        *y = sum / hw as f32;
    }
    Ok(())
}
