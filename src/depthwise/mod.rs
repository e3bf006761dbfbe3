//! Depthwise 2-D convolution: every input channel is convolved with its own `multiplier`
//! filters, channels never mix (TFLite's `DEPTHWISE_CONV_2D`, PyTorch's `groups = in_c`).
//!
//! The geometry is a [`Conv2dGeometry`] with `out_c = in_c · multiplier` (build it with
//! [`Conv2dGeometry::depthwise`]); output channel `o = c · multiplier + m` reads input channel
//! `c = o / multiplier`:
//!
//! ```text
//! out[y][x][o] = act(b[o] + Σ_{i,j} w[i][j][o] · in[y·s_h + i·d_h − p_top][x·s_w + j·d_w − p_left][o / M])
//! ```
//!
//! with taps outside the image skipped (for int8: they contribute nothing, the input offset is
//! applied only inside the image, as TFLite's `DepthwiseConvPerChannel`).
//!
//! Layouts: input `[H][W][C]`, output `[OH][OW][C·M]`, canonical filters `[KH][KW][C·M]`
//! (TFLite's `[1][KH][KW][C·M]`), bias `[C·M]`.
//!
//! | module | how | packed filters | targets |
//! |---|---|---|---|
//! | [`reference`](mod@reference) | plain loops from the formula; the oracle | canonical | any |
//! | [`simd`] | 16 channels per vector (`wide`), 4 output pixels per block, interior/border split | `[M][KH][KW][C]` | desktop (SSE2/AVX2/NEON/wasm) |
//! | [`scalar`] | channel by channel, the channel's taps in registers, input offset folded into the bias in the interior | `[C·M][KH][KW]` | Cortex-M, RISC-V |
//!
//! Every kernel follows the crate's kernel contract: `scratch_len_*` (0 for all three),
//! a `const fn pack_weights_*` that permutes canonical filters into the order the kernel reads,
//! and `depthwise_conv2d_*(g, input, packed, params, scratch, output)`. [`DepthwiseI8Kernel`]
//! and [`DepthwiseF32Kernel`] name them and pick one per layer ([`DepthwiseI8Kernel::select`]).
//! [`DepthwiseConv2d`] and [`DepthwiseConv2dI8`] are the typed layers.

pub mod reference;
pub mod scalar;
pub mod simd;

use crate::activation::Activation;
use crate::conv::ConvStats;
use crate::error::{Error, check_len};
use crate::gemm::i16::VECTOR;
use crate::geometry::{Conv2dGeometry, Padding, output_size, output_size_or_max};
use crate::quant::max_abs_bias;
use crate::quant::{
    ActivationRange, LayerParamsI8, QuantizedMultiplier, Rounding, check_accumulator,
};
use crate::tensor::{Tensor, flat, flat_mut};

/// Sizes derived from a valid depthwise [`Conv2dGeometry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepthwiseDims {
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Depth multiplier `M = out_c / in_c`.
    pub multiplier: usize,
    /// Taps of one filter, `kernel_h · kernel_w` (the length of each dot product).
    pub taps: usize,
    /// Elements of the input, `in_h · in_w · in_c`.
    pub input_len: usize,
    /// Elements of the filters, `kernel_h · kernel_w · out_c`.
    pub weights_len: usize,
    /// Elements of the output, `out_h · out_w · out_c`.
    pub output_len: usize,
}

impl Conv2dGeometry {
    /// A depthwise convolution of an `[h, w, c]` input with `multiplier` filters of
    /// `kernel = [kh, kw]` per channel (`out_c = c · multiplier`), unit stride and dilation, no
    /// padding; set the rest with the builder methods.
    ///
    /// ```
    /// use tinyconv::{Conv2dGeometry, Padding};
    /// // DS-CNN's depthwise layers: 3×3 over 25×5×64, "same" padding.
    /// let g = Conv2dGeometry::depthwise([25, 5, 64], 1, [3, 3]).with_same_padding();
    /// assert_eq!(g.padding, Padding::uniform(1));
    /// let d = g.depthwise_dims().unwrap();
    /// assert_eq!((d.out_h, d.out_w, d.multiplier, d.weights_len), (25, 5, 1, 3 * 3 * 64));
    /// ```
    pub const fn depthwise(input: [usize; 3], multiplier: usize, kernel: [usize; 2]) -> Self {
        // An overflowing product becomes 0 channels, which `depthwise_dims` rejects.
        let out_c = match input[2].checked_mul(multiplier) {
            Some(n) => n,
            None => 0,
        };
        Conv2dGeometry::new(input, out_c, kernel)
    }

