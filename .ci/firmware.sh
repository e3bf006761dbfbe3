#!/usr/bin/env bash
# Firmware CI (called by .ci/run): LeNet-5 on emulated microcontrollers.
# Installs qemu-system-arm and qemu-system-misc (only if missing), the rustup targets and
# llvm-tools; then scripts/firmware_report.py builds the firmware for thumbv7em-none-eabihf
# (mps2-an386, Cortex-M4F), thumbv6m-none-eabi (microbit, Cortex-M0) and
# riscv32imac-unknown-none-elf (sifive_e, RV32IMAC: the default firmware, every int8
# configuration in one binary), runs them under QEMU with timeouts, and fails on a wrong result,
# a timeout or a figure above the budgets stated in the script. It also runs clippy on the
# firmware crate for the three targets. The table goes to target/ci-firmware-table.md (the
# committed docs/firmware-table.md is regenerated on purpose, from a clean commit).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

export DEBIAN_FRONTEND=noninteractive
for pkg in qemu-system-arm:qemu-system-arm qemu-system-misc:qemu-system-riscv32; do
  if ! command -v "${pkg#*:}" >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq "${pkg%%:*}" >/dev/null
  fi
done
# firmware_report.py only builds the RISC-V firmware when QEMU cannot run it; CI must run it.
if ! command -v qemu-system-riscv32 >/dev/null; then
  echo "qemu-system-riscv32 missing (Debian package qemu-system-misc): the RISC-V firmware would not run" >&2
  exit 1
fi
# The instruction-profile QEMU plugin (per-layer counts) is built with gcc against glib.
if ! command -v gcc >/dev/null || ! pkg-config --exists glib-2.0 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  for pkg in gcc pkg-config libglib2.0-dev; do apt-get install -y -qq "$pkg" >/dev/null; done
fi
rustup component add llvm-tools >/dev/null 2>&1 || rustup component add llvm-tools-preview >/dev/null
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imac-unknown-none-elf >/dev/null

# The firmware is its own workspace with its own Cargo.lock and target/ (not CARGO_TARGET_DIR).
unset CARGO_TARGET_DIR
(
  cd firmware
  cargo fmt -- --check
  for target in thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imac-unknown-none-elf; do
    cargo clippy --release --locked --target "$target" -- -D warnings
  done
)

mkdir -p target
# The default firmware of each board runs every configuration (results equal the host's, or
# the run fails); the one-configuration rows are limited to the int8 auto plan here (the full
# table, 32 builds, is `python3 scripts/firmware_report.py`, by hand).
python3 scripts/firmware_report.py --models modern --precisions i8 --algorithms auto \
  --out target/ci-firmware-table.md

# The models generated from .tflite files (firmware/tflite, its own workspace): DS-CNN and
# ResNet-8 on the Cortex-M4 against TensorFlow Lite Micro's goldens (the micro:bit build is
# expected to be refused at compile time: neither model's RAM_BYTES fits its 16 KiB, so clippy
# runs for thumbv7em only). The table goes to target/ci-firmware-tflite-table.md.
(
  cd firmware/tflite
  cargo fmt -- --check
  cargo clippy --release --locked --target thumbv7em-none-eabihf -- -D warnings
)
python3 scripts/firmware_tflite.py --out target/ci-firmware-tflite-table.md
