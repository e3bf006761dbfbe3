//! Trains LeNet-5 on the 60,000 Fashion-MNIST training images with candle (CPU) and writes the
//! weights as safetensors, named and laid out like the PyTorch `nn.Sequential` (`self.net`) of
//! the Dive into Deep Learning LeNet chapter:
//!
//! | tensor | shape | layer |
//! | --- | --- | --- |
//! | `net.0.weight`, `net.0.bias` | `[6,1,5,5]`, `[6]` | Conv2d(1,6,k=5,padding=2) |
//! | `net.3.weight`, `net.3.bias` | `[16,6,5,5]`, `[16]` | Conv2d(6,16,k=5) |
//! | `net.7.weight`, `net.7.bias` | `[120,400]`, `[120]` | Linear(400,120) |
//! | `net.9.weight`, `net.9.bias` | `[84,120]`, `[84]` | Linear(120,84) |
//! | `net.11.weight`, `net.11.bias` | `[10,84]`, `[10]` | Linear(84,10) |
//!
//! `classic` uses sigmoid and 2x2 average pooling (exactly the chapter); `modern` uses ReLU and
//! 2x2 max pooling. Input is 1x28x28 in `[0, 1]` (`pixel / 255`), flattening is C,H,W.
//! See README.md for the commands and results.

use std::collections::HashMap;
use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{AdamW, Conv2d, Conv2dConfig, Linear, Module, Optimizer, ParamsAdamW};
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tinyconv_data::{DEBIAN_DIR, Dataset, IMAGE_PIXELS, IMAGE_SIDE, Image};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModelKind {
    /// Sigmoid activations, 2x2 average pooling (the D2L chapter's LeNet).
    Classic,
    /// ReLU activations, 2x2 max pooling.
    Modern,
}

impl ModelKind {
    fn name(self) -> &'static str {
        match self {
            ModelKind::Classic => "classic",
            ModelKind::Modern => "modern",
        }
    }
    fn activation(self) -> &'static str {
        match self {
            ModelKind::Classic => "sigmoid",
            ModelKind::Modern => "relu",
        }
    }
    fn pooling(self) -> &'static str {
        match self {
            ModelKind::Classic => "avg",
            ModelKind::Modern => "max",
        }
    }
    fn default_epochs(self) -> usize {
        match self {
            ModelKind::Classic => 30,
            ModelKind::Modern => 30,
        }
    }
    /// The sigmoid model underfits (a pilot with flips and 2-pixel shifts trailed plain data
    /// by 6 points after 3 epochs), the ReLU model overfits without augmentation.
    fn default_augmentation(self) -> (usize, bool) {
        match self {
            ModelKind::Classic => (0, false),
            ModelKind::Modern => (1, true),
        }
    }
    fn default_lr(self) -> f64 {
        match self {
            ModelKind::Classic => 3e-3,
            ModelKind::Modern => 2e-3,
        }
    }
}

/// Train LeNet-5 on Fashion-MNIST (CPU, candle) and write safetensors with PyTorch/D2L names.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Which LeNet-5 variant.
    #[arg(long, value_enum)]
    model: ModelKind,
    /// Training epochs [default: 30].
    #[arg(long)]
    epochs: Option<usize>,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Peak AdamW learning rate, reached after one warm-up epoch and cosine-decayed to 1 % of
    /// itself by the last step [default: classic 3e-3, modern 2e-3].
    #[arg(long)]
    lr: Option<f64>,
    /// AdamW (decoupled) weight decay.
    #[arg(long, default_value_t = 0.01)]
    weight_decay: f64,
    /// Seed for weight initialization, shuffling and augmentation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Directory with the four Fashion-MNIST gzip IDX files.
    #[arg(long, default_value = DEBIAN_DIR)]
    data: PathBuf,
    /// Output safetensors file [default: <repo>/models/lenet5-<model>.safetensors].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads for candle's CPU kernels [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Augmentation: shift each training image by a random offset of up to this many pixels in
    /// each direction, zero-filled [default: classic 0, modern 1].
    #[arg(long)]
    shift: Option<usize>,
    /// Augmentation: mirror each training image left-right with probability 1/2
    /// [default: classic false, modern true].
    #[arg(long)]
    flip: Option<bool>,
    /// Hold out the last N training images as a validation set (for tuning; 0 trains on all).
    #[arg(long, default_value_t = 0)]
    holdout: usize,
    /// Stop each epoch after this many batches (for timing runs).
    #[arg(long)]
    max_batches: Option<usize>,
}

