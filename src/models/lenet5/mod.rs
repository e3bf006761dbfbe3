//! LeNet-5 on 28×28 grey images (Fashion-MNIST), as in Dive into Deep Learning's
//! "Convolutional Neural Networks" chapter.
//!
//! | layer | classic | modern | output |
//! |---|---|---|---|
//! | conv1 5×5, 6 filters, padding 2 | sigmoid | ReLU | 28×28×6 |
//! | pool 2×2, stride 2 | average | max | 14×14×6 |
//! | conv2 5×5, 16 filters | sigmoid | ReLU | 10×10×16 |
//! | pool 2×2, stride 2 | average | max | 5×5×16 |
//! | dense 400 → 120 | sigmoid | ReLU | 120 |
//! | dense 120 → 84 | sigmoid | ReLU | 84 |
//! | dense 84 → 10 | — | — | 10 logits |
//!
//! Each convolution is fused with the pooling that follows: the convolution is computed two
//! output rows at a time ([`Conv2dGeometry::row_band`]) and each pair is pooled at once, so the
//! full 28×28×6 and 10×10×16 maps never exist. The activations live in [`Lenet5F32`] itself and
//! their size is [`Lenet5F32::RAM_BYTES`].
//!
//! Flatten order: the shipped weights were trained in a framework that flattens `C, H, W`;
//! tinyconv's tensors are `H, W, C`, so the export tool permutes the columns of the first dense
//! layer once, and inference flattens the `[5][5][16]` map as it is.
//!
//! Each layer runs on the kernel a [`Lenet5Plan`] names; the weights are packed for those
//! kernels at compile time ([`modern_f32`] and friends return the shipped weights packed for a
//! plan, [`PackedF32::pack`]/[`PackedI8::pack`] pack others).
//!
//! ```
//! use tinyconv::models::{Auto, lenet5::{self, Lenet5F32}};
//! // The plan is inferred from the packed weights.
//! let mut model = Lenet5F32::new(lenet5::modern_f32::<Auto>());
//! let image = [[[0.0f32]; 28]; 28];
//! let class = model.predict(&image)?;
//! assert!(class < 10);
//! # Ok::<(), tinyconv::Error>(())
//! ```

use core::marker::PhantomData;

use crate::activation::{Activation, argmax};
use crate::conv::Conv2dF32Kernel;
use crate::conv::{Conv2dI8Kernel, Pool2x2};
use crate::dense::{DenseF32Kernel, DenseI8Kernel};
use crate::error::Error;
use crate::geometry::{AvgPoolDivisor, Conv2dGeometry, Padding, Pool2dGeometry};
use crate::models::blob::{self, Cursor, Precision, const_try};
use crate::models::{Auto, Direct, Im2col, Reference, Scratch};
use crate::pool::Pool2dKernel;
use crate::tensor::{Filters, Tensor, flat, flat_mut};

/// Side of the input image.
pub const SIDE: usize = 28;
/// Number of classes.
pub const CLASSES: usize = 10;
/// Model id of LeNet-5 in weight files.
pub const MODEL_ID: u8 = 1;

/// The two LeNet-5 variants of the chapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Sigmoid activations and average pooling (the chapter's network).
    Classic = 0,
    /// ReLU activations and max pooling.
    Modern = 1,
}

impl Variant {
    /// `"classic"` or `"modern"`.
    pub const fn name(self) -> &'static str {
        match self {
            Variant::Classic => "classic",
            Variant::Modern => "modern",
        }
    }

    const fn from_byte(b: u8) -> Result<Self, Error> {
        match b {
            0 => Ok(Variant::Classic),
            1 => Ok(Variant::Modern),
            _ => Err(Error::Format("unknown LeNet-5 variant")),
        }
    }

    /// The activation after every layer but the last.
    pub const fn activation(self) -> Activation {
        match self {
            Variant::Classic => Activation::Sigmoid,
            Variant::Modern => Activation::Relu,
        }
    }
}

/// An input image: 28×28, one channel, values in `[0, 1]`.
pub type Image = Tensor<f32, SIDE, SIDE, 1>;

/// Converts an 8-bit grey image (`0..=255`, row-major) to the model's input (`pixel / 255`).
pub fn image_from_u8(pixels: &[u8; SIDE * SIDE]) -> Image {
    let mut img = [[[0.0f32; 1]; SIDE]; SIDE];
    for (dst, &p) in flat_mut(&mut img).iter_mut().zip(pixels) {
        *dst = p as f32 / 255.0;
    }
    img
}

/// Geometry of conv1: 28×28×1 → 28×28×6, 5×5, padding 2.
pub const CONV1: Conv2dGeometry =
    Conv2dGeometry::new([SIDE, SIDE, 1], 6, [5, 5]).with_padding(Padding::uniform(2));
