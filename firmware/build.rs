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
    // `direct_left_out` once kept int8 direct out of the default micro:bit build, whose flash
    // it did not fit next to both models' weights. It fits now (llvm-size -A, thumbv6m,
    // opt-level 3, fat LTO): `.text` is 29,572 B for `--features modern,i8,direct` against
    // 21,412 B for `modern,i8,reference`, and the default build with every int8 configuration
    // is 220,036 B of the 256 KiB (`.vector_table + .text + .rodata`). The cfg is never set any
    // more; it stays declared for the code that still reads it.
    println!("cargo::rustc-check-cfg=cfg(direct_left_out)");
}
