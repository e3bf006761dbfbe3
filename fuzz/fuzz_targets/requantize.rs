//! Fuzz target `requantize`: see [`tinyconv_fuzz::checks::requantize`] for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tinyconv_fuzz::checks::requantize(data));