/// Geometry of conv2: 14×14×6 → 10×10×16, 5×5.
pub const CONV2: Conv2dGeometry = Conv2dGeometry::new([14, 14, 6], 16, [5, 5]);

/// f32 LeNet-5 parameters in tinyconv's layouts.
#[derive(Clone, Debug, PartialEq)]
pub struct Lenet5Weights {
    /// Which variant these weights belong to.
    pub variant: Variant,
    /// conv1 filters `[6][5][5][1]`.
    pub conv1_w: Filters<f32, 6, 5, 5, 1>,
    /// conv1 bias.
    pub conv1_b: [f32; 6],
    /// conv2 filters `[16][5][5][6]`.
    pub conv2_w: Filters<f32, 16, 5, 5, 6>,
    /// conv2 bias.
    pub conv2_b: [f32; 16],
    /// dense 400 → 120, `[out][in]`, inputs in `H, W, C` order.
    pub fc1_w: [[f32; 400]; 120],
    /// dense 1 bias.
    pub fc1_b: [f32; 120],
    /// dense 120 → 84.
    pub fc2_w: [[f32; 120]; 84],
    /// dense 2 bias.
    pub fc2_b: [f32; 84],
    /// dense 84 → 10.
    pub fc3_w: [[f32; 84]; 10],
    /// dense 3 bias.
    pub fc3_b: [f32; 10],
}

impl Lenet5Weights {
    /// Number of parameters.
    pub const PARAMS: usize = 150 + 6 + 2400 + 16 + 48_000 + 120 + 10_080 + 84 + 840 + 10;

    /// Decodes an f32 LeNet-5 weight file (see [`blob`] for the container; the payload is the
    /// tensors above in declaration order, little-endian f32, all finite). A `const fn`, so
    /// shipped weights are decoded at compile time.
    ///
    /// # Errors
    /// [`Error::Format`] for any malformed container, a different model or precision, a short or
    /// long payload, or a non-finite value.
    pub const fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let h = const_try!(blob::parse_header(bytes));
        if h.model != MODEL_ID {
            return Err(Error::Format("not a LeNet-5 weight file"));
        }
        if !matches!(h.precision, Precision::F32) {
            return Err(Error::Format("not an f32 weight file"));
        }
        let variant = const_try!(Variant::from_byte(h.variant));
        if h.payload_len != Self::PARAMS * 4 {
            return Err(Error::Format("payload length is not LeNet-5's"));
        }
        let mut w = Lenet5Weights {
            variant,
            conv1_w: [[[[0.0; 1]; 5]; 5]; 6],
            conv1_b: [0.0; 6],
            conv2_w: [[[[0.0; 6]; 5]; 5]; 16],
            conv2_b: [0.0; 16],
            fc1_w: [[0.0; 400]; 120],
            fc1_b: [0.0; 120],
            fc2_w: [[0.0; 120]; 84],
            fc2_b: [0.0; 84],
            fc3_w: [[0.0; 84]; 10],
            fc3_b: [0.0; 10],
        };
        let mut c = Cursor::new(bytes, blob::HEADER_LEN);
        const_try!(
            c.f32s(
                w.conv1_w
                    .as_flattened_mut()
                    .as_flattened_mut()
                    .as_flattened_mut()
            )
        );
        const_try!(c.f32s(&mut w.conv1_b));
        const_try!(
            c.f32s(
                w.conv2_w
                    .as_flattened_mut()
                    .as_flattened_mut()
                    .as_flattened_mut()
            )
        );
        const_try!(c.f32s(&mut w.conv2_b));
        const_try!(c.f32s(w.fc1_w.as_flattened_mut()));
        const_try!(c.f32s(&mut w.fc1_b));
        const_try!(c.f32s(w.fc2_w.as_flattened_mut()));
        const_try!(c.f32s(&mut w.fc2_b));
        const_try!(c.f32s(w.fc3_w.as_flattened_mut()));
        const_try!(c.f32s(&mut w.fc3_b));
        const_try!(c.finish(blob::HEADER_LEN + h.payload_len));
        Ok(w)
    }
}

impl Lenet5Weights {
    /// Length of the encoded weight file.
    pub const ENCODED_LEN: usize = blob::HEADER_LEN + Self::PARAMS * 4 + 4;

    /// Encodes the weights as a weight file into `out` (at least [`Self::ENCODED_LEN`] bytes);
    /// returns the length written. [`decode`](Self::decode) reads it back.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `out` is too small.
    pub fn encode_into(&self, out: &mut [u8]) -> Result<usize, Error> {
        let mut wr = blob::Writer::new(out);
        wr.f32s(self.conv1_w.as_flattened().as_flattened().as_flattened())?;
        wr.f32s(&self.conv1_b)?;
        wr.f32s(self.conv2_w.as_flattened().as_flattened().as_flattened())?;
        wr.f32s(&self.conv2_b)?;
        wr.f32s(self.fc1_w.as_flattened())?;
        wr.f32s(&self.fc1_b)?;
        wr.f32s(self.fc2_w.as_flattened())?;
        wr.f32s(&self.fc2_b)?;
        wr.f32s(self.fc3_w.as_flattened())?;
        wr.f32s(&self.fc3_b)?;
        wr.finish(MODEL_ID, self.variant as u8, Precision::F32)
    }
}

