//! Benchmarks of the `datasets` crate.

use criterion::Criterion;
use std::hint::black_box;

/// Register the datasets benchmarks.
pub fn bench(c: &mut Criterion) {
    c.bench_function("datasets/dataset_shape", |b| {
        let d = datasets::Dataset { name: "x".into(), data: faer::Mat::zeros(10, 2), intrinsic_dim: Some(1) };
        b.iter(|| black_box(&d).ambient_dim())
    });
}
