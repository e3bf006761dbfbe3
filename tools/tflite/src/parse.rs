//! `.tflite` bytes → validated [`Model`].
//!
//! The flatbuffer is read with planus (`schema_generated.rs`, generated from
//! `schema/tflite_subset.fbs`): every access is bounds-checked and returns an error, so a
//! truncated or corrupted file is an [`Error::Flatbuffer`], never a panic. Then every tensor and
//! operator is checked (indices in range, constant data of the right size, types, quantization,
//! options, output shapes that follow from the inputs) and turned into [`Model`].

use crate::error::Error;
use crate::model::{
    DType, Data, Fused, Model, Op, Operator, Padding, Pads, Precision, Quant, Tensor, Window,
};
use crate::schema_generated::tflite;
use planus::ReadAsRoot;

/// The most elements a tensor may have (TFLite's shapes are `i32`; a microcontroller model is
/// far smaller).
const MAX_ELEMENTS: usize = 1 << 31;

/// The schema version TFLite and TFLM accept.
const SCHEMA_VERSION: u32 = 3;

/// Parses and validates a `.tflite` model.
///
/// # Errors
/// [`Error::Flatbuffer`] for bytes that are not a readable flatbuffer with identifier `TFL3`;
/// [`Error::Malformed`] for an inconsistent model; [`Error::UnsupportedOp`] /
/// [`Error::Unsupported`] for what tinyconv does not implement.
pub fn parse(bytes: &[u8]) -> Result<Model, Error> {
    if bytes.len() < 8 || &bytes[4..8] != b"TFL3" {
        return Err(Error::Flatbuffer(
            "missing the TFL3 file identifier (not a .tflite file, or truncated)".into(),
        ));
    }
    let root = tflite::ModelRef::read_as_root(bytes)?;
    let version = root.version()?;
    if version != SCHEMA_VERSION {
        return Err(Error::unsupported(format!(
            "schema version {version} (TFLite models are version 3)"
        )));
    }
    let description = root.description()?.unwrap_or("").to_string();

    let buffers = read_buffers(&root)?;
    let codes = read_operator_codes(&root)?;

    let subgraphs = root
        .subgraphs()?
        .ok_or_else(|| Error::malformed("no subgraph"))?;
    if subgraphs.len() != 1 {
        return Err(Error::unsupported(format!(
            "{} subgraphs (control flow); tinyconv runs models with one subgraph",
            subgraphs.len()
        )));
    }
    let graph = subgraphs
        .get(0)
        .ok_or_else(|| Error::malformed("no subgraph"))??;

    let mut tensors = Vec::new();
    if let Some(list) = graph.tensors()? {
        for (index, t) in list.iter().enumerate() {
            tensors.push(read_tensor(index, t?, &buffers)?);
        }
    }
    let n_tensors = tensors.len();
    let index = |what: &str, i: i32| -> Result<usize, Error> {
        usize::try_from(i)
            .ok()
            .filter(|&i| i < n_tensors)
            .ok_or_else(|| {
                Error::malformed(format!(
                    "{what} refers to tensor {i}, the subgraph has {n_tensors}"
                ))
            })
    };

    let graph_inputs: Vec<i32> = graph
        .inputs()?
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let graph_outputs: Vec<i32> = graph
        .outputs()?
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    if graph_inputs.len() != 1 || graph_outputs.len() != 1 {
        return Err(Error::unsupported(format!(
            "{} inputs and {} outputs; the generated `run` takes one input and one output tensor",
            graph_inputs.len(),
            graph_outputs.len()
        )));
    }
    let input = index("the subgraph's input", graph_inputs[0])?;
    let output = index("the subgraph's output", graph_outputs[0])?;

    let mut raw_ops = Vec::new();
    if let Some(list) = graph.operators()? {
        for (i, op) in list.iter().enumerate() {
            let op = op?;
            let code_index = op.opcode_index()? as usize;
            let code = codes
                .get(code_index)
                .ok_or_else(|| {
                    Error::malformed(format!(
                        "operator {i}: opcode index {code_index} out of range"
                    ))
                })?
                .clone();
            let mut inputs = Vec::new();
            for t in op
                .inputs()?
                .map(|v| v.iter().collect::<Vec<i32>>())
                .unwrap_or_default()
            {
                inputs.push(if t == -1 {
                    None
                } else {
                    Some(index(&format!("operator {i}"), t)?)
                });
            }
            let outputs: Vec<i32> = op
                .outputs()?
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            raw_ops.push(RawOp {
                index: i,
                code,
                op,
                inputs,
                outputs,
            });
        }
    }

    let mut model = Model {
        description,
        precision: match tensors[input].dtype {
            DType::I8 => Precision::I8,
            DType::F32 => Precision::F32,
            other => {
                return Err(Error::unsupported(format!(
                    "model input tensor {input} '{}' is {other}; tinyconv runs int8 and f32 models",
                    tensors[input].name
                )));
            }
        },
        tensors,
        operators: Vec::new(),
        input,
        output,
    };
    for raw in &raw_ops {
        let op = check_operator(&model, raw)?;
        model.operators.push(op);
    }
    check_graph(&model)?;
    Ok(model)
}

/// An operator as stored, before validation.
struct RawOp<'a> {
    index: usize,
    code: Code,
    op: tflite::OperatorRef<'a>,
    inputs: Vec<Option<usize>>,
    outputs: Vec<i32>,
}

/// A resolved operator code.
#[derive(Clone, Debug)]
struct Code {
    builtin: i32,
    custom: Option<String>,
    version: i32,
}

