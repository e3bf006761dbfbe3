//! What every model's firmware shares: the golden cases (TensorFlow Lite Micro's inputs and
//! outputs, `tools/tflite/models/NAME.golden`, embedded whole), the measurement of one
//! inference, and the report.
//!
//! A model's binary is one line, [`firmware!`]: it runs the generated `Model` on every golden
//! case, compares each output with TFLM's (int8, exact), prints one line per case and a
//! `RESULT` line that `scripts/firmware_tflite.py` reads, and exits with status 0 only if every
//! output equals TFLM's. The model lives in `main`'s frame: the firmware's peak stack includes
//! its arena and scratch, so static RAM (`.data` + `.bss`) plus the peak stack is all the RAM the
//! firmware uses.

/// Console, exit status, SysTick instruction counter and stack painting: the LeNet-5
/// firmware's (`../src/sys`), shared as source.
#[path = "../../src/sys/mod.rs"]
#[allow(dead_code, unused_imports)]
pub mod sys;

/// RAM of the board (`../memory/BOARD.x`): a model whose `Model::RAM_BYTES` does not fit
/// does not build for it.
#[cfg(board = "mps2-an386")]
pub const BOARD_RAM: usize = 4 * 1024 * 1024;
#[cfg(board = "microbit")]
pub const BOARD_RAM: usize = 16 * 1024;

/// Header of a golden file: `b"TCG1"`, element type (1 = int8), three zero bytes, then `u32`
/// cases, input length and output length (little endian); the cases follow, each the input
/// and then TFLM's output.
const HEADER: usize = 20;

const fn word(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
}

/// The int8 cases of a golden file, checked at compile time against the model's lengths.
pub struct Golden {
    bytes: &'static [u8],
    input_len: usize,
    output_len: usize,
}

impl Golden {
    /// Checks the header and the length (a compile-time error when used in a `const`).
    pub const fn new(bytes: &'static [u8], input_len: usize, output_len: usize) -> Golden {
        assert!(bytes.len() >= HEADER, "golden file: no header");
        assert!(
            bytes[0] == b'T' && bytes[1] == b'C' && bytes[2] == b'G' && bytes[3] == b'1',
            "golden file: missing the TCG1 header"
        );
        assert!(bytes[4] == 1, "golden file: not int8");
        assert!(
            word(bytes, 12) == input_len,
            "golden file: input length differs from the model's"
        );
        assert!(
            word(bytes, 16) == output_len,
            "golden file: output length differs from the model's"
        );
        assert!(
            bytes.len() == HEADER + word(bytes, 8) * (input_len + output_len),
            "golden file: length differs from the header's"
        );
        Golden {
            bytes,
            input_len,
            output_len,
        }
    }

    /// Number of cases.
    pub const fn cases(&self) -> usize {
        word(self.bytes, 8)
    }

    /// Case `i`: the input and TFLM's output, as int8.
    pub fn case(&self, i: usize) -> (&'static [i8], &'static [i8]) {
        let at = HEADER + i * (self.input_len + self.output_len);
        let input = &self.bytes[at..at + self.input_len];
        let output = &self.bytes[at + self.input_len..at + self.input_len + self.output_len];
        (as_i8(input), as_i8(output))
    }
}

fn as_i8(bytes: &'static [u8]) -> &'static [i8] {
    // SAFETY: i8 and u8 have the same size, alignment and validity (every bit pattern).
    unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<i8>(), bytes.len()) }
}

/// Runs `infer` between the instruction-count markers; returns the instructions it took.
/// `infer` is not inlined, so that the measured region is exactly the call.
#[inline(always)]
pub fn measure(infer: impl FnOnce()) -> u64 {
    let t0 = sys::ticks();
    sys::bench_start();
    call_not_inlined(infer);
    sys::bench_stop();
    let t1 = sys::ticks();
    sys::ticks_to_instructions(t1 - t0)
}

#[inline(never)]
fn call_not_inlined(f: impl FnOnce()) {
    f()
}

/// What the firmware found over all cases.
pub struct Totals {
    pub cases: usize,
    pub matched: usize,
    pub insns_min: u64,
    pub insns_max: u64,
    pub insns_sum: u64,
    /// Peak stack of the inference itself, below `main`'s frame (which holds the model).
    pub inference_stack: usize,
    /// Peak stack of the whole firmware, the model in `main`'s frame included.
    pub stack: usize,
}

