//! Dense (fully connected) layers: `y = act(W·x + b)` with `W` stored `[out][in]` (PyTorch's
//! `nn.Linear` layout). [`reference`](mod@reference) is the oracle, [`simd`] runs 4 rows at a
//! time on `f32x8` (int8: `i16` pairs and `pmaddwd`); [`blocked`] (int8) vectorises over 16
//! outputs at a time over weights packed at compile time; [`scalar`] (f32) keeps 4 outputs in scalar
//! registers, for targets without vector registers.
//!
//! [`DenseF32Kernel`] and [`DenseI8Kernel`] name the kernels of each precision and pick one per
//! layer shape ([`DenseI8Kernel::select`]), with the same `const fn` scratch and packing
//! interface as the convolution kernels (see [`crate::conv`]).

pub mod blocked;
pub mod pairs;
pub mod reference;
pub mod scalar;
pub mod simd;

use crate::activation::Activation;
use crate::error::{Error, check_len};
use crate::quant::{
    ActivationRange, LayerParamsI8, QuantizedMultiplier, Rounding, check_accumulator, max_abs_bias,
};

/// Validates the lengths of a dense call: `weights.len() == output.len() · input.len()`.
pub(crate) fn check(
    input: usize,
    weights: usize,
    bias: Option<usize>,
    output: usize,
) -> Result<(), Error> {
    if input == 0 || output == 0 {
        return Err(Error::InvalidGeometry(
            "dense layer with zero inputs or outputs",
        ));
    }
    let expected = input
        .checked_mul(output)
        .ok_or(Error::InvalidGeometry("size overflows usize"))?;
    check_len("weights", expected, weights)?;
    if let Some(b) = bias {
        check_len("bias", output, b)?;
    }
    Ok(())
}

/// Checks the lengths of a packing call for an `inputs → outputs` layer.
pub(crate) const fn check_pack_len(
    inputs: usize,
    outputs: usize,
    canonical: usize,
    packed: usize,
) -> Result<(), Error> {
    if inputs == 0 || outputs == 0 {
        return Err(Error::InvalidGeometry(
            "dense layer with zero inputs or outputs",
        ));
    }
    let Some(n) = inputs.checked_mul(outputs) else {
        return Err(Error::InvalidGeometry("size overflows usize"));
    };
    if canonical != n {
        return Err(Error::LengthMismatch {
            what: "weights",
            expected: n,
            actual: canonical,
        });
    }
    if packed != n {
        return Err(Error::LengthMismatch {
            what: "packed weights",
            expected: n,
            actual: packed,
        });
    }
    Ok(())
}

/// The f32 dense kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DenseF32Kernel {
    /// [`reference::dense_f32`]: the oracle.
    Reference,
    /// [`simd::dense_f32`]: `f32x8`, 4 rows at a time.
    Simd,
    /// [`scalar::dense_f32`]: 4 rows at a time in scalar registers, over weights packed so that
    /// a group's weights for one input are adjacent (targets without vector registers).
    Scalar,
}

impl DenseF32Kernel {
    /// Every kernel, the reference first.
    pub const ALL: [Self; 3] = [Self::Reference, Self::Simd, Self::Scalar];

