//! int8 LeNet-5, TensorFlow Lite's quantization spec: int8 weights symmetric per output channel,
//! int8 activations with a scale and zero point per tensor, int32 bias with scale
//! `input_scale · weight_scale[c]`, requantization by [`QuantizedMultiplier`]s computed (at
//! compile time for shipped weights) from the scales.
//!
//! The input is the 8-bit image itself: pixel `p` is the real value `p / 255`, i.e. int8
//! `p − 128` with scale 1/255 and zero point −128, exactly. `classic`'s sigmoids are 256-entry
//! tables (output scale 1/256, zero point −128, as TFLite), shipped in the weight file;
//! `modern`'s ReLUs are clamps fused into the layer outputs.
//!
//! Weight-file payload (little-endian), after the [`blob`] header: input scale `f32`, input zero
//! point `i8`; then for conv1, conv2, fc1, fc2, fc3: weights `i8 × N` (in `[-127, 127]`), weight
//! scales `f32 × C`, bias `i32 × C`, output scale `f32`, output zero point `i8`; then, for
//! `classic` only, four sigmoid tables `i8 × 256` (after conv1, conv2, fc1, fc2), indexed by
//! `q + 128`.

use core::marker::PhantomData;

use super::{
    CLASSES, CONV1, CONV2, Image, Lenet5Plan, MODEL_ID, SIDE, Variant, conv_scratch_i8,
    scratch_dense_i8, scratch_i8, whole_layers_i8,
};
use crate::activation::argmax_i8;
use crate::conv::{Conv2dI8Kernel, Pool2x2};
use crate::error::Error;
use crate::geometry::{Conv2dGeometry, Pool2dGeometry};
use crate::models::Scratch;
use crate::models::blob::{self, Cursor, Precision, const_try};
use crate::quant::{
    ActivationRange, LayerParamsI8, QuantParams, QuantizedMultiplier, SIGMOID_OUTPUT_PARAMS,
    apply_table_in_place, check_accumulator, max_abs_bias, quantize, requant_multiplier,
};
use crate::tensor::{Tensor, flat};

/// One quantized conv or dense layer as stored in a weight file: `N` weights in `C` output
/// channels, unchecked. [`QuantLayer`] is the checked form the model runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawLayer<const N: usize, const C: usize> {
    /// Weights, int8 in `[-127, 127]`, tinyconv's layout (`[C][KH][KW][C_in]` or `[C][in]`).
    pub weights: [i8; N],
    /// Per-output-channel weight scales (zero point 0), positive and finite.
    pub weight_scales: [f32; C],
    /// Bias, int32 with scale `input_scale · weight_scales[c]`.
    pub bias: [i32; C],
    /// Output scale and zero point.
    pub output: QuantParams,
}

/// One checked quantized layer: weights in `[-127, 127]`, a bias within the accumulator bound,
/// requantization multipliers derived from the scales. Only [`Lenet5I8Weights::new`] and
/// [`Lenet5I8Weights::decode`] build one, so a model never runs a layer that was not checked.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantLayer<const N: usize, const C: usize> {
    raw: RawLayer<N, C>,
    multipliers: [QuantizedMultiplier; C],
    range: ActivationRange,
}

impl<const N: usize, const C: usize> QuantLayer<N, C> {
    /// The layer as stored.
    pub const fn raw(&self) -> &RawLayer<N, C> {
        &self.raw
    }

    /// Weights (canonical layout, or a kernel's order inside [`PackedI8`]).
    pub const fn weights(&self) -> &[i8; N] {
        &self.raw.weights
    }

    /// Bias per output channel.
    pub const fn bias(&self) -> &[i32; C] {
        &self.raw.bias
    }

    /// Output scale and zero point.
    pub const fn output(&self) -> QuantParams {
        self.raw.output
    }

    /// `input_scale · weight_scales[c] / output.scale()`, as TFLite's `QuantizeMultiplier`.
    pub const fn multipliers(&self) -> &[QuantizedMultiplier; C] {
        &self.multipliers
    }

    /// The fused activation clamp (ReLU for `modern`, none for `classic`).
    pub const fn range(&self) -> ActivationRange {
        self.range
    }