const fn decode_or_panic(bytes: &[u8]) -> Lenet5Weights {
    match Lenet5Weights::decode(bytes) {
        Ok(w) => w,
        // Evaluated at compile time: a malformed shipped file is a build error.
        Err(_) => panic!("malformed shipped LeNet-5 f32 weights"),
    }
}

/// The shipped `classic` f32 weights (decoded at compile time from `models/lenet5-classic.f32.bin`).
pub static CLASSIC_F32: Lenet5Weights =
    decode_or_panic(include_bytes!("../../../models/lenet5-classic.f32.bin"));
/// The shipped `modern` f32 weights (decoded at compile time from `models/lenet5-modern.f32.bin`).
pub static MODERN_F32: Lenet5Weights =
    decode_or_panic(include_bytes!("../../../models/lenet5-modern.f32.bin"));

/// Which kernel runs each layer of LeNet-5, in both precisions (see [the models
/// overview](crate::models)): implemented by [`Auto`], [`Reference`], [`Im2col`] and [`Direct`],
/// and by any type of one's own.
///
/// ```
/// use tinyconv::{Conv2dF32Kernel, Conv2dI8Kernel, DenseF32Kernel, DenseI8Kernel, Pool2dKernel};
/// use tinyconv::models::lenet5::{self, Lenet5I8, Lenet5Plan, scratch_f32, scratch_i8};
/// // conv1 by direct, conv2 by im2col, dense layers by the reference.
/// struct Mine;
/// impl Lenet5Plan for Mine {
///     const NAME: &'static str = "mine";
///     const CONV1_F32: Conv2dF32Kernel = Conv2dF32Kernel::Direct;
///     const CONV2_F32: Conv2dF32Kernel = Conv2dF32Kernel::Im2col;
///     const POOL_F32: Pool2dKernel = Pool2dKernel::Simd;
///     const DENSE_F32: [DenseF32Kernel; 3] = [DenseF32Kernel::Reference; 3];
///     const CONV1_I8: Conv2dI8Kernel = Conv2dI8Kernel::Direct;
///     const CONV2_I8: Conv2dI8Kernel = Conv2dI8Kernel::Im2col;
///     const POOL_I8: Pool2dKernel = Pool2dKernel::Reference;
///     const DENSE_I8: [DenseI8Kernel; 3] = [DenseI8Kernel::Reference; 3];
///     type ScratchF32 = [f32; scratch_f32(Conv2dF32Kernel::Direct, Conv2dF32Kernel::Im2col)];
///     type ScratchI8 = [i16; scratch_i8(Conv2dI8Kernel::Direct, Conv2dI8Kernel::Im2col)];
/// }
/// let mut model = Lenet5I8::new(lenet5::modern_i8::<Mine>());
/// let class = model.predict_u8(&[0; 784])?;
/// assert!(class < 10);
/// # Ok::<(), tinyconv::Error>(())
/// ```
pub trait Lenet5Plan: 'static {
    /// Name in reports.
    const NAME: &'static str;
    /// f32 conv1 (28×28×1 → 6, 5×5, padding 2, computed two output rows at a time).
    const CONV1_F32: Conv2dF32Kernel;
    /// f32 conv2 (14×14×6 → 16, 5×5, two output rows at a time).
    const CONV2_F32: Conv2dF32Kernel;
    /// f32 pooling (not used after a convolution kernel that
    /// [fuses the pooling](Conv2dF32Kernel::fuses_pool2) into its output stage).
    const POOL_F32: Pool2dKernel;
    /// f32 dense layers fc1, fc2, fc3.
    const DENSE_F32: [DenseF32Kernel; 3];
    /// int8 conv1.
    const CONV1_I8: Conv2dI8Kernel;
    /// int8 conv2.
    const CONV2_I8: Conv2dI8Kernel;
    /// int8 pooling (not used after a convolution kernel that
    /// [fuses the pooling](Conv2dI8Kernel::fuses_pool2) into its output stage, nor for
    /// `modern`'s max pooling after a [`Conv2dI8Kernel::Pairs`] or [`Conv2dI8Kernel::Swar`]
    /// convolution, which fuse it: [`conv::pairs::conv2d_max_pool_i8`](crate::conv::pairs),
    /// [`conv::swar::conv2d_max_pool_i8`](crate::conv::swar)).
    const POOL_I8: Pool2dKernel;
    /// int8 dense layers fc1, fc2, fc3.
    const DENSE_I8: [DenseI8Kernel; 3];
    /// The f32 model's scratch, `[f32; N]` with `N ≥` [`scratch_f32`]`(CONV1_F32, CONV2_F32)`.
    type ScratchF32: Scratch<f32>;
    /// The int8 model's scratch, `[i16; N]` with `N ≥` [`scratch_i8`]`(CONV1_I8, CONV2_I8)`
    /// and `N ≥` [`scratch_dense_i8`]`(DENSE_I8)`.
    type ScratchI8: Scratch<i16>;
}

