//! Dense (fully connected) layers: `y = act(W·x + b)` with `W` stored `[out][in]` (PyTorch's
//! `nn.Linear` layout). [`reference`] is the oracle, [`simd`] runs 4 rows at a time on `f32x8`.

pub mod reference;
pub mod simd;

use crate::activation::Activation;
use crate::algorithm::Algorithm;

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