    /// `"reference"`, `"simd"` or `"scalar"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Simd => "simd",
            Self::Scalar => "scalar",
        }
    }

    /// The kernel this target runs fastest for an `inputs → outputs` layer:
    /// [`Simd`](Self::Simd) on targets with vector registers, [`Scalar`](Self::Scalar)
    /// elsewhere (and with `--cfg tinyconv_scalar_kernels`), where `f32x8` is emulated by
    /// eight scalar lanes (measured on LeNet-5's dense layers with
    /// `scripts/firmware_report.py` on the Cortex-M4F).
    pub const fn select(inputs: usize, outputs: usize) -> Self {
        let _ = (inputs, outputs);
        if crate::gemm::i16::VECTOR {
            Self::Simd
        } else {
            Self::Scalar
        }
    }

    /// Elements of `f32` scratch [`run`](Self::run) needs (0 for every kernel).
    pub const fn scratch_len(self, inputs: usize, outputs: usize) -> usize {
        let _ = (self, inputs, outputs);
        0
    }

    /// Rearranges canonical `[outputs][inputs]` weights into the order this kernel reads them
    /// (`packed` has the same length; the reference and SIMD kernels read the canonical order).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
    pub const fn pack(
        self,
        inputs: usize,
        outputs: usize,
        canonical: &[f32],
        packed: &mut [f32],
    ) -> Result<(), Error> {
        if let Self::Scalar = self {
            return scalar::pack_weights_f32(inputs, outputs, canonical, packed);
        }
        match check_pack_len(inputs, outputs, canonical.len(), packed.len()) {
            Ok(()) => {
                packed.copy_from_slice(canonical);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// `output = act(W·input + b)` over weights packed by [`pack`](Self::pack).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
    #[inline(always)]
    pub fn run(
        self,
        input: &[f32],
        packed: &[f32],
        bias: Option<&[f32]>,
        act: Activation,
        scratch: &mut [f32],
        output: &mut [f32],
    ) -> Result<(), Error> {
        let _ = scratch;
        match self {
            Self::Reference => reference::dense_f32(input, packed, bias, act, output),
            Self::Simd => simd::dense_f32(input, packed, bias, act, output),
            Self::Scalar => scalar::dense_f32(input, packed, bias, act, output),
        }
    }
}

/// The int8 dense kernels (TFLite's `FullyConnected`, bit-exact with each other).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DenseI8Kernel {
    /// [`reference::dense_i8`]: the oracle.
    Reference,
    /// [`simd::dense_i8`]: `i16` pairs, 4 rows at a time.
    Simd,
    /// [`pairs::dense_i8`]: the input widened once into 32-bit words of two `i16`s, 4 rows at a
    /// time over weights packed in that order (Cortex-M4 `smlabb`/`smlatb`).
    Pairs,
    /// [`blocked::dense_i8`]: weights packed in blocks of 16 outputs, vectorised over the
    /// outputs; the input is widened once into the scratch.
    Blocked,
}

impl DenseI8Kernel {
    /// Every kernel, the reference first.
    pub const ALL: [Self; 4] = [Self::Reference, Self::Simd, Self::Pairs, Self::Blocked];

    /// `"reference"`, `"simd"`, `"pairs"` or `"blocked"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Simd => "simd",
            Self::Pairs => "pairs",
            Self::Blocked => "blocked",
        }
    }

    /// The kernel this target runs fastest for an `inputs → outputs` layer: on targets with
    /// vector registers [`Blocked`](Self::Blocked) (LeNet's 400 → 120, 120 → 84 and 84 → 10
    /// layers: `cargo bench --bench conv -- dense`); on ARMv7E-M, whose DSP extension has the
    /// 16-bit multiply-adds, [`Pairs`](Self::Pairs) (measured on LeNet-5's dense layers with
    /// `scripts/firmware_report.py`); elsewhere (ARMv6-M, RISC-V) [`Simd`](Self::Simd), which
    /// reads the canonical weight order. `Pairs` saves ARMv6-M 0.18 M of LeNet's 2.82 M
    /// instructions, but its rearranged weights are a second copy of every dense matrix in a
    /// firmware that also runs another plan: the micro:bit's default firmware (both models,
    /// four plans) overflowed its 256 KiB of flash by 109 KB with it.
    pub const fn select(inputs: usize, outputs: usize) -> Self {
        let _ = (inputs, outputs);
        if crate::gemm::i16::VECTOR && !cfg!(tinyconv_dsp) {
            Self::Blocked
        } else if cfg!(tinyconv_dsp) {
            Self::Pairs
        } else {
            Self::Simd
        }
    }

    /// Elements of `i16` scratch [`run`](Self::run) needs (0 but for [`Pairs`](Self::Pairs) and
    /// [`Blocked`](Self::Blocked)).
    pub const fn scratch_len(self, inputs: usize, outputs: usize) -> usize {
        match self {
            Self::Reference | Self::Simd => 0,
            Self::Pairs => pairs::scratch_len_i8(inputs),
            Self::Blocked => blocked::scratch_len_i8(inputs, outputs),
        }
    }

    /// Rearranges canonical `[outputs][inputs]` weights into the order this kernel reads them
    /// (`packed` has the same length; the reference and SIMD kernels read the canonical order).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
    pub const fn pack(
        self,
        inputs: usize,
        outputs: usize,
        canonical: &[i8],
        packed: &mut [i8],
    ) -> Result<(), Error> {
        if let Err(e) = check_pack_len(inputs, outputs, canonical.len(), packed.len()) {
            return Err(e);
        }
        match self {
            Self::Reference | Self::Simd => {
                packed.copy_from_slice(canonical);
                Ok(())
            }
            Self::Pairs => pairs::pack_weights_i8(inputs, outputs, canonical, packed),
            Self::Blocked => blocked::pack_weights_i8(inputs, outputs, canonical, packed),
        }
    }

    /// The int8 layer over weights packed by [`pack`](Self::pack), with at least
    /// [`scratch_len`](Self::scratch_len) elements of scratch (need not be zeroed).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`], [`Error::LengthMismatch`], [`Error::AccumulatorOverflow`],
    /// [`Error::ScratchTooSmall`].
    #[inline(always)]
    pub fn run(
        self,
        input: &[i8],
        packed: &[i8],
        p: &LayerParamsI8<'_>,
        scratch: &mut [i16],
        output: &mut [i8],
    ) -> Result<(), Error> {
        match self {
            Self::Reference => reference::dense_i8(input, packed, p, output),
            Self::Simd => simd::dense_i8(input, packed, p, output),
            Self::Pairs => pairs::dense_i8(input, packed, p, scratch, output),
            Self::Blocked => blocked::dense_i8(input, packed, p, scratch, output),
        }
    }
}

