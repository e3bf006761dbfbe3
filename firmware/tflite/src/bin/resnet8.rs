//! The generated `resnet8` model (tools/tflite/models/resnet8.tflite) against TensorFlow Lite
//! Micro's outputs (`resnet8.golden`), with instructions per inference and peak stack.
#![no_std]
#![no_main]

#[macro_use]
#[path = "../common.rs"]
mod common;

firmware!(resnet8);
