//! tinyconv's LeNet-5 against ONNX Runtime, in one process (driven by `scripts/peer_compare.py`).
//!
//! ```text
//! cargo run --release --manifest-path peer/Cargo.toml -- \
//!     --onnx-dir target/peer --ort-dylib .../onnxruntime/capi/libonnxruntime.so.1.32.0
//! ```
//!
//! 1. **Check**: on every image of the shipped 1,000, ONNX Runtime's f32 logits (the models that
//!    `scripts/peer_onnx.py` exported from the same safetensors) against tinyconv's, per algorithm:
//!    the largest `|ort − tinyconv|` and the number of equal predictions; both precisions'
//!    accuracies.
//! 2. **Time**: `--rounds` rounds; each round runs every configuration once over all images
//!    (batch 1, one image per call), ONNX Runtime and tinyconv alternating (tinyconv on the
//!    `auto`, `im2col` and `direct` plans), and records the
//!    process CPU time and the wall time per image. ONNX Runtime runs through its C API (the `ort`
//!    crate, library loaded from `--ort-dylib`) with I/O binding (input and output tensors bound
//!    once; each call copies the image into the bound input), one intra-op and one inter-op thread,
//!    sequential execution, all graph optimizations. tinyconv's f32 models take the image already
//!    converted to `f32` (as ONNX Runtime's input), its int8 models the `u8` pixels (`logits_u8`
//!    quantizes them, `p − 128`, exactly).
//!
//! Prints one JSON document; the script pins this process to one core with `taskset`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use ort::environment::Environment;
use ort::memory::Allocator;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{IoBinding, Session};
use ort::value::Tensor;
use serde::Serialize;
use tinyconv::models::lenet5::{
    self, CLASSES, Image, Lenet5F32, Lenet5I8, Lenet5Plan, PackedF32, PackedI8, SIDE,
};
use tinyconv::models::{Auto, Direct, Im2col};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Parser, Debug)]
#[command(about = "tinyconv LeNet-5 vs ONNX Runtime: logits check and alternating timed rounds")]
struct Args {
    /// Directory with lenet5-{modern,classic}.{f32,s8s8,u8s8}.onnx (scripts/peer_onnx.py).
    #[arg(long)]
    onnx_dir: PathBuf,
    /// ONNX Runtime's shared library (libonnxruntime.so.1.x).
    #[arg(long)]
    ort_dylib: PathBuf,
    /// Timed rounds (each runs every configuration once over all images).
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    /// Passes over the images per configuration and round.
    #[arg(long, default_value_t = 1)]
    passes: usize,
    /// Largest accepted |ONNX Runtime − tinyconv| f32 logit.
    #[arg(long, default_value_t = 1e-4)]
    tolerance: f32,
}

/// One way to compute LeNet-5's logits for image `i` of the data set.
trait Runner {
    fn logits(&mut self, i: usize) -> [f32; CLASSES];
}

/// ONNX Runtime session with its input and output bound once.
struct OrtRunner<'d> {
    session: Session,
    binding: IoBinding,
    input: Tensor<f32>,
    images: &'d [Image],
}

impl<'d> OrtRunner<'d> {
    fn new(env: &Environment, path: &Path, images: &'d [Image]) -> Result<Self> {
        let session = Session::builder(env)
            .map_err(|e| e.to_string())?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| e.to_string())?
            .with_intra_threads(1)
            .map_err(|e| e.to_string())?
            .with_inter_threads(1)
            .map_err(|e| e.to_string())?
            .with_parallel_execution(false)
            .map_err(|e| e.to_string())?
            .commit_from_file(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let input = Tensor::<f32>::new(&Allocator::default(), [1usize, 1, SIDE, SIDE])?;
        let mut binding = session.create_binding()?;
        binding.bind_input("input", &input)?;
        binding.bind_output(
            "logits",
            Tensor::<f32>::new(&Allocator::default(), [1usize, CLASSES])?,
        )?;
        Ok(OrtRunner {
            session,
            binding,
            input,
            images,
        })
    }
}

impl Runner for OrtRunner<'_> {
    fn logits(&mut self, i: usize) -> [f32; CLASSES] {
        // The bound input shares this tensor's buffer (checked: the logits match per image).
        let (_, data) = self.input.extract_tensor_mut();
        data.copy_from_slice(self.images[i].as_flattened().as_flattened());
        let out = self.session.run_binding(&self.binding).expect("ORT run");
        let (_, l) = out["logits"]
            .try_extract_tensor::<f32>()
            .expect("f32 logits");
        l.try_into().expect("10 logits")
    }
}

