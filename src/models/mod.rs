//! Complete networks built from the crate's layers, with their weights shipped in the crate.
//!
//! [`lenet5`]: LeNet-5 of Dive into Deep Learning's "Convolutional Neural Networks" chapter,
//! trained on Fashion-MNIST, in f32 and int8, with the convolution algorithm chosen by a type
//! parameter.

pub mod blob;
pub mod lenet5;
