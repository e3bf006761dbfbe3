//! The typed convolution layers: shapes in const generics, checked at compile time, over filters
//! packed at compile time for the kernel that runs them.

use super::{Conv2dF32Kernel, Conv2dI8Kernel, ConvStats};
use crate::activation::Activation;
use crate::error::Error;
use crate::geometry::{Conv2dGeometry, Padding, output_size_or_max};
use crate::quant::{
    ActivationRange, LayerParamsI8, QuantizedMultiplier, Rounding, check_accumulator, max_abs_bias,
};
use crate::tensor::{Filters, Tensor, flat, flat_mut};

/// Filters `[COUT][KH][KW][CIN]` rearranged for one kernel (`K` is [`Conv2dF32Kernel`] or
/// [`Conv2dI8Kernel`]). The kernel travels with the weights it was packed for, so a layer cannot
/// run them with another; build them in a `static` with [`Conv2d::pack`] or [`Conv2dI8::pack`]
/// (`const fn`s: nothing is packed at run time).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PackedFilters<
    K,
    T,
    const COUT: usize,
    const KH: usize,
    const KW: usize,
    const CIN: usize,
> {
    kernel: K,
    data: Filters<T, COUT, KH, KW, CIN>,
}

impl<K: Copy, T, const COUT: usize, const KH: usize, const KW: usize, const CIN: usize>
    PackedFilters<K, T, COUT, KH, KW, CIN>
{
    /// The kernel the filters are packed for.
    pub const fn kernel(&self) -> K {
        self.kernel
    }

    /// The packed filters as one slice (`COUT·KH·KW·CIN` elements, in the kernel's order).
    pub const fn as_slice(&self) -> &[T] {
        self.data.as_flattened().as_flattened().as_flattened()
    }
}

/// The smallest input (`(k − 1)·d + 1` per axis) on which a layer's geometry is valid: what
/// packing sees (packing depends on the filters, the stride and the dilation, not on the image).
const fn span(k: usize, d: usize) -> usize {
    k.saturating_sub(1).saturating_mul(d).saturating_add(1)
}

/// A 2-D convolution layer whose shape is in its type: `CIN` input channels, `COUT` filters of
/// `KH × KW`, strides `SH`, `SW`, padding `PT`, `PB`, `PL`, `PR` (top, bottom, left, right) and
/// dilations `DH`, `DW`. Weights and bias are borrowed, so they can live in flash as `static`s.
///
/// [`forward`](Self::forward) checks at compile time that the output tensor has exactly the size
/// that follows from the input size and the geometry; the input and output sizes are inferred
/// from the tensors.
///
/// ```
/// use tinyconv::{Conv2d, Tensor, conv::{Conv2dF32Kernel, PackedFilters}, error::const_expect};
/// static W: [[[[f32; 1]; 3]; 3]; 2] = [[[[1.0]; 3]; 3]; 2];
/// static B: [f32; 2] = [0.0, 1.0];
/// // 3×3, stride 2, padding 1 on every side.
/// type Layer = Conv2d<'static, 1, 2, 3, 3, 2, 2, 1, 1, 1, 1>;
/// static PW: PackedFilters<Conv2dF32Kernel, f32, 2, 3, 3, 1> =
///     const_expect(Layer::pack(Conv2dF32Kernel::Direct, &W), "pack");
/// let conv = Layer::new(&PW, &B);
/// let x: Tensor<f32, 8, 8, 1> = [[[1.0]; 8]; 8];
/// let mut y: Tensor<f32, 4, 4, 2> = Default::default();
/// conv.forward(&x, &mut y, &mut [])?;
/// assert_eq!(y[0][0], [4.0, 5.0]); // corner: 2×2 taps inside the image
/// assert_eq!(y[1][1], [9.0, 10.0]);
/// # Ok::<(), tinyconv::Error>(())
/// ```
///
/// A wrong output size does not compile (8×8 with 3×3, stride 2, padding 1 gives 4×4, not 3×3):
///
/// ```compile_fail
/// use tinyconv::{Conv2d, Tensor, conv::{Conv2dF32Kernel, PackedFilters}, error::const_expect};
/// static W: [[[[f32; 1]; 3]; 3]; 2] = [[[[1.0]; 3]; 3]; 2];
/// static B: [f32; 2] = [0.0; 2];
/// type Layer = Conv2d<'static, 1, 2, 3, 3, 2, 2, 1, 1, 1, 1>;
/// static PW: PackedFilters<Conv2dF32Kernel, f32, 2, 3, 3, 1> =
///     const_expect(Layer::pack(Conv2dF32Kernel::Reference, &W), "pack");
/// let x: Tensor<f32, 8, 8, 1> = [[[1.0]; 8]; 8];
/// let mut y: Tensor<f32, 3, 3, 2> = Default::default();
/// Layer::new(&PW, &B).forward(&x, &mut y, &mut []).unwrap();
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Conv2d<
    'w,
    const CIN: usize,
    const COUT: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize = 1,
    const SW: usize = 1,
    const PT: usize = 0,
    const PB: usize = 0,
    const PL: usize = 0,
    const PR: usize = 0,
    const DH: usize = 1,
    const DW: usize = 1,
