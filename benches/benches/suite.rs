//! The criterion suite: one harness binary, one module per area.

use criterion::{criterion_group, criterion_main};

mod datasets_bench;

criterion_group!(benches, datasets_bench::bench);
criterion_main!(benches);
