//! Writes the committed Fashion-MNIST subset: the first 1,000 test images and labels, as gzip IDX
//! files `data/t10k-1000-images-idx3-ubyte.gz` and `data/t10k-1000-labels-idx1-ubyte.gz`.
//!
//! ```text
//! cargo run -p tinyconv-data --bin make_subset [-- SRC_DIR [OUT_DIR]]
//! ```
//!
//! `SRC_DIR` defaults to the Debian package's directory, `OUT_DIR` to the repository's `data/`.
//! The output is reproducible (gzip modification time 0). The library embeds these files with
//! `include_bytes!`, so they must exist for it to compile: to regenerate from scratch, `touch`
//! the two files first.

use std::path::PathBuf;
use std::process::ExitCode;

use tinyconv_data::{DEBIAN_DIR, SUBSET_IMAGES_FILE, SUBSET_LABELS_FILE, SUBSET_LEN};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let src = args
        .next()
        .map_or_else(|| PathBuf::from(DEBIAN_DIR), PathBuf::from);
    let out = args.next().map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data")),
        PathBuf::from,
    );
    let test = match tinyconv_data::load_dir(&src) {
        Ok(ds) => ds,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if test.len() < SUBSET_LEN {
        eprintln!("error: the test split has only {} images", test.len());
        return ExitCode::FAILURE;
    }
    let subset = test.first(SUBSET_LEN);
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let out = out.canonicalize().unwrap_or(out);
    let (images, labels) = (out.join(SUBSET_IMAGES_FILE), out.join(SUBSET_LABELS_FILE));
    if let Err(e) = subset.write_gz_idx(&images, &labels) {
        eprintln!("error: cannot write to {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    // Read back through the validating reader.
    match tinyconv_data::load_files(&images, &labels) {
        Ok(back) if back == subset => {
            println!(
                "wrote {} and {} ({} images)",
                images.display(),
                labels.display(),
                back.len()
            );
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!("error: the written subset reads back differently");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: reading back: {e}");
            ExitCode::FAILURE
        }
    }
}
