//! The main job: LeNet-5 (classic and modern) classifying Fashion-MNIST, per model × precision ×
//! algorithm, with accuracy, µs per image, RAM and weight bytes, and confusion matrices.
//!
//! ```text
//! cargo run --release --example lenet                  # ~10 s: 2,000 test images, references on 500
//! cargo run --release --example lenet -- --full        # every row on every test image (minutes)
//! cargo run --release --example lenet -- --data DIR    # the test set from DIR
//! cargo run --release --example lenet -- --json        # one JSON document on stdout
//! cargo run --release --example lenet -- --png maps.png  # an image and its conv1 feature maps
//! ```
//!
//! The test images are the Debian package's 10,000 if it is installed, else the 1,000 shipped in
//! `data/`. By default the rows classify the first `--images` (2,000) of them and the naive
//! reference rows (1–4 ms per image) the first `--reference-images` (500), so the run takes
//! seconds, not minutes; `--full` runs every row on every image (what `scripts/lenet_table.py`
//! reports). Progress goes to stderr, a one-line summary ends the output.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow_free::Result;
use clap::Parser;
use serde::Serialize;
use tinyconv::models::lenet5::{
    self, Image, Lenet5F32, Lenet5I8, Lenet5I8Weights, Lenet5Plan, Lenet5Weights, PackedF32,
    PackedI8,
};
use tinyconv::models::{Auto, Direct, Im2col, Reference};
use tinyconv_data::{CLASS_NAMES, Dataset};

/// The example's own tiny error plumbing (no extra dependency needed for a `Box<dyn Error>`).
mod anyhow_free {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;
}

#[derive(Parser, Debug)]
#[command(
    about = "LeNet-5 on Fashion-MNIST with tinyconv: accuracy, speed and memory per configuration"
)]
struct Args {
    /// Directory with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (default: the
    /// Debian package's directory if present, else the 1,000 images shipped in the repo).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Use only the shipped 1,000 images even if the Debian package is installed.
    #[arg(long)]
    shipped: bool,
    /// Images the optimised rows classify (the first ones).
    #[arg(long, default_value_t = 2000, value_name = "N")]
    images: usize,
    /// Images the slow reference rows classify (the first ones).
    #[arg(long, default_value_t = 500, value_name = "N")]
    reference_images: usize,
    /// Every row on every image (about 2 minutes for 10,000 images on one core).
    #[arg(long)]
    full: bool,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    json: bool,
    /// Write a PNG of test image INDEX and its conv1 feature maps (modern f32) to this file.
    #[arg(long)]
    png: Option<PathBuf>,
    /// The test image drawn by --png.
    #[arg(long, default_value_t = 0)]
    index: usize,
}

#[derive(Serialize, Debug, Clone)]
struct Row {
    model: &'static str,
    precision: &'static str,
    algorithm: &'static str,
    images: usize,
    correct: usize,
    accuracy: f64,
    micros_per_image: f64,
    ram_bytes: usize,
    weight_bytes: usize,
    #[serde(skip)]
    confusion: [[usize; 10]; 10],
}

#[derive(Serialize)]
struct Report {
    images: usize,
    source: String,
    results: Vec<Row>,
}

fn to_image(pixels: &[u8; 784]) -> Image {
    lenet5::image_from_u8(pixels)
}

/// Classifies every image with `classify`, timing the loop.
fn evaluate(
    data: &Dataset,
    mut classify: impl FnMut(&[u8; 784]) -> usize,
) -> (usize, f64, [[usize; 10]; 10]) {
    let mut confusion = [[0usize; 10]; 10];
    let start = Instant::now();
    let predictions: Vec<usize> = data.images.iter().map(&mut classify).collect();
    let micros = start.elapsed().as_secs_f64() * 1e6 / data.len() as f64;
    for (&p, &l) in predictions.iter().zip(&data.labels) {
        confusion[l as usize][p] += 1;
    }
    let correct = (0..10).map(|c| confusion[c][c]).sum();
    (correct, micros, confusion)
}

