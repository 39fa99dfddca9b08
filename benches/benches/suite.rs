//! The criterion suite: one harness binary, one module per area.

use criterion::{criterion_group, criterion_main};

mod autodiff_bench;
mod datasets_bench;

criterion_group!(benches, autodiff_bench::bench, datasets_bench::bench);
criterion_main!(benches);