/// True if the f32 model runs convolution `kernel` once over its whole layer: on targets with
/// vector registers, when the kernel [fuses the pooling](Conv2dF32Kernel::fuses_pool2) (per-band
/// calls would repeat its set-up 14 times for conv1). Elsewhere layers are streamed two output
/// rows at a time, whose scratch can be smaller (the scalar kernel copies its padded input).
pub const fn whole_layer_f32(kernel: Conv2dF32Kernel) -> bool {
    crate::gemm::i16::VECTOR && kernel.fuses_pool2()
}

/// The largest scratch `kernel` needs over the two-row bands of `g` (and over all of `g` where
/// the model calls it once per layer: [`whole_layer_f32`]).
const fn band_scratch_f32(kernel: Conv2dF32Kernel, g: &Conv2dGeometry) -> usize {
    let out_h = match g.dims() {
        Ok(d) => d.out_h,
        Err(_) => return 0,
    };
    let mut max = if whole_layer_f32(kernel) {
        kernel.scratch_len(g)
    } else {
        0
    };
    let mut oy = 0;
    while oy + 2 <= out_h {
        if let Ok((band, _)) = g.row_band(oy, 2) {
            let n = kernel.scratch_len(&band);
            if n > max {
                max = n;
            }
        }
        oy += 2;
    }
    max
}

/// As [`band_scratch_f32`] for int8 kernels.
const fn band_scratch_i8(kernel: Conv2dI8Kernel, g: &Conv2dGeometry) -> usize {
    let out_h = match g.dims() {
        Ok(d) => d.out_h,
        Err(_) => return 0,
    };
    // Where the model runs the convolutions whole (`whole_layers_i8`; these kernels' scratch
    // does not grow with the height, so whether the other layer's kernel fuses does not matter).
    let mut max = if crate::gemm::i16::VECTOR && kernel.fuses_pool2() {
        kernel.scratch_len(g)
    } else {
        0
    };
    let mut oy = 0;
    while oy + 2 <= out_h {
        if let Ok((band, _)) = g.row_band(oy, 2) {
            let n = kernel.scratch_len(&band);
            if n > max {
                max = n;
            }
        }
        oy += 2;
    }
    max
}

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// `f32` scratch elements the f32 model needs with these convolution kernels (the larger of the
/// two layers' needs over their two-row bands; dense kernels need none).
pub const fn scratch_f32(conv1: Conv2dF32Kernel, conv2: Conv2dF32Kernel) -> usize {
    max(
        band_scratch_f32(conv1, &CONV1),
        band_scratch_f32(conv2, &CONV2),
    )
}

/// `i16` scratch elements the int8 model needs with these convolution kernels: the kernels'
/// own (the larger of the two layers' needs over their two-row bands), and, where the model runs
/// each convolution once over its whole layer ([`whole_layers_i8`]), room for the quantized
/// image and pool1 (`(28·28 + 14·14·6) / 2` more).
pub const fn scratch_i8(conv1: Conv2dI8Kernel, conv2: Conv2dI8Kernel) -> usize {
    let held = if whole_layers_i8(conv1, conv2) {
        WHOLE_I8_BYTES.div_ceil(2)
    } else {
        0
    };
    conv_scratch_i8(conv1, conv2).saturating_add(held)
}

/// `i16` scratch elements the int8 model's convolution kernels themselves need.
pub(crate) const fn conv_scratch_i8(conv1: Conv2dI8Kernel, conv2: Conv2dI8Kernel) -> usize {
    max(
        band_scratch_i8(conv1, &CONV1),
        band_scratch_i8(conv2, &CONV2),
    )
}

/// Bytes of the quantized image and pool1, which the int8 model holds whole (in its scratch)
/// when it runs each convolution once over its layer.
pub(crate) const WHOLE_I8_BYTES: usize = SIDE * SIDE + 14 * 14 * 6;

