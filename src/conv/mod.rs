//! 2-D convolution: three algorithms with one meaning, a kernel family that picks one per layer,
//! and the typed layers [`Conv2d`] and [`Conv2dI8`].
//!
//! | module | how | scratch |
//! |---|---|---|
//! | [`reference`](mod@reference) | plain loops from the formula; the oracle | none |
//! | [`im2col`] | patches of a tile of output pixels copied into scratch, then a SIMD GEMM | [`Conv2dF32Kernel::scratch_len`] |
//! | [`direct`] | SIMD dot products over contiguous runs of the input, interior/border split | none |
//! | [`pairs`] (int8) | input widened into words holding two pixels' taps, 2 filters × 2 pixels per block (Cortex-M4 `smlabb`/`smlatb`) | the padded input, one word per element |
//! | [`swar`] (int8) | input widened once into words holding two pixels' taps, two 16-bit products per 32-bit multiply (Cortex-M0 `muls`) | the padded input, one word per element |
//! | [`implicit_gemm`] | patches read in place (a ring of padded rows when padded), filters packed in blocks of 16 output channels | [`implicit_gemm::scratch_len_f32`] / [`implicit_gemm::scratch_len_i8`] |
//! | [`one_channel`] | one input channel only (LeNet's conv1): vectorised over output pixels | [`one_channel::scratch_len_f32`] / [`one_channel::scratch_len_i8`] |
//! | [`scalar`] (f32) | targets without vector registers: 4 filters × 2×2 pixels in scalar registers | the padded input ([`scalar::scratch_len_f32`]; none unpadded) |
//!
//! [`implicit_gemm`], [`one_channel`] and [`scalar`] also fuse a 2×2, stride-2 pooling into their output
//! stage ([`Conv2dF32Kernel::run_pool2`], [`Conv2dI8Kernel::run_pool2`], see [`pool_stage`]).
//!
//! All of them compute `out[y][x][o] = act(b[o] + Σ_{i,j,c} w[o][i][j][c] ·
//! in[y·s_h + i·d_h − p_top][x·s_w + j·d_w − p_left][c])` with taps outside the image skipped,
//! on channels-last tensors and `[c_out][kh][kw][c_in]` filters.
//!
//! ## Choosing a kernel per layer
//!
//! [`Conv2dF32Kernel`] and [`Conv2dI8Kernel`] name the kernels of each precision, as CMSIS-NN's
//! `arm_convolve_wrapper_s8` does: `select(&geometry)` is the kernel this target runs fastest
//! for that layer's shape (one input channel, 1×1, many channels), and any variant can be named
//! instead. Everything a kernel needs is a `const fn` of the kernel and the geometry, so a model
//! decides at compile time:
//!
//! - [`scratch_len`](Conv2dI8Kernel::scratch_len): the scratch the caller provides (the kernel
//!   never allocates, and never relies on the scratch being zeroed);
//! - [`pack`](Conv2dI8Kernel::pack): the filters rearranged in the order the kernel reads them,
//!   a permutation of the canonical `[c_out][kh][kw][c_in]` layout (same length), computed at
//!   compile time for `static` weights so that nothing is packed at run time;
//! - [`run`](Conv2dI8Kernel::run): the convolution over packed filters.
//!
//! ```
//! use tinyconv::{Conv2dGeometry, Padding, conv::Conv2dI8Kernel, quant::{LayerParamsI8, QuantizedMultiplier}};
//! const G: Conv2dGeometry = Conv2dGeometry::new([4, 4, 1], 2, [3, 3]).with_padding(Padding::uniform(1));
//! const K: Conv2dI8Kernel = Conv2dI8Kernel::select(&G);
//! const CANONICAL: [i8; 18] = [1; 18];
//! // Packed at compile time for the kernel that runs it.
//! static PACKED: [i8; 18] = match K.pack_array(&G, &CANONICAL) { Ok(w) => w, Err(_) => panic!() };
//! let mut scratch = [0i16; K.scratch_len(&G)];
//! let p = LayerParamsI8::new(0, 0, &[QuantizedMultiplier::ONE], None);
//! let x = [1i8; 16];
//! let mut y = [0i8; 32];
//! K.run(&G, &x, &PACKED, &p, &mut scratch, &mut y)?;
//! assert_eq!(&y[..2], &[4, 4]); // corner: 2×2 taps inside the image
//! assert_eq!(y[5 * 2], 9); // interior: all 9 taps
//! # Ok::<(), tinyconv::Error>(())
//! ```

