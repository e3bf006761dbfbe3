//! Int8 quantization following TensorFlow Lite's int8 quantization spec.
//!
//! A real value `r` is stored as an integer `q` through an affine map
//! `r = scale · (q − zero_point)`:
//!
//! | tensor      | type  | zero point           | values        | granularity            |
//! |-------------|-------|----------------------|---------------|------------------------|
//! | activations | `i8`  | any in `[-128, 127]` | `[-128, 127]` | per tensor             |
//! | weights     | `i8`  | `0` (symmetric)      | `[-127, 127]` | per output channel     |
//! | bias        | `i32` | `0`                  | any `i32`     | `input_scale · weight_scale[c]` |
//!
//! A convolution accumulates `acc = bias[c] + Σ (in − in_zp) · w` in `i32`, then
//! *requantizes* it to the output: `out = clamp(M · acc + out_zp, act_min, act_max)` with the
//! real multiplier `M = input_scale · weight_scale[c] / output_scale`. `M` is applied in
//! integer arithmetic as a Q0.31 significand and a power-of-two exponent, bit-exactly as
//! TFLite's reference kernels do.
//!
//! - [`quantize_multiplier`], [`multiply_by_quantized_multiplier`] and friends: the
//!   fixed-point requantization (TFLite's `QuantizeMultiplier` and
//!   `MultiplyByQuantizedMultiplier`, double or single rounding).
//! - [`QuantParams`], [`PerChannelScales`], [`ActivationRange`], [`requant_multiplier`]:
//!   validated parameters; an invalid scale, zero point or range cannot be constructed.
//! - [`LayerParamsI8`], [`check_accumulator`]: the parameters the int8 convolution and dense
//!   kernels take (zero points, multipliers, bias, fused activation, rounding) and the bound
//!   `patch_len · 255 · 128 + |bias| ≤ i32::MAX` that keeps their `i32` accumulator exact.
//! - [`quantize`] / [`dequantize`]: conversions between `f32` and `i8`.
//! - [`sigmoid_table`] / [`tanh_table`] / [`apply_table`]: int8 activations as 256-entry
//!   lookup tables.
//! - [`exp_on_negative_values`], [`fixed_point_logistic`], [`fixed_point_tanh`],
//!   [`get_reciprocal`], ...: gemmlowp's fixed-point arithmetic, which TFLite's integer
//!   LOGISTIC, TANH and SOFTMAX use; [`quantize_multiplier_smaller_than_one`] (ADD).
//!
//! Nothing here allocates or panics; every fallible constructor returns a [`QuantError`].

mod convert;
mod fixed_point;
mod layer;
mod lut;
mod params;
mod requantize;

pub use convert::{dequantize, dequantize_slice, quantize, quantize_slice};
pub use fixed_point::{
    exp_on_interval_between_negative_one_quarter_and_0_excl, exp_on_negative_values,
    get_reciprocal, logistic as fixed_point_logistic, one_minus_x_over_one_plus_x_for_x_in_0_1,
    one_over_one_plus_x_for_x_in_0_1, quantize_multiplier_smaller_than_one, rounding_half_sum,
    saturating_rounding_multiply_by_pot, tanh as fixed_point_tanh,
};
pub use layer::{LayerParamsI8, MAX_ABS_PRODUCT, check_accumulator, max_abs_bias};
pub use lut::{
    SIGMOID_OUTPUT_PARAMS, TANH_OUTPUT_PARAMS, apply_table, apply_table_in_place, build_table,
    lookup, sigmoid_table, table_index, tanh_table,
};
pub use params::{
    ActivationRange, PerChannelScales, QuantParams, bias_scale, check_bias_scale, check_scale,
    check_weight_zero_point, check_weights_i8, requant_multiplier, requant_multiplier_f32_product,
    requant_multipliers_into,
};
pub use requantize::{
    QuantizedMultiplier, Rounding, multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_single_rounding, multiply_by_quantized_multiplier_with,
    quantize_multiplier, requantize_to_i8, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
};

use core::fmt;

