//! Benchmarks of the `intrinsic-dim` crate: exact k-NN graphs (the cost of every classical
//! estimator) on the target shapes, and the estimators on a shared graph.
//!
//! Targets (2 threads): all k = 20 neighbours of 10,000 MNIST images (784-D) under 0.8 s;
//! 100,000 points in 3-D under 0.25 s; MLE + TwoNN on the MNIST images (neighbour search
//! included) under 1 s. MNIST is read from `$MFLOW_MNIST_DIR`, else `../shared/data/mnist` next
//! to the workspace; without it those benchmarks are skipped and random data of the same shape
//! (`random_10k_784`) still runs.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use datasets::{GenerateOptions, Manifold};
use faer::Mat;
use intrinsic_dim::{Algorithm, CorrelationDimension, Estimator, KnnGraph, Mle, Pca, TwoNn};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The first 10,000 MNIST test images scaled to `[0, 1]`, or `None` (with a note) without them.
fn mnist_10k() -> Option<Mat<f64>> {
    let dir = std::env::var_os("MFLOW_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist"));
    match datasets::mnist(&dir, datasets::Split::Test) {
        Ok(ds) => Some(Mat::from_fn(10_000.min(ds.data.nrows()), ds.data.ncols(), |i, j| ds.data[(i, j)] / 255.0)),
        Err(e) => {
            eprintln!("intrinsic_dim benches: skipping MNIST ({e}); set MFLOW_MNIST_DIR");
            None
        }
    }
}

/// `n x d` uniform on `[0, 1)`, seeded.
fn uniform(n: usize, d: usize, seed: u64) -> Mat<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Mat::from_fn(n, d, |_, _| rng.random::<f64>())
}

/// Register the intrinsic-dim benchmarks.
pub fn bench(c: &mut Criterion) {
    let mut heavy = c.benchmark_group("intrinsic_dim");
    heavy.sample_size(10).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(12));

    let mut high_dim = vec![("random_10k_784", uniform(10_000, 784, 1))];
    if let Some(m) = mnist_10k() {
        high_dim.push(("mnist_10k_784", m));
    }
    for (name, x) in &high_dim {
        heavy.bench_function(BenchmarkId::new("knn_k20", name), |b| {
            b.iter(|| KnnGraph::build(black_box(x.as_ref()), 20).expect("graph"))
        });
        heavy.bench_function(BenchmarkId::new("mle_twonn_with_knn", name), |b| {
            b.iter(|| {
                let g = KnnGraph::build(black_box(x.as_ref()), 20).expect("graph");
                let m = Mle::default().estimate_with_graph(x.as_ref(), &g).expect("mle");
                let t = TwoNn::default().estimate_with_graph(x.as_ref(), &g).expect("twonn");
                (m.dimension, t.dimension)
            })
        });
    }
    let cube = uniform(100_000, 3, 2);
    heavy.bench_function(BenchmarkId::new("knn_k20", "uniform_100k_3"), |b| {
        b.iter(|| KnnGraph::build(black_box(cube.as_ref()), 20).expect("graph"))
    });
    heavy.finish();

    // The crossover between the k-d tree and the blocked products (Algorithm::Auto's rule).
    let mut cross = c.benchmark_group("intrinsic_dim_crossover");
    cross.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for d in [3, 8, 12, 16, 24] {
        let x = uniform(5_000, d, 3);
        for (alg, label) in [(Algorithm::KdTree, "kdtree"), (Algorithm::BruteForce, "brute")] {
            cross.bench_function(BenchmarkId::new(format!("knn_5k_k20_{label}"), d), |b| {
                b.iter(|| KnnGraph::build_with(black_box(x.as_ref()), 20, alg).expect("graph"))
            });
        }
    }
    cross.finish();

    // Estimators alone on a shared graph (2,000 Swiss-roll points).
    let mut est = c.benchmark_group("intrinsic_dim_estimators");
    let roll = Manifold::SwissRoll.generate(&GenerateOptions::new(2_000, 4)).data;
    let graph = KnnGraph::build(roll.as_ref(), 100).expect("graph");
    let estimators: [(&str, Box<dyn Estimator>); 5] = [
        ("mle", Box::new(Mle::default())),
        ("twonn", Box::new(TwoNn::default())),
        ("lpca", Box::new(Pca::default())),
        ("lpca_pointwise_k100", Box::new(Pca::pointwise(100))),
        ("corrdim", Box::new(CorrelationDimension::default())),
    ];
    for (name, e) in &estimators {
        est.bench_function(BenchmarkId::new(*name, "swiss_roll_2k"), |b| {
            b.iter(|| e.estimate_with_graph(black_box(roll.as_ref()), &graph).expect("estimate"))
        });
    }
    est.finish();
}
