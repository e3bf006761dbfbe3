#!/usr/bin/env bash
# Builds every cargo-fuzz target and runs each for SECONDS (libFuzzer -max_total_time), then
# prints the executions each reached. Exits non-zero if a target crashed (or hung, or ran out
# of memory); each crashing input is copied to tests/fuzz_regressions/<target>-<artifact>, where
# `cargo test --test fuzz_regressions` replays it through the same checks.
#
#   fuzz/run.sh 30                 # every target, 30 s each
#   fuzz/run.sh 60 conv2d_f32      # one target
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). New corpus
# entries go to $TINYCONV_FUZZ_WORK (default: a temporary directory), not to the committed seeds
# in fuzz/corpus/.
set -uo pipefail

secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$here"
all=(conv2d_f32 conv2d_i8 pool2d dense requantize shapes model_loader)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
work=${TINYCONV_FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/tinyconv-fuzz.XXXXXX")}
# Fuzz the SIMD code paths the desktop build ships (AVX2 + FMA), as .cargo/config.toml does;
# cargo-fuzz appends its own flags to RUSTFLAGS.
if [ "$(uname -m)" = x86_64 ]; then
  export RUSTFLAGS="${RUSTFLAGS:-} -C target-cpu=x86-64-v3"
fi

echo "building fuzz targets (cargo +nightly fuzz build -O)"
if ! cargo +nightly fuzz build -O; then
  echo "fuzz build failed" >&2
  exit 2
fi
# Run the built binaries directly (`cargo fuzz run` would rebuild when a source file changed).
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin="${CARGO_TARGET_DIR:-$here/target}/$triple/release"

status=0
declare -A execs result
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "artifacts/$t"
  rm -f artifacts/"$t"/*
  # The shipped model files make good seeds for the loader (they are not committed here).
  if [ "$t" = model_loader ]; then
    cp "$root"/models/*.bin "$work/$t/" 2>/dev/null || true
  fi
  log="$work/$t.log"
  echo "=== $t: ${secs}s"
  "$bin/$t" "$work/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1
  rc=$?
  execs[$t]=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc -eq 0 ]; then
    result[$t]=ok
  else
    result[$t]="FAILED (exit $rc)"
    status=1
    tail -40 "$log" >&2
    for a in artifacts/"$t"/*; do
      [ -f "$a" ] || continue
      dest="$root/tests/fuzz_regressions/$t-$(basename "$a")"
      cp "$a" "$dest"
      echo "crashing input kept as ${dest#"$root"/}" >&2
    done
  fi
done

echo
printf '%-14s %14s  %s\n' target executions result
for t in "${targets[@]}"; do
  printf '%-14s %14s  %s\n' "$t" "${execs[$t]:-?}" "${result[$t]}"
done
echo "(logs and grown corpora in $work)"
exit $status
