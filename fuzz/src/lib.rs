//! tinyconv's fuzz targets share their checks with the regression test
//! (`tests/fuzz_regressions.rs`), which includes [`checks`] by path.
pub mod checks;
