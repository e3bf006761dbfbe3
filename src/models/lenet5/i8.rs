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

use super::{CLASSES, CONV1, CONV2, Image, MODEL_ID, SIDE, Variant};
use crate::activation::argmax_i8;
use crate::algorithm::Algorithm;
use crate::error::Error;
use crate::geometry::{Conv2dGeometry, Pool2dGeometry};
use crate::models::blob::{self, Cursor, Precision, const_try};
use crate::quant::{
    ActivationRange, LayerParamsI8, QuantParams, QuantizedMultiplier, SIGMOID_OUTPUT_PARAMS,
    apply_table_in_place, check_accumulator, max_abs_bias, quantize, requant_multiplier,
};
use crate::tensor::{Tensor, flat};

/// One quantized conv or dense layer: `N` weights in `C` output channels.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantLayer<const N: usize, const C: usize> {
    /// Weights, int8 in `[-127, 127]`, tinyconv's layout (`[C][KH][KW][C_in]` or `[C][in]`).
    pub weights: [i8; N],
    /// Per-output-channel weight scales (zero point 0).
    pub weight_scales: [f32; C],
    /// Bias, int32 with scale `input_scale · weight_scales[c]`.
    pub bias: [i32; C],
    /// `input_scale · weight_scales[c] / output.scale()`, as TFLite's `QuantizeMultiplier`.
    pub multipliers: [QuantizedMultiplier; C],
    /// Output scale and zero point.
    pub output: QuantParams,
    /// The fused activation clamp (ReLU for `modern`, none for `classic`).
    pub range: ActivationRange,
}

impl<const N: usize, const C: usize> QuantLayer<N, C> {
    /// The layer's parameters for the int8 kernels, given its input zero point.
    pub fn params(&self, input_zero_point: i8) -> LayerParamsI8<'_> {
        LayerParamsI8::new(
            input_zero_point,
            self.output.zero_point(),
            &self.multipliers,
        )
        .with_bias(&self.bias)
        .with_range(self.range)
    }

    const fn decode(c: &mut Cursor<'_>, input: QuantParams, relu: bool) -> Result<Self, Error> {
        let mut l = QuantLayer {
            weights: [0; N],
            weight_scales: [0.0; C],
            bias: [0; C],
            multipliers: [QuantizedMultiplier::ZERO; C],
            output: SIGMOID_OUTPUT_PARAMS,
            range: ActivationRange::none(),
        };
        const_try!(c.i8s(&mut l.weights));
        if crate::quant::check_weights_i8(&l.weights).is_err() {
            return Err(Error::Format("int8 weight outside [-127, 127]"));
        }
        const_try!(c.f32s(&mut l.weight_scales));
        const_try!(c.i32s(&mut l.bias));
        let scale = const_try!(c.f32());
        let zp = const_try!(c.i8());
        l.output = match QuantParams::new(scale, zp as i32) {
            Ok(p) => p,
            Err(_) => return Err(Error::Format("invalid output scale")),
        };
        let mut o = 0;
        while o < C {
            l.multipliers[o] =
                match requant_multiplier(input.scale(), l.weight_scales[o], l.output.scale()) {
                    Ok(m) => m,
                    Err(_) => return Err(Error::Format("invalid weight scale or multiplier")),
                };
            o += 1;
        }
        if check_accumulator(N / C, max_abs_bias(&l.bias)).is_err() {
            return Err(Error::Format("layer could overflow the i32 accumulator"));
        }
        if relu {
            l.range = ActivationRange::relu(l.output);
        }
        Ok(l)
    }
}

/// int8 LeNet-5 parameters, quantized.
#[derive(Clone, Debug, PartialEq)]
pub struct Lenet5I8Weights {
    /// Which variant.
    pub variant: Variant,
    /// Input quantization (1/255, −128 for 8-bit images).
    pub input: QuantParams,
    /// conv1 (`[6][5][5][1]`).
    pub conv1: QuantLayer<150, 6>,
    /// conv2 (`[16][5][5][6]`).
    pub conv2: QuantLayer<2400, 16>,
    /// dense 400 → 120 (inputs in `H, W, C` order).
    pub fc1: QuantLayer<48_000, 120>,
    /// dense 120 → 84.
    pub fc2: QuantLayer<10_080, 84>,
    /// dense 84 → 10 (the logits).
    pub fc3: QuantLayer<840, 10>,
    /// `classic`: sigmoid tables after conv1, conv2, fc1, fc2 (index `q + 128`); unused by
    /// `modern`.
    pub sigmoid: [[i8; 256]; 4],
}

impl Lenet5I8Weights {
    /// Bytes of weights, biases, multipliers and tables.
    pub const BYTES: usize = core::mem::size_of::<Self>();

