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
//! ```
//! use tinyconv::models::lenet5::{self, Lenet5F32};
//! use tinyconv::Direct;
//! let mut model = Lenet5F32::<Direct>::new(&lenet5::MODERN_F32);
//! let image = [[[0.0f32]; 28]; 28];
//! let class = model.predict(&image).unwrap();
//! assert!(class < 10);
//! ```

use core::marker::PhantomData;

use crate::activation::{Activation, argmax};
use crate::algorithm::Algorithm;
use crate::error::Error;
use crate::geometry::{AvgPoolDivisor, Conv2dGeometry, Padding, Pool2dGeometry};
use crate::models::blob::{self, Cursor, Precision, const_try};
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

/// f32 LeNet-5 with its convolutions computed by algorithm `A`.
#[derive(Clone, Debug)]
pub struct Lenet5F32<'w, A: Algorithm> {
    weights: &'w Lenet5Weights,
    buf: Buffers,
    _algorithm: PhantomData<A>,
}

impl<'w, A: Algorithm> Lenet5F32<'w, A> {
    /// Bytes of RAM the model needs for inference: its activation buffers plus the scratch `A`
    /// puts on the stack during a convolution (the call stack itself not included).
    pub const RAM_BYTES: usize =
        core::mem::size_of::<Buffers>() + A::SCRATCH_ELEMS * core::mem::size_of::<f32>();
    /// Bytes of weights.
    pub const WEIGHT_BYTES: usize = Lenet5Weights::PARAMS * core::mem::size_of::<f32>();

    /// A model over `weights`. A `const fn`, so firmware can place the model in a `static`.
    pub const fn new(weights: &'w Lenet5Weights) -> Self {
        const {
            assert!(
                A::MAX_PATCH >= 5 * 5 * 6,
                "im2col scratch must hold one conv2 patch"
            )
        }
        Lenet5F32 {
            weights,
            buf: Buffers::ZERO,
            _algorithm: PhantomData,
        }
    }

    /// The variant of the weights.
    pub fn variant(&self) -> Variant {
        self.weights.variant
    }

    /// The ten class scores (before softmax).
    ///
    /// # Errors
    /// [`Error::NonFinite`] if a pixel is NaN or infinite.
    pub fn logits(&mut self, image: &Image) -> Result<[f32; CLASSES], Error> {
        if flat(image).iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let w = self.weights;
        let act = w.variant.activation();
        let b = &mut self.buf;
        conv_pool::<A, 6>(
            &CONV1,
            flat(image),
            w.conv1_w.as_flattened().as_flattened().as_flattened(),
            &w.conv1_b,
            act,
            w.variant,
            flat_mut(&mut b.conv1_band),
            flat_mut(&mut b.pool1),
        )?;
        conv_pool::<A, 16>(
            &CONV2,
            flat(&b.pool1),
            w.conv2_w.as_flattened().as_flattened().as_flattened(),
            &w.conv2_b,
            act,
            w.variant,
            flat_mut(&mut b.conv2_band),
            flat_mut(&mut b.pool2),
        )?;
        A::dense_f32(
            flat(&b.pool2),
            w.fc1_w.as_flattened(),
            Some(&w.fc1_b),
            act,
            &mut b.fc1,
        )?;
        A::dense_f32(
            &b.fc1,
            w.fc2_w.as_flattened(),
            Some(&w.fc2_b),
            act,
            &mut b.fc2,
        )?;
        let mut logits = [0.0; CLASSES];
        A::dense_f32(
            &b.fc2,
            w.fc3_w.as_flattened(),
            Some(&w.fc3_b),
            Activation::Identity,
            &mut logits,
        )?;
        Ok(logits)
    }

    /// The predicted class, `0..10`.
    ///
    /// # Errors
    /// [`Error::NonFinite`] if a pixel is NaN or infinite.
    pub fn predict(&mut self, image: &Image) -> Result<usize, Error> {
        argmax(&self.logits(image)?)
    }

    /// The conv1 feature maps of `image` (28×28×6, after the activation), computed whole, for
    /// visualisation.
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
        let w = self.weights;
        A::conv2d_f32(
            &CONV1,
            flat(image),
            w.conv1_w.as_flattened().as_flattened().as_flattened(),
            Some(&w.conv1_b),
            w.variant.activation(),
            flat_mut(out),
        )?;
        Ok(())
    }
}

/// Convolution fused with the 2×2, stride-2 pooling after it: output rows are computed two at a
/// time into `band` and pooled into one row of `pooled` at once.
#[allow(clippy::too_many_arguments)]
fn conv_pool<A: Algorithm, const C: usize>(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: &[f32; C],
    act: Activation,
    variant: Variant,
    band: &mut [f32],
    pooled: &mut [f32],
) -> Result<(), Error> {
    let d = g.dims()?;
    let in_row = g.in_w * g.in_c;
    let pool = Pool2dGeometry::new([2, d.out_w, C], [2, 2]);
    let pooled_row = (d.out_w / 2) * C;
    for (py, out) in pooled.chunks_exact_mut(pooled_row).enumerate() {
        let (bg, rows) = g.row_band(2 * py, 2)?;
        A::conv2d_f32(
            &bg,
            &input[rows.start * in_row..rows.end * in_row],
            weights,
            Some(bias),
            act,
            band,
        )?;
        match variant {
            Variant::Classic => {
                A::avg_pool2d_f32(&pool, AvgPoolDivisor::IncludePadding, band, out)?
            }
            Variant::Modern => A::max_pool2d_f32(&pool, band, out)?,
        }
    }
    Ok(())
}

mod i8;

pub use i8::{CLASSIC_I8, Lenet5I8, Lenet5I8Weights, MODERN_I8, QuantLayer};