impl Code {
    fn name(&self) -> String {
        match &self.custom {
            Some(name) => format!("CUSTOM:{name}"),
            None => builtin_name(self.builtin),
        }
    }
}

fn read_buffers<'a>(root: &tflite::ModelRef<'a>) -> Result<Vec<&'a [u8]>, Error> {
    let mut out = Vec::new();
    if let Some(list) = root.buffers()? {
        for (i, b) in list.iter().enumerate() {
            let b = b?;
            if b.offset()? > 1 {
                return Err(Error::unsupported(format!(
                    "buffer {i} is stored outside the flatbuffer (models over 2 GB)"
                )));
            }
            out.push(b.data()?.unwrap_or(&[]));
        }
    }
    Ok(out)
}

fn read_operator_codes(root: &tflite::ModelRef<'_>) -> Result<Vec<Code>, Error> {
    let mut out = Vec::new();
    if let Some(list) = root.operator_codes()? {
        for c in list.iter() {
            let c = c?;
            // TFLite: the larger of the two fields (the old byte field saturates at 127).
            let builtin = i32::from(c.deprecated_builtin_code()?).max(c.builtin_code()?);
            let custom = if builtin == CUSTOM {
                Some(c.custom_code()?.unwrap_or("").to_string())
            } else {
                None
            };
            out.push(Code {
                builtin,
                custom,
                version: c.version()?,
            });
        }
    }
    Ok(out)
}

fn decode_dtype(code: i8) -> Result<DType, String> {
    Ok(match code {
        0 => DType::F32,
        9 => DType::I8,
        2 => DType::I32,
        4 => DType::I64,
        1 => return Err("FLOAT16".into()),
        3 => return Err("UINT8".into()),
        5 => return Err("STRING".into()),
        6 => return Err("BOOL".into()),
        7 => return Err("INT16".into()),
        8 => return Err("COMPLEX64".into()),
        10 => return Err("FLOAT64".into()),
        11 => return Err("COMPLEX128".into()),
        12 => return Err("UINT64".into()),
        13 => return Err("RESOURCE".into()),
        14 => return Err("VARIANT".into()),
        15 => return Err("UINT32".into()),
        16 => return Err("UINT16".into()),
        17 => return Err("INT4".into()),
        other => return Err(format!("unknown type {other}")),
    })
}

fn read_tensor(index: usize, t: tflite::TensorRef<'_>, buffers: &[&[u8]]) -> Result<Tensor, Error> {
    let name = t.name()?.unwrap_or("").to_string();
    let at = || format!("tensor {index} '{name}'");
    let dtype = decode_dtype(t.type_()?)
        .map_err(|ty| Error::unsupported(format!("{}: {ty} tensors", at())))?;
    let mut shape = Vec::new();
    for d in t
        .shape()?
        .map(|v| v.iter().collect::<Vec<i32>>())
        .unwrap_or_default()
    {
        shape.push(usize::try_from(d).map_err(|_| {
            Error::unsupported(format!("{}: dynamic or negative dimension {d}", at()))
        })?);
    }
    // Every size computed later (bytes, MACs, offsets) stays far from overflow.
    let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if elements.is_none_or(|n| n > MAX_ELEMENTS) {
        return Err(Error::unsupported(format!(
            "{}: shape {shape:?} has more than 2^31 elements",
            at()
        )));
    }
    if let Some(signature) = t.shape_signature()? {
        for (axis, d) in signature.iter().enumerate() {
            // A dynamic batch (-1 in the signature, 1 in the shape) is the common Keras export.
            let dynamic_batch = axis == 0 && shape.first() == Some(&1);
            if d < 0 && !dynamic_batch {
                return Err(Error::unsupported(format!(
                    "{}: dynamic shape (signature {:?})",
                    at(),
                    signature.iter().collect::<Vec<_>>()
                )));
            }
        }
    }
    if t.sparsity()?.is_some() {
        return Err(Error::unsupported(format!("{}: sparse tensors", at())));
    }
    if t.is_variable()? {
        return Err(Error::unsupported(format!(
            "{}: variable tensors (state)",
            at()
        )));
    }

    let quant = match t.quantization()? {
        None => None,
        Some(q) => {
            if q.details_type()? != 0 {
                return Err(Error::unsupported(format!("{}: custom quantization", at())));
            }
            let scale: Vec<f32> = q.scale()?.map(|v| v.iter().collect()).unwrap_or_default();
            let zero_point: Vec<i64> = q
                .zero_point()?
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            if scale.is_empty() && zero_point.is_empty() {
                None
            } else {
                if scale.len() != zero_point.len() {
                    return Err(Error::malformed(format!(
                        "{}: {} scales and {} zero points",
                        at(),
                        scale.len(),
                        zero_point.len()
                    )));
                }
                if let Some(s) = scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
                    return Err(Error::malformed(format!(
                        "{}: scale {s} (scales are finite and > 0)",
                        at()
                    )));
                }
                let axis = usize::try_from(q.quantized_dimension()?).map_err(|_| {
                    Error::malformed(format!("{}: negative quantized dimension", at()))
                })?;
                if scale.len() > 1 && shape.get(axis) != Some(&scale.len()) {
                    return Err(Error::malformed(format!(
                        "{}: {} scales along dimension {axis} of shape {shape:?}",
                        at(),
                        scale.len()
                    )));
                }
                Some(Quant {
                    scale,
                    zero_point,
                    axis,
                })
            }
        }
    };

    let buffer = t.buffer()? as usize;
    let bytes = *buffers.get(buffer).ok_or_else(|| {
        Error::malformed(format!(
            "{}: buffer {buffer} out of range ({})",
            at(),
            buffers.len()
        ))
    })?;
    let data = if bytes.is_empty() {
        None
    } else {
        let elements = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| Error::malformed(format!("{}: shape {shape:?} overflows", at())))?;
        let expected = elements.checked_mul(dtype.size());
        if expected != Some(bytes.len()) {
            return Err(Error::malformed(format!(
                "{}: {} bytes of data for shape {shape:?} of {dtype}",
                at(),
                bytes.len()
            )));
        }
        Some(match dtype {
            DType::F32 => Data::F32(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            DType::I8 => Data::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::I32 => Data::I32(
                bytes
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            DType::I64 => Data::I64(
                bytes
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                    .collect(),
            ),
        })
    };
    Ok(Tensor {
        index,
        name,
        dtype,
        shape,
        quant,
        data,
    })
}

