//! Validated quantization parameters: activation params, per-channel weight scales, bias
//! scales, requantization multipliers and fused-activation ranges.
//!
//! Every type here is checked on construction, so a kernel that receives one never has to
//! re-validate it. All constructors are `const fn`: a model whose parameters are constants
//! gets them checked, and its requantization multipliers computed, at compile time.

use super::QuantError;
use super::convert::round_to_i32;
use super::requantize::{QuantizedMultiplier, quantize_multiplier};

/// Checks one quantization scale: finite and `> 0`.
///
/// Subnormal positive scales are accepted (TFLite accepts them); `-0.0` is rejected.
///
/// # Errors
/// - [`QuantError::NonFiniteScale`] for NaN or `±∞`.
/// - [`QuantError::NonPositiveScale`] for `≤ 0` (`-0.0` included).
///
/// # Example
/// ```
/// use tinyconv::quant::{QuantError, check_scale};
///
/// assert_eq!(check_scale(0.02), Ok(()));
/// assert_eq!(check_scale(0.0), Err(QuantError::NonPositiveScale));
/// assert_eq!(check_scale(f32::NAN), Err(QuantError::NonFiniteScale));
/// ```
pub const fn check_scale(scale: f32) -> Result<(), QuantError> {
    if !scale.is_finite() {
        return Err(QuantError::NonFiniteScale);
    }
    if scale <= 0.0 {
        return Err(QuantError::NonPositiveScale);
    }
    Ok(())
}

/// Quantization parameters of an `i8` activation tensor (asymmetric, per tensor):
/// `real = scale · (q − zero_point)`.
///
/// Invariants: `scale` finite and `> 0`; `zero_point ∈ [-128, 127]` (held as `i8`).
///
/// # Example
/// ```
/// use tinyconv::quant::{QuantError, QuantParams};
///
/// let p = QuantParams::new(0.5, -3)?;
/// assert_eq!((p.scale(), p.zero_point()), (0.5, -3));
/// assert_eq!(QuantParams::new(0.5, 128), Err(QuantError::ZeroPointOutOfRange { zero_point: 128 }));
/// assert_eq!(QuantParams::new(-0.5, 0), Err(QuantError::NonPositiveScale));
/// # Ok::<(), QuantError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantParams {
    scale: f32,
    zero_point: i8,
}

impl QuantParams {
    /// Checked constructor. `zero_point` is an `i32` because model files store it so.
    ///
    /// # Errors
    /// - [`QuantError::NonFiniteScale`] / [`QuantError::NonPositiveScale`] for a scale that is
    ///   not finite and `> 0`.
    /// - [`QuantError::ZeroPointOutOfRange`] for a zero point outside `[-128, 127]`.
    pub const fn new(scale: f32, zero_point: i32) -> Result<Self, QuantError> {
        if let Err(e) = check_scale(scale) {
            return Err(e);
        }
        if zero_point < i8::MIN as i32 || zero_point > i8::MAX as i32 {
            return Err(QuantError::ZeroPointOutOfRange { zero_point });
        }
        Ok(Self {
            scale,
            zero_point: zero_point as i8,
        })
    }

    /// The scale: finite, `> 0`.
    #[inline]
    #[must_use]
    pub const fn scale(self) -> f32 {
        self.scale
    }

    /// The zero point, in `[-128, 127]`.
    #[inline]
    #[must_use]
    pub const fn zero_point(self) -> i8 {
        self.zero_point
    }
}

/// Checks a symmetric weight zero point: the spec requires exactly `0`.
///
/// # Errors
/// [`QuantError::ZeroPointOutOfRange`] for any other value.
///
/// # Example
/// ```
/// use tinyconv::quant::check_weight_zero_point;
///
/// assert!(check_weight_zero_point(0).is_ok());
/// assert!(check_weight_zero_point(3).is_err());
/// ```
pub const fn check_weight_zero_point(zero_point: i32) -> Result<(), QuantError> {
    if zero_point != 0 {
        return Err(QuantError::ZeroPointOutOfRange { zero_point });
    }
    Ok(())
}

