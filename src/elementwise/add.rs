//! ADD of two tensors, f32 and int8 (TFLite's `reference_integer_ops::Add`, bit for bit).

use crate::activation::Activation;
use crate::error::{Error, check_len};
use crate::quant::{
    ActivationRange, QuantError, QuantParams, QuantizedMultiplier,
    multiply_by_quantized_multiplier, quantize_multiplier_smaller_than_one,
};

/// The parameters of an int8 ADD, computed from the tensors' quantization as TFLite's
/// `CalculateOpDataAdd` (TFLite Micro, `add_common.cc`) does:
///
/// ```text
/// twice_max = 2 · max(s1, s2)                          (f64)
/// M1 = s1 / twice_max,  M2 = s2 / twice_max,  M_out = twice_max / (2^20 · s_out)
/// ```
///
/// each quantized with [`quantize_multiplier_smaller_than_one`]. Each element is then
/// (see [`apply`](Self::apply))
///
/// ```text
/// a' = MBQM((a − zp1) · 2^20, M1),  b' = MBQM((b − zp2) · 2^20, M2)
/// out = clamp(MBQM(a' + b', M_out) + zp_out, range)
/// ```
///
/// with `MBQM` TFLite's double-rounding `MultiplyByQuantizedMultiplierSmallerThanOneExp`
/// ([`multiply_by_quantized_multiplier`] for shifts `≤ 0`). The left shift of 20 keeps 20 bits
/// of fraction through the rescaling: `|a − zp| · 2^20 ≤ 255 · 2^20 < 2^28`.
///
/// ```
/// use tinyconv::elementwise::AddParamsI8;
/// use tinyconv::quant::{ActivationRange, QuantParams};
/// let a = QuantParams::new(0.1, 0)?;
/// let b = QuantParams::new(0.05, 10)?;
/// let out = QuantParams::new(0.2, -5)?;
/// let p = AddParamsI8::new(a, b, out, ActivationRange::none())?;
/// // 0.1 · 30 + 0.05 · (50 − 10) = 3 + 2 = 5.0 → 25 steps of 0.2, − 5 = 20.
/// assert_eq!(p.apply(30, 50), 20);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddParamsI8 {
    input1_zero_point: i8,
    input2_zero_point: i8,
    output_zero_point: i8,
    input1_multiplier: QuantizedMultiplier,
    input2_multiplier: QuantizedMultiplier,
    output_multiplier: QuantizedMultiplier,
    range: ActivationRange,
}

impl AddParamsI8 {
    /// TFLite's `left_shift` for int8 ADD.
    pub const LEFT_SHIFT: i32 = 20;

    /// Parameters from the two inputs' and the output's quantization, and the fused activation
    /// (e.g. [`ActivationRange::relu`] of `output`).
    ///
    /// # Errors
    /// [`QuantError::MultiplierOutOfRange`] if a multiplier is not in `(0, 1)` — the output
    /// multiplier is not when `s_out ≤ 2 · max(s1, s2) / 2^20` (TFLite aborts there too).
    pub const fn new(
        input1: QuantParams,
        input2: QuantParams,
        output: QuantParams,
        range: ActivationRange,
    ) -> Result<Self, QuantError> {
        let (s1, s2) = (input1.scale(), input2.scale());
        // std::max of the f32 scales, then widened.
        let twice_max = 2.0 * (if s1 > s2 { s1 } else { s2 }) as f64;
        let real1 = s1 as f64 / twice_max;
        let real2 = s2 as f64 / twice_max;
        let real_out = twice_max / ((1i64 << Self::LEFT_SHIFT) as f64 * output.scale() as f64);
        let input1_multiplier = match quantize_multiplier_smaller_than_one(real1) {
            Ok(m) => m,
            Err(e) => return Err(e),
        };
        let input2_multiplier = match quantize_multiplier_smaller_than_one(real2) {
            Ok(m) => m,
            Err(e) => return Err(e),
        };
        let output_multiplier = match quantize_multiplier_smaller_than_one(real_out) {
            Ok(m) => m,
            Err(e) => return Err(e),
        };
        Ok(AddParamsI8 {
            input1_zero_point: input1.zero_point(),
            input2_zero_point: input2.zero_point(),
            output_zero_point: output.zero_point(),
            input1_multiplier,
            input2_multiplier,
            output_multiplier,
            range,
        })
    }

    /// The three multipliers `(M1, M2, M_out)`.
    pub const fn multipliers(&self) -> [QuantizedMultiplier; 3] {
        [
            self.input1_multiplier,
            self.input2_multiplier,
            self.output_multiplier,
        ]
    }

    /// One element: `a + b` in the output's quantization.
    #[inline]
    #[must_use]
    pub const fn apply(&self, a: i8, b: i8) -> i8 {
        let a = (a as i32 - self.input1_zero_point as i32) << Self::LEFT_SHIFT;
        let b = (b as i32 - self.input2_zero_point as i32) << Self::LEFT_SHIFT;
        let a = multiply_by_quantized_multiplier(a, self.input1_multiplier);
        let b = multiply_by_quantized_multiplier(b, self.input2_multiplier);
        // |a|, |b| ≤ 255 · 2^20 · M < 2^28: the sum cannot overflow.
        let sum = multiply_by_quantized_multiplier(a + b, self.output_multiplier);
        self.range
            .clamp(sum.saturating_add(self.output_zero_point as i32))
    }
}

/// int8 ADD: `out[i] = p.apply(a[i], b[i])`, bit-exact with TFLite's int8 ADD of two tensors
/// of the same shape.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `a`, `b` and `out` have the same length.
pub fn add_i8(p: &AddParamsI8, a: &[i8], b: &[i8], out: &mut [i8]) -> Result<(), Error> {
    check_len("b", a.len(), b.len())?;
    check_len("output", a.len(), out.len())?;
    for ((y, &x1), &x2) in out.iter_mut().zip(a).zip(b) {
        *y = p.apply(x1, x2);
    }
    Ok(())
}

/// f32 ADD with a fused activation: `out[i] = act(a[i] + b[i])` (TFLite clamps to the
/// activation's range after the sum, which is what `act` does for ReLU and ReLU6).
///
/// ```
/// use tinyconv::{Activation, elementwise::add_f32};
/// let mut y = [0.0; 3];
/// add_f32(&[1.0, -4.0, 5.0], &[2.0, 1.0, 2.5], Activation::Relu6, &mut y).unwrap();
/// assert_eq!(y, [3.0, 0.0, 6.0]);
/// ```
///
/// # Errors
/// [`Error::LengthMismatch`] unless `a`, `b` and `out` have the same length.
pub fn add_f32(a: &[f32], b: &[f32], act: Activation, out: &mut [f32]) -> Result<(), Error> {
    check_len("b", a.len(), b.len())?;
    check_len("output", a.len(), out.len())?;
    for ((y, &x1), &x2) in out.iter_mut().zip(a).zip(b) {
        *y = act.apply(x1 + x2);
    }
    Ok(())
}