/// LeNet-5 parameters as candle variables, in `nn.Sequential` order.
struct LeNet {
    kind: ModelKind,
    params: Vec<(&'static str, Var)>,
}

/// `(name, shape)` of every parameter, in the order of the D2L `nn.Sequential`.
const PARAM_SHAPES: [(&str, &[usize]); 10] = [
    ("net.0.weight", &[6, 1, 5, 5]),
    ("net.0.bias", &[6]),
    ("net.3.weight", &[16, 6, 5, 5]),
    ("net.3.bias", &[16]),
    ("net.7.weight", &[120, 400]),
    ("net.7.bias", &[120]),
    ("net.9.weight", &[84, 120]),
    ("net.9.bias", &[84]),
    ("net.11.weight", &[10, 84]),
    ("net.11.bias", &[10]),
];

/// The layers built over some view of the parameters (tracked for training, detached for
/// evaluation); they share storage with the variables, so optimizer updates show through.
///
/// The first convolution runs as one GEMM over im2col patches built on the host
/// ([`conv0_patches`]): the input needs no gradient, and candle's generic conv2d backward (which
/// always computes the input gradient with a slow transposed convolution) was the bottleneck.
/// Gradients still come from candle's autograd; `conv0_matches_candle_conv2d` checks equality.
struct Layers {
    kind: ModelKind,
    w0: Tensor,
    b0: Tensor,
    conv3: Conv2d,
    fc7: Linear,
    fc9: Linear,
    fc11: Linear,
}

impl LeNet {
    /// Deterministic initialization from `seed`: biases zero, weights uniform with Xavier
    /// (Glorot) bounds for the sigmoid model and the output layer, He (Kaiming) bounds for the
    /// ReLU model's hidden layers.
    fn init(kind: ModelKind, seed: u64, device: &Device) -> Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x1e5e_75ee_d000_0001);
        let mut params = Vec::new();
        for (i, &(name, shape)) in PARAM_SHAPES.iter().enumerate() {
            let numel: usize = shape.iter().product();
            let values: Vec<f32> = if name.ends_with("bias") {
                vec![0.0; numel]
            } else {
                let receptive: usize = shape[2..].iter().product();
                let fan_in = shape[1] * receptive;
                let fan_out = shape[0] * receptive;
                let is_output = i == PARAM_SHAPES.len() - 2;
                let bound = if kind == ModelKind::Modern && !is_output {
                    (6.0 / fan_in as f64).sqrt()
                } else {
                    (6.0 / (fan_in + fan_out) as f64).sqrt()
                } as f32;
                (0..numel)
                    .map(|_| rng.random_range(-bound..bound))
                    .collect()
            };
            let t = Tensor::from_vec(values, shape, device)?;
            params.push((name, Var::from_tensor(&t)?));
        }
        Ok(Self { kind, params })
    }

    fn vars(&self) -> Vec<Var> {
        self.params.iter().map(|(_, v)| v.clone()).collect()
    }

    fn layers(&self, detach: bool) -> Layers {
        let t = |i: usize| {
            let v = self.params[i].1.as_tensor();
            if detach { v.detach() } else { v.clone() }
        };
        layers_from(
            self.kind,
            [t(0), t(1), t(2), t(3), t(4), t(5), t(6), t(7), t(8), t(9)],
        )
    }
}

fn layers_from(kind: ModelKind, p: [Tensor; 10]) -> Layers {
    let [w0, b0, w3, b3, w7, b7, w9, b9, w11, b11] = p;
    Layers {
        kind,
        w0,
        b0,
        conv3: Conv2d::new(w3, Some(b3), Conv2dConfig::default()),
        fc7: Linear::new(w7, Some(b7)),
        fc9: Linear::new(w9, Some(b9)),
        fc11: Linear::new(w11, Some(b11)),
    }
}

impl Layers {
    fn act(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self.kind {
            ModelKind::Classic => candle_nn::ops::sigmoid(x),
            ModelKind::Modern => x.relu(),
        }
    }

    fn pool(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self.kind {
            ModelKind::Classic => x.avg_pool2d(2),
            ModelKind::Modern => x.max_pool2d(2),
        }
    }

