//! The algorithms side by side, per layer and per whole model, f32 and int8, in MAC/s.
//!
//! `cargo bench --bench conv` (AVX2 + FMA through `.cargo/config.toml`); `scripts/bench_table.py`
//! runs it and turns criterion's JSON into the README's table (`docs/bench-table.md`).
//!
//! Groups (criterion ids `<group>/<function>`):
//! - `machine/fma_peak_f32x8`: this core's f32 FMA throughput (12 independent `mul_add`
//!   chains), measured in the same run as the kernels: the peak of the share-of-peak column.
//!   `machine/fma_latency_chain`: one dependent chain (the FMA latency, for reference).
//! - `conv/<layer>`: `f32-reference`, `f32-im2col`, `f32-direct`, `f32-implicit`,
//!   `i8-reference`, `i8-im2col`, `i8-direct`, `i8-implicit` (and `*-onech` where the input has one
//!   channel) on LeNet-5's two convolutions and on 3×3 and 1×1 convolutions of 16–64
//!   channels on 16×16 and 32×32 maps. Throughput = multiply-accumulates (`out_h · out_w ·
//!   c_out · kh · kw · c_in`) per call.
//! - `convpool/<layer>`: LeNet-5's conv + 2×2 pooling pairs: the two calls (`*-im2col+pool`)
//!   against the kernels with the pooling fused into the output stage (`*-implicit-pool`,
//!   `*-onech-pool`); throughput = the convolution's MACs.
//! - `pool/<layer>`: LeNet-5's poolings, reference vs SIMD, f32 and int8; throughput = window
//!   elements read (`out_h · out_w · c · kh · kw`).
//! - `dense/<layer>`: LeNet-5's dense layers, reference vs SIMD, f32 and int8 (and int8
//!   `blocked`, over packed weights); MACs.
//! - `lenet5/<variant>`: a whole image through `classic` and `modern`, every precision ×
//!   algorithm; throughput = the model's MACs (416,520 per image).
//! - `activation/sigmoid_6508`: a classic image's sigmoids, `f32x8` vs scalar vs std `exp`.
//!
//! Time is the benchmark thread's CPU time ([`common::cputime`]), so other jobs on the machine
//! inflate it less than wall time. The im2col layer rows use a scratch of 32 output pixels
//! (`im2col::scratch_len(g, 32)`), allocated once outside the timed loop; the model rows run
//! the models on each plan (`reference`, `im2col`, `direct`, and `auto`, the per-layer choice),
//! whose scratch lives in the model as a firmware would have it.
//!
//! Environment: `TINYCONV_BENCH_QUICK=1` shortens warm-up and measurement (used by
//! `scripts/bench_table.py --quick`).

mod common;

use common::cputime::ThreadCpuTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use std::hint::black_box;
use std::time::Duration;
use tinyconv::conv::{Pool2x2, direct, im2col, implicit_gemm, one_channel, reference};
use tinyconv::models::lenet5::{self, Image, Lenet5F32, Lenet5I8, Lenet5Plan, PackedF32, PackedI8};
use tinyconv::models::{Auto, Direct, Im2col, Reference};
use tinyconv::quant::{LayerParamsI8, QuantizedMultiplier, quantize_multiplier};
use tinyconv::{Activation, AvgPoolDivisor, Conv2dGeometry, Padding, Pool2dGeometry};

type Group<'a> = BenchmarkGroup<'a, ThreadCpuTime>;