/// Weights `[OUT][IN]` rearranged for one kernel (`K` is [`DenseF32Kernel`] or
/// [`DenseI8Kernel`]); the kernel travels with them. Built by [`Dense::pack`] or
/// [`DenseI8::pack`] (`const fn`s, for `static`s).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PackedMatrix<K, T, const OUT: usize, const IN: usize> {
    kernel: K,
    data: [[T; IN]; OUT],
}

impl<K: Copy, T, const OUT: usize, const IN: usize> PackedMatrix<K, T, OUT, IN> {
    /// The kernel the weights are packed for.
    pub const fn kernel(&self) -> K {
        self.kernel
    }

    /// The packed weights as one slice (`OUT·IN` elements, in the kernel's order).
    pub const fn as_slice(&self) -> &[T] {
        self.data.as_flattened()
    }
}

/// A dense layer with its shape in its type. Weights and bias are borrowed (`static`-friendly).
///
/// ```
/// use tinyconv::{Dense, dense::{DenseF32Kernel, PackedMatrix}, error::const_expect};
/// static W: [[f32; 3]; 2] = [[1.0, 2.0, 3.0], [0.0, -1.0, 0.0]];
/// static B: [f32; 2] = [0.5, 0.0];
/// static PW: PackedMatrix<DenseF32Kernel, f32, 2, 3> =
///     const_expect(Dense::pack(DenseF32Kernel::Simd, &W), "pack");
/// let layer = Dense::new(&PW, &B);
/// let mut y = [0.0; 2];
/// layer.forward(&[1.0, 1.0, 1.0], &mut y)?;
/// assert_eq!(y, [6.5, -1.0]);
/// # Ok::<(), tinyconv::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Dense<'w, const IN: usize, const OUT: usize> {
    weights: &'w PackedMatrix<DenseF32Kernel, f32, OUT, IN>,
    bias: &'w [f32; OUT],
    activation: Activation,
}

impl<'w, const IN: usize, const OUT: usize> Dense<'w, IN, OUT> {
    /// Packs canonical `[OUT][IN]` weights for `kernel` (a `const fn`: put it in a `static`).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for an empty layer.
    pub const fn pack(
        kernel: DenseF32Kernel,
        canonical: &[[f32; IN]; OUT],
    ) -> Result<PackedMatrix<DenseF32Kernel, f32, OUT, IN>, Error> {
        let mut data = [[0.0; IN]; OUT];
        match kernel.pack(IN, OUT, canonical.as_flattened(), data.as_flattened_mut()) {
            Ok(()) => Ok(PackedMatrix { kernel, data }),
            Err(e) => Err(e),
        }
    }

    /// A layer without activation.
    pub const fn new(
        weights: &'w PackedMatrix<DenseF32Kernel, f32, OUT, IN>,
        bias: &'w [f32; OUT],
    ) -> Self {
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

    /// Computes `output = act(W·input + b)` with the kernel the weights were packed for.
    ///
    /// # Errors
    /// None in practice (the shapes are checked at compile time); the kernels' errors are passed
    /// on rather than dropped.
    pub fn forward(&self, input: &[f32; IN], output: &mut [f32; OUT]) -> Result<(), Error> {
        const { assert!(IN > 0 && OUT > 0, "empty dense layer") }
        self.weights.kernel.run(
            input,
            self.weights.as_slice(),
            Some(self.bias),
            self.activation,
            &mut [],
            output,
        )
    }
}

/// An int8 dense layer (TFLite's `FullyConnected`, per-channel multipliers; for per-tensor
/// quantization repeat the one multiplier) with its shape in its type. Everything is borrowed
/// (`static`-friendly); the `const` constructor checks the accumulator bound
/// (`IN · 255 · 128 + max|bias| ≤ i32::MAX`, see
/// [`check_accumulator`]).
///
/// ```
/// use tinyconv::{DenseI8, dense::{DenseI8Kernel, PackedMatrix}, error::const_expect};
/// use tinyconv::quant::QuantizedMultiplier;
/// static W: [[i8; 3]; 2] = [[1, 2, 3], [0, -1, 0]];
/// static PW: PackedMatrix<DenseI8Kernel, i8, 2, 3> =
///     const_expect(DenseI8::pack(DenseI8Kernel::Simd, &W), "pack");
/// static B: [i32; 2] = [5, 0];
/// static M: [QuantizedMultiplier; 2] = [QuantizedMultiplier::ONE; 2];
/// let layer = DenseI8::new(&PW, &B, &M, -1, 0)?;
/// let mut y = [0i8; 2];
/// layer.forward(&[0, 0, 0], &mut y)?; // x − zp = 1 everywhere
/// assert_eq!(y, [11, -1]);
/// # Ok::<(), tinyconv::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DenseI8<'w, const IN: usize, const OUT: usize> {
    weights: &'w PackedMatrix<DenseI8Kernel, i8, OUT, IN>,
    bias: &'w [i32; OUT],
    multipliers: &'w [QuantizedMultiplier; OUT],
    input_zero_point: i8,
    output_zero_point: i8,
    range: ActivationRange,
    rounding: Rounding,
}

