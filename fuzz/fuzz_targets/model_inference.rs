//! Fuzz target `model_inference`: see [`tinyconv_fuzz::checks::model_inference`] for what it
//! checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tinyconv_fuzz::checks::model_inference(data));
