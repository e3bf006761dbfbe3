//! SOFTMAX over the last axis, int8 exactly as TFLite's quantized reference kernel
//! (`reference_ops::Softmax<int8_t, int8_t>`, which TensorFlow Lite Micro runs), and f32 with
//! TFLite's `beta`.
//!
//! int8, per row of `depth` values (output scale `1/256`, zero point `−128`):
//!
//! ```text
//! d = q − max(row)                                         (≤ 0)
//! rows with d < diff_min contribute nothing and output −128
//! x = MultiplyByQuantizedMultiplierGreaterThanOne(d, M)    (Q5.26, M = β · s_in · 2^26)
//! e = exp_on_negative_values(x)                            (Q0.31)
//! sum = Σ RoundingDivideByPOT(e, 12)                        (Q12.19)
//! (r, k) = GetReciprocal(sum, 12)
//! out = clamp(RoundingDivideByPOT(r · e, k + 23) − 128, −128, 127)
//! ```

use crate::error::{Error, check_len};
use crate::quant::{
    QuantError, QuantizedMultiplier, exp_on_negative_values, get_reciprocal,
    multiply_by_quantized_multiplier, quantize_multiplier, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
};

/// Integer bits of the scaled differences, Q5.26.
const SCALED_DIFF_INTEGER_BITS: i32 = 5;
/// Integer bits of the sum of exponentials, Q12.19.
const ACCUMULATION_INTEGER_BITS: i32 = 12;

/// The parameters of an int8 SOFTMAX, as TFLite's `PreprocessSoftmaxScaling` and
/// `CalculateInputRadius` compute them from `beta` and the input scale:
///
/// ```text
/// M = min(β · s_in · 2^26, 2^31 − 1)   (f64), quantized (shift ≥ 0)
/// diff_min = −floor(31 · 2^26 / 2^shift)
/// ```
///
/// ```
/// use tinyconv::activation::SoftmaxI8;
/// let p = SoftmaxI8::new(0.1, 1.0)?;
/// let mut y = [0i8; 3];
/// tinyconv::activation::softmax_i8(&p, 3, &[10, 10, -128], &mut y)?;
/// assert_eq!(y, [0, 0, -128]); // ½, ½ (128 steps of 1/256 − 128), ≈ 0
/// # Ok::<(), tinyconv::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxI8 {
    multiplier: QuantizedMultiplier,
    diff_min: i32,
}

impl SoftmaxI8 {
    /// The output quantization TFLite requires of int8 SOFTMAX.
    pub const OUTPUT: crate::quant::QuantParams = crate::quant::SIGMOID_OUTPUT_PARAMS;

    /// From the input scale and `beta` (Keras' softmax: 1.0).
    ///
    /// # Errors
    /// [`QuantError::NonPositiveScale`] / [`QuantError::NonFiniteScale`] for a bad scale or
    /// beta; [`QuantError::MultiplierOutOfRange`] if `β · s_in · 2^26 ≤ 1` (TFLite aborts);
    /// [`QuantError::ShiftOutOfRange`] if `β · s_in ≥ 16` (TFLite's arithmetic overflows).
    pub const fn new(input_scale: f32, beta: f32) -> Result<Self, QuantError> {
        if let Err(e) = crate::quant::check_scale(input_scale) {
            return Err(e);
        }
        if let Err(e) = crate::quant::check_scale(beta) {
            return Err(e);
        }
        let max_real = ((1u64 << 31) - 1) as f64;
        let mut real =
            beta as f64 * input_scale as f64 * (1u64 << (31 - SCALED_DIFF_INTEGER_BITS)) as f64;
        if real > max_real {
            real = max_real;
        }
        if real <= 1.0 {
            return Err(QuantError::MultiplierOutOfRange);
        }
        let multiplier = match quantize_multiplier(real) {
            Ok(m) => m,
            Err(e) => return Err(e),
        };
        // floor(31 · 2^26 / 2^shift), shift ∈ [1, 30].
        let radius = (((1i64 << SCALED_DIFF_INTEGER_BITS) - 1) << (31 - SCALED_DIFF_INTEGER_BITS))
            >> multiplier.shift();
        Ok(SoftmaxI8 {
            multiplier,
            diff_min: -(radius as i32),
        })
    }

