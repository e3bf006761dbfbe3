//! LeNet-5 on a microcontroller: classifies the embedded Fashion-MNIST test images (64, the
//! first 32 on the micro:bit; `data/images.bin`) with every
//! enabled configuration (model × precision × algorithm), prints one line per image and a
//! summary, and exits with status 0 only if every result equals the host's
//! (`expected.rs`): int8 logits bit for bit, f32 predictions exactly and f32 logits within
//! [`F32_TOLERANCE`].
//!
//! Per inference it measures the instructions executed (SysTick under QEMU's `-icount`, or
//! `minstret` on RISC-V) and the peak stack (stack painting). The model lives on the stack of
//! the function that runs it, so the peak stack includes its activation buffers: static RAM
//! (`.data` + `.bss`) plus the peak stack is all the RAM the firmware uses.
//!
//! Cargo features choose what is built (all by default): `modern`, `classic`; `i8`, `f32`;
//! `reference`, `im2col`, `direct`. `f32` is built only on the Cortex-M4F: the Cortex-M0 and the
//! RV32IMAC have no FPU and 16 KiB of RAM (and the micro:bit's 256 KiB of flash would not hold the
//! f32 weights, 2 × 241 KiB). On the micro:bit `direct` is left out when both models are enabled
//! (its code does not fit next to both models' weights; see `build.rs`).
#![no_std]
#![no_main]

#[rustfmt::skip]
mod expected;
mod sys;

#[cfg(target_arch = "arm")]
use panic_semihosting as _;

use core::hint::black_box;

use sys::println;
#[allow(unused_imports)]
use tinyconv::models::lenet5::{self, CLASSES, Lenet5F32, Lenet5I8, Lenet5Plan, SIDE};
#[allow(unused_imports)]
use tinyconv::models::{Auto, Direct, Im2col, Reference};

/// Whether f32 configurations are built on this board: only where the core has an FPU.
const F32_BUILT: bool = cfg!(all(feature = "f32", board = "mps2-an386"));

/// Largest difference allowed between a device f32 logit and the host's reference one,
/// relative to `1 + max |host logit|` (summation order and fused multiply-add differ).
const F32_TOLERANCE: f32 = 1e-4;

/// Images classified: all the embedded ones, but the first 32 on the micro:bit, whose 256 KiB
/// of flash hold the two int8 models (2 × 65 KiB), the kernels and 25 KiB of images.
const N_IMAGES: usize = if cfg!(board = "microbit") {
    32
} else {
    expected::IMAGES
};

/// Images in flash: `N_IMAGES` 8-bit 28×28 images, row-major.
static IMAGES: [[u8; SIDE * SIDE]; N_IMAGES] = to_images(include_bytes!("../data/images.bin"));

const fn to_images(bytes: &[u8]) -> [[u8; SIDE * SIDE]; N_IMAGES] {
    assert!(
        bytes.len() == expected::IMAGES * SIDE * SIDE,
        "images.bin has the wrong length"
    );
    let mut out = [[0u8; SIDE * SIDE]; N_IMAGES];
    let mut i = 0;
    while i < N_IMAGES * SIDE * SIDE {
        out[i / (SIDE * SIDE)][i % (SIDE * SIDE)] = bytes[i];
        i += 1;
    }
    out
}