struct F32Runner<'d, P: Lenet5Plan> {
    model: Lenet5F32<'static, P>,
    images: &'d [Image],
}

impl<P: Lenet5Plan> Runner for F32Runner<'_, P> {
    fn logits(&mut self, i: usize) -> [f32; CLASSES] {
        self.model.logits(&self.images[i]).expect("finite image")
    }
}

struct I8Runner<'d, P: Lenet5Plan> {
    model: Lenet5I8<'static, P>,
    pixels: &'d [[u8; SIDE * SIDE]],
}

impl<P: Lenet5Plan> Runner for I8Runner<'_, P> {
    fn logits(&mut self, i: usize) -> [f32; CLASSES] {
        self.model
            .logits_u8(&self.pixels[i])
            .expect("int8 logits")
            .map(f32::from)
    }
}

/// One timed configuration.
struct Config<'a> {
    model: &'static str,
    engine: &'static str,
    precision: &'static str,
    algorithm: &'static str,
    runner: Box<dyn Runner + 'a>,
}

#[derive(Serialize)]
struct Timing {
    model: &'static str,
    engine: &'static str,
    precision: &'static str,
    algorithm: &'static str,
    correct: usize,
    /// Per round: process CPU µs per image.
    cpu_us: Vec<f64>,
    /// Per round: wall-clock µs per image.
    wall_us: Vec<f64>,
}

#[derive(Serialize)]
struct Check {
    model: &'static str,
    algorithm: &'static str,
    max_abs_diff: f32,
    same_predictions: usize,
}

#[derive(Serialize)]
struct Report {
    images: usize,
    rounds: usize,
    passes: usize,
    tolerance: f32,
    ort_dylib: String,
    ort_api_version: u32,
    checks: Vec<Check>,
    timings: Vec<Timing>,
}

fn argmax(l: &[f32; CLASSES]) -> usize {
    tinyconv::argmax(l).expect("finite logits")
}

fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// tinyconv's f32 model on plan `P`, weights packed at compile time (the crate's shipped ones).
fn f32_config<'a, P: Lenet5Plan>(
    packed: &'static PackedF32<P>,
    images: &'a [Image],
    model: &'static str,
) -> Config<'a> {
    Config {
        model,
        engine: "tinyconv",
        precision: "f32",
        algorithm: P::NAME,
        runner: Box::new(F32Runner::<P> {
            model: Lenet5F32::new(packed),
            images,
        }),
    }
}

