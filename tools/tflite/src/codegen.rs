//! The code generator: a validated [`Model`] → a Rust module that runs it with tinyconv.
//!
//! The module depends only on `tinyconv`, is `no_std`, has no inner attributes (so it can be a
//! `mod model;` file or `include!`d from a build script's `OUT_DIR`) and exposes:
//!
//! ```text
//! pub struct Model { .. }                    // the activation arena
//! impl Model {
//!     pub const INPUT_LEN: usize;            // elements, flattened NHWC
//!     pub const OUTPUT_LEN: usize;
//!     pub const INPUT_SCALE: f32;  pub const INPUT_ZERO_POINT: i8;    // int8 models
//!     pub const OUTPUT_SCALE: f32; pub const OUTPUT_ZERO_POINT: i8;   // int8 models
//!     pub const RAM_BYTES: usize;            // size_of::<Model>()
//!     pub const fn new() -> Model;
//!     pub fn run(&mut self, input: &[T; Model::INPUT_LEN], output: &mut [T; Model::OUTPUT_LEN]);
//!     pub fn try_run(&mut self, ..) -> Result<(), tinyconv::Error>;
//! }
//! ```
//!
//! with `T = i8` for int8 models and `f32` for f32 ones. Weights, biases and requantization
//! parameters are `static`s in the layouts the kernels read (TFLite's filter layout
//! `[C_out][KH][KW][C_in]` and dense layout `[out][in]` are tinyconv's canonical ones, so no
//! permutation is needed yet); requantization multipliers are computed at compile time by
//! tinyconv's own `const fn`s from the scales, which are written out in the module.
//!
//! Kernel per layer: convolutions, depthwise, dense and pooling layers name their kernel through
//! the library's per-family enums (`select`ed for the target at compile time, weights packed by
//! the kernel's `const fn pack`); ADD, MEAN, SOFTMAX, LOGISTIC, TANH, PAD and CONCATENATION are
//! one library call each with parameters built at compile time. An operator or option without a
//! tinyconv kernel is [`Error::MissingKernel`].

use std::fmt::Write;

use tinyconv::quant::{self, ActivationRange, QuantParams};

use crate::error::Error;
use crate::inspect::describe;
use crate::model::{Data, Fused, Model, Op, Operator, Precision, Window};
use crate::plan::{Fusion, Location, Plan, fusions};

/// Generates the Rust module for `model`. `source` names the `.tflite` file in the module's
/// documentation (a file name, not a path, so that the output does not depend on where the
/// generator ran).
///
/// # Errors
/// [`Error::MissingKernel`] for an operator tinyconv has no kernel for;
/// [`Error::Unsupported`] for a layer a kernel would reject (an accumulator that could
/// overflow `i32`, a requantization multiplier out of range, non-finite f32 weights).
pub fn generate(model: &Model, source: &str) -> Result<String, Error> {
    let plan = Plan::new(model);
    plan.check()
        .map_err(|e| Error::malformed(format!("buffer plan: {e}")))?;
    if plan.locations[model.output] == Location::Input {
        return Err(Error::unsupported(
            "the model's output is its input reshaped (no operator computes it)",
        ));
    }
    let mut g = Gen {
        model,
        plan: &plan,
        statics: String::new(),
        body: String::new(),
        helpers: Helpers::default(),
        scratch: Vec::new(),
        fusions: fusions(model),
        kernels: Vec::new(),
        pending_conv: None,
        pending_pool2: Vec::new(),
    };
    for op in &model.operators {
        g.operator(op)?;
    }
    Ok(g.finish(source))
}

#[derive(Default)]
struct Helpers {
    carve: bool,
    pack_depthwise_i8: bool,
    pack_depthwise_f32: bool,
    /// `packed_{ty}`: unwraps a `pack_array` result at compile time.
    packed: std::collections::BTreeSet<&'static str>,
    /// `pack_dense_{ty}`.
    pack_dense: std::collections::BTreeSet<&'static str>,
    mq: bool,
    mq_f32_product: bool,
    range: bool,
    /// `quant(scale, zero_point)`.
    quant: bool,
    add_params: bool,
    mean_params: bool,
    softmax_params: bool,
}

struct Gen<'m> {
    model: &'m Model,
    plan: &'m Plan,
    statics: String,
    body: String,
    helpers: Helpers,
    /// Scratch each layer's kernel needs: `(field, const expression)`.
    scratch: Vec<(&'static str, String)>,
    /// The conv + pool pairs computed in bands.
    fusions: Vec<Fusion>,
    /// `(layer prefix, kernel const)` of every layer with a kernel enum.
    kernels: Vec<(String, String)>,
    /// The call of a fused convolution, waiting for its pooling.
    pending_conv: Option<(Fusion, String)>,
    /// For a fused convolution whose kernel may fuse the 2×2 pooling into its output stage:
    /// `(condition on the kernel, call writing the pooled band)`, tried in order before the
    /// band + pooling path.
    pending_pool2: Vec<(String, String)>,
}

/// Where an operator's operand lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// The caller's input array.
    Input,
    /// The caller's output array.
    Output,
    /// `arena[offset..offset + len]`.
    Arena(usize, usize),
}

fn elem(p: Precision) -> &'static str {
    match p {
        Precision::I8 => "i8",
        Precision::F32 => "f32",
    }
}

fn f32_literal(x: f32) -> String {
    let s = format!("{x:?}");
    // `{:?}` prints the shortest string that reads back as the same f32 ("1.0", "1e-7").
    s
}

fn array<T: Copy>(values: &[T], per_line: usize, fmt: impl Fn(T) -> String) -> String {
    let mut s = String::from("[\n");
    for chunk in values.chunks(per_line.max(1)) {
        s.push_str("    ");
        let items: Vec<String> = chunk.iter().map(|&v| fmt(v)).collect();
        s.push_str(&items.join(", "));
        s.push_str(",\n");
    }
    s.push(']');
    s
}

fn quant_params(scale: f32, zero_point: i32) -> Result<QuantParams, Error> {
    QuantParams::new(scale, zero_point)
        .map_err(|e| Error::unsupported(format!("scale {scale} zero point {zero_point}: {e}")))
}