fn f32_row<P: Lenet5Plan>(data: &Dataset, w: &Lenet5Weights) -> Row {
    let packed = Box::new(PackedF32::<P>::pack(w).expect("LeNet-5 packs for every plan"));
    let mut model = Box::new(Lenet5F32::new(&*packed));
    let (correct, micros, confusion) = evaluate(data, |px| {
        model.predict(&to_image(px)).expect("finite input")
    });
    Row {
        model: w.variant.name(),
        precision: "f32",
        algorithm: P::NAME,
        images: data.len(),
        correct,
        accuracy: correct as f64 / data.len() as f64,
        micros_per_image: micros,
        ram_bytes: Lenet5F32::<P>::RAM_BYTES,
        weight_bytes: Lenet5F32::<P>::WEIGHT_BYTES,
        confusion,
    }
}

fn i8_row<P: Lenet5Plan>(data: &Dataset, w: &Lenet5I8Weights) -> Row {
    let packed = Box::new(PackedI8::<P>::pack(w).expect("LeNet-5 packs for every plan"));
    let mut model = Box::new(Lenet5I8::new(&*packed));
    let (correct, micros, confusion) =
        evaluate(data, |px| model.predict_u8(px).expect("int8 inference"));
    Row {
        model: w.variant().name(),
        precision: "i8",
        algorithm: P::NAME,
        images: data.len(),
        correct,
        accuracy: correct as f64 / data.len() as f64,
        micros_per_image: micros,
        ram_bytes: Lenet5I8::<P>::RAM_BYTES,
        weight_bytes: Lenet5I8::<P>::WEIGHT_BYTES,
        confusion,
    }
}

fn load(args: &Args) -> Result<(Dataset, String)> {
    if let Some(dir) = &args.data {
        // The loader's errors name the file and what is wrong with it.
        return Ok((tinyconv_data::load_dir(dir)?, dir.display().to_string()));
    }
    if !args.shipped && tinyconv_data::debian_test_split_present() {
        let d = tinyconv_data::load_dir(tinyconv_data::DEBIAN_DIR)?;
        return Ok((d, tinyconv_data::DEBIAN_DIR.to_string()));
    }
    Ok((
        tinyconv_data::shipped_subset(),
        "shipped subset (data/)".to_string(),
    ))
}

fn print_table(rows: &[Row], images: usize, source: &str) {
    println!("LeNet-5 on {images} Fashion-MNIST test images ({source})\n");
    println!(
        "{:<8} {:<9} {:<10} {:>7} {:>9} {:>9} {:>10} {:>10} {:>12}",
        "model",
        "precision",
        "algorithm",
        "images",
        "correct",
        "accuracy",
        "µs/image",
        "RAM bytes",
        "weight bytes"
    );
    for r in rows {
        println!(
            "{:<8} {:<9} {:<10} {:>7} {:>9} {:>8.2}% {:>10.1} {:>10} {:>12}",
            r.model,
            r.precision,
            r.algorithm,
            r.images,
            r.correct,
            100.0 * r.accuracy,
            r.micros_per_image,
            r.ram_bytes,
            r.weight_bytes
        );
    }
}

fn print_confusion(r: &Row) {
    println!(
        "\nConfusion matrix, {} {} {} (rows: true class, columns: predicted)",
        r.model, r.precision, r.algorithm
    );
    print!("{:>12}", "");
    for c in 0..10 {
        print!("{c:>6}");
    }
    println!();
    for (t, row) in r.confusion.iter().enumerate() {
        print!("{:>2} {:<9}", t, truncate(CLASS_NAMES[t], 9));
        for n in row {
            print!("{n:>6}");
        }
        println!();
    }
}

fn truncate(s: &str, n: usize) -> &str {
    s.char_indices().nth(n).map_or(s, |(i, _)| &s[..i])
}