/// Checks symmetric `i8` weights: every value in `[-127, 127]`.
///
/// The spec excludes `-128` so that weights are symmetric around 0; TFLite's converter never
/// produces it and some optimized kernels rely on it (e.g. to negate without overflow).
///
/// # Errors
/// [`QuantError::WeightOutOfRange`] with the index of the first `-128`.
///
/// # Example
/// ```
/// use tinyconv::quant::{QuantError, check_weights_i8};
///
/// assert_eq!(check_weights_i8(&[-127, 0, 127]), Ok(()));
/// assert_eq!(check_weights_i8(&[1, -128]), Err(QuantError::WeightOutOfRange { index: 1 }));
/// ```
pub const fn check_weights_i8(weights: &[i8]) -> Result<(), QuantError> {
    let mut index = 0;
    while index < weights.len() {
        if weights[index] == i8::MIN {
            return Err(QuantError::WeightOutOfRange { index });
        }
        index += 1;
    }
    Ok(())
}

/// Per-output-channel weight scales (symmetric weights, zero point 0), one per channel.
///
/// Invariant: every scale finite and `> 0`. Per-tensor weights are `PerChannelScales<1>`
/// broadcast by the kernel, or `C` copies of the one scale.
///
/// # Example
/// ```
/// use tinyconv::quant::{PerChannelScales, QuantParams};
///
/// // Checked at compile time.
/// const SCALES: PerChannelScales<2> = match PerChannelScales::new([0.003, 0.00390625]) {
///     Ok(s) => s,
///     Err(_) => panic!("bad weight scales"),
/// };
/// let input = QuantParams::new(0.5, -1)?;
/// let output = QuantParams::new(0.25, 3)?;
/// let m = SCALES.requant_multipliers(input, output)?;
/// // Channel 1: 0.5 · 2^-8 / 0.25 = 2^-7 = 0.5 · 2^-6 → (2^30, −6)
/// assert_eq!((m[1].multiplier(), m[1].shift()), (1 << 30, -6));
/// assert_eq!(SCALES.bias_scale(input, 1), Some(0.001953125)); // 0.5 · 2^-8
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PerChannelScales<const C: usize> {
    scales: [f32; C],
}

impl<const C: usize> PerChannelScales<C> {
    /// Checked constructor.
    ///
    /// # Errors
    /// [`QuantError::NonFiniteScale`] / [`QuantError::NonPositiveScale`] for the first scale
    /// that is not finite and `> 0`.
    pub const fn new(scales: [f32; C]) -> Result<Self, QuantError> {
        let mut c = 0;
        while c < C {
            if let Err(e) = check_scale(scales[c]) {
                return Err(e);
            }
            c += 1;
        }
        Ok(Self { scales })
    }

    /// All scales, by output channel.
    #[inline]
    #[must_use]
    pub const fn as_array(&self) -> &[f32; C] {
        &self.scales
    }

    /// The scale of output channel `channel`, or `None` if `channel >= C`.
    #[inline]
    #[must_use]
    pub const fn get(&self, channel: usize) -> Option<f32> {
        if channel < C {
            Some(self.scales[channel])
        } else {
            None
        }
    }

    /// The bias scale of output channel `channel`: `input.scale() · scale[channel]`
    /// (see [`bias_scale`]), or `None` if `channel >= C`.
    #[inline]
    #[must_use]
    pub const fn bias_scale(&self, input: QuantParams, channel: usize) -> Option<f32> {
        match self.get(channel) {
            Some(weight_scale) => Some(bias_scale(input.scale(), weight_scale)),
            None => None,
        }
    }