/// True if the int8 model runs conv1 + pool1 and conv2 + pool2 once each over the whole layer
/// with these kernels: on targets with vector registers, when both kernels
/// [fuse the pooling](Conv2dI8Kernel::fuses_pool2) (as the `Auto` plan's do). Otherwise the
/// layers are streamed two output rows at a time, which needs less RAM (a six-row window of
/// pool1) but repeats each kernel's per-call set-up 14 + 5 times.
pub const fn whole_layers_i8(conv1: Conv2dI8Kernel, conv2: Conv2dI8Kernel) -> bool {
    crate::gemm::i16::VECTOR && conv1.fuses_pool2() && conv2.fuses_pool2()
}

/// `i16` scratch elements the int8 model's dense layers need with these kernels (fc1, fc2,
/// fc3; 0 but for [`DenseI8Kernel::Pairs`] and [`DenseI8Kernel::Blocked`]).
pub const fn scratch_dense_i8(dense: [DenseI8Kernel; 3]) -> usize {
    max(
        dense[0].scratch_len(400, 120),
        max(
            dense[1].scratch_len(120, 84),
            dense[2].scratch_len(84, CLASSES),
        ),
    )
}

const AUTO_CONV1_F32: Conv2dF32Kernel = Conv2dF32Kernel::select(&CONV1);
const AUTO_CONV2_F32: Conv2dF32Kernel = Conv2dF32Kernel::select(&CONV2);
/// The shape the int8 convolution kernels run: a two-row band (the model computes each layer
/// band by band, and a kernel's scratch depends on the band, not on the whole layer).
const fn band_of(g: &Conv2dGeometry) -> Conv2dGeometry {
    match g.row_band(2, 2) {
        Ok((band, _)) => band,
        Err(_) => *g,
    }
}
const AUTO_CONV1_I8: Conv2dI8Kernel = Conv2dI8Kernel::select(&band_of(&CONV1));
const AUTO_CONV2_I8: Conv2dI8Kernel = Conv2dI8Kernel::select(&band_of(&CONV2));
const AUTO_DENSE_I8: [DenseI8Kernel; 3] = [
    DenseI8Kernel::select(400, 120),
    DenseI8Kernel::select(120, 84),
    DenseI8Kernel::select(84, CLASSES),
];

impl Lenet5Plan for Auto {
    const NAME: &'static str = "auto";
    const CONV1_F32: Conv2dF32Kernel = AUTO_CONV1_F32;
    const CONV2_F32: Conv2dF32Kernel = AUTO_CONV2_F32;
    const POOL_F32: Pool2dKernel = Pool2dKernel::select(&POOL1);
    const DENSE_F32: [DenseF32Kernel; 3] = [
        DenseF32Kernel::select(400, 120),
        DenseF32Kernel::select(120, 84),
        DenseF32Kernel::select(84, CLASSES),
    ];
    const CONV1_I8: Conv2dI8Kernel = AUTO_CONV1_I8;
    const CONV2_I8: Conv2dI8Kernel = AUTO_CONV2_I8;
    const POOL_I8: Pool2dKernel = Pool2dKernel::select(&POOL1);
    const DENSE_I8: [DenseI8Kernel; 3] = AUTO_DENSE_I8;
    type ScratchF32 = [f32; scratch_f32(AUTO_CONV1_F32, AUTO_CONV2_F32)];
    type ScratchI8 = [i16; max(
        scratch_i8(AUTO_CONV1_I8, AUTO_CONV2_I8),
        scratch_dense_i8(AUTO_DENSE_I8),
    )];
}

impl Lenet5Plan for Reference {
    const NAME: &'static str = "reference";
    const CONV1_F32: Conv2dF32Kernel = Conv2dF32Kernel::Reference;
    const CONV2_F32: Conv2dF32Kernel = Conv2dF32Kernel::Reference;
    const POOL_F32: Pool2dKernel = Pool2dKernel::Reference;
    const DENSE_F32: [DenseF32Kernel; 3] = [DenseF32Kernel::Reference; 3];
    const CONV1_I8: Conv2dI8Kernel = Conv2dI8Kernel::Reference;
    const CONV2_I8: Conv2dI8Kernel = Conv2dI8Kernel::Reference;
    const POOL_I8: Pool2dKernel = Pool2dKernel::Reference;
    const DENSE_I8: [DenseI8Kernel; 3] = [DenseI8Kernel::Reference; 3];
    type ScratchF32 = [f32; 0];
    type ScratchI8 = [i16; 0];
}

impl Lenet5Plan for Im2col {
    const NAME: &'static str = "im2col";
    const CONV1_F32: Conv2dF32Kernel = Conv2dF32Kernel::Im2col;
    const CONV2_F32: Conv2dF32Kernel = Conv2dF32Kernel::Im2col;
    const POOL_F32: Pool2dKernel = Pool2dKernel::Simd;
    const DENSE_F32: [DenseF32Kernel; 3] = [DenseF32Kernel::Simd; 3];
    const CONV1_I8: Conv2dI8Kernel = Conv2dI8Kernel::Im2col;
    const CONV2_I8: Conv2dI8Kernel = Conv2dI8Kernel::Im2col;
    const POOL_I8: Pool2dKernel = Pool2dKernel::Simd;
    const DENSE_I8: [DenseI8Kernel; 3] = [DenseI8Kernel::Simd; 3];
    type ScratchF32 = [f32; scratch_f32(Conv2dF32Kernel::Im2col, Conv2dF32Kernel::Im2col)];
    type ScratchI8 = [i16; scratch_i8(Conv2dI8Kernel::Im2col, Conv2dI8Kernel::Im2col)];
}

