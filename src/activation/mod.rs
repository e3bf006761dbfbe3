//! Element-wise activations (f32), softmax, argmax and top-k, and the int8 activations with
//! TFLite's integer semantics.
//!
//! Activations are also fused into the outputs of convolution and dense layers: every f32 kernel
//! takes an [`Activation`] and applies it as it writes each output element.
//!
//! | module | op |
//! |---|---|
//! | [`logistic_tanh`] | LOGISTIC and TANH: int8 as TFLite's integer kernels (gemmlowp fixed point), f32 |
//! | [`softmax`](mod@softmax) | SOFTMAX over the last axis: int8 as TFLite's quantized kernel, f32 with `beta` |
//! | here | [`Activation`], [`clamp_i8`] (fused RELU/RELU6 in int8), [`ReluI8`] (RELU between two quantizations), [`argmax`], [`top_k`] |

pub mod logistic_tanh;
pub mod softmax;

pub use logistic_tanh::{LogisticI8, TanhI8, logistic_f32, logistic_i8, tanh_f32, tanh_i8};
pub use softmax::{SoftmaxI8, softmax_f32, softmax_i8};

use num_traits::Float;
use wide::f32x8;

use crate::error::{Error, check_len};
use crate::quant::{
    ActivationRange, QuantError, QuantParams, QuantizedMultiplier,
    multiply_by_quantized_multiplier, quantize_multiplier,
};

mod exp;

pub use exp::{exp, sigmoid, tanh};

/// An element-wise activation function, fused into a layer's output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `f(x) = x`.
    #[default]
    Identity,
    /// `f(x) = max(x, 0)`.
    Relu,
    /// `f(x) = min(max(x, 0), 6)`.
    Relu6,
    /// `f(x) = 1 / (1 + e^−x)`.
    Sigmoid,
    /// `f(x) = tanh(x)`.
    Tanh,
}

impl Activation {
    /// Applies the activation to one value. NaN stays NaN. Sigmoid and tanh are [`sigmoid`] and
    /// [`tanh`] (error bounds there).
    ///
    /// ```
    /// use tinyconv::Activation;
    /// assert_eq!(Activation::Relu6.apply(7.5), 6.0);
    /// assert_eq!(Activation::Sigmoid.apply(0.0), 0.5);
    /// ```
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            // `x.max(0.0)` would turn NaN into 0; keep NaN visible.
            Activation::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => tanh(x),
        }
    }

    /// Applies the activation in place to every element, eight at a time: the values of
    /// [`apply`](Self::apply), exactly for the clamps and within the error bounds of [`sigmoid`]
    /// and [`tanh`] for those (the vector code uses fused multiply-adds where the target has them).
    ///
    /// ```
    /// use tinyconv::Activation;
    /// let mut x = [-1.0f32, 0.0, 2.0];
    /// Activation::Sigmoid.apply_slice(&mut x);
    /// assert_eq!(x[1], 0.5);
    /// assert!((x[2] - Activation::Sigmoid.apply(2.0)).abs() <= f32::EPSILON);
    /// ```
    pub fn apply_slice(self, xs: &mut [f32]) {
        if self == Activation::Identity {
            return;
        }
        let (chunks, tail) = xs.as_chunks_mut::<8>();
        for c in chunks {
            *c = self.apply_f32x8(f32x8::from(*c)).to_array();
        }
        if !tail.is_empty() {
            // The tail through the same vector code, so a value never depends on its position.
            let mut v = [0.0f32; 8];
            v[..tail.len()].copy_from_slice(tail);
            let y = self.apply_f32x8(f32x8::from(v)).to_array();
            tail.copy_from_slice(&y[..tail.len()]);
        }
    }

    /// Applies the activation to eight lanes; NaN stays NaN.
    #[inline(always)]
    pub(crate) fn apply_f32x8(self, y: f32x8) -> f32x8 {
        let zero = f32x8::ZERO;
        match self {
            Activation::Identity => y,
            Activation::Relu => y.simd_lt(zero).bitselect(zero, y),
            Activation::Relu6 => {
                let six = f32x8::splat(6.0);
                let y = y.simd_lt(zero).bitselect(zero, y);
                y.simd_gt(six).bitselect(six, y)
            }
            Activation::Sigmoid => exp::sigmoid_f32x8(y),
            Activation::Tanh => exp::tanh_f32x8(y),
        }
    }

    /// For kernels whose output stage produces one value at a time: `(now, after)`, the part to
    /// apply per value and the part to apply afterwards to whole output rows with
    /// [`apply_slice`](Self::apply_slice). Sigmoid and tanh go after (eight lanes at a time,
    /// several times faster than one value at a time); the clamps stay where they are.
    #[inline]
    pub(crate) fn split_per_row(self) -> (Activation, Activation) {
        match self {
            Activation::Sigmoid | Activation::Tanh => (Activation::Identity, self),
            _ => (self, Activation::Identity),
        }
    }
}

