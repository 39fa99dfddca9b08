#!/usr/bin/env bash
# Instruction counts under callgrind: for every workload, one run of the side's driver with a
# fixed iteration count (after two uncounted warm-up calls), RAYON_NUM_THREADS=1 and rayon's
# pool on the calling thread. Keeps the driver's printed values and callgrind_annotate's
# inclusive and self profiles (top functions) under raw/callgrind/LABEL/; the callgrind.out files
# themselves stay in $SCRATCH (large).
#   callgrind.sh LABEL DRIVER [WORKLOAD ...]   (ANNOTATE_ONLY=1: re-read existing callgrind.out
#   files; LATE=1: instrument only the measured calls, see below)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SCRATCH=${SCRATCH:-/work/scratch-ab14}
label=$1 driver=$2; shift 2
iters_of() {
  case $1 in
    autodiff/realnvp_toy_step|autodiff/spread_fig1_step|autodiff/tape_overhead_10k|autodiff/wide_adam) echo 5 ;;
    fading_squares/*) echo 1 ;;
    *) echo 2 ;;
  esac
}
workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && mapfile -t workloads < <(sed -n '/^pub const WORKLOADS/,/^];/p' "$here/driver/main_common.rs" | grep -o '"[^"]*"' | tr -d '"')
out=$here/raw/callgrind/$label && mkdir -p "$out" "$SCRATCH/cg-$label"
for w in "${workloads[@]}"; do
  f=${w//\//_} n=$(iters_of "$w")
  cg=$SCRATCH/cg-$label/$f.callgrind.out
  if [ -n "${ANNOTATE_ONLY:-}" ]; then
    :
  elif [ -n "${LATE:-}" ]; then
    # Late instrumentation: set-up and warm-up run uninstrumented (several times faster under
    # valgrind); the driver waits after them, callgrind_control switches instrumentation on,
    # then the go file releases the measured calls. Same counts for `measured`, less waiting.
    go=$SCRATCH/go-$label-$f && rm -f "$go"
    AB14_GO_FILE=$go RAYON_NUM_THREADS=1 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$cg" \
      "$driver" "$w" "$n" > "$out/$f.stdout" 2> "$out/$f.valgrind.log" &
    vpid=$!
    until grep -q ab14-ready "$out/$f.valgrind.log"; do sleep 2; done
    callgrind_control -i on "$vpid" > "$out/$f.control.log" 2>&1
    touch "$go"
    wait "$vpid"
  else
    RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$cg" "$driver" "$w" "$n" \
      > "$out/$f.stdout" 2> "$out/$f.valgrind.log"
  fi
  callgrind_annotate --inclusive=yes --threshold=99.9 "$cg" > "$cg.inclusive" 2>/dev/null
  callgrind_annotate --threshold=99.9 "$cg" > "$cg.self" 2>/dev/null
  head -80 "$cg.inclusive" > "$out/$f.inclusive.txt"
  head -80 "$cg.self" > "$out/$f.self.txt"
  echo "$label $w iters=$n $(grep -m1 'PROGRAM TOTALS' "$out/$f.inclusive.txt") measured: $(grep -m1 ':driver::measured \[' "$out/$f.inclusive.txt" | awk '{print $1}' || true)"
done
