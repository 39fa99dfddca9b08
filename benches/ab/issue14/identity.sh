#!/usr/bin/env bash
# Behaviour check of issue 14: run fig1 (the preset) and a 50-step fading-squares run with one
# repro build, seed 0, RAYON_NUM_THREADS=2, into $SCRATCH/out-LABEL/{fig1,fading-squares};
# then normalise report.json (timing keys dropped, see normalise.py) for the comparison.
#   identity.sh LABEL REPRO_EXE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SCRATCH=${SCRATCH:-/work/scratch-ab14}
label=$1 exe=$2
out=$SCRATCH/out-$label
rm -rf "$out" && mkdir -p "$out" "$here/raw/identity"
log=$here/raw/identity/run-$label.log
: > "$log"
for exp in "fig1" "fading-squares --steps 50"; do
  name=${exp%% *}
  echo "$label: RAYON_NUM_THREADS=2 repro $exp --seed 0 --out $out/$name --quiet; start $(date -u +%T) $(uptime | sed 's/.*load/load/')" >> "$log"
  # shellcheck disable=SC2086
  RAYON_NUM_THREADS=2 "$exe" $exp --seed 0 --out "$out/$name" --quiet >> "$log" 2>&1
  echo "exit $? end $(date -u +%T)" >> "$log"
done
