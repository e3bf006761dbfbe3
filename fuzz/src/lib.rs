//! tinyconv's fuzz targets share their checks with the regression test
//! (`tests/fuzz_regressions.rs`), which includes [`checks`] by path.
pub mod checks;
/// Checks of the `.tflite` importer's targets (replayed by `tools/tflite/tests/fuzz_regressions.rs`).
pub mod tflite;