impl Lenet5Plan for Direct {
    const NAME: &'static str = "direct";
    const CONV1_F32: Conv2dF32Kernel = Conv2dF32Kernel::Direct;
    const CONV2_F32: Conv2dF32Kernel = Conv2dF32Kernel::Direct;
    const POOL_F32: Pool2dKernel = Pool2dKernel::Simd;
    const DENSE_F32: [DenseF32Kernel; 3] = [DenseF32Kernel::Simd; 3];
    const CONV1_I8: Conv2dI8Kernel = Conv2dI8Kernel::Direct;
    const CONV2_I8: Conv2dI8Kernel = Conv2dI8Kernel::Direct;
    const POOL_I8: Pool2dKernel = Pool2dKernel::Simd;
    const DENSE_I8: [DenseI8Kernel; 3] = [DenseI8Kernel::Simd; 3];
    type ScratchF32 = [f32; scratch_f32(Conv2dF32Kernel::Direct, Conv2dF32Kernel::Direct)];
    type ScratchI8 = [i16; scratch_i8(Conv2dI8Kernel::Direct, Conv2dI8Kernel::Direct)];
}

/// Geometry of pool1 on one band of conv1 (2 × 28 × 6 → 1 × 14 × 6).
const POOL1: Pool2dGeometry = Pool2dGeometry::new([2, SIDE, 6], [2, 2]);

/// f32 LeNet-5 weights packed for the kernels of plan `P` (build them at compile time:
/// [`modern_f32`], [`classic_f32`], or [`pack`](Self::pack) in a `static`).
#[derive(Clone, Debug, PartialEq)]
pub struct PackedF32<P> {
    w: Lenet5Weights,
    _plan: PhantomData<P>,
}

impl<P: Lenet5Plan> PackedF32<P> {
    /// Packs `w` for `P`'s kernels. A `const fn`: put the result in a `static`, or use
    /// [`modern_f32`]/[`classic_f32`] for the shipped weights.
    ///
    /// # Errors
    /// None for the plans of this crate; a plan's kernel may reject a layer shape.
    pub const fn pack(w: &Lenet5Weights) -> Result<Self, Error> {
        let mut p = Lenet5Weights {
            variant: w.variant,
            conv1_w: [[[[0.0; 1]; 5]; 5]; 6],
            conv1_b: w.conv1_b,
            conv2_w: [[[[0.0; 6]; 5]; 5]; 16],
            conv2_b: w.conv2_b,
            fc1_w: [[0.0; 400]; 120],
            fc1_b: w.fc1_b,
            fc2_w: [[0.0; 120]; 84],
            fc2_b: w.fc2_b,
            fc3_w: [[0.0; 84]; 10],
            fc3_b: w.fc3_b,
        };
        const_try!(
            P::CONV1_F32.pack(
                &CONV1,
                w.conv1_w.as_flattened().as_flattened().as_flattened(),
                p.conv1_w
                    .as_flattened_mut()
                    .as_flattened_mut()
                    .as_flattened_mut()
            )
        );
        const_try!(
            P::CONV2_F32.pack(
                &CONV2,
                w.conv2_w.as_flattened().as_flattened().as_flattened(),
                p.conv2_w
                    .as_flattened_mut()
                    .as_flattened_mut()
                    .as_flattened_mut()
            )
        );
        const_try!(P::DENSE_F32[0].pack(
            400,
            120,
            w.fc1_w.as_flattened(),
            p.fc1_w.as_flattened_mut()
        ));
        const_try!(P::DENSE_F32[1].pack(
            120,
            84,
            w.fc2_w.as_flattened(),
            p.fc2_w.as_flattened_mut()
        ));
        const_try!(P::DENSE_F32[2].pack(
            84,
            10,
            w.fc3_w.as_flattened(),
            p.fc3_w.as_flattened_mut()
        ));
        Ok(PackedF32 {
            w: p,
            _plan: PhantomData,
        })
    }

    /// The variant of the weights.
    pub const fn variant(&self) -> Variant {
        self.w.variant
    }
}

/// The shipped `modern` f32 weights packed for plan `P` (at compile time, once per plan used).
pub fn modern_f32<P: Lenet5Plan>() -> &'static PackedF32<P> {
    const {
        &match PackedF32::<P>::pack(&MODERN_F32) {
            Ok(p) => p,
            Err(_) => panic!("the plan's kernels reject LeNet-5"),
        }
    }
}

