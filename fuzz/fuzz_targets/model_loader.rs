//! Fuzz target `model_loader`: see [`tinyconv_fuzz::checks::model_loader`] for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tinyconv_fuzz::checks::model_loader(data));
