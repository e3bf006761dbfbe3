//! The committed subset under `data/` is what `shipped_subset()` returns, and matches the Debian
//! package's test split when that is installed.

use tinyconv_data::{DEBIAN_DIR, SUBSET_LEN, debian_test_split_present, load_dir, shipped_subset};

#[test]
fn shipped_subset_has_1000_valid_images() {
    let ds = shipped_subset();
    assert_eq!(ds.len(), SUBSET_LEN);
    assert_eq!(ds.labels.len(), SUBSET_LEN);
    assert!(ds.labels.iter().all(|&l| l < 10));
    // Every class is represented in the first 1,000 test images.
    for class in 0..10u8 {
        assert!(ds.labels.contains(&class), "class {class} missing");
    }
    // Not all-zero images.
    assert!(ds.images.iter().all(|img| img.iter().any(|&p| p > 0)));
}

#[test]
fn shipped_subset_matches_debian_test_split() {
    if !debian_test_split_present() {
        println!(
            "note: {DEBIAN_DIR} not installed (apt-get install dataset-fashion-mnist); skipping"
        );
        return;
    }
    let full = load_dir(DEBIAN_DIR).expect("the Debian test split loads");
    assert_eq!(full.len(), 10_000);
    let subset = shipped_subset();
    assert_eq!(subset.images[0], full.images[0]);
    assert_eq!(subset.labels[0], full.labels[0]);
    assert_eq!(subset, full.first(SUBSET_LEN));
}