fn quick() -> bool {
    std::env::var("TINYCONV_BENCH_QUICK").is_ok_and(|v| v == "1")
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

/// Deterministic int8 data over the whole range (weights use [-127, 127]).
fn data_i8(n: usize, seed: u32, lo: i8) -> Vec<i8> {
    data(n, seed)
        .iter()
        .map(|v| ((v + 0.5) * 256.0 - 128.0).clamp(f32::from(lo), 127.0) as i8)
        .collect()
}

fn configure(group: &mut Group<'_>, slow: bool) {
    if quick() {
        group.warm_up_time(Duration::from_millis(300));
        group.measurement_time(Duration::from_millis(1200));
        group.sample_size(10);
    } else {
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        group.sample_size(if slow { 10 } else { 30 });
    }
    if slow {
        group.sampling_mode(SamplingMode::Flat);
    }
}

/// int8 parameters with a per-channel multiplier and bias of the right magnitude for `k`-long
/// dot products (outputs spread over the int8 range, no activation clamp beyond it).
struct QuantLayer {
    multipliers: Vec<QuantizedMultiplier>,
    bias: Vec<i32>,
}

impl QuantLayer {
    fn new(out_c: usize, k: usize) -> Self {
        let scale = 1.0 / (64.0 * (k as f64).sqrt());
        let multipliers = (0..out_c)
            .map(|o| quantize_multiplier(scale * (1.0 + o as f64 / 16.0)).expect("valid scale"))
            .collect();
        let bias = (0..out_c).map(|o| (o as i32 - 8) * 100).collect();
        QuantLayer { multipliers, bias }
    }

    fn params(&self) -> LayerParamsI8<'_> {
        LayerParamsI8::new(-3, 5, &self.multipliers, Some(&self.bias))
    }
}

fn conv_layers() -> Vec<(&'static str, Conv2dGeometry)> {
    let same3 = |h: usize, cin: usize, cout: usize| {
        Conv2dGeometry::new([h, h, cin], cout, [3, 3]).with_padding(Padding::uniform(1))
    };
    let point = |h: usize, cin: usize, cout: usize| Conv2dGeometry::new([h, h, cin], cout, [1, 1]);
    vec![
        ("lenet_conv1_28x28x1_6_5x5_p2", lenet5::CONV1),
        ("lenet_conv2_14x14x6_16_5x5", lenet5::CONV2),
        ("3x3_16x16x16_16_p1", same3(16, 16, 16)),
        ("3x3_32x32x16_32_p1", same3(32, 16, 32)),
        ("3x3_16x16x64_64_p1", same3(16, 64, 64)),
        ("3x3_32x32x64_64_p1", same3(32, 64, 64)),
        ("1x1_32x32x16_32", point(32, 16, 32)),
        ("1x1_16x16x64_64", point(16, 64, 64)),
        ("1x1_32x32x64_64", point(32, 64, 64)),
    ]
}

