//! The validated model: what [`parse`](crate::parse) makes of a `.tflite` file.
//!
//! Every operator's inputs and outputs exist, have the element type and quantization the
//! operator needs, and the output shape follows from the inputs and options. Shapes are NHWC
//! (TFLite's); a leading batch dimension is always 1.

use std::fmt;

/// Element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// `f32` (TFLite `FLOAT32`).
    F32,
    /// `i8` (TFLite `INT8`).
    I8,
    /// `i32` (TFLite `INT32`: biases, shapes, axes).
    I32,
    /// `i64` (TFLite `INT64`: paddings, axes of some converters).
    I64,
}

impl DType {
    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::F32 | DType::I32 => 4,
            DType::I64 => 8,
        }
    }

    /// TFLite's name.
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "FLOAT32",
            DType::I8 => "INT8",
            DType::I32 => "INT32",
            DType::I64 => "INT64",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Quantization of a tensor: `real = scale · (q − zero_point)`, one pair for the whole tensor
/// or one per index of dimension `axis` (per-channel weights).
#[derive(Clone, Debug, PartialEq)]
pub struct Quant {
    /// Scales (finite, `> 0`).
    pub scale: Vec<f32>,
    /// Zero points, as many as scales.
    pub zero_point: Vec<i64>,
    /// The dimension the scales run along when there are several.
    pub axis: usize,
}

impl Quant {
    /// `(scale, zero_point)` of a per-tensor quantization.
    pub fn per_tensor(&self) -> Option<(f32, i32)> {
        match (self.scale.as_slice(), self.zero_point.as_slice()) {
            ([s], [z]) => Some((*s, i32::try_from(*z).ok()?)),
            _ => None,
        }
    }
}

/// Contents of a constant tensor, decoded from its little-endian buffer.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// `f32` values.
    F32(Vec<f32>),
    /// `i8` values.
    I8(Vec<i8>),
    /// `i32` values.
    I32(Vec<i32>),
    /// `i64` values.
    I64(Vec<i64>),
}

impl Data {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::I8(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Integer contents (`I32` or `I64`) as `i64`.
    pub fn as_i64(&self) -> Option<Vec<i64>> {
        match self {
            Data::I32(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            Data::I64(v) => Some(v.clone()),
            _ => None,
        }
    }
}

/// A tensor of the model's (only) subgraph.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Index in the subgraph's tensor list.
    pub index: usize,
    /// Name given by the converter.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Shape (NHWC for feature maps), every dimension known.
    pub shape: Vec<usize>,
    /// Quantization, if any.
    pub quant: Option<Quant>,
    /// Contents of a constant tensor (weights, biases, shapes); `None` for activations.
    pub data: Option<Data>,
}

impl Tensor {
    /// Number of elements (the product of the shape; 1 for a scalar).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Size in bytes.
    pub fn bytes(&self) -> usize {
        self.len() * self.dtype.size()
    }

    /// Whether this is a constant (has data).
    pub fn is_constant(&self) -> bool {
        self.data.is_some()
    }

    /// Per-tensor `(scale, zero_point)`, if the tensor has one.
    pub fn per_tensor(&self) -> Option<(f32, i32)> {
        self.quant.as_ref().and_then(Quant::per_tensor)
    }
}

/// Fused activation of an operator (TFLite's `ActivationFunctionType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fused {
    /// No activation.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `clamp(x, -1, 1)`.
    ReluN1To1,
    /// `clamp(x, 0, 6)`.
    Relu6,
}

impl Fused {
    /// TFLite's name.
    pub const fn name(self) -> &'static str {
        match self {
            Fused::None => "NONE",
            Fused::Relu => "RELU",
            Fused::ReluN1To1 => "RELU_N1_TO_1",
            Fused::Relu6 => "RELU6",
        }
    }
}

/// TFLite's padding scheme of a convolution or pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// `out = ceil(in / stride)`, the missing rows/columns split with the extra one at the
    /// bottom/right.
    Same,
    /// No padding: `out = ceil((in − (k − 1)·dilation) / stride)`.
    Valid,
}

/// Explicit padding of a 2-D window op, resolved from [`Padding`] and the shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Pads {
    /// Rows above.
    pub top: usize,
    /// Rows below.
    pub bottom: usize,
    /// Columns on the left.
    pub left: usize,
    /// Columns on the right.
    pub right: usize,
}

/// A 2-D window: kernel or pool size, stride, dilation and padding, over an `[H, W, C]` input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// Input `[H, W, C]`.
    pub input: [usize; 3],
    /// Output `[H, W, C]`.
    pub output: [usize; 3],
    /// Kernel (or pool window) `[KH, KW]`.
    pub kernel: [usize; 2],
    /// Stride `[H, W]`.
    pub stride: [usize; 2],
    /// Dilation `[H, W]` (1 for pooling).
    pub dilation: [usize; 2],
    /// The padding scheme as stored.
    pub padding: Padding,
    /// The padding it resolves to.
    pub pads: Pads,
}

