//! Puts the memory map of the board that `TARGET` runs on where the linker finds it as `memory.x`,
//! and tells the code which board that is (`cfg(board = "...")`).

use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let board = match target.as_str() {
        "thumbv7em-none-eabihf" => "mps2-an386",
        "thumbv6m-none-eabi" => "microbit",
        "riscv32imac-unknown-none-elf" => "sifive-e",
        other => panic!(
            "tinyconv-firmware has no memory map for {other}; \
             build with --target thumbv7em-none-eabihf, thumbv6m-none-eabi or riscv32imac-unknown-none-elf"
        ),
    };
    let file = format!("memory/{board}.x");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(&file, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={file}");
    println!("cargo:rerun-if-changed=build.rs");
    println!(r#"cargo::rustc-check-cfg=cfg(board, values("mps2-an386", "microbit", "sifive-e"))"#);
    println!(r#"cargo::rustc-cfg=board="{board}""#);
    // On the micro:bit the int8 direct kernel's code (~120 KB at opt-level 3 today) does not fit
    // in 256 KiB of flash next to both models' weights (2 × 65 KiB): with both models enabled
    // the direct configurations are left out (build one model to run them there).
    println!("cargo::rustc-check-cfg=cfg(direct_left_out)");
    let both_models = env::var_os("CARGO_FEATURE_MODERN").is_some()
        && env::var_os("CARGO_FEATURE_CLASSIC").is_some();
    if board == "microbit" && both_models && env::var_os("CARGO_FEATURE_DIRECT").is_some() {
        println!("cargo::rustc-cfg=direct_left_out");
    }
}
