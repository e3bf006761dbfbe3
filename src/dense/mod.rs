//! Dense (fully connected) layers: `y = act(W·x + b)` with `W` stored `[out][in]` (PyTorch's
//! `nn.Linear` layout). [`reference`] is the oracle, [`simd`] runs 4 rows at a time on `f32x8`.

pub mod reference;
pub mod simd;

use crate::activation::Activation;
use crate::algorithm::Algorithm;
use crate::quant::{
    ActivationRange, LayerParamsI8, QuantizedMultiplier, Rounding, check_accumulator, max_abs_bias,
};

/// A dense layer with its shape in its type. Weights and bias are borrowed (`static`-friendly).
///
/// ```
/// use tinyconv::{Dense, Direct};
/// static W: [[f32; 3]; 2] = [[1.0, 2.0, 3.0], [0.0, -1.0, 0.0]];
/// static B: [f32; 2] = [0.5, 0.0];
/// let layer = Dense::new(&W, &B);
/// let mut y = [0.0; 2];
/// layer.forward::<Direct>(&[1.0, 1.0, 1.0], &mut y);
/// assert_eq!(y, [6.5, -1.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Dense<'w, const IN: usize, const OUT: usize> {
    /// Weights, `[OUT][IN]`.
    pub weights: &'w [[f32; IN]; OUT],
    /// Bias, `[OUT]`.
    pub bias: &'w [f32; OUT],
    /// Activation fused into the output.
    pub activation: Activation,
}

impl<'w, const IN: usize, const OUT: usize> Dense<'w, IN, OUT> {
    /// A layer without activation.
    pub const fn new(weights: &'w [[f32; IN]; OUT], bias: &'w [f32; OUT]) -> Self {
        Dense {
            weights,
            bias,
            activation: Activation::Identity,
        }
    }

    /// The same layer with `activation` fused into its output.
    pub const fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Computes `output = act(W·input + b)` with algorithm `A`.
    pub fn forward<A: Algorithm>(&self, input: &[f32; IN], output: &mut [f32; OUT]) {
        const { assert!(IN > 0 && OUT > 0, "empty dense layer") }
        let r = A::dense_f32(
            input,
            self.weights.as_flattened(),
            Some(self.bias),
            self.activation,
            output,
        );
        debug_assert!(r.is_ok(), "{r:?}");
    }
}

/// Validates the lengths of a dense call: `weights.len() == output.len() · input.len()`.
pub(crate) fn check(
    input: usize,
    weights: usize,
    bias: Option<usize>,
    output: usize,
) -> Result<(), crate::Error> {
    use crate::error::check_len;
    if input == 0 || output == 0 {
        return Err(crate::Error::InvalidGeometry(
            "dense layer with zero inputs or outputs",
        ));
    }
    let expected = input
        .checked_mul(output)
        .ok_or(crate::Error::InvalidGeometry("size overflows usize"))?;
    check_len("weights", expected, weights)?;
    if let Some(b) = bias {
        check_len("bias", output, b)?;
    }
    Ok(())
}

/// An int8 dense layer (TFLite's `FullyConnected`, per-channel multipliers; for per-tensor
/// quantization repeat the one multiplier) with its shape in its type. Everything is borrowed
/// (`static`-friendly); the `const` constructor checks the accumulator bound
/// (`IN · 255 · 128 + max|bias| ≤ i32::MAX`, see
/// [`check_accumulator`]).
///
/// ```
/// use tinyconv::{DenseI8, Direct, quant::QuantizedMultiplier};
/// static W: [[i8; 3]; 2] = [[1, 2, 3], [0, -1, 0]];
/// static B: [i32; 2] = [5, 0];
/// static M: [QuantizedMultiplier; 2] = [QuantizedMultiplier::ONE; 2];
/// let layer = DenseI8::new(&W, &B, &M, -1, 0).unwrap();
/// let mut y = [0i8; 2];
/// layer.forward::<Direct>(&[0, 0, 0], &mut y); // x − zp = 1 everywhere
/// assert_eq!(y, [11, -1]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DenseI8<'w, const IN: usize, const OUT: usize> {
    weights: &'w [[i8; IN]; OUT],
    bias: &'w [i32; OUT],
    multipliers: &'w [QuantizedMultiplier; OUT],
    input_zero_point: i8,
    output_zero_point: i8,
    range: ActivationRange,
    rounding: Rounding,
}

impl<'w, const IN: usize, const OUT: usize> DenseI8<'w, IN, OUT> {
    /// A layer without fused activation and with TFLite's default double rounding.
    ///
    /// # Errors
    /// [`Error::AccumulatorOverflow`](crate::Error::AccumulatorOverflow) unless
    /// `IN · 255 · 128 + max|bias| ≤ i32::MAX`.
    pub const fn new(
        weights: &'w [[i8; IN]; OUT],
        bias: &'w [i32; OUT],
        multipliers: &'w [QuantizedMultiplier; OUT],
        input_zero_point: i8,
        output_zero_point: i8,
    ) -> Result<Self, crate::Error> {
        match check_accumulator(IN, max_abs_bias(bias)) {
            Ok(()) => Ok(DenseI8 {
                weights,
                bias,
                multipliers,
                input_zero_point,
                output_zero_point,
                range: ActivationRange::none(),
                rounding: Rounding::Double,
            }),
            Err(e) => Err(e),
        }
    }

    /// The same layer with a fused activation.
    pub const fn with_range(mut self, range: ActivationRange) -> Self {
        self.range = range;
        self
    }

    /// The same layer with another requantization rounding.
    pub const fn with_rounding(mut self, rounding: Rounding) -> Self {
        self.rounding = rounding;
        self
    }

    /// The layer's parameters as the runtime-shape kernels take them.
    pub const fn params(&self) -> LayerParamsI8<'w> {
        let bias: &'w [i32] = self.bias;
        let multipliers: &'w [QuantizedMultiplier] = self.multipliers;
        LayerParamsI8 {
            input_zero_point: self.input_zero_point,
            output_zero_point: self.output_zero_point,
            multipliers,
            bias: Some(bias),
            range: self.range,
            rounding: self.rounding,
        }
    }

    /// Computes the layer with algorithm `A`. Fails to compile for an empty layer or
    /// `IN · 255 · 128 > i32::MAX`.
    pub fn forward<A: Algorithm>(&self, input: &[i8; IN], output: &mut [i8; OUT]) {
        const {
            assert!(IN > 0 && OUT > 0, "empty dense layer");
            assert!(
                matches!(check_accumulator(IN, 0), Ok(())),
                "IN·255·128 exceeds i32::MAX: the int8 accumulator could overflow"
            );
        }
        let r = A::dense_i8(input, self.weights.as_flattened(), &self.params(), output);
        debug_assert!(r.is_ok(), "{r:?}");
    }
}