    /// The layer's parameters for the int8 kernels, given its input zero point.
    pub fn params(&self, input_zero_point: i8) -> LayerParamsI8<'_> {
        LayerParamsI8::new(
            input_zero_point,
            self.raw.output.zero_point(),
            &self.multipliers,
            Some(&self.raw.bias),
        )
        .with_range(self.range)
    }

    const fn read(c: &mut Cursor<'_>) -> Result<RawLayer<N, C>, Error> {
        let mut l = RawLayer {
            weights: [0; N],
            weight_scales: [0.0; C],
            bias: [0; C],
            output: SIGMOID_OUTPUT_PARAMS,
        };
        const_try!(c.i8s(&mut l.weights));
        const_try!(c.f32s(&mut l.weight_scales));
        const_try!(c.i32s(&mut l.bias));
        let scale = const_try!(c.f32());
        let zp = const_try!(c.i8());
        l.output = match QuantParams::new(scale, zp as i32) {
            Ok(p) => p,
            Err(_) => return Err(Error::Format("invalid output scale")),
        };
        Ok(l)
    }

    const fn check(raw: &RawLayer<N, C>, input: QuantParams, relu: bool) -> Result<Self, Error> {
        if crate::quant::check_weights_i8(&raw.weights).is_err() {
            return Err(Error::Format("int8 weight outside [-127, 127]"));
        }
        let mut multipliers = [QuantizedMultiplier::ZERO; C];
        let mut o = 0;
        while o < C {
            multipliers[o] =
                match requant_multiplier(input.scale(), raw.weight_scales[o], raw.output.scale()) {
                    Ok(m) => m,
                    Err(_) => return Err(Error::Format("invalid weight scale or multiplier")),
                };
            o += 1;
        }
        if check_accumulator(N / C, max_abs_bias(&raw.bias)).is_err() {
            return Err(Error::Format("layer could overflow the i32 accumulator"));
        }
        let range = if relu {
            ActivationRange::relu(raw.output)
        } else {
            ActivationRange::none()
        };
        Ok(QuantLayer {
            raw: *raw,
            multipliers,
            range,
        })
    }
}

/// int8 LeNet-5 parameters as stored in a weight file, unchecked: build them by hand (e.g. a
/// quantization tool) and check them with [`Lenet5I8Weights::new`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lenet5I8Raw {
    /// Which variant.
    pub variant: Variant,
    /// Input quantization (1/255, −128 for 8-bit images).
    pub input: QuantParams,
    /// conv1 (`[6][5][5][1]`).
    pub conv1: RawLayer<150, 6>,
    /// conv2 (`[16][5][5][6]`).
    pub conv2: RawLayer<2400, 16>,
    /// dense 400 → 120 (inputs in `H, W, C` order).
    pub fc1: RawLayer<48_000, 120>,
    /// dense 120 → 84.
    pub fc2: RawLayer<10_080, 84>,
    /// dense 84 → 10 (the logits).
    pub fc3: RawLayer<840, 10>,
    /// `classic`: sigmoid tables after conv1, conv2, fc1, fc2 (index `q + 128`), each
    /// non-decreasing; ignored by `modern`.
    pub sigmoid: [[i8; 256]; 4],
}

/// int8 LeNet-5 parameters, quantized and checked (fields private: built only by
/// [`new`](Self::new) or [`decode`](Self::decode), which check every invariant the kernels rely
/// on).
#[derive(Clone, Debug, PartialEq)]
pub struct Lenet5I8Weights {
    variant: Variant,
    input: QuantParams,
    conv1: QuantLayer<150, 6>,
    conv2: QuantLayer<2400, 16>,
    fc1: QuantLayer<48_000, 120>,
    fc2: QuantLayer<10_080, 84>,
    fc3: QuantLayer<840, 10>,
    sigmoid: [[i8; 256]; 4],
}

impl Lenet5I8Weights {
    /// Bytes of weights, biases, multipliers and tables.
    pub const BYTES: usize = core::mem::size_of::<Self>();

