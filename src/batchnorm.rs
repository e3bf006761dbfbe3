//! Batch-norm folding: a batch normalisation after a convolution (inference mode, per output
//! channel `o`),
//!
//! ```text
//! y = γ[o] · (conv(x)[o] − μ[o]) / √(σ²[o] + ε) + β[o]
//! ```
//!
//! is the same convolution with scaled filters and a new bias,
//!
//! ```text
//! w'[o] = w[o] · k[o],   b'[o] = (b[o] − μ[o]) · k[o] + β[o],   k[o] = γ[o] / √(σ²[o] + ε)
//! ```
//!
//! so a network exported with batch norm runs without it. The folding is `const fn` (weights
//! are folded at compile time) and computed in `f64`, rounded once to `f32`.

use crate::error::Error;

/// The parameters of an inference-mode batch normalisation over `C` channels (PyTorch's
/// `BatchNorm2d` / Keras' `BatchNormalization`): scale `γ` (`gamma`), shift `β` (`beta`),
/// running mean `μ`, running variance `σ²` and `ε`.
///
/// ```
/// use tinyconv::batchnorm::BatchNorm;
/// // A 1×1 convolution of 1 → 2 channels, folded at compile time.
/// const BN: BatchNorm<'static> = BatchNorm {
///     gamma: &[2.0, 1.0],
///     beta: &[0.5, 0.0],
///     mean: &[1.0, 0.0],
///     variance: &[3.0, 1.0],
///     epsilon: 1.0,
/// };
/// const FOLDED: ([f32; 2], [f32; 2]) = {
///     let mut w = [4.0, 3.0]; // [C_out][KH][KW][C_in]
///     let mut b = [1.0, -1.0];
///     match BN.fold_conv2d_f32(&mut w, &mut b) {
///         Ok(()) => (w, b),
///         Err(_) => panic!(),
///     }
/// };
/// // k = [2 / √4, 1 / √2] = [1, 0.7071...]
/// assert_eq!(FOLDED.0[0], 4.0);
/// assert_eq!(FOLDED.1[0], (1.0 - 1.0) * 1.0 + 0.5);
/// assert!((FOLDED.0[1] - 3.0 / 2f32.sqrt()).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm<'a> {
    /// `γ`, one per channel.
    pub gamma: &'a [f32],
    /// `β`, one per channel.
    pub beta: &'a [f32],
    /// Running mean `μ`, one per channel.
    pub mean: &'a [f32],
    /// Running variance `σ²`, one per channel.
    pub variance: &'a [f32],
    /// `ε` (PyTorch's default `1e-5`, Keras' `1e-3`).
    pub epsilon: f32,
}

impl BatchNorm<'_> {
    /// The number of channels (the length of `gamma`).
    pub const fn channels(&self) -> usize {
        self.gamma.len()
    }

    /// `k[o] = γ[o] / √(σ²[o] + ε)` in `f64`.
    ///
    /// # Panics
    /// If `o` is not below every parameter's length.
    pub const fn scale(&self, o: usize) -> f64 {
        self.gamma[o] as f64 / sqrt(self.variance[o] as f64 + self.epsilon as f64)
    }

    /// Checks the parameters for `out_c` channels.
    const fn check(&self, out_c: usize) -> Result<(), Error> {
        let lens = [
            ("gamma", self.gamma.len()),
            ("beta", self.beta.len()),
            ("mean", self.mean.len()),
            ("variance", self.variance.len()),
        ];
        let mut i = 0;
        while i < lens.len() {
            if lens[i].1 != out_c {
                return Err(Error::LengthMismatch {
                    what: lens[i].0,
                    expected: out_c,
                    actual: lens[i].1,
                });
            }
            i += 1;
        }
        let mut o = 0;
        while o < out_c {
            let v = self.variance[o] as f64 + self.epsilon as f64;
            if !(v > 0.0 && v.is_finite() && self.gamma[o].is_finite()) {
                return Err(Error::NonFinite);
            }
            o += 1;
        }
        Ok(())
    }

    /// `b'[o] = (b[o] − μ[o]) · k[o] + β[o]`.
    const fn fold_bias(&self, bias: &mut [f32]) {
        let mut o = 0;
        while o < bias.len() {
            bias[o] = ((bias[o] as f64 - self.mean[o] as f64) * self.scale(o) + self.beta[o] as f64)
                as f32;
            o += 1;
        }
    }

    /// Folds the batch norm into a convolution's (or dense layer's) filters `[C_out][...]` (each
    /// filter contiguous, `weights.len() / C_out` values) and bias, in place. A layer without
    /// bias has bias 0: pass zeros.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if a parameter or the bias is not `C_out` long or the weights
    /// are not a multiple of it; [`Error::NonFinite`] if `σ² + ε ≤ 0` or a value is not finite
    /// (nothing is written then).
    pub const fn fold_conv2d_f32(
        &self,
        weights: &mut [f32],
        bias: &mut [f32],
    ) -> Result<(), Error> {
        let out_c = self.channels();
        if let Err(e) = self.check_layer(out_c, weights.len(), bias.len()) {
            return Err(e);
        }
        let per = weights.len() / out_c;
        let mut i = 0;
        while i < weights.len() {
            weights[i] = (weights[i] as f64 * self.scale(i / per)) as f32;
            i += 1;
        }
        self.fold_bias(bias);
        Ok(())
    }

    /// Folds the batch norm into depthwise filters `[KH][KW][C·M]` (the output channel is the
    /// fastest index) and bias, in place.
    ///
    /// # Errors
    /// As [`fold_conv2d_f32`](Self::fold_conv2d_f32).
    pub const fn fold_depthwise_f32(
        &self,
        weights: &mut [f32],
        bias: &mut [f32],
    ) -> Result<(), Error> {
        let out_c = self.channels();
        if let Err(e) = self.check_layer(out_c, weights.len(), bias.len()) {
            return Err(e);
        }
        let mut i = 0;
        while i < weights.len() {
            weights[i] = (weights[i] as f64 * self.scale(i % out_c)) as f32;
            i += 1;
        }
        self.fold_bias(bias);
        Ok(())
    }

    const fn check_layer(&self, out_c: usize, weights: usize, bias: usize) -> Result<(), Error> {
        if let Err(e) = self.check(out_c) {
            return Err(e);
        }
        if bias != out_c {
            return Err(Error::LengthMismatch {
                what: "bias",
                expected: out_c,
                actual: bias,
            });
        }
        if out_c == 0 || !weights.is_multiple_of(out_c) {
            return Err(Error::LengthMismatch {
                what: "weights",
                expected: weights.next_multiple_of(if out_c == 0 { 1 } else { out_c }),
                actual: weights,
            });
        }
        Ok(())
    }
}

/// `√x` for `x > 0` in a `const fn` (`f64::sqrt` is not `const`): Newton's iteration from
/// above, which decreases monotonically to within one ulp.
const fn sqrt(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return x;
    }
    // Any positive start: one Newton step lands at or above √x (AM ≥ GM).
    let mut y = 0.5 * (x + 1.0);
    let mut n = 0;
    while n < 2000 {
        let next = 0.5 * (y + x / y);
        if next >= y {
            break;
        }
        y = next;
        n += 1;
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_sqrt_matches_std() {
        for x in [1e-30, 1e-5, 0.5, 1.0, 2.0, 3.0, 1e5, 123456.789, 1e30] {
            let got = sqrt(x);
            let want = x.sqrt();
            assert!(
                (got - want).abs() <= want * 2.0 * f64::EPSILON,
                "{x}: {got} vs {want}"
            );
        }
    }
}
