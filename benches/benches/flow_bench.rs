//! Benchmarks of `flow-core` (issue 4, "Speed"): encoding and decoding through the fig1 toy
//! flows on 10,000 points, through four MNIST-sized additive couplings on 10,000 x 784 rows,
//! and through an LU-form dense layer of the same width.
//!
//! Every case runs the no-grad path users run for encoding and sampling ([`Flow::encode`],
//! [`Flow::decode`]). Run one group with `cargo bench -p mflow-benches -- flow/`.

use std::hint::black_box;

use autodiff_lite::ParamStore;
use criterion::{Criterion, SamplingMode};
use faer::Mat;
use flow_core::{Activation, Coupling, CouplingConfig, CouplingTransform, Flow, LogScale, LuInit, LuLinear, Parity};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The number of samples of every case.
const N: usize = 10_000;

/// `k` couplings on `R^dim` with alternating halves and the given conditioner shape.
fn coupling_flow(
    dim: usize,
    k: usize,
    transform: CouplingTransform,
    hidden: &[usize],
    activation: Activation,
    rng: &mut ChaCha8Rng,
) -> (Flow, ParamStore) {
    let mut store = ParamStore::new();
    let mut flow = Flow::new(dim);
    for i in 0..k {
        let config = CouplingConfig::halves(dim, Parity::alternating(i), transform, hidden, activation);
        let layer = Coupling::new(&mut store, &format!("coupling.{i}"), config, rng).expect("valid coupling");
        flow.push(layer).expect("matching dimension");
    }
    (flow, store)
}

fn batch(rng: &mut ChaCha8Rng, n: usize, d: usize) -> Mat<f64> {
    Mat::from_fn(n, d, |_, _| rng.random_range(-2.0..2.0))
}

/// Register the flow benchmarks:
///
/// - `flow/fig1_affine2/{encode,decode}_10k`: 2 affine couplings (tanh log-scales), `s` and
///   `t` MLPs `1 -> 24 -> 24 -> 24 -> 1` with LeakyReLU(0.2), on `10,000 x 2`;
/// - `flow/fig1_additive4/{encode,decode}_10k`: 4 additive couplings, same MLPs;
/// - `flow/mnist_additive4/encode_10k`: 4 additive couplings on `10,000 x 784`, conditioners
///   `392 -> 1000 -> 1000 -> 392` with ReLU (NICE's MNIST width), 10 samples;
/// - `flow/lu_linear_784/{encode,decode}_10k`: one [`LuLinear`] on `10,000 x 784` (a
///   product versus two triangular solves), 10 samples.
pub fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let leaky = Activation::LeakyRelu(0.2);
    let x2 = batch(&mut rng, N, 2);
    let toys = [
        ("fig1_affine2", 2, CouplingTransform::Affine(LogScale::Tanh)),
        ("fig1_additive4", 4, CouplingTransform::Additive),
    ];
    for (name, k, transform) in toys {
        let (flow, store) = coupling_flow(2, k, transform, &[24, 24, 24], leaky, &mut rng);
        let (z, _) = flow.encode(&store, x2.as_ref());
        let mut group = c.benchmark_group(format!("flow/{name}"));
        group.bench_function("encode_10k", |b| b.iter(|| black_box(flow.encode(&store, black_box(x2.as_ref())))));
        group.bench_function("decode_10k", |b| b.iter(|| black_box(flow.decode(&store, black_box(z.as_ref())))));
        group.finish();
    }

    let x784 = batch(&mut rng, N, 784);
    let mut group = c.benchmark_group("flow/mnist_additive4");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    let (flow, store) = coupling_flow(784, 4, CouplingTransform::Additive, &[1000, 1000], Activation::Relu, &mut rng);
    group.bench_function("encode_10k", |b| b.iter(|| black_box(flow.encode(&store, black_box(x784.as_ref())))));
    group.finish();

    let mut store = ParamStore::new();
    let lu = LuLinear::new(&mut store, "lu", 784, LuInit::RandomOrthogonal, &mut rng).expect("valid LU layer");
    let mut flow = Flow::new(784);
    flow.push(lu).expect("matching dimension");
    let (z, _) = flow.encode(&store, x784.as_ref());
    let mut group = c.benchmark_group("flow/lu_linear_784");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group.bench_function("encode_10k", |b| b.iter(|| black_box(flow.encode(&store, black_box(x784.as_ref())))));
    group.bench_function("decode_10k", |b| b.iter(|| black_box(flow.decode(&store, black_box(z.as_ref())))));
    group.finish();
}
