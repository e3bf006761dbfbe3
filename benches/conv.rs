//! The three convolution algorithms side by side on LeNet's layers and a 3×3 layer, in MAC/s.
//!
//! `cargo bench --bench conv` (AVX2 + FMA through `.cargo/config.toml`).

mod common;

use common::cputime::ThreadCpuTime;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tinyconv::conv::{direct, im2col, reference};
use tinyconv::{Activation, Conv2dGeometry, Padding};

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

fn layers() -> Vec<(&'static str, Conv2dGeometry)> {
    vec![
        (
            "lenet_conv1_28x28x1_6_5x5_p2",
            Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2)),
        ),
        (
            "lenet_conv2_14x14x6_16_5x5",
            Conv2dGeometry::new([14, 14, 6], 16, [5, 5]),
        ),
        (
            "3x3_32x32x16_32_p1",
            Conv2dGeometry::new([32, 32, 16], 32, [3, 3]).with_padding(Padding::uniform(1)),
        ),
    ]
}

fn conv_f32(c: &mut Criterion<ThreadCpuTime>) {
    for (name, g) in layers() {
        let d = g.dims().unwrap();
        let macs = (d.output_len * d.patch_len) as u64;
        let x = data(d.input_len, 1);
        let w = data(d.weights_len, 2);
        let b = data(g.out_c, 3);
        let mut y = vec![0.0f32; d.output_len];
        let mut scratch = vec![0.0f32; im2col::scratch_len(&g, 32)];
        let mut group = c.benchmark_group(format!("conv_f32/{name}"));
        group.throughput(Throughput::Elements(macs));
        let act = Activation::Identity;
        group.bench_function(BenchmarkId::from_parameter("reference"), |bch| {
            bch.iter(|| reference::conv2d_f32(&g, black_box(&x), &w, Some(&b), act, &mut y))
        });
        group.bench_function(BenchmarkId::from_parameter("im2col"), |bch| {
            bch.iter(|| {
                im2col::conv2d_f32(&g, black_box(&x), &w, Some(&b), act, &mut scratch, &mut y)
            })
        });
        group.bench_function(BenchmarkId::from_parameter("direct"), |bch| {
            bch.iter(|| direct::conv2d_f32(&g, black_box(&x), &w, Some(&b), act, &mut y))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = peak, conv_f32
}
criterion_main!(benches);

/// The machine's f32 FMA throughput and clock, measured in the same run as the kernels.
fn peak(c: &mut Criterion<ThreadCpuTime>) {
    use wide::f32x8;
    const N: usize = 100_000;
    let mut group = c.benchmark_group("machine");
    // 12 independent accumulator chains: enough to keep both FMA ports busy.
    group.throughput(Throughput::Elements((N * 12 * 8) as u64));
    group.bench_function("fma_peak_f32x8", |bch| {
        bch.iter(|| {
            let a = black_box(f32x8::splat(0.999_999));
            let b = black_box(f32x8::splat(1e-7));
            let mut acc = [f32x8::splat(1.0); 12];
            for _ in 0..N {
                for v in acc.iter_mut() {
                    *v = v.mul_add(a, b);
                }
            }
            black_box(acc)
        })
    });
    // One dependent chain: N FMA latencies (4 cycles each on Zen 4 and Golden Cove).
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("fma_latency_chain", |bch| {
        bch.iter(|| {
            let a = black_box(f32x8::splat(0.999_999));
            let b = black_box(f32x8::splat(1e-7));
            let mut acc = f32x8::splat(1.0);
            for _ in 0..N {
                acc = acc.mul_add(a, b);
            }
            black_box(acc)
        })
    });
    group.finish();
}