impl Gen<'_> {
    fn at(&self, op: &Operator) -> String {
        format!("operator {} ({})", op.index, op.tflite_name)
    }

    fn missing(&self, op: &Operator, what: &str) -> Error {
        Error::MissingKernel {
            operator: op.index,
            op: op.tflite_name.clone(),
            what: what.to_string(),
        }
    }

    /// The per-tensor `(scale, zero point)` of an int8 tensor (validated by the parser).
    fn qp(&self, t: usize) -> (f32, i32) {
        self.model.tensor(t).per_tensor().unwrap_or((1.0, 0))
    }

    /// The int8 clamp of a fused activation on tensor `t`, as a Rust expression.
    fn range_expr(&mut self, op: &Operator, fused: Fused, t: usize) -> Result<String, Error> {
        let (scale, zp) = self.qp(t);
        let out = quant_params(scale, zp)
            .map_err(|e| Error::unsupported(format!("{}: {e}", self.at(op))))?;
        let r = match fused {
            Fused::None => return Ok("ActivationRange::none()".to_string()),
            Fused::Relu => ActivationRange::relu(out),
            Fused::Relu6 => ActivationRange::relu6(out),
            Fused::ReluN1To1 => ActivationRange::relu_n1_to_1(out),
        };
        self.helpers.range = true;
        Ok(format!(
            "range({}, {}) /* {} */",
            r.min(),
            r.max(),
            fused.name()
        ))
    }

    /// The int8 clamp of a fused activation on tensor `t`, as a value (to check parameters).
    fn host_range(&self, op: &Operator, fused: Fused, t: usize) -> Result<ActivationRange, Error> {
        let (scale, zp) = self.qp(t);
        let out = quant_params(scale, zp)
            .map_err(|e| Error::unsupported(format!("{}: {e}", self.at(op))))?;
        Ok(match fused {
            Fused::None => ActivationRange::none(),
            Fused::Relu => ActivationRange::relu(out),
            Fused::Relu6 => ActivationRange::relu6(out),
            Fused::ReluN1To1 => ActivationRange::relu_n1_to_1(out),
        })
    }

    fn f32_activation(&self, op: &Operator, fused: Fused) -> Result<&'static str, Error> {
        match fused {
            Fused::None => Ok("Activation::Identity"),
            Fused::Relu => Ok("Activation::Relu"),
            Fused::Relu6 => Ok("Activation::Relu6"),
            Fused::ReluN1To1 => Err(self.missing(op, "f32 RELU_N1_TO_1 activation")),
        }
    }

    /// Where tensor `t` is, for an operator: the caller's input or output, or arena region
    /// `(offset, len)`.
    fn place(&self, op: &Operator, t: usize) -> Result<Place, Error> {
        match self.plan.locations[t] {
            Location::Input => Ok(Place::Input),
            Location::Output => Ok(Place::Output),
            Location::Arena { offset, len } => Ok(Place::Arena(offset, len)),
            other => Err(Error::malformed(format!(
                "{}: tensor {t} has no buffer ({other:?})",
                self.at(op)
            ))),
        }
    }

    /// Binds the output of an operator to `names[0]` (`&mut`) and its inputs to `names[1..]`
    /// (`&`): the caller's arrays, or disjoint regions of the arena carved out at once.
    fn bind(&mut self, op: &Operator, places: &[(Place, &str)]) -> Result<(), Error> {
        // Arena regions, one per distinct (offset, len), in offset order.
        let mut regions: Vec<(usize, usize)> = Vec::new();
        for (p, _) in places {
            if let Place::Arena(o, l) = *p
                && !regions.contains(&(o, l))
            {
                regions.push((o, l));
            }
        }
        regions.sort_unstable();
        for w in regions.windows(2) {
            if w[0].0 + w[0].1 > w[1].0 {
                return Err(Error::malformed(format!(
                    "{}: overlapping buffers {:?} and {:?}",
                    self.at(op),
                    w[0],
                    w[1]
                )));
            }
        }
        let region_name = |r: (usize, usize)| format!("r{}_{}", r.0, r.1);
        let output_in_arena = matches!(places[0].0, Place::Arena(..));
        if output_in_arena {
            self.helpers.carve = true;
            let names: Vec<String> = regions.iter().map(|&r| region_name(r)).collect();
            let spans: Vec<String> = regions
                .iter()
                .map(|&(o, l)| format!("({o}, {l})"))
                .collect();
            let _ = writeln!(
                self.body,
                "        let [{}] = carve(&mut self.arena, [{}]);",
                names.join(", "),
                spans.join(", ")
            );
        }
        for (k, (p, name)) in places.iter().enumerate() {
            let e = match (*p, k) {
                (Place::Input, _) => "&input[..]".to_string(),
                (Place::Output, 0) => "&mut output[..]".to_string(),
                (Place::Output, _) => "&output[..]".to_string(),
                (Place::Arena(o, l), 0) => {
                    let _ = (o, l);
                    region_name((o, l))
                }
                (Place::Arena(o, l), _) if output_in_arena => format!("&*{}", region_name((o, l))),
                (Place::Arena(o, l), _) => format!("&self.arena[{o}..{}]", o + l),
            };
            let _ = writeln!(self.body, "        let {name} = {e};");
        }
        Ok(())
    }

    fn comment(&mut self, op: &Operator) {
        let input = op
            .input(0)
            .map(|t| format!("{:?}", self.model.tensor(t).shape))
            .unwrap_or_default();
        let output = format!("{:?}", self.model.tensor(op.output).shape);
        let what = describe(self.model, op);
        let _ = writeln!(
            self.body,
            "\n        // {} {}: {input} -> {output} {what}",
            op.index, op.tflite_name
        );
    }

    /// `const {prefix}_KERNEL: {family} = {family}::{select};` — the kernel this layer runs,
    /// chosen by the library for the layer's shape on the target being compiled for.
    fn kernel_const(&mut self, prefix: &str, family: &str, select: &str) -> String {
        let _ = writeln!(
            self.statics,
            "/// The kernel for this layer's shape on the target being compiled for.\nconst {prefix}_KERNEL: {family} = {family}::{select};"
        );
        self.kernels
            .push((prefix.to_string(), format!("{prefix}_KERNEL")));
        format!("{prefix}_KERNEL")
    }

    /// Weights as TFLite stores them (`const {prefix}_FILTERS`, compile time only) and the
    /// `static {prefix}_WEIGHTS` the kernel reads, `packed` from them at compile time.
    fn packed_weights(
        &mut self,
        op: &Operator,
        prefix: &str,
        layout: &str,
        packed: &str,
    ) -> Result<String, Error> {
        let w = op
            .input(1)
            .ok_or_else(|| Error::malformed(format!("{}: no weights", self.at(op))))?;
        let t = self.model.tensor(w);
        let (ty, len, values) = match &t.data {
            Some(Data::I8(v)) => ("i8", v.len(), array(v, 24, |x| x.to_string())),
            Some(Data::F32(v)) => {
                if let Some(x) = v.iter().find(|x| !x.is_finite()) {
                    return Err(Error::unsupported(format!(
                        "{}: non-finite weight {x}",
                        self.at(op)
                    )));
                }
                ("f32", v.len(), array(v, 8, f32_literal))
            }
            _ => {
                return Err(Error::malformed(format!(
                    "{}: weights are not constant",
                    self.at(op)
                )));
            }
        };
        if packed.starts_with("packed_") {
            self.helpers.packed.insert(ty);
        }
        let _ = writeln!(
            self.statics,
            "\n/// {} weights {layout}, shape {:?} (tensor {} '{}'), as TFLite stores them.\n#[allow(clippy::large_const_arrays)] // read once, at compile time, by the packing below\nconst {prefix}_FILTERS: [{ty}; {len}] = {values};\n/// The same weights in the order the layer's kernel reads them, packed at compile time.\nstatic {prefix}_WEIGHTS: [{ty}; {len}] = {packed};",
            self.at(op),
            t.shape,
            t.index,
            t.name,
        );
        Ok(format!("{prefix}_WEIGHTS"))
    }

    /// Depthwise filters: the canonical `[KH][KW][C·M]` values as a `const` (compile time only)
    /// and the `static` the layer's kernel reads, packed by the kernel's `const fn pack`.
    fn depthwise_weights(
        &mut self,
        op: &Operator,
        prefix: &str,
        kernel: &str,
    ) -> Result<String, Error> {
        let w = op
            .input(1)
            .ok_or_else(|| Error::malformed(format!("{}: no weights", self.at(op))))?;
        let t = self.model.tensor(w);
        let (ty, len, values, helper) = match &t.data {
            Some(Data::I8(v)) => (
                "i8",
                v.len(),
                array(v, 24, |x| x.to_string()),
                "pack_depthwise_i8",
            ),
            Some(Data::F32(v)) => {
                if let Some(x) = v.iter().find(|x| !x.is_finite()) {
                    return Err(Error::unsupported(format!(
                        "{}: non-finite weight {x}",
                        self.at(op)
                    )));
                }
                (
                    "f32",
                    v.len(),
                    array(v, 8, f32_literal),
                    "pack_depthwise_f32",
                )
            }
            _ => {
                return Err(Error::malformed(format!(
                    "{}: weights are not constant",
                    self.at(op)
                )));
            }
        };
        if ty == "i8" {
            self.helpers.pack_depthwise_i8 = true;
        } else {
            self.helpers.pack_depthwise_f32 = true;
        }
        let _ = writeln!(
            self.statics,
            "\n/// {} filters `[KH][KW][C·M]`, shape {:?} (tensor {} '{}'), as TFLite stores them.\n#[allow(clippy::large_const_arrays)] // read once, at compile time, by the packing below\nconst {prefix}_FILTERS: [{ty}; {len}] = {values};\n/// The same filters in the order the layer's kernel reads them, packed at compile time.\nstatic {prefix}_WEIGHTS: [{ty}; {len}] = {helper}({kernel}, &{prefix}_GEOMETRY, &{prefix}_FILTERS);",
            self.at(op),
            t.shape,
            t.index,
            t.name,
        );
        Ok(format!("{prefix}_WEIGHTS"))
    }

    /// Writes the layer's bias static (`{prefix}_BIAS`) and returns the kernel argument naming
    /// it: `Some(&{prefix}_BIAS)`, or `None` for a layer without bias.
    fn bias_arg(&mut self, op: &Operator, prefix: &str) -> Result<String, Error> {
        let bias = self.bias_static(op, &format!("{prefix}_BIAS"))?;
        Ok(bias_expr(prefix, bias.is_some()))
    }

    fn bias_static(&mut self, op: &Operator, name: &str) -> Result<Option<Vec<i32>>, Error> {
        let Some(b) = op.input(2) else {
            return Ok(None);
        };
        let t = self.model.tensor(b);
        match &t.data {
            Some(Data::I32(v)) => {
                let _ = writeln!(
                    self.statics,
                    "static {name}: [i32; {}] = {};",
                    v.len(),
                    array(v, 12, |x| x.to_string())
                );
                Ok(Some(v.clone()))
            }
            Some(Data::F32(v)) => {
                if let Some(x) = v.iter().find(|x| !x.is_finite()) {
                    return Err(Error::unsupported(format!(
                        "{}: non-finite bias {x}",
                        self.at(op)
                    )));
                }
                let _ = writeln!(
                    self.statics,
                    "static {name}: [f32; {}] = {};",
                    v.len(),
                    array(v, 8, f32_literal)
                );
                Ok(Some(Vec::new()))
            }
            _ => Err(Error::malformed(format!(
                "{}: bias is not constant",
                self.at(op)
            ))),
        }
    }

    /// int8 layer parameters (multipliers, bias, clamp) of a conv or dense layer; returns the
    /// name of the `LayerParamsI8` static.
    fn params_i8(
        &mut self,
        op: &Operator,
        prefix: &str,
        fused: Fused,
        out_c: usize,
        patch_len: usize,
        dense: bool,
    ) -> Result<String, Error> {
        let input = op.input(0).unwrap_or_default();
        let (in_scale, in_zp) = self.qp(input);
        let (out_scale, out_zp) = self.qp(op.output);
        let weights = self.model.tensor(op.input(1).unwrap_or_default());
        let scales = weights
            .quant
            .as_ref()
            .map(|q| q.scale.clone())
            .unwrap_or_default();
        // TFLite: per-channel (conv, depthwise, per-channel dense) multipliers from the f64
        // product; a per-tensor dense layer rounds the scale product to f32 first.
        let f32_product = dense && scales.len() == 1;
        let mut items = Vec::new();
        for &ws in &scales {
            let check = if f32_product {
                quant::requant_multiplier_f32_product(in_scale, ws, out_scale)
            } else {
                quant::requant_multiplier(in_scale, ws, out_scale)
            };
            check.map_err(|e| {
                Error::unsupported(format!("{}: requantization multiplier: {e}", self.at(op)))
            })?;
            let f = if f32_product { "mq_f32_product" } else { "mq" };
            items.push(format!(
                "{f}({}, {}, {})",
                f32_literal(in_scale),
                f32_literal(ws),
                f32_literal(out_scale)
            ));
        }
        if f32_product {
            self.helpers.mq_f32_product = true;
        } else {
            self.helpers.mq = true;
        }
        let _ = writeln!(
            self.statics,
            "/// Requantization: input scale · weight scale / output scale, per {}.\nstatic {prefix}_MULTIPLIERS: [QuantizedMultiplier; {}] = {};",
            if scales.len() == 1 {
                "tensor"
            } else {
                "output channel"
            },
            items.len(),
            array(
                &items.iter().map(String::as_str).collect::<Vec<_>>(),
                1,
                str::to_string
            )
        );
        let bias = self.bias_static(op, &format!("{prefix}_BIAS"))?;
        let max_bias = bias.as_deref().map_or(0, quant::max_abs_bias);
        quant::check_accumulator(patch_len, max_bias).map_err(|_| {
            Error::unsupported(format!(
                "{}: an i32 accumulator could overflow ({patch_len} products of up to 255·128, |bias| up to {max_bias})",
                self.at(op)
            ))
        })?;
        let range = self.range_expr(op, fused, op.output)?;
        let _ = out_c;
        let b = bias_expr(prefix, bias.is_some());
        let mut p = format!("LayerParamsI8::new({in_zp}, {out_zp}, &{prefix}_MULTIPLIERS, {b})");
        let _ = write!(p, "\n    .with_range({range})");
        let _ = writeln!(
            self.statics,
            "static {prefix}_PARAMS: LayerParamsI8<'static> = {p};"
        );
        Ok(format!("{prefix}_PARAMS"))
    }

    /// The geometry to size a convolution's scratch with: its own, or for a fused convolution
    /// the largest of its row bands (`const {prefix}_BAND`), which is what the kernel runs on.
    fn scratch_geometry(
        &mut self,
        op: &Operator,
        prefix: &str,
        w: &Window,
        geometry: &str,
    ) -> Result<String, Error> {
        let Some(f) = self.fusions.iter().find(|f| f.conv == op.index).copied() else {
            return Ok(geometry.to_string());
        };
        let full = self.conv_geometry_value(w, op);
        let pool_rows = match &self.model.operators[f.pool].op {
            Op::MaxPool2d { window, .. } | Op::AvgPool2d { window, .. } => window.output[0],
            _ => 0,
        };
        let mut largest: Option<tinyconv::Conv2dGeometry> = None;
        for py in 0..pool_rows {
            let (band, _) = full
                .row_band(py * f.rows, f.rows)
                .map_err(|e| Error::malformed(format!("{}: band {py}: {e:?}", self.at(op))))?;
            if largest.is_none_or(|l| band.in_h > l.in_h) {
                largest = Some(band);
            }
        }
        let Some(b) = largest else {
            return Ok(geometry.to_string());
        };
        let p = b.padding;
        let _ = writeln!(
            self.statics,
            "/// The largest row band of this fused convolution (its kernel runs on bands; sizes the scratch).\nconst {prefix}_BAND: Conv2dGeometry = Conv2dGeometry::new([{}, {}, {}], {}, [{}, {}])\n    .with_stride([{}, {}])\n    .with_padding(Padding::new({}, {}, {}, {}))\n    .with_dilation([{}, {}]);",
            b.in_h,
            b.in_w,
            b.in_c,
            b.out_c,
            b.kernel_h,
            b.kernel_w,
            b.stride_h,
            b.stride_w,
            p.top,
            p.bottom,
            p.left,
            p.right,
            b.dilation_h,
            b.dilation_w
        );
        Ok(format!("{prefix}_BAND"))
    }

    /// For a `CONV_2D` fused with the pooling after it ([`Fusion`]): `Some(true)` (max) or
    /// `Some(false)` (average) when that pooling is what the kernels' fused output stage
    /// computes (`conv::Pool2x2`: a 2×2 window, stride 2, no padding, floor output size), with
    /// no activation of its own and, for int8, the same quantization in and out; else `None`.
    fn pool2_of(&self, op: &Operator) -> Option<bool> {
        let Op::Conv2d { window: c, .. } = &op.op else {
            return None;
        };
        let f = self.fusions.iter().find(|f| f.conv == op.index)?;
        let pool = &self.model.operators[f.pool];
        let (w, activation, max) = match &pool.op {
            Op::MaxPool2d { window, activation } => (window, *activation, true),
            Op::AvgPool2d { window, activation } => (window, *activation, false),
            _ => return None,
        };
        let p = w.pads;
        let same_quant = self.model.precision == Precision::F32
            || self.qp(pool.input(0).unwrap_or_default()) == self.qp(pool.output);
        let fits = w.kernel == [2, 2]
            && w.stride == [2, 2]
            && (p.top, p.bottom, p.left, p.right) == (0, 0, 0, 0)
            && w.output[0] == c.output[0] / 2
            && w.output[1] == c.output[1] / 2
            && activation == Fused::None
            && same_quant;
        fits.then_some(max)
    }

    fn conv_geometry(&mut self, prefix: &str, w: &Window) -> String {
        let p = w.pads;
        let _ = writeln!(
            self.statics,
            "const {prefix}_GEOMETRY: Conv2dGeometry = Conv2dGeometry::new([{}, {}, {}], {}, [{}, {}])\n    .with_stride([{}, {}])\n    .with_padding(Padding::new({}, {}, {}, {}))\n    .with_dilation([{}, {}]);",
            w.input[0],
            w.input[1],
            w.input[2],
            w.output[2],
            w.kernel[0],
            w.kernel[1],
            w.stride[0],
            w.stride[1],
            p.top,
            p.bottom,
            p.left,
            p.right,
            w.dilation[0],
            w.dilation[1]
        );
        format!("{prefix}_GEOMETRY")
    }

    fn depthwise_geometry(&mut self, prefix: &str, w: &Window, multiplier: usize) -> String {
        let p = w.pads;
        let _ = writeln!(
            self.statics,
            "const {prefix}_GEOMETRY: Conv2dGeometry = Conv2dGeometry::depthwise([{}, {}, {}], {multiplier}, [{}, {}])\n    .with_stride([{}, {}])\n    .with_padding(Padding::new({}, {}, {}, {}))\n    .with_dilation([{}, {}]);",
            w.input[0],
            w.input[1],
            w.input[2],
            w.kernel[0],
            w.kernel[1],
            w.stride[0],
            w.stride[1],
            p.top,
            p.bottom,
            p.left,
            p.right,
            w.dilation[0],
            w.dilation[1]
        );
        format!("{prefix}_GEOMETRY")
    }

    fn pool_geometry(&mut self, prefix: &str, w: &Window) -> String {
        // The pooling of a fusion runs on one band of rows and makes one output row.
        let band;
        let w = match self
            .fusions
            .iter()
            .find(|f| format!("L{}", f.pool) == prefix)
        {
            Some(f) => {
                band = Window {
                    input: [f.rows, w.input[1], w.input[2]],
                    output: [1, w.output[1], w.output[2]],
                    ..*w
                };
                &band
            }
            None => w,
        };
        let p = w.pads;
        let _ = writeln!(
            self.statics,
            "const {prefix}_GEOMETRY: Pool2dGeometry = Pool2dGeometry::new([{}, {}, {}], [{}, {}])\n    .with_stride([{}, {}])\n    .with_padding(Padding::new({}, {}, {}, {}));",
            w.input[0],
            w.input[1],
            w.input[2],
            w.kernel[0],
            w.kernel[1],
            w.stride[0],
            w.stride[1],
            p.top,
            p.bottom,
            p.left,
            p.right
        );
        format!("{prefix}_GEOMETRY")
    }

    fn operator(&mut self, op: &Operator) -> Result<(), Error> {
        let prefix = format!("L{}", op.index);
        let precision = self.model.precision;
        if let Op::Reshape = op.op {
            self.comment(op);
            self.body
                .push_str("        // (the same bytes under another shape: nothing to do)\n");
            return Ok(());
        }
        match (&op.op, precision) {
            (Op::Conv2d { window, activation }, _) => {
                let w = *window;
                let patch = w.kernel[0] * w.kernel[1] * w.input[2];
                let geometry = self.conv_geometry(&prefix, &w);
                let (family, scratch, ty) = match precision {
                    Precision::I8 => ("Conv2dI8Kernel", "scratch_i16", "i8"),
                    Precision::F32 => ("Conv2dF32Kernel", "scratch_f32", "f32"),
                };
                let kernel = self.kernel_const(&prefix, family, &format!("select(&{geometry})"));
                let sizing = self.scratch_geometry(op, &prefix, &w, &geometry)?;
                self.scratch
                    .push((scratch, format!("{kernel}.scratch_len(&{sizing})")));
                let weights = self.packed_weights(
                    op,
                    &prefix,
                    "`[C_out][KH][KW][C_in]`",
                    &format!("packed_{ty}({kernel}.pack_array(&{geometry}, &{prefix}_FILTERS))"),
                )?;
                let pool2 = self.pool2_of(op);
                let call = match precision {
                    Precision::I8 => {
                        let params =
                            self.params_i8(op, &prefix, *activation, w.output[2], patch, false)?;
                        if let Some(max) = pool2 {
                            let kind = if max { "Max" } else { "Avg" };
                            self.pending_pool2.push((
                                format!("{kernel}.fuses_pool2()"),
                                format!(
                                    "{kernel}.run_pool2(&g, x, &{weights}, &{params}, None, conv::Pool2x2::{kind}, &mut self.scratch_i16, y)?;"
                                ),
                            ));
                            if max {
                                // Same packed weights and scratch as `Pairs`' `run`.
                                self.pending_pool2.push((
                                    format!("matches!({kernel}, Conv2dI8Kernel::Pairs)"),
                                    format!(
                                        "conv::pairs::conv2d_max_pool_i8(&g, x, &{weights}, &{params}, &mut self.scratch_i16, y)?;"
                                    ),
                                ));
                            }
                        }
                        format!(
                            "{kernel}.run(&{geometry}, x, &{weights}, &{params}, &mut self.scratch_i16, y)?;"
                        )
                    }
                    Precision::F32 => {
                        let act = self.f32_activation(op, *activation)?;
                        let b = self.bias_arg(op, &prefix)?;
                        if let Some(max) = pool2 {
                            let kind = if max { "Max" } else { "Avg" };
                            self.pending_pool2.push((
                                format!("{kernel}.fuses_pool2()"),
                                format!(
                                    "{kernel}.run_pool2(&g, x, &{weights}, {b}, {act}, conv::Pool2x2::{kind}, &mut self.scratch_f32, y)?;"
                                ),
                            ));
                        }
                        format!(
                            "{kernel}.run(&{geometry}, x, &{weights}, {b}, {act}, &mut self.scratch_f32, y)?;"
                        )
                    }
                };
                self.emit_unary(op, &call)
            }
            (
                Op::FullyConnected {
                    input,
                    output,
                    activation,
                },
                _,
            ) => {
                let (family, scratch, ty) = match precision {
                    Precision::I8 => ("DenseI8Kernel", "scratch_i16", "i8"),
                    Precision::F32 => ("DenseF32Kernel", "scratch_f32", "f32"),
                };
                let kernel =
                    self.kernel_const(&prefix, family, &format!("select({input}, {output})"));
                self.scratch
                    .push((scratch, format!("{kernel}.scratch_len({input}, {output})")));
                self.helpers.pack_dense.insert(ty);
                let weights = self.packed_weights(
                    op,
                    &prefix,
                    "`[out][in]`",
                    &format!("pack_dense_{ty}({kernel}, {input}, {output}, &{prefix}_FILTERS)"),
                )?;
                let call = match precision {
                    Precision::I8 => {
                        let params =
                            self.params_i8(op, &prefix, *activation, *output, *input, true)?;
                        format!(
                            "{kernel}.run(x, &{weights}, &{params}, &mut self.scratch_i16, y)?;"
                        )
                    }
                    Precision::F32 => {
                        let act = self.f32_activation(op, *activation)?;
                        let b = self.bias_arg(op, &prefix)?;
                        format!(
                            "{kernel}.run(x, &{weights}, {b}, {act}, &mut self.scratch_f32, y)?;"
                        )
                    }
                };
                self.emit_unary(op, &call)
            }
            (Op::MaxPool2d { window, activation } | Op::AvgPool2d { window, activation }, _) => {
                let geometry = self.pool_geometry(&prefix, window);
                let kernel =
                    self.kernel_const(&prefix, "Pool2dKernel", &format!("select(&{geometry})"));
                let max = matches!(op.op, Op::MaxPool2d { .. });
                let call = match (precision, max) {
                    (Precision::I8, _) => {
                        let range = self.range_expr(op, *activation, op.output)?;
                        let f = if max { "max_i8" } else { "avg_i8" };
                        format!("{kernel}.{f}(&{geometry}, {range}, x, y)?;")
                    }
                    (Precision::F32, _) => {
                        let act = self.f32_activation(op, *activation)?;
                        let mut call = if max {
                            format!("{kernel}.max_f32(&{geometry}, x, y)?;")
                        } else {
                            format!(
                                "{kernel}.avg_f32(&{geometry}, AvgPoolDivisor::ExcludePadding, x, y)?;"
                            )
                        };
                        if act != "Activation::Identity" {
                            let _ = write!(call, "\n        {act}.apply_slice(y);");
                        }
                        call
                    }
                };
                self.emit_unary(op, &call)
            }
            (Op::Softmax { beta, depth }, Precision::F32) => {
                let mut call = String::from("y.copy_from_slice(x);\n");
                if *beta != 1.0 {
                    let _ = writeln!(
                        call,
                        "        for v in y.iter_mut() {{\n            *v *= {};\n        }}",
                        f32_literal(*beta)
                    );
                }
                let _ = write!(
                    call,
                    "        for row in y.chunks_exact_mut({depth}) {{\n            activation::softmax(row)?;\n        }}"
                );
                self.emit_unary(op, &call)
            }
            (Op::Relu | Op::Relu6, Precision::F32) => {
                let act = if op.op == Op::Relu {
                    "Activation::Relu"
                } else {
                    "Activation::Relu6"
                };
                self.emit_unary(
                    op,
                    &format!("y.copy_from_slice(x);\n        {act}.apply_slice(y);"),
                )
            }
            (Op::Logistic | Op::Tanh, Precision::F32) => {
                let act = if op.op == Op::Logistic {
                    "Activation::Sigmoid"
                } else {
                    "Activation::Tanh"
                };
                self.emit_unary(
                    op,
                    &format!("y.copy_from_slice(x);\n        {act}.apply_slice(y);"),
                )
            }
            (Op::Relu | Op::Relu6, Precision::I8) => {
                let input = op.input(0).unwrap_or_default();
                if self.model.tensor(input).per_tensor()
                    != self.model.tensor(op.output).per_tensor()
                {
                    return Err(self.missing(op, "int8 RELU that requantizes"));
                }
                let fused = if op.op == Op::Relu {
                    Fused::Relu
                } else {
                    Fused::Relu6
                };
                let range = self.range_expr(op, fused, op.output)?;
                self.emit_unary(
                    op,
                    &format!("y.copy_from_slice(x);\n        activation::clamp_i8({range}, y);"),
                )
            }
            (
                Op::DepthwiseConv2d {
                    window,
                    multiplier,
                    activation,
                },
                _,
            ) => {
                let w = *window;
                let geometry = self.depthwise_geometry(&prefix, &w, *multiplier);
                let (family, scratch) = match precision {
                    Precision::I8 => ("DepthwiseI8Kernel", "scratch_i16"),
                    Precision::F32 => ("DepthwiseF32Kernel", "scratch_f32"),
                };
                let kernel = self.kernel_const(&prefix, family, &format!("select(&{geometry})"));
                let sizing = self.scratch_geometry(op, &prefix, &w, &geometry)?;
                self.scratch
                    .push((scratch, format!("{kernel}.scratch_len(&{sizing})")));
                let weights = self.depthwise_weights(op, &prefix, &kernel)?;
                let call = match precision {
                    Precision::I8 => {
                        let taps = w.kernel[0] * w.kernel[1];
                        let params =
                            self.params_i8(op, &prefix, *activation, w.output[2], taps, false)?;
                        format!(
                            "{kernel}.run(&{geometry}, x, &{weights}, &{params}, &mut self.scratch_i16, y)?;"
                        )
                    }
                    Precision::F32 => {
                        let act = self.f32_activation(op, *activation)?;
                        let b = self.bias_arg(op, &prefix)?;
                        format!(
                            "{kernel}.run(&{geometry}, x, &{weights}, {b}, {act}, &mut self.scratch_f32, y)?;"
                        )
                    }
                };
                self.emit_unary(op, &call)
            }
            (Op::Add { activation }, Precision::I8) => {
                let a = op.input(0).unwrap_or_default();
                let b = op.input(1).unwrap_or_default();
                let (qa, qb, qo) = (self.qp(a), self.qp(b), self.qp(op.output));
                let range = self.range_expr(op, *activation, op.output)?;
                let host_range = self.host_range(op, *activation, op.output)?;
                tinyconv::elementwise::AddParamsI8::new(
                    quant_params(qa.0, qa.1)?,
                    quant_params(qb.0, qb.1)?,
                    quant_params(qo.0, qo.1)?,
                    host_range,
                )
                .map_err(|e| Error::unsupported(format!("{}: ADD parameters: {e}", self.at(op))))?;
                self.helpers.quant = true;
                self.helpers.add_params = true;
                let _ = writeln!(
                    self.statics,
                    "/// {}: TFLite's int8 ADD parameters from the operands' and the output's quantization.\nstatic {prefix}_ADD: AddParamsI8 = add_params(\n    quant({}, {}),\n    quant({}, {}),\n    quant({}, {}),\n    {range},\n);",
                    self.at(op),
                    f32_literal(qa.0),
                    qa.1,
                    f32_literal(qb.0),
                    qb.1,
                    f32_literal(qo.0),
                    qo.1,
                );
                self.emit_binary(
                    op,
                    &format!("elementwise::add_i8(&{prefix}_ADD, a, b, y)?;"),
                )
            }
            (Op::Add { activation }, Precision::F32) => {
                let act = self.f32_activation(op, *activation)?;
                self.emit_binary(op, &format!("elementwise::add_f32(a, b, {act}, y)?;"))
            }
            (
                Op::Mean {
                    outer,
                    reduce,
                    inner,
                },
                _,
            ) => {
                let (outer, reduce, inner) = (*outer, *reduce, *inner);
                let call = match precision {
                    Precision::I8 => {
                        let input = op.input(0).unwrap_or_default();
                        let (qi, qo) = (self.qp(input), self.qp(op.output));
                        tinyconv::reduce::MeanParamsI8::new(
                            quant_params(qi.0, qi.1)?,
                            quant_params(qo.0, qo.1)?,
                            reduce,
                        )
                        .map_err(|e| {
                            Error::unsupported(format!("{}: MEAN parameters: {e}", self.at(op)))
                        })?;
                        self.helpers.quant = true;
                        self.helpers.mean_params = true;
                        let _ = writeln!(
                            self.statics,
                            "/// {}: TFLite's int8 MEAN of {reduce} values (1/{reduce} folded into the multiplier).\nstatic {prefix}_MEAN: MeanParamsI8 = mean_params(quant({}, {}), quant({}, {}), {reduce});",
                            self.at(op),
                            f32_literal(qi.0),
                            qi.1,
                            f32_literal(qo.0),
                            qo.1,
                        );
                        format!(
                            "reduce::mean_hw_i8([{reduce}, 1, {inner}], x, &{prefix}_MEAN, y)?;"
                        )
                    }
                    Precision::F32 => {
                        format!("reduce::mean_hw_f32([{reduce}, 1, {inner}], x, y)?;")
                    }
                };
                let call = if outer == 1 {
                    call
                } else {
                    format!(
                        "for (x, y) in x.chunks_exact({}).zip(y.chunks_exact_mut({inner})) {{\n            {call}\n        }}",
                        reduce * inner
                    )
                };
                self.emit_unary(op, &call)
            }
            (Op::Softmax { beta, depth }, Precision::I8) => {
                let input = op.input(0).unwrap_or_default();
                let (scale, _) = self.qp(input);
                tinyconv::activation::SoftmaxI8::new(scale, *beta).map_err(|e| {
                    Error::unsupported(format!("{}: SOFTMAX parameters: {e}", self.at(op)))
                })?;
                self.helpers.softmax_params = true;
                let _ = writeln!(
                    self.statics,
                    "/// {}: TFLite's int8 SOFTMAX parameters (input scale, beta).\nstatic {prefix}_SOFTMAX: SoftmaxI8 = softmax_params({}, {});",
                    self.at(op),
                    f32_literal(scale),
                    f32_literal(*beta),
                );
                self.emit_unary(
                    op,
                    &format!("activation::softmax_i8(&{prefix}_SOFTMAX, {depth}, x, y)?;"),
                )
            }
            (Op::Logistic | Op::Tanh, Precision::I8) => {
                let input = op.input(0).unwrap_or_default();
                let (scale, zp) = self.qp(input);
                quant_params(scale, zp)
                    .map_err(|e| Error::unsupported(format!("{}: {e}", self.at(op))))?;
                self.helpers.quant = true;
                let (ty, what) = if op.op == Op::Logistic {
                    ("LogisticI8", "LOGISTIC")
                } else {
                    ("TanhI8", "TANH")
                };
                let _ = writeln!(
                    self.statics,
                    "/// {}: TFLite's integer {what} of every int8 input, tabulated at compile time.\nstatic {prefix}_TABLE: [i8; 256] = {ty}::new(quant({}, {zp})).table();",
                    self.at(op),
                    f32_literal(scale),
                );
                self.emit_unary(
                    op,
                    &format!("tinyconv::quant::apply_table(&{prefix}_TABLE, x, y)?;"),
                )
            }
            (Op::Pad { pads }, _) => {
                let input = op.input(0).unwrap_or_default();
                let shape = self.model.tensor(input).shape.clone();
                // The parser checked: batch 1, not padded; rank ≤ 4. Dimensions after the batch,
                // right-aligned into [H, W, C].
                let mut dims = [1usize; 3];
                let mut p = [[0usize; 2]; 3];
                let rest = shape.len().saturating_sub(1);
                for k in 0..rest {
                    dims[3 - rest + k] = shape[1 + k];
                    p[3 - rest + k] = pads[1 + k];
                }
                let value = match precision {
                    Precision::I8 => self.qp(op.output).1.to_string(),
                    Precision::F32 => "0.0".to_string(),
                };
                let value = if precision == Precision::I8 {
                    format!("{value}i8")
                } else {
                    format!("{value}f32")
                };
                self.emit_unary(
                    op,
                    &format!(
                        "shape::pad({dims:?}, [({}, {}), ({}, {}), ({}, {})], {value}, x, y)?;",
                        p[0][0], p[0][1], p[1][0], p[1][1], p[2][0], p[2][1]
                    ),
                )
            }
            (
                Op::Concatenation {
                    outer, activation, ..
                },
                _,
            ) => {
                if *activation != Fused::None {
                    return Err(self.missing(op, "CONCATENATION with a fused activation"));
                }
                // The parser checked that every input has the output's quantization: a copy.
                let call = format!("shape::concatenate({outer}, &[INPUTS], y)?;");
                self.emit_nary(op, &call)
            }
            (Op::Reshape, _) => Ok(()),
        }
    }

    /// One input, one output: binds `x` and `y` around `call`, or, for the two halves of a
    /// conv + pool [`Fusion`], keeps the convolution's call and emits both in a loop over bands.
    fn emit_unary(&mut self, op: &Operator, call: &str) -> Result<(), Error> {
        if let Some(f) = self.fusions.iter().find(|f| f.conv == op.index).copied() {
            self.pending_conv = Some((f, call.to_string()));
            return Ok(());
        }
        if let Some((f, conv_call)) = self.pending_conv.take() {
            return self.emit_fused(f, &conv_call, op, call);
        }
        self.comment(op);
        let input = op.input(0).unwrap_or_default();
        let places = [
            (self.place(op, op.output)?, "y"),
            (self.place(op, input)?, "x"),
        ];
        self.bind(op, &places)?;
        let _ = writeln!(self.body, "        {call}");
        Ok(())
    }

    /// Two inputs, one output: binds `a`, `b` and `y` around `call`.
    fn emit_binary(&mut self, op: &Operator, call: &str) -> Result<(), Error> {
        self.comment(op);
        let a = op.input(0).unwrap_or_default();
        let b = op.input(1).unwrap_or_default();
        let places = [
            (self.place(op, op.output)?, "y"),
            (self.place(op, a)?, "a"),
            (self.place(op, b)?, "b"),
        ];
        self.bind(op, &places)?;
        let _ = writeln!(self.body, "        {call}");
        Ok(())
    }

    /// Any number of inputs `x0, x1, ..`, one output `y`: `INPUTS` in `call` becomes the list.
    fn emit_nary(&mut self, op: &Operator, call: &str) -> Result<(), Error> {
        self.comment(op);
        let names: Vec<String> = (0..op.inputs.len()).map(|i| format!("x{i}")).collect();
        let mut places = vec![(self.place(op, op.output)?, "y")];
        for (i, name) in names.iter().enumerate() {
            let t = op
                .input(i)
                .ok_or_else(|| Error::malformed(format!("{}: absent input {i}", self.at(op))))?;
            places.push((self.place(op, t)?, name.as_str()));
        }
        self.bind(op, &places)?;
        let _ = writeln!(
            self.body,
            "        {}",
            call.replace("INPUTS", &names.join(", "))
        );
        Ok(())
    }

    /// A convolution computed `f.rows` output rows at a time into a band buffer, each band
    /// pooled into one row of the pooling's output at once.
    fn emit_fused(
        &mut self,
        f: Fusion,
        conv_call: &str,
        pool: &Operator,
        pool_call: &str,
    ) -> Result<(), Error> {
        let conv = &self.model.operators[f.conv];
        self.comment(conv);
        self.comment(pool);
        let (cw, pw) = match (&conv.op, &pool.op) {
            (
                Op::Conv2d { window: c, .. } | Op::DepthwiseConv2d { window: c, .. },
                Op::MaxPool2d { window: p, .. } | Op::AvgPool2d { window: p, .. },
            ) => (*c, *p),
            _ => {
                return Err(Error::malformed(
                    "fusion of operators that are not conv + pool",
                ));
            }
        };
        let input = conv.input(0).unwrap_or_default();
        let _ = writeln!(
            self.body,
            "        // fused: {} convolution rows at a time into a band, pooled as soon as computed",
            f.rows
        );
        let places = [
            (self.place(pool, pool.output)?, "pooled"),
            (self.place(conv, input)?, "image"),
            (self.place(conv, conv.output)?, "band"),
        ];
        // `band` is written too: bind it as a second output.
        self.bind_fused(conv, &places)?;
        let in_row = cw.input[1] * cw.input[2];
        let out_row = pw.output[1] * pw.output[2];
        let geometry = format!("L{}_GEOMETRY", conv.index);
        // Every band's geometry was checked when generating (`row_band` succeeds for each).
        let full = self.conv_geometry_value(&cw, conv);
        for py in 0..pw.output[0] {
            full.row_band(py * f.rows, f.rows)
                .map_err(|e| Error::malformed(format!("{}: band {py}: {e:?}", self.at(conv))))?;
        }
        let conv_call = conv_call.replace(&format!("&{geometry}"), "&g");
        let pool2 = std::mem::take(&mut self.pending_pool2);
        if pool2.is_empty() {
            let _ = writeln!(
                self.body,
                "        for py in 0..{} {{\n            let (g, rows) = {geometry}.row_band(py * {r}, {r})?;\n            {{\n                let x = &image[rows.start * {in_row}..rows.end * {in_row}];\n                let y = &mut *band;\n                {conv_call}\n            }}\n            let x = &*band;\n            let y = &mut pooled[py * {out_row}..(py + 1) * {out_row}];\n            {pool_call}\n        }}",
                pw.output[0],
                r = f.rows,
            );
            return Ok(());
        }
        // The kernel is a constant: the compiler keeps one branch. With a kernel that fuses
        // the pooling into its output stage the band is not written.
        let _ = writeln!(
            self.body,
            "        // (or, with a kernel that fuses the 2x2 pooling, straight into the pooled rows)"
        );
        let mut branches = String::new();
        for (condition, call) in &pool2 {
            let _ = write!(
                branches,
                "if {condition} {{\n                {call}\n            }} else "
            );
        }
        let _ = writeln!(
            self.body,
            "        for py in 0..{} {{\n            let (g, rows) = {geometry}.row_band(py * {r}, {r})?;\n            let x = &image[rows.start * {in_row}..rows.end * {in_row}];\n            let y = &mut pooled[py * {out_row}..(py + 1) * {out_row}];\n            {branches}{{\n                {{\n                    let y = &mut *band;\n                    {conv_call}\n                }}\n                let x = &*band;\n                {pool_call}\n            }}\n        }}",
            pw.output[0],
            r = f.rows,
        );
        Ok(())
    }

    /// As [`bind`](Self::bind) for a fusion: `pooled` and `band` are both written.
    fn bind_fused(&mut self, op: &Operator, places: &[(Place, &str); 3]) -> Result<(), Error> {
        let band = match places[2].0 {
            Place::Arena(o, l) => (o, l),
            _ => {
                return Err(Error::malformed(format!(
                    "{}: fused band outside the arena",
                    self.at(op)
                )));
            }
        };
        let mut regions: Vec<(usize, usize)> = vec![band];
        for (p, _) in &places[..2] {
            if let Place::Arena(o, l) = *p {
                regions.push((o, l));
            }
        }
        regions.sort_unstable();
        regions.dedup();
        for w in regions.windows(2) {
            if w[0].0 + w[0].1 > w[1].0 {
                return Err(Error::malformed(format!(
                    "{}: overlapping buffers {:?} and {:?}",
                    self.at(op),
                    w[0],
                    w[1]
                )));
            }
        }
        self.helpers.carve = true;
        let region_name = |r: (usize, usize)| format!("r{}_{}", r.0, r.1);
        let names: Vec<String> = regions.iter().map(|&r| region_name(r)).collect();
        let spans: Vec<String> = regions
            .iter()
            .map(|&(o, l)| format!("({o}, {l})"))
            .collect();
        let _ = writeln!(
            self.body,
            "        let [{}] = carve(&mut self.arena, [{}]);",
            names.join(", "),
            spans.join(", ")
        );
        for (k, (p, name)) in places.iter().enumerate() {
            let e = match (*p, k) {
                (Place::Input, _) => "&input[..]".to_string(),
                (Place::Output, 0) => "&mut output[..]".to_string(),
                (Place::Output, _) => "&output[..]".to_string(),
                (Place::Arena(o, l), 1) => format!("&*{}", region_name((o, l))),
                (Place::Arena(o, l), _) => region_name((o, l)),
            };
            let _ = writeln!(self.body, "        let {name} = {e};");
        }
        Ok(())
    }

    /// The host-side `Conv2dGeometry` of a convolution window (to check bands).
    fn conv_geometry_value(&self, w: &Window, op: &Operator) -> tinyconv::Conv2dGeometry {
        let g = match op.op {
            Op::DepthwiseConv2d { multiplier, .. } => {
                tinyconv::Conv2dGeometry::depthwise(w.input, multiplier, w.kernel)
            }
            _ => tinyconv::Conv2dGeometry::new(w.input, w.output[2], w.kernel),
        };
        let p = w.pads;
        g.with_stride(w.stride)
            .with_padding(tinyconv::Padding::new(p.top, p.bottom, p.left, p.right))
            .with_dilation(w.dilation)
    }

    fn finish(self, source: &str) -> String {
        let m = self.model;
        let t = elem(m.precision);
        let input = m.tensor(m.input);
        let output = m.tensor(m.output);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "// Generated by tinyconv-tflite {} from `{source}`. Do not edit: regenerate with\n// `cargo run --release -p tinyconv-tflite -- gen {source} -o FILE.rs`.",
            env!("CARGO_PKG_VERSION")
        );
        s.push_str("\n#[allow(unused_imports)]\nuse tinyconv::quant::{ActivationRange, LayerParamsI8, QuantizedMultiplier};\n");
        s.push_str("#[allow(unused_imports)]\nuse tinyconv::{Activation, AvgPoolDivisor, Conv2dGeometry, Error, Padding, Pool2dGeometry, activation, conv, dense, elementwise, pool, reduce, shape};\n");
        s.push_str("#[allow(unused_imports)]\nuse tinyconv::activation::{LogisticI8, SoftmaxI8, TanhI8};\n");
        s.push_str("#[allow(unused_imports)]\nuse tinyconv::{elementwise::AddParamsI8, quant::QuantParams, reduce::MeanParamsI8};\n");
        s.push_str("#[allow(unused_imports)]\nuse tinyconv::depthwise::{DepthwiseF32Kernel, DepthwiseI8Kernel};\n");
        s.push_str("#[allow(unused_imports)]\nuse tinyconv::{Conv2dF32Kernel, Conv2dI8Kernel, DenseF32Kernel, DenseI8Kernel, Pool2dKernel};\n");

        let total_macs: u64 = m.operators.iter().map(|op| m.macs(op)).sum();
        let total_weights: usize = m.operators.iter().map(|op| m.weight_bytes(op)).sum();
        let _ = writeln!(
            s,
            "\n/// The model in `{source}`: {} operators, {} MACs, {} bytes of weights.",
            m.operators.len(),
            total_macs,
            total_weights
        );
        s.push_str("///\n/// | # | op | output | |\n/// |---|---|---|---|\n");
        for op in &m.operators {
            let _ = writeln!(
                s,
                "/// | {} | `{}` | {:?} | {} |",
                op.index,
                op.tflite_name,
                m.tensor(op.output).shape,
                describe(m, op).replace('|', "/")
            );
        }
        let _ = writeln!(
            s,
            "///\n/// Holds the activation arena ({} bytes, buffers shared by lifetime); the input and output\n/// are the caller's arrays, flattened NHWC.",
            self.plan.arena_len * if t == "i8" { 1 } else { 4 }
        );
        let mut fields = format!("    arena: [{t}; ARENA_LEN],\n");
        let mut inits = format!(
            "arena: [0{}; ARENA_LEN]",
            if t == "f32" { ".0" } else { "" }
        );
        let mut scratch_consts = String::new();
        for (field, ty, zero, konst) in [
            ("scratch_i16", "i16", "0", "SCRATCH_I16"),
            ("scratch_f32", "f32", "0.0", "SCRATCH_F32"),
        ] {
            let lens: Vec<&str> = self
                .scratch
                .iter()
                .filter(|(f, _)| *f == field)
                .map(|(_, e)| e.as_str())
                .collect();
            if lens.is_empty() {
                continue;
            }
            let _ = writeln!(fields, "    {field}: [{ty}; {konst}],");
            let _ = write!(inits, ", {field}: [{zero}; {konst}]");
            let _ = writeln!(
                scratch_consts,
                "/// Scratch of the layers' kernels (the largest need; each kernel is chosen for the\n/// target at compile time).\nconst {konst}: usize = max_of(&[\n    {},\n]);",
                lens.join(",\n    ")
            );
        }
        let _ = writeln!(s, "pub struct Model {{\n{fields}}}\n");
        let _ = writeln!(
            s,
            "const ARENA_LEN: usize = {};",
            self.plan.arena_len.max(1)
        );
        s.push_str(&scratch_consts);
        s.push_str("\nimpl Default for Model {\n    fn default() -> Self {\n        Self::new()\n    }\n}\n");

        // A program uses part of this API; a binary crate would warn about the rest.
        s.push_str("\n#[allow(dead_code)]\nimpl Model {\n");
        let _ = writeln!(
            s,
            "    /// Elements of the input, shape {:?} (NHWC).\n    pub const INPUT_LEN: usize = {};",
            input.shape,
            input.len()
        );
        let _ = writeln!(
            s,
            "    /// Elements of the output, shape {:?}.\n    pub const OUTPUT_LEN: usize = {};",
            output.shape,
            output.len()
        );
        let _ = writeln!(
            s,
            "    /// Shape of the input tensor.\n    pub const INPUT_SHAPE: [usize; {}] = {:?};",
            input.shape.len(),
            input.shape
        );
        let _ = writeln!(
            s,
            "    /// Shape of the output tensor.\n    pub const OUTPUT_SHAPE: [usize; {}] = {:?};",
            output.shape.len(),
            output.shape
        );
        if m.precision == Precision::I8 {
            let (is, iz) = input.per_tensor().unwrap_or((1.0, 0));
            let (os, oz) = output.per_tensor().unwrap_or((1.0, 0));
            let _ = writeln!(
                s,
                "    /// Input quantization: `real = INPUT_SCALE · (q − INPUT_ZERO_POINT)`.\n    pub const INPUT_SCALE: f32 = {};",
                f32_literal(is)
            );
            let _ = writeln!(
                s,
                "    /// Input zero point.\n    pub const INPUT_ZERO_POINT: i8 = {iz};"
            );
            let _ = writeln!(
                s,
                "    /// Output quantization: `real = OUTPUT_SCALE · (q − OUTPUT_ZERO_POINT)`.\n    pub const OUTPUT_SCALE: f32 = {};",
                f32_literal(os)
            );
            let _ = writeln!(
                s,
                "    /// Output zero point.\n    pub const OUTPUT_ZERO_POINT: i8 = {oz};"
            );
        }
        let _ = writeln!(
            s,
            "    /// Bytes of the activation arena.\n    pub const ARENA_BYTES: usize = ARENA_LEN * core::mem::size_of::<{t}>();"
        );
        s.push_str("    /// RAM the model needs besides the caller's input and output: `size_of::<Model>()`.\n    pub const RAM_BYTES: usize = core::mem::size_of::<Model>();\n");
        let _ = writeln!(
            s,
            "    /// Multiply-accumulates per inference.\n    pub const MACS: u64 = {total_macs};"
        );
        let _ = writeln!(
            s,
            "    /// Bytes of weights and biases (flash).\n    pub const WEIGHT_BYTES: usize = {total_weights};"
        );
        let names: Vec<String> = self
            .kernels
            .iter()
            .map(|(prefix, kernel)| {
                let index = prefix.trim_start_matches('L');
                let op = index.parse::<usize>().ok().and_then(|i| m.operators.get(i));
                let name = op.map_or("", |op| op.tflite_name.as_str());
                format!("({index}, \"{name}\", {kernel}.name())")
            })
            .collect();
        let _ = writeln!(
            s,
            "    /// The kernel each layer runs on this target: `(operator index, TFLite op, kernel)`.\n    pub const KERNELS: [(usize, &'static str, &'static str); {}] = [{}];",
            names.len(),
            names.join(", ")
        );
        let _ = writeln!(
            s,
            "\n    /// A model with a zeroed arena.\n    pub const fn new() -> Self {{\n        Model {{ {inits} }}\n    }}"
        );
        let _ = writeln!(
            s,
            "\n    /// Runs the model on `input` and writes `output`.\n    ///\n    /// # Panics\n    /// If a kernel returns an error (see [`Model::try_run`]): never for int8 models, whose\n    /// every layer the generator checked; for f32 models, if a softmax sees a non-finite value.\n    pub fn run(&mut self, input: &[{t}; Self::INPUT_LEN], output: &mut [{t}; Self::OUTPUT_LEN]) {{\n        if let Err(e) = self.try_run(input, output) {{\n            panic!(\"tinyconv kernel error: {{e:?}}\");\n        }}\n    }}"
        );
        let _ = writeln!(
            s,
            "\n    /// Runs the model on `input` and writes `output`.\n    ///\n    /// # Errors\n    /// The first kernel error (the generator validated every layer, so only an f32 softmax of\n    /// a non-finite value can fail).\n    pub fn try_run(&mut self, input: &[{t}; Self::INPUT_LEN], output: &mut [{t}; Self::OUTPUT_LEN]) -> Result<(), Error> {{"
        );
        s.push_str(&self.body);
        s.push_str("        Ok(())\n    }\n}\n");

        if self.helpers.carve {
            s.push_str(
                "\n/// Disjoint regions `(offset, len)` of the arena, in increasing offset order, as mutable\n/// slices (the buffer plan never overlaps the buffers an operator uses).\n///\n/// # Panics\n/// If the regions overlap, are out of order or run past the arena (the generator emits them\n/// from a checked plan, so they never do).\nfn carve<T, const N: usize>(arena: &mut [T], regions: [(usize, usize); N]) -> [&mut [T]; N] {\n    let mut rest = arena;\n    let mut at = 0;\n    regions.map(|(offset, len)| {\n        let (_, tail) = core::mem::take(&mut rest).split_at_mut(offset - at);\n        let (region, tail) = tail.split_at_mut(len);\n        rest = tail;\n        at = offset + len;\n        region\n    })\n}\n",
            );
        }
        if !scratch_consts.is_empty() {
            s.push_str(
                "\n/// The largest of `xs` (0 for none).\nconst fn max_of(xs: &[usize]) -> usize {\n    let mut m = 0;\n    let mut i = 0;\n    while i < xs.len() {\n        if xs[i] > m {\n            m = xs[i];\n        }\n        i += 1;\n    }\n    m\n}\n",
            );
        }
        for (flag, ty, family) in [
            (self.helpers.pack_depthwise_i8, "i8", "DepthwiseI8Kernel"),
            (self.helpers.pack_depthwise_f32, "f32", "DepthwiseF32Kernel"),
        ] {
            if flag {
                let _ = write!(
                    s,
                    "\n/// Depthwise filters `[KH][KW][C·M]` packed for `kernel`, at compile time.\nconst fn pack_depthwise_{ty}<const N: usize>(kernel: {family}, g: &Conv2dGeometry, filters: &[{ty}; N]) -> [{ty}; N] {{\n    let mut packed = [0{}; N];\n    match kernel.pack(g, filters, &mut packed) {{\n        Ok(()) => packed,\n        Err(_) => panic!(\"depthwise filters do not match the geometry\"),\n    }}\n}}\n",
                    if ty == "f32" { ".0" } else { "" }
                );
            }
        }
        for ty in &self.helpers.packed {
            let _ = write!(
                s,
                "\n/// A `pack_array` result at compile time (the generator checked the shapes).\nconst fn packed_{ty}<const N: usize>(packed: Result<[{ty}; N], Error>) -> [{ty}; N] {{\n    match packed {{\n        Ok(w) => w,\n        Err(_) => panic!(\"weights do not match the layer\"),\n    }}\n}}\n"
            );
        }
        for ty in &self.helpers.pack_dense {
            let family = if *ty == "i8" {
                "DenseI8Kernel"
            } else {
                "DenseF32Kernel"
            };
            let zero = if *ty == "i8" { "0" } else { "0.0" };
            let _ = write!(
                s,
                "\n/// Dense weights `[out][in]` packed for `kernel`, at compile time.\nconst fn pack_dense_{ty}<const N: usize>(kernel: {family}, inputs: usize, outputs: usize, weights: &[{ty}; N]) -> [{ty}; N] {{\n    let mut packed = [{zero}; N];\n    match kernel.pack(inputs, outputs, weights, &mut packed) {{\n        Ok(()) => packed,\n        Err(_) => panic!(\"dense weights do not match the layer\"),\n    }}\n}}\n"
            );
        }
        if self.helpers.mq {
            s.push_str(
                "\n/// TFLite's requantization multiplier `input_scale · weight_scale / output_scale`, at compile\n/// time (the generator checked that it is in range).\nconst fn mq(input_scale: f32, weight_scale: f32, output_scale: f32) -> QuantizedMultiplier {\n    match tinyconv::quant::requant_multiplier(input_scale, weight_scale, output_scale) {\n        Ok(m) => m,\n        Err(_) => panic!(\"requantization multiplier out of range\"),\n    }\n}\n",
            );
        }
        if self.helpers.mq_f32_product {
            s.push_str(
                "\n/// TFLite's per-tensor FULLY_CONNECTED multiplier (scale product rounded to f32), at\n/// compile time.\nconst fn mq_f32_product(input_scale: f32, weight_scale: f32, output_scale: f32) -> QuantizedMultiplier {\n    match tinyconv::quant::requant_multiplier_f32_product(input_scale, weight_scale, output_scale) {\n        Ok(m) => m,\n        Err(_) => panic!(\"requantization multiplier out of range\"),\n    }\n}\n",
            );
        }
        if self.helpers.quant {
            s.push_str(
                "\n/// A tensor's quantization `(scale, zero point)`, at compile time (the generator checked it).\nconst fn quant(scale: f32, zero_point: i32) -> QuantParams {\n    match QuantParams::new(scale, zero_point) {\n        Ok(q) => q,\n        Err(_) => panic!(\"invalid quantization\"),\n    }\n}\n",
            );
        }
        if self.helpers.add_params {
            s.push_str(
                "\n/// TFLite's int8 ADD parameters, at compile time (the generator checked them).\nconst fn add_params(a: QuantParams, b: QuantParams, out: QuantParams, range: ActivationRange) -> AddParamsI8 {\n    match AddParamsI8::new(a, b, out, range) {\n        Ok(p) => p,\n        Err(_) => panic!(\"ADD multiplier out of range\"),\n    }\n}\n",
            );
        }
        if self.helpers.mean_params {
            s.push_str(
                "\n/// TFLite's int8 MEAN parameters, at compile time (the generator checked them).\nconst fn mean_params(input: QuantParams, output: QuantParams, count: usize) -> MeanParamsI8 {\n    match MeanParamsI8::new(input, output, count) {\n        Ok(p) => p,\n        Err(_) => panic!(\"MEAN multiplier out of range\"),\n    }\n}\n",
            );
        }
        if self.helpers.softmax_params {
            s.push_str(
                "\n/// TFLite's int8 SOFTMAX parameters, at compile time (the generator checked them).\nconst fn softmax_params(input_scale: f32, beta: f32) -> SoftmaxI8 {\n    match SoftmaxI8::new(input_scale, beta) {\n        Ok(p) => p,\n        Err(_) => panic!(\"SOFTMAX multiplier out of range\"),\n    }\n}\n",
            );
        }
        if self.helpers.range {
            s.push_str(
                "\n/// The int8 clamp `[min, max]` of a fused activation (computed by the generator with\n/// `ActivationRange::relu` and friends from the output quantization).\nconst fn range(min: i8, max: i8) -> ActivationRange {\n    match ActivationRange::new(min, max) {\n        Ok(r) => r,\n        Err(_) => panic!(\"empty activation range\"),\n    }\n}\n",
            );
        }
        s.push_str(&self.statics);
        s
    }
}

/// The optional-bias argument of a generated kernel call: `Some(&{prefix}_BIAS)` or `None`.
fn bias_expr(prefix: &str, present: bool) -> String {
    if present {
        format!("Some(&{prefix}_BIAS)")
    } else {
        "None".into()
    }
}