    /// Checks raw parameters and derives the requantization multipliers. A `const fn`.
    ///
    /// # Errors
    /// [`Error::Format`] for a weight of −128, a scale that is not positive and finite, a
    /// multiplier outside TFLite's range, a layer that could overflow the i32 accumulator, or
    /// (`classic`) a sigmoid table that is not monotone.
    pub const fn new(raw: &Lenet5I8Raw) -> Result<Self, Error> {
        let variant = raw.variant;
        let relu = matches!(variant, Variant::Modern);
        let conv1 = const_try!(QuantLayer::check(&raw.conv1, raw.input, relu));
        let conv2 = const_try!(QuantLayer::check(
            &raw.conv2,
            hidden_params(variant, conv1.raw.output),
            relu
        ));
        let fc1 = const_try!(QuantLayer::check(
            &raw.fc1,
            hidden_params(variant, conv2.raw.output),
            relu
        ));
        let fc2 = const_try!(QuantLayer::check(
            &raw.fc2,
            hidden_params(variant, fc1.raw.output),
            relu
        ));
        let fc3 = const_try!(QuantLayer::check(
            &raw.fc3,
            hidden_params(variant, fc2.raw.output),
            false
        ));
        let mut sigmoid = [[0i8; 256]; 4];
        if !relu {
            let mut t = 0;
            while t < 4 {
                let mut i = 1;
                while i < 256 {
                    if raw.sigmoid[t][i] < raw.sigmoid[t][i - 1] {
                        return Err(Error::Format("sigmoid table is not monotone"));
                    }
                    i += 1;
                }
                t += 1;
            }
            sigmoid = raw.sigmoid;
        }
        Ok(Lenet5I8Weights {
            variant,
            input: raw.input,
            conv1,
            conv2,
            fc1,
            fc2,
            fc3,
            sigmoid,
        })
    }

    /// The parameters as stored (for editing and [`new`](Self::new) again).
    pub const fn raw(&self) -> Lenet5I8Raw {
        Lenet5I8Raw {
            variant: self.variant,
            input: self.input,
            conv1: self.conv1.raw,
            conv2: self.conv2.raw,
            fc1: self.fc1.raw,
            fc2: self.fc2.raw,
            fc3: self.fc3.raw,
            sigmoid: self.sigmoid,
        }
    }

    /// Which variant.
    pub const fn variant(&self) -> Variant {
        self.variant
    }

    /// Input quantization.
    pub const fn input(&self) -> QuantParams {
        self.input
    }

    /// conv1.
    pub const fn conv1(&self) -> &QuantLayer<150, 6> {
        &self.conv1
    }

    /// conv2.
    pub const fn conv2(&self) -> &QuantLayer<2400, 16> {
        &self.conv2
    }

    /// dense 400 → 120.
    pub const fn fc1(&self) -> &QuantLayer<48_000, 120> {
        &self.fc1
    }

    /// dense 120 → 84.
    pub const fn fc2(&self) -> &QuantLayer<10_080, 84> {
        &self.fc2
    }

    /// dense 84 → 10.
    pub const fn fc3(&self) -> &QuantLayer<840, 10> {
        &self.fc3
    }

    /// `classic`'s sigmoid tables (all zero for `modern`).
    pub const fn sigmoid(&self) -> &[[i8; 256]; 4] {
        &self.sigmoid
    }