    /// The depth multiplier `out_c / in_c` (0 if `in_c` is 0).
    pub const fn depth_multiplier(&self) -> usize {
        match self.out_c.checked_div(self.in_c) {
            Some(m) => m,
            None => 0,
        }
    }

    /// Validates the geometry as a depthwise convolution and derives its sizes.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] if a size, channel count, stride or dilation is zero, `out_c`
    /// is not a multiple of `in_c`, the dilated kernel is larger than the padded input, or a
    /// length overflows `usize`.
    pub const fn depthwise_dims(&self) -> Result<DepthwiseDims, Error> {
        if self.in_c == 0 || self.out_c == 0 {
            return Err(Error::InvalidGeometry("channel count is zero"));
        }
        if !self.out_c.is_multiple_of(self.in_c) {
            return Err(Error::InvalidGeometry(
                "depthwise: out_c must be a multiple of in_c (the depth multiplier)",
            ));
        }
        let p = self.padding;
        let Some(out_h) = output_size(
            self.in_h,
            self.kernel_h,
            self.stride_h,
            p.top,
            p.bottom,
            self.dilation_h,
        ) else {
            return Err(Error::InvalidGeometry(
                "height: zero size, kernel, stride or dilation, or kernel larger than padded input",
            ));
        };
        let Some(out_w) = output_size(
            self.in_w,
            self.kernel_w,
            self.stride_w,
            p.left,
            p.right,
            self.dilation_w,
        ) else {
            return Err(Error::InvalidGeometry(
                "width: zero size, kernel, stride or dilation, or kernel larger than padded input",
            ));
        };
        let (Some(input_len), Some(taps), Some(output_len)) = (
            mul3(self.in_h, self.in_w, self.in_c),
            self.kernel_h.checked_mul(self.kernel_w),
            mul3(out_h, out_w, self.out_c),
        ) else {
            return Err(Error::InvalidGeometry("size overflows usize"));
        };
        let Some(weights_len) = taps.checked_mul(self.out_c) else {
            return Err(Error::InvalidGeometry("size overflows usize"));
        };
        Ok(DepthwiseDims {
            out_h,
            out_w,
            multiplier: self.out_c / self.in_c,
            taps,
            input_len,
            weights_len,
            output_len,
        })
    }

    /// Validates the depthwise geometry and the lengths of a call's buffers (`bias` may be
    /// absent).
    ///
    /// # Errors
    /// As [`depthwise_dims`](Self::depthwise_dims), and [`Error::LengthMismatch`] naming the
    /// first wrong buffer.
    pub fn depthwise_check(
        &self,
        input: usize,
        weights: usize,
        bias: Option<usize>,
        output: usize,
    ) -> Result<DepthwiseDims, Error> {
        let d = self.depthwise_dims()?;
        check_len("input", d.input_len, input)?;
        check_len("weights", d.weights_len, weights)?;
        if let Some(b) = bias {
            check_len("bias", self.out_c, b)?;
        }
        check_len("output", d.output_len, output)?;
        Ok(d)
    }
}

const fn mul3(a: usize, b: usize, c: usize) -> Option<usize> {
    match a.checked_mul(b) {
        Some(ab) => ab.checked_mul(c),
        None => None,
    }
}