    /// The requantization multiplier of every output channel, as [`requant_multiplier`]
    /// computes it (TFLite's `PopulateConvolutionQuantizationParams`).
    ///
    /// # Errors
    /// [`QuantError::ShiftOutOfRange`] if a channel's multiplier is `≥ 2^30` or so (see
    /// [`quantize_multiplier`]).
    pub const fn requant_multipliers(
        &self,
        input: QuantParams,
        output: QuantParams,
    ) -> Result<[QuantizedMultiplier; C], QuantError> {
        let mut multipliers = [QuantizedMultiplier::ZERO; C];
        let mut c = 0;
        while c < C {
            match requant_multiplier(input.scale(), self.scales[c], output.scale()) {
                Ok(m) => multipliers[c] = m,
                Err(e) => return Err(e),
            }
            c += 1;
        }
        Ok(multipliers)
    }
}

/// Per-channel requantization multipliers when the channel count is known only at run time
/// (e.g. a model read from a file): `out[c] = requant_multiplier(input_scale, weight_scales[c],
/// output_scale)`, the slice form of [`PerChannelScales::requant_multipliers`].
///
/// ```
/// use tinyconv::quant::{QuantParams, QuantizedMultiplier, requant_multiplier, requant_multipliers_into};
/// let (input, output) = (QuantParams::new(0.02, 0)?, QuantParams::new(0.1, 0)?);
/// let scales = vec![0.01f32, 0.005, 0.002];
/// let mut m = vec![QuantizedMultiplier::ZERO; scales.len()];
/// requant_multipliers_into(input, &scales, output, &mut m)?;
/// assert_eq!(m[1], requant_multiplier(0.02, 0.005, 0.1)?);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
///
/// # Errors
/// [`QuantError`] for a weight scale that is not positive and finite or a multiplier outside
/// TFLite's range; [`QuantError::LengthMismatch`] if `out` is not as long as `weight_scales`.
pub const fn requant_multipliers_into(
    input: QuantParams,
    weight_scales: &[f32],
    output: QuantParams,
    out: &mut [QuantizedMultiplier],
) -> Result<(), QuantError> {
    if out.len() != weight_scales.len() {
        return Err(QuantError::LengthMismatch {
            what: "output",
            expected: weight_scales.len(),
            actual: out.len(),
        });
    }
    let mut c = 0;
    while c < weight_scales.len() {
        match requant_multiplier(input.scale(), weight_scales[c], output.scale()) {
            Ok(m) => out[c] = m,
            Err(e) => return Err(e),
        }
        c += 1;
    }
    Ok(())
}

/// The scale of an `i32` bias: `input_scale · weight_scale` (computed in `f32`), zero point 0.
///
/// With this scale the bias adds directly to the accumulator `Σ (in − in_zp) · w`.
///
/// # Example
/// ```
/// use tinyconv::quant::bias_scale;
///
/// assert_eq!(bias_scale(0.5, 0.25), 0.125);
/// ```
#[inline]
#[must_use]
pub const fn bias_scale(input_scale: f32, weight_scale: f32) -> f32 {
    input_scale * weight_scale
}

/// Checks a bias scale stored in a model against `input_scale · weight_scale`, with TFLite's
/// tolerance (`GetQuantizedConvolutionMultipler`):
/// `|input_scale · weight_scale − bias_scale| / output_scale ≤ 0.02`, in `f64`.
///
/// # Errors
/// - A scale error for any scale that is not finite and `> 0`.
/// - [`QuantError::BiasScaleMismatch`] if the tolerance is exceeded.
///
/// # Example
/// ```
/// use tinyconv::quant::{QuantError, check_bias_scale};
///
/// assert_eq!(check_bias_scale(0.125, 0.5, 0.25, 1.0), Ok(()));
/// assert_eq!(check_bias_scale(0.2, 0.5, 0.25, 1.0), Err(QuantError::BiasScaleMismatch));
/// ```
pub const fn check_bias_scale(
    bias_scale: f32,
    input_scale: f32,
    weight_scale: f32,
    output_scale: f32,
) -> Result<(), QuantError> {
    let scales = [bias_scale, input_scale, weight_scale, output_scale];
    let mut i = 0;
    while i < scales.len() {
        if let Err(e) = check_scale(scales[i]) {
            return Err(e);
        }
        i += 1;
    }
    let product = input_scale as f64 * weight_scale as f64;
    let difference = (product - bias_scale as f64).abs();
    if difference / output_scale as f64 > 0.02 {
        return Err(QuantError::BiasScaleMismatch);
    }
    Ok(())
}