> {
    weights: &'w PackedFilters<Conv2dF32Kernel, f32, COUT, KH, KW, CIN>,
    bias: &'w [f32; COUT],
    activation: Activation,
}

impl<
    'w,
    const CIN: usize,
    const COUT: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PB: usize,
    const PL: usize,
    const PR: usize,
    const DH: usize,
    const DW: usize,
> Conv2d<'w, CIN, COUT, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW>
{
    /// Packs canonical filters for `kernel` (a `const fn`: put the result in a `static`).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] if the layer's geometry is invalid (a zero size, stride or
    /// dilation).
    pub const fn pack(
        kernel: Conv2dF32Kernel,
        canonical: &Filters<f32, COUT, KH, KW, CIN>,
    ) -> Result<PackedFilters<Conv2dF32Kernel, f32, COUT, KH, KW, CIN>, Error> {
        let mut data = [[[[0.0; CIN]; KW]; KH]; COUT];
        let g = Self::geometry(span(KH, DH), span(KW, DW));
        match kernel.pack(
            &g,
            canonical.as_flattened().as_flattened().as_flattened(),
            data.as_flattened_mut()
                .as_flattened_mut()
                .as_flattened_mut(),
        ) {
            Ok(()) => Ok(PackedFilters { kernel, data }),
            Err(e) => Err(e),
        }
    }

    /// A layer over packed filters, without activation.
    pub const fn new(
        weights: &'w PackedFilters<Conv2dF32Kernel, f32, COUT, KH, KW, CIN>,
        bias: &'w [f32; COUT],
    ) -> Self {
        Conv2d {
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

    /// The runtime geometry of this layer on an `h × w` input.
    pub const fn geometry(h: usize, w: usize) -> Conv2dGeometry {
        Conv2dGeometry::new([h, w, CIN], COUT, [KH, KW])
            .with_stride([SH, SW])
            .with_padding(Padding::new(PT, PB, PL, PR))
            .with_dilation([DH, DW])
    }

    /// Output height for input height `h` (`usize::MAX` if the geometry is invalid).
    pub const fn out_h(h: usize) -> usize {
        output_size_or_max(h, KH, SH, PT, PB, DH)
    }

    /// Output width for input width `w` (`usize::MAX` if the geometry is invalid).
    pub const fn out_w(w: usize) -> usize {
        output_size_or_max(w, KW, SW, PL, PR, DW)
    }

    /// Elements of scratch [`forward`](Self::forward) needs on an `h × w` input.
    pub const fn scratch_len(&self, h: usize, w: usize) -> usize {
        self.weights.kernel.scratch_len(&Self::geometry(h, w))
    }

    /// Computes the layer with the kernel its filters were packed for. Input and output sizes
    /// are inferred from the tensors; it fails to compile unless `OH × OW` is the output size of
    /// an `H × W` input.
    ///
    /// # Errors
    /// [`Error::ScratchTooSmall`] if `scratch` is shorter than
    /// [`scratch_len`](Self::scratch_len); nothing else (the shapes are checked at compile
    /// time).
    pub fn forward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        input: &Tensor<f32, H, W, CIN>,
        output: &mut Tensor<f32, OH, OW, COUT>,
        scratch: &mut [f32],
    ) -> Result<ConvStats, Error> {
        const {
            assert!(
                OH == Self::out_h(H),
                "output height does not follow from the geometry"
            );
            assert!(
                OW == Self::out_w(W),
                "output width does not follow from the geometry"
            );
        }
        self.weights.kernel.run(
            &Self::geometry(H, W),
            flat(input),
            self.weights.as_slice(),
            Some(self.bias),
            self.activation,
            scratch,
            flat_mut(output),
        )
    }
}

/// An int8 2-D convolution layer (TFLite's per-channel int8 spec) whose shape is in its type,
/// with the same const parameters as [`Conv2d`]: `CIN` input channels, `COUT` filters of
/// `KH × KW`, strides `SH`, `SW`, padding `PT`, `PB`, `PL`, `PR`, dilations `DH`, `DW`.
///
/// Weights (`[COUT][KH][KW][CIN]`, symmetric, packed for a kernel by [`pack`](Self::pack)),
/// bias (`i32`, scale `input_scale · weight_scale[o]`) and requantization multipliers are
/// borrowed, so they can live in flash as `static`s; the constructor is `const` and checks the
/// bias against the accumulator bound (see [`check_accumulator`]), so a `const` layer is
/// checked at compile time. [`forward`](Self::forward) checks the output shape at compile time,
/// and refuses to compile a layer whose `KH·KW·CIN · 255 · 128` exceeds `i32::MAX`.
///
/// ```
/// use tinyconv::{Conv2dI8, Error, Tensor, conv::{Conv2dI8Kernel, PackedFilters}, error::const_expect};
/// use tinyconv::quant::{ActivationRange, PerChannelScales, QuantParams, QuantizedMultiplier};
///
/// const INPUT: QuantParams = const_expect(QuantParams::new(0.02, -3), "input");
/// const OUTPUT: QuantParams = const_expect(QuantParams::new(0.1, 5), "output");
/// const SCALES: PerChannelScales<2> = const_expect(PerChannelScales::new([0.01, 0.005]), "scales");
/// static M: [QuantizedMultiplier; 2] =
///     const_expect(SCALES.requant_multipliers(INPUT, OUTPUT), "multipliers");
/// static W: [[[[i8; 1]; 3]; 3]; 2] = [[[[10]; 3]; 3], [[[-20]; 3]; 3]];
/// static B: [i32; 2] = [500, 0];
/// // 3×3, padding 1, fused ReLU; checked at compile time.
/// type Layer = Conv2dI8<'static, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1>;
/// static PW: PackedFilters<Conv2dI8Kernel, i8, 2, 3, 3, 1> =
///     const_expect(Layer::pack(Conv2dI8Kernel::Direct, &W), "pack");
/// const CONV: Layer = const_expect(
///     Layer::new(&PW, &B, &M, INPUT.zero_point(), OUTPUT.zero_point()),
///     "layer",
/// )
/// .with_range(ActivationRange::relu(OUTPUT));
/// let x: Tensor<i8, 4, 4, 1> = [[[47]; 4]; 4]; // real 0.02 · (47 + 3) = 1.0
/// let mut y: Tensor<i8, 4, 4, 2> = [[[0; 2]; 4]; 4];
/// CONV.forward(&x, &mut y, &mut [])?;
/// // Interior, channel 0: (500 + 9 · 50 · 10) · (0.02 · 0.01 / 0.1) = 10 steps, + 5 = 15.
/// assert_eq!(y[1][1][0], 15);
/// // Channel 1 is negative: ReLU clamps it to the zero point.
/// assert_eq!(y[1][1][1], 5);
/// // A bias beyond the accumulator bound is rejected.
/// static HUGE: [i32; 2] = [i32::MAX, 0];
/// let bad = Layer::new(&PW, &HUGE, &M, 0, 0);
/// assert_eq!(bad.map(|_| ()), Err(Error::AccumulatorOverflow));
/// # Ok::<(), tinyconv::Error>(())
/// ```
///
/// A layer whose accumulator could overflow does not compile (`65 794 · 255 · 128 > 2^31 − 1`):
///
/// ```compile_fail
/// use tinyconv::{Conv2dI8, Tensor, conv::{Conv2dI8Kernel, PackedFilters}, quant::QuantizedMultiplier};
/// type Layer = Conv2dI8<'static, 65_794, 1, 1, 1>;
/// static W: [[[[i8; 65_794]; 1]; 1]; 1] = [[[[0; 65_794]]]];
/// static PW: PackedFilters<Conv2dI8Kernel, i8, 1, 1, 1, 65_794> =
///     tinyconv::error::const_expect(Layer::pack(Conv2dI8Kernel::Reference, &W), "pack");
/// static B: [i32; 1] = [0];
/// static M: [QuantizedMultiplier; 1] = [QuantizedMultiplier::ONE];
/// let conv = Layer::new(&PW, &B, &M, 0, 0).unwrap();
/// let x: Tensor<i8, 1, 1, 65_794> = [[[0; 65_794]]];
/// let mut y: Tensor<i8, 1, 1, 1> = [[[0]]];
/// conv.forward(&x, &mut y, &mut []).unwrap();
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Conv2dI8<
    'w,
    const CIN: usize,
    const COUT: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize = 1,
    const SW: usize = 1,
    const PT: usize = 0,
    const PB: usize = 0,
    const PL: usize = 0,
    const PR: usize = 0,
    const DH: usize = 1,
    const DW: usize = 1,
> {
    weights: &'w PackedFilters<Conv2dI8Kernel, i8, COUT, KH, KW, CIN>,
    bias: &'w [i32; COUT],
    multipliers: &'w [QuantizedMultiplier; COUT],
    input_zero_point: i8,
    output_zero_point: i8,
    range: ActivationRange,
    rounding: Rounding,
}

impl<
    'w,
    const CIN: usize,
    const COUT: usize,
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PB: usize,
    const PL: usize,
    const PR: usize,
    const DH: usize,
    const DW: usize,
> Conv2dI8<'w, CIN, COUT, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW>
{
    /// Packs canonical filters for `kernel` (a `const fn`: put the result in a `static`).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] if the layer's geometry is invalid (a zero size, stride or
    /// dilation).
    pub const fn pack(
        kernel: Conv2dI8Kernel,
        canonical: &Filters<i8, COUT, KH, KW, CIN>,
    ) -> Result<PackedFilters<Conv2dI8Kernel, i8, COUT, KH, KW, CIN>, Error> {
        let mut data = [[[[0; CIN]; KW]; KH]; COUT];
        let g = Self::geometry(span(KH, DH), span(KW, DW));
        match kernel.pack(
            &g,
            canonical.as_flattened().as_flattened().as_flattened(),
            data.as_flattened_mut()
                .as_flattened_mut()
                .as_flattened_mut(),
        ) {
            Ok(()) => Ok(PackedFilters { kernel, data }),
            Err(e) => Err(e),
        }
    }

    /// A layer without fused activation and with TFLite's default double rounding.
    ///
    /// `multipliers[o]` is `input_scale · weight_scale[o] / output_scale` (see
    /// [`PerChannelScales::requant_multipliers`](crate::quant::PerChannelScales::requant_multipliers)).
    ///
    /// # Errors
    /// [`Error::AccumulatorOverflow`] unless `KH·KW·CIN · 255 · 128 + max|bias| ≤ i32::MAX`.
    pub const fn new(
        weights: &'w PackedFilters<Conv2dI8Kernel, i8, COUT, KH, KW, CIN>,
        bias: &'w [i32; COUT],
        multipliers: &'w [QuantizedMultiplier; COUT],
        input_zero_point: i8,
        output_zero_point: i8,
    ) -> Result<Self, Error> {
        match check_accumulator(KH * KW * CIN, max_abs_bias(bias)) {
            Ok(()) => Ok(Conv2dI8 {
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

    /// The same layer with a fused activation (e.g. [`ActivationRange::relu`]).
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
        LayerParamsI8::new(
            self.input_zero_point,
            self.output_zero_point,
            multipliers,
            Some(bias),
        )
        .with_range(self.range)
        .with_rounding(self.rounding)
    }

    /// The packed filters.
    pub const fn weights(&self) -> &'w PackedFilters<Conv2dI8Kernel, i8, COUT, KH, KW, CIN> {
        self.weights
    }

    /// The runtime geometry of this layer on an `h × w` input.
    pub const fn geometry(h: usize, w: usize) -> Conv2dGeometry {
        Conv2d::<CIN, COUT, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW>::geometry(h, w)
    }

    /// Output height for input height `h` (`usize::MAX` if the geometry is invalid).
    pub const fn out_h(h: usize) -> usize {
        output_size_or_max(h, KH, SH, PT, PB, DH)
    }

    /// Output width for input width `w` (`usize::MAX` if the geometry is invalid).
    pub const fn out_w(w: usize) -> usize {
        output_size_or_max(w, KW, SW, PL, PR, DW)
    }

    /// Elements of `i16` scratch [`forward`](Self::forward) needs on an `h × w` input.
    pub const fn scratch_len(&self, h: usize, w: usize) -> usize {
        self.weights.kernel.scratch_len(&Self::geometry(h, w))
    }

    /// Computes the layer with the kernel its filters were packed for. Input and output sizes
    /// are inferred from the tensors; it fails to compile unless `OH × OW` is the output size of
    /// an `H × W` input and `KH·KW·CIN · 255 · 128 ≤ i32::MAX`.
    ///
    /// # Errors
    /// [`Error::ScratchTooSmall`] if `scratch` is shorter than
    /// [`scratch_len`](Self::scratch_len); nothing else (the shapes are checked at compile
    /// time, the bias by [`new`](Self::new)).
    pub fn forward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        input: &Tensor<i8, H, W, CIN>,
        output: &mut Tensor<i8, OH, OW, COUT>,
        scratch: &mut [i16],
    ) -> Result<ConvStats, Error> {
        const {
            assert!(
                OH == Self::out_h(H),
                "output height does not follow from the geometry"
            );
            assert!(
                OW == Self::out_w(W),
                "output width does not follow from the geometry"
            );
            assert!(
                matches!(check_accumulator(KH * KW * CIN, 0), Ok(())),
                "KH·KW·CIN·255·128 exceeds i32::MAX: the int8 accumulator could overflow"
            );
        }
        self.weights.kernel.run(
            &Self::geometry(H, W),
            flat(input),
            self.weights.as_slice(),
            &self.params(),
            scratch,
            flat_mut(output),
        )
    }
}
