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
# in fuzz/corpus/. $TINYCONV_FUZZ_ARGS adds libFuzzer flags (fuzz/campaign.sh passes -runs=N).
set -uo pipefail

secs=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$here"
all=(conv2d_f32 conv2d_i8 pool2d dense requantize shapes model_loader model_inference
  tflite_parse tflite_mutate)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
work=${TINYCONV_FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/tinyconv-fuzz.XXXXXX")}
# Fuzz the SIMD code paths the desktop build ships (AVX2 + FMA), as .cargo/config.toml does,
# unless RUSTFLAGS names a CPU itself (CI's scalar pass: `--cfg tinyconv_scalar_kernels -C
# target-cpu=x86-64` with its own CARGO_TARGET_DIR). cargo-fuzz appends its flags to RUSTFLAGS.
if [ "$(uname -m)" = x86_64 ] && [[ "${RUSTFLAGS:-}" != *target-cpu* ]]; then
  export RUSTFLAGS="${RUSTFLAGS:-} -C target-cpu=x86-64-v3"
fi

# $TINYCONV_FUZZ_SANITIZER picks cargo-fuzz's sanitizer (default: address). CI passes `none`:
# the library forbids `unsafe`, so bounds and overflow checks (`-a`) already catch what
# AddressSanitizer would there, and the build is several times faster.
sanitizer=${TINYCONV_FUZZ_SANITIZER:-address}
echo "building fuzz targets (cargo +nightly fuzz build -O -a --no-trace-compares -s $sanitizer)"
if ! cargo +nightly fuzz build -O -a --no-trace-compares -s "$sanitizer"; then
  echo "fuzz build failed" >&2
  exit 2
fi
# Run the built binaries directly (`cargo fuzz run` would rebuild when a source file changed).
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin="${CARGO_TARGET_DIR:-$here/target}/$triple/release"

status=0
declare -A execs result cpu
# CPU seconds (user + sys) of each run: on a shared machine, executions per CPU second say more
# than executions per wall second.
TIMEFORMAT='%3U %3S'

for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "artifacts/$t"
  rm -f artifacts/"$t"/*
  # The shipped model files are the seeds of the model targets (not duplicated under corpus/).
  if [ "$t" = model_loader ] || [ "$t" = model_inference ]; then
    cp "$root"/models/*.bin "$work/$t/"
  fi
  # The importer's parser starts from every shipped .tflite model.
  if [ "$t" = tflite_parse ]; then
    cp "$root"/tools/tflite/models/*.tflite "$work/$t/"
  fi
  corpora=("$work/$t")
  [ -d "corpus/$t" ] && corpora+=("corpus/$t")
  log="$work/$t.log"
  echo "=== $t: ${secs}s"
  # shellcheck disable=SC2086 # TINYCONV_FUZZ_ARGS is a list of flags
  { time "$bin/$t" "${corpora[@]}" -artifact_prefix="artifacts/$t/" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    ${TINYCONV_FUZZ_ARGS:-} \
    >"$log" 2>&1; } 2>"$log.cpu"
  rc=$?
  cpu[$t]=$(awk '{printf "%.1f", $1 + $2}' "$log.cpu")
  execs[$t]=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  if [ $rc -eq 0 ]; then
    result[$t]=ok
  else
    result[$t]="FAILED (exit $rc)"
    status=1
    tail -40 "$log" >&2
    for a in artifacts/"$t"/*; do
      [ -f "$a" ] || continue
      # The importer's crashes are replayed by its own crate's test.
      case $t in
        tflite_*) dest="$root/tools/tflite/tests/fuzz_regressions/$t-$(basename "$a")" ;;
        *) dest="$root/tests/fuzz_regressions/$t-$(basename "$a")" ;;
      esac
      cp "$a" "$dest"
      echo "crashing input kept as ${dest#"$root"/}" >&2
    done
  fi
done

echo
printf '%-16s %14s %8s  %s\n' target executions "CPU s" result
for t in "${targets[@]}"; do
  printf '%-16s %14s %8s  %s\n' "$t" "${execs[$t]:-?}" "${cpu[$t]:-?}" "${result[$t]}"
done
echo "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "(logs and grown corpora in $work)"
exit $status