const CLASS_NAMES: [&str; CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// What one inference gave and cost.
#[derive(Clone, Copy)]
struct Outcome {
    /// Predicted class.
    class: usize,
    /// The result equals the host's (int8: logits bit for bit; f32: class, logits within
    /// tolerance).
    matches: bool,
    /// f32: largest relative logit difference from the host; int8: 0.
    deviation: f32,
    /// Instructions executed by the inference call.
    instructions: u64,
    /// Lowest address the stack reached (the model's buffers live in the stack).
    low_water: usize,
}

/// One model × precision × algorithm.
struct Config {
    model: &'static str,
    precision: &'static str,
    algorithm: &'static str,
    /// The model's `RAM_BYTES` (activation buffers and scratch).
    ram_bytes: usize,
    /// The model's `WEIGHT_BYTES`.
    weight_bytes: usize,
    run: fn(usize) -> Outcome,
}

/// Runs `infer` between the instruction-count markers; returns its result and the
/// instructions it took. `infer` is not inlined, so that the measured region is exactly the
/// call, and the caller's frame holds only the model.
#[inline(always)]
fn measure<R>(infer: impl FnOnce() -> R) -> (R, u64) {
    let t0 = sys::ticks();
    sys::bench_start();
    let r = call_not_inlined(infer);
    sys::bench_stop();
    let t1 = sys::ticks();
    (black_box(r), sys::ticks_to_instructions(t1 - t0))
}

#[inline(never)]
fn call_not_inlined<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// One int8 inference of image `i` by the `modern` (`MODERN`) or `classic` model on plan `P`.
#[inline(never)]
#[allow(dead_code)]
fn run_i8<P: Lenet5Plan, const MODERN: bool>(i: usize) -> Outcome {
    let (weights, expected) = if MODERN {
        (lenet5::modern_i8::<P>(), &expected::MODERN_I8_LOGITS[i])
    } else {
        (lenet5::classic_i8::<P>(), &expected::CLASSIC_I8_LOGITS[i])
    };
    let image = black_box(&IMAGES[i]);
    let floor = sys::paint_stack();
    // The model (its activation buffers and scratch) lives in this frame: it is counted in
    // the stack.
    let mut model = Lenet5I8::new(weights);
    let (logits, instructions) = measure(|| model.logits_u8(image));
    let low_water = sys::stack_low_water(floor);
    let Ok(logits) = logits else {
        return Outcome {
            class: CLASSES,
            matches: false,
            deviation: f32::INFINITY,
            instructions,
            low_water,
        };
    };
    Outcome {
        class: tinyconv::argmax_i8(&logits).unwrap_or(CLASSES),
        matches: logits == *expected,
        deviation: 0.0,
        instructions,
        low_water,
    }
}

/// One f32 inference of image `i` by the `modern` (`MODERN`) or `classic` model on plan `P`.
#[inline(never)]
#[allow(dead_code)]
fn run_f32<P: Lenet5Plan, const MODERN: bool>(i: usize) -> Outcome {
    let (weights, expected) = if MODERN {
        (lenet5::modern_f32::<P>(), &expected::MODERN_F32_LOGITS[i])
    } else {
        (lenet5::classic_f32::<P>(), &expected::CLASSIC_F32_LOGITS[i])
    };
    let floor = sys::paint_stack();
    let image = lenet5::image_from_u8(black_box(&IMAGES[i]));
    let mut model = Lenet5F32::new(weights);
    let (logits, instructions) = measure(|| model.logits(&image));
    let low_water = sys::stack_low_water(floor);
    let Ok(logits) = logits else {
        return Outcome {
            class: CLASSES,
            matches: false,
            deviation: f32::INFINITY,
            instructions,
            low_water,
        };
    };
    let class = tinyconv::argmax(&logits).unwrap_or(CLASSES);
    let scale = 1.0 + expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let deviation = logits
        .iter()
        .zip(expected)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs() / scale));
    Outcome {
        class,
        matches: Some(class) == tinyconv::argmax(expected).ok() && deviation <= F32_TOLERANCE,
        deviation,
        instructions,
        low_water,
    }
}

macro_rules! config {
    ($run:ident, $model:literal, $modern:literal, $precision:literal, $alg:ty) => {
        Config {
            model: $model,
            precision: $precision,
            algorithm: <$alg as Lenet5Plan>::NAME,
            ram_bytes: config!(@ram $run, $alg),
            weight_bytes: config!(@weights $run, $alg),
            run: $run::<$alg, $modern>,
        }
    };
    (@ram run_i8, $alg:ty) => { Lenet5I8::<$alg>::RAM_BYTES };
    (@ram run_f32, $alg:ty) => { Lenet5F32::<$alg>::RAM_BYTES };
    (@weights run_i8, $alg:ty) => { Lenet5I8::<$alg>::WEIGHT_BYTES };
    (@weights run_f32, $alg:ty) => { Lenet5F32::<$alg>::WEIGHT_BYTES };
}