/// [`LayerParamsI8::requantize`], with the default rounding on a path written for 32-bit cores
/// ([`requantize::requantize_to_i8_double`]); bit-identical.
#[inline(always)]
pub(crate) fn requantize_fast(p: &LayerParamsI8<'_>, o: usize, acc: i32) -> i8 {
    if p.rounding != Rounding::Double {
        return p.requantize(o, acc);
    }
    let m = if p.multipliers.len() == 1 {
        p.multipliers[0]
    } else {
        p.multipliers[o]
    };
    requantize::requantize_to_i8_double(acc, m, p.output_zero_point, p.range)
}

/// Why a quantization parameter was rejected.
///
/// Every fallible function of [`quant`](self) returns this error; the crate's own error type
/// wraps it with `From`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QuantError {
    /// A scale is zero or negative (`-0.0` included). Scales must be finite and `> 0`.
    NonPositiveScale,
    /// A scale is NaN or infinite.
    NonFiniteScale,
    /// A zero point is outside the range of its tensor type: `[-128, 127]` for `i8`
    /// activations, exactly `0` for symmetric weights.
    ZeroPointOutOfRange {
        /// The rejected zero point.
        zero_point: i32,
    },
    /// A real multiplier is negative, NaN or infinite, or a Q0.31 significand is negative.
    /// Accepted: real multipliers that are finite and `>= 0`; significands in `[0, i32::MAX]`.
    MultiplierOutOfRange,
    /// A shift is outside `[-31, 30]` (a real multiplier of about `2^30` or more needs a
    /// larger one).
    ShiftOutOfRange {
        /// The rejected shift (for a real multiplier: the one its `frexp` exponent needs).
        shift: i32,
    },
    /// An activation range with `min > max`.
    InvalidActivationRange {
        /// The rejected lower bound.
        min: i8,
        /// The rejected upper bound.
        max: i8,
    },
    /// A symmetric `i8` weight equals `-128`; the spec restricts weights to `[-127, 127]`.
    WeightOutOfRange {
        /// Index of the first offending weight.
        index: usize,
    },
    /// A bias scale differs from `input_scale · weight_scale` by more than TFLite tolerates
    /// (`|input_scale · weight_scale − bias_scale| / output_scale > 0.02`).
    BiasScaleMismatch,
    /// An output slice is not as long as its input slice.
    LengthMismatch {
        /// Which argument has the wrong length (always `"output"` here).
        what: &'static str,
        /// The length it must have: the input's.
        expected: usize,
        /// The length it has.
        actual: usize,
    },
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NonPositiveScale => f.write_str("quantization scale must be > 0"),
            Self::NonFiniteScale => f.write_str("quantization scale must be finite"),
            Self::ZeroPointOutOfRange { zero_point } => {
                write!(
                    f,
                    "zero point {zero_point} is out of range for its tensor type"
                )
            }
            Self::MultiplierOutOfRange => {
                f.write_str("requantization multiplier must be finite and >= 0")
            }
            Self::ShiftOutOfRange { shift } => {
                write!(f, "requantization shift {shift} is outside [-31, 30]")
            }
            Self::InvalidActivationRange { min, max } => {
                write!(f, "activation range min {min} is greater than max {max}")
            }
            Self::WeightOutOfRange { index } => {
                write!(
                    f,
                    "weight at index {index} is -128; int8 weights must be in [-127, 127]"
                )
            }
            Self::BiasScaleMismatch => {
                f.write_str("bias scale does not match input_scale * weight_scale")
            }
            Self::LengthMismatch {
                what,
                expected,
                actual,
            } => write!(f, "{what} has length {actual}, expected {expected}"),
        }
    }
}

impl core::error::Error for QuantError {}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::QuantError;
    use std::string::ToString;

    #[test]
    fn display_names_the_offending_value() {
        assert_eq!(
            QuantError::ZeroPointOutOfRange { zero_point: 200 }.to_string(),
            "zero point 200 is out of range for its tensor type"
        );
        assert_eq!(
            QuantError::ShiftOutOfRange { shift: 31 }.to_string(),
            "requantization shift 31 is outside [-31, 30]"
        );
        assert_eq!(
            QuantError::LengthMismatch {
                what: "output",
                expected: 3,
                actual: 2
            }
            .to_string(),
            "output has length 2, expected 3"
        );
    }
}
