//! Convolution over one spatial dimension (time series, audio): `[W][C]` tensors, filters
//! `[C_out][K][C_in]`, run as a 2-D convolution of height 1 — which is how TensorFlow Lite
//! stores Keras' `Conv1D` (a `CONV_2D` on `[1, 1, W, C]` with `[C_out, 1, K, C_in]` filters,
//! between two RESHAPEs). The memory layouts are the same, so nothing is copied at run time.
//!
//! `out[x][o] = act(b[o] + Σ_{k,c} w[o][k][c] · in[x·s + k·d − p_left][c])`, taps outside the
//! input skipped.

use super::{Conv2d, Conv2dF32Kernel, Conv2dI8, Conv2dI8Kernel, ConvStats, PackedFilters};
use crate::activation::Activation;
use crate::error::Error;
use crate::geometry::{Conv2dGeometry, output_size_or_max};
use crate::quant::{ActivationRange, LayerParamsI8, QuantizedMultiplier, Rounding};

impl Conv2dGeometry {
    /// The 2-D geometry of a 1-D convolution of a `[len][in_c]` input with `out_c` filters of
    /// `kernel` taps: height 1, unit stride and dilation, no padding (set them along W with the
    /// builder methods, e.g. `with_stride([1, s])`).
    ///
    /// ```
    /// use tinyconv::{Conv2dGeometry, Padding};
    /// let g = Conv2dGeometry::conv1d(40, 3, 8, 5).with_padding(Padding::new(0, 0, 2, 2));
    /// let d = g.dims().unwrap();
    /// assert_eq!((d.out_h, d.out_w), (1, 40));
    /// ```
    pub const fn conv1d(len: usize, in_c: usize, out_c: usize, kernel: usize) -> Self {
        Conv2dGeometry::new([1, len, in_c], out_c, [1, kernel])
    }
}

/// Canonical 1-D filters `[COUT][K][CIN]` as 2-D ones `[COUT][1][K][CIN]` (a copy in a `const`).
const fn as_2d<T: Copy, const COUT: usize, const K: usize, const CIN: usize>(
    w: &[[[T; CIN]; K]; COUT],
) -> [[[[T; CIN]; K]; 1]; COUT] {
    let mut out = [[[[w[0][0][0]; CIN]; K]; 1]; COUT];
    let mut o = 0;
    while o < COUT {
        out[o][0] = w[o];
        o += 1;
    }
    out
}

/// Filters of a 1-D layer packed for a kernel: the 2-D [`PackedFilters`] of height 1.
pub type PackedFilters1d<K, T, const COUT: usize, const KW: usize, const CIN: usize> =
    PackedFilters<K, T, COUT, 1, KW, CIN>;

/// A 1-D convolution layer (f32) whose shape is in its type: `CIN` input channels, `COUT`
/// filters of `K` taps, stride `S`, padding `PL` before and `PR` after, dilation `D`; a
/// [`Conv2d`] of height 1 underneath, with any [`Conv2dF32Kernel`].
///
/// ```
/// use tinyconv::conv::{Conv2dF32Kernel, conv1d::{Conv1d, PackedFilters1d}};
/// use tinyconv::error::const_expect;
/// // A moving sum of 3 samples, padded by one on each side.
/// type Layer = Conv1d<'static, 1, 1, 3, 1, 1, 1>;
/// static W: PackedFilters1d<Conv2dF32Kernel, f32, 1, 3, 1> =
///     const_expect(Layer::pack(Conv2dF32Kernel::Direct, &[[[1.0], [1.0], [1.0]]]), "pack");
/// static B: [f32; 1] = [0.0];
/// let x = [[1.0], [2.0], [3.0], [4.0]];
/// let mut y = [[0.0f32; 1]; 4];
/// Layer::new(&W, &B).forward(&x, &mut y, &mut [])?;
/// assert_eq!(y, [[3.0], [6.0], [9.0], [7.0]]);
/// # Ok::<(), tinyconv::Error>(())
/// ```
///
/// A wrong output length does not compile:
///
/// ```compile_fail
/// use tinyconv::conv::{Conv2dF32Kernel, conv1d::{Conv1d, PackedFilters1d}};
/// use tinyconv::error::const_expect;
/// type Layer = Conv1d<'static, 1, 1, 3>;
/// static W: PackedFilters1d<Conv2dF32Kernel, f32, 1, 3, 1> =
///     const_expect(Layer::pack(Conv2dF32Kernel::Direct, &[[[1.0], [1.0], [1.0]]]), "pack");
/// let mut y = [[0.0f32; 1]; 4];
/// Layer::new(&W, &[0.0]).forward(&[[0.0]; 4], &mut y, &mut []).unwrap();
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Conv1d<
    'w,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize = 1,
    const PL: usize = 0,
    const PR: usize = 0,
    const D: usize = 1,
