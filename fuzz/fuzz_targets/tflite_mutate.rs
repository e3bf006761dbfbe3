//! Fuzz target `tflite_mutate`: see [`tinyconv_fuzz::tflite::tflite_mutate`] for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tinyconv_fuzz::tflite::tflite_mutate(data));
