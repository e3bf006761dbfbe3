//! The quantization parameters of an int8 convolution or dense layer, and the bound that keeps
//! its `i32` accumulator from overflowing.

use super::params::ActivationRange;
use super::requantize::{QuantizedMultiplier, Rounding, requantize_to_i8};
use crate::error::{Error, check_len};

/// The largest magnitude of one product `(x − input_zero_point) · w` of an int8 layer:
/// `|x − zp| ≤ 255` (e.g. `x = 127`, `zp = −128`) and `|w| ≤ 128`.
///
/// TFLite's weights are in `[-127, 127]`; the bound admits `-128` too, so weights need no
/// per-call scan.
pub const MAX_ABS_PRODUCT: u64 = 255 * 128;

/// The accumulator bound of an int8 layer: every partial sum of
/// `acc = bias + Σ_{k < patch_len} (x_k − input_zero_point) · w_k` fits `i32` when
///
/// ```text
/// patch_len · 255 · 128 + |bias| ≤ i32::MAX = 2^31 − 1
/// ```
///
/// (`patch_len = kh · kw · c_in` for a convolution, the input length for a dense layer). Without
/// bias that allows `patch_len ≤ 65 793`; LeNet's largest layer has 400.
///
/// ```
/// use tinyconv::{Error, quant::check_accumulator};
/// assert_eq!(check_accumulator(5 * 5 * 6, 1 << 20), Ok(()));
/// assert_eq!(check_accumulator(65_793, 0), Ok(()));
/// assert_eq!(check_accumulator(65_794, 0), Err(Error::AccumulatorOverflow));
/// assert_eq!(check_accumulator(1, i32::MAX as u32), Err(Error::AccumulatorOverflow));
/// ```
///
/// # Errors
/// [`Error::AccumulatorOverflow`] when the bound does not hold.
pub const fn check_accumulator(patch_len: usize, max_abs_bias: u32) -> Result<(), Error> {
    let products = (patch_len as u64).saturating_mul(MAX_ABS_PRODUCT);
    if products.saturating_add(max_abs_bias as u64) <= i32::MAX as u64 {
        Ok(())
    } else {
        Err(Error::AccumulatorOverflow)
    }
}

/// The largest `|b|` of a bias slice (0 for an empty one), as `u32` (`|i32::MIN| = 2^31`).
pub const fn max_abs_bias(bias: &[i32]) -> u32 {
    let mut m = 0;
    let mut i = 0;
    while i < bias.len() {
        let a = bias[i].unsigned_abs();
        if a > m {
            m = a;
        }
        i += 1;
    }
    m
}

/// The quantization parameters of an int8 convolution or dense layer, as the runtime-shape
/// kernels take them (TFLite's int8 spec):
///
/// ```text
/// acc[o]  = bias[o] + Σ (x − input_zero_point) · w[o]         (i32; padded taps contribute 0)
/// out[o]  = clamp(MultiplyByQuantizedMultiplier(acc[o], multipliers[o]) + output_zero_point,
///                 range.min, range.max)
/// ```
///
/// - `input_zero_point`, `output_zero_point`: the activations' zero points, `[-128, 127]`.
/// - `multipliers`: `M[o] = input_scale · weight_scale[o] / output_scale` as
///   [`QuantizedMultiplier`]s (see [`requant_multiplier`](super::requant_multiplier)); one per
///   output channel, or a single one for per-tensor quantization.
/// - `bias`: `i32`, scale `input_scale · weight_scale[o]`, zero point 0; one per output channel.
/// - `range`: the fused activation ([`ActivationRange::relu`], [`ActivationRange::relu6`], or
///   [`ActivationRange::none`]).
/// - `rounding`: TFLite's default double rounding, or single rounding.
///
/// Weights are symmetric (zero point 0), `[C_out][..]` as the f32 layers. Kernels validate the
/// lengths against the geometry and the [accumulator bound](check_accumulator) on every call.
///
/// ```
/// use tinyconv::quant::{ActivationRange, LayerParamsI8, QuantParams, quantize_multiplier};
/// let out = QuantParams::new(0.05, -20)?;
/// let m = [quantize_multiplier(0.01)?; 2];
/// let p = LayerParamsI8::new(3, out.zero_point(), &m, Some(&[100, -100]))
///     .with_range(ActivationRange::relu(out));
/// assert_eq!(p.requantize(0, 1234), -8); // 12.34 → 12, −20 → −8
/// assert_eq!(p.requantize(0, -5000), -20); // clamped to the ReLU floor (the zero point)
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerParamsI8<'a> {
    /// Zero point of the input activations.
    pub input_zero_point: i8,
    /// Zero point of the output activations.
    pub output_zero_point: i8,
    /// Requantization multipliers, one per output channel or one for all.
    pub multipliers: &'a [QuantizedMultiplier],
    /// Bias per output channel (scale `input_scale · weight_scale[o]`), if any.
    pub bias: Option<&'a [i32]>,
    /// Fused activation as a clamp range on the output.
    pub range: ActivationRange,
    /// Rounding of the requantization.
    pub rounding: Rounding,
}

