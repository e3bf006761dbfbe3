//! Runs one LeNet-5 implementation on the shipped Fashion-MNIST images `N` times, for counting
//! instructions with `perf stat -e instructions:u` (independent of the machine's load):
//!
//! ```text
//! cargo build --release -p tinyconv-tflite-generated --example lenet_loop
//! perf stat -e instructions:u target/release/examples/lenet_loop generated-i8 10000
//! perf stat -e instructions:u target/release/examples/lenet_loop handwritten-i8 10000
//! ```
//!
//! Implementations: `generated-i8`, `handwritten-i8` (`Auto` kernels), `generated-f32`,
//! `handwritten-f32`, and `none` (loading the images only, to subtract).

use std::hint::black_box;

use tinyconv::models::Auto;
use tinyconv::models::lenet5::{self, Lenet5F32, Lenet5I8};
use tinyconv_tflite_generated::{lenet5_modern, lenet5_modern_f32};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("generated-i8", String::as_str);
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let data = tinyconv_data::shipped_subset();
    let images = &data.images;
    let mut checksum = 0i64;
    match which {
        "generated-i8" => {
            let mut m = lenet5_modern::Model::new();
            let mut out = [0i8; 10];
            for i in 0..n {
                let input =
                    black_box(&images[i % images.len()]).map(|p| (i16::from(p) - 128) as i8);
                m.run(&input, &mut out);
                checksum += i64::from(out[0]);
            }
        }
        "handwritten-i8" => {
            let mut m = Lenet5I8::new(lenet5::modern_i8::<Auto>());
            for i in 0..n {
                let out = m.logits_u8(black_box(&images[i % images.len()])).unwrap();
                checksum += i64::from(out[0]);
            }
        }
        "generated-f32" => {
            let mut m = lenet5_modern_f32::Model::new();
            let mut out = [0f32; 10];
            for i in 0..n {
                let input = black_box(&images[i % images.len()]).map(|p| f32::from(p) / 255.0);
                m.run(&input, &mut out);
                checksum += out[0] as i64;
            }
        }
        "handwritten-f32" => {
            let mut m = Lenet5F32::new(lenet5::modern_f32::<Auto>());
            for i in 0..n {
                let image = lenet5::image_from_u8(black_box(&images[i % images.len()]));
                let out = m.logits(&image).unwrap();
                checksum += out[0] as i64;
            }
        }
        "none" => {
            for i in 0..n {
                checksum += i64::from(black_box(&images[i % images.len()])[0]);
            }
        }
        other => panic!("unknown implementation {other}"),
    }
    println!("{which} x {n}: checksum {checksum}");
}