impl<'w, const IN: usize, const OUT: usize> DenseI8<'w, IN, OUT> {
    /// Packs canonical `[OUT][IN]` weights for `kernel` (a `const fn`: put it in a `static`).
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] for an empty layer.
    pub const fn pack(
        kernel: DenseI8Kernel,
        canonical: &[[i8; IN]; OUT],
    ) -> Result<PackedMatrix<DenseI8Kernel, i8, OUT, IN>, Error> {
        let mut data = [[0; IN]; OUT];
        match kernel.pack(IN, OUT, canonical.as_flattened(), data.as_flattened_mut()) {
            Ok(()) => Ok(PackedMatrix { kernel, data }),
            Err(e) => Err(e),
        }
    }

    /// A layer without fused activation and with TFLite's default double rounding.
    ///
    /// # Errors
    /// [`Error::AccumulatorOverflow`] unless `IN · 255 · 128 + max|bias| ≤ i32::MAX`.
    pub const fn new(
        weights: &'w PackedMatrix<DenseI8Kernel, i8, OUT, IN>,
        bias: &'w [i32; OUT],
        multipliers: &'w [QuantizedMultiplier; OUT],
        input_zero_point: i8,
        output_zero_point: i8,
    ) -> Result<Self, Error> {
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
        LayerParamsI8::new(
            self.input_zero_point,
            self.output_zero_point,
            multipliers,
            Some(bias),
        )
        .with_range(self.range)
        .with_rounding(self.rounding)
    }

    /// Computes the layer with the kernel the weights were packed for. Fails to compile for an
    /// empty layer or `IN · 255 · 128 > i32::MAX`.
    ///
    /// # Errors
    /// [`Error::ScratchTooSmall`] for a kernel that needs scratch ([`DenseI8Kernel::Pairs`],
    /// [`DenseI8Kernel::Blocked`]: use [`forward_with_scratch`](Self::forward_with_scratch));
    /// otherwise none in practice
    /// (shapes and the accumulator bound are checked at compile time and by
    /// [`new`](Self::new)); the kernels' errors are passed on rather than dropped.
    pub fn forward(&self, input: &[i8; IN], output: &mut [i8; OUT]) -> Result<(), Error> {
        self.forward_with_scratch(input, output, &mut [])
    }

    /// `i16` elements of scratch [`forward_with_scratch`](Self::forward_with_scratch) needs
    /// (0 but for [`DenseI8Kernel::Pairs`] and [`DenseI8Kernel::Blocked`]).
    pub const fn scratch_len(&self) -> usize {
        self.weights.kernel.scratch_len(IN, OUT)
    }

    /// [`forward`](Self::forward) with at least [`scratch_len`](Self::scratch_len) elements of
    /// scratch (not zeroed by the caller).
    ///
    /// # Errors
    /// [`Error::ScratchTooSmall`]; otherwise as [`forward`](Self::forward).
    pub fn forward_with_scratch(
        &self,
        input: &[i8; IN],
        output: &mut [i8; OUT],
        scratch: &mut [i16],
    ) -> Result<(), Error> {
        const {
            assert!(IN > 0 && OUT > 0, "empty dense layer");
            assert!(
                matches!(check_accumulator(IN, 0), Ok(())),
                "IN·255·128 exceeds i32::MAX: the int8 accumulator could overflow"
            );
        }
        self.weights.kernel.run(
            input,
            self.weights.as_slice(),
            &self.params(),
            scratch,
            output,
        )
    }
}
