#!/usr/bin/env bash
# Alternated criterion rounds of the three builds' suite executables, same filter, each run
# from its own scratch cwd (criterion writes target/criterion there). Per run: start/end
# time, `uptime` and the CPU model go into rounds.log; the criterion text output into
# raw/criterion/round<R>-<label>.txt, criterion's medians (estimates.json, ns) into
# raw/criterion/round<R>-<label>.median.tsv.
#   criterion.sh ROUNDS label=exe [label=exe ...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SCRATCH=${SCRATCH:-/work/scratch-ab14}
rounds=$1; shift
F='^(autodiff/|prior/|fading_squares/train_step)'
mkdir -p "$here/raw/criterion"
log=$here/raw/criterion/rounds.log
echo "# filter $F; RAYON_NUM_THREADS unset (rayon's default: one thread per core); $(lscpu | grep 'Model name' | tr -s ' ')" >> "$log"
for r in $(seq 1 "$rounds"); do
  for pair in "$@"; do
    label=${pair%%=*} exe=${pair#*=}
    cwd=$SCRATCH/crit-$label && mkdir -p "$cwd"
    echo "round $r $label start $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/') $(nproc) cpus" >> "$log"
    (cd "$cwd" && "$exe" --bench --noplot "$F" > "$here/raw/criterion/round$r-$label.txt" 2>&1)
    # criterion's median of the samples' per-iteration times (estimates.json, in ns)
    (cd "$cwd/target/criterion" && for e in */*/new/estimates.json; do
       printf '%s\t%s\n' "${e%/new/estimates.json}" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"])' "$e")"
     done) > "$here/raw/criterion/round$r-$label.median.tsv"
    echo "round $r $label end $(date -u +%FT%TZ) $(uptime | sed 's/.*load/load/')" >> "$log"
  done
done
