#!/usr/bin/env bash
# One long fuzzing campaign for one target: runs it (through fuzz/run.sh, so the build, the
# crash handling and tests/fuzz_regressions/ are the same) until 10^8 executions or one hour,
# whichever comes first, keeps the grown corpus for the next campaign, and appends a row with the
# command, commit, executions, time and coverage to the campaign table of docs/fuzzing.md.
#
#   fuzz/campaign.sh conv2d_i8                  # 10^8 executions or 3600 s
#   fuzz/campaign.sh conv2d_i8 7200 1000000000  # other limits: SECONDS [RUNS]
#   TINYCONV_FUZZ_SCALAR=1 fuzz/campaign.sh conv2d_i8   # over the int8 scalar kernels
#
# One process on one core: it does not compete with more than one other job. Then splice the
# table into the README: python3 scripts/update_readme.py.
set -uo pipefail

target=${1:?usage: fuzz/campaign.sh TARGET [SECONDS [RUNS]]}
secs=${2:-3600}
runs=${3:-100000000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
doc="$root/docs/fuzzing.md"
marker='<!-- campaign rows: appended by fuzz/campaign.sh -->'
grep -qF "$marker" "$doc" || { echo "no campaign table marker in $doc" >&2; exit 2; }

config=avx2
if [ -n "${TINYCONV_FUZZ_SCALAR:-}" ]; then
  config=scalar
  export RUSTFLAGS="${RUSTFLAGS:-} --cfg tinyconv_scalar_kernels -C target-cpu=x86-64"
  export CARGO_TARGET_DIR="$here/target-scalar"
fi
# The corpus grows from one campaign to the next (fuzz/target* is not committed).
export TINYCONV_FUZZ_WORK="$here/target/campaign-corpus/$config"
export TINYCONV_FUZZ_ARGS="-runs=$runs"
mkdir -p "$TINYCONV_FUZZ_WORK"

commit=$(git -C "$root" rev-parse --short HEAD)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no -- src fuzz Cargo.toml Cargo.lock)" ]; then
  commit="$commit-dirty"
fi
cmd="fuzz/campaign.sh $*${TINYCONV_FUZZ_SCALAR:+ (TINYCONV_FUZZ_SCALAR=1)}"
start=$(date -u +%Y-%m-%d)
load=$(cut -d' ' -f1 /proc/loadavg)
t0=$SECONDS
bash "$here/run.sh" "$secs" "$target"
status=$?
elapsed=$((SECONDS - t0))

log="$TINYCONV_FUZZ_WORK/$target.log"
execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
# libFuzzer's last status line: "#N DONE cov: C ft: F corp: K/..." (or the last periodic one).
cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
result=ok
[ $status -eq 0 ] || result="**crash** (input in tests/fuzz_regressions/)"
fuzz_secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' | tail -1)
row="| \`$target\` | $config | $start | \`$commit\` | $(python3 -c "print(f'{int(\"${execs:-0}\"):,}')") | ${fuzz_secs:-?} s (wall $elapsed s, load $load at start) | ${cov:-?} | $result | \`$cmd\` |"
python3 - "$doc" "$marker" "$row" <<'EOF'
import sys
path, marker, row = sys.argv[1:]
import re
text = open(path, encoding="utf-8").read().replace(marker, row + "\n" + marker, 1)
# The note that no campaign has run yet (one paragraph) goes with the first row.
text = re.sub(r"\n\nNo campaign has run yet.*?(?=\n\n|\n?\Z)", "", text, count=1, flags=re.S)
open(path, "w", encoding="utf-8").write(text)
EOF
echo "$row"
echo "appended to docs/fuzzing.md; python3 scripts/update_readme.py splices it into the README"
exit $status