pub mod conv1d;
pub mod direct;
pub mod im2col;
pub mod implicit_gemm;
mod layer;
pub mod one_channel;
pub mod pairs;
pub mod pool_stage;
pub mod reference;
pub mod scalar;
pub mod swar;

pub use layer::{Conv2d, Conv2dI8, PackedFilters};
pub use pool_stage::Pool2x2;

use crate::activation::Activation;
use crate::error::Error;
use crate::geometry::Conv2dGeometry;
use crate::quant::LayerParamsI8;

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

/// Checks that `canonical` and `packed` both hold the filters of `g` (`out_c · kh · kw · in_c`).
pub(crate) const fn check_pack_len(
    g: &Conv2dGeometry,
    canonical: usize,
    packed: usize,
) -> Result<usize, Error> {
    let d = match g.dims() {
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
    Ok(d.weights_len)
}

/// Elements of f32 scratch that [`im2col`] gets per call: a tile of at most 4,096 elements
/// (at least one patch), no larger than the whole output.
const fn im2col_scratch_f32(g: &Conv2dGeometry) -> usize {
    let Ok(d) = g.dims() else { return 0 };
    if im2col::is_pointwise(g) {
        return 0;
    }
    let patch = d.patch_len;
    let mut tile = 4096 / patch;
    if tile == 0 {
        tile = 1;
    }
    let pixels = d.out_h * d.out_w;
    if tile > pixels {
        tile = pixels;
    }
    im2col::scratch_len(g, tile)
}

/// The f32 convolution kernels. See the [module docs](self) for how a layer picks one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Conv2dF32Kernel {
    /// [`reference::conv2d_f32`]: the oracle.
    Reference,
    /// [`im2col::conv2d_f32`]: im2col tiles + `f32x8` GEMM.
    Im2col,
    /// [`direct::conv2d_f32`]: direct SIMD convolution, no scratch.
    Direct,
    /// [`implicit_gemm::conv2d_f32`]: patches read in place, 16 output channels per `f32x8`
    /// register pair; fuses a 2×2 pooling ([`run_pool2`](Self::run_pool2)).
    ImplicitGemm,
    /// [`one_channel::conv2d_f32`]: one input channel, vectorised over output pixels; only
    /// for the shapes of [`one_channel::applies`] (others are [`Error::InvalidGeometry`]);
    /// fuses a 2×2 pooling.
    OneChannel,
    /// [`scalar::conv2d_f32`]: plain scalar code for targets without vector registers, 4
    /// filters × 2×2 output pixels in registers, the padded input copied into the scratch;
    /// fuses a 2×2 pooling.
    Scalar,
}

impl Conv2dF32Kernel {
    /// Every kernel, the reference first.
    pub const ALL: [Self; 6] = [
        Self::Reference,
        Self::Im2col,
        Self::Direct,
        Self::ImplicitGemm,
        Self::OneChannel,
        Self::Scalar,
    ];

