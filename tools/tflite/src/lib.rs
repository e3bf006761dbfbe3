//! # tinyconv-tflite
//!
//! Host-side importer of TensorFlow Lite models for tinyconv (std; not a dependency of the
//! `no_std` library).
//!
//! * [`golden`]: reader of the golden files that `scripts/make_models.py` writes from TensorFlow
//!   Lite Micro's interpreter (the oracle the generated code is tested against).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod golden;