// Builtin operator codes tinyconv reads (TFLite's `BuiltinOperator`).
const ADD: i32 = 0;
const AVERAGE_POOL_2D: i32 = 1;
const CONCATENATION: i32 = 2;
const CONV_2D: i32 = 3;
const DEPTHWISE_CONV_2D: i32 = 4;
const FULLY_CONNECTED: i32 = 9;
const LOGISTIC: i32 = 14;
const MAX_POOL_2D: i32 = 17;
const RELU: i32 = 19;
const RELU6: i32 = 21;
const RESHAPE: i32 = 22;
const SOFTMAX: i32 = 25;
const TANH: i32 = 28;
const CUSTOM: i32 = 32;
const PAD: i32 = 34;
const MEAN: i32 = 40;
const SQUEEZE: i32 = 43;
const EXPAND_DIMS: i32 = 70;

/// TFLite's name of builtin operator `code`.
pub fn builtin_name(code: i32) -> String {
    const NAMES: &[&str] = &[
        "ADD",
        "AVERAGE_POOL_2D",
        "CONCATENATION",
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "DEPTH_TO_SPACE",
        "DEQUANTIZE",
        "EMBEDDING_LOOKUP",
        "FLOOR",
        "FULLY_CONNECTED",
        "HASHTABLE_LOOKUP",
        "L2_NORMALIZATION",
        "L2_POOL_2D",
        "LOCAL_RESPONSE_NORMALIZATION",
        "LOGISTIC",
        "LSH_PROJECTION",
        "LSTM",
        "MAX_POOL_2D",
        "MUL",
        "RELU",
        "RELU_N1_TO_1",
        "RELU6",
        "RESHAPE",
        "RESIZE_BILINEAR",
        "RNN",
        "SOFTMAX",
        "SPACE_TO_DEPTH",
        "SVDF",
        "TANH",
        "CONCAT_EMBEDDINGS",
        "SKIP_GRAM",
        "CALL",
        "CUSTOM",
        "EMBEDDING_LOOKUP_SPARSE",
        "PAD",
        "UNIDIRECTIONAL_SEQUENCE_RNN",
        "GATHER",
        "BATCH_TO_SPACE_ND",
        "SPACE_TO_BATCH_ND",
        "TRANSPOSE",
        "MEAN",
        "SUB",
        "DIV",
        "SQUEEZE",
        "UNIDIRECTIONAL_SEQUENCE_LSTM",
        "STRIDED_SLICE",
        "BIDIRECTIONAL_SEQUENCE_RNN",
        "EXP",
        "TOPK_V2",
        "SPLIT",
        "LOG_SOFTMAX",
        "DELEGATE",
        "BIDIRECTIONAL_SEQUENCE_LSTM",
        "CAST",
        "PRELU",
        "MAXIMUM",
        "ARG_MAX",
        "MINIMUM",
        "LESS",
        "NEG",
        "PADV2",
        "GREATER",
        "GREATER_EQUAL",
        "LESS_EQUAL",
        "SELECT",
        "SLICE",
        "SIN",
        "TRANSPOSE_CONV",
        "SPARSE_TO_DENSE",
        "TILE",
        "EXPAND_DIMS",
        "EQUAL",
        "NOT_EQUAL",
        "LOG",
        "SUM",
        "SQRT",
        "RSQRT",
        "SHAPE",
        "POW",
        "ARG_MIN",
        "FAKE_QUANT",
        "REDUCE_PROD",
        "REDUCE_MAX",
        "PACK",
        "LOGICAL_OR",
        "ONE_HOT",
        "LOGICAL_AND",
        "LOGICAL_NOT",
        "UNPACK",
        "REDUCE_MIN",
        "FLOOR_DIV",
        "REDUCE_ANY",
        "SQUARE",
        "ZEROS_LIKE",
        "FILL",
        "FLOOR_MOD",
        "RANGE",
        "RESIZE_NEAREST_NEIGHBOR",
        "LEAKY_RELU",
        "SQUARED_DIFFERENCE",
        "MIRROR_PAD",
        "ABS",
        "SPLIT_V",
        "UNIQUE",
        "CEIL",
        "REVERSE_V2",
        "ADD_N",
        "GATHER_ND",
        "COS",
        "WHERE",
        "RANK",
        "ELU",
        "REVERSE_SEQUENCE",
        "MATRIX_DIAG",
        "QUANTIZE",
        "MATRIX_SET_DIAG",
        "ROUND",
        "HARD_SWISH",
        "IF",
        "WHILE",
        "NON_MAX_SUPPRESSION_V4",
        "NON_MAX_SUPPRESSION_V5",
        "SCATTER_ND",
        "SELECT_V2",
        "DENSIFY",
        "SEGMENT_SUM",
        "BATCH_MATMUL",
        "PLACEHOLDER_FOR_GREATER_OP_CODES",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("BUILTIN_OPERATOR_{code}"), |s| (*s).to_string())
}

