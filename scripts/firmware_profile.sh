#!/usr/bin/env bash
# Where the instructions of one inference go, per function, on an emulated microcontroller.
# usage: scripts/firmware_profile.sh BOARD FEATURES [TOP]
#   BOARD: mps2-an386 | microbit;  FEATURES: e.g. modern,i8,direct (one configuration)
# Builds firmware/profile/profile.c (a QEMU TCG plugin) against the plugin header of Debian's
# QEMU source package (needs qemu-system-arm, libglib2.0-dev, gcc and deb-src access, as
# ../shared/tools/qemu-insn/build.sh), builds the firmware with FEATURES, runs it with the plugin
# and prints instructions per inference by function (counted between bench_start/bench_stop).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
board=${1:?board}; features=${2:?features}; top=${3:-25}
case $board in
  mps2-an386) target=thumbv7em-none-eabihf; machine=(-machine mps2-an386 -cpu cortex-m4) ;;
  microbit) target=thumbv6m-none-eabi; machine=(-machine microbit) ;;
  *) echo "unknown board $board" >&2; exit 2 ;;
esac
out=$root/firmware/target/profile
plugin=$out/libprofile.so
mkdir -p "$out"
if [ ! -f "$plugin" ] || [ "$root/firmware/profile/profile.c" -nt "$plugin" ]; then
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
  mkdir -p "$work"/{parts,lists/partial,cache/archives/partial}
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed 's/^Types: deb$/Types: deb-src/' "$f" > "$work/parts/$(basename "$f")"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && grep '^deb ' "$f" | sed 's/^deb /deb-src /' >> "$work/parts/extra.list" || true
  done
  opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/parts"
        -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache")
  apt-get "${opts[@]}" update >/dev/null 2>&1
  (cd "$work" && apt-get "${opts[@]}" source --download-only qemu >/dev/null 2>&1 \
     && tar xf qemu_*.orig.tar.* --wildcards '*/include/qemu/qemu-plugin.h')
  hdr=$(dirname "$(find "$work" -name qemu-plugin.h | head -1)")
  gcc -O2 -shared -fPIC -I"$hdr" $(pkg-config --cflags glib-2.0) "$root/firmware/profile/profile.c" \
    -o "$plugin" $(pkg-config --libs glib-2.0)
fi
(cd "$root/firmware" && env -u CARGO_TARGET_DIR cargo build -q --release --target "$target" \
   --no-default-features --features "$features")
elf=$root/firmware/target/$target/release/tinyconv-firmware
nm=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-nm
"$nm" -C -S "$elf" | awk 'NF >= 4 && $3 ~ /^[tTwW]$/ { n = $4; for (i = 5; i <= NF; i++) n = n " " $i; print $1, $2, n }' > "$out/syms.txt"
start=$("$nm" "$elf" | awk '$3 == "bench_start" { print $1 }')
stop=$("$nm" "$elf" | awk '$3 == "bench_stop" { print $1 }')
timeout 300 qemu-system-arm "${machine[@]}" -nographic -icount shift=6 \
  -semihosting-config enable=on,target=native \
  -plugin "$plugin,start=0x$start,stop=0x$stop,syms=$out/syms.txt" -d plugin \
  -kernel "$elf" > "$out/run.txt" 2>&1 || { tail -20 "$out/run.txt"; exit 1; }
grep -E '^(model|[a-z]+ +(i8|f32) )' "$out/run.txt" || true
sed -n '/^regions/,$p' "$out/run.txt" | head -n $((top + 1))
