#!/usr/bin/env bash
# The whole A/B of issue 14, as run (steps can be run one at a time: run-all.sh STEP).
# Checkouts (never modified, only built): base = 065bc8e (before issue 14) at $BASE_WT,
# d25 = d25d3f5 (the last issue-14 commit) at $D25_WT, main = this branch's main at $MAIN_WT.
# Each has its own target dir; repro and the suite executable are release/bench builds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export SCRATCH=${SCRATCH:-/work/scratch-ab14}
BASE_WT=${BASE_WT:-/work/wt-base} BASE_T=${BASE_T:-/work/target-base}
D25_WT=${D25_WT:-/work/wt-ab14-d25} D25_T=${D25_T:-/work/target-ab14-d25}
MAIN_WT=${MAIN_WT:-/work/wt-ab14} MAIN_T=${MAIN_T:-/work/target-ab14}
labels=(base d25 main)
declare -A WT=([base]=$BASE_WT [d25]=$D25_WT [main]=$MAIN_WT) T=([base]=$BASE_T [d25]=$D25_T [main]=$MAIN_T)
declare -A API=([base]=base [d25]=new [main]=new)
suite_exe() { (cd "${WT[$1]}" && CARGO_TARGET_DIR=${T[$1]} cargo bench -p mflow-benches --bench suite --no-run --message-format=json 2>/dev/null |
  grep -o '"executable":"[^"]*suite[^"]*"' | cut -d'"' -f4 | tail -1); }
step=${1:-all}
mkdir -p "$here/raw"
if [[ $step == all || $step == commits ]]; then
  for l in "${labels[@]}"; do printf '%s\t%s\t%s\n' "$l" "$(git -C "${WT[$l]}" rev-parse --short HEAD)" "$(git -C "${WT[$l]}" log -1 --format=%s | cut -c1-90)"; done > "$here/raw/commits.tsv"
  { lscpu | grep 'Model name' | tr -s ' '; echo "$(nproc) cpus; $(rustc --version); $(valgrind --version)"; } > "$here/raw/machine.txt"
fi
if [[ $step == all || $step == build ]]; then
  for l in "${labels[@]}"; do (cd "${WT[$l]}" && CARGO_TARGET_DIR=${T[$l]} cargo build --release -p repro --bin repro); suite_exe "$l"; done
fi
if [[ $step == all || $step == identity ]]; then
  for l in "${labels[@]}"; do "$here/identity.sh" "$l" "${T[$l]}/release/repro"; done
  for pair in base:d25 base:main d25:main; do
    a=${pair%%:*} b=${pair#*:}
    "$here/compare.py" "$SCRATCH/out-$a" "$SCRATCH/out-$b" > "$here/raw/identity/compare-$a-vs-$b.txt" || true
  done
fi
if [[ $step == all || $step == callgrind ]]; then
  for l in "${labels[@]}"; do "$here/make-driver.sh" "$l" "${WT[$l]}" "${API[$l]}"; done
  for l in "${labels[@]}"; do "$here/callgrind.sh" "$l" "$SCRATCH/driver-$l"; done
fi
if [[ $step == all || $step == criterion ]]; then
  "$here/criterion.sh" "${ROUNDS:-3}" "base=$(suite_exe base)" "d25=$(suite_exe d25)" "main=$(suite_exe main)"
fi
"$here/report.py"