/// What an operator computes, with its options resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `CONV_2D`: inputs `[input, filter [C_out][KH][KW][C_in], bias?]`.
    Conv2d {
        /// Geometry.
        window: Window,
        /// Fused activation.
        activation: Fused,
    },
    /// `DEPTHWISE_CONV_2D`: inputs `[input, filter [1][KH][KW][C_in·M], bias?]`; output channel
    /// `c·M + m` reads input channel `c`.
    DepthwiseConv2d {
        /// Geometry (`output[2] = input[2] · multiplier`).
        window: Window,
        /// Depth multiplier `M`.
        multiplier: usize,
        /// Fused activation.
        activation: Fused,
    },
    /// `FULLY_CONNECTED`: inputs `[input, weights [out][in], bias?]`.
    FullyConnected {
        /// Input features.
        input: usize,
        /// Output features.
        output: usize,
        /// Fused activation.
        activation: Fused,
    },
    /// `MAX_POOL_2D`.
    MaxPool2d {
        /// Geometry.
        window: Window,
        /// Fused activation.
        activation: Fused,
    },
    /// `AVERAGE_POOL_2D` (padded cells are not counted).
    AvgPool2d {
        /// Geometry.
        window: Window,
        /// Fused activation.
        activation: Fused,
    },
    /// `ADD` of two tensors of the same shape.
    Add {
        /// Fused activation.
        activation: Fused,
    },
    /// `MEAN` over contiguous axes: the input seen as `[outer][reduce][inner]`, the output as
    /// `[outer][inner]`.
    Mean {
        /// Product of the dimensions before the reduced ones.
        outer: usize,
        /// Product of the reduced dimensions.
        reduce: usize,
        /// Product of the dimensions after them.
        inner: usize,
    },
    /// `SOFTMAX` along the last dimension.
    Softmax {
        /// `softmax(beta · x)`.
        beta: f32,
        /// Length of the last dimension.
        depth: usize,
    },
    /// `LOGISTIC` (sigmoid), elementwise.
    Logistic,
    /// `TANH`, elementwise.
    Tanh,
    /// `RELU`, elementwise.
    Relu,
    /// `RELU6`, elementwise.
    Relu6,
    /// `PAD` (with zero, i.e. the zero point for int8) of a 4-D NHWC tensor: `[before, after]`
    /// per dimension.
    Pad {
        /// Padding of each dimension.
        pads: Vec<[usize; 2]>,
    },
    /// `CONCATENATION` along `axis`: the inputs seen as `[outer][input's axis · inner]`.
    Concatenation {
        /// Axis (non-negative).
        axis: usize,
        /// Product of the dimensions before the axis.
        outer: usize,
        /// Fused activation.
        activation: Fused,
    },
    /// `RESHAPE`, `SQUEEZE`, `EXPAND_DIMS`: the same bytes under another shape.
    Reshape,
}

impl Op {
    /// TFLite's name of the operator.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv2d { .. } => "CONV_2D",
            Op::DepthwiseConv2d { .. } => "DEPTHWISE_CONV_2D",
            Op::FullyConnected { .. } => "FULLY_CONNECTED",
            Op::MaxPool2d { .. } => "MAX_POOL_2D",
            Op::AvgPool2d { .. } => "AVERAGE_POOL_2D",
            Op::Add { .. } => "ADD",
            Op::Mean { .. } => "MEAN",
            Op::Softmax { .. } => "SOFTMAX",
            Op::Logistic => "LOGISTIC",
            Op::Tanh => "TANH",
            Op::Relu => "RELU",
            Op::Relu6 => "RELU6",
            Op::Pad { .. } => "PAD",
            Op::Concatenation { .. } => "CONCATENATION",
            Op::Reshape => "RESHAPE",
        }
    }
}

/// One operator of the subgraph, in execution order.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    /// Index in execution order.
    pub index: usize,
    /// TFLite's operator name as stored (`SQUEEZE` stays `SQUEEZE` here, `Op::Reshape` in `op`).
    pub tflite_name: String,
    /// What it computes.
    pub op: Op,
    /// Input tensors (`None`: an absent optional input, such as a missing bias).
    pub inputs: Vec<Option<usize>>,
    /// Output tensor.
    pub output: usize,
}

impl Operator {
    /// The `i`-th input tensor index, if present.
    pub fn input(&self, i: usize) -> Option<usize> {
        self.inputs.get(i).copied().flatten()
    }
}

/// Whether a model computes in int8 or in f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// int8 activations and weights, int32 biases.
    I8,
    /// f32 throughout.
    F32,
}

/// A validated model: one subgraph, one input, one output.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// The model's description string.
    pub description: String,
    /// int8 or f32.
    pub precision: Precision,
    /// All tensors of the subgraph.
    pub tensors: Vec<Tensor>,
    /// Operators in execution order.
    pub operators: Vec<Operator>,
    /// The input tensor.
    pub input: usize,
    /// The output tensor.
    pub output: usize,
}

impl Model {
    /// The tensor with index `i`.
    ///
    /// # Panics
    /// If `i` is not a tensor index of this model (a validated model only refers to its own).
    pub fn tensor(&self, i: usize) -> &Tensor {
        &self.tensors[i]
    }

    /// Multiply-accumulates of operator `op` (0 for ops without products).
    pub fn macs(&self, op: &Operator) -> u64 {
        let out = self.tensor(op.output);
        let n = out.len() as u64;
        match &op.op {
            Op::Conv2d { window, .. } => {
                n * (window.kernel[0] * window.kernel[1] * window.input[2]) as u64
            }
            Op::DepthwiseConv2d { window, .. } => n * (window.kernel[0] * window.kernel[1]) as u64,
            Op::FullyConnected { input, output, .. } => (*input * *output) as u64,
            _ => 0,
        }
    }

    /// Bytes of constant data an operator reads (weights and biases).
    pub fn weight_bytes(&self, op: &Operator) -> usize {
        match op.op {
            Op::Conv2d { .. } | Op::DepthwiseConv2d { .. } | Op::FullyConnected { .. } => op
                .inputs
                .iter()
                .skip(1)
                .flatten()
                .map(|&t| self.tensor(t).bytes())
                .sum(),
            _ => 0,
        }
    }
}
