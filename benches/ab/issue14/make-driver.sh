#!/usr/bin/env bash
# Build the instruction-count driver against one checkout, without touching the checkout:
#   make-driver.sh LABEL CHECKOUT base|new
# writes $SCRATCH/drv-LABEL (a one-package workspace with path dependencies on CHECKOUT's
# crates, CHECKOUT's Cargo.lock, its benches' autodiff_bench.rs/prior_bench.rs) and builds it
# with the bench profile settings of the workspace (opt-level 3, codegen-units 16) plus line
# tables for callgrind_annotate, into $SCRATCH/target-drv (shared by every side).
set -euo pipefail
label=$1 checkout=$2 api=$3
here=$(cd "$(dirname "$0")" && pwd)
SCRATCH=${SCRATCH:-/work/scratch-ab14}
dir=$SCRATCH/drv-$label
rm -rf "$dir" && mkdir -p "$dir/src"
cp "$here/driver/main_common.rs" "$dir/src/main.rs"
cp "$here/driver/side_$api.rs" "$dir/src/side.rs"
cp "$checkout/benches/benches/autodiff_bench.rs" "$checkout/benches/benches/prior_bench.rs" "$dir/src/"
cp "$checkout/Cargo.lock" "$dir/Cargo.lock"
# Since packaging (after issue 14) rayon is an optional feature of the library crates.
feat=''
grep -q '^rayon = \[' "$checkout/crates/autodiff-lite/Cargo.toml" && feat=', features = ["rayon"]'
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "ab14-driver"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[[bin]]
name = "driver"
path = "src/main.rs"

[dependencies]
autodiff-lite = { path = "$checkout/crates/autodiff-lite"$feat }
flow-core = { path = "$checkout/crates/flow-core"$feat }
manifold-prior = { path = "$checkout/crates/manifold-prior"$feat }
datasets = { path = "$checkout/crates/datasets" }
faer = { version = "0.24", default-features = false, features = ["std", "linalg", "rayon"] }
rand = "0.10"
rand_chacha = "0.10"
rayon = "1.12"
criterion = { version = "0.8", default-features = false, features = ["cargo_bench_support"] }

[profile.release]
debug = "line-tables-only"
codegen-units = 16
TOML
cd "$dir"
rm -f "$SCRATCH/target-drv/release/driver"
CARGO_TARGET_DIR=$SCRATCH/target-drv cargo build --release --quiet
cp "$SCRATCH/target-drv/release/driver" "$SCRATCH/driver-$label"
echo "$SCRATCH/driver-$label"
