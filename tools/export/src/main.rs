//! `tinyconv-export`: PyTorch-layout LeNet-5 safetensors → tinyconv weight files.
//!
//! ```text
//! cargo run --release -p tinyconv-export -- --model modern models/lenet5-modern.safetensors
//! ```
//! writes `models/lenet5-modern.f32.bin` (tinyconv layouts) and, once quantized,
//! `models/lenet5-modern.i8.bin`.
//!
//! Conversions: conv filters `[C_out][C_in][KH][KW]` → `[C_out][KH][KW][C_in]`; the first dense
//! layer's columns from PyTorch's flatten order `(c, h, w)` to tinyconv's `(h, w, c)`.

mod f32_export;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use tinyconv::models::lenet5::Variant;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Model {
    Classic,
    Modern,
}

#[derive(Parser, Debug)]
#[command(
    about = "Convert LeNet-5 safetensors (PyTorch names and layouts) to tinyconv weight files"
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
}

fn main() -> Result<()> {
    let args = Args::parse();
    let variant = match args.model {
        Model::Classic => Variant::Classic,
        Model::Modern => Variant::Modern,
    };
    let bytes =
        std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let weights = f32_export::from_safetensors(&bytes, variant)?;
    let out_dir = args
        .out_dir
        .or_else(|| args.input.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    let f32_path = out_dir.join(format!("lenet5-{}.f32.bin", variant.name()));
    let blob = f32_export::encode(&weights);
    // Round trip through the library's own decoder before writing.
    let back = tinyconv::models::lenet5::Lenet5Weights::decode(&blob)
        .map_err(|e| anyhow::anyhow!("encoded file does not decode: {e}"))?;
    anyhow::ensure!(back == weights, "encoded file decodes to different weights");
    std::fs::write(&f32_path, &blob).with_context(|| format!("writing {}", f32_path.display()))?;
    println!("wrote {} ({} bytes)", f32_path.display(), blob.len());
    Ok(())
}