fn decode_fused(at: &str, code: i8) -> Result<Fused, Error> {
    match code {
        0 => Ok(Fused::None),
        1 => Ok(Fused::Relu),
        2 => Ok(Fused::ReluN1To1),
        3 => Ok(Fused::Relu6),
        4 => Err(Error::unsupported(format!("{at}: fused TANH activation"))),
        5 => Err(Error::unsupported(format!(
            "{at}: fused SIGN_BIT activation"
        ))),
        other => Err(Error::malformed(format!(
            "{at}: unknown fused activation {other}"
        ))),
    }
}

fn decode_padding(at: &str, code: i8) -> Result<Padding, Error> {
    match code {
        0 => Ok(Padding::Same),
        1 => Ok(Padding::Valid),
        other => Err(Error::malformed(format!("{at}: unknown padding {other}"))),
    }
}

fn positive(at: &str, what: &str, v: i32) -> Result<usize, Error> {
    usize::try_from(v)
        .ok()
        .filter(|&v| v >= 1)
        .ok_or_else(|| Error::malformed(format!("{at}: {what} {v} (must be >= 1)")))
}

/// Output size and `(before, after)` padding of one spatial dimension, as TFLite computes them.
fn resolve(
    padding: Padding,
    size: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
) -> Option<(usize, [usize; 2])> {
    // Malformed models reach this with zero sizes (found by the tflite_mutate fuzz target: an
    // empty input under SAME padding): every step is checked, `None` becomes a clear error.
    if stride == 0 {
        return None;
    }
    let effective = kernel
        .checked_sub(1)?
        .checked_mul(dilation)?
        .checked_add(1)?;
    match padding {
        Padding::Valid => {
            if size < effective {
                return None;
            }
            Some(((size - effective) / stride + 1, [0, 0]))
        }
        Padding::Same => {
            let out = size.div_ceil(stride);
            let needed = out
                .checked_sub(1)?
                .checked_mul(stride)?
                .checked_add(effective)?;
            let total = needed.saturating_sub(size);
            Some((out, [total / 2, total - total / 2]))
        }
    }
}

struct Ctx<'m> {
    model: &'m Model,
    at: String,
}