fn conv(c: &mut Criterion<ThreadCpuTime>) {
    for (name, g) in conv_layers() {
        let d = g.dims().expect("valid layer");
        let macs = (d.output_len * d.patch_len) as u64;
        let mut group = c.benchmark_group(format!("conv/{name}"));
        // The reference needs ~2 ns per MAC: flat sampling keeps big layers to a few seconds.
        configure(&mut group, macs > 2_000_000);
        group.throughput(Throughput::Elements(macs));
        let act = Activation::Relu;

        let x = data(d.input_len, 1);
        let w = data(d.weights_len, 2);
        let b = data(g.out_c, 3);
        let mut y = vec![0.0f32; d.output_len];
        let mut scratch = vec![0.0f32; im2col::scratch_len(&g, 32)];
        group.bench_function("f32-reference", |bch| {
            bch.iter(|| {
                reference::conv2d_f32(&g, black_box(&x), &w, Some(&b), act, &mut [], &mut y)
                    .unwrap()
            })
        });
        group.bench_function("f32-im2col", |bch| {
            bch.iter(|| {
                im2col::conv2d_f32(&g, black_box(&x), &w, Some(&b), act, &mut scratch, &mut y)
                    .unwrap()
            })
        });
        group.bench_function("f32-direct", |bch| {
            bch.iter(|| {
                direct::conv2d_f32(&g, black_box(&x), &w, Some(&b), act, &mut [], &mut y).unwrap()
            })
        });
        let mut wp = vec![0.0f32; w.len()];
        implicit_gemm::pack_weights_f32(&g, &w, &mut wp).unwrap();
        let mut sp = vec![0.0f32; implicit_gemm::scratch_len_f32(&g)];
        group.bench_function("f32-implicit", |bch| {
            bch.iter(|| {
                implicit_gemm::conv2d_f32(&g, black_box(&x), &wp, Some(&b), act, &mut sp, &mut y)
                    .unwrap()
            })
        });
        if one_channel::applies(&g) {
            let mut so = vec![0.0f32; one_channel::scratch_len_f32(&g)];
            group.bench_function("f32-onech", |bch| {
                bch.iter(|| {
                    one_channel::conv2d_f32(&g, black_box(&x), &w, Some(&b), act, &mut so, &mut y)
                        .unwrap()
                })
            });
        }

        let xq = data_i8(d.input_len, 4, -128);
        let wq = data_i8(d.weights_len, 5, -127);
        let q = QuantLayer::new(g.out_c, d.patch_len);
        let p = q.params();
        let mut yq = vec![0i8; d.output_len];
        // Enough int8 scratch for a tile of 32 pixels plus a 16-filter panel.
        let mut sq = vec![0i16; (d.patch_len + 1) * (32 + 17)];
        group.bench_function("i8-reference", |bch| {
            bch.iter(|| {
                reference::conv2d_i8(&g, black_box(&xq), &wq, &p, &mut [], &mut yq).unwrap()
            })
        });
        group.bench_function("i8-im2col", |bch| {
            bch.iter(|| im2col::conv2d_i8(&g, black_box(&xq), &wq, &p, &mut sq, &mut yq).unwrap())
        });
        group.bench_function("i8-direct", |bch| {
            bch.iter(|| direct::conv2d_i8(&g, black_box(&xq), &wq, &p, &mut [], &mut yq).unwrap())
        });
        let mut wqp = vec![0i8; wq.len()];
        implicit_gemm::pack_weights_i8(&g, &wq, &mut wqp).unwrap();
        let mut sqp = vec![0i16; implicit_gemm::scratch_len_i8(&g)];
        group.bench_function("i8-implicit", |bch| {
            bch.iter(|| {
                implicit_gemm::conv2d_i8(&g, black_box(&xq), &wqp, &p, &mut sqp, &mut yq).unwrap()
            })
        });
        if one_channel::applies(&g) {
            let mut so = vec![0i16; one_channel::scratch_len_i8(&g)];
            group.bench_function("i8-onech", |bch| {
                bch.iter(|| {
                    one_channel::conv2d_i8(&g, black_box(&xq), &wq, &p, &mut so, &mut yq).unwrap()
                })
            });
        }
        group.finish();
    }
}

