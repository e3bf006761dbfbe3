//! Fuzz target `conv2d_f32`: see [`tinyconv_fuzz::checks::conv2d_f32`] for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tinyconv_fuzz::checks::conv2d_f32(data));