    /// `"reference"`, `"im2col"`, `"direct"`, `"implicit-gemm"`, `"one-channel"` or
    /// `"scalar"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Im2col => "im2col",
            Self::Direct => "direct",
            Self::ImplicitGemm => "implicit-gemm",
            Self::OneChannel => "one-channel",
            Self::Scalar => "scalar",
        }
    }

    /// The largest scratch, in bytes, for which [`select`](Self::select) picks
    /// [`Scalar`](Self::Scalar) on targets without vector registers (8 KiB: the padded input of
    /// a whole LeNet-5 conv1 is 4 KiB, of one of its two-row bands 768 bytes).
    pub const SCALAR_MAX_SCRATCH_BYTES: usize = 8 * 1024;

    /// The kernel this target runs fastest for a layer of shape `g` (measured with
    /// `cargo bench --bench conv`): on targets with vector registers (x86-64, AArch64 NEON,
    /// wasm SIMD) [`OneChannel`](Self::OneChannel) for one input channel (LeNet's conv1: 0.53×
    /// im2col's time) and [`ImplicitGemm`](Self::ImplicitGemm) for the rest except 1×1 layers
    /// ([`Im2col`](Self::Im2col)'s pointwise path); [`Im2col`](Self::Im2col) elsewhere.
    /// [`ImplicitGemm`](Self::ImplicitGemm) also fuses a following 2×2 pooling (LeNet's conv2 +
    /// pool2: 0.69× im2col + pooling); unfused it took 0.75× im2col's time on LeNet's conv2 and
    /// 0.84×–1.18× on the bench's 3×3 layers (one run on a loaded machine).
    ///
    /// On targets without vector registers (Cortex-M, RISC-V, and any target with
    /// `--cfg tinyconv_scalar_kernels`), where `f32x8` is emulated by eight scalar lanes,
    /// [`Scalar`](Self::Scalar) when its scratch (the padded input, none for an unpadded
    /// layer) fits in [`SCALAR_MAX_SCRATCH_BYTES`](Self::SCALAR_MAX_SCRATCH_BYTES), else
    /// [`Im2col`](Self::Im2col), whose scratch is bounded (measured with
    /// `scripts/firmware_report.py` on the Cortex-M4F, see `docs/microcontroller.md`).
    pub const fn select(g: &Conv2dGeometry) -> Self {
        if !crate::gemm::i16::VECTOR {
            return if scalar::scratch_len_f32(g).saturating_mul(4) <= Self::SCALAR_MAX_SCRATCH_BYTES
            {
                Self::Scalar
            } else {
                Self::Im2col
            };
        }
        if one_channel::applies(g) {
            Self::OneChannel
        } else if im2col::is_pointwise(g) {
            Self::Im2col
        } else {
            Self::ImplicitGemm
        }
    }

    /// True if the kernel computes layers of shape `g` (every kernel but
    /// [`OneChannel`](Self::OneChannel), which needs [`one_channel::applies`]).
    pub const fn supports(self, g: &Conv2dGeometry) -> bool {
        match self {
            Self::OneChannel => one_channel::applies(g),
            _ => true,
        }
    }

    /// True if the kernel has a 2×2, stride-2 pooling fused into its output stage
    /// ([`run_pool2`](Self::run_pool2)).
    pub const fn fuses_pool2(self) -> bool {
        matches!(self, Self::ImplicitGemm | Self::OneChannel | Self::Scalar)
    }

    /// Elements of `f32` scratch [`run`](Self::run) (and [`run_pool2`](Self::run_pool2)) needs
    /// for `g` (0 for kernels without).
    pub const fn scratch_len(self, g: &Conv2dGeometry) -> usize {
        match self {
            Self::Reference | Self::Direct => 0,
            Self::Im2col => im2col_scratch_f32(g),
            Self::ImplicitGemm => implicit_gemm::scratch_len_f32(g),
            Self::OneChannel => one_channel::scratch_len_f32(g),
            Self::Scalar => scalar::scratch_len_f32(g),
        }
    }

    /// Rearranges canonical `[c_out][kh][kw][c_in]` filters into the order this kernel reads
    /// them (`packed` has the same length).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] (also for a shape the kernel does not
    /// [`support`](Self::supports)), or [`Error::LengthMismatch`] if either slice is not
    /// `out_c · kh · kw · in_c` long.
    pub const fn pack(
        self,
        g: &Conv2dGeometry,
        canonical: &[f32],
        packed: &mut [f32],
    ) -> Result<(), Error> {
        if !self.supports(g) {
            return Err(UNSUPPORTED);
        }
        match self {
            Self::Reference => reference::pack_weights_f32(g, canonical, packed),
            Self::Im2col => im2col::pack_weights_f32(g, canonical, packed),
            Self::Direct => direct::pack_weights_f32(g, canonical, packed),
            Self::ImplicitGemm => implicit_gemm::pack_weights_f32(g, canonical, packed),
            Self::OneChannel => one_channel::pack_weights_f32(g, canonical, packed),
            Self::Scalar => scalar::pack_weights_f32(g, canonical, packed),
        }
    }

    /// [`pack`](Self::pack) into a new array, for `static` weights.
    ///
    /// # Errors
    /// As [`pack`](Self::pack).
    pub const fn pack_array<const N: usize>(
        self,
        g: &Conv2dGeometry,
        canonical: &[f32; N],
    ) -> Result<[f32; N], Error> {
        let mut packed = [0.0; N];
        match self.pack(g, canonical, &mut packed) {
            Ok(()) => Ok(packed),
            Err(e) => Err(e),
        }
    }

    /// The convolution `out = act(bias + Σ w·x)` over filters packed by [`pack`](Self::pack),
    /// with at least [`scratch_len`](Self::scratch_len) elements of scratch.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`], [`Error::LengthMismatch`], [`Error::ScratchTooSmall`].
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
            Self::Reference => reference::conv2d_f32(g, input, packed, bias, act, scratch, output),
            Self::Im2col => im2col::conv2d_f32(g, input, packed, bias, act, scratch, output),
            Self::Direct => direct::conv2d_f32(g, input, packed, bias, act, scratch, output),
            Self::ImplicitGemm => {
                implicit_gemm::conv2d_f32(g, input, packed, bias, act, scratch, output)
            }
            Self::OneChannel => {
                one_channel::conv2d_f32(g, input, packed, bias, act, scratch, output)
            }
            Self::Scalar => scalar::conv2d_f32(g, input, packed, bias, act, scratch, output),
        }
    }

    /// [`run`](Self::run) followed by a 2×2, stride-2 pooling in one pass, for the kernels that
    /// [`fuse`](Self::fuses_pool2) it: `output` is the pooled `[out_h / 2][out_w / 2][out_c]`
    /// map (see [`pool_stage`]; a last odd row or column of the convolution is dropped).
    ///
    /// # Errors
    /// As [`run`](Self::run); [`Error::InvalidGeometry`] for a kernel without fused pooling or
    /// a convolution output smaller than 2×2.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn run_pool2(
        self,
        g: &Conv2dGeometry,
        input: &[f32],
        packed: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        pool: Pool2x2,
        scratch: &mut [f32],
        output: &mut [f32],
    ) -> Result<ConvStats, Error> {
        match self {
            Self::ImplicitGemm => {
                implicit_gemm::conv2d_pool2_f32(g, input, packed, bias, act, pool, scratch, output)
            }
            Self::OneChannel => {
                one_channel::conv2d_pool2_f32(g, input, packed, bias, act, pool, scratch, output)
            }
            Self::Scalar => {
                scalar::conv2d_pool2_f32(g, input, packed, bias, act, pool, scratch, output)
            }
            Self::Reference | Self::Im2col | Self::Direct => Err(NO_FUSED_POOL),
        }
    }
}