/// Checks what every `pack_weights_*` checks: a valid depthwise geometry and two buffers of
/// exactly the filters' length. Returns the dims.
pub(crate) const fn check_pack(
    g: &Conv2dGeometry,
    canonical: usize,
    packed: usize,
) -> Result<DepthwiseDims, Error> {
    let d = match g.depthwise_dims() {
        Ok(d) => d,
        Err(e) => return Err(e),
    };
    if canonical != d.weights_len {
        return Err(Error::LengthMismatch {
            what: "weights",
            expected: d.weights_len,
            actual: canonical,
        });
    }
    if packed != d.weights_len {
        return Err(Error::LengthMismatch {
            what: "packed weights",
            expected: d.weights_len,
            actual: packed,
        });
    }
    Ok(d)
}

/// Interior and border pixel counts (as [`ConvStats`]) of a valid depthwise geometry.
pub(crate) fn pixel_stats(g: &Conv2dGeometry, d: &DepthwiseDims) -> ConvStats {
    let (x_lo, x_hi) = crate::conv::direct::interior_cols(g, d.out_w);
    let rows = (0..d.out_h)
        .filter(|&oy| g.valid_rows(oy) == (0, g.kernel_h))
        .count();
    let interior = rows * (x_hi - x_lo);
    ConvStats {
        interior_pixels: interior,
        border_pixels: d.out_h * d.out_w - interior,
        ..ConvStats::default()
    }
}

/// The int8 depthwise kernels, to name one per layer. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DepthwiseI8Kernel {
    /// [`reference::depthwise_conv2d_i8`].
    Reference,
    /// [`simd::depthwise_conv2d_i8`].
    Simd,
    /// [`scalar::depthwise_conv2d_i8`].
    Scalar,
}

impl DepthwiseI8Kernel {
    /// Every kernel, for tests and benches.
    pub const ALL: [Self; 3] = [Self::Reference, Self::Simd, Self::Scalar];

    /// The fastest kernel for `g` on this target: [`Simd`](Self::Simd) where `wide` has vector
    /// registers, [`Scalar`](Self::Scalar) elsewhere (Cortex-M, RISC-V; and on any host built
    /// with `--cfg tinyconv_scalar_kernels`).
    ///
    /// ```
    /// use tinyconv::{Conv2dGeometry, depthwise::DepthwiseI8Kernel};
    /// const G: Conv2dGeometry = Conv2dGeometry::depthwise([25, 5, 64], 1, [3, 3]).with_same_padding();
    /// const K: DepthwiseI8Kernel = DepthwiseI8Kernel::select(&G);
    /// # let _ = K;
    /// ```
    pub const fn select(g: &Conv2dGeometry) -> Self {
        let _ = g;
        if VECTOR { Self::Simd } else { Self::Scalar }
    }

    /// The kernel's name in reports and benches.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Simd => "simd",
            Self::Scalar => "scalar",
        }
    }

    /// `i16` scratch elements the kernel needs for `g` (0 for every depthwise kernel).
    pub const fn scratch_len(self, g: &Conv2dGeometry) -> usize {
        match self {
            Self::Reference => reference::scratch_len_i8(g),
            Self::Simd => simd::scratch_len_i8(g),
            Self::Scalar => scalar::scratch_len_i8(g),
        }
    }

    /// Permutes canonical filters `[KH][KW][C·M]` into the kernel's order (`const`: pack at
    /// compile time).
    ///
    /// # Errors
    /// As the kernel's `pack_weights_i8`.
    pub const fn pack(
        self,
        g: &Conv2dGeometry,
        canonical: &[i8],
        packed: &mut [i8],
    ) -> Result<(), Error> {
        match self {
            Self::Reference => reference::pack_weights_i8(g, canonical, packed),
            Self::Simd => simd::pack_weights_i8(g, canonical, packed),
            Self::Scalar => scalar::pack_weights_i8(g, canonical, packed),
        }
    }

    /// Runs the kernel over weights packed by [`pack`](Self::pack) with the same kernel.
    ///
    /// # Errors
    /// As the kernel's `depthwise_conv2d_i8`.
    #[inline(always)]
    pub fn run(
        self,
        g: &Conv2dGeometry,
        input: &[i8],
        packed: &[i8],
        p: &LayerParamsI8<'_>,
        scratch: &mut [i16],
        output: &mut [i8],
    ) -> Result<ConvStats, Error> {
        match self {
            Self::Reference => reference::depthwise_conv2d_i8(g, input, packed, p, scratch, output),
            Self::Simd => simd::depthwise_conv2d_i8(g, input, packed, p, scratch, output),
            Self::Scalar => scalar::depthwise_conv2d_i8(g, input, packed, p, scratch, output),
        }
    }
}