    /// Conv2d(1, 6, k=5, padding=2) over [`conv0_patches`] `[B*784, 25]` -> `[B, 6, 28, 28]`.
    fn conv0(&self, patches: &Tensor) -> candle_core::Result<Tensor> {
        let b = patches.dim(0)? / IMAGE_PIXELS;
        patches
            .matmul(&self.w0.reshape((6, 25))?.t()?)? // [B*784, 6]
            .broadcast_add(&self.b0)?
            .reshape((b, IMAGE_PIXELS, 6))?
            .transpose(1, 2)?
            .reshape((b, 6, IMAGE_SIDE, IMAGE_SIDE))
    }

    /// `patches`: [`conv0_patches`] of `B` images in `[0, 1]` -> logits `[B, 10]`.
    fn forward(&self, patches: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.pool(&self.act(&self.conv0(patches)?)?)?; // [B, 6, 14, 14]
        let h = self.pool(&self.act(&self.conv3.forward(&h)?)?)?; // [B, 16, 5, 5]
        let h = h.flatten_from(1)?; // [B, 400], C,H,W order
        let h = self.act(&self.fc7.forward(&h)?)?;
        let h = self.act(&self.fc9.forward(&h)?)?;
        self.fc11.forward(&h)
    }
}

/// The 5x5 neighbourhood (zero padding 2) of every pixel of every 28x28 image in `images`
/// (`B * 784` values): `B * 784` rows of 25 values, kernel-row-major, i.e. conv1's im2col
/// matrix, written to `out`.
fn conv0_patches(images: &[f32], out: &mut Vec<f32>) {
    const K: usize = 5;
    const PAD: isize = 2;
    let side = IMAGE_SIDE as isize;
    out.clear();
    out.resize(images.len() * K * K, 0.0);
    for (img, dst) in images
        .chunks_exact(IMAGE_PIXELS)
        .zip(out.chunks_exact_mut(IMAGE_PIXELS * K * K))
    {
        for y in 0..side {
            for x in 0..side {
                let row = &mut dst[(y * side + x) as usize * K * K..][..K * K];
                for ky in 0..K as isize {
                    let sy = y + ky - PAD;
                    if !(0..side).contains(&sy) {
                        continue;
                    }
                    for kx in 0..K as isize {
                        let sx = x + kx - PAD;
                        if (0..side).contains(&sx) {
                            row[(ky * K as isize + kx) as usize] = img[(sy * side + sx) as usize];
                        }
                    }
                }
            }
        }
    }
}

/// Writes image `img`, optionally mirrored left-right and shifted by `(dy, dx)` pixels with
/// zero fill, normalized to `[0, 1]`, into `out` (784 values).
fn write_augmented(img: &Image, flip: bool, dy: isize, dx: isize, out: &mut [f32]) {
    let side = IMAGE_SIDE as isize;
    for y in 0..side {
        for x in 0..side {
            let sy = y - dy;
            let sx0 = x - dx;
            let sx = if flip { side - 1 - sx0 } else { sx0 };
            let v = if (0..side).contains(&sy) && (0..side).contains(&sx) {
                f32::from(img[(sy * side + sx) as usize]) / 255.0
            } else {
                0.0
            };
            out[(y * side + x) as usize] = v;
        }
    }
}

/// Fraction of `ds` classified correctly, in batches of 1,000.
fn accuracy(layers: &Layers, ds: &Dataset, device: &Device) -> Result<f64> {
    if ds.is_empty() {
        return Ok(f64::NAN);
    }
    let mut correct = 0usize;
    let mut patches = Vec::new();
    for start in (0..ds.len()).step_by(1000) {
        let end = (start + 1000).min(ds.len());
        let chunk = Dataset {
            images: ds.images[start..end].to_vec(),
            labels: ds.labels[start..end].to_vec(),
        };
        conv0_patches(&chunk.images_f32(), &mut patches);
        let x = Tensor::from_slice(&patches, ((end - start) * IMAGE_PIXELS, 25), device)?;
        let pred = layers.forward(&x)?.argmax(D::Minus1)?.to_vec1::<u32>()?;
        correct += pred
            .iter()
            .zip(&chunk.labels)
            .filter(|(p, l)| **p == u32::from(**l))
            .count();
    }
    Ok(correct as f64 / ds.len() as f64)
}

/// Learning rate at `step` of `total`: linear warm-up over `warmup` steps, then cosine decay
/// from `peak` down to `peak / 100`.
fn learning_rate(peak: f64, step: usize, warmup: usize, total: usize) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let progress = (step - warmup) as f64 / (total - warmup).max(1) as f64;
    let floor = peak / 100.0;
    floor + (peak - floor) * 0.5 * (1.0 + (PI * progress.min(1.0)).cos())
}

fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 120.0 {
        format!("{s:.1} s")
    } else {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    }
}

fn save(model: &LeNet, path: &Path, metadata: HashMap<String, String>) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tensors: Vec<(&str, Tensor)> = model
        .params
        .iter()
        .map(|(n, v)| (*n, v.as_tensor().detach()))
        .collect();
    safetensors::serialize_to_file(tensors, Some(metadata), path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reloads the written file and checks names, shapes and dtype; returns evaluation layers.
fn reload(kind: ModelKind, path: &Path, device: &Device) -> Result<Layers> {
    let mut map = candle_core::safetensors::load(path, device)?;
    ensure!(
        map.len() == PARAM_SHAPES.len(),
        "{} holds {} tensors, expected {}",
        path.display(),
        map.len(),
        PARAM_SHAPES.len()
    );
    let mut take = |i: usize| -> Result<Tensor> {
        let (name, shape) = PARAM_SHAPES[i];
        let t = map
            .remove(name)
            .with_context(|| format!("{name} missing from {}", path.display()))?;
        ensure!(t.dims() == shape, "{name} has shape {:?}", t.dims());
        ensure!(t.dtype() == DType::F32, "{name} is {:?}", t.dtype());
        Ok(t)
    };
    let p = [
        take(0)?,
        take(1)?,
        take(2)?,
        take(3)?,
        take(4)?,
        take(5)?,
        take(6)?,
        take(7)?,
        take(8)?,
        take(9)?,
    ];
    Ok(layers_from(kind, p))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(n) = args.threads {
        ensure!(n > 0, "--threads must be positive");
        // SAFETY: first thing in main, before any other thread exists. Both rayon's global pool
        // and candle's kernels (gemm, conv) read this variable.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
    let kind = args.model;
    let epochs = args.epochs.unwrap_or(kind.default_epochs());
    let peak_lr = args.lr.unwrap_or(kind.default_lr());
    let bs = args.batch_size;
    let (default_shift, default_flip) = kind.default_augmentation();
    let (shift, flip) = (
        args.shift.unwrap_or(default_shift),
        args.flip.unwrap_or(default_flip),
    );
    ensure!(
        epochs > 0 && bs > 0,
        "--epochs and --batch-size must be positive"
    );
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"))
            .join(format!("lenet5-{}.safetensors", kind.name()))
    });
    let device = Device::Cpu;
    let started = Instant::now();

    let mut train = tinyconv_data::load_train_dir(&args.data)
        .with_context(|| format!("loading the training split from {}", args.data.display()))?;
    let test = tinyconv_data::load_dir(&args.data)
        .with_context(|| format!("loading the test split from {}", args.data.display()))?;
    if args.holdout >= train.len() {
        bail!("--holdout {} leaves no training data", args.holdout);
    }
    let split = train.len() - args.holdout;
    let holdout = Dataset {
        images: train.images.split_off(split),
        labels: train.labels.split_off(split),
    };
    let n = train.len();
    let steps_per_epoch = n.div_ceil(bs).min(args.max_batches.unwrap_or(usize::MAX));
    let total_steps = epochs * steps_per_epoch;
    let warmup = steps_per_epoch.min(total_steps / 10).max(1);
    println!(
        "LeNet-5 {} ({} + {} pooling): {} training images{}, {} test images; {} epochs x {} \
         steps of {}; AdamW peak lr {} (1 warm-up epoch, cosine to 1 %), weight decay {}; \
         augmentation: {}; seed {}; {} threads",
        kind.name(),
        kind.activation(),
        kind.pooling(),
        n,
        if holdout.is_empty() {
            String::new()
        } else {
            format!(" ({} held out)", holdout.len())
        },
        test.len(),
        epochs,
        steps_per_epoch,
        bs,
        peak_lr,
        args.weight_decay,
        match (flip, shift) {
            (false, 0) => "none".to_string(),
            (true, 0) => "random flips".to_string(),
            (false, s) => format!("random shifts up to {s} px"),
            (true, s) => format!("random flips + shifts up to {s} px"),
        },
        args.seed,
        candle_core::utils::get_num_threads(),
    );

    let model = LeNet::init(kind, args.seed, &device)?;
    let train_layers = model.layers(false);
    let eval_layers = model.layers(true);
    let mut opt = AdamW::new(
        model.vars(),
        ParamsAdamW {
            lr: peak_lr,
            weight_decay: args.weight_decay,
            ..Default::default()
        },
    )?;

    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut batch_x = vec![0f32; bs * IMAGE_PIXELS];
    let mut batch_y = vec![0u32; bs];
    let mut patches = Vec::new();
    let shift = i32::try_from(shift).context("--shift is too large")?;
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
    )?
    .progress_chars("=> ");
    let mut step = 0usize;
    let mut epoch_times = Vec::new();
    let mut final_test = f64::NAN;
    for epoch in 1..=epochs {
        let epoch_start = Instant::now();
        order.shuffle(&mut rng);
        let bar = ProgressBar::new(steps_per_epoch as u64)
            .with_style(style.clone())
            .with_prefix(format!("epoch {epoch:>2}/{epochs}"));
        let (mut loss_sum, mut seen, mut correct) = (0f64, 0usize, 0usize);
        for idx in order.chunks(bs).take(steps_per_epoch) {
            let b = idx.len();
            for (k, &i) in idx.iter().enumerate() {
                let dst = &mut batch_x[k * IMAGE_PIXELS..(k + 1) * IMAGE_PIXELS];
                if shift == 0 && !flip {
                    tinyconv_data::normalize_into(&train.images[i], dst);
                } else {
                    let mirror = flip && rng.random_bool(0.5);
                    let dy = rng.random_range(-shift..=shift) as isize;
                    let dx = rng.random_range(-shift..=shift) as isize;
                    write_augmented(&train.images[i], mirror, dy, dx, dst);
                }
                batch_y[k] = u32::from(train.labels[i]);
            }
            conv0_patches(&batch_x[..b * IMAGE_PIXELS], &mut patches);
            let x = Tensor::from_slice(&patches, (b * IMAGE_PIXELS, 25), &device)?;
            let y = Tensor::from_slice(&batch_y[..b], b, &device)?;
            opt.set_learning_rate(learning_rate(peak_lr, step, warmup, total_steps));
            let logits = train_layers.forward(&x)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &y)?;
            opt.backward_step(&loss)?;
            let loss = f64::from(loss.to_scalar::<f32>()?);
            ensure!(
                loss.is_finite(),
                "loss diverged at epoch {epoch}, step {step}"
            );
            loss_sum += loss * b as f64;
            seen += b;
            correct += logits
                .argmax(D::Minus1)?
                .to_vec1::<u32>()?
                .iter()
                .zip(&batch_y[..b])
                .filter(|(p, l)| p == l)
                .count();
            step += 1;
            bar.inc(1);
            if step.is_multiple_of(20) {
                bar.set_message(format!("loss {:.4}", loss_sum / seen as f64));
            }
        }
        bar.finish_and_clear();
        let train_time = epoch_start.elapsed();
        let test_acc = accuracy(&eval_layers, &test, &device)?;
        let holdout_acc = accuracy(&eval_layers, &holdout, &device)?;
        let epoch_time = epoch_start.elapsed();
        epoch_times.push(epoch_time);
        final_test = test_acc;
        println!(
            "epoch {epoch:>2}/{epochs}  lr {:.2e}  train loss {:.4}  train acc {:.2} %{}  \
             test acc {:.2} %  ({} train + {} eval, total {})",
            learning_rate(peak_lr, step.saturating_sub(1), warmup, total_steps),
            loss_sum / seen as f64,
            100.0 * correct as f64 / seen as f64,
            if holdout.is_empty() {
                String::new()
            } else {
                format!("  holdout acc {:.2} %", 100.0 * holdout_acc)
            },
            100.0 * test_acc,
            fmt_duration(train_time),
            fmt_duration(epoch_time - train_time),
            fmt_duration(started.elapsed()),
        );
    }

    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("architecture".to_string(), "lenet5".to_string()),
        ("model".to_string(), kind.name().to_string()),
        ("activation".to_string(), kind.activation().to_string()),
        ("pooling".to_string(), kind.pooling().to_string()),
        ("input".to_string(), "1x28x28 f32, pixel/255".to_string()),
        ("epochs".to_string(), epochs.to_string()),
        ("seed".to_string(), args.seed.to_string()),
        ("augmentation_shift".to_string(), shift.to_string()),
        ("augmentation_flip".to_string(), flip.to_string()),
        ("test_accuracy".to_string(), format!("{:.4}", final_test)),
        (
            "trained_with".to_string(),
            "tinyconv-train (candle)".to_string(),
        ),
    ]);
    save(&model, &out, metadata)?;
    let reloaded = accuracy(&reload(kind, &out, &device)?, &test, &device)?;
    ensure!(
        reloaded == final_test,
        "reloaded weights score {reloaded}, trained ones {final_test}"
    );
    let mean_epoch =
        epoch_times.iter().sum::<Duration>() / u32::try_from(epoch_times.len()).unwrap_or(1);
    println!(
        "wrote {} (reloaded: test acc {:.2} %)\nfinal test accuracy {:.2} % ({} of 10,000 test \
         images), mean epoch {}, total wall time {}",
        out.display(),
        100.0 * reloaded,
        100.0 * final_test,
        (final_test * test.len() as f64).round() as usize,
        fmt_duration(mean_epoch),
        fmt_duration(started.elapsed()),
    );
    Ok(())
}

