//! Fuzz target `pool2d`: see [`tinyconv_fuzz::checks::pool2d`] for what it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tinyconv_fuzz::checks::pool2d(data));