impl<'a> LayerParamsI8<'a> {
    /// Parameters with the given bias (`None`: the layer has none, as a TFLite op without a
    /// bias tensor), without activation ([`ActivationRange::none`]), with TFLite's default
    /// [`Rounding::Double`].
    pub const fn new(
        input_zero_point: i8,
        output_zero_point: i8,
        multipliers: &'a [QuantizedMultiplier],
        bias: Option<&'a [i32]>,
    ) -> Self {
        LayerParamsI8 {
            input_zero_point,
            output_zero_point,
            multipliers,
            bias,
            range: ActivationRange::none(),
            rounding: Rounding::Double,
        }
    }

    /// The same parameters with a fused activation range.
    pub const fn with_range(mut self, range: ActivationRange) -> Self {
        self.range = range;
        self
    }

    /// The same parameters with another rounding.
    pub const fn with_rounding(mut self, rounding: Rounding) -> Self {
        self.rounding = rounding;
        self
    }

    /// Validates the parameters for a layer of `out_c` outputs whose dot products are
    /// `patch_len` long.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] for `multipliers` (neither 1 nor `out_c` long) or `bias` (not
    /// `out_c` long); [`Error::AccumulatorOverflow`] when [`check_accumulator`] fails.
    pub fn check(&self, out_c: usize, patch_len: usize) -> Result<(), Error> {
        if self.multipliers.len() != 1 {
            check_len("multipliers", out_c, self.multipliers.len())?;
        }
        let mut max_bias = 0;
        if let Some(b) = self.bias {
            check_len("bias", out_c, b.len())?;
            max_bias = max_abs_bias(b);
        }
        check_accumulator(patch_len, max_bias)
    }

    /// `-input_zero_point`, the offset added to every input value inside the image.
    #[inline(always)]
    pub const fn input_offset(&self) -> i32 {
        -(self.input_zero_point as i32)
    }

    /// The bias of output channel `o` (0 without bias).
    ///
    /// # Panics
    /// If `o` is out of range of a bias that [`check`](Self::check) accepted for fewer channels.
    #[inline(always)]
    pub fn bias(&self, o: usize) -> i32 {
        match self.bias {
            Some(b) => b[o],
            None => 0,
        }
    }

    /// The output stage for channel `o`: requantizes the accumulator `acc` (bias included) and
    /// clamps it to the activation range.
    ///
    /// # Panics
    /// If `o` is out of range of multipliers that [`check`](Self::check) accepted for fewer
    /// channels.
    #[inline(always)]
    pub fn requantize(&self, o: usize, acc: i32) -> i8 {
        let m = if self.multipliers.len() == 1 {
            self.multipliers[0]
        } else {
            self.multipliers[o]
        };
        requantize_to_i8(acc, m, self.output_zero_point, self.range, self.rounding)
    }
}