    /// Decodes an int8 LeNet-5 weight file and checks it with [`new`](Self::new). A
    /// `const fn`: shipped weights are decoded and checked at compile time.
    ///
    /// # Errors
    /// [`Error::Format`] for a malformed container, another model or precision, a wrong payload
    /// length, or anything [`new`](Self::new) rejects.
    pub const fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let h = const_try!(blob::parse_header(bytes));
        if h.model != MODEL_ID {
            return Err(Error::Format("not a LeNet-5 weight file"));
        }
        if !matches!(h.precision, Precision::I8) {
            return Err(Error::Format("not an int8 weight file"));
        }
        let variant = const_try!(Variant::from_byte(h.variant));
        let mut c = Cursor::new(bytes, blob::HEADER_LEN);
        let in_scale = const_try!(c.f32());
        let in_zp = const_try!(c.i8());
        let input = match QuantParams::new(in_scale, in_zp as i32) {
            Ok(p) => p,
            Err(_) => return Err(Error::Format("invalid input scale")),
        };
        let conv1 = const_try!(QuantLayer::<150, 6>::read(&mut c));
        let conv2 = const_try!(QuantLayer::<2400, 16>::read(&mut c));
        let fc1 = const_try!(QuantLayer::<48_000, 120>::read(&mut c));
        let fc2 = const_try!(QuantLayer::<10_080, 84>::read(&mut c));
        let fc3 = const_try!(QuantLayer::<840, 10>::read(&mut c));
        let mut sigmoid = [[0i8; 256]; 4];
        if matches!(variant, Variant::Classic) {
            let mut t = 0;
            while t < 4 {
                const_try!(c.i8s(&mut sigmoid[t]));
                t += 1;
            }
        }
        const_try!(c.finish(blob::HEADER_LEN + h.payload_len));
        Lenet5I8Weights::new(&Lenet5I8Raw {
            variant,
            input,
            conv1,
            conv2,
            fc1,
            fc2,
            fc3,
            sigmoid,
        })
    }

    /// Length of the encoded weight file of a `variant` model.
    pub const fn encoded_len(variant: Variant) -> usize {
        let layers = (150 + 6 * 8 + 5)
            + (2400 + 16 * 8 + 5)
            + (48_000 + 120 * 8 + 5)
            + (10_080 + 84 * 8 + 5)
            + (840 + 10 * 8 + 5);
        let tables = match variant {
            Variant::Classic => 4 * 256,
            Variant::Modern => 0,
        };
        blob::HEADER_LEN + 5 + layers + tables + 4
    }

    /// Encodes the weights as a weight file into `out` (at least
    /// [`encoded_len`](Self::encoded_len) bytes); returns the length written. The multipliers are
    /// not stored: [`decode`](Self::decode) derives them from the scales.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `out` is too small.
    pub fn encode_into(&self, out: &mut [u8]) -> Result<usize, Error> {
        fn layer<const N: usize, const C: usize>(
            wr: &mut blob::Writer<'_>,
            l: &RawLayer<N, C>,
        ) -> Result<(), Error> {
            wr.i8s(&l.weights)?;
            wr.f32s(&l.weight_scales)?;
            wr.i32s(&l.bias)?;
            wr.f32s(&[l.output.scale()])?;
            wr.i8s(&[l.output.zero_point()])
        }
        let mut wr = blob::Writer::new(out);
        wr.f32s(&[self.input.scale()])?;
        wr.i8s(&[self.input.zero_point()])?;
        layer(&mut wr, &self.conv1.raw)?;
        layer(&mut wr, &self.conv2.raw)?;
        layer(&mut wr, &self.fc1.raw)?;
        layer(&mut wr, &self.fc2.raw)?;
        layer(&mut wr, &self.fc3.raw)?;
        if self.variant == Variant::Classic {
            for t in &self.sigmoid {
                wr.i8s(t)?;
            }
        }
        wr.finish(MODEL_ID, self.variant as u8, Precision::I8)
    }

    /// The quantization of the activation that follows a hidden layer whose output is `out`.
    pub const fn hidden(&self, out: QuantParams) -> QuantParams {
        hidden_params(self.variant, out)
    }
}

/// `modern`: the ReLU output keeps the layer's params; `classic`: the sigmoid table outputs
/// TFLite's fixed 1/256, −128.
const fn hidden_params(variant: Variant, out: QuantParams) -> QuantParams {
    match variant {
        Variant::Modern => out,
        Variant::Classic => SIGMOID_OUTPUT_PARAMS,
    }
}

const fn decode_or_panic(bytes: &[u8]) -> Lenet5I8Weights {
    match Lenet5I8Weights::decode(bytes) {
        Ok(w) => w,
        Err(_) => panic!("malformed shipped LeNet-5 int8 weights"),
    }
}

/// The shipped `classic` int8 weights (decoded at compile time from `models/lenet5-classic.i8.bin`).
pub static CLASSIC_I8: Lenet5I8Weights =
    decode_or_panic(include_bytes!("../../../models/lenet5-classic.i8.bin"));
/// The shipped `modern` int8 weights (decoded at compile time from `models/lenet5-modern.i8.bin`).
pub static MODERN_I8: Lenet5I8Weights =
    decode_or_panic(include_bytes!("../../../models/lenet5-modern.i8.bin"));