/// LeNet-5's convolutions followed by their 2×2 pooling: the separate calls against the kernels
/// with the pooling fused into the output stage. Throughput = the convolution's MACs.
fn conv_pool(c: &mut Criterion<ThreadCpuTime>) {
    use tinyconv::pool::simd;
    use tinyconv::quant::ActivationRange;
    for (name, g) in [
        ("lenet_conv1_pool1", lenet5::CONV1),
        ("lenet_conv2_pool2", lenet5::CONV2),
    ] {
        let d = g.dims().expect("valid layer");
        let macs = (d.output_len * d.patch_len) as u64;
        let mut group = c.benchmark_group(format!("convpool/{name}"));
        configure(&mut group, false);
        group.throughput(Throughput::Elements(macs));
        let act = Activation::Relu;
        let pg = Pool2dGeometry::new([d.out_h, d.out_w, g.out_c], [2, 2]).with_stride([2, 2]);
        let pooled = pg.dims().expect("valid pooling").output_len;
        let x = data(d.input_len, 1);
        let w = data(d.weights_len, 2);
        let b = data(g.out_c, 3);
        let mut y = vec![0.0f32; d.output_len];
        let mut yp = vec![0.0f32; pooled];
        let mut scratch = vec![0.0f32; im2col::scratch_len(&g, 32)];
        group.bench_function("f32-im2col+pool", |bch| {
            bch.iter(|| {
                im2col::conv2d_f32(&g, black_box(&x), &w, Some(&b), act, &mut scratch, &mut y)
                    .unwrap();
                simd::max_pool2d_f32(&pg, &y, &mut yp).unwrap()
            })
        });
        let mut wp = vec![0.0f32; w.len()];
        implicit_gemm::pack_weights_f32(&g, &w, &mut wp).unwrap();
        let mut sp = vec![0.0f32; implicit_gemm::scratch_len_f32(&g)];
        group.bench_function("f32-implicit-pool", |bch| {
            bch.iter(|| {
                implicit_gemm::conv2d_pool2_f32(
                    &g,
                    black_box(&x),
                    &wp,
                    Some(&b),
                    act,
                    Pool2x2::Max,
                    &mut sp,
                    &mut yp,
                )
                .unwrap()
            })
        });
        if one_channel::applies(&g) {
            let mut so = vec![0.0f32; one_channel::scratch_len_f32(&g)];
            group.bench_function("f32-onech-pool", |bch| {
                bch.iter(|| {
                    one_channel::conv2d_pool2_f32(
                        &g,
                        black_box(&x),
                        &w,
                        Some(&b),
                        act,
                        Pool2x2::Max,
                        &mut so,
                        &mut yp,
                    )
                    .unwrap()
                })
            });
        }
        let xq = data_i8(d.input_len, 4, -128);
        let wq = data_i8(d.weights_len, 5, -127);
        let q = QuantLayer::new(g.out_c, d.patch_len);
        let p = q.params();
        let mut yq = vec![0i8; d.output_len];
        let mut ypq = vec![0i8; pooled];
        let mut sq = vec![0i16; im2col::scratch_len_i8(&g)];
        let none = ActivationRange::none();
        group.bench_function("i8-im2col+pool", |bch| {
            bch.iter(|| {
                im2col::conv2d_i8(&g, black_box(&xq), &wq, &p, &mut sq, &mut yq).unwrap();
                simd::max_pool2d_i8(&pg, none, &yq, &mut ypq).unwrap()
            })
        });
        let mut wqp = vec![0i8; wq.len()];
        implicit_gemm::pack_weights_i8(&g, &wq, &mut wqp).unwrap();
        let mut sqp = vec![0i16; implicit_gemm::scratch_len_i8(&g)];
        if one_channel::applies(&g) {
            let mut so = vec![0i16; one_channel::scratch_len_i8(&g)];
            group.bench_function("i8-onech-pool", |bch| {
                bch.iter(|| {
                    one_channel::conv2d_pool2_i8(
                        &g,
                        black_box(&xq),
                        &wq,
                        &p,
                        None,
                        Pool2x2::Max,
                        &mut so,
                        &mut ypq,
                    )
                    .unwrap()
                })
            });
        }
        group.bench_function("i8-implicit-pool", |bch| {
            bch.iter(|| {
                implicit_gemm::conv2d_pool2_i8(
                    &g,
                    black_box(&xq),
                    &wqp,
                    &p,
                    None,
                    Pool2x2::Max,
                    &mut sqp,
                    &mut ypq,
                )
                .unwrap()
            })
        });
        group.finish();
    }
}

fn pool(c: &mut Criterion<ThreadCpuTime>) {
    use tinyconv::pool::{reference as pref, simd};
    use tinyconv::quant::ActivationRange;
    let layers = [
        (
            "lenet_pool1_28x28x6_2x2_s2",
            Pool2dGeometry::new([28, 28, 6], [2, 2]).with_stride([2, 2]),
        ),
        (
            "lenet_pool2_10x10x16_2x2_s2",
            Pool2dGeometry::new([10, 10, 16], [2, 2]).with_stride([2, 2]),
        ),
    ];
    for (name, g) in layers {
        let d = g.dims().expect("valid pooling");
        let taps = (d.output_len * g.kernel_h * g.kernel_w) as u64;
        let mut group = c.benchmark_group(format!("pool/{name}"));
        configure(&mut group, false);
        group.throughput(Throughput::Elements(taps));
        let x = data(d.input_len, 6);
        let mut y = vec![0.0f32; d.output_len];
        let xq = data_i8(d.input_len, 7, -128);
        let mut yq = vec![0i8; d.output_len];
        let div = AvgPoolDivisor::IncludePadding;
        let none = ActivationRange::none();
        group.bench_function("f32-max-reference", |bch| {
            bch.iter(|| pref::max_pool2d_f32(&g, black_box(&x), &mut y).unwrap())
        });
        group.bench_function("f32-max-simd", |bch| {
            bch.iter(|| simd::max_pool2d_f32(&g, black_box(&x), &mut y).unwrap())
        });
        group.bench_function("f32-avg-reference", |bch| {
            bch.iter(|| pref::avg_pool2d_f32(&g, div, black_box(&x), &mut y).unwrap())
        });
        group.bench_function("f32-avg-simd", |bch| {
            bch.iter(|| simd::avg_pool2d_f32(&g, div, black_box(&x), &mut y).unwrap())
        });
        group.bench_function("i8-max-reference", |bch| {
            bch.iter(|| pref::max_pool2d_i8(&g, none, black_box(&xq), &mut yq).unwrap())
        });
        group.bench_function("i8-max-simd", |bch| {
            bch.iter(|| simd::max_pool2d_i8(&g, none, black_box(&xq), &mut yq).unwrap())
        });
        group.bench_function("i8-avg-reference", |bch| {
            bch.iter(|| pref::avg_pool2d_i8(&g, none, black_box(&xq), &mut yq).unwrap())
        });
        group.bench_function("i8-avg-simd", |bch| {
            bch.iter(|| simd::avg_pool2d_i8(&g, none, black_box(&xq), &mut yq).unwrap())
        });
        group.finish();
    }
}