/// The requantization multiplier of a conv / depthwise conv / per-channel fully connected
/// output channel, as TFLite's `PopulateConvolutionQuantizationParams` computes it:
///
/// ```text
/// M = (input_scale as f64) · (weight_scale as f64) / (output_scale as f64)
/// ```
///
/// then [`quantize_multiplier`]`(M)`. The product and quotient are in `f64`, in this order,
/// so the significand matches TFLite's bit for bit.
///
/// # Errors
/// - A scale error for any scale that is not finite and `> 0`.
/// - [`QuantError::ShiftOutOfRange`] if `M` is about `2^30` or more.
///
/// # Example
/// ```
/// use tinyconv::quant::requant_multiplier;
///
/// // 0.5 · 0.25 / 0.5 = 0.25 = 0.5 · 2^-1 → (2^30, -1)
/// let m = requant_multiplier(0.5, 0.25, 0.5)?;
/// assert_eq!((m.multiplier(), m.shift()), (1 << 30, -1));
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
pub const fn requant_multiplier(
    input_scale: f32,
    weight_scale: f32,
    output_scale: f32,
) -> Result<QuantizedMultiplier, QuantError> {
    if let Err(e) = check_three_scales(input_scale, weight_scale, output_scale) {
        return Err(e);
    }
    quantize_multiplier(input_scale as f64 * weight_scale as f64 / output_scale as f64)
}

/// The requantization multiplier of a *per-tensor* fully connected layer, as TFLite's
/// `GetQuantizedConvolutionMultipler` computes it: the scale product is rounded to `f32`
/// first,
///
/// ```text
/// M = ((input_scale · weight_scale) as f64) / (output_scale as f64)
/// ```
///
/// This can differ from [`requant_multiplier`] in the last bits of the significand, so use it
/// where bit-exactness with TFLite's per-tensor FULLY_CONNECTED matters.
///
/// # Errors
/// - A scale error for any scale that is not finite and `> 0`.
/// - [`QuantError::MultiplierOutOfRange`] if the `f32` product overflows to `∞`.
/// - [`QuantError::ShiftOutOfRange`] if `M` is about `2^30` or more.
///
/// # Example
/// ```
/// use tinyconv::quant::{requant_multiplier, requant_multiplier_f32_product};
///
/// let conv = requant_multiplier(0.1, 0.3, 0.7)?;
/// let dense = requant_multiplier_f32_product(0.1, 0.3, 0.7)?;
/// assert_eq!(conv.shift(), dense.shift());
/// assert!((conv.multiplier() - dense.multiplier()).abs() < 300);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
pub const fn requant_multiplier_f32_product(
    input_scale: f32,
    weight_scale: f32,
    output_scale: f32,
) -> Result<QuantizedMultiplier, QuantError> {
    if let Err(e) = check_three_scales(input_scale, weight_scale, output_scale) {
        return Err(e);
    }
    quantize_multiplier((input_scale * weight_scale) as f64 / output_scale as f64)
}

const fn check_three_scales(a: f32, b: f32, c: f32) -> Result<(), QuantError> {
    if let Err(e) = check_scale(a) {
        return Err(e);
    }
    if let Err(e) = check_scale(b) {
        return Err(e);
    }
    check_scale(c)
}

/// The clamp range of an `i8` output after a fused activation: `out = clamp(v, min, max)`.
///
/// Invariant: `min <= max`. The constructors for fused activations follow TFLite's
/// `CalculateActivationRangeQuantized`: each bound is the activation's real bound quantized
/// with the output params, `zero_point + round(bound / scale)` (`f32` division, rounding half
/// away from zero), clamped to `[-128, 127]`.
///
/// # Example
/// ```
/// use tinyconv::quant::{ActivationRange, QuantParams};
///
/// let out = QuantParams::new(0.05, -20)?;
/// let r = ActivationRange::relu6(out);
/// // min = −20 + round(0 / 0.05) = −20; max = −20 + round(6 / 0.05) = −20 + 120 = 100
/// assert_eq!((r.min(), r.max()), (-20, 100));
/// assert_eq!(r.clamp(500), 100);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActivationRange {
    min: i8,
    max: i8,
}