/// Input rows one band of two output rows of a 5×5 convolution reads (2 + 5 − 1).
const BAND_INPUT_ROWS: usize = 6;
/// Rows of pool1 kept at a time: what one band of conv2 reads.
const WINDOW_ROWS: usize = 6;

#[derive(Clone, Debug)]
struct Buffers {
    band_input: [i8; BAND_INPUT_ROWS * SIDE],
    conv1_band: Tensor<i8, 2, SIDE, 6>,
    pool1_window: Tensor<i8, WINDOW_ROWS, 14, 6>,
    conv2_band: Tensor<i8, 2, 10, 16>,
    pool2: Tensor<i8, 5, 5, 16>,
    fc1: [i8; 120],
    fc2: [i8; 84],
}

impl Buffers {
    const ZERO: Buffers = Buffers {
        band_input: [0; BAND_INPUT_ROWS * SIDE],
        conv1_band: [[[0; 6]; SIDE]; 2],
        pool1_window: [[[0; 6]; 14]; WINDOW_ROWS],
        conv2_band: [[[0; 16]; 10]; 2],
        pool2: [[[0; 16]; 5]; 5],
        fc1: [0; 120],
        fc2: [0; 84],
    };
}

/// int8 LeNet-5 weights packed for the kernels of plan `P` (build them at compile time:
/// [`modern_i8`], [`classic_i8`], or [`pack`](Self::pack) in a `static`).
#[derive(Clone, Debug, PartialEq)]
pub struct PackedI8<P> {
    w: Lenet5I8Weights,
    _plan: PhantomData<P>,
}

impl<P: Lenet5Plan> PackedI8<P> {
    /// Packs checked weights for `P`'s kernels. A `const fn`: put the result in a `static`, or
    /// use [`modern_i8`]/[`classic_i8`] for the shipped weights.
    ///
    /// # Errors
    /// None for the plans of this crate; a plan's kernel may reject a layer shape.
    pub const fn pack(w: &Lenet5I8Weights) -> Result<Self, Error> {
        let mut p = Lenet5I8Weights {
            variant: w.variant,
            input: w.input,
            conv1: QuantLayer { ..*w.conv1() },
            conv2: QuantLayer { ..*w.conv2() },
            fc1: QuantLayer { ..*w.fc1() },
            fc2: QuantLayer { ..*w.fc2() },
            fc3: QuantLayer { ..*w.fc3() },
            sigmoid: w.sigmoid,
        };
        const_try!(P::CONV1_I8.pack(&CONV1, &w.conv1.raw.weights, &mut p.conv1.raw.weights));
        const_try!(P::CONV2_I8.pack(&CONV2, &w.conv2.raw.weights, &mut p.conv2.raw.weights));
        const_try!(P::DENSE_I8[0].pack(400, 120, &w.fc1.raw.weights, &mut p.fc1.raw.weights));
        const_try!(P::DENSE_I8[1].pack(120, 84, &w.fc2.raw.weights, &mut p.fc2.raw.weights));
        const_try!(P::DENSE_I8[2].pack(84, 10, &w.fc3.raw.weights, &mut p.fc3.raw.weights));
        Ok(PackedI8 {
            w: p,
            _plan: PhantomData,
        })
    }

    /// The variant of the weights.
    pub const fn variant(&self) -> Variant {
        self.w.variant
    }
}

/// The shipped `modern` int8 weights packed for plan `P` (at compile time, once per plan used).
pub fn modern_i8<P: Lenet5Plan>() -> &'static PackedI8<P> {
    const {
        &match PackedI8::<P>::pack(&MODERN_I8) {
            Ok(p) => p,
            Err(_) => panic!("the plan's kernels reject LeNet-5"),
        }
    }
}

/// The shipped `classic` int8 weights packed for plan `P`.
pub fn classic_i8<P: Lenet5Plan>() -> &'static PackedI8<P> {
    const {
        &match PackedI8::<P>::pack(&CLASSIC_I8) {
            Ok(p) => p,
            Err(_) => panic!("the plan's kernels reject LeNet-5"),
        }
    }
}

