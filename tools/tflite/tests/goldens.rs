//! Every committed golden file parses and holds at least one real and one random case.

use tinyconv_tflite::golden::{Golden, GoldenType};

const MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models");

#[test]
fn committed_goldens_parse() {
    let mut seen = 0;
    for entry in std::fs::read_dir(MODELS).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "golden") {
            let golden = Golden::parse(&std::fs::read(&path).unwrap()).unwrap();
            assert!(
                golden.len() >= 20,
                "{}: {} cases",
                path.display(),
                golden.len()
            );
            let f32_model = path
                .file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with("_f32");
            let want = if f32_model {
                GoldenType::F32
            } else {
                GoldenType::I8
            };
            assert_eq!(golden.element_type(), want, "{}", path.display());
            assert!(path.with_extension("tflite").exists(), "{}", path.display());
            seen += 1;
        }
    }
    assert_eq!(seen, 8);
}