> {
    inner: Conv2d<'w, CIN, COUT, 1, K, 1, S, 0, 0, PL, PR, 1, D>,
}

impl<
    'w,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
    const D: usize,
> Conv1d<'w, CIN, COUT, K, S, PL, PR, D>
{
    /// Canonical filters `[COUT][K][CIN]` packed for `kernel` (`const`: for a `static`).
    ///
    /// # Errors
    /// As [`Conv2d::pack`].
    pub const fn pack(
        kernel: Conv2dF32Kernel,
        canonical: &[[[f32; CIN]; K]; COUT],
    ) -> Result<PackedFilters1d<Conv2dF32Kernel, f32, COUT, K, CIN>, Error> {
        Conv2d::<CIN, COUT, 1, K, 1, S, 0, 0, PL, PR, 1, D>::pack(kernel, &as_2d(canonical))
    }

    /// A layer over packed filters, without activation.
    pub const fn new(
        weights: &'w PackedFilters1d<Conv2dF32Kernel, f32, COUT, K, CIN>,
        bias: &'w [f32; COUT],
    ) -> Self {
        Conv1d {
            inner: Conv2d::new(weights, bias),
        }
    }

    /// The same layer with `activation` fused into its output.
    pub const fn with_activation(self, activation: Activation) -> Self {
        Conv1d {
            inner: self.inner.with_activation(activation),
        }
    }

    /// The 2-D geometry the kernels run, on a `w`-long input.
    pub const fn geometry(w: usize) -> Conv2dGeometry {
        Conv2d::<CIN, COUT, 1, K, 1, S, 0, 0, PL, PR, 1, D>::geometry(1, w)
    }

    /// Output length for input length `w` (`usize::MAX` if the geometry is invalid).
    pub const fn out_w(w: usize) -> usize {
        output_size_or_max(w, K, S, PL, PR, D)
    }

    /// `f32` scratch the layer's kernel needs on a `w`-long input.
    pub const fn scratch_len(&self, w: usize) -> usize {
        self.inner.scratch_len(1, w)
    }

    /// Computes the layer on a `[W][CIN]` input. Fails to compile unless `OW` is the output
    /// length of a `W`-long input.
    ///
    /// # Errors
    /// [`Error::ScratchTooSmall`] if `scratch` is shorter than [`scratch_len`](Self::scratch_len).
    pub fn forward<const W: usize, const OW: usize>(
        &self,
        input: &[[f32; CIN]; W],
        output: &mut [[f32; COUT]; OW],
        scratch: &mut [f32],
    ) -> Result<ConvStats, Error> {
        self.inner.forward(
            core::array::from_ref(input),
            core::array::from_mut(output),
            scratch,
        )
    }
}

