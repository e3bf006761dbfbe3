//! Choosing an algorithm by type: [`Reference`], [`Im2col`], [`Direct`].
//!
//! Typed layers and models take the algorithm as a type parameter, so the choice costs nothing at
//! run time and a firmware links only the kernels it uses. The algorithm selects the convolution;
//! pooling and dense layers use the plain reference under [`Reference`] and the SIMD kernels
//! otherwise.

use crate::activation::Activation;
use crate::conv::{self, ConvStats};
use crate::dense;
use crate::error::Error;
use crate::geometry::{AvgPoolDivisor, Conv2dGeometry, Pool2dGeometry};
use crate::pool;
use crate::quant::{ActivationRange, LayerParamsI8};

/// A set of kernels with one meaning, selected at compile time.
pub trait Algorithm {
    /// Name used in reports and benches: `"reference"`, `"im2col"` or `"direct"`.
    const NAME: &'static str;
    /// The largest filter (`kh · kw · c_in` elements) the algorithm can handle; im2col is limited
    /// by its scratch, the others by nothing.
    const MAX_PATCH: usize;
    /// Elements of scratch the algorithm keeps on the stack during a convolution call
    /// (`f32` for f32 layers): 0 but for [`Im2col`], whose scratch is `SCRATCH` elements.
    const SCRATCH_ELEMS: usize = 0;
    /// `i16` scratch elements the int8 convolution has: [`Im2col`]'s `SCRATCH`, which must
    /// hold [`conv::im2col::scratch_len_i8`]; `usize::MAX` for algorithms that need none.
    const SCRATCH_I8: usize = usize::MAX;

    /// f32 convolution, see [`conv`].
    ///
    /// # Errors
    /// As the algorithm's `conv2d_f32`.
    fn conv2d_f32(
        g: &Conv2dGeometry,
        input: &[f32],
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        output: &mut [f32],
    ) -> Result<ConvStats, Error>;

    /// f32 max pooling.
    ///
    /// # Errors
    /// As [`pool::reference::max_pool2d`].
    fn max_pool2d_f32(g: &Pool2dGeometry, input: &[f32], output: &mut [f32]) -> Result<(), Error> {
        pool::simd::max_pool2d_f32(g, input, output)
    }

    /// f32 average pooling.
    ///
    /// # Errors
    /// As [`pool::reference::avg_pool2d_f32`].
    fn avg_pool2d_f32(
        g: &Pool2dGeometry,
        divisor: AvgPoolDivisor,
        input: &[f32],
        output: &mut [f32],
    ) -> Result<(), Error> {
        pool::simd::avg_pool2d_f32(g, divisor, input, output)
    }

    /// f32 dense layer.
    ///
    /// # Errors
    /// As [`dense::reference::dense_f32`].
    fn dense_f32(
        input: &[f32],
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        output: &mut [f32],
    ) -> Result<(), Error> {
        dense::simd::dense_f32(input, weights, bias, act, output)
    }

    /// int8 convolution (TFLite's per-channel int8 semantics, bit-exact across algorithms).
    ///
    /// # Errors
    /// As the algorithm's `conv2d_i8`, e.g. [`conv::reference::conv2d_i8`].
    fn conv2d_i8(
        g: &Conv2dGeometry,
        input: &[i8],
        weights: &[i8],
        p: &LayerParamsI8<'_>,
        output: &mut [i8],
    ) -> Result<ConvStats, Error>;

    /// int8 max pooling with a fused activation clamp.
    ///
    /// # Errors
    /// As [`pool::reference::max_pool2d_i8`].
    fn max_pool2d_i8(
        g: &Pool2dGeometry,
        range: ActivationRange,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), Error> {
        pool::simd::max_pool2d_i8(g, range, input, output)
    }

    /// int8 average pooling (TFLite's rounding, padding not counted).
    ///
    /// # Errors
    /// As [`pool::reference::avg_pool2d_i8`].
    fn avg_pool2d_i8(
        g: &Pool2dGeometry,
        range: ActivationRange,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), Error> {
        pool::simd::avg_pool2d_i8(g, range, input, output)
    }

    /// int8 dense layer.
    ///
    /// # Errors
    /// As [`dense::reference::dense_i8`].
    fn dense_i8(
        input: &[i8],
        weights: &[i8],
        p: &LayerParamsI8<'_>,
        output: &mut [i8],
    ) -> Result<(), Error> {
        dense::simd::dense_i8(input, weights, p, output)
    }
}