    /// Decodes an int8 LeNet-5 weight file; computes the requantization multipliers. A
    /// `const fn`: shipped weights are decoded and checked at compile time.
    ///
    /// # Errors
    /// [`Error::Format`] for a malformed container, another model or precision, a wrong payload
    /// length, a weight of −128, a scale that is not positive and finite, a multiplier outside
    /// TFLite's range, a layer that could overflow the i32 accumulator, or a sigmoid table that is
    /// not monotone.
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
        let relu = matches!(variant, Variant::Modern);
        let conv1 = const_try!(QuantLayer::<150, 6>::decode(&mut c, input, relu));
        let conv2 = const_try!(QuantLayer::<2400, 16>::decode(
            &mut c,
            hidden_params(variant, conv1.output),
            relu
        ));
        let fc1 = const_try!(QuantLayer::<48_000, 120>::decode(
            &mut c,
            hidden_params(variant, conv2.output),
            relu
        ));
        let fc2 = const_try!(QuantLayer::<10_080, 84>::decode(
            &mut c,
            hidden_params(variant, fc1.output),
            relu
        ));
        let fc3 = const_try!(QuantLayer::<840, 10>::decode(
            &mut c,
            hidden_params(variant, fc2.output),
            false
        ));
        let mut sigmoid = [[0i8; 256]; 4];
        if !relu {
            let mut t = 0;
            while t < 4 {
                const_try!(c.i8s(&mut sigmoid[t]));
                let mut i = 1;
                while i < 256 {
                    if sigmoid[t][i] < sigmoid[t][i - 1] {
                        return Err(Error::Format("sigmoid table is not monotone"));
                    }
                    i += 1;
                }
                t += 1;
            }
        }
        const_try!(c.finish(blob::HEADER_LEN + h.payload_len));
        Ok(Lenet5I8Weights {
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
            l: &QuantLayer<N, C>,
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
        layer(&mut wr, &self.conv1)?;
        layer(&mut wr, &self.conv2)?;
        layer(&mut wr, &self.fc1)?;
        layer(&mut wr, &self.fc2)?;
        layer(&mut wr, &self.fc3)?;
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

/// int8 LeNet-5 with its convolutions computed by algorithm `A`; bit-exact across algorithms.
#[derive(Clone, Debug)]
pub struct Lenet5I8<'w, A: Algorithm> {
    weights: &'w Lenet5I8Weights,
    buf: Buffers,
    _algorithm: PhantomData<A>,
}

impl<'w, A: Algorithm> Lenet5I8<'w, A> {
    /// Bytes of RAM the model needs for inference: its activation buffers plus the `i16` scratch
    /// `A` puts on the stack during a convolution (the call stack itself not included).
    pub const RAM_BYTES: usize =
        core::mem::size_of::<Buffers>() + A::SCRATCH_ELEMS * core::mem::size_of::<i16>();
    /// Bytes of weights and quantization parameters.
    pub const WEIGHT_BYTES: usize = Lenet5I8Weights::BYTES;
    /// The smallest `SCRATCH` of [`Im2col`](crate::Im2col) that runs this model (the larger of
    /// the two layers' [`scratch_len_i8`](crate::conv::im2col::scratch_len_i8)).
    pub const IM2COL_SCRATCH: usize = {
        let a = crate::conv::im2col::scratch_len_i8(&CONV1);
        let b = crate::conv::im2col::scratch_len_i8(&CONV2);
        if a > b { a } else { b }
    };

    /// A model over `weights`. A `const fn`, so firmware can place the model in a `static`
    /// (or build it in place on the stack without temporaries).
    pub const fn new(weights: &'w Lenet5I8Weights) -> Self {
        const {
            assert!(
                A::SCRATCH_ELEMS == 0 || A::SCRATCH_ELEMS >= Self::IM2COL_SCRATCH,
                "im2col scratch too small for LeNet-5's int8 layers (see IM2COL_SCRATCH)"
            )
        }
        Lenet5I8 {
            weights,
            buf: Buffers::ZERO,
            _algorithm: PhantomData,
        }
    }

    /// The variant of the weights.
    pub fn variant(&self) -> Variant {
        self.weights.variant
    }

    /// The ten int8 class scores of an 8-bit image (row-major, `0..=255`).
    pub fn logits_u8(&mut self, image: &[u8; SIDE * SIDE]) -> [i8; CLASSES] {
        let in_zp = self.weights.input.zero_point();
        let scale = self.weights.input.scale();
        // Exact for the shipped input quantization (1/255, −128): q = p − 128.
        let exact = scale == 1.0 / 255.0 && in_zp == -128;
        let inp = self.weights.input;
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
        let inp = self.weights.input;
        Ok(self.run(|rows, dst| {
            for (d, &v) in dst.iter_mut().zip(&x[rows.start * SIDE..rows.end * SIDE]) {
                *d = quantize(v, inp);
            }
        }))
    }

    /// The predicted class of an 8-bit image.
    pub fn predict_u8(&mut self, image: &[u8; SIDE * SIDE]) -> usize {
        let l = self.logits_u8(image);
        argmax_i8(&l).unwrap_or(0)
    }

    /// The predicted class of an f32 image.
    ///
    /// # Errors
    /// [`Error::NonFinite`] if a pixel is NaN or infinite.
    pub fn predict(&mut self, image: &Image) -> Result<usize, Error> {
        argmax_i8(&self.logits(image)?)
    }

    /// The network, with `load(rows, dst)` writing quantized input rows `rows` into `dst`.
    fn run(&mut self, load: impl Fn(core::ops::Range<usize>, &mut [i8])) -> [i8; CLASSES] {
        let w = self.weights;
        let b = &mut self.buf;
        let classic = w.variant == Variant::Classic;
        let table = |t: usize| if classic { Some(&w.sigmoid[t]) } else { None };
        let p1_in = w.hidden(w.conv1.output);
        let p2_in = w.hidden(w.conv2.output);
        let f1_in = w.hidden(w.fc1.output);
        // conv1 + pool1 produce pool1 rows on demand into a window of the 6 rows that one band
        // of conv2 (two output rows, 5×5 kernel) reads; the window slides by 2 rows per band.
        // Each pool1 row is one band of two conv1 rows; the input rows are quantized per band.
        let conv1_params = w.conv1.params(w.input.zero_point());
        let conv2_params = w.conv2.params(p1_in.zero_point());
        let mut produced: usize = 0;
        for (py, out) in b.pool2.iter_mut().enumerate() {
            let Ok((bg, rows)) = CONV2.row_band(2 * py, 2) else {
                continue;
            };
            // Keep the rows the window still needs, drop the ones before `rows.start`.
            let keep = produced.saturating_sub(rows.start);
            let drop = WINDOW_ROWS - keep;
            b.pool1_window.copy_within(drop.min(WINDOW_ROWS).., 0);
            for r in rows.start + keep..rows.end {
                let Ok((g1, in_rows)) = CONV1.row_band(2 * r, 2) else {
                    continue;
                };
                let src = &mut b.band_input[..in_rows.len() * SIDE];
                load(in_rows, src);
                let res = band_step::<A, 6>(
                    &g1,
                    src,
                    &w.conv1.weights,
                    &conv1_params,
                    table(0),
                    classic,
                    b.conv1_band.as_flattened_mut().as_flattened_mut(),
                    b.pool1_window[r - rows.start].as_flattened_mut(),
                );
                debug_assert!(res.is_ok(), "{res:?}");
            }
            produced = rows.end;
            let res = band_step::<A, 16>(
                &bg,
                &flat(&b.pool1_window)[..rows.len() * 14 * 6],
                &w.conv2.weights,
                &conv2_params,
                table(1),
                classic,
                b.conv2_band.as_flattened_mut().as_flattened_mut(),
                out.as_flattened_mut(),
            );
            debug_assert!(res.is_ok(), "{res:?}");
        }
        let r = A::dense_i8(
            flat(&b.pool2),
            &w.fc1.weights,
            &w.fc1.params(p2_in.zero_point()),
            &mut b.fc1,
        );
        debug_assert!(r.is_ok(), "{r:?}");
        if let Some(t) = table(2) {
            apply_table_in_place(t, &mut b.fc1);
        }
        let r = A::dense_i8(
            &b.fc1,
            &w.fc2.weights,
            &w.fc2.params(f1_in.zero_point()),
            &mut b.fc2,
        );
        debug_assert!(r.is_ok(), "{r:?}");
        if let Some(t) = table(3) {
            apply_table_in_place(t, &mut b.fc2);
        }
        let mut logits = [0i8; CLASSES];
        let f2_in = w.hidden(w.fc2.output);
        let r = A::dense_i8(
            &b.fc2,
            &w.fc3.weights,
            &w.fc3.params(f2_in.zero_point()),
            &mut logits,
        );
        debug_assert!(r.is_ok(), "{r:?}");
        logits
    }
}

/// One band of an int8 convolution fused with the 2×2, stride-2 pooling after it (and, for
/// `classic`, the sigmoid table between them): two conv output rows into `band`, pooled into one
/// output row.
///
/// Never inlined: `scripts/firmware_report.py` attributes the instructions of conv1 + pool1
/// (`C = 6`) and conv2 + pool2 (`C = 16`) to this function's two instances.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn band_step<A: Algorithm, const C: usize>(
    g: &Conv2dGeometry,
    input: &[i8],
    weights: &[i8],
    params: &LayerParamsI8<'_>,
    table: Option<&[i8; 256]>,
    average: bool,
    band: &mut [i8],
    out: &mut [i8],
) -> Result<(), Error> {
    let out_w = g.dims()?.out_w;
    let pool = Pool2dGeometry::new([2, out_w, C], [2, 2]);
    A::conv2d_i8(g, input, weights, params, band)?;
    if let Some(t) = table {
        apply_table_in_place(t, band);
    }
    if average {
        A::avg_pool2d_i8(&pool, ActivationRange::none(), band, out)
    } else {
        A::max_pool2d_i8(&pool, ActivationRange::none(), band, out)
    }
}
