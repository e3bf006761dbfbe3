//! The tinyconv-tflite test models as Rust modules, generated from `../models/*.tflite` by
//! `build.rs` (`tinyconv_tflite::generate_file`) each time the models change. `no_std`: the same
//! modules build for the microcontroller targets.
//!
//! Each module `NAME` exists when tinyconv has a kernel for every operator of the model
//! (`cfg(tinyconv_model_NAME)`); [`PENDING`] lists the others with the kernel they wait for.
#![no_std]
#![forbid(unsafe_code)]

include!(concat!(env!("OUT_DIR"), "/models.rs"));

/// LeNet-5 modern (trained), int8.
#[cfg(tinyconv_model_lenet5_modern)]
pub mod lenet5_modern {
    include!(concat!(env!("OUT_DIR"), "/lenet5_modern.rs"));
}

/// LeNet-5 classic (trained), int8.
#[cfg(tinyconv_model_lenet5_classic)]
pub mod lenet5_classic {
    include!(concat!(env!("OUT_DIR"), "/lenet5_classic.rs"));
}

/// LeNet-5 modern (trained), f32.
#[cfg(tinyconv_model_lenet5_modern_f32)]
pub mod lenet5_modern_f32 {
    include!(concat!(env!("OUT_DIR"), "/lenet5_modern_f32.rs"));
}

/// MLPerf Tiny DS-CNN (keyword spotting), int8.
#[cfg(tinyconv_model_ds_cnn)]
pub mod ds_cnn {
    include!(concat!(env!("OUT_DIR"), "/ds_cnn.rs"));
}

/// MLPerf Tiny ResNet-8 (image classification), int8.
#[cfg(tinyconv_model_resnet8)]
pub mod resnet8 {
    include!(concat!(env!("OUT_DIR"), "/resnet8.rs"));
}

/// MobileNetV1-style net, int8.
#[cfg(tinyconv_model_mobilenet_v1)]
pub mod mobilenet_v1 {
    include!(concat!(env!("OUT_DIR"), "/mobilenet_v1.rs"));
}

/// Conv1D time-series model, int8.
#[cfg(tinyconv_model_conv1d)]
pub mod conv1d {
    include!(concat!(env!("OUT_DIR"), "/conv1d.rs"));
}

/// Small f32 model (depthwise, ADD, softmax).
#[cfg(tinyconv_model_small_f32)]
pub mod small_f32 {
    include!(concat!(env!("OUT_DIR"), "/small_f32.rs"));
}
