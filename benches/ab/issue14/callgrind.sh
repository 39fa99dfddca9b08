#!/usr/bin/env bash
# Instruction counts under callgrind: for every workload, one run of the side's driver with a
# fixed iteration count (after two uncounted warm-up calls), RAYON_NUM_THREADS=1 and rayon's
# pool on the calling thread. Keeps the driver's printed values and callgrind_annotate's
# inclusive and self profiles (top functions) under raw/callgrind/LABEL/; the callgrind.out files
# themselves stay in $SCRATCH (large).
#   callgrind.sh LABEL DRIVER [WORKLOAD ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SCRATCH=${SCRATCH:-/work/scratch-ab14}
label=$1 driver=$2; shift 2
iters_of() {
  case $1 in
    autodiff/realnvp_toy_step|autodiff/spread_fig1_step|autodiff/tape_overhead_10k|autodiff/wide_adam) echo 5 ;;
    *) echo 2 ;;
  esac
}
workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && mapfile -t workloads < <(sed -n '/^pub const WORKLOADS/,/^];/p' "$here/driver/main_common.rs" | grep -o '"[^"]*"' | tr -d '"')
out=$here/raw/callgrind/$label && mkdir -p "$out" "$SCRATCH/cg-$label"
for w in "${workloads[@]}"; do
  f=${w//\//_} n=$(iters_of "$w")
  cg=$SCRATCH/cg-$label/$f.callgrind.out
  RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$cg" "$driver" "$w" "$n" \
    > "$out/$f.stdout" 2> "$out/$f.valgrind.log"
  callgrind_annotate --inclusive=yes --threshold=99.9 "$cg" 2>/dev/null | head -80 > "$out/$f.inclusive.txt"
  callgrind_annotate --threshold=99.9 "$cg" 2>/dev/null | head -80 > "$out/$f.self.txt"
  echo "$label $w iters=$n $(grep -m1 'PROGRAM TOTALS' "$out/$f.inclusive.txt") measured: $(grep -m1 'ab14_driver::measured' "$out/$f.inclusive.txt" | awk '{print $1}')"
done
