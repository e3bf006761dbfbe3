//! `tinyconv-export`: PyTorch-layout LeNet-5 safetensors → tinyconv weight files, f32 and int8.
//!
//! ```text
//! cargo run --release -p tinyconv-export -- --model modern models/lenet5-modern.safetensors
//! ```
//! writes `models/lenet5-modern.f32.bin` (tinyconv layouts) and `models/lenet5-modern.i8.bin`
//! (post-training quantization calibrated on the first `--calibration` training images), then
//! reports both models' accuracy on the test set.
//!
//! Conversions: conv filters `[C_out][C_in][KH][KW]` → `[C_out][KH][KW][C_in]`; the first dense
//! layer's columns from PyTorch's flatten order `(c, h, w)` to tinyconv's `(h, w, c)`.

mod f32_export;
mod quantize;

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use clap::{Parser, ValueEnum};
use tinyconv::models::Auto;
use tinyconv::models::lenet5::{
    Lenet5F32, Lenet5I8, Lenet5I8Weights, Lenet5Weights, PackedF32, PackedI8, Variant,
    image_from_u8,
};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Model {
    Classic,
    Modern,
}

#[derive(Parser, Debug)]
#[command(
    about = "Convert LeNet-5 safetensors (PyTorch names and layouts) to tinyconv weight files, f32 and int8"
)]
struct Args {
    /// Which variant the safetensors hold.
    #[arg(long, value_enum)]
    model: Model,
    /// Input safetensors file with `net.{0,3,7,9,11}.{weight,bias}`.
    input: PathBuf,
    /// Output directory (default: the input's directory).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Fashion-MNIST directory (training images for calibration, test images for the report).
    #[arg(long, default_value = tinyconv_data::DEBIAN_DIR)]
    data: PathBuf,
    /// Number of training images (the first ones) used to calibrate activation ranges.
    #[arg(long, default_value_t = 2000)]
    calibration: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let variant = match args.model {
        Model::Classic => Variant::Classic,
        Model::Modern => Variant::Modern,
    };
    let bytes =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let weights = f32_export::from_safetensors(&bytes, variant)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let out_dir = args
        .out_dir
        .clone()
        .or_else(|| args.input.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));

    let mut blob = vec![0u8; Lenet5Weights::ENCODED_LEN];
    weights.encode_into(&mut blob).map_err(|e| anyhow!("{e}"))?;
    let back =
        Lenet5Weights::decode(&blob).map_err(|e| anyhow!("encoded file does not decode: {e}"))?;
    anyhow::ensure!(back == weights, "encoded file decodes to different weights");
    let f32_path = out_dir.join(format!("lenet5-{}.f32.bin", variant.name()));
    std::fs::write(&f32_path, &blob).with_context(|| format!("writing {}", f32_path.display()))?;
    println!("wrote {} ({} bytes)", f32_path.display(), blob.len());

    let train = tinyconv_data::load_train_dir(&args.data)
        .with_context(|| format!("loading training images from {}", args.data.display()))?;
    let calib: Vec<[f32; 784]> = train
        .images
        .iter()
        .take(args.calibration)
        .map(tinyconv_data::normalize)
        .collect();
    let ranges = quantize::calibrate(&weights, &calib);
    for (name, r) in ["conv1", "conv2", "fc1", "fc2", "fc3"].iter().zip(&ranges) {
        println!(
            "calibration {name:<5} range [{:>9.4}, {:>9.4}]",
            r.min, r.max
        );
    }
    let q = quantize::quantize(&weights, &ranges)?;
    let mut qblob = vec![0u8; Lenet5I8Weights::encoded_len(variant)];
    q.encode_into(&mut qblob).map_err(|e| anyhow!("{e}"))?;
    let i8_path = out_dir.join(format!("lenet5-{}.i8.bin", variant.name()));
    std::fs::write(&i8_path, &qblob).with_context(|| format!("writing {}", i8_path.display()))?;
    println!("wrote {} ({} bytes)", i8_path.display(), qblob.len());

    let test = tinyconv_data::load_dir(&args.data)?;
    let packed_f = Box::new(PackedF32::<Auto>::pack(&weights).map_err(|e| anyhow!("{e}"))?);
    let packed_i = Box::new(PackedI8::<Auto>::pack(&q).map_err(|e| anyhow!("{e}"))?);
    let mut f = Box::new(Lenet5F32::new(&*packed_f));
    let mut i = Box::new(Lenet5I8::new(&*packed_i));
    let (mut cf, mut ci) = (0, 0);
    for (img, &label) in test.images.iter().zip(&test.labels) {
        cf += usize::from(
            f.predict(&image_from_u8(img)).map_err(|e| anyhow!("{e}"))? == label as usize,
        );
        ci += usize::from(i.predict_u8(img).map_err(|e| anyhow!("{e}"))? == label as usize);
    }
    let n = test.len() as f64;
    println!(
        "{} on {} test images: f32 {:.2} %, int8 {:.2} %",
        variant.name(),
        test.len(),
        100.0 * cf as f64 / n,
        100.0 * ci as f64 / n
    );
    Ok(())
}
