//! The layers of issue 11 beside their references: depthwise convolution (every kernel, f32 and
//! int8) on realistic shapes, and the element-wise / reduction / shape ops.
//!
//! `cargo bench --bench ops` (AVX2 + FMA through `.cargo/config.toml`); `-- --test` runs each
//! once. Groups (criterion ids `<group>/<function>`):
//! - `depthwise/<layer>`: `f32-reference`, `f32-simd`, `f32-scalar`, `i8-reference`, `i8-simd`,
//!   `i8-scalar` on DS-CNN's 3×3 over 25×5×64 (SAME) and a MobileNet-style 3×3 stride 2 over
//!   32×32×32 (SAME); throughput = MACs (`out_h · out_w · out_c · kh · kw`).
//! - `elementwise/<op>`: int8 and f32 ADD (ResNet-8's 32×32×16 residual), MEAN over 25×5×64
//!   (DS-CNN's global average), SOFTMAX over 12 classes, LOGISTIC and TANH over 4096 values
//!   (exact integer kernel vs its 256-entry table); throughput = elements read.
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

fn elementwise(c: &mut Criterion<ThreadCpuTime>) {
    use tinyconv::activation::{
        LogisticI8, SoftmaxI8, TanhI8, logistic_i8, softmax_f32, softmax_i8, tanh_i8,
    };
    use tinyconv::elementwise::{AddParamsI8, add_f32, add_i8};
    use tinyconv::quant::{ActivationRange, QuantParams, apply_table};
    use tinyconv::reduce::{MeanParamsI8, mean_hw_f32, mean_hw_i8};

    let qa = QuantParams::new(0.05, -3).expect("valid");
    let qb = QuantParams::new(0.11, 7).expect("valid");
    let qo = QuantParams::new(0.12, -1).expect("valid");

    let n = 32 * 32 * 16;
    let mut group = c.benchmark_group("elementwise/add_32x32x16");
    configure(&mut group);
    group.throughput(Throughput::Elements(n as u64));
    let (a, b) = (data_i8(n, 1, -128), data_i8(n, 2, -128));
    let mut y = vec![0i8; n];
    let p = AddParamsI8::new(qa, qb, qo, ActivationRange::relu(qo)).expect("valid");
    group.bench_function("i8", |bch| {
        bch.iter(|| add_i8(&p, black_box(&a), &b, &mut y).unwrap())
    });
    let (af, bf) = (data(n, 3), data(n, 4));
    let mut yf = vec![0.0f32; n];
    group.bench_function("f32", |bch| {
        bch.iter(|| add_f32(black_box(&af), &bf, Activation::Relu, &mut yf).unwrap())
    });
    group.finish();

    let shape = [25, 5, 64];
    let n = 25 * 5 * 64;
    let mut group = c.benchmark_group("elementwise/mean_25x5x64");
    configure(&mut group);
    group.throughput(Throughput::Elements(n as u64));
    let x = data_i8(n, 5, -128);
    let mut y = vec![0i8; 64];
    let p = MeanParamsI8::new(qa, qo, 125).expect("valid");
    group.bench_function("i8", |bch| {
        bch.iter(|| mean_hw_i8(shape, black_box(&x), &p, &mut y).unwrap())
    });
    let xf = data(n, 6);
    let mut yf = vec![0.0f32; 64];
    group.bench_function("f32", |bch| {
        bch.iter(|| mean_hw_f32(shape, black_box(&xf), &mut yf).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("elementwise/softmax_12");
    configure(&mut group);
    group.throughput(Throughput::Elements(12));
    let x = data_i8(12, 7, -128);
    let mut y = vec![0i8; 12];
    let p = SoftmaxI8::new(0.1, 1.0).expect("valid");
    group.bench_function("i8", |bch| {
        bch.iter(|| softmax_i8(&p, 12, black_box(&x), &mut y).unwrap())
    });
    let xf = data(12, 8);
    let mut yf = vec![0.0f32; 12];
    group.bench_function("f32", |bch| {
        bch.iter(|| softmax_f32(1.0, 12, black_box(&xf), &mut yf).unwrap())
    });
    group.finish();

    let n = 4096;
    let mut group = c.benchmark_group("elementwise/logistic_tanh_4096");
    configure(&mut group);
    group.throughput(Throughput::Elements(n as u64));
    let x = data_i8(n, 9, -128);
    let mut y = vec![0i8; n];
    let s = LogisticI8::new(qa);
    let t = TanhI8::new(qa);
    let (st, tt) = (s.table(), t.table());
    group.bench_function("logistic-i8-exact", |bch| {
        bch.iter(|| logistic_i8(&s, black_box(&x), &mut y).unwrap())
    });
    group.bench_function("logistic-i8-table", |bch| {
        bch.iter(|| apply_table(&st, black_box(&x), &mut y).unwrap())
    });
    group.bench_function("tanh-i8-exact", |bch| {
        bch.iter(|| tanh_i8(&t, black_box(&x), &mut y).unwrap())
    });
    group.bench_function("tanh-i8-table", |bch| {
        bch.iter(|| apply_table(&tt, black_box(&x), &mut y).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = depthwise, elementwise
}

criterion_main!(benches);
