//! The generated `lenet5_modern` model (tools/tflite/models/lenet5_modern.tflite) against TensorFlow Lite
//! Micro's outputs (`lenet5_modern.golden`), with instructions per inference and peak stack.
#![no_std]
#![no_main]

#[macro_use]
#[path = "../common.rs"]
mod common;

firmware!(lenet5_modern);
