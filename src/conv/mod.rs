//! 2-D convolution: the typed layer [`Conv2d`] and three algorithms with one meaning.
//!
//! | module | how | memory |
//! |---|---|---|
//! | [`reference`] | plain loops from the formula; the oracle | none |
//! | [`im2col`] | patches of a tile of output pixels copied into scratch, then a SIMD GEMM | `tile · kh · kw · c_in` |
//! | [`direct`] | SIMD dot products over contiguous runs of the input, interior/border split | none |
//!
//! All three compute `out[y][x][o] = act(b[o] + Σ_{i,j,c} w[o][i][j][c] ·
//! in[y·s_h + i·d_h − p_top][x·s_w + j·d_w − p_left][c])` with taps outside the image skipped,
//! on channels-last tensors and `[c_out][kh][kw][c_in]` filters.

pub mod direct;
pub mod im2col;
pub mod reference;

use crate::activation::Activation;
use crate::algorithm::Algorithm;
use crate::error::Error;
use crate::geometry::{Conv2dGeometry, Padding, output_size_or_max};
use crate::quant::{
    ActivationRange, LayerParamsI8, QuantizedMultiplier, Rounding, check_accumulator, max_abs_bias,
};
use crate::tensor::{Filters, Tensor, flat, flat_mut};

/// What an optimised convolution did, so tests can prove the fast path ran (and never quietly
/// handed the work to something else).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConvStats {
    /// Output pixels computed by the interior (all taps inside the image) path of [`direct`].
    pub interior_pixels: usize,
    /// Output pixels computed by the clipped border path of [`direct`].
    pub border_pixels: usize,
    /// GEMM calls made by [`im2col`] (f32: one per tile; int8: one per output row and block of
    /// 16 filters).
    pub gemm_tiles: usize,
    /// [`im2col`] took the 1×1 path straight to GEMM.
    pub pointwise: bool,
}

/// A 2-D convolution layer whose shape is in its type: `CIN` input channels, `COUT` filters of
/// `KH × KW`, strides `SH`, `SW`, padding `PT`, `PB`, `PL`, `PR` (top, bottom, left, right) and
/// dilations `DH`, `DW`. Weights and bias are borrowed, so they can live in flash as `static`s.
///
/// [`forward`](Self::forward) checks at compile time that the output tensor has exactly the size
/// that follows from the input size and the geometry:
///
/// ```
/// use tinyconv::{Conv2d, Reference, Tensor};
/// static W: [[[[f32; 1]; 3]; 3]; 2] = [[[[1.0]; 3]; 3]; 2];
/// static B: [f32; 2] = [0.0, 1.0];
/// // 3×3, stride 2, padding 1 on every side.
/// let conv: Conv2d<1, 2, 3, 3, 2, 2, 1, 1, 1, 1> = Conv2d::new(&W, &B);
/// let x: Tensor<f32, 8, 8, 1> = [[[1.0]; 8]; 8];
/// let mut y: Tensor<f32, 4, 4, 2> = Default::default();
/// conv.forward::<Reference, 8, 8, 4, 4>(&x, &mut y);
/// assert_eq!(y[0][0], [4.0, 5.0]); // corner: 2×2 taps inside the image
/// assert_eq!(y[1][1], [9.0, 10.0]);
/// ```
///
/// A wrong output size does not compile (8×8 with 3×3, stride 2, padding 1 gives 4×4, not 3×3):
///
/// ```compile_fail
/// use tinyconv::{Conv2d, Reference, Tensor};
/// static W: [[[[f32; 1]; 3]; 3]; 2] = [[[[1.0]; 3]; 3]; 2];
/// static B: [f32; 2] = [0.0; 2];
/// let conv: Conv2d<1, 2, 3, 3, 2, 2, 1, 1, 1, 1> = Conv2d::new(&W, &B);
/// let x: Tensor<f32, 8, 8, 1> = [[[1.0]; 8]; 8];
/// let mut y: Tensor<f32, 3, 3, 2> = Default::default();
/// conv.forward::<Reference, 8, 8, 3, 3>(&x, &mut y);
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
    /// Filters, `[COUT][KH][KW][CIN]`.
    pub weights: &'w Filters<f32, COUT, KH, KW, CIN>,
    /// One bias per filter.
    pub bias: &'w [f32; COUT],
    /// Activation fused into the output.
    pub activation: Activation,
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
    /// A layer without activation.
    pub const fn new(weights: &'w Filters<f32, COUT, KH, KW, CIN>, bias: &'w [f32; COUT]) -> Self {
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

    /// Computes the layer with algorithm `A` ([`Reference`](crate::Reference),
    /// [`Im2col`](crate::Im2col), [`Direct`](crate::Direct)).
    ///
    /// Fails to compile unless `OH × OW` is the output size of an `H × W` input and, for
    /// [`Im2col`](crate::Im2col), its scratch holds one `KH·KW·CIN` patch.
    ///
    /// # Panics
    /// Never: every condition the kernels check is checked at compile time.
    pub fn forward<
        A: Algorithm,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    >(
        &self,
        input: &Tensor<f32, H, W, CIN>,
        output: &mut Tensor<f32, OH, OW, COUT>,
    ) {
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
                A::MAX_PATCH >= KH * KW * CIN,
                "the algorithm's scratch cannot hold one KH·KW·CIN patch"
            );
        }
        let r = A::conv2d_f32(
            &Self::geometry(H, W),
            flat(input),
            self.weights.as_flattened().as_flattened().as_flattened(),
            Some(self.bias),
            self.activation,
            flat_mut(output),
        );
        debug_assert!(r.is_ok(), "{r:?}");
    }
}

