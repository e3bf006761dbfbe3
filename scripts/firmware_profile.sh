#!/usr/bin/env bash
# Where the instructions of one inference go, per function and per layer, on an emulated
# microcontroller.
# usage: scripts/firmware_profile.sh BOARD FEATURES [TOP]
#   BOARD: mps2-an386 | microbit;  FEATURES: e.g. modern,i8,direct (one configuration)
# Builds the QEMU plugin firmware/profile/profile.c (firmware/profile/build.sh: needs gcc,
# pkg-config, libglib2.0-dev and, once, deb-src access for the plugin header), builds the firmware
# with FEATURES, runs it with the plugin and prints instructions per inference by function
# (counted between bench_start/bench_stop) and by layer (the scopes of
# scripts/firmware_report.py: conv1/conv2 band functions, pooling and dense kernels).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
board=${1:?board}; features=${2:?features}; top=${3:-25}
case $board in
  mps2-an386) target=thumbv7em-none-eabihf; machine=(-machine mps2-an386 -cpu cortex-m4) ;;
  microbit) target=thumbv6m-none-eabi; machine=(-machine microbit) ;;
  *) echo "unknown board $board" >&2; exit 2 ;;
esac
out=$root/firmware/target/profile
plugin=$("$root/firmware/profile/build.sh" "$out")
(cd "$root/firmware" && env -u CARGO_TARGET_DIR cargo build -q --release --target "$target" \
   --no-default-features --features "$features")
elf=$root/firmware/target/$target/release/tinyconv-firmware
nm=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-nm
"$nm" -C -S "$elf" | awk 'NF >= 4 && $3 ~ /^[tTwW]$/ { n = $4; for (i = 5; i <= NF; i++) n = n " " $i; print $1, $2, n }' > "$out/syms.txt"
# Layer scopes, as scripts/firmware_report.py's SCOPES.
awk '/lenet5::i8::band_step::<.*, 6>$/ { print $1, "conv1" }
     /lenet5::i8::band_step::<.*, 16>$/ { print $1, "conv2" }
     /pool2d_i8/ { print $1, "pool" }
     /dense_i8/ { print $1, "dense" }
     /lenet5::conv_pool_f32::<.*, 6>$/ { print $1, "conv1" }
     /lenet5::conv_pool_f32::<.*, 16>$/ { print $1, "conv2" }
     /pool2d_f32/ { print $1, "pool" }
     /dense_f32/ { print $1, "dense" }' "$out/syms.txt" > "$out/scopes.txt"
start=$("$nm" "$elf" | awk '$3 == "bench_start" { print $1 }')
stop=$("$nm" "$elf" | awk '$3 == "bench_stop" { print $1 }')
timeout 300 qemu-system-arm "${machine[@]}" -nographic -icount shift=6 \
  -semihosting-config enable=on,target=native \
  -plugin "$plugin,start=0x$start,stop=0x$stop,syms=$out/syms.txt,scopes=$out/scopes.txt" -d plugin \
  -kernel "$elf" > "$out/run.txt" 2>&1 || { tail -20 "$out/run.txt"; exit 1; }
grep -E '^(model|[a-z]+ +(i8|f32) )' "$out/run.txt" || true
sed -n '/^regions/,/^scopes/p' "$out/run.txt" | grep -v '^scopes' | head -n $((top + 1))
grep '^scope ' "$out/run.txt" || true
