//! `tinyconv-tflite`: inspect a `.tflite` model, or generate the Rust module that runs it.
//!
//! ```text
//! cargo run --release -p tinyconv-tflite -- inspect MODEL.tflite
//! cargo run --release -p tinyconv-tflite -- gen MODEL.tflite -o model.rs
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tinyconv_tflite::{Plan, inspect, parse};

#[derive(Parser)]
#[command(version, about = "Imports TensorFlow Lite models into tinyconv")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the operators, shapes, quantization parameters, MACs per layer, weight bytes and
    /// the buffer plan.
    Inspect {
        /// The .tflite file.
        model: PathBuf,
        /// TFLM's arena use for this model (bytes, the recording allocator's "head"), to compare
        /// with the plan (tools/tflite/models/manifest.json has it for the test models).
        #[arg(long)]
        tflm_arena: Option<usize>,
    },
    /// Writes the Rust module that runs the model with tinyconv.
    Gen {
        /// The .tflite file.
        model: PathBuf,
        /// Where to write the module.
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Inspect { model, tflm_arena } => {
            let bytes = std::fs::read(&model).map_err(|e| format!("{}: {e}", model.display()))?;
            let m = parse(&bytes).map_err(|e| format!("{}: {e}", model.display()))?;
            let plan = Plan::new(&m);
            println!(
                "{}: {} bytes",
                model.display(),
                inspect::thousands(bytes.len() as u64)
            );
            print!("{}", inspect::report(&m, &plan, tflm_arena));
            Ok(())
        }
        Command::Gen { model, output } => {
            tinyconv_tflite::generate_file(&model, &output)
                .map_err(|e| format!("{}: {e}", model.display()))?;
            println!("wrote {}", output.display());
            Ok(())
        }
    }
}
