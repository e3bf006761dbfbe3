//! Puts the memory map of the board that `TARGET` runs on (the LeNet-5 firmware's,
//! `../memory/BOARD.x`) where the linker finds it as `memory.x`, and tells the code which board
//! that is (`cfg(board = "...")`, which `../src/sys` reads too).

use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let board = match target.as_str() {
        "thumbv7em-none-eabihf" => "mps2-an386",
        "thumbv6m-none-eabi" => "microbit",
        other => panic!(
            "tinyconv-firmware-tflite has no memory map for {other}; \
             build with --target thumbv7em-none-eabihf or thumbv6m-none-eabi"
        ),
    };
    let file = format!("../memory/{board}.x");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(&file, out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={file}");
    println!("cargo:rerun-if-changed=build.rs");
    println!(r#"cargo::rustc-check-cfg=cfg(board, values("mps2-an386", "microbit", "sifive-e"))"#);
    println!(r#"cargo::rustc-cfg=board="{board}""#);
}