/// Softmax in place: `x_i ← e^(x_i − max) / Σ_j e^(x_j − max)`.
///
/// # Errors
/// [`Error::Empty`] for an empty slice, [`Error::NonFinite`] if an element is NaN or infinite
/// (the slice is left unchanged).
///
/// ```
/// let mut x = [1.0f32, 1.0];
/// tinyconv::softmax(&mut x).unwrap();
/// assert_eq!(x, [0.5, 0.5]);
/// ```
pub fn softmax(xs: &mut [f32]) -> Result<(), Error> {
    let max = finite_max(xs)?;
    let mut sum = 0.0f32;
    for x in xs.iter_mut() {
        *x = Float::exp(*x - max);
        sum += *x;
    }
    // sum >= 1 because the maximum contributes e^0.
    for x in xs.iter_mut() {
        *x /= sum;
    }
    Ok(())
}

fn finite_max(xs: &[f32]) -> Result<f32, Error> {
    if xs.is_empty() {
        return Err(Error::Empty);
    }
    let mut max = f32::NEG_INFINITY;
    for &x in xs {
        if !x.is_finite() {
            return Err(Error::NonFinite);
        }
        max = max.max(x);
    }
    Ok(max)
}

/// Index of the largest element; the first one on ties.
///
/// # Errors
/// [`Error::Empty`] for an empty slice, [`Error::NonFinite`] if any element is NaN or infinite.
///
/// ```
/// assert_eq!(tinyconv::argmax(&[0.1f32, 3.0, 3.0, -1.0]), Ok(1));
/// assert!(tinyconv::argmax(&[0.1f32, f32::NAN]).is_err());
/// ```
pub fn argmax(xs: &[f32]) -> Result<usize, Error> {
    let max = finite_max(xs)?;
    Ok(xs.iter().position(|&x| x == max).unwrap_or(0))
}

/// Index of the largest element of an int8 slice; the first one on ties.
///
/// # Errors
/// [`Error::Empty`] for an empty slice.
pub fn argmax_i8(xs: &[i8]) -> Result<usize, Error> {
    let max = xs.iter().copied().max().ok_or(Error::Empty)?;
    Ok(xs.iter().position(|&x| x == max).unwrap_or(0))
}

/// int8 ReLU, ReLU6 or ReLU_N1_TO_1 in place, as the clamp `x ← clamp(x, range.min, range.max)`
/// (TFLite's int8 activation when input and output share scale and zero point, as after a
/// layer; build `range` with [`ActivationRange::relu`], [`ActivationRange::relu6`], ...).
/// Fused into a layer, the same clamp is its `range`. Sigmoid and tanh are lookup tables:
/// [`quant::sigmoid_table`](crate::quant::sigmoid_table),
/// [`quant::apply_table_in_place`](crate::quant::apply_table_in_place).
///
/// ```
/// use tinyconv::{activation::clamp_i8, quant::{ActivationRange, QuantParams}};
/// let p = QuantParams::new(0.05, -20)?; // ReLU6: [−20, −20 + 6 / 0.05] = [−20, 100]
/// let mut x = [-128i8, -20, 0, 100, 127];
/// clamp_i8(ActivationRange::relu6(p), &mut x);
/// assert_eq!(x, [-20, -20, 0, 100, 100]);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
pub fn clamp_i8(range: ActivationRange, data: &mut [i8]) {
    for x in data {
        *x = (*x).clamp(range.min(), range.max());
    }
}

/// int8 RELU from one quantization to another, as TensorFlow Lite Micro's `ReluQuantized`:
///
/// ```text
/// out = clamp(zp_out + MultiplyByQuantizedMultiplier(q − zp_in, s_in / s_out), zp_out, 127)
/// ```
///
/// with the multiplier from the `f32` quotient `s_in / s_out` (TFLite divides in `f32`, then
/// widens). When input and output share their quantization (a RELU fused after a layer) this
/// is [`clamp_i8`] with [`ActivationRange::relu`]; TFLite Micro's int8 RELU6 is always that
/// clamp ([`ActivationRange::relu6`] of the *input* quantization: it ignores the output's).
///
/// ```
/// use tinyconv::activation::ReluI8;
/// use tinyconv::quant::QuantParams;
/// let r = ReluI8::new(QuantParams::new(0.1, -10)?, QuantParams::new(0.05, -128)?)?;
/// let mut y = [0i8; 3];
/// r.run(&[-50, -10, 20], &mut y)?;
/// assert_eq!(y, [-128, -128, -68]); // 0.1 · 30 = 3.0 → 60 steps of 0.05 − 128
/// # Ok::<(), tinyconv::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReluI8 {
    input_zero_point: i8,
    output_zero_point: i8,
    multiplier: QuantizedMultiplier,
}

impl ReluI8 {
    /// From the input and output quantization.
    ///
    /// # Errors
    /// [`QuantError::ShiftOutOfRange`] if `s_in / s_out ≥ 2^30`.
    pub const fn new(input: QuantParams, output: QuantParams) -> Result<Self, QuantError> {
        match quantize_multiplier((input.scale() / output.scale()) as f64) {
            Ok(multiplier) => Ok(ReluI8 {
                input_zero_point: input.zero_point(),
                output_zero_point: output.zero_point(),
                multiplier,
            }),
            Err(e) => Err(e),
        }
    }

