//! Fuzz target `tflite_parse`: see [`tinyconv_fuzz::tflite::tflite_parse`] for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tinyconv_fuzz::tflite::tflite_parse(data));
