//! The layers of issue 11 beside their references: depthwise convolution (every kernel, f32 and
//! int8) on realistic shapes, and the element-wise / reduction / shape ops.
//!
//! `cargo bench --bench ops` (AVX2 + FMA through `.cargo/config.toml`); `-- --test` runs each
//! once. Groups (criterion ids `<group>/<function>`):
//! - `depthwise/<layer>`: `f32-reference`, `f32-simd`, `f32-scalar`, `i8-reference`, `i8-simd`,
//!   `i8-scalar` on DS-CNN's 3×3 over 25×5×64 (SAME) and a MobileNet-style 3×3 stride 2 over
//!   32×32×32 (SAME); throughput = MACs (`out_h · out_w · out_c · kh · kw`).
//!
//! Time is the benchmark thread's CPU time, as in `benches/conv.rs`.
//! `TINYCONV_BENCH_QUICK=1` shortens warm-up and measurement.

mod common;

use common::cputime::ThreadCpuTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tinyconv::depthwise::{DepthwiseF32Kernel, DepthwiseI8Kernel};
use tinyconv::quant::{LayerParamsI8, QuantizedMultiplier, quantize_multiplier};
use tinyconv::{Activation, Conv2dGeometry};

type Group<'a> = BenchmarkGroup<'a, ThreadCpuTime>;

fn configure(group: &mut Group<'_>) {
    if std::env::var("TINYCONV_BENCH_QUICK").is_ok_and(|v| v == "1") {
        group.warm_up_time(Duration::from_millis(300));
        group.measurement_time(Duration::from_millis(1200));
        group.sample_size(10);
    } else {
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        group.sample_size(30);
    }
}

/// Deterministic data in [-0.5, 0.5) (xorshift).
fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1 << 24) as f32 - 0.5
        })
        .collect()
}

/// Deterministic int8 data over `[lo, 127]`.
fn data_i8(n: usize, seed: u32, lo: i8) -> Vec<i8> {
    data(n, seed)
        .iter()
        .map(|v| ((v + 0.5) * 256.0 - 128.0).clamp(f32::from(lo), 127.0) as i8)
        .collect()
}

fn depthwise_layers() -> Vec<(&'static str, Conv2dGeometry)> {
    vec![
        (
            "ds_cnn_3x3_25x5x64_same",
            Conv2dGeometry::depthwise([25, 5, 64], 1, [3, 3]).with_same_padding(),
        ),
        (
            "mobilenet_3x3_s2_32x32x32_same",
            Conv2dGeometry::depthwise([32, 32, 32], 1, [3, 3])
                .with_stride([2, 2])
                .with_same_padding(),
        ),
    ]
}

fn depthwise(c: &mut Criterion<ThreadCpuTime>) {
    for (name, g) in depthwise_layers() {
        let d = g.depthwise_dims().expect("valid layer");
        let macs = (d.output_len * d.taps) as u64;
        let mut group = c.benchmark_group(format!("depthwise/{name}"));
        configure(&mut group);
        group.throughput(Throughput::Elements(macs));

        let x = data(d.input_len, 1);
        let w = data(d.weights_len, 2);
        let b = data(g.out_c, 3);
        let mut y = vec![0.0f32; d.output_len];
        for k in DepthwiseF32Kernel::ALL {
            let mut packed = vec![0.0; w.len()];
            k.pack(&g, &w, &mut packed).expect("valid layer");
            group.bench_function(format!("f32-{}", k.name()), |bch| {
                bch.iter(|| {
                    k.run(
                        &g,
                        black_box(&x),
                        &packed,
                        Some(&b),
                        Activation::Relu,
                        &mut [],
                        &mut y,
                    )
                    .unwrap()
                })
            });
        }

        let xq = data_i8(d.input_len, 4, -128);
        let wq = data_i8(d.weights_len, 5, -127);
        let multipliers: Vec<QuantizedMultiplier> = (0..g.out_c)
            .map(|o| quantize_multiplier(1.0 / (200.0 + o as f64)).expect("valid scale"))
            .collect();
        let bias: Vec<i32> = (0..g.out_c).map(|o| (o as i32 - 8) * 100).collect();
        let p = LayerParamsI8::new(-3, 5, &multipliers, Some(&bias));
        let mut yq = vec![0i8; d.output_len];
        for k in DepthwiseI8Kernel::ALL {
            let mut packed = vec![0i8; wq.len()];
            k.pack(&g, &wq, &mut packed).expect("valid layer");
            group.bench_function(format!("i8-{}", k.name()), |bch| {
                bch.iter(|| {
                    k.run(&g, black_box(&xq), &packed, &p, &mut [], &mut yq)
                        .unwrap()
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = depthwise
}

criterion_main!(benches);