    /// One element.
    #[inline]
    #[must_use]
    pub const fn apply(&self, q: i8) -> i8 {
        let x = q as i32 - self.input_zero_point as i32;
        let v = multiply_by_quantized_multiplier(x, self.multiplier)
            .saturating_add(self.output_zero_point as i32);
        // TFLite: [max(−128, zp + round(0 / s_out)), 127] = [zp, 127].
        if v < self.output_zero_point as i32 {
            self.output_zero_point
        } else if v > 127 {
            127
        } else {
            v as i8
        }
    }

    /// RELU over a slice.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] unless `input` and `output` have the same length.
    pub fn run(&self, input: &[i8], output: &mut [i8]) -> Result<(), Error> {
        check_len("output", input.len(), output.len())?;
        for (y, &q) in output.iter_mut().zip(input) {
            *y = self.apply(q);
        }
        Ok(())
    }
}

/// The `K` largest elements as `(index, value)` pairs, largest first; ties keep the lower index
/// first. Returns `min(K, xs.len())` pairs.
///
/// # Errors
/// [`Error::NonFinite`] if any element is NaN or infinite.
///
/// ```
/// let top = tinyconv::top_k::<2>(&[0.1f32, 0.7, 0.2]).unwrap();
/// assert_eq!(top.as_slice(), &[(1, 0.7), (2, 0.2)]);
/// ```
pub fn top_k<const K: usize>(xs: &[f32]) -> Result<heapless::Vec<(usize, f32), K>, Error> {
    let mut top: heapless::Vec<(usize, f32), K> = heapless::Vec::new();
    if K == 0 {
        return Ok(top);
    }
    for (i, &x) in xs.iter().enumerate() {
        if !x.is_finite() {
            return Err(Error::NonFinite);
        }
        // Position of the first kept element strictly smaller than x (earlier indices win ties).
        let pos = top.iter().position(|&(_, v)| v < x).unwrap_or(top.len());
        if pos == K {
            continue;
        }
        if top.is_full() {
            top.pop();
        }
        // Cannot fail: one slot is free and pos <= len.
        let _ = top.insert(pos, (i, x));
    }
    Ok(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_family() {
        assert_eq!(Activation::Relu.apply(-2.0), 0.0);
        assert_eq!(Activation::Relu.apply(2.5), 2.5);
        assert_eq!(Activation::Relu6.apply(-1.0), 0.0);
        assert_eq!(Activation::Relu6.apply(3.0), 3.0);
        assert_eq!(Activation::Relu6.apply(6.5), 6.0);
        assert!(Activation::Relu.apply(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_and_tanh_within_1e_6() {
        for i in -200..=200 {
            let x = i as f32 / 10.0;
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            assert!(
                (Activation::Sigmoid.apply(x) as f64 - s).abs() < 1e-6,
                "{x}"
            );
            assert!((Activation::Tanh.apply(x) as f64 - (x as f64).tanh()).abs() < 1e-6);
        }
        assert_eq!(sigmoid(-200.0), 0.0);
        assert_eq!(sigmoid(200.0), 1.0);
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut x = [1.0f32, 2.0, 3.0, 1000.0];
        softmax(&mut x).unwrap();
        assert!((x.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(x[3] > 0.999);
        let mut y = [0.0f32, (2.0f32).ln()];
        softmax(&mut y).unwrap();
        assert!((y[0] - 1.0 / 3.0).abs() < 1e-6 && (y[1] - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(softmax(&mut []), Err(Error::Empty));
        let mut z = [1.0, f32::INFINITY];
        assert_eq!(softmax(&mut z), Err(Error::NonFinite));
        assert_eq!(z, [1.0, f32::INFINITY]);
    }

    #[test]
    fn argmax_first_of_ties_and_errors() {
        assert_eq!(argmax(&[1.0, 5.0, 5.0]), Ok(1));
        assert_eq!(argmax(&[]), Err(Error::Empty));
        assert_eq!(argmax(&[f32::NAN]), Err(Error::NonFinite));
        assert_eq!(argmax_i8(&[-3, 7, 7, -128]), Ok(1));
        assert_eq!(argmax_i8(&[]), Err(Error::Empty));
    }

    #[test]
    fn top_k_matches_sorting() {
        let xs = [0.3f32, -1.0, 0.3, 9.0, 2.0, 0.0];
        let t = top_k::<3>(&xs).unwrap();
        assert_eq!(t.as_slice(), &[(3, 9.0), (4, 2.0), (0, 0.3)]);
        let t = top_k::<10>(&xs).unwrap();
        assert_eq!(t.len(), 6);
        assert_eq!(t[5], (1, -1.0));
        assert_eq!(top_k::<0>(&xs).unwrap().len(), 0);
        assert_eq!(top_k::<2>(&[1.0, f32::NAN]), Err(Error::NonFinite));
    }
}
