//! The generated `ds_cnn` model (tools/tflite/models/ds_cnn.tflite) against TensorFlow Lite
//! Micro's outputs (`ds_cnn.golden`), with instructions per inference and peak stack.
#![no_std]
#![no_main]

#[macro_use]
#[path = "../common.rs"]
mod common;

firmware!(ds_cnn);
