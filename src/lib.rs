//! # tinyconv
//!
//! CNN inference kernels for microcontrollers and desktops: 2-D convolution, pooling, dense
//! layers and activations over fixed-size arrays, in f32 and (TensorFlow Lite-exact) int8.
//! `no_std`, no `alloc`, no `unsafe`.
//!
//! ## Design: a runtime-shape core under a typed shell
//!
//! Every kernel is a function over slices and a geometry value ([`Conv2dGeometry`],
//! [`Pool2dGeometry`]) that validates itself and returns an [`Error`] for any inconsistency —
//! never a panic. This is how proptest and the fuzzers reach arbitrary shapes, and how a user with
//! a shape known only at run time calls the kernels.
//!
//! The typed API is a thin shell over that core: layers such as [`Conv2d`], [`Pool2d`] and
//! [`Dense`] carry their shape in const generics and take tensors that are plain nested arrays
//! ([`Tensor`]: `[[[T; C]; W]; H]`, channels-last). A `const { assert!(..) }` in `forward` checks
//! that the output shape follows from the input shape, kernel, stride, padding and dilation, so a
//! wrong shape fails `cargo build`; the slices are then handed to the core, whose checks cannot
//! fail. Stable Rust cannot compute an array length from const parameters, so output sizes are
//! const parameters of their own, checked rather than derived.
//!
//! ## Three algorithms, one meaning, one kernel per layer
//!
//! | module | algorithm |
//! |---|---|
//! | [`conv::reference`] | naive loops from the formula, generic over the element type: the oracle |
//! | [`conv::im2col`] | im2col over tiles of output pixels into caller-sized scratch, then a SIMD GEMM |
//! | [`conv::direct`] | direct SIMD convolution, no buffer, interior/border split |
//!
//! Each op family names its kernels in an enum ([`Conv2dF32Kernel`], [`Conv2dI8Kernel`],
//! [`DenseF32Kernel`], [`DenseI8Kernel`], [`Pool2dKernel`]) whose `select` picks the fastest for
//! a layer's shape on the target, as CMSIS-NN's `arm_convolve_wrapper_s8` does; scratch sizes and
//! weight packing are `const fn`s of the kernel and the shape, so weights are laid out for their
//! kernel at compile time. Models take a plan that names a kernel per layer
//! (`models::Auto` picks with `select`). Every optimised kernel is checked against the
//! reference by proptest.
//!
//! SIMD comes from [`wide`], which selects its instructions at compile time from the target
//! features (`-C target-cpu=x86-64-v3` for AVX2 + FMA; scalar code on Cortex-M0).
//!
//! ## The other layers
//!
//! | module | ops |
//! |---|---|
//! | [`depthwise`] | depthwise convolution: reference, SIMD and scalar (Cortex-M) kernels, [`depthwise::DepthwiseConv2d`] |
//! | [`conv::conv1d`] | 1-D convolution over `[W][C]` on the 2-D kernels |
//! | [`elementwise`] | ADD (int8: TFLite's rescaling to a common scale) |
//! | [`reduce`] | MEAN over H, W (global average pooling) |
//! | [`activation`] | int8 LOGISTIC, TANH, SOFTMAX as TFLite's integer kernels; RELU/RELU6 |
//! | [`shape`] | PAD, CONCATENATION, RESHAPE / flatten |
//! | [`batchnorm`] | folding batch norm into f32 filters, at compile time |
//!
//! Every int8 op is bit-exact with TensorFlow Lite Micro's interpreter on golden data
//! (`tests/op_goldens.rs`, made by `tools/tflite/scripts/make_op_goldens.py`).
//!
//! ## Layouts
//! Activations `[H][W][C]`; convolution filters `[C_out][KH][KW][C_in]` (TFLite, CMSIS-NN);
//! dense weights `[out][in]` (PyTorch).
//!
//! ## Example
//! ```
//! use tinyconv::{Conv2d, Conv2dF32Kernel, Tensor};
//! use tinyconv::{conv::PackedFilters, error::const_expect};
//! // Edge detection from the chapter: the kernel [1, −1] marks where a row changes value.
//! type Edge = Conv2d<'static, 1, 1, 1, 2>;
//! static K: [[[[f32; 1]; 2]; 1]; 1] = [[[[1.0], [-1.0]]]];
//! static PK: PackedFilters<Conv2dF32Kernel, f32, 1, 1, 2, 1> =
//!     const_expect(Edge::pack(Conv2dF32Kernel::Direct, &K), "pack");
//! static B: [f32; 1] = [0.0];
//! let mut x: Tensor<f32, 1, 8, 1> = [[[1.0]; 8]];
//! for c in 2..6 { x[0][c] = [0.0]; }
//! let mut y: Tensor<f32, 1, 7, 1> = Default::default();
//! Edge::new(&PK, &B).forward(&x, &mut y, &mut [])?;
//! assert_eq!(y[0].map(|p| p[0]), [0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0]);
//! # Ok::<(), tinyconv::Error>(())
//! ```
#![cfg_attr(not(test), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod activation;
pub mod batchnorm;
pub mod conv;
pub mod dense;
pub mod depthwise;
pub mod elementwise;
pub mod error;
pub mod geometry;
#[cfg(feature = "models")]
#[cfg_attr(docsrs, doc(cfg(feature = "models")))]
pub mod models;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod shape;
pub mod tensor;

mod gemm;

pub use activation::{Activation, argmax, argmax_i8, softmax, top_k};
pub use conv::{Conv2d, Conv2dF32Kernel, Conv2dI8, Conv2dI8Kernel, ConvStats};
pub use dense::{Dense, DenseF32Kernel, DenseI8, DenseI8Kernel};
pub use error::Error;
pub use geometry::{AvgPoolDivisor, Conv2dGeometry, Padding, Pool2dGeometry};
pub use pool::{Pool2d, Pool2dKernel};
pub use tensor::{Filters, Tensor};