impl ActivationRange {
    /// Checked constructor for an explicit range.
    ///
    /// # Errors
    /// [`QuantError::InvalidActivationRange`] if `min > max`.
    ///
    /// # Example
    /// ```
    /// use tinyconv::quant::{ActivationRange, QuantError};
    ///
    /// assert!(ActivationRange::new(-5, -5).is_ok());
    /// assert_eq!(
    ///     ActivationRange::new(3, 2),
    ///     Err(QuantError::InvalidActivationRange { min: 3, max: 2 })
    /// );
    /// ```
    pub const fn new(min: i8, max: i8) -> Result<Self, QuantError> {
        if min > max {
            return Err(QuantError::InvalidActivationRange { min, max });
        }
        Ok(Self { min, max })
    }

    /// No fused activation: the whole `i8` range `[-128, 127]`.
    #[inline]
    #[must_use]
    pub const fn none() -> Self {
        Self {
            min: i8::MIN,
            max: i8::MAX,
        }
    }

    /// Fused ReLU: `[max(-128, zp + round(0 / scale)), 127] = [zp, 127]`.
    #[inline]
    #[must_use]
    pub const fn relu(output: QuantParams) -> Self {
        Self {
            min: quantize_bound(0.0, output),
            max: i8::MAX,
        }
    }

    /// Fused ReLU6: `[zp, min(127, zp + round(6 / scale))]`.
    ///
    /// TFLite (recent versions) fails when `round(6 / scale)` exceeds `i32`; this saturates,
    /// which gives the same `max = 127` the bound would clamp to anyway.
    #[inline]
    #[must_use]
    pub const fn relu6(output: QuantParams) -> Self {
        Self {
            min: quantize_bound(0.0, output),
            max: quantize_bound(6.0, output),
        }
    }

    /// Fused ReLU_N1_TO_1: `[max(-128, zp + round(-1 / scale)), min(127, zp + round(1 / scale))]`.
    #[inline]
    #[must_use]
    pub const fn relu_n1_to_1(output: QuantParams) -> Self {
        Self {
            min: quantize_bound(-1.0, output),
            max: quantize_bound(1.0, output),
        }
    }

    /// The lower bound.
    #[inline]
    #[must_use]
    pub const fn min(self) -> i8 {
        self.min
    }

    /// The upper bound.
    #[inline]
    #[must_use]
    pub const fn max(self) -> i8 {
        self.max
    }

    /// `clamp(value, min, max)` as `i8`.
    #[inline]
    #[must_use]
    pub const fn clamp(self, value: i32) -> i8 {
        if value < self.min as i32 {
            self.min
        } else if value > self.max as i32 {
            self.max
        } else {
            value as i8
        }
    }
}

impl Default for ActivationRange {
    /// [`ActivationRange::none`].
    fn default() -> Self {
        Self::none()
    }
}