/// int8 LeNet-5, each layer on the kernel plan `P` names; bit-exact across plans.
#[derive(Clone, Debug)]
pub struct Lenet5I8<'w, P: Lenet5Plan> {
    weights: &'w PackedI8<P>,
    buf: Buffers,
    scratch: P::ScratchI8,
}

impl<'w, P: Lenet5Plan> Lenet5I8<'w, P> {
    /// Bytes of the activation buffers (conv outputs two rows at a time, pool1 as a window of
    /// six rows).
    pub const ACTIVATION_BYTES: usize = core::mem::size_of::<Buffers>();
    /// Bytes of the plan's kernel scratch (with the image and pool1 held whole when the model
    /// runs each convolution once over its layer: [`whole_layers_i8`]).
    pub const SCRATCH_BYTES: usize = core::mem::size_of::<P::ScratchI8>();
    /// Bytes of the model's state: activations and scratch, both inside the model, so a model in
    /// a `static` needs exactly this much RAM besides the call stack of [`logits_u8`]
    /// (measured per target in the firmware table).
    ///
    /// [`logits_u8`]: Self::logits_u8
    pub const RAM_BYTES: usize = Self::ACTIVATION_BYTES + Self::SCRATCH_BYTES;
    /// Bytes of weights and quantization parameters.
    pub const WEIGHT_BYTES: usize = Lenet5I8Weights::BYTES;

    /// A model over weights packed for `P`. A `const fn`, so firmware can place the model in a
    /// `static` (or build it in place on the stack without temporaries); fails to compile if
    /// `P`'s scratch is smaller than [`scratch_i8`] asks.
    pub const fn new(weights: &'w PackedI8<P>) -> Self {
        const {
            assert!(
                core::mem::size_of::<P::ScratchI8>() / 2 >= scratch_i8(P::CONV1_I8, P::CONV2_I8),
                "the plan's ScratchI8 is smaller than scratch_i8(CONV1_I8, CONV2_I8)"
            );
            assert!(
                core::mem::size_of::<P::ScratchI8>() / 2 >= scratch_dense_i8(P::DENSE_I8),
                "the plan's ScratchI8 is smaller than scratch_dense_i8(DENSE_I8)"
            )
        }
        Lenet5I8 {
            weights,
            buf: Buffers::ZERO,
            scratch: P::ScratchI8::ZERO,
        }
    }

    /// The variant of the weights.
    pub fn variant(&self) -> Variant {
        self.weights.w.variant
    }

    /// The ten int8 class scores of an 8-bit image (row-major, `0..=255`).
    ///
    /// # Errors
    /// None in practice (every shape is fixed and the weights were checked); a kernel's error
    /// is passed on, never dropped.
    pub fn logits_u8(&mut self, image: &[u8; SIDE * SIDE]) -> Result<[i8; CLASSES], Error> {
        let inp = self.weights.w.input;
        // Exact for the shipped input quantization (1/255, −128): q = p − 128.
        let exact = inp.scale() == 1.0 / 255.0 && inp.zero_point() == -128;
        self.run(|rows, dst| {
            for (d, &p) in dst
                .iter_mut()
                .zip(&image[rows.start * SIDE..rows.end * SIDE])
            {
                *d = if exact {
                    (p as i16 - 128) as i8
                } else {
                    quantize(p as f32 / 255.0, inp)
                };
            }
        })
    }