impl Ctx<'_> {
    fn err(&self, m: impl std::fmt::Display) -> Error {
        Error::malformed(format!("{}: {m}", self.at))
    }

    fn unsupported(&self, m: impl std::fmt::Display) -> Error {
        Error::unsupported(format!("{}: {m}", self.at))
    }

    fn tensor(&self, t: usize) -> &Tensor {
        self.model.tensor(t)
    }

    /// An activation input (not a constant) of the model's precision.
    fn activation(&self, inputs: &[Option<usize>], i: usize) -> Result<usize, Error> {
        let t = inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| self.err(format!("input {i} is missing")))?;
        let tensor = self.tensor(t);
        if tensor.is_constant() {
            return Err(self.unsupported(format!(
                "input {i} (tensor {t} '{}') is a constant",
                tensor.name
            )));
        }
        Ok(t)
    }

    /// A constant input.
    fn constant(&self, inputs: &[Option<usize>], i: usize) -> Result<usize, Error> {
        let t = inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| self.err(format!("input {i} is missing")))?;
        if !self.tensor(t).is_constant() {
            return Err(self.unsupported(format!(
                "input {i} (tensor {t} '{}') must be a constant (weights computed at run time)",
                self.tensor(t).name
            )));
        }
        Ok(t)
    }

    /// `[H, W, C]` of a rank-4 tensor with batch 1.
    fn hwc(&self, t: usize) -> Result<[usize; 3], Error> {
        match self.tensor(t).shape.as_slice() {
            [1, h, w, c] => Ok([*h, *w, *c]),
            [n, _, _, _] => Err(self.unsupported(format!("batch {n} (tinyconv runs batch 1)"))),
            other => Err(self.err(format!(
                "tensor {t} has shape {other:?}, expected [1, H, W, C]"
            ))),
        }
    }

    fn same_shape(&self, a: usize, b: usize) -> Result<(), Error> {
        if self.tensor(a).shape != self.tensor(b).shape {
            return Err(self.err(format!(
                "tensors {a} and {b} have shapes {:?} and {:?}",
                self.tensor(a).shape,
                self.tensor(b).shape
            )));
        }
        Ok(())
    }

    fn same_len(&self, a: usize, b: usize) -> Result<(), Error> {
        if self.tensor(a).len() != self.tensor(b).len() {
            return Err(self.err(format!(
                "tensors {a} and {b} have shapes {:?} and {:?} of different sizes",
                self.tensor(a).shape,
                self.tensor(b).shape
            )));
        }
        Ok(())
    }

    /// Input and output share scale and zero point (ops that move int8 values without
    /// requantizing them).
    fn same_quant(&self, a: usize, b: usize) -> Result<(), Error> {
        if self.model.precision == Precision::I8
            && self.tensor(a).per_tensor() != self.tensor(b).per_tensor()
        {
            return Err(self.unsupported(format!(
                "tensors {a} and {b} have different quantization {:?} and {:?} (this op does not requantize)",
                self.tensor(a).per_tensor(),
                self.tensor(b).per_tensor()
            )));
        }
        Ok(())
    }

    /// An int8 output with the fixed quantization TFLite requires (`LOGISTIC`, `SOFTMAX`:
    /// 1/256, −128; `TANH`: 1/128, 0).
    fn fixed_output_quant(&self, t: usize, scale: f32, zero_point: i32) -> Result<(), Error> {
        if self.model.precision == Precision::I8
            && self.tensor(t).per_tensor() != Some((scale, zero_point))
        {
            return Err(self.unsupported(format!(
                "int8 output quantization {:?}; TFLite requires ({scale}, {zero_point})",
                self.tensor(t).per_tensor()
            )));
        }
        Ok(())
    }

    /// Weights (and bias) of a conv / depthwise / fully connected layer with `out_c` outputs
    /// whose per-channel scales run along `axis`.
    fn weights(&self, inputs: &[Option<usize>], out_c: usize, axis: usize) -> Result<(), Error> {
        let w = self.constant(inputs, 1)?;
        let wt = self.tensor(w);
        match self.model.precision {
            Precision::F32 => {
                if wt.dtype != DType::F32 {
                    return Err(self.unsupported(format!(
                        "{} weights in an f32 model (hybrid / dynamic-range quantization)",
                        wt.dtype
                    )));
                }
            }
            Precision::I8 => {
                if wt.dtype != DType::I8 {
                    return Err(self.unsupported(format!("{} weights in an int8 model", wt.dtype)));
                }
                let q = wt.quant.as_ref().ok_or_else(|| {
                    self.err(format!("int8 weights (tensor {w}) without quantization"))
                })?;
                if q.scale.len() != 1 && (q.scale.len() != out_c || q.axis != axis) {
                    return Err(self.err(format!(
                        "{} weight scales along dimension {}, expected 1 or {out_c} along dimension {axis}",
                        q.scale.len(),
                        q.axis
                    )));
                }
                if let Some(z) = q.zero_point.iter().find(|&&z| z != 0) {
                    return Err(self.unsupported(format!(
                        "asymmetric weights (zero point {z}); TFLite int8 weights are symmetric"
                    )));
                }
                if let Some(Data::I8(values)) = &wt.data
                    && values.contains(&-128)
                {
                    return Err(self.unsupported(
                        "a weight of -128 (symmetric int8 weights are in [-127, 127])",
                    ));
                }
            }
        }
        if let Some(b) = inputs.get(2).copied().flatten() {
            let bt = self.tensor(b);
            if !bt.is_constant() {
                return Err(self.unsupported("a bias computed at run time"));
            }
            let want = match self.model.precision {
                Precision::F32 => DType::F32,
                Precision::I8 => DType::I32,
            };
            if bt.dtype != want {
                return Err(self.unsupported(format!("{} bias (expected {want})", bt.dtype)));
            }
            if bt.len() != out_c {
                return Err(self.err(format!("bias of {} values for {out_c} outputs", bt.len())));
            }
        }
        Ok(())
    }

    fn window_2d(
        &self,
        [input, output]: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
        out_c: usize,
    ) -> Result<Window, Error> {
        let [h, w, c] = self.hwc(input)?;
        let [oh, ow, oc] = self.hwc(output)?;
        let (eh, [top, bottom]) = resolve(padding, h, kernel[0], stride[0], dilation[0])
            .ok_or_else(|| {
                self.err(format!(
                    "kernel height {} (dilation {}) does not fit {h} rows",
                    kernel[0], dilation[0]
                ))
            })?;
        let (ew, [left, right]) = resolve(padding, w, kernel[1], stride[1], dilation[1])
            .ok_or_else(|| {
                self.err(format!(
                    "kernel width {} (dilation {}) does not fit {w} columns",
                    kernel[1], dilation[1]
                ))
            })?;
        if [oh, ow, oc] != [eh, ew, out_c] {
            return Err(self.err(format!(
                "output shape [1, {oh}, {ow}, {oc}], the input and options give [1, {eh}, {ew}, {out_c}]"
            )));
        }
        Ok(Window {
            input: [h, w, c],
            output: [oh, ow, oc],
            kernel,
            stride,
            dilation,
            padding,
            pads: Pads {
                top,
                bottom,
                left,
                right,
            },
        })
    }

    /// A constant integer vector (axes, paddings).
    fn ints(&self, inputs: &[Option<usize>], i: usize) -> Result<Vec<i64>, Error> {
        let t = self.constant(inputs, i)?;
        self.tensor(t)
            .data
            .as_ref()
            .and_then(Data::as_i64)
            .ok_or_else(|| self.err(format!("input {i} (tensor {t}) is not an integer constant")))
    }
}