/// What [`Conv2dF32Kernel::pack`] and [`Conv2dI8Kernel::pack`] return for a shape the kernel does
/// not support.
const UNSUPPORTED: Error = Error::InvalidGeometry("the kernel does not support this layer shape");
/// What `run_pool2` returns for a kernel without fused pooling.
const NO_FUSED_POOL: Error = Error::InvalidGeometry("the kernel has no fused 2x2 pooling");

/// The int8 convolution kernels (TFLite's per-channel int8 semantics, bit-exact with each
/// other). See the [module docs](self) for how a layer picks one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Conv2dI8Kernel {
    /// [`reference::conv2d_i8`]: the oracle.
    Reference,
    /// [`im2col::conv2d_i8`]: widened row buffer + `i16` GEMM.
    Im2col,
    /// [`direct::conv2d_i8`]: direct convolution, no scratch.
    Direct,
    /// [`pairs::conv2d_i8`]: the input widened once into 32-bit words that hold one tap for two
    /// neighbouring output pixels, 2 filters × 2 pixels per block (two 16-bit multiply-adds per
    /// word: `smlabb`/`smlatb` on cores with Arm's DSP extension). Scratch: the padded input,
    /// one word per element.
    Pairs,
    /// [`implicit_gemm::conv2d_i8`]: patches widened once into a ring of rows, 16 output
    /// channels per `pmaddwd` pair; fuses a 2×2 pooling ([`run_pool2`](Self::run_pool2)).
    ImplicitGemm,
    /// [`one_channel::conv2d_i8`]: one input channel, vectorised over output pixels; only for
    /// the shapes of [`one_channel::applies`] (others are [`Error::InvalidGeometry`]); fuses a
    /// 2×2 pooling.
    OneChannel,
    /// [`swar::conv2d_i8`]: the input widened once into 32-bit words that hold one tap for two
    /// neighbouring output pixels, one filter × 2 pixels per block, two 16-bit products per
    /// 32-bit multiply (cores without DSP or vector instructions: Cortex-M0 `muls`). Scratch:
    /// the padded input, one word per element.
    Swar,
}

impl Conv2dI8Kernel {
    /// Every kernel, the reference first.
    pub const ALL: [Self; 7] = [
        Self::Reference,
        Self::Im2col,
        Self::Direct,
        Self::Pairs,
        Self::ImplicitGemm,
        Self::OneChannel,
        Self::Swar,
    ];

