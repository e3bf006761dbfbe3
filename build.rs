//! `cfg(tinyconv_dsp)` on targets whose cores all have Arm's DSP extension (ARMv7E-M: Cortex-M4,
//! M7), where the kernel families' `select` picks the `pairs` int8 kernels. Stable Rust does not
//! expose `target_feature = "dsp"` to `cfg`, so the target's name decides.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tinyconv_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em-") {
        println!("cargo::rustc-cfg=tinyconv_dsp");
    }
}