fn check_operator(model: &Model, raw: &RawOp<'_>) -> Result<Operator, Error> {
    let name = raw.code.name();
    let at = format!("operator {} ({name})", raw.index);
    let cx = Ctx { model, at };
    if raw.code.custom.is_some() {
        return Err(Error::UnsupportedOp {
            operator: raw.index,
            op: name,
        });
    }
    if raw.op.builtin_options_2_type()? != 0 {
        return Err(cx.unsupported("options in builtin_options_2"));
    }
    if raw.outputs.len() != 1 {
        return Err(cx.unsupported(format!("{} outputs", raw.outputs.len())));
    }
    let output = usize::try_from(raw.outputs[0])
        .ok()
        .filter(|&t| t < model.tensors.len())
        .ok_or_else(|| cx.err(format!("output tensor {} out of range", raw.outputs[0])))?;
    if model.tensor(output).is_constant() {
        return Err(cx.err(format!("writes constant tensor {output}")));
    }
    let want = match model.precision {
        Precision::I8 => DType::I8,
        Precision::F32 => DType::F32,
    };
    if model.tensor(output).dtype != want {
        return Err(cx.unsupported(format!(
            "output tensor {output} is {} in a {} model (mixed precision)",
            model.tensor(output).dtype,
            want
        )));
    }
    if model.precision == Precision::I8 && model.tensor(output).per_tensor().is_none() {
        return Err(cx.err(format!(
            "int8 tensor {output} without a per-tensor scale and zero point"
        )));
    }
    let inputs = &raw.inputs;
    let options = raw.op.builtin_options();
    let options = || -> Result<Option<tflite::BuiltinOptionsRef<'_>>, Error> {
        options.map_err(|e| cx.err(format!("options: {e}")))
    };
    let wrong_options = || cx.err("options of another operator");
    let op = match raw.code.builtin {
        CONV_2D => {
            let o = match options()? {
                Some(tflite::BuiltinOptionsRef::Conv2DOptions(o)) => o,
                _ => return Err(wrong_options()),
            };
            let input = cx.activation(inputs, 0)?;
            let filter = cx.constant(inputs, 1)?;
            let [_, _, c] = cx.hwc(input)?;
            let (out_c, kh, kw, in_c) = match cx.tensor(filter).shape.as_slice() {
                [o, kh, kw, i] => (*o, *kh, *kw, *i),
                s => {
                    return Err(cx.err(format!(
                        "filter shape {s:?}, expected [C_out, KH, KW, C_in]"
                    )));
                }
            };
            if in_c != c {
                return Err(cx.unsupported(format!(
                    "filter of {in_c} input channels over {c} (grouped convolution)"
                )));
            }
            if o.quantized_bias_type()? != 0 {
                return Err(cx.unsupported("quantized_bias_type (int64 accumulators)"));
            }
            cx.weights(inputs, out_c, 0)?;
            let window = cx.window_2d(
                [input, output],
                [kh, kw],
                [
                    positive(&cx.at, "stride_h", o.stride_h()?)?,
                    positive(&cx.at, "stride_w", o.stride_w()?)?,
                ],
                [
                    positive(&cx.at, "dilation_h", o.dilation_h_factor()?)?,
                    positive(&cx.at, "dilation_w", o.dilation_w_factor()?)?,
                ],
                decode_padding(&cx.at, o.padding()?)?,
                out_c,
            )?;
            Op::Conv2d {
                window,
                activation: decode_fused(&cx.at, o.fused_activation_function()?)?,
            }
        }
        DEPTHWISE_CONV_2D => {
            let o = match options()? {
                Some(tflite::BuiltinOptionsRef::DepthwiseConv2DOptions(o)) => o,
                _ => return Err(wrong_options()),
            };
            let input = cx.activation(inputs, 0)?;
            let filter = cx.constant(inputs, 1)?;
            let [_, _, c] = cx.hwc(input)?;
            let (kh, kw, out_c) = match cx.tensor(filter).shape.as_slice() {
                [1, kh, kw, o] => (*kh, *kw, *o),
                s => {
                    return Err(cx.err(format!(
                        "filter shape {s:?}, expected [1, KH, KW, C_in · M]"
                    )));
                }
            };
            if c == 0 || out_c % c != 0 {
                return Err(cx.err(format!(
                    "{out_c} output channels is not a multiple of {c} input channels"
                )));
            }
            let multiplier = out_c / c;
            cx.weights(inputs, out_c, 3)?;
            let window = cx.window_2d(
                [input, output],
                [kh, kw],
                [
                    positive(&cx.at, "stride_h", o.stride_h()?)?,
                    positive(&cx.at, "stride_w", o.stride_w()?)?,
                ],
                [
                    positive(&cx.at, "dilation_h", o.dilation_h_factor()?)?,
                    positive(&cx.at, "dilation_w", o.dilation_w_factor()?)?,
                ],
                decode_padding(&cx.at, o.padding()?)?,
                out_c,
            )?;
            Op::DepthwiseConv2d {
                window,
                multiplier,
                activation: decode_fused(&cx.at, o.fused_activation_function()?)?,
            }
        }
        FULLY_CONNECTED => {
            let o = match options()? {
                Some(tflite::BuiltinOptionsRef::FullyConnectedOptions(o)) => o,
                None => return Err(cx.err("missing options")),
                _ => return Err(wrong_options()),
            };
            if o.weights_format()? != 0 {
                return Err(cx.unsupported("shuffled weights format"));
            }
            if o.quantized_bias_type()? != 0 {
                return Err(cx.unsupported("quantized_bias_type (int64 accumulators)"));
            }
            let input = cx.activation(inputs, 0)?;
            let weights = cx.constant(inputs, 1)?;
            let (out_n, in_n) = match cx.tensor(weights).shape.as_slice() {
                [o, i] => (*o, *i),
                s => return Err(cx.err(format!("weights shape {s:?}, expected [out, in]"))),
            };
            if cx.tensor(input).len() != in_n {
                return Err(cx.unsupported(format!(
                    "input of {} values for {in_n} weights per output (batch > 1)",
                    cx.tensor(input).len()
                )));
            }
            if cx.tensor(output).len() != out_n {
                return Err(cx.err(format!(
                    "output of {} values for {out_n} outputs",
                    cx.tensor(output).len()
                )));
            }
            cx.weights(inputs, out_n, 0)?;
            Op::FullyConnected {
                input: in_n,
                output: out_n,
                activation: decode_fused(&cx.at, o.fused_activation_function()?)?,
            }
        }
        MAX_POOL_2D | AVERAGE_POOL_2D => {
            let o = match options()? {
                Some(tflite::BuiltinOptionsRef::Pool2DOptions(o)) => o,
                _ => return Err(wrong_options()),
            };
            let input = cx.activation(inputs, 0)?;
            let [_, _, c] = cx.hwc(input)?;
            cx.same_quant(input, output)?;
            let window = cx.window_2d(
                [input, output],
                [
                    positive(&cx.at, "filter_height", o.filter_height()?)?,
                    positive(&cx.at, "filter_width", o.filter_width()?)?,
                ],
                [
                    positive(&cx.at, "stride_h", o.stride_h()?)?,
                    positive(&cx.at, "stride_w", o.stride_w()?)?,
                ],
                [1, 1],
                decode_padding(&cx.at, o.padding()?)?,
                c,
            )?;
            let activation = decode_fused(&cx.at, o.fused_activation_function()?)?;
            if raw.code.builtin == MAX_POOL_2D {
                Op::MaxPool2d { window, activation }
            } else {
                Op::AvgPool2d { window, activation }
            }
        }
        ADD => {
            let activation = match options()? {
                Some(tflite::BuiltinOptionsRef::AddOptions(o)) => {
                    decode_fused(&cx.at, o.fused_activation_function()?)?
                }
                None => Fused::None,
                _ => return Err(wrong_options()),
            };
            let a = cx.activation(inputs, 0)?;
            let b = cx.activation(inputs, 1)?;
            cx.same_shape(a, b).map_err(|_| {
                cx.unsupported("ADD with broadcasting (inputs of different shapes)")
            })?;
            cx.same_shape(a, output)?;
            Op::Add { activation }
        }
        MEAN => {
            let keep_dims = match options()? {
                Some(tflite::BuiltinOptionsRef::ReducerOptions(o)) => o.keep_dims()?,
                None => false,
                _ => return Err(wrong_options()),
            };
            let input = cx.activation(inputs, 0)?;
            let shape = &cx.tensor(input).shape;
            let rank = shape.len() as i64;
            let mut axes: Vec<usize> = Vec::new();
            for a in cx.ints(inputs, 1)? {
                let a = if a < 0 { a + rank } else { a };
                if !(0..rank).contains(&a) {
                    return Err(cx.err(format!("axis {a} of a rank-{rank} input")));
                }
                if !axes.contains(&(a as usize)) {
                    axes.push(a as usize);
                }
            }
            axes.sort_unstable();
            if axes.is_empty() || axes.windows(2).any(|w| w[1] != w[0] + 1) {
                return Err(cx.unsupported(format!(
                    "MEAN over axes {axes:?} (tinyconv reduces contiguous axes)"
                )));
            }
            let (lo, hi) = (axes[0], axes[axes.len() - 1] + 1);
            let outer: usize = shape[..lo].iter().product();
            let reduce: usize = shape[lo..hi].iter().product();
            let inner: usize = shape[hi..].iter().product();
            let mut expected: Vec<usize> = shape[..lo].to_vec();
            if keep_dims {
                expected.extend(std::iter::repeat_n(1, hi - lo));
            }
            expected.extend_from_slice(&shape[hi..]);
            if cx.tensor(output).shape != expected {
                return Err(cx.err(format!(
                    "output shape {:?}, expected {expected:?}",
                    cx.tensor(output).shape
                )));
            }
            if reduce == 0 {
                return Err(cx.err("MEAN over an empty axis"));
            }
            Op::Mean {
                outer,
                reduce,
                inner,
            }
        }
        SOFTMAX => {
            let beta = match options()? {
                Some(tflite::BuiltinOptionsRef::SoftmaxOptions(o)) => o.beta()?,
                None => 1.0,
                _ => return Err(wrong_options()),
            };
            if !beta.is_finite() || beta <= 0.0 {
                return Err(cx.unsupported(format!("beta {beta}")));
            }
            let input = cx.activation(inputs, 0)?;
            cx.same_shape(input, output)?;
            cx.fixed_output_quant(output, 1.0 / 256.0, -128)?;
            let depth = *cx
                .tensor(input)
                .shape
                .last()
                .ok_or_else(|| cx.err("scalar input"))?;
            Op::Softmax { beta, depth }
        }
        LOGISTIC | TANH | RELU | RELU6 => {
            let input = cx.activation(inputs, 0)?;
            cx.same_shape(input, output)?;
            match raw.code.builtin {
                LOGISTIC => {
                    cx.fixed_output_quant(output, 1.0 / 256.0, -128)?;
                    Op::Logistic
                }
                TANH => {
                    cx.fixed_output_quant(output, 1.0 / 128.0, 0)?;
                    Op::Tanh
                }
                RELU => Op::Relu,
                _ => Op::Relu6,
            }
        }
        PAD => {
            let input = cx.activation(inputs, 0)?;
            cx.same_quant(input, output)?;
            let pads = cx.ints(inputs, 1)?;
            let shape = cx.tensor(input).shape.clone();
            if pads.len() != 2 * shape.len() || shape.len() > 4 {
                return Err(cx.err(format!(
                    "{} padding values for a rank-{} input",
                    pads.len(),
                    shape.len()
                )));
            }
            let mut resolved = Vec::new();
            let mut expected = Vec::new();
            for (d, pair) in pads.chunks_exact(2).enumerate() {
                let before = usize::try_from(pair[0])
                    .map_err(|_| cx.err(format!("negative padding {}", pair[0])))?;
                let after = usize::try_from(pair[1])
                    .map_err(|_| cx.err(format!("negative padding {}", pair[1])))?;
                resolved.push([before, after]);
                let padded = shape[d]
                    .checked_add(before)
                    .and_then(|n| n.checked_add(after));
                expected.push(padded.ok_or_else(|| cx.err(format!("padding {pair:?} overflows")))?);
            }
            if cx.tensor(output).shape != expected {
                return Err(cx.err(format!(
                    "output shape {:?}, expected {expected:?}",
                    cx.tensor(output).shape
                )));
            }
            if shape.first().is_some_and(|&n| n != 1)
                || resolved.first().is_some_and(|p| *p != [0, 0])
            {
                return Err(cx.unsupported("PAD of the batch dimension or of a batch > 1"));
            }
            Op::Pad { pads: resolved }
        }
        CONCATENATION => {
            let (axis, activation) = match options()? {
                Some(tflite::BuiltinOptionsRef::ConcatenationOptions(o)) => (
                    o.axis()?,
                    decode_fused(&cx.at, o.fused_activation_function()?)?,
                ),
                _ => return Err(wrong_options()),
            };
            if activation != Fused::None {
                return Err(cx.unsupported("CONCATENATION with a fused activation"));
            }
            let out_shape = cx.tensor(output).shape.clone();
            let rank = out_shape.len() as i32;
            let axis = if axis < 0 { axis + rank } else { axis };
            if !(0..rank).contains(&axis) {
                return Err(cx.err(format!("axis {axis} of a rank-{rank} output")));
            }
            let axis = axis as usize;
            if inputs.is_empty() {
                return Err(cx.err("no inputs"));
            }
            let mut sum = 0;
            for i in 0..inputs.len() {
                let t = cx.activation(inputs, i)?;
                let s = &cx.tensor(t).shape;
                if s.len() != out_shape.len()
                    || s.iter()
                        .zip(&out_shape)
                        .enumerate()
                        .any(|(d, (a, b))| d != axis && a != b)
                {
                    return Err(cx.err(format!(
                        "input {i} shape {s:?} does not concatenate into {out_shape:?} along {axis}"
                    )));
                }
                sum += s[axis];
                cx.same_quant(t, output)?;
            }
            if sum != out_shape[axis] {
                return Err(cx.err(format!(
                    "inputs sum to {sum} along axis {axis}, the output has {}",
                    out_shape[axis]
                )));
            }
            Op::Concatenation {
                axis,
                outer: out_shape[..axis].iter().product(),
                activation,
            }
        }
        RESHAPE | SQUEEZE | EXPAND_DIMS => {
            let input = cx.activation(inputs, 0)?;
            cx.same_len(input, output)?;
            cx.same_quant(input, output)?;
            Op::Reshape
        }
        _ => {
            return Err(Error::UnsupportedOp {
                operator: raw.index,
                op: name,
            });
        }
    };

    // Activation inputs have the model's type and (int8) a per-tensor quantization.
    for (i, t) in inputs.iter().enumerate() {
        let Some(t) = *t else { continue };
        let tensor = model.tensor(t);
        if tensor.is_constant() {
            continue;
        }
        if tensor.dtype != want {
            return Err(cx.unsupported(format!(
                "input {i} (tensor {t}) is {} in a {want} model",
                tensor.dtype
            )));
        }
        if model.precision == Precision::I8 && tensor.per_tensor().is_none() {
            return Err(cx.err(format!(
                "int8 tensor {t} without a per-tensor scale and zero point"
            )));
        }
        if let Some((_, z)) = tensor.per_tensor()
            && !(-128..=127).contains(&z)
        {
            return Err(cx.err(format!("tensor {t}: zero point {z} outside int8")));
        }
    }
    let _ = raw.code.version;
    Ok(Operator {
        index: raw.index,
        tflite_name: name,
        op,
        inputs: inputs.clone(),
        output,
    })
}