/// Writes the image and its six conv1 maps side by side, each scaled ×4, grey.
fn write_png(path: &Path, pixels: &[u8; 784]) -> Result<()> {
    const S: usize = 4;
    const GAP: usize = 4;
    let model = Lenet5F32::new(lenet5::modern_f32::<Direct>());
    let mut maps = [[[0.0f32; 6]; 28]; 28];
    model
        .conv1_maps(&to_image(pixels), &mut maps)
        .map_err(|e| format!("conv1 feature maps: {e}"))?;
    let panels = 7;
    let (w, h) = (panels * (28 * S + GAP) - GAP, 28 * S);
    let mut img = vec![255u8; w * h];
    for p in 0..panels {
        let value = |y: usize, x: usize| -> f32 {
            if p == 0 {
                pixels[y * 28 + x] as f32 / 255.0
            } else {
                maps[y][x][p - 1]
            }
        };
        let (mut lo, mut hi) = (f32::MAX, f32::MIN);
        for y in 0..28 {
            for x in 0..28 {
                lo = lo.min(value(y, x));
                hi = hi.max(value(y, x));
            }
        }
        let range = (hi - lo).max(1e-6);
        for y in 0..28 * S {
            for x in 0..28 * S {
                let v = (value(y / S, x / S) - lo) / range;
                img[y * w + p * (28 * S + GAP) + x] = (v * 255.0).round() as u8;
            }
        }
    }
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .and_then(|mut wr| wr.write_image_data(&img))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// Runs one row with its progress on stderr: `[ 3/16] classic f32 direct on 10000 images ... 0.8 s`.
fn timed(step: usize, total: usize, what: &str, images: usize, row: impl FnOnce() -> Row) -> Row {
    eprint!("[{step:>2}/{total}] {what:<24} on {images:>5} images ... ");
    let start = Instant::now();
    let r = row();
    eprintln!("{:.1} s", start.elapsed().as_secs_f64());
    r
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
    let (data, source) = load(args)?;
    if let Some(path) = &args.png {
        let px = data.images.get(args.index).ok_or_else(|| {
            format!(
                "--index {} is beyond the {} images of {source}",
                args.index,
                data.len()
            )
        })?;
        write_png(path, px)?;
        if !args.json {
            println!(
                "wrote {} (test image {}: {}, and its six conv1 feature maps)",
                path.display(),
                args.index,
                CLASS_NAMES[data.labels[args.index] as usize]
            );
        }
    }
    let all = data.len();
    let (n, ref_images) = if args.full {
        (all, all)
    } else {
        (args.images.min(all), args.reference_images.min(all))
    };
    let (data, ref_data) = (data.first(n), data.first(ref_images));
    let total = 16;
    let mut rows: Vec<Row> = Vec::new();
    for (w, q) in [
        (&lenet5::CLASSIC_F32, &lenet5::CLASSIC_I8),
        (&lenet5::MODERN_F32, &lenet5::MODERN_I8),
    ] {
        let m = w.variant.name();
        let mut row = |what: &str, images: usize, f: &dyn Fn() -> Row| {
            let r = timed(rows.len() + 1, total, &format!("{m} {what}"), images, f);
            rows.push(r);
        };
        row("f32 reference", ref_images, &|| {
            f32_row::<Reference>(&ref_data, w)
        });
        row("f32 im2col", n, &|| f32_row::<Im2col>(&data, w));
        row("f32 direct", n, &|| f32_row::<Direct>(&data, w));
        row("f32 auto", n, &|| f32_row::<Auto>(&data, w));
        row("i8 reference", ref_images, &|| {
            i8_row::<Reference>(&ref_data, q)
        });
        row("i8 im2col", n, &|| i8_row::<Im2col>(&data, q));
        row("i8 direct", n, &|| i8_row::<Direct>(&data, q));
        row("i8 auto", n, &|| i8_row::<Auto>(&data, q));
    }
    if args.json {
        let report = Report {
            images: n,
            source: source.clone(),
            results: rows.clone(),
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&rows, n, &source);
        for r in rows.iter().filter(|r| r.algorithm == "direct") {
            print_confusion(r);
        }
    }
    let best_i8 = rows
        .iter()
        .filter(|r| r.model == "modern" && r.precision == "i8" && r.algorithm != "reference")
        .min_by(|a, b| a.micros_per_image.total_cmp(&b.micros_per_image))
        .ok_or("no int8 rows")?;
    let summary = format!(
        "summary: {} configurations (classic/modern × f32/int8 × reference/im2col/direct/auto) on \
         {n} of {all} test images ({source}; reference rows on {ref_images}{}); fastest modern \
         int8: {}, {:.2} % at {:.0} µs/image; {:.1} s",
        rows.len(),
        if n < all || ref_images < all {
            ", --full for all"
        } else {
            ""
        },
        best_i8.algorithm,
        100.0 * best_i8.accuracy,
        best_i8.micros_per_image,
        started.elapsed().as_secs_f64()
    );
    // With --json, stdout holds only the JSON document.
    if args.json {
        eprintln!("{summary}");
    } else {
        println!("\n{summary}");
    }
    Ok(())
}
