//! Replays the fuzzers' inputs through the fuzz targets' own checks (`fuzz/src/checks.rs`,
//! included by path): every saved crash in `tests/fuzz_regressions/<target>-*` and every
//! committed seed in `fuzz/corpus/<target>/`. A crash input fails this test until the bug it
//! found is fixed. The model targets' seeds are the shipped weight files (`models/*.bin`).

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v.into_iter().filter(|p| p.is_file()).collect()
}

fn target(name: &str) -> Option<checks::Check> {
    checks::TARGETS
        .iter()
        .find(|(t, _)| name == *t)
        .map(|&(_, f)| f)
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
        let check = name
            .split_once('-')
            .and_then(|(t, _)| target(t))
            .unwrap_or_else(|| panic!("{name}: no fuzz target of that name"));
        check(&std::fs::read(&path).unwrap());
        replayed += 1;
    }
    println!("replayed {replayed} saved fuzz inputs");
}

#[test]
fn seed_corpora_pass_the_checks() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut replayed = 0;
    for &(name, check) in checks::TARGETS {
        let mut seeds = files(&corpus.join(name));
        if name.starts_with("model_") {
            let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
            seeds.extend(
                files(&models)
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "bin")),
            );
        }
        assert!(!seeds.is_empty(), "no seeds for fuzz target {name}");
        for path in seeds {
            check(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    println!("replayed {replayed} seeds");
}