    /// `"reference"`, `"im2col"`, `"direct"`, `"pairs"`, `"implicit-gemm"`, `"one-channel"` or
    /// `"swar"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Im2col => "im2col",
            Self::Direct => "direct",
            Self::Pairs => "pairs",
            Self::ImplicitGemm => "implicit-gemm",
            Self::OneChannel => "one-channel",
            Self::Swar => "swar",
        }
    }

    /// The largest scratch, in bytes, for which [`select`](Self::select) picks
    /// [`Pairs`](Self::Pairs) on ARMv7E-M (8 KiB: LeNet-5's layers need 4.1 and 4.7 KiB).
    pub const PAIRS_MAX_SCRATCH_BYTES: usize = 8 * 1024;

    /// The kernel this target runs fastest for a layer of shape `g` (measured with
    /// `cargo bench --bench conv` on the desktop, `scripts/firmware_report.py` on Cortex-M).
    ///
    /// On ARMv7E-M targets (`thumbv7em-*`: Cortex-M4/M7, whose DSP extension has the 16-bit
    /// multiply-adds; `cfg(tinyconv_dsp)`, set by the build script), [`Pairs`](Self::Pairs)
    /// (measured on LeNet-5's conv1, one input channel, and conv2, six) when its scratch (the
    /// padded input widened to 16 bits, 4 bytes per element) fits in
    /// [`PAIRS_MAX_SCRATCH_BYTES`](Self::PAIRS_MAX_SCRATCH_BYTES), else [`Im2col`](Self::Im2col),
    /// whose scratch is a few patch columns: RAM is the scarce resource on these chips, and an
    /// imported model with 64-channel maps would otherwise need twice TensorFlow Lite Micro's arena.
    /// On targets with vector registers [`OneChannel`](Self::OneChannel) for one input channel
    /// (LeNet's conv1: 0.61× im2col's time) and [`ImplicitGemm`](Self::ImplicitGemm) for the
    /// rest except 1×1 layers (LeNet's conv2: 0.96×; the bench's 3×3 layers: 0.88×–1.15×, one
    /// run on a loaded machine; it also fuses a following pooling). Elsewhere (ARMv6-M:
    /// Cortex-M0/M0+; RISC-V; `--cfg tinyconv_scalar_kernels` on a host) [`Swar`](Self::Swar)
    /// when its scratch (the padded input, one word per element) is no larger than
    /// [`Im2col`](Self::Im2col)'s (a few widened rows: so a model's RAM never grows by this
    /// choice), else [`Im2col`](Self::Im2col). LeNet-5's two-row bands take `Swar` (on the
    /// micro:bit conv1 + pool1 1.05 M instructions against 3.59 M with im2col, conv2 + pool2
    /// 1.16 M against 2.48 M, `scripts/firmware_report.py`; on the `sifive_e` RISC-V board the
    /// whole int8 inference 2.07 M against 4.51 M for the `Im2col` plan).
    pub const fn select(g: &Conv2dGeometry) -> Self {
        if cfg!(tinyconv_dsp) {
            return if pairs::scratch_len_i8(g).saturating_mul(2) <= Self::PAIRS_MAX_SCRATCH_BYTES {
                Self::Pairs
            } else {
                Self::Im2col
            };
        }
        if !crate::gemm::i16::VECTOR {
            return if swar::scratch_len_i8(g) <= im2col::scratch_len_i8(g) {
                Self::Swar
            } else {
                Self::Im2col
            };
        }
        if one_channel::applies(g) {
            Self::OneChannel
        } else if im2col::is_pointwise(g) {
            Self::Im2col
        } else {
            Self::ImplicitGemm
        }
    }

    /// True if the kernel computes layers of shape `g` (every kernel but
    /// [`OneChannel`](Self::OneChannel), which needs [`one_channel::applies`]).
    pub const fn supports(self, g: &Conv2dGeometry) -> bool {
        match self {
            Self::OneChannel => one_channel::applies(g),
            _ => true,
        }
    }

    /// True if the kernel has a lookup table and a 2×2, stride-2 pooling fused into its output
    /// stage ([`run_pool2`](Self::run_pool2)).
    pub const fn fuses_pool2(self) -> bool {
        matches!(self, Self::ImplicitGemm | Self::OneChannel)
    }

    /// Elements of `i16` scratch [`run`](Self::run) (and [`run_pool2`](Self::run_pool2)) needs
    /// for `g` (0 for kernels without).
    pub const fn scratch_len(self, g: &Conv2dGeometry) -> usize {
        match self {
            Self::Reference => reference::scratch_len_i8(g),
            Self::Im2col => im2col::scratch_len_i8(g),
            Self::Direct => direct::scratch_len_i8(g),
            Self::Pairs => pairs::scratch_len_i8(g),
            Self::ImplicitGemm => implicit_gemm::scratch_len_i8(g),
            Self::OneChannel => one_channel::scratch_len_i8(g),
            Self::Swar => swar::scratch_len_i8(g),
        }
    }

    /// Rearranges canonical `[c_out][kh][kw][c_in]` filters into the order this kernel reads
    /// them (`packed` has the same length).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] (also for a shape the kernel does not
    /// [`support`](Self::supports)), or [`Error::LengthMismatch`] if either slice is not
    /// `out_c · kh · kw · in_c` long.
    pub const fn pack(
        self,
        g: &Conv2dGeometry,
        canonical: &[i8],
        packed: &mut [i8],
    ) -> Result<(), Error> {
        if !self.supports(g) {
            return Err(UNSUPPORTED);
        }
        match self {
            Self::Reference => reference::pack_weights_i8(g, canonical, packed),
            Self::Im2col => im2col::pack_weights_i8(g, canonical, packed),
            Self::Direct => direct::pack_weights_i8(g, canonical, packed),
            Self::Pairs => pairs::pack_weights_i8(g, canonical, packed),
            Self::ImplicitGemm => implicit_gemm::pack_weights_i8(g, canonical, packed),
            Self::OneChannel => one_channel::pack_weights_i8(g, canonical, packed),
            Self::Swar => swar::pack_weights_i8(g, canonical, packed),
        }
    }

    /// [`pack`](Self::pack) into a new array, for `static` weights.
    ///
    /// # Errors
    /// As [`pack`](Self::pack).
    pub const fn pack_array<const N: usize>(
        self,
        g: &Conv2dGeometry,
        canonical: &[i8; N],
    ) -> Result<[i8; N], Error> {
        let mut packed = [0; N];
        match self.pack(g, canonical, &mut packed) {
            Ok(()) => Ok(packed),
            Err(e) => Err(e),
        }
    }

    /// The int8 convolution over filters packed by [`pack`](Self::pack), with at least
    /// [`scratch_len`](Self::scratch_len) elements of scratch.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`], [`Error::LengthMismatch`], [`Error::ScratchTooSmall`],
    /// [`Error::AccumulatorOverflow`].
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
            Self::Reference => reference::conv2d_i8(g, input, packed, p, scratch, output),
            Self::Im2col => im2col::conv2d_i8(g, input, packed, p, scratch, output),
            Self::Direct => direct::conv2d_i8(g, input, packed, p, scratch, output),
            Self::Pairs => pairs::conv2d_i8(g, input, packed, p, scratch, output),
            Self::ImplicitGemm => implicit_gemm::conv2d_i8(g, input, packed, p, scratch, output),
            Self::OneChannel => one_channel::conv2d_i8(g, input, packed, p, scratch, output),
            Self::Swar => swar::conv2d_i8(g, input, packed, p, scratch, output),
        }
    }

    /// [`run`](Self::run), then a lookup table (`table[q + 128]`, `None`: none) and a 2×2,
    /// stride-2 pooling in one pass, for the kernels that [`fuse`](Self::fuses_pool2) them:
    /// `output` is the pooled `[out_h / 2][out_w / 2][out_c]` map, bit-exact with the three
    /// steps one after the other (see [`pool_stage`]).
    ///
    /// # Errors
    /// As [`run`](Self::run); [`Error::InvalidGeometry`] for a kernel without fused pooling or
    /// a convolution output smaller than 2×2.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn run_pool2(
        self,
        g: &Conv2dGeometry,
        input: &[i8],
        packed: &[i8],
        p: &LayerParamsI8<'_>,
        table: Option<&[i8; 256]>,
        pool: Pool2x2,
        scratch: &mut [i16],
        output: &mut [i8],
    ) -> Result<ConvStats, Error> {
        match self {
            Self::ImplicitGemm => {
                implicit_gemm::conv2d_pool2_i8(g, input, packed, p, table, pool, scratch, output)
            }
            Self::OneChannel => {
                one_channel::conv2d_pool2_i8(g, input, packed, p, table, pool, scratch, output)
            }
            Self::Reference | Self::Im2col | Self::Direct | Self::Pairs | Self::Swar => {
                Err(NO_FUSED_POOL)
            }
        }
    }
}