#[cfg(test)]
mod oracle;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays() {
        assert!((learning_rate(1.0, 0, 10, 100) - 0.1).abs() < 1e-12);
        assert!((learning_rate(1.0, 9, 10, 100) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, 10, 10, 100) - 1.0).abs() < 1e-12);
        assert!((learning_rate(1.0, 100, 10, 100) - 0.01).abs() < 1e-12);
        assert!(learning_rate(1.0, 50, 10, 100) < learning_rate(1.0, 40, 10, 100));
    }

    #[test]
    fn augmentation_identity_flip_and_shift() {
        let mut img = [0u8; IMAGE_PIXELS];
        img[0] = 255; // top-left
        let mut out = [0f32; IMAGE_PIXELS];
        write_augmented(&img, false, 0, 0, &mut out);
        assert_eq!(out, tinyconv_data::normalize(&img));
        write_augmented(&img, true, 0, 0, &mut out);
        assert_eq!(out[27], 1.0);
        assert_eq!(out.iter().sum::<f32>(), 1.0);
        write_augmented(&img, false, 1, 2, &mut out);
        assert_eq!(out[28 + 2], 1.0);
        write_augmented(&img, false, -1, 0, &mut out);
        assert_eq!(out.iter().sum::<f32>(), 0.0);
    }

    #[test]
    fn forward_shapes_and_param_layout() -> Result<()> {
        for kind in [ModelKind::Classic, ModelKind::Modern] {
            let model = LeNet::init(kind, 1, &Device::Cpu)?;
            for ((name, var), (want_name, shape)) in model.params.iter().zip(PARAM_SHAPES) {
                assert_eq!(name, &want_name);
                assert_eq!(var.dims(), shape);
            }
            let x = Tensor::zeros((3 * 784, 25), DType::F32, &Device::Cpu)?;
            assert_eq!(model.layers(true).forward(&x)?.dims(), &[3, 10]);
            // Same seed, same weights.
            let again = LeNet::init(kind, 1, &Device::Cpu)?;
            let a = model.params[4].1.flatten_all()?.to_vec1::<f32>()?;
            let b = again.params[4].1.flatten_all()?.to_vec1::<f32>()?;
            assert_eq!(a, b);
        }
        Ok(())
    }

    #[test]
    fn conv0_matches_candle_conv2d() -> Result<()> {
        let dev = Device::Cpu;
        let model = LeNet::init(ModelKind::Modern, 3, &dev)?;
        let layers = model.layers(true);
        let b0 = Tensor::from_vec(vec![0.1f32, -0.2, 0.3, 0.0, 0.5, -0.6], 6, &dev)?;
        let layers = Layers {
            b0: b0.clone(),
            ..layers
        };
        let mut rng = StdRng::seed_from_u64(7);
        let images: Vec<f32> = (0..2 * IMAGE_PIXELS).map(|_| rng.random::<f32>()).collect();
        let mut patches = Vec::new();
        conv0_patches(&images, &mut patches);
        let ours = layers.conv0(&Tensor::from_slice(&patches, (2 * IMAGE_PIXELS, 25), &dev)?)?;
        let reference = Conv2d::new(
            layers.w0.clone(),
            Some(b0),
            Conv2dConfig {
                padding: 2,
                ..Default::default()
            },
        )
        .forward(&Tensor::from_slice(&images, (2, 1, 28, 28), &dev)?)?;
        assert_eq!(ours.dims(), reference.dims());
        let diff = (ours - reference)?.abs()?.max_all()?.to_scalar::<f32>()?;
        assert!(diff < 1e-5, "max difference {diff}");
        Ok(())
    }
}