/// The f32 depthwise kernels, to name one per layer. See the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DepthwiseF32Kernel {
    /// [`reference::depthwise_conv2d_f32`].
    Reference,
    /// [`simd::depthwise_conv2d_f32`].
    Simd,
    /// [`scalar::depthwise_conv2d_f32`].
    Scalar,
}

impl DepthwiseF32Kernel {
    /// Every kernel, for tests and benches.
    pub const ALL: [Self; 3] = [Self::Reference, Self::Simd, Self::Scalar];

    /// The fastest kernel for `g` on this target, as [`DepthwiseI8Kernel::select`].
    pub const fn select(g: &Conv2dGeometry) -> Self {
        let _ = g;
        if VECTOR { Self::Simd } else { Self::Scalar }
    }

    /// The kernel's name in reports and benches.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Simd => "simd",
            Self::Scalar => "scalar",
        }
    }

    /// `f32` scratch elements the kernel needs for `g` (0 for every depthwise kernel).
    pub const fn scratch_len(self, g: &Conv2dGeometry) -> usize {
        match self {
            Self::Reference => reference::scratch_len_f32(g),
            Self::Simd => simd::scratch_len_f32(g),
            Self::Scalar => scalar::scratch_len_f32(g),
        }
    }

    /// Permutes canonical filters `[KH][KW][C·M]` into the kernel's order.
    ///
    /// # Errors
    /// As the kernel's `pack_weights_f32`.
    pub const fn pack(
        self,
        g: &Conv2dGeometry,
        canonical: &[f32],
        packed: &mut [f32],
    ) -> Result<(), Error> {
        match self {
            Self::Reference => reference::pack_weights_f32(g, canonical, packed),
            Self::Simd => simd::pack_weights_f32(g, canonical, packed),
            Self::Scalar => scalar::pack_weights_f32(g, canonical, packed),
        }
    }

    /// Runs the kernel over weights packed by [`pack`](Self::pack) with the same kernel.
    ///
    /// # Errors
    /// As the kernel's `depthwise_conv2d_f32`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        self,
        g: &Conv2dGeometry,
        input: &[f32],
        packed: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        scratch: &mut [f32],
        output: &mut [f32],
    ) -> Result<ConvStats, Error> {
        match self {
            Self::Reference => {
                reference::depthwise_conv2d_f32(g, input, packed, bias, act, scratch, output)
            }
            Self::Simd => simd::depthwise_conv2d_f32(g, input, packed, bias, act, scratch, output),
            Self::Scalar => {
                scalar::depthwise_conv2d_f32(g, input, packed, bias, act, scratch, output)
            }
        }
    }
}

/// `packed[dst(k)] = canonical[k]` for every `k`, where `dst` maps the canonical index
/// `(t, o)` (`t = i·kw + j` the tap, `o = c·M + m` the output channel) to the kernel's order.
/// Both lengths were checked by [`check_pack`].
pub(crate) const fn permute_i8(
    d: &DepthwiseDims,
    out_c: usize,
    canonical: &[i8],
    packed: &mut [i8],
    dst: Layout,
) {
    let mut t = 0;
    while t < d.taps {
        let mut o = 0;
        while o < out_c {
            packed[dst.index(d, out_c, t, o)] = canonical[t * out_c + o];
            o += 1;
        }
        t += 1;
    }
}