/// The naive reference kernels (the oracle).
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

/// im2col + GEMM with `SCRATCH` elements of scratch on the stack per call (`f32` for f32
/// layers, `i16` for int8 layers; the tile is `SCRATCH / (kh · kw · c_in)` output pixels).
#[derive(Clone, Copy, Debug, Default)]
pub struct Im2col<const SCRATCH: usize = 4096>;

/// Direct SIMD convolution, no scratch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Direct;

impl Algorithm for Reference {
    const NAME: &'static str = "reference";
    const MAX_PATCH: usize = usize::MAX;

    fn conv2d_f32(
        g: &Conv2dGeometry,
        input: &[f32],
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        output: &mut [f32],
    ) -> Result<ConvStats, Error> {
        conv::reference::conv2d_f32(g, input, weights, bias, act, output)?;
        Ok(ConvStats::default())
    }

    fn max_pool2d_f32(g: &Pool2dGeometry, input: &[f32], output: &mut [f32]) -> Result<(), Error> {
        pool::reference::max_pool2d(g, input, output)
    }

    fn avg_pool2d_f32(
        g: &Pool2dGeometry,
        divisor: AvgPoolDivisor,
        input: &[f32],
        output: &mut [f32],
    ) -> Result<(), Error> {
        pool::reference::avg_pool2d_f32(g, divisor, input, output)
    }

    fn dense_f32(
        input: &[f32],
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        output: &mut [f32],
    ) -> Result<(), Error> {
        dense::reference::dense_f32(input, weights, bias, act, output)
    }

    fn conv2d_i8(
        g: &Conv2dGeometry,
        input: &[i8],
        weights: &[i8],
        p: &LayerParamsI8<'_>,
        output: &mut [i8],
    ) -> Result<ConvStats, Error> {
        conv::reference::conv2d_i8(g, input, weights, p, output)?;
        Ok(ConvStats::default())
    }

    fn max_pool2d_i8(
        g: &Pool2dGeometry,
        range: ActivationRange,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), Error> {
        pool::reference::max_pool2d_i8(g, range, input, output)
    }

    fn avg_pool2d_i8(
        g: &Pool2dGeometry,
        range: ActivationRange,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), Error> {
        pool::reference::avg_pool2d_i8(g, range, input, output)
    }

    fn dense_i8(
        input: &[i8],
        weights: &[i8],
        p: &LayerParamsI8<'_>,
        output: &mut [i8],
    ) -> Result<(), Error> {
        dense::reference::dense_i8(input, weights, p, output)
    }
}

impl<const SCRATCH: usize> Algorithm for Im2col<SCRATCH> {
    const NAME: &'static str = "im2col";
    const MAX_PATCH: usize = SCRATCH;
    const SCRATCH_I8: usize = SCRATCH;
    const SCRATCH_ELEMS: usize = SCRATCH;

    fn conv2d_f32(
        g: &Conv2dGeometry,
        input: &[f32],
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        output: &mut [f32],
    ) -> Result<ConvStats, Error> {
        let mut scratch = [0.0f32; SCRATCH];
        conv::im2col::conv2d_f32(g, input, weights, bias, act, &mut scratch, output)
    }

    fn conv2d_i8(
        g: &Conv2dGeometry,
        input: &[i8],
        weights: &[i8],
        p: &LayerParamsI8<'_>,
        output: &mut [i8],
    ) -> Result<ConvStats, Error> {
        // SCRATCH i16 elements: 2 · SCRATCH bytes of stack.
        let mut scratch = [0i16; SCRATCH];
        conv::im2col::conv2d_i8(g, input, weights, p, &mut scratch, output)
    }
}

impl Algorithm for Direct {
    const NAME: &'static str = "direct";
    const MAX_PATCH: usize = usize::MAX;

    fn conv2d_f32(
        g: &Conv2dGeometry,
        input: &[f32],
        weights: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        output: &mut [f32],
    ) -> Result<ConvStats, Error> {
        conv::direct::conv2d_f32(g, input, weights, bias, act, output)
    }

    fn conv2d_i8(
        g: &Conv2dGeometry,
        input: &[i8],
        weights: &[i8],
        p: &LayerParamsI8<'_>,
        output: &mut [i8],
    ) -> Result<ConvStats, Error> {
        conv::direct::conv2d_i8(g, input, weights, p, output)
    }
}
