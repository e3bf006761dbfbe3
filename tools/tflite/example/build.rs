//! Turns the model into Rust at build time: `OUT_DIR/model.rs`, included by `src/main.rs`.
//! In your own crate, point this at your `.tflite` file.

fn main() {
    let tflite = "../models/lenet5_modern.tflite";
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("model.rs");
    if let Err(e) = tinyconv_tflite::generate_file(tflite, &out) {
        panic!("{tflite}: {e}");
    }
    println!("cargo::rerun-if-changed={tflite}");
}
