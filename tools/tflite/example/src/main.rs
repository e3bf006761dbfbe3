//! A `.tflite` model run with tinyconv: `build.rs` generates the module from
//! `tools/tflite/models/lenet5_modern.tflite` (LeNet-5 converted to int8 by TensorFlow Lite),
//! this program classifies the shipped 1,000 Fashion-MNIST test images with it.
//!
//! ```text
//! cargo run --release -p tinyconv-tflite-example
//! ```

/// The generated module: `Model`, `Model::INPUT_LEN`, `Model::run`, ...
mod model {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

use model::Model;
use tinyconv::quant::{QuantParams, quantize};

fn main() {
    let data = tinyconv_data::shipped_subset();
    // The input quantization the converter chose (here 1/255 and −128: q = pixel − 128).
    let input_params = QuantParams::new(Model::INPUT_SCALE, i32::from(Model::INPUT_ZERO_POINT))
        .expect("the generated scale and zero point are valid");

    let mut model = Model::new();
    let mut input = [0i8; Model::INPUT_LEN];
    let mut output = [0i8; Model::OUTPUT_LEN];
    let mut correct = 0;
    for (image, &label) in data.images.iter().zip(&data.labels) {
        for (q, &pixel) in input.iter_mut().zip(image.iter()) {
            *q = quantize(f32::from(pixel) / 255.0, input_params);
        }
        model.run(&input, &mut output);
        // The class with the largest logit (int8 logits order like the real ones; ties: first).
        let class = tinyconv::argmax_i8(&output).unwrap_or(0);
        correct += usize::from(class == usize::from(label));
    }
    println!(
        "lenet5_modern.tflite: {correct} of {} images correct ({:.1} %); model RAM {} bytes, weights {} bytes, {} MACs per image",
        data.images.len(),
        100.0 * correct as f64 / data.images.len() as f64,
        Model::RAM_BYTES,
        Model::WEIGHT_BYTES,
        Model::MACS,
    );
}