fn dense(c: &mut Criterion<ThreadCpuTime>) {
    use tinyconv::dense::{reference as dref, simd};
    for (name, n_in, n_out) in [
        ("lenet_fc1_400_120", 400, 120),
        ("lenet_fc2_120_84", 120, 84),
        ("lenet_fc3_84_10", 84, 10),
    ] {
        let macs = (n_in * n_out) as u64;
        let mut group = c.benchmark_group(format!("dense/{name}"));
        configure(&mut group, false);
        group.throughput(Throughput::Elements(macs));
        let act = Activation::Relu;
        let x = data(n_in, 8);
        let w = data(n_in * n_out, 9);
        let b = data(n_out, 10);
        let mut y = vec![0.0f32; n_out];
        group.bench_function("f32-reference", |bch| {
            bch.iter(|| dref::dense_f32(black_box(&x), &w, Some(&b), act, &mut y).unwrap())
        });
        group.bench_function("f32-simd", |bch| {
            bch.iter(|| simd::dense_f32(black_box(&x), &w, Some(&b), act, &mut y).unwrap())
        });
        let xq = data_i8(n_in, 11, -128);
        let wq = data_i8(n_in * n_out, 12, -127);
        let q = QuantLayer::new(n_out, n_in);
        let p = q.params();
        let mut yq = vec![0i8; n_out];
        group.bench_function("i8-reference", |bch| {
            bch.iter(|| dref::dense_i8(black_box(&xq), &wq, &p, &mut yq).unwrap())
        });
        group.bench_function("i8-simd", |bch| {
            bch.iter(|| simd::dense_i8(black_box(&xq), &wq, &p, &mut yq).unwrap())
        });
        let mut wqp = vec![0i8; wq.len()];
        tinyconv::dense::blocked::pack_weights_i8(n_in, n_out, &wq, &mut wqp).unwrap();
        let mut sq = vec![0i16; tinyconv::dense::blocked::scratch_len_i8(n_in, n_out)];
        group.bench_function("i8-blocked", |bch| {
            bch.iter(|| {
                tinyconv::dense::blocked::dense_i8(black_box(&xq), &wqp, &p, &mut sq, &mut yq)
                    .unwrap()
            })
        });
        group.finish();
    }
}

/// Multiply-accumulates of one LeNet-5 image: conv1 117,600 + conv2 240,000 + dense 48,000 +
/// 10,080 + 840.
const LENET_MACS: u64 = 117_600 + 240_000 + 48_000 + 10_080 + 840;

fn lenet(c: &mut Criterion<ThreadCpuTime>) {
    let pixels: Vec<u8> = data(28 * 28, 13)
        .iter()
        .map(|v| ((v + 0.5) * 255.0) as u8)
        .collect();
    let pixels: [u8; 28 * 28] = pixels.try_into().expect("784 pixels");
    let image: Image = lenet5::image_from_u8(&pixels);
    for (variant, wf, wq) in [
        ("modern", &lenet5::MODERN_F32, &lenet5::MODERN_I8),
        ("classic", &lenet5::CLASSIC_F32, &lenet5::CLASSIC_I8),
    ] {
        let mut group = c.benchmark_group(format!("lenet5/{variant}"));
        configure(&mut group, false);
        group.throughput(Throughput::Elements(LENET_MACS));
        bench_f32::<Reference>(&mut group, wf, &image);
        bench_f32::<Im2col>(&mut group, wf, &image);
        bench_f32::<Direct>(&mut group, wf, &image);
        bench_f32::<Auto>(&mut group, wf, &image);
        bench_i8::<Reference>(&mut group, wq, &pixels);
        bench_i8::<Im2col>(&mut group, wq, &pixels);
        bench_i8::<Direct>(&mut group, wq, &pixels);
        bench_i8::<Auto>(&mut group, wq, &pixels);
        group.finish();
    }
}