/// As [`permute_i8`] for `f32`.
pub(crate) const fn permute_f32(
    d: &DepthwiseDims,
    out_c: usize,
    canonical: &[f32],
    packed: &mut [f32],
    dst: Layout,
) {
    let mut t = 0;
    while t < d.taps {
        let mut o = 0;
        while o < out_c {
            packed[dst.index(d, out_c, t, o)] = canonical[t * out_c + o];
            o += 1;
        }
        t += 1;
    }
}

/// Filter orders of the kernels.
#[derive(Clone, Copy)]
pub(crate) enum Layout {
    /// `[KH][KW][C·M]` (TFLite's, the reference's).
    Canonical,
    /// `[M][KH][KW][C]`: for each multiplier index, the taps of all input channels.
    MultiplierMajor,
    /// `[C·M][KH][KW]`: each filter's taps contiguous.
    ChannelMajor,
}

impl Layout {
    const fn index(self, d: &DepthwiseDims, out_c: usize, t: usize, o: usize) -> usize {
        match self {
            Layout::Canonical => t * out_c + o,
            Layout::MultiplierMajor => {
                let in_c = out_c / d.multiplier;
                ((o % d.multiplier) * d.taps + t) * in_c + o / d.multiplier
            }
            Layout::ChannelMajor => o * d.taps + t,
        }
    }
}

/// A depthwise convolution layer (f32) whose shape is in its type: `CIN` input channels,
/// `COUT = CIN · M` outputs, `KH × KW` filters, strides `SH`, `SW`, padding `PT`, `PB`, `PL`,
/// `PR`, dilations `DH`, `DW`. The filters are borrowed in the order of the layer's kernel
/// (packed at compile time with [`pack`](Self::pack)), so they can live in flash.
///
/// ```
/// use tinyconv::depthwise::{DepthwiseConv2d, DepthwiseF32Kernel};
/// use tinyconv::Tensor;
/// type Layer = DepthwiseConv2d<'static, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1>; // 3×3, padding 1
/// const K: DepthwiseF32Kernel = DepthwiseF32Kernel::select(&Layer::geometry(4, 4));
/// // Channel 0 sums its 3×3 window, channel 1 takes the centre tap only.
/// const CANONICAL: [[[f32; 2]; 3]; 3] = {
///     let mut w = [[[1.0, 0.0]; 3]; 3];
///     w[1][1][1] = 1.0;
///     w
/// };
/// static W: [[[f32; 2]; 3]; 3] = Layer::pack(K, &CANONICAL);
/// static B: [f32; 2] = [0.0, 0.5];
/// let layer = Layer::new(K, &W, &B);
/// let x: Tensor<f32, 4, 4, 2> = [[[1.0, 2.0]; 4]; 4];
/// let mut y: Tensor<f32, 4, 4, 2> = Default::default();
/// layer.forward::<4, 4, 4, 4>(&x, &mut y);
/// assert_eq!(y[0][0], [4.0, 2.5]); // corner: 2×2 taps inside the image
/// assert_eq!(y[1][1], [9.0, 2.5]);
/// ```
///
/// `COUT` must be a multiple of `CIN`, and the output size must follow from the input size:
///
/// ```compile_fail
/// use tinyconv::depthwise::{DepthwiseConv2d, DepthwiseF32Kernel};
/// static W: [[[f32; 3]; 3]; 3] = [[[0.0; 3]; 3]; 3];
/// static B: [f32; 3] = [0.0; 3];
/// let layer = DepthwiseConv2d::<2, 3, 3, 3>::new(DepthwiseF32Kernel::Reference, &W, &B);
/// let x = [[[0.0f32; 2]; 4]; 4];
/// let mut y = [[[0.0f32; 3]; 2]; 2];
/// layer.forward::<4, 4, 2, 2>(&x, &mut y);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseConv2d<
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
    kernel: DepthwiseF32Kernel,
    /// Filters in `kernel`'s order (canonical `[KH][KW][COUT]` for the reference).
    weights: &'w [[[f32; COUT]; KW]; KH],
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
> DepthwiseConv2d<'w, CIN, COUT, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW>
{
    /// A layer run by `kernel` over filters packed for it by [`pack`](Self::pack), without
    /// activation.
    pub const fn new(
        kernel: DepthwiseF32Kernel,
        packed: &'w [[[f32; COUT]; KW]; KH],
        bias: &'w [f32; COUT],
    ) -> Self {
        DepthwiseConv2d {
            kernel,
            weights: packed,
            bias,
            activation: Activation::Identity,
        }
    }

    /// The same layer with `activation` fused into its output.
    pub const fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Canonical filters `[KH][KW][COUT]` in `kernel`'s order, for a `static` (evaluate it in a
    /// `const` or `static` initialiser: packing happens at compile time).
    ///
    /// # Panics
    /// If `COUT` is not a multiple of `CIN` or a size is zero (at compile time in a `const`).
    pub const fn pack(
        kernel: DepthwiseF32Kernel,
        canonical: &[[[f32; COUT]; KW]; KH],
    ) -> [[[f32; COUT]; KW]; KH] {
        let mut packed = [[[0.0; COUT]; KW]; KH];
        let g = Self::geometry(KH, KW);
        if kernel
            .pack(
                &g,
                canonical.as_flattened().as_flattened(),
                packed.as_flattened_mut().as_flattened_mut(),
            )
            .is_err()
        {
            panic!("depthwise: COUT must be a non-zero multiple of CIN");
        }
        packed
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

    /// Computes the layer with its kernel.
    ///
    /// Fails to compile unless `OH × OW` is the output size of an `H × W` input and `COUT` is a
    /// non-zero multiple of `CIN`.
    ///
    /// # Panics
    /// Never: every condition the kernels check is checked at compile time.
    pub fn forward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
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
                CIN > 0 && COUT > 0 && COUT.is_multiple_of(CIN),
                "COUT must be a non-zero multiple of CIN (the depth multiplier)"
            );
        }
        let r = self.kernel.run(
            &Self::geometry(H, W),
            flat(input),
            self.weights.as_flattened().as_flattened(),
            Some(self.bias),
            self.activation,
            &mut [],
            flat_mut(output),
        );
        debug_assert!(r.is_ok(), "{r:?}");
    }
}