/// tinyconv's int8 model on plan `P`.
fn i8_config<'a, P: Lenet5Plan>(
    packed: &'static PackedI8<P>,
    pixels: &'a [[u8; SIDE * SIDE]],
    model: &'static str,
) -> Config<'a> {
    Config {
        model,
        engine: "tinyconv",
        precision: "int8",
        algorithm: P::NAME,
        runner: Box::new(I8Runner::<P> {
            model: Lenet5I8::new(packed),
            pixels,
        }),
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let env = ort::init_from(&args.ort_dylib)?
        .with_name("tinyconv-peer")
        .build()?;
    let data = tinyconv_data::shipped_subset();
    let n = data.len();
    let images: Vec<Image> = data.images.iter().map(lenet5::image_from_u8).collect();
    let pixels: &[[u8; SIDE * SIDE]] = &data.images;

    let mut configs: Vec<Config> = Vec::new();
    for model in ["modern", "classic"] {
        let modern = model == "modern";
        let ort = |kind: &str| -> Result<Box<dyn Runner>> {
            let path = args.onnx_dir.join(format!("lenet5-{model}.{kind}.onnx"));
            Ok(Box::new(OrtRunner::new(&env, &path, &images)?))
        };
        // Per precision, ONNX Runtime's configurations and then tinyconv's plans.
        configs.push(Config {
            model,
            engine: "onnxruntime",
            precision: "f32",
            algorithm: "",
            runner: ort("f32")?,
        });
        if modern {
            configs.push(f32_config(lenet5::modern_f32::<Auto>(), &images, model));
            configs.push(f32_config(lenet5::modern_f32::<Im2col>(), &images, model));
            configs.push(f32_config(lenet5::modern_f32::<Direct>(), &images, model));
        } else {
            configs.push(f32_config(lenet5::classic_f32::<Auto>(), &images, model));
            configs.push(f32_config(lenet5::classic_f32::<Im2col>(), &images, model));
            configs.push(f32_config(lenet5::classic_f32::<Direct>(), &images, model));
        }
        for kind in ["s8s8", "u8s8"] {
            configs.push(Config {
                model,
                engine: "onnxruntime",
                precision: "int8",
                algorithm: if kind == "s8s8" {
                    "qdq-s8s8"
                } else {
                    "qdq-u8s8"
                },
                runner: ort(kind)?,
            });
        }
        if modern {
            configs.push(i8_config(lenet5::modern_i8::<Auto>(), pixels, model));
            configs.push(i8_config(lenet5::modern_i8::<Im2col>(), pixels, model));
            configs.push(i8_config(lenet5::modern_i8::<Direct>(), pixels, model));
        } else {
            configs.push(i8_config(lenet5::classic_i8::<Auto>(), pixels, model));
            configs.push(i8_config(lenet5::classic_i8::<Im2col>(), pixels, model));
            configs.push(i8_config(lenet5::classic_i8::<Direct>(), pixels, model));
        }
    }

    // Check pass (also the warm-up): all logits, through the same calls the timed rounds make.
    let mut all: Vec<Vec<[f32; CLASSES]>> = Vec::new();
    for c in &mut configs {
        all.push((0..n).map(|i| c.runner.logits(i)).collect());
    }
    let mut checks = Vec::new();
    let mut failed = Vec::new();
    for (k, c) in configs.iter().enumerate() {
        if c.engine != "tinyconv" || c.precision != "f32" {
            continue;
        }
        // The ONNX Runtime f32 configuration right before this one in the same model.
        let o = (0..k)
            .rev()
            .find(|&j| configs[j].engine == "onnxruntime" && configs[j].precision == "f32")
            .expect("an ONNX Runtime f32 configuration first");
        let mut max_abs_diff = 0.0f32;
        let mut same = 0;
        for (a, b) in all[k].iter().zip(&all[o]) {
            for (x, y) in a.iter().zip(b) {
                let d = (x - y).abs();
                // NaN sticks (f32::max would drop it).
                if d.is_nan() || d > max_abs_diff {
                    max_abs_diff = d;
                }
            }
            same += usize::from(argmax(a) == argmax(b));
        }
        if max_abs_diff.is_nan() || max_abs_diff > args.tolerance || same != n {
            failed.push(format!(
                "{} f32 {}: max |ort − tinyconv| = {max_abs_diff:e} (tolerance {:e}), \
                 {same} of {n} predictions equal",
                c.model, c.algorithm, args.tolerance
            ));
        }
        checks.push(Check {
            model: c.model,
            algorithm: c.algorithm,
            max_abs_diff,
            same_predictions: same,
        });
    }
    if !failed.is_empty() {
        return Err(failed.join("\n").into());
    }

    let mut timings: Vec<Timing> = configs
        .iter()
        .zip(&all)
        .map(|(c, logits)| Timing {
            model: c.model,
            engine: c.engine,
            precision: c.precision,
            algorithm: c.algorithm,
            correct: logits
                .iter()
                .zip(&data.labels)
                .filter(|&(l, &y)| argmax(l) == y as usize)
                .count(),
            cpu_us: Vec::new(),
            wall_us: Vec::new(),
        })
        .collect();
    let per_round = (n * args.passes) as f64;
    let mut sink = 0.0f32;
    for _ in 0..args.rounds {
        for (c, t) in configs.iter_mut().zip(&mut timings) {
            let (cpu0, wall0) = (process_cpu_seconds(), Instant::now());
            for _ in 0..args.passes {
                for i in 0..n {
                    sink += c.runner.logits(i)[0];
                }
            }
            let wall = wall0.elapsed().as_secs_f64();
            let cpu = process_cpu_seconds() - cpu0;
            t.cpu_us.push(cpu * 1e6 / per_round);
            t.wall_us.push(wall * 1e6 / per_round);
        }
    }
    std::hint::black_box(sink);
    let report = Report {
        images: n,
        rounds: args.rounds,
        passes: args.passes,
        tolerance: args.tolerance,
        ort_dylib: args.ort_dylib.display().to_string(),
        ort_api_version: ort::MINOR_VERSION,
        checks,
        timings,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