/// An int8 1-D convolution layer (TFLite's per-channel int8 spec), the const parameters of
/// [`Conv1d`]: what a Keras `Conv1D` becomes in an int8 `.tflite`; a [`Conv2dI8`] of height 1.
///
/// ```
/// use tinyconv::conv::{Conv2dI8Kernel, conv1d::{Conv1dI8, PackedFilters1d}};
/// use tinyconv::{error::const_expect, quant::QuantizedMultiplier};
/// type Layer = Conv1dI8<'static, 1, 1, 2>;
/// static W: PackedFilters1d<Conv2dI8Kernel, i8, 1, 2, 1> =
///     const_expect(Layer::pack(Conv2dI8Kernel::Direct, &[[[1], [-1]]]), "pack");
/// static B: [i32; 1] = [0];
/// static M: [QuantizedMultiplier; 1] = [QuantizedMultiplier::ONE];
/// let conv = Layer::new(&W, &B, &M, 0, 0)?;
/// let mut y = [[0i8; 1]; 3];
/// conv.forward(&[[1], [5], [2], [2]], &mut y, &mut [])?;
/// assert_eq!(y, [[-4], [3], [0]]);
/// # Ok::<(), tinyconv::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Conv1dI8<
    'w,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize = 1,
    const PL: usize = 0,
    const PR: usize = 0,
    const D: usize = 1,
> {
    inner: Conv2dI8<'w, CIN, COUT, 1, K, 1, S, 0, 0, PL, PR, 1, D>,
}

impl<
    'w,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
    const D: usize,
> Conv1dI8<'w, CIN, COUT, K, S, PL, PR, D>
{
    /// Canonical filters `[COUT][K][CIN]` packed for `kernel`.
    ///
    /// # Errors
    /// As [`Conv2dI8::pack`].
    pub const fn pack(
        kernel: Conv2dI8Kernel,
        canonical: &[[[i8; CIN]; K]; COUT],
    ) -> Result<PackedFilters1d<Conv2dI8Kernel, i8, COUT, K, CIN>, Error> {
        Conv2dI8::<CIN, COUT, 1, K, 1, S, 0, 0, PL, PR, 1, D>::pack(kernel, &as_2d(canonical))
    }

    /// A layer without fused activation, with TFLite's default double rounding.
    ///
    /// # Errors
    /// [`Error::AccumulatorOverflow`] unless `K·CIN · 255 · 128 + max|bias| ≤ i32::MAX`.
    pub const fn new(
        weights: &'w PackedFilters1d<Conv2dI8Kernel, i8, COUT, K, CIN>,
        bias: &'w [i32; COUT],
        multipliers: &'w [QuantizedMultiplier; COUT],
        input_zero_point: i8,
        output_zero_point: i8,
    ) -> Result<Self, Error> {
        match Conv2dI8::new(
            weights,
            bias,
            multipliers,
            input_zero_point,
            output_zero_point,
        ) {
            Ok(inner) => Ok(Conv1dI8 { inner }),
            Err(e) => Err(e),
        }
    }

    /// The same layer with a fused activation.
    pub const fn with_range(self, range: ActivationRange) -> Self {
        Conv1dI8 {
            inner: self.inner.with_range(range),
        }
    }

    /// The same layer with another requantization rounding.
    pub const fn with_rounding(self, rounding: Rounding) -> Self {
        Conv1dI8 {
            inner: self.inner.with_rounding(rounding),
        }
    }

    /// The layer's parameters as the runtime-shape kernels take them.
    pub const fn params(&self) -> LayerParamsI8<'w> {
        self.inner.params()
    }

    /// The 2-D geometry the kernels run, on a `w`-long input.
    pub const fn geometry(w: usize) -> Conv2dGeometry {
        Conv1d::<CIN, COUT, K, S, PL, PR, D>::geometry(w)
    }

    /// `i16` scratch the layer's kernel needs on a `w`-long input.
    pub const fn scratch_len(&self, w: usize) -> usize {
        self.inner.scratch_len(1, w)
    }

    /// Computes the layer on a `[W][CIN]` input. Fails to compile unless `OW` is the output
    /// length of a `W`-long input and `K·CIN · 255 · 128 ≤ i32::MAX`.
    ///
    /// # Errors
    /// [`Error::ScratchTooSmall`] if `scratch` is shorter than [`scratch_len`](Self::scratch_len).
    pub fn forward<const W: usize, const OW: usize>(
        &self,
        input: &[[i8; CIN]; W],
        output: &mut [[i8; COUT]; OW],
        scratch: &mut [i16],
    ) -> Result<ConvStats, Error> {
        self.inner.forward(
            core::array::from_ref(input),
            core::array::from_mut(output),
            scratch,
        )
    }
}