/// Graph-level checks: operators run in order (every activation input is written before it is
/// read), the model's output is written, no tensor is written twice.
fn check_graph(model: &Model) -> Result<(), Error> {
    let mut written = vec![false; model.tensors.len()];
    written[model.input] = true;
    for op in &model.operators {
        for (i, t) in op.inputs.iter().enumerate() {
            if let Some(t) = *t
                && !model.tensor(t).is_constant()
                && !written[t]
            {
                return Err(Error::malformed(format!(
                    "operator {} ({}): input {i} (tensor {t}) is read before any operator writes it",
                    op.index, op.tflite_name
                )));
            }
        }
        if written[op.output] {
            return Err(Error::malformed(format!(
                "operator {} ({}): tensor {} is written twice",
                op.index, op.tflite_name, op.output
            )));
        }
        written[op.output] = true;
    }
    if !written[model.output] {
        return Err(Error::malformed(format!(
            "no operator writes the output tensor {}",
            model.output
        )));
    }
    if model.operators.is_empty() {
        return Err(Error::unsupported("a model without operators"));
    }
    let (input, output) = (model.tensor(model.input), model.tensor(model.output));
    if model.precision == Precision::I8
        && (input.per_tensor().is_none() || output.per_tensor().is_none())
    {
        return Err(Error::malformed(
            "int8 input or output without a scale and zero point",
        ));
    }
    if output.dtype != input.dtype {
        return Err(Error::unsupported(format!(
            "input {} and output {}",
            input.dtype, output.dtype
        )));
    }
    Ok(())
}
