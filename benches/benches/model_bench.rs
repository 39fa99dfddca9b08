//! Benchmarks of a fitted model's use (issue 17, "Speed"): encoding 60,000 MNIST images with
//! the default vector model of `mflow fit` (6 additive couplings on 784 pixels, the spread
//! prior), as `mflow encode` does. Reports images per second. The MNIST training images are
//! read from `../shared/data/mnist` (or `$MFLOW_MNIST`) when present; otherwise 60,000 random
//! rows of the same shape stand in (the cost does not depend on the values).
//! Run with `cargo bench -p mflow-benches -- model/`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, SamplingMode, Throughput};
use faer::Mat;
use manifold_prior::{FitConfig, ScalingMode, Standardizer, spread_model};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Images encoded per iteration.
const N: usize = 60_000;
/// Pixels per image.
const D: usize = 784;

/// The MNIST training images (pixels 0..255) if their file is found, else random rows.
fn images() -> (Mat<f64>, &'static str) {
    let dir = std::env::var_os("MFLOW_MNIST")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist"), PathBuf::from);
    match datasets::mnist(&dir, datasets::Split::Train) {
        Ok(ds) if ds.data.nrows() >= N && ds.data.ncols() == D => (ds.data.subrows(0, N).to_owned(), "MNIST"),
        _ => {
            let mut rng = ChaCha8Rng::seed_from_u64(17);
            (Mat::from_fn(N, D, |_, _| rng.random_range(0.0..255.0)), "random stand-in")
        }
    }
}

/// Register `model/encode_60k_784`.
pub fn bench(c: &mut Criterion) {
    let (x, source) = images();
    let model = spread_model(&FitConfig::default_for_data(), Standardizer::fit(x.as_ref(), ScalingMode::Global))
        .expect("the default model builds on 784 dimensions");
    let mut group = c.benchmark_group("model");
    group.sampling_mode(SamplingMode::Flat).sample_size(10).throughput(Throughput::Elements(N as u64));
    eprintln!("model/encode_60k_784: {source} images");
    group.bench_function("encode_60k_784", |b| b.iter(|| black_box(model.encode(x.as_ref()))));
    group.finish();
}