    /// The ten int8 class scores of an f32 image (values in `[0, 1]`), quantized with the
    /// model's input parameters.
    ///
    /// # Errors
    /// [`Error::NonFinite`] if a pixel is NaN or infinite.
    pub fn logits(&mut self, image: &Image) -> Result<[i8; CLASSES], Error> {
        let x = flat(image);
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite);
        }
        let inp = self.weights.w.input;
        self.run(|rows, dst| {
            for (d, &v) in dst.iter_mut().zip(&x[rows.start * SIDE..rows.end * SIDE]) {
                *d = quantize(v, inp);
            }
        })
    }

    /// The predicted class of an 8-bit image.
    ///
    /// # Errors
    /// As [`logits_u8`](Self::logits_u8).
    pub fn predict_u8(&mut self, image: &[u8; SIDE * SIDE]) -> Result<usize, Error> {
        argmax_i8(&self.logits_u8(image)?)
    }

    /// The predicted class of an f32 image.
    ///
    /// # Errors
    /// [`Error::NonFinite`] if a pixel is NaN or infinite.
    pub fn predict(&mut self, image: &Image) -> Result<usize, Error> {
        argmax_i8(&self.logits(image)?)
    }

    /// The network, with `load(rows, dst)` writing quantized input rows `rows` into `dst`.
    fn run(
        &mut self,
        load: impl Fn(core::ops::Range<usize>, &mut [i8]),
    ) -> Result<[i8; CLASSES], Error> {
        let weights: &'w PackedI8<P> = self.weights;
        let w = &weights.w;
        let b = &mut self.buf;
        let scratch = self.scratch.as_mut_slice();
        let classic = w.variant == Variant::Classic;
        let table = |t: usize| if classic { Some(&w.sigmoid[t]) } else { None };
        let p1_in = w.hidden(w.conv1.raw.output);
        let p2_in = w.hidden(w.conv2.raw.output);
        let f1_in = w.hidden(w.fc1.raw.output);
        let f2_in = w.hidden(w.fc2.raw.output);
        let conv1_params = w.conv1.params(w.input.zero_point());
        let conv2_params = w.conv2.params(p1_in.zero_point());
        if whole_layers_i8(P::CONV1_I8, P::CONV2_I8) {
            // Each convolution once over its whole layer, pooled in its output stage; the image
            // and pool1 are held in the scratch past the kernels' part.
            let (kernel_scratch, held) =
                scratch.split_at_mut(const { conv_scratch_i8(P::CONV1_I8, P::CONV2_I8) });
            let held: &mut [i8] = bytemuck::cast_slice_mut(held);
            let (input, rest) = held.split_at_mut(SIDE * SIDE);
            let pool1 = &mut rest[..14 * 14 * 6];
            load(0..SIDE, input);
            band_step::<P, 6>(
                &CONV1,
                input,
                &w.conv1.raw.weights,
                &conv1_params,
                table(0),
                classic,
                b.conv1_band.as_flattened_mut().as_flattened_mut(),
                kernel_scratch,
                pool1,
            )?;
            band_step::<P, 16>(
                &CONV2,
                pool1,
                &w.conv2.raw.weights,
                &conv2_params,
                table(1),
                classic,
                b.conv2_band.as_flattened_mut().as_flattened_mut(),
                kernel_scratch,
                b.pool2.as_flattened_mut().as_flattened_mut(),
            )?;
        } else {
            stream_convs::<P>(w, b, scratch, &load, [&conv1_params, &conv2_params])?;
        }
        let [k1, k2, k3] = P::DENSE_I8;
        k1.run(
            flat(&b.pool2),
            &w.fc1.raw.weights,
            &w.fc1.params(p2_in.zero_point()),
            scratch,
            &mut b.fc1,
        )?;
        if let Some(t) = table(2) {
            apply_table_in_place(t, &mut b.fc1);
        }
        k2.run(
            &b.fc1,
            &w.fc2.raw.weights,
            &w.fc2.params(f1_in.zero_point()),
            scratch,
            &mut b.fc2,
        )?;
        if let Some(t) = table(3) {
            apply_table_in_place(t, &mut b.fc2);
        }
        let mut logits = [0i8; CLASSES];
        k3.run(
            &b.fc2,
            &w.fc3.raw.weights,
            &w.fc3.params(f2_in.zero_point()),
            scratch,
            &mut logits,
        )?;
        Ok(logits)
    }
}