/// One whole-model row: the f32 LeNet-5 on plan `P` (`f32-<plan>`), weights packed once
/// outside the timed loop.
fn bench_f32<P: Lenet5Plan>(group: &mut Group<'_>, w: &lenet5::Lenet5Weights, image: &Image) {
    let packed = Box::new(PackedF32::<P>::pack(w).unwrap());
    let mut m = Box::new(Lenet5F32::new(&*packed));
    group.bench_function(format!("f32-{}", P::NAME), |bch| {
        bch.iter(|| m.logits(black_box(image)).unwrap())
    });
}

/// One whole-model int8 row (`i8-<plan>`).
fn bench_i8<P: Lenet5Plan>(
    group: &mut Group<'_>,
    w: &lenet5::Lenet5I8Weights,
    pixels: &[u8; 28 * 28],
) {
    let packed = Box::new(PackedI8::<P>::pack(w).unwrap());
    let mut m = Box::new(Lenet5I8::new(&*packed));
    group.bench_function(format!("i8-{}", P::NAME), |bch| {
        bch.iter(|| m.logits_u8(black_box(pixels)).unwrap())
    });
}

/// Sigmoid over the 6,508 values a classic LeNet-5 image activates (4,704 + 1,600 + 120 + 84),
/// in [-8, 8]: tinyconv's eight-lane polynomial (`Activation::apply_slice`) against its scalar
/// one and against std's `f32::exp` per value (the C library's `expf`; the crate used the `libm`
/// crate's before). Throughput = values.
fn activation(c: &mut Criterion<ThreadCpuTime>) {
    const N: usize = 4_704 + 1_600 + 120 + 84;
    let mut group = c.benchmark_group("activation/sigmoid_6508");
    configure(&mut group, false);
    group.throughput(Throughput::Elements(N as u64));
    let x: Vec<f32> = data(N, 14).iter().map(|v| 16.0 * v).collect();
    let mut y = x.clone();
    group.bench_function("f32x8", |bch| {
        bch.iter(|| {
            y.copy_from_slice(black_box(&x));
            Activation::Sigmoid.apply_slice(&mut y);
        })
    });
    group.bench_function("scalar", |bch| {
        bch.iter(|| {
            for (o, &v) in y.iter_mut().zip(black_box(&x)) {
                *o = tinyconv::activation::sigmoid(v);
            }
        })
    });
    group.bench_function("std-exp", |bch| {
        bch.iter(|| {
            for (o, &v) in y.iter_mut().zip(black_box(&x)) {
                *o = if v >= 0.0 {
                    1.0 / (1.0 + (-v).exp())
                } else {
                    let e = v.exp();
                    e / (1.0 + e)
                };
            }
        })
    });
    group.finish();
}

/// The core's f32 FMA throughput (the peak `scripts/bench_table.py` divides by) and latency,
/// measured in the same run as the kernels.
fn machine(c: &mut Criterion<ThreadCpuTime>) {
    use wide::f32x8;
    const N: usize = 100_000;
    let mut group = c.benchmark_group("machine");
    configure(&mut group, false);
    // 12 independent accumulator chains: more than FMA latency × FMA units on current x86 cores
    // (4 × 2 on Golden Cove and Zen 4, 5 × 1 on Zen 1), so the FMA units, not the latency, set
    // the rate; 12 accumulators and the two operands fit AVX2's 16 registers.
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
    // One dependent chain: N FMA latencies.
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

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = machine, conv, conv_pool, pool, dense, lenet, activation
}

criterion_main!(benches);