/// The shipped `classic` f32 weights packed for plan `P`.
pub fn classic_f32<P: Lenet5Plan>() -> &'static PackedF32<P> {
    const {
        &match PackedF32::<P>::pack(&CLASSIC_F32) {
            Ok(p) => p,
            Err(_) => panic!("the plan's kernels reject LeNet-5"),
        }
    }
}

/// The activation buffers of the f32 model (conv outputs exist only two rows at a time).
#[derive(Clone, Debug)]
struct Buffers {
    conv1_band: Tensor<f32, 2, SIDE, 6>,
    pool1: Tensor<f32, 14, 14, 6>,
    conv2_band: Tensor<f32, 2, 10, 16>,
    pool2: Tensor<f32, 5, 5, 16>,
    fc1: [f32; 120],
    fc2: [f32; 84],
}

impl Buffers {
    const ZERO: Buffers = Buffers {
        conv1_band: [[[0.0; 6]; SIDE]; 2],
        pool1: [[[0.0; 6]; 14]; 14],
        conv2_band: [[[0.0; 16]; 10]; 2],
        pool2: [[[0.0; 16]; 5]; 5],
        fc1: [0.0; 120],
        fc2: [0.0; 84],
    };
}

/// f32 LeNet-5, each layer on the kernel plan `P` names.
#[derive(Clone, Debug)]
pub struct Lenet5F32<'w, P: Lenet5Plan> {
    weights: &'w PackedF32<P>,
    buf: Buffers,
    scratch: P::ScratchF32,
}

impl<'w, P: Lenet5Plan> Lenet5F32<'w, P> {
    /// Bytes of the activation buffers (the conv outputs exist two rows at a time).
    pub const ACTIVATION_BYTES: usize = core::mem::size_of::<Buffers>();
    /// Bytes of the plan's kernel scratch.
    pub const SCRATCH_BYTES: usize = core::mem::size_of::<P::ScratchF32>();
    /// Bytes of the model's state: activations and scratch, both inside the model, so a model in
    /// a `static` needs exactly this much RAM besides the call stack of
    /// [`logits`](Self::logits) (measured per target in the firmware table).
    pub const RAM_BYTES: usize = Self::ACTIVATION_BYTES + Self::SCRATCH_BYTES;
    /// Bytes of weights.
    pub const WEIGHT_BYTES: usize = Lenet5Weights::PARAMS * core::mem::size_of::<f32>();

    /// A model over weights packed for `P`. A `const fn`, so firmware can place the model in a
    /// `static`; fails to compile if `P`'s scratch is smaller than [`scratch_f32`] asks.
    pub const fn new(weights: &'w PackedF32<P>) -> Self {
        const {
            assert!(
                core::mem::size_of::<P::ScratchF32>() / 4
                    >= scratch_f32(P::CONV1_F32, P::CONV2_F32),
                "the plan's ScratchF32 is smaller than scratch_f32(CONV1_F32, CONV2_F32)"
            )
        }
        Lenet5F32 {
            weights,
            buf: Buffers::ZERO,
            scratch: P::ScratchF32::ZERO,
        }
    }

    /// The variant of the weights.
    pub fn variant(&self) -> Variant {
        self.weights.w.variant
    }

