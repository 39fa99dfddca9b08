//! Instruction counts (callgrind under valgrind, through `gungraun`) of the workloads CI
//! tracks (issue 19 item 4): counts are repeatable on a noisy machine where wall-clock
//! times are not. Run with `.ci/instructions` (which compares them with the committed
//! baselines in `benches/instructions/baseline.tsv`), or directly:
//!
//! ```sh
//! RAYON_NUM_THREADS=1 cargo bench -p mflow-benches --features instructions --bench instructions
//! ```
//!
//! Each benchmark's set-up (not counted) builds its inputs and runs the workload twice so
//! that every buffer is allocated; the count is one steady-state call. Rayon's global pool
//! is one thread, the benchmark's own ([`one_thread`]): callgrind counts only the thread
//! that calls the benchmark function, so work sent to a separate pool thread would be missed,
//! and one thread makes the counts independent of scheduling.

// gungraun's macros generate public modules and functions without documentation.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use autodiff_lite::{Gaussian, NoiseTerm, ParamId, ParamStore, Tape};
use datasets::{CsvOptions, Format};
use faer::Mat;
use flow_core::{Bijector, ConvCoupling, ConvCouplingConfig, ImageShape, LogDet};
use gungraun::{LibraryBenchmarkConfig, library_benchmark, library_benchmark_group, main};
use intrinsic_dim::KnnGraph;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[allow(dead_code)]
#[path = "autodiff_bench.rs"]
mod autodiff_bench;

use autodiff_bench::FlowStep;

/// Make the calling thread the only thread of rayon's global pool, so that every parallel
/// loop and `join` runs inline on it (once per process; gungraun runs each benchmark in its
/// own process).
fn one_thread() {
    // An error means the pool exists already (a second set-up in the same process): then it
    // was built here, with the same thread.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(1).use_current_thread().build_global();
}

fn uniform(rng: &mut ChaCha8Rng, r: usize, c: usize) -> Mat<f64> {
    Mat::from_fn(r, c, |_, _| rng.random_range(-1.0..1.0))
}

/// A flow step (RealNVP toy or fig1 spread) after two warm-up steps.
fn warm(mut step: FlowStep) -> FlowStep {
    one_thread();
    step.step();
    step.step();
    step
}

fn realnvp_toy() -> FlowStep {
    warm(FlowStep::realnvp_toy())
}

fn spread_fig1() -> FlowStep {
    warm(FlowStep::spread_fig1())
}

#[library_benchmark]
#[bench::realnvp_toy_step(setup = realnvp_toy)]
#[bench::spread_fig1_step(setup = spread_fig1)]
fn flow_step(mut step: FlowStep) -> f64 {
    black_box(step.step())
}

/// One convolutional coupling (the paper's conditioner, 2 channels of 28 x 28, batch 16):
/// forward and reverse pass of `sum(z) + sum(log det)`.
struct ConvStep {
    tape: Tape,
    store: ParamStore,
    layer: ConvCoupling,
    x: Mat<f64>,
}

impl ConvStep {
    fn run(&mut self) -> f64 {
        let Self { tape, store, layer, x } = self;
        tape.clear();
        let xv = tape.leaf(x.as_ref());
        let (z, log_det) = layer.forward(tape, store, xv);
        let mut loss = tape.sum(z);
        if let LogDet::PerSample(l) = log_det {
            let s = tape.sum(l);
            loss = tape.add(loss, s);
        }
        tape.backward(loss, store);
        store.zero_grads();
        tape.scalar(loss)
    }
}

fn conv_coupling_28() -> ConvStep {
    one_thread();
    let mut rng = ChaCha8Rng::seed_from_u64(28);
    let shape = ImageShape::new(2, 28, 28);
    let mut store = ParamStore::new();
    let layer = ConvCoupling::new(&mut store, "c", ConvCouplingConfig::paper(shape), &mut rng)
        .expect("the paper's conditioner at 2 x 28 x 28 is valid");
    let x = uniform(&mut rng, 16, shape.len());
    let mut step = ConvStep { tape: Tape::new(), store, layer, x };
    step.run();
    step.run();
    step
}