/// An int8 depthwise convolution layer (TFLite's per-channel int8 spec) whose shape is in its
/// type, with the const parameters of [`DepthwiseConv2d`]. Filters (packed for the layer's
/// kernel), bias and multipliers are borrowed; the constructor is `const` and checks the bias
/// against the accumulator bound.
///
/// ```
/// use tinyconv::depthwise::{DepthwiseConv2dI8, DepthwiseI8Kernel};
/// use tinyconv::quant::{ActivationRange, QuantParams, QuantizedMultiplier};
/// use tinyconv::Tensor;
/// type Layer = DepthwiseConv2dI8<'static, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1>; // M = 2
/// const K: DepthwiseI8Kernel = DepthwiseI8Kernel::select(&Layer::geometry(4, 4));
/// static W: [[[i8; 2]; 3]; 3] = Layer::pack(K, &[[[10, -20]; 3]; 3]);
/// static B: [i32; 2] = [500, 0];
/// static M: [QuantizedMultiplier; 2] = [QuantizedMultiplier::ONE; 2];
/// const LAYER: Layer = match Layer::new(K, &W, &B, &M, -3, 5) {
///     Ok(l) => l,
///     Err(_) => panic!(),
/// };
/// let x: Tensor<i8, 4, 4, 1> = [[[-1]; 4]; 4]; // x − zp = 2
/// let mut y: Tensor<i8, 4, 4, 2> = [[[0; 2]; 4]; 4];
/// LAYER.forward::<4, 4, 4, 4>(&x, &mut y);
/// // Interior: 500 + 9 · 2 · 10 = 680 → 127 (saturated); 9 · 2 · (−20) = −360 → −128.
/// assert_eq!(y[1][1], [127, -128]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseConv2dI8<
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
    kernel: DepthwiseI8Kernel,
    weights: &'w [[[i8; COUT]; KW]; KH],
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
> DepthwiseConv2dI8<'w, CIN, COUT, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW>
{
    /// A layer run by `kernel` over filters packed for it, without fused activation, with
    /// TFLite's default double rounding. `multipliers[o] = input_scale · weight_scale[o] /
    /// output_scale`.
    ///
    /// # Errors
    /// [`Error::AccumulatorOverflow`] unless `KH·KW · 255 · 128 + max|bias| ≤ i32::MAX`.
    pub const fn new(
        kernel: DepthwiseI8Kernel,
        packed: &'w [[[i8; COUT]; KW]; KH],
        bias: &'w [i32; COUT],
        multipliers: &'w [QuantizedMultiplier; COUT],
        input_zero_point: i8,
        output_zero_point: i8,
    ) -> Result<Self, Error> {
        match check_accumulator(KH * KW, max_abs_bias(bias)) {
            Ok(()) => Ok(DepthwiseConv2dI8 {
                kernel,
                weights: packed,
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

    /// The same layer with a fused activation (e.g. [`ActivationRange::relu6`]).
    pub const fn with_range(mut self, range: ActivationRange) -> Self {
        self.range = range;
        self
    }

    /// The same layer with another requantization rounding.
    pub const fn with_rounding(mut self, rounding: Rounding) -> Self {
        self.rounding = rounding;
        self
    }

    /// Canonical filters `[KH][KW][COUT]` in `kernel`'s order, for a `static`.
    ///
    /// # Panics
    /// If `COUT` is not a multiple of `CIN` or a size is zero (at compile time in a `const`).
    pub const fn pack(
        kernel: DepthwiseI8Kernel,
        canonical: &[[[i8; COUT]; KW]; KH],
    ) -> [[[i8; COUT]; KW]; KH] {
        let mut packed = [[[0; COUT]; KW]; KH];
        let g = Self::geometry(KH, KW);
        if kernel
            .pack(
                &g,
                canonical.as_flattened().as_flattened(),
                packed.as_flattened_mut().as_flattened_mut(),
            )
            .is_err()
        {
            panic!("depthwise: COUT must be a non-zero multiple of CIN");
        }
        packed
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

    /// The runtime geometry of this layer on an `h × w` input.
    pub const fn geometry(h: usize, w: usize) -> Conv2dGeometry {
        DepthwiseConv2d::<CIN, COUT, KH, KW, SH, SW, PT, PB, PL, PR, DH, DW>::geometry(h, w)
    }

    /// Computes the layer with its kernel.
    ///
    /// Fails to compile unless `OH × OW` is the output size of an `H × W` input, `COUT` is a
    /// non-zero multiple of `CIN` and `KH·KW · 255 · 128 ≤ i32::MAX`.
    ///
    /// # Panics
    /// Never: the shapes are checked at compile time, the bias by [`new`](Self::new).
    pub fn forward<const H: usize, const W: usize, const OH: usize, const OW: usize>(
        &self,
        input: &Tensor<i8, H, W, CIN>,
        output: &mut Tensor<i8, OH, OW, COUT>,
    ) {
        const {
            assert!(
                OH == output_size_or_max(H, KH, SH, PT, PB, DH),
                "output height does not follow from the geometry"
            );
            assert!(
                OW == output_size_or_max(W, KW, SW, PL, PR, DW),
                "output width does not follow from the geometry"
            );
            assert!(
                CIN > 0 && COUT > 0 && COUT.is_multiple_of(CIN),
                "COUT must be a non-zero multiple of CIN (the depth multiplier)"
            );
            assert!(
                matches!(check_accumulator(KH * KW, 0), Ok(())),
                "KH·KW·255·128 exceeds i32::MAX: the int8 accumulator could overflow"
            );
        }
        let r = self.kernel.run(
            &Self::geometry(H, W),
            flat(input),
            self.weights.as_flattened().as_flattened(),
            &self.params(),
            &mut [],
            flat_mut(output),
        );
        debug_assert!(r.is_ok(), "{r:?}");
    }
}