    /// The input multiplier `M` (shift ≥ 1).
    pub const fn multiplier(&self) -> QuantizedMultiplier {
        self.multiplier
    }

    /// The most negative `q − max` that still contributes.
    pub const fn diff_min(&self) -> i32 {
        self.diff_min
    }

    /// `e^(β · s_in · d)` in Q0.31 for a difference `d ≥ diff_min`.
    #[inline]
    const fn exp(&self, d: i32) -> i32 {
        exp_on_negative_values(
            multiply_by_quantized_multiplier(d, self.multiplier),
            SCALED_DIFF_INTEGER_BITS as u32,
        )
    }

    /// One row.
    fn row(&self, input: &[i8], output: &mut [i8]) {
        let max = input.iter().copied().max().unwrap_or(i8::MIN);
        let mut sum = 0i32;
        for &q in input {
            let d = i32::from(q) - i32::from(max);
            if d >= self.diff_min {
                let e = self.exp(d);
                sum = sum.wrapping_add(rounding_divide_by_pot(e, ACCUMULATION_INTEGER_BITS));
            }
        }
        // sum ≥ e^0 / 2^12 > 0 (the maximum contributes), so the reciprocal is defined and
        // num_bits_over_unit ≥ 0.
        let (scale, bits_over_unit) = get_reciprocal(sum, ACCUMULATION_INTEGER_BITS);
        let exponent = bits_over_unit + 31 - 8;
        for (y, &q) in output.iter_mut().zip(input) {
            let d = i32::from(q) - i32::from(max);
            *y = if d >= self.diff_min {
                let p = saturating_rounding_doubling_high_mul(scale, self.exp(d));
                let v = rounding_divide_by_pot(p, exponent) - 128;
                v.clamp(-128, 127) as i8
            } else {
                i8::MIN
            };
        }
    }
}

/// int8 SOFTMAX over rows of `depth` values (the last axis): bit-exact with TFLite (Micro)'s
/// int8 SOFTMAX. Output quantization: [`SoftmaxI8::OUTPUT`].
///
/// # Errors
/// [`Error::Empty`] if `depth` is 0; [`Error::LengthMismatch`] if `input` is not a whole
/// number of rows or `output` differs in length.
pub fn softmax_i8(
    p: &SoftmaxI8,
    depth: usize,
    input: &[i8],
    output: &mut [i8],
) -> Result<(), Error> {
    check_rows(depth, input.len(), output.len())?;
    for (x, y) in input
        .chunks_exact(depth)
        .zip(output.chunks_exact_mut(depth))
    {
        p.row(x, y);
    }
    Ok(())
}

/// f32 SOFTMAX over rows of `depth` values, TFLite's reference: `e^(β·(x − max)) / Σ`,
/// computed in f32.
///
/// ```
/// let mut y = [0.0f32; 2];
/// tinyconv::activation::softmax_f32(1.0, 2, &[1.0, 1.0], &mut y).unwrap();
/// assert_eq!(y, [0.5, 0.5]);
/// ```
///
/// # Errors
/// As [`softmax_i8`], and [`Error::NonFinite`] if an input is NaN or infinite.
pub fn softmax_f32(
    beta: f32,
    depth: usize,
    input: &[f32],
    output: &mut [f32],
) -> Result<(), Error> {
    check_rows(depth, input.len(), output.len())?;
    if input.iter().any(|x| !x.is_finite()) {
        return Err(Error::NonFinite);
    }
    for (x, y) in input
        .chunks_exact(depth)
        .zip(output.chunks_exact_mut(depth))
    {
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for (o, &v) in y.iter_mut().zip(x) {
            *o = num_traits::Float::exp((v - max) * beta);
            sum += *o;
        }
        for o in y.iter_mut() {
            *o /= sum;
        }
    }
    Ok(())
}

fn check_rows(depth: usize, input: usize, output: usize) -> Result<(), Error> {
    if depth == 0 {
        return Err(Error::Empty);
    }
    if !input.is_multiple_of(depth) {
        return Err(Error::LengthMismatch {
            what: "input",
            expected: input.next_multiple_of(depth),
            actual: input,
        });
    }
    check_len("output", input, output)
}