impl Totals {
    pub const ZERO: Totals = Totals {
        cases: 0,
        matched: 0,
        insns_min: u64::MAX,
        insns_max: 0,
        insns_sum: 0,
        inference_stack: 0,
        stack: 0,
    };
}

/// Facts about the model, printed in the `RESULT` line.
pub struct ModelInfo {
    pub name: &'static str,
    pub ram_bytes: usize,
    pub arena_bytes: usize,
    pub weight_bytes: usize,
    pub macs: u64,
}

/// Prints one case's line.
#[inline(never)]
pub fn print_case(i: usize, output: &[i8], want: &[i8], instructions: u64) {
    let verdict = if output == want { "equal" } else { "DIFFERENT" };
    sys::println!(
        "case {:2}: {} instructions, output {} to TFLM's",
        i,
        instructions,
        verdict
    );
    if output != want {
        sys::println!("  ours {:?}", output);
        sys::println!("  TFLM {:?}", want);
    }
}

/// Prints the summary and the `RESULT` line; true when every case matched.
#[inline(never)]
pub fn print_summary(m: &ModelInfo, t: &Totals) -> bool {
    let pass = t.cases > 0 && t.matched == t.cases;
    sys::println!(
        "RESULT board={} model={} cases={} matched={} insns_mean={} insns_min={} insns_max={} inference_stack={} firmware_stack={} ram_bytes={} arena_bytes={} weight_bytes={} macs={}",
        sys::BOARD_ID,
        m.name,
        t.cases,
        t.matched,
        t.insns_sum / t.cases.max(1) as u64,
        t.insns_min,
        t.insns_max,
        t.inference_stack,
        t.stack,
        m.ram_bytes,
        m.arena_bytes,
        m.weight_bytes,
        m.macs,
    );
    sys::println!(
        "{}: {} of {} outputs equal to TFLM's: {}",
        m.name,
        t.matched,
        t.cases,
        if pass { "PASS" } else { "FAIL" }
    );
    pass
}

/// The firmware of the generated model `tinyconv_tflite_generated::$model`, checked against
/// `tools/tflite/models/$model.golden`.
macro_rules! firmware {
    ($model:ident) => {
        use common::sys;
        use panic_semihosting as _;
        use tinyconv_tflite_generated::$model::Model;

        const _: () = assert!(
            Model::RAM_BYTES < common::BOARD_RAM,
            "the model does not fit the board's RAM (Model::RAM_BYTES)"
        );

        static GOLDEN: common::Golden = common::Golden::new(
            include_bytes!(concat!(
                "../../../../tools/tflite/models/",
                stringify!($model),
                ".golden"
            )),
            Model::INPUT_LEN,
            Model::OUTPUT_LEN,
        );

        #[sys::entry]
        fn main() -> ! {
            sys::init();
            sys::println!(
                "{} on {}: {} golden cases from TensorFlow Lite Micro",
                stringify!($model),
                sys::BOARD,
                GOLDEN.cases()
            );
            // The model (arena and scratch) lives in this frame.
            let mut model = Model::new();
            let mut output = [0i8; Model::OUTPUT_LEN];
            let mut t = common::Totals::ZERO;
            for i in 0..GOLDEN.cases() {
                let (input, want) = GOLDEN.case(i);
                let Ok(input) = <&[i8; Model::INPUT_LEN]>::try_from(input) else {
                    sys::exit(false)
                };
                let input = core::hint::black_box(input);
                let sp = sys::stack_pointer();
                let floor = sys::paint_stack();
                let instructions = common::measure(|| model.run(input, &mut output));
                let low_water = sys::stack_low_water(floor);
                let output = core::hint::black_box(&output);
                t.cases += 1;
                t.matched += usize::from(output[..] == want[..]);
                t.insns_min = t.insns_min.min(instructions);
                t.insns_max = t.insns_max.max(instructions);
                t.insns_sum += instructions;
                t.inference_stack = t.inference_stack.max(sp - low_water);
                t.stack = t.stack.max(sys::stack_peak(low_water));
                common::print_case(i, &output[..], want, instructions);
            }
            let info = common::ModelInfo {
                name: stringify!($model),
                ram_bytes: Model::RAM_BYTES,
                arena_bytes: Model::ARENA_BYTES,
                weight_bytes: Model::WEIGHT_BYTES,
                macs: Model::MACS,
            };
            let pass = common::print_summary(&info, &t);
            sys::exit(pass)
        }
    };
}