/// Every configuration the features enable, in table order.
const CONFIGS: &[Config] = &[
    #[cfg(all(feature = "modern", feature = "i8", feature = "auto"))]
    config!(run_i8, "modern", true, "i8", Auto),
    #[cfg(all(feature = "classic", feature = "i8", feature = "auto"))]
    config!(run_i8, "classic", false, "i8", Auto),
    #[cfg(all(
        feature = "modern",
        feature = "f32",
        feature = "auto",
        board = "mps2-an386"
    ))]
    config!(run_f32, "modern", true, "f32", Auto),
    #[cfg(all(
        feature = "classic",
        feature = "f32",
        feature = "auto",
        board = "mps2-an386"
    ))]
    config!(run_f32, "classic", false, "f32", Auto),
    #[cfg(all(feature = "modern", feature = "i8", feature = "reference"))]
    config!(run_i8, "modern", true, "i8", Reference),
    #[cfg(all(feature = "modern", feature = "i8", feature = "im2col"))]
    config!(run_i8, "modern", true, "i8", Im2col),
    #[cfg(all(
        feature = "modern",
        feature = "i8",
        feature = "direct",
        not(direct_left_out)
    ))]
    config!(run_i8, "modern", true, "i8", Direct),
    #[cfg(all(feature = "classic", feature = "i8", feature = "reference"))]
    config!(run_i8, "classic", false, "i8", Reference),
    #[cfg(all(feature = "classic", feature = "i8", feature = "im2col"))]
    config!(run_i8, "classic", false, "i8", Im2col),
    #[cfg(all(
        feature = "classic",
        feature = "i8",
        feature = "direct",
        not(direct_left_out)
    ))]
    config!(run_i8, "classic", false, "i8", Direct),
    #[cfg(all(
        feature = "modern",
        feature = "f32",
        feature = "reference",
        board = "mps2-an386"
    ))]
    config!(run_f32, "modern", true, "f32", Reference),
    #[cfg(all(
        feature = "modern",
        feature = "f32",
        feature = "im2col",
        board = "mps2-an386"
    ))]
    config!(run_f32, "modern", true, "f32", Im2col),
    #[cfg(all(
        feature = "modern",
        feature = "f32",
        feature = "direct",
        board = "mps2-an386"
    ))]
    config!(run_f32, "modern", true, "f32", Direct),
    #[cfg(all(
        feature = "classic",
        feature = "f32",
        feature = "reference",
        board = "mps2-an386"
    ))]
    config!(run_f32, "classic", false, "f32", Reference),
    #[cfg(all(
        feature = "classic",
        feature = "f32",
        feature = "im2col",
        board = "mps2-an386"
    ))]
    config!(run_f32, "classic", false, "f32", Im2col),
    #[cfg(all(
        feature = "classic",
        feature = "f32",
        feature = "direct",
        board = "mps2-an386"
    ))]
    config!(run_f32, "classic", false, "f32", Direct),
];

/// Running totals of one configuration.
#[derive(Clone, Copy)]
struct Totals {
    matched: u32,
    correct: u32,
    insns_min: u64,
    insns_max: u64,
    insns_sum: u64,
    /// Peak stack of the inference: from the stack pointer where `main` calls it (model,
    /// temporaries and kernels).
    inference_stack_max: usize,
    /// Peak stack of the whole firmware (reset handler, `main` and its tables included).
    stack_max: usize,
    deviation_max: f32,
}

/// Number of enabled configurations.
const N_CONFIGS: usize = CONFIGS.len();

impl Totals {
    const ZERO: Totals = Totals {
        matched: 0,
        correct: 0,
        insns_min: u64::MAX,
        insns_max: 0,
        insns_sum: 0,
        inference_stack_max: 0,
        stack_max: 0,
        deviation_max: 0.0,
    };
}

