#!/usr/bin/env bash
# Firmware CI (called by .ci/run): LeNet-5 on emulated microcontrollers.
# Installs qemu-system-arm (only if missing), the rustup targets and llvm-tools; then
# scripts/firmware_report.py builds the firmware for thumbv7em-none-eabihf (mps2-an386,
# Cortex-M4F), thumbv6m-none-eabi (microbit, Cortex-M0) and riscv32imac-unknown-none-elf
# (build only), runs every configuration on both QEMU machines with timeouts, and fails on a wrong
# result, a timeout or a figure above the budgets stated in the script. It also runs clippy on
# the firmware crate for the three targets.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

if ! command -v qemu-system-arm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq qemu-system-arm >/dev/null
fi
# The instruction-profile QEMU plugin (per-layer counts) is built with gcc against glib.
if ! command -v gcc >/dev/null || ! pkg-config --exists glib-2.0 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq gcc pkg-config libglib2.0-dev >/dev/null
fi
rustup component add llvm-tools >/dev/null 2>&1 || # The instruction-profile QEMU plugin (per-layer counts) is built with gcc against glib.
if ! command -v gcc >/dev/null || ! pkg-config --exists glib-2.0 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq gcc pkg-config libglib2.0-dev >/dev/null
fi
rustup component add llvm-tools-preview >/dev/null
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

python3 scripts/firmware_report.py
