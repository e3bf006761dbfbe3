//! Complete networks built from the crate's layers, with their weights shipped in the crate.
//!
//! [`lenet5`]: LeNet-5 of Dive into Deep Learning's "Convolutional Neural Networks" chapter,
//! trained on Fashion-MNIST, in f32 and int8.
//!
//! ## Plans: one kernel per layer
//!
//! A model runs each layer with the kernel its *plan* names (CMSIS-NN's
//! `arm_convolve_wrapper_s8` idea, decided at compile time). The plan is a type parameter, so
//! a firmware links only the kernels its plan uses:
//!
//! | plan | every layer on |
//! |---|---|
//! | [`Auto`] | the kernel each family's `select` picks for that layer's shape on this target |
//! | [`Reference`] | the reference kernels (the oracle) |
//! | [`Im2col`] | im2col + GEMM convolutions, SIMD pooling and dense |
//! | [`Direct`] | direct convolutions, SIMD pooling and dense |
//!
//! A model's plan trait (e.g. [`lenet5::Lenet5Plan`]) can be implemented for a type of one's
//! own to name any other kernel per layer.

pub mod blob;
pub mod lenet5;

/// Every layer on the kernel its family's `select` picks for the layer's shape on the target
/// being compiled for (e.g. [`Conv2dI8Kernel::select`](crate::Conv2dI8Kernel::select)).
#[derive(Clone, Copy, Debug, Default)]
pub struct Auto;

/// Every layer on the reference kernels (the oracle).
#[derive(Clone, Copy, Debug, Default)]
pub struct Reference;

/// Convolutions by im2col + GEMM; pooling and dense layers on their SIMD kernels.
#[derive(Clone, Copy, Debug, Default)]
pub struct Im2col;

/// Direct convolutions (no im2col scratch); pooling and dense layers on their SIMD kernels.
#[derive(Clone, Copy, Debug, Default)]
pub struct Direct;

/// A model's scratch buffer: an array of a length the plan fixes at compile time.
pub trait Scratch<T>: Clone + core::fmt::Debug {
    /// The zeroed buffer (a `const`, so models can be built in `static`s).
    const ZERO: Self;
    /// Its elements.
    fn as_mut_slice(&mut self) -> &mut [T];
}

impl<const N: usize> Scratch<f32> for [f32; N] {
    const ZERO: Self = [0.0; N];
    fn as_mut_slice(&mut self) -> &mut [f32] {
        self
    }
}

impl<const N: usize> Scratch<i16> for [i16; N] {
    const ZERO: Self = [0; N];
    fn as_mut_slice(&mut self) -> &mut [i16] {
        self
    }
}