/// `clamp(zp + round(bound / scale), -128, 127)`: a real activation bound in the output's
/// integer domain. Because the rounding is odd-symmetric and monotone, the bounds of ReLU6
/// and ReLU_N1_TO_1 never cross: `min <= max` holds by construction.
const fn quantize_bound(bound: f32, output: QuantParams) -> i8 {
    let q = round_to_i32(bound / output.scale()).saturating_add(output.zero_point() as i32);
    ActivationRange::none().clamp(q)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;

    fn params(scale: f32, zero_point: i32) -> QuantParams {
        QuantParams::new(scale, zero_point).unwrap()
    }

    #[test]
    fn quant_params_rejects_bad_scales_and_zero_points() {
        assert_eq!(QuantParams::new(0.0, 0), Err(QuantError::NonPositiveScale));
        assert_eq!(QuantParams::new(-0.0, 0), Err(QuantError::NonPositiveScale));
        assert_eq!(QuantParams::new(-1.0, 0), Err(QuantError::NonPositiveScale));
        assert_eq!(
            QuantParams::new(f32::NAN, 0),
            Err(QuantError::NonFiniteScale)
        );
        assert_eq!(
            QuantParams::new(f32::INFINITY, 0),
            Err(QuantError::NonFiniteScale)
        );
        assert_eq!(
            QuantParams::new(f32::NEG_INFINITY, 0),
            Err(QuantError::NonFiniteScale)
        );
        assert_eq!(
            QuantParams::new(1.0, -129),
            Err(QuantError::ZeroPointOutOfRange { zero_point: -129 })
        );
        assert_eq!(
            QuantParams::new(1.0, i32::MAX),
            Err(QuantError::ZeroPointOutOfRange {
                zero_point: i32::MAX
            })
        );
        // A bad scale is reported before a bad zero point.
        assert_eq!(
            QuantParams::new(0.0, 1000),
            Err(QuantError::NonPositiveScale)
        );
        let p = params(f32::MIN_POSITIVE / 4.0, -128);
        assert_eq!((p.scale(), p.zero_point()), (f32::MIN_POSITIVE / 4.0, -128));
        assert_eq!(params(f32::MAX, 127).zero_point(), 127);
    }

    #[test]
    fn weights_and_weight_zero_points() {
        assert_eq!(check_weights_i8(&[]), Ok(()));
        assert_eq!(check_weights_i8(&[-127, 127, 0]), Ok(()));
        assert_eq!(
            check_weights_i8(&[0, 5, -128, -128]),
            Err(QuantError::WeightOutOfRange { index: 2 })
        );
        assert_eq!(check_weight_zero_point(0), Ok(()));
        assert_eq!(
            check_weight_zero_point(-1),
            Err(QuantError::ZeroPointOutOfRange { zero_point: -1 })
        );
    }

    #[test]
    fn per_channel_scales() {
        assert_eq!(
            PerChannelScales::new([0.1, 0.0, f32::NAN]),
            Err(QuantError::NonPositiveScale)
        );
        assert_eq!(
            PerChannelScales::new([0.1, f32::INFINITY]),
            Err(QuantError::NonFiniteScale)
        );
        let empty = PerChannelScales::<0>::new([]).unwrap();
        assert_eq!(empty.get(0), None);
        let scales = PerChannelScales::new([0.5, 0.25, 2.0]).unwrap();
        assert_eq!(scales.as_array(), &[0.5, 0.25, 2.0]);
        assert_eq!(scales.get(1), Some(0.25));
        assert_eq!(scales.get(3), None);
        let input = params(0.5, 7);
        let output = params(0.125, -3);
        // bias scale = 0.5 · 0.25 = 0.125.
        assert_eq!(scales.bias_scale(input, 1), Some(0.125));
        assert_eq!(scales.bias_scale(input, 3), None);
        // M[c] = 0.5 · s[c] / 0.125 = 4 · s[c] = 2, 1, 8 → (2^30, 2), (2^30, 1), (2^30, 4).
        let m = scales.requant_multipliers(input, output).unwrap();
        let parts: std::vec::Vec<_> = m.iter().map(|m| (m.multiplier(), m.shift())).collect();
        assert_eq!(parts, [(1 << 30, 2), (1 << 30, 1), (1 << 30, 4)]);
        // A channel whose multiplier needs shift 31 fails the whole set.
        let huge = PerChannelScales::new([0.5, 1e30]).unwrap();
        assert_eq!(
            huge.requant_multipliers(input, output),
            Err(QuantError::ShiftOutOfRange { shift: 102 })
        );
    }

    #[test]
    fn requant_multiplier_is_const_and_uses_f64() {
        const M: QuantizedMultiplier = match requant_multiplier(0.5, 0.25, 0.5) {
            Ok(m) => m,
            Err(_) => panic!(),
        };
        // 0.5 · 0.25 / 0.5 = 0.25 → (2^30, −1).
        assert_eq!((M.multiplier(), M.shift()), (1 << 30, -1));
        // Same as quantize_multiplier of the f64 expression, evaluated in TFLite's order.
        let (i, w, o) = (0.013_f32, 0.002_7_f32, 0.091_f32);
        let expected = quantize_multiplier(f64::from(i) * f64::from(w) / f64::from(o)).unwrap();
        assert_eq!(requant_multiplier(i, w, o).unwrap(), expected);
        let expected_fc = quantize_multiplier(f64::from(i * w) / f64::from(o)).unwrap();
        assert_eq!(
            requant_multiplier_f32_product(i, w, o).unwrap(),
            expected_fc
        );
        // Scale errors.
        assert_eq!(
            requant_multiplier(0.0, 1.0, 1.0),
            Err(QuantError::NonPositiveScale)
        );
        assert_eq!(
            requant_multiplier(1.0, f32::NAN, 1.0),
            Err(QuantError::NonFiniteScale)
        );
        assert_eq!(
            requant_multiplier(1.0, 1.0, -1.0),
            Err(QuantError::NonPositiveScale)
        );
        // The f32 product can overflow where the f64 one does not.
        assert_eq!(
            requant_multiplier_f32_product(f32::MAX, 2.0, f32::MAX),
            Err(QuantError::MultiplierOutOfRange)
        );
        // f64: MAX · 2 / MAX = 2 = 0.5 · 2^2 → (2^30, 2).
        assert_eq!(
            requant_multiplier(f32::MAX, 2.0, f32::MAX).unwrap(),
            QuantizedMultiplier::new(1 << 30, 2).unwrap()
        );
        // A product that underflows in f32 gives the zero multiplier.
        assert_eq!(
            requant_multiplier_f32_product(1e-30, 1e-30, 1.0),
            Ok(QuantizedMultiplier::ZERO)
        );
    }

    #[test]
    fn bias_scale_check() {
        assert_eq!(bias_scale(0.5, 0.25), 0.125);
        // All values below are exact binary fractions. |0.125 − 0.109375| / 0.78125 =
        // 0.015625 / 0.78125 = 1/50: the tolerance itself (rounds to the same f64 as 0.02).
        assert_eq!(check_bias_scale(0.109_375, 0.5, 0.25, 0.781_25), Ok(()));
        assert_eq!(check_bias_scale(0.140_625, 0.5, 0.25, 0.781_25), Ok(()));
        // |0.125 − 0.09375| / 0.78125 = 0.04 > 0.02.
        assert_eq!(
            check_bias_scale(0.093_75, 0.5, 0.25, 0.781_25),
            Err(QuantError::BiasScaleMismatch)
        );
        assert_eq!(
            check_bias_scale(0.0, 0.5, 0.25, 0.25),
            Err(QuantError::NonPositiveScale)
        );
        assert_eq!(
            check_bias_scale(0.1, 0.5, 0.25, f32::NAN),
            Err(QuantError::NonFiniteScale)
        );
    }

    #[test]
    fn activation_range_hand_cases() {
        assert_eq!(ActivationRange::default(), ActivationRange::none());
        let none = ActivationRange::none();
        assert_eq!((none.min(), none.max()), (-128, 127));
        assert_eq!(none.clamp(i32::MIN), -128);
        assert_eq!(none.clamp(i32::MAX), 127);
        assert_eq!(none.clamp(-7), -7);

        // scale 6/255 ≈ 0.0235294, zp −128 (TFLite's usual ReLU6 output):
        // relu6 max = −128 + round(6 / (6/255)) = −128 + 255 = 127.
        let out = params(6.0 / 255.0, -128);
        let r = ActivationRange::relu6(out);
        assert_eq!((r.min(), r.max()), (-128, 127));
        // scale 0.1, zp 10: relu = [10, 127]; relu6 max = 10 + round(60) = 70 (6 / 0.1 in f32
        // is 60.000004 or 59.999996 — either rounds to 60);
        // relu_n1_to_1 = [10 + round(−10), 10 + round(10)] = [0, 20].
        let out = params(0.1, 10);
        let r = ActivationRange::relu(out);
        assert_eq!((r.min(), r.max()), (10, 127));
        let r = ActivationRange::relu6(out);
        assert_eq!((r.min(), r.max()), (10, 70));
        let r = ActivationRange::relu_n1_to_1(out);
        assert_eq!((r.min(), r.max()), (0, 20));
        // scale 0.04, zp 0: 6 / 0.04 = 150 → 150 clamped to 127.
        let r = ActivationRange::relu6(params(0.04, 0));
        assert_eq!((r.min(), r.max()), (0, 127));
        // Half-way bounds round away from zero: scale 0.4, zp 0: 1 / 0.4 = 2.5 → 3, −2.5 → −3.
        let r = ActivationRange::relu_n1_to_1(params(0.4, 0));
        assert_eq!((r.min(), r.max()), (-3, 3));
        // zp 127: relu = [127, 127]; relu6 = [127, 127].
        let r = ActivationRange::relu6(params(0.5, 127));
        assert_eq!((r.min(), r.max()), (127, 127));
        // Tiny scale: 6 / 1e-30 overflows i32, saturates, clamps to 127.
        let r = ActivationRange::relu6(params(1e-30, -100));
        assert_eq!((r.min(), r.max()), (-100, 127));
        // Huge scale: 6 / 1e30 rounds to 0.
        let r = ActivationRange::relu6(params(1e30, -100));
        assert_eq!((r.min(), r.max()), (-100, -100));
        const RELU6: ActivationRange = ActivationRange::relu6(match QuantParams::new(0.05, -20) {
            Ok(p) => p,
            Err(_) => panic!(),
        });
        assert_eq!((RELU6.min(), RELU6.max()), (-20, 100));
    }

    fn any_params() -> impl Strategy<Value = QuantParams> {
        (
            prop_oneof![1e-6f32..10.0, 1e-38f32..1e-30, 1e20f32..1e38],
            -128i32..=127,
        )
            .prop_map(|(s, z)| params(s, z))
    }

    proptest! {
        #[test]
        fn fused_ranges_are_valid_and_match_tflite(out in any_params()) {
            // TFLite's quantize lambda: zp + (int)round(f / scale), in f32, then clamped.
            let q = |f: f32| -> i64 {
                let r = num_traits::float::Float::round(f / out.scale()) as i64;
                r.saturating_add(i64::from(out.zero_point())).clamp(-128, 127)
            };
            for (r, lo, hi) in [
                (ActivationRange::relu(out), q(0.0), 127),
                (ActivationRange::relu6(out), q(0.0), q(6.0)),
                (ActivationRange::relu_n1_to_1(out), q(-1.0), q(1.0)),
            ] {
                prop_assert!(r.min() <= r.max());
                prop_assert_eq!((i64::from(r.min()), i64::from(r.max())), (lo, hi));
                prop_assert_eq!(ActivationRange::new(r.min(), r.max()), Ok(r));
            }
        }

        #[test]
        fn activation_range_new_accepts_exactly_ordered_bounds(min in any::<i8>(), max in any::<i8>()) {
            match ActivationRange::new(min, max) {
                Ok(r) => {
                    prop_assert!(min <= max);
                    prop_assert_eq!((r.min(), r.max()), (min, max));
                }
                Err(e) => {
                    prop_assert!(min > max);
                    prop_assert_eq!(e, QuantError::InvalidActivationRange { min, max });
                }
            }
        }

        #[test]
        fn quant_params_accepts_exactly_valid_inputs(bits in any::<u32>(), zero_point in -300i32..300) {
            let scale = f32::from_bits(bits);
            let valid = scale.is_finite() && scale > 0.0 && (-128..=127).contains(&zero_point);
            prop_assert_eq!(QuantParams::new(scale, zero_point).is_ok(), valid);
        }
    }
}
