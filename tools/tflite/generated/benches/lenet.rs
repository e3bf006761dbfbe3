//! LeNet-5 generated from its `.tflite` against the hand-written `models::lenet5`, one image per
//! iteration, thread CPU time (criterion ids `lenet5-modern-<precision>/<model>`).
//!
//! `cargo bench -p tinyconv-tflite-generated --bench lenet` (`TINYCONV_BENCH_QUICK=1` for a short
//! run). The generated int8 model takes the image already quantized; its row includes that
//! quantization (`pixel − 128`, the model's input scale 1/255 and zero point −128), as the
//! hand-written model quantizes inside `logits_u8`.

#[path = "../../../../benches/common/cputime.rs"]
mod cputime;

use cputime::ThreadCpuTime;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tinyconv::models::lenet5::{self, Lenet5F32, Lenet5I8};
use tinyconv::models::{Auto, Direct, Im2col};
use tinyconv_tflite_generated::{lenet5_modern, lenet5_modern_f32};

fn quick() -> bool {
    std::env::var("TINYCONV_BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let data = tinyconv_data::shipped_subset();
    let pixels: [u8; 784] = data.images[0];
    let (warm, measure) = if quick() { (300, 1500) } else { (1000, 4000) };

    let mut group = c.benchmark_group("lenet5-modern-i8");
    group
        .warm_up_time(Duration::from_millis(warm))
        .measurement_time(Duration::from_millis(measure));
    let mut generated = lenet5_modern::Model::new();
    let mut out = [0i8; 10];
    group.bench_function("generated", |b| {
        b.iter(|| {
            let input: [i8; 784] = black_box(&pixels).map(|p| (i16::from(p) - 128) as i8);
            generated.run(&input, &mut out);
            out
        })
    });
    let mut m = Lenet5I8::new(lenet5::modern_i8::<Direct>());
    group.bench_function("handwritten-direct", |b| {
        b.iter(|| m.logits_u8(black_box(&pixels)).unwrap())
    });
    let mut m = Lenet5I8::new(lenet5::modern_i8::<Im2col>());
    group.bench_function("handwritten-im2col", |b| {
        b.iter(|| m.logits_u8(black_box(&pixels)).unwrap())
    });
    let mut m = Lenet5I8::new(lenet5::modern_i8::<Auto>());
    group.bench_function("handwritten-auto", |b| {
        b.iter(|| m.logits_u8(black_box(&pixels)).unwrap())
    });
    group.finish();

    let image = lenet5::image_from_u8(&pixels);
    let flat: [f32; 784] = pixels.map(|p| f32::from(p) / 255.0);
    let mut group = c.benchmark_group("lenet5-modern-f32");
    group
        .warm_up_time(Duration::from_millis(warm))
        .measurement_time(Duration::from_millis(measure));
    let mut generated = lenet5_modern_f32::Model::new();
    let mut out = [0f32; 10];
    group.bench_function("generated", |b| {
        b.iter(|| {
            generated.run(black_box(&flat), &mut out);
            out
        })
    });
    let mut m = Lenet5F32::new(lenet5::modern_f32::<Direct>());
    group.bench_function("handwritten-direct", |b| {
        b.iter(|| m.logits(black_box(&image)).unwrap())
    });
    let mut m = Lenet5F32::new(lenet5::modern_f32::<Im2col>());
    group.bench_function("handwritten-im2col", |b| {
        b.iter(|| m.logits(black_box(&image)).unwrap())
    });
    let mut m = Lenet5F32::new(lenet5::modern_f32::<Auto>());
    group.bench_function("handwritten-auto", |b| {
        b.iter(|| m.logits(black_box(&image)).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = bench
}
criterion_main!(benches);