#[library_benchmark]
#[bench::fwd_bwd_28x28(setup = conv_coupling_28)]
fn conv_coupling(mut step: ConvStep) -> f64 {
    black_box(step.run())
}

/// The prior op at D = 784: `gaussian_log_prob` of a batch of 64 under `A A^T + s^2 I`
/// (`A` a 784 x 784 lower-triangular parameter), forward and reverse pass.
struct PriorStep {
    tape: Tape,
    store: ParamStore,
    a: ParamId,
    z: Mat<f64>,
}

impl PriorStep {
    fn run(&mut self) -> f64 {
        let Self { tape, store, a, z } = self;
        tape.clear();
        let zv = tape.leaf(z.as_ref());
        let factor = tape.param(store, *a);
        let gaussian = Gaussian { factor, mean: None, spread: 0.1, noise: NoiseTerm::None };
        let lp = tape.gaussian_log_prob(zv, &gaussian).expect("A A^T + s^2 I is positive definite");
        let loss = tape.mean(lp);
        tape.backward(loss, store);
        store.zero_grads();
        tape.scalar(loss)
    }
}

fn prior_784() -> PriorStep {
    const D: usize = 784;
    one_thread();
    let mut rng = ChaCha8Rng::seed_from_u64(784);
    let w = 0.5 / (D as f64).sqrt();
    let a = Mat::from_fn(D, D, |i, j| match i.cmp(&j) {
        std::cmp::Ordering::Equal => 1.0,
        std::cmp::Ordering::Greater => rng.random_range(-w..w),
        std::cmp::Ordering::Less => 0.0,
    });
    let mut store = ParamStore::new();
    let a = store.add("a", a);
    let z = uniform(&mut rng, 64, D);
    let mut step = PriorStep { tape: Tape::new(), store, a, z };
    step.run();
    step.run();
    step
}

#[library_benchmark]
#[bench::d784_b64_fwd_bwd(setup = prior_784)]
fn prior_op(mut step: PriorStep) -> f64 {
    black_box(step.run())
}

fn points_2000x64() -> Mat<f64> {
    one_thread();
    uniform(&mut ChaCha8Rng::seed_from_u64(64), 2_000, 64)
}

// The 20 nearest neighbours of each of 2,000 points in 64 dimensions.
#[library_benchmark]
#[bench::n2000_d64_k20(setup = points_2000x64)]
fn knn(points: Mat<f64>) -> KnnGraph {
    black_box(KnnGraph::build(points.as_ref(), 20).expect("2,000 distinct points"))
}

/// About 1 MB of CSV text: 5,000 rows of 20 numbers with 9 significant digits and a header.
fn csv_1mb() -> Vec<u8> {
    one_thread();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut text = (0..20).map(|j| format!("x{j}")).collect::<Vec<_>>().join(",");
    text.push('\n');
    for _ in 0..5_000 {
        let row: Vec<String> = (0..20).map(|_| format!("{:.8e}", rng.random_range(-1e3..1e3))).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    text.into_bytes()
}

// Parsing 1 MB of CSV from memory (no file I/O).
#[library_benchmark]
#[bench::parse_1mb(setup = csv_1mb)]
fn csv(bytes: Vec<u8>) -> usize {
    let loaded = datasets::load_reader(&bytes[..], Format::Text, Path::new("bench.csv"), &CsvOptions::default())
        .expect("the generated CSV parses");
    black_box(loaded.dataset.len())
}

library_benchmark_group!(name = tracked, benchmarks = [flow_step, conv_coupling, prior_op, knn, csv]);

main!(config = LibraryBenchmarkConfig::default().env("RAYON_NUM_THREADS", "1"), library_benchmark_groups = tracked);