/// conv1 + pool1 and conv2 + pool2 streamed two output rows at a time: conv1 + pool1 produce
/// pool1 rows on demand into a window of the 6 rows that one band of conv2 (two output rows, 5×5
/// kernel) reads; the window slides by 2 rows per band. Each pool1 row is one band of two conv1
/// rows; the input rows are quantized per band.
fn stream_convs<P: Lenet5Plan>(
    w: &Lenet5I8Weights,
    b: &mut Buffers,
    scratch: &mut [i16],
    load: &impl Fn(core::ops::Range<usize>, &mut [i8]),
    params: [&LayerParamsI8<'_>; 2],
) -> Result<(), Error> {
    let classic = w.variant == Variant::Classic;
    let table = |t: usize| if classic { Some(&w.sigmoid[t]) } else { None };
    let mut produced: usize = 0;
    for (py, out) in b.pool2.iter_mut().enumerate() {
        let (bg, rows) = CONV2.row_band(2 * py, 2)?;
        // Keep the rows the window still needs, drop the ones before `rows.start`.
        let keep = produced.saturating_sub(rows.start);
        let drop = WINDOW_ROWS - keep;
        b.pool1_window
            .copy_within(drop.min(WINDOW_ROWS)..WINDOW_ROWS, 0);
        for r in rows.start + keep..rows.end {
            let (g1, in_rows) = CONV1.row_band(2 * r, 2)?;
            let src = &mut b.band_input[..in_rows.len() * SIDE];
            load(in_rows, src);
            band_step::<P, 6>(
                &g1,
                src,
                &w.conv1.raw.weights,
                params[0],
                table(0),
                classic,
                b.conv1_band.as_flattened_mut().as_flattened_mut(),
                scratch,
                b.pool1_window[r - rows.start].as_flattened_mut(),
            )?;
        }
        produced = rows.end;
        band_step::<P, 16>(
            &bg,
            &flat(&b.pool1_window)[..rows.len() * 14 * 6],
            &w.conv2.raw.weights,
            params[1],
            table(1),
            classic,
            b.conv2_band.as_flattened_mut().as_flattened_mut(),
            scratch,
            out.as_flattened_mut(),
        )?;
    }
    Ok(())
}

/// One band of an int8 convolution fused with the 2×2, stride-2 pooling after it (and, for
/// `classic`, the sigmoid table between them): two conv output rows into `band`, pooled into one
/// output row; or, with a kernel that [fuses them](Conv2dI8Kernel::fuses_pool2) into its output
/// stage, table and pooling applied in registers and only the pooled row written (the plan's
/// pooling kernel is then not used).
///
/// Never inlined: `scripts/firmware_report.py` attributes the instructions of conv1 + pool1
/// (`C = 6`) and conv2 + pool2 (`C = 16`) to this function's two instances (per plan `P`).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn band_step<P: Lenet5Plan, const C: usize>(
    g: &Conv2dGeometry,
    input: &[i8],
    weights: &[i8],
    params: &LayerParamsI8<'_>,
    table: Option<&[i8; 256]>,
    average: bool,
    band: &mut [i8],
    scratch: &mut [i16],
    out: &mut [i8],
) -> Result<(), Error> {
    // The plan's kernels are constants here (conv1 has 6 filters, conv2 16), so each instance
    // calls its layer's kernel directly.
    let conv: Conv2dI8Kernel = if C == 6 { P::CONV1_I8 } else { P::CONV2_I8 };
    if conv.fuses_pool2() {
        // Table and pooling in the kernel's output stage: the band never exists.
        let pool = if average { Pool2x2::Avg } else { Pool2x2::Max };
        conv.run_pool2(g, input, weights, params, table, pool, scratch, out)?;
        return Ok(());
    }
    if table.is_none() && !average {
        // The pairs and swar kernels fuse the 2×2 max pooling into their output stage (one
        // requantization per pooled value; exact, requantization being monotone).
        if conv == Conv2dI8Kernel::Pairs {
            crate::conv::pairs::conv2d_max_pool_i8(g, input, weights, params, scratch, out)?;
            return Ok(());
        }
        if conv == Conv2dI8Kernel::Swar {
            crate::conv::swar::conv2d_max_pool_i8(g, input, weights, params, scratch, out)?;
            return Ok(());
        }
    }
    let out_w = g.dims()?.out_w;
    let geom = Pool2dGeometry::new([2, out_w, C], [2, 2]);
    conv.run(g, input, weights, params, scratch, band)?;
    if let Some(t) = table {
        apply_table_in_place(t, band);
    }
    if average {
        P::POOL_I8.avg_i8(&geom, ActivationRange::none(), band, out)
    } else {
        P::POOL_I8.max_i8(&geom, ActivationRange::none(), band, out)
    }
}