    /// The ten class scores (before softmax).
    ///
    /// # Errors
    /// [`Error::NonFinite`] if a pixel is NaN or infinite (or a logit is: only with non-finite
    /// weights).
    pub fn logits(&mut self, image: &Image) -> Result<[f32; CLASSES], Error> {
        if flat(image).iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let w = &self.weights.w;
        let act = w.variant.activation();
        let b = &mut self.buf;
        let scratch = self.scratch.as_mut_slice();
        conv_pool_f32::<P, 6>(
            w.variant,
            &CONV1,
            flat(image),
            w.conv1_w.as_flattened().as_flattened().as_flattened(),
            &w.conv1_b,
            act,
            flat_mut(&mut b.conv1_band),
            scratch,
            flat_mut(&mut b.pool1),
        )?;
        conv_pool_f32::<P, 16>(
            w.variant,
            &CONV2,
            flat(&b.pool1),
            w.conv2_w.as_flattened().as_flattened().as_flattened(),
            &w.conv2_b,
            act,
            flat_mut(&mut b.conv2_band),
            scratch,
            flat_mut(&mut b.pool2),
        )?;
        let [k1, k2, k3] = P::DENSE_F32;
        k1.run(
            flat(&b.pool2),
            w.fc1_w.as_flattened(),
            Some(&w.fc1_b),
            act,
            scratch,
            &mut b.fc1,
        )?;
        k2.run(
            &b.fc1,
            w.fc2_w.as_flattened(),
            Some(&w.fc2_b),
            act,
            scratch,
            &mut b.fc2,
        )?;
        let mut logits = [0.0; CLASSES];
        k3.run(
            &b.fc2,
            w.fc3_w.as_flattened(),
            Some(&w.fc3_b),
            Activation::Identity,
            scratch,
            &mut logits,
        )?;
        if logits.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite);
        }
        Ok(logits)
    }

    /// The predicted class, `0..10`.
    ///
    /// # Errors
    /// As [`logits`](Self::logits).
    pub fn predict(&mut self, image: &Image) -> Result<usize, Error> {
        argmax(&self.logits(image)?)
    }

    /// The conv1 feature maps of `image` (28×28×6, after the activation), computed whole by
    /// the plan's conv1 kernel, for visualisation.
    ///
    /// # Errors
    /// [`Error::NonFinite`] if a pixel is NaN or infinite.
    pub fn conv1_maps(
        &self,
        image: &Image,
        out: &mut Tensor<f32, SIDE, SIDE, 6>,
    ) -> Result<(), Error> {
        if flat(image).iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let w = &self.weights.w;
        // The filters are packed in the order of the plan's conv1 kernel: it computes the maps.
        P::CONV1_F32.run(
            &CONV1,
            flat(image),
            w.conv1_w.as_flattened().as_flattened().as_flattened(),
            Some(&w.conv1_b),
            w.variant.activation(),
            &mut [0.0; scratch_conv1_full_f32()],
            flat_mut(out),
        )?;
        Ok(())
    }
}

/// Scratch any f32 kernel needs for the whole of conv1 (for [`Lenet5F32::conv1_maps`]).
const fn scratch_conv1_full_f32() -> usize {
    let mut m = 0;
    let mut i = 0;
    while i < Conv2dF32Kernel::ALL.len() {
        m = max(m, Conv2dF32Kernel::ALL[i].scratch_len(&CONV1));
        i += 1;
    }
    m
}

/// Convolution fused with the 2×2, stride-2 pooling after it: by a kernel that
/// [fuses the pooling](Conv2dF32Kernel::fuses_pool2) into its output stage, the conv output
/// never exists (and the plan's pooling kernel is not used), and on vector targets one call
/// covers the whole layer ([`whole_layer_f32`]); otherwise two output rows at a time into
/// `band`, each pair pooled into one row of `pooled` at once.
///
/// Generic over the plan and never inlined: the kernels are constants in each instance (only
/// the plan's kernels are linked), and `scripts/firmware_report.py` attributes the instructions
/// of conv1 + pool1 (`C = 6`) and conv2 + pool2 (`C = 16`) to its two instances.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn conv_pool_f32<P: Lenet5Plan, const C: usize>(
    variant: Variant,
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: &[f32; C],
    act: Activation,
    band: &mut [f32],
    scratch: &mut [f32],
    pooled: &mut [f32],
) -> Result<(), Error> {
    let conv = if C == 6 { P::CONV1_F32 } else { P::CONV2_F32 };
    let d = g.dims()?;
    let in_row = g.in_w * g.in_c;
    let pool = Pool2dGeometry::new([2, d.out_w, C], [2, 2]);
    let pooled_row = (d.out_w / 2) * C;
    let fused = match variant {
        Variant::Classic => Pool2x2::Avg,
        Variant::Modern => Pool2x2::Max,
    };
    if whole_layer_f32(conv) {
        // The kernel pools in its output stage and one call covers the layer
        // (`band_scratch_f32` sizes the scratch for it).
        conv.run_pool2(g, input, weights, Some(bias), act, fused, scratch, pooled)?;
        return Ok(());
    }
    for (py, out) in pooled.chunks_exact_mut(pooled_row).enumerate() {
        let (bg, rows) = g.row_band(2 * py, 2)?;
        let band_input = &input[rows.start * in_row..rows.end * in_row];
        if conv.fuses_pool2() {
            // Pooled in the kernel's output stage: the band never exists.
            conv.run_pool2(
                &bg,
                band_input,
                weights,
                Some(bias),
                act,
                fused,
                scratch,
                out,
            )?;
            continue;
        }
        conv.run(&bg, band_input, weights, Some(bias), act, scratch, band)?;
        match variant {
            Variant::Classic => {
                P::POOL_F32.avg_f32(&pool, AvgPoolDivisor::IncludePadding, band, out)?
            }
            Variant::Modern => P::POOL_F32.max_f32(&pool, band, out)?,
        }
    }
    Ok(())
}

mod i8;

pub use i8::{
    CLASSIC_I8, Lenet5I8, Lenet5I8Raw, Lenet5I8Weights, MODERN_I8, PackedI8, QuantLayer, RawLayer,
    classic_i8, modern_i8,
};