/// An int8 2-D convolution layer (TFLite's per-channel int8 spec) whose shape is in its type,
/// with the same const parameters as [`Conv2d`]: `CIN` input channels, `COUT` filters of
/// `KH × KW`, strides `SH`, `SW`, padding `PT`, `PB`, `PL`, `PR`, dilations `DH`, `DW`.
///
/// Weights (`[COUT][KH][KW][CIN]`, symmetric), bias (`i32`, scale `input_scale ·
/// weight_scale[o]`) and requantization multipliers are borrowed, so they can live in flash
/// as `static`s; the constructor is `const` and checks the bias against the accumulator bound
/// (see [`check_accumulator`]), so a `const` layer is checked
/// at compile time. [`forward`](Self::forward) checks the output shape at compile time, and
/// refuses to compile a layer whose `KH·KW·CIN · 255 · 128` exceeds `i32::MAX`.
///
/// ```
/// use tinyconv::{Conv2dI8, Direct, Error, Tensor};
/// use tinyconv::quant::{ActivationRange, PerChannelScales, QuantParams, QuantizedMultiplier};
///
/// const INPUT: QuantParams = match QuantParams::new(0.02, -3) { Ok(p) => p, Err(_) => panic!() };
/// const OUTPUT: QuantParams = match QuantParams::new(0.1, 5) { Ok(p) => p, Err(_) => panic!() };
/// const SCALES: PerChannelScales<2> = match PerChannelScales::new([0.01, 0.005]) {
///     Ok(s) => s,
///     Err(_) => panic!(),
/// };
/// static M: [QuantizedMultiplier; 2] = match SCALES.requant_multipliers(INPUT, OUTPUT) {
///     Ok(m) => m,
///     Err(_) => panic!(),
/// };
/// static W: [[[[i8; 1]; 3]; 3]; 2] = [[[[10]; 3]; 3], [[[-20]; 3]; 3]];
/// static B: [i32; 2] = [500, 0];
/// // 3×3, padding 1, fused ReLU; checked at compile time.
/// const CONV: Conv2dI8<'static, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1> =
///     match Conv2dI8::new(&W, &B, &M, INPUT.zero_point(), OUTPUT.zero_point()) {
///         Ok(c) => c.with_range(ActivationRange::relu(OUTPUT)),
///         Err(_) => panic!(),
///     };
/// let x: Tensor<i8, 4, 4, 1> = [[[47]; 4]; 4]; // real 0.02 · (47 + 3) = 1.0
/// let mut y: Tensor<i8, 4, 4, 2> = [[[0; 2]; 4]; 4];
/// CONV.forward::<Direct, 4, 4, 4, 4>(&x, &mut y);
/// // Interior, channel 0: (500 + 9 · 50 · 10) · (0.02 · 0.01 / 0.1) = 10 steps, + 5 = 15.
/// assert_eq!(y[1][1][0], 15);
/// // Channel 1 is negative: ReLU clamps it to the zero point.
/// assert_eq!(y[1][1][1], 5);
/// // A bias beyond the accumulator bound is rejected.
/// static HUGE: [i32; 2] = [i32::MAX, 0];
/// let bad = Conv2dI8::<1, 2, 3, 3>::new(&W, &HUGE, &M, 0, 0);
/// assert_eq!(bad.map(|_| ()), Err(Error::AccumulatorOverflow));
/// ```
///
/// A layer whose accumulator could overflow does not compile (`65 794 · 255 · 128 > 2^31 − 1`):
///
/// ```compile_fail
/// use tinyconv::{Conv2dI8, Reference, Tensor, quant::QuantizedMultiplier};
/// static W: [[[[i8; 65_794]; 1]; 1]; 1] = [[[[0; 65_794]]]];
/// static B: [i32; 1] = [0];
/// static M: [QuantizedMultiplier; 1] = [QuantizedMultiplier::ONE];
/// let conv = Conv2dI8::<65_794, 1, 1, 1>::new(&W, &B, &M, 0, 0).unwrap();
/// let x: Tensor<i8, 1, 1, 65_794> = [[[0; 65_794]]];
/// let mut y: Tensor<i8, 1, 1, 1> = [[[0]]];
/// conv.forward::<Reference, 1, 1, 1, 1>(&x, &mut y);
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
    weights: &'w Filters<i8, COUT, KH, KW, CIN>,
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
    /// A layer without fused activation and with TFLite's default double rounding.
    ///
    /// `multipliers[o]` is `input_scale · weight_scale[o] / output_scale` (see
    /// [`PerChannelScales::requant_multipliers`](crate::quant::PerChannelScales::requant_multipliers)).
    ///
    /// # Errors
    /// [`Error::AccumulatorOverflow`] unless `KH·KW·CIN · 255 · 128 + max|bias| ≤ i32::MAX`.
    pub const fn new(
        weights: &'w Filters<i8, COUT, KH, KW, CIN>,
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
        LayerParamsI8 {
            input_zero_point: self.input_zero_point,
            output_zero_point: self.output_zero_point,
            multipliers,
            bias: Some(bias),
            range: self.range,
            rounding: self.rounding,
        }
    }

    /// Filters, `[COUT][KH][KW][CIN]`.
    pub const fn weights(&self) -> &'w Filters<i8, COUT, KH, KW, CIN> {
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

    /// Computes the layer with algorithm `A` ([`Reference`](crate::Reference),
    /// [`Im2col`](crate::Im2col), [`Direct`](crate::Direct)).
    ///
    /// Fails to compile unless `OH × OW` is the output size of an `H × W` input, the
    /// algorithm's scratch (if it uses one) holds [`im2col::scratch_len_i8`] `i16`s, and
    /// `KH·KW·CIN · 255 · 128 ≤ i32::MAX`.
    ///
    /// # Panics
    /// Never: the shapes are checked at compile time, the bias by [`new`](Self::new).
    pub fn forward<
        A: Algorithm,
        const H: usize,
        const W: usize,
        const OH: usize,
        const OW: usize,
    >(
        &self,
        input: &Tensor<i8, H, W, CIN>,
        output: &mut Tensor<i8, OH, OW, COUT>,
    ) {
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
                A::SCRATCH_I8 >= im2col::scratch_len_i8(&Self::geometry(H, W)),
                "the algorithm's scratch is smaller than im2col::scratch_len_i8"
            );
            assert!(
                matches!(check_accumulator(KH * KW * CIN, 0), Ok(())),
                "KH·KW·CIN·255·128 exceeds i32::MAX: the int8 accumulator could overflow"
            );
        }
        let r = A::conv2d_i8(
            &Self::geometry(H, W),
            flat(input),
            self.weights.as_flattened().as_flattened().as_flattened(),
            &self.params(),
            flat_mut(output),
        );
        debug_assert!(r.is_ok(), "{r:?}");
    }
}