#[sys::entry]
fn main() -> ! {
    sys::init();
    print_header();
    if N_CONFIGS == 0 {
        println!("FAIL: no configuration enabled");
        sys::exit(false);
    }
    // The only state `main` keeps across inferences (its frame counts in the peak stack; the
    // printing happens in functions of their own, whose frames are gone during inference).
    let mut totals = [Totals::ZERO; N_CONFIGS];
    for i in 0..N_IMAGES {
        let label = expected::LABELS[i] as usize;
        let mut classes = [0u8; N_CONFIGS];
        let mut matches = [false; N_CONFIGS];
        for (k, (c, t)) in CONFIGS.iter().zip(totals.iter_mut()).enumerate() {
            let sp = sys::stack_pointer();
            let o = (c.run)(i);
            t.matched += o.matches as u32;
            t.correct += (o.class == label) as u32;
            t.insns_min = t.insns_min.min(o.instructions);
            t.insns_max = t.insns_max.max(o.instructions);
            t.insns_sum += o.instructions;
            t.inference_stack_max = t.inference_stack_max.max(sp - o.low_water);
            t.stack_max = t.stack_max.max(sys::stack_peak(o.low_water));
            t.deviation_max = t.deviation_max.max(o.deviation);
            classes[k] = o.class as u8;
            matches[k] = o.matches;
        }
        print_image(i, label, &classes, &matches);
    }
    let pass = print_summary(&totals);
    sys::exit(pass)
}

#[inline(never)]
fn print_header() {
    println!(
        "tinyconv LeNet-5 firmware on {}: {} images, {} configurations{}",
        sys::BOARD,
        N_IMAGES,
        N_CONFIGS,
        if F32_BUILT || !cfg!(feature = "f32") {
            ""
        } else {
            " (f32 not built on this board)"
        }
    );
    if cfg!(direct_left_out) {
        println!(
            "direct left out: its code does not fit next to both models in flash (build one model to run it)"
        );
    }
}

/// One line per image: the class each configuration predicted, `!` after a result that differs
/// from the host's.
#[inline(never)]
fn print_image(i: usize, label: usize, classes: &[u8], matches: &[bool]) {
    sys::print!("img {:2} label {} {:<11} |", i, label, CLASS_NAMES[label]);
    for (c, m) in classes.iter().zip(matches) {
        sys::print!(" {}{}", c, if *m { ' ' } else { '!' });
    }
    println!(
        "| {}",
        if matches.iter().all(|m| *m) {
            "ok"
        } else {
            "MISMATCH"
        }
    );
}

/// The summary table and the machine-readable `RESULT` lines; true if every result of every
/// configuration equals the host's.
#[inline(never)]
fn print_summary(totals: &[Totals]) -> bool {
    let n = N_IMAGES;
    println!(
        "model   precision algorithm  match  accuracy   instructions/inference  stack: inference  firmware  RAM_BYTES  WEIGHT_BYTES"
    );
    let mut pass = true;
    for (c, t) in CONFIGS.iter().zip(totals) {
        let mean = t.insns_sum / n as u64;
        pass &= t.matched as usize == n;
        println!(
            "{:<7} {:<9} {:<9} {:>3}/{:<3} {:>5}/{:<3} {:>10} ({}..{}) {:>9} B {:>7} B {:>8} B {:>10} B",
            c.model,
            c.precision,
            c.algorithm,
            t.matched,
            n,
            t.correct,
            n,
            mean,
            t.insns_min,
            t.insns_max,
            t.inference_stack_max,
            t.stack_max,
            c.ram_bytes,
            c.weight_bytes
        );
    }
    // Machine-readable lines for scripts/firmware_report.py.
    for (c, t) in CONFIGS.iter().zip(totals) {
        println!(
            "RESULT board={} model={} precision={} algorithm={} images={} matched={} correct={} insns_mean={} insns_min={} insns_max={} inference_stack={} firmware_stack={} ram_bytes={} weight_bytes={} f32_deviation_ppb={}",
            sys::BOARD_ID,
            c.model,
            c.precision,
            c.algorithm,
            n,
            t.matched,
            t.correct,
            t.insns_sum / n as u64,
            t.insns_min,
            t.insns_max,
            t.inference_stack_max,
            t.stack_max,
            c.ram_bytes,
            c.weight_bytes,
            // Integer parts per billion: no float formatting code on boards without an FPU.
            (t.deviation_max * 1e9) as u64
        );
    }
    if pass {
        println!("PASS: every result equals the host's");
    } else {
        println!("FAIL: results differ from the host's (marked '!')");
    }
    pass
}
