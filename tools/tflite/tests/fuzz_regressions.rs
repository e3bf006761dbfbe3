//! Replays the importer's fuzz inputs through the fuzz targets' own checks
//! (`fuzz/src/tflite.rs`, included by path): every saved crash in
//! `tests/fuzz_regressions/<target>-*` (where `fuzz/run.sh` puts them) and every committed seed
//! in `fuzz/corpus/<target>/`.

#[path = "../../../fuzz/src/tflite.rs"]
mod tflite;

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v.into_iter().filter(|p| p.is_file()).collect()
}

#[test]
fn saved_crashes_pass_the_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut replayed = 0;
    for path in files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            continue;
        }
        let check = tflite::TARGETS
            .iter()
            .find(|(t, _)| name.split_once('-').is_some_and(|(p, _)| p == *t))
            .map(|&(_, f)| f)
            .unwrap_or_else(|| panic!("{name}: no importer fuzz target of that name"));
        check(&std::fs::read(&path).unwrap());
        replayed += 1;
    }
    println!("replayed {replayed} saved fuzz inputs");
}

#[test]
fn seed_corpora_pass_the_checks() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for &(name, check) in tflite::TARGETS {
        let seeds = files(&corpus.join(name));
        assert!(!seeds.is_empty(), "no seeds for fuzz target {name}");
        for path in seeds {
            check(&std::fs::read(&path).unwrap());
        }
    }
}
