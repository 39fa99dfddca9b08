//! Benchmarks of the `autodiff-lite` tape (issue 3, "Speed"): two flow training steps of the
//! paper's size, a wide MLP step against faer's bare matmul, and the per-op overhead.
//!
//! Run single-threaded for the one-core figures the issue compares with PyTorch:
//! `RAYON_NUM_THREADS=1 cargo bench -p mflow-benches -- autodiff`. Each case is a struct
//! with a `step` method so that a profiler driver can run the very same code.

use std::hint::black_box;

use autodiff_lite::{Adam, AdamConfig, Gaussian, NoiseTerm, Optimizer, ParamId, ParamStore, Tape, Var};
use criterion::Criterion;
use faer::{Accum, Mat, Par};
use flow_core::{
    Activation, Bijector, Coupling, CouplingConfig, CouplingTransform, Flow, LogDet, LogScale, Mlp, MlpConfig, Parity,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn uniform(rng: &mut ChaCha8Rng, r: usize, c: usize) -> Mat<f64> {
    Mat::from_fn(r, c, |_, _| rng.random_range(-1.0..1.0))
}

fn adam() -> Adam {
    Adam::new(AdamConfig { lr: 1e-4, ..AdamConfig::default() })
}

/// A flow of `k` couplings on `R^2` with alternating parity.
fn coupling_flow(
    store: &mut ParamStore,
    k: usize,
    transform: CouplingTransform,
    hidden: &[usize],
    act: Activation,
    rng: &mut ChaCha8Rng,
) -> Flow {
    let mut flow = Flow::new(2);
    for i in 0..k {
        let config = CouplingConfig::halves(2, Parity::alternating(i), transform, hidden, act);
        let layer = Coupling::new(store, &format!("coupling.{i}"), config, rng).expect("valid coupling");
        flow.push(layer).expect("matching dimension");
    }
    flow
}

/// A flow training step: a model, its parameters, an optimiser, a reused tape and a batch.
pub struct FlowStep {
    tape: Tape,
    store: ParamStore,
    flow: Flow,
    opt: Adam,
    x: Mat<f64>,
    /// The prior's lower-triangular factor for the spread loss; `None` for the N(0, I) loss.
    prior: Option<ParamId>,
}

impl FlowStep {
    /// (a) 2-D RealNVP toy: 2 affine couplings (tanh log-scale), s and t nets
    /// 1 -> 64 -> 64 -> 1 (ReLU), batch 256, loss mean(0.5 |z|^2 - log det).
    pub fn realnvp_toy() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut store = ParamStore::new();
        let transform = CouplingTransform::Affine(LogScale::Tanh);
        let flow = coupling_flow(&mut store, 2, transform, &[64, 64], Activation::Relu, &mut rng);
        let x = uniform(&mut rng, 256, 2);
        Self { tape: Tape::new(), store, flow, opt: adam(), x, prior: None }
    }

    /// (b) fig1 spread step: 4 additive couplings 1 -> 24 -> 24 -> 24 -> 1 (LeakyReLU 0.2),
    /// batch 128, loss -mean(log N(z; 0, A A^T + s^2 I)) with a 2 x 2 triangular A, s = 0.01.
    pub fn spread_fig1() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut store = ParamStore::new();
        let act = Activation::LeakyRelu(0.2);
        let flow = coupling_flow(&mut store, 4, CouplingTransform::Additive, &[24, 24, 24], act, &mut rng);
        let a = store.add("prior.a", faer::mat![[1.0, 0.0], [0.3, 0.5]]);
        let x = uniform(&mut rng, 128, 2);
        Self { tape: Tape::new(), store, flow, opt: adam(), x, prior: Some(a) }
    }

    /// Forward, backward and one Adam update; returns the loss (not inlined, so that
    /// profilers can attribute one step).
    #[inline(never)]
    pub fn step(&mut self) -> f64 {
        let Self { tape, store, flow, opt, x, prior } = self;
        tape.clear();
        let xv = tape.leaf(x.as_ref());
        let (z, log_det) = flow.forward(tape, store, xv);
        let loss = match *prior {
            None => {
                let sq = tape.square(z);
                let rs = tape.row_sum(sq);
                let half = tape.mul_scalar(rs, 0.5);
                let nll = match log_det {
                    LogDet::Zero => half,
                    LogDet::PerSample(ld) => tape.sub(half, ld),
                };
                tape.mean(nll)
            }
            Some(a) => {
                let factor = tape.param(store, a);
                let gaussian = Gaussian { factor, mean: None, spread: 0.01, noise: NoiseTerm::None };
                let lp = tape.gaussian_log_prob(z, &gaussian).expect("spread covariance is positive definite");
                let m = tape.mean(lp);
                tape.neg(m)
            }
        };
        tape.backward(loss, store);
        opt.step(store);
        store.zero_grads();
        tape.scalar(loss)
    }
}

/// (c) A wide MLP 784 -> 1000 -> 1000 -> 784 (ReLU) on a batch of 128, loss mean(y^2).
pub struct WideStep {
    tape: Tape,
    store: ParamStore,
    mlp: Mlp,
    opt: Adam,
    x: Mat<f64>,
}

impl WideStep {
    /// The network and batch, from a fixed seed.
    pub fn seeded() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut store = ParamStore::new();
        let mlp = Mlp::new(&mut store, "wide", MlpConfig::new(784, &[1000, 1000], 784, Activation::Relu), &mut rng);
        let x = uniform(&mut rng, 128, 784);
        Self { tape: Tape::new(), store, mlp, opt: adam(), x }
    }

    /// Forward and backward (the gradients accumulate in the store).
    #[inline(never)]
    pub fn fwd_bwd(&mut self) -> f64 {
        let Self { tape, store, mlp, x, .. } = self;
        tape.clear();
        let xv = tape.leaf(x.as_ref());
        let y = mlp.forward(tape, store, xv);
        let sq = tape.square(y);
        let loss = tape.mean(sq);
        tape.backward(loss, store);
        tape.scalar(loss)
    }

    /// The Adam update alone.
    #[inline(never)]
    pub fn adam(&mut self) {
        self.opt.step(&mut self.store);
    }
}

/// (d) 10,000 elementwise ops on `1 x 1` values, forward and backward.
#[inline(never)]
pub fn overhead_step(tape: &mut Tape, store: &mut ParamStore, w: ParamId) -> f64 {
    tape.clear();
    let mut h: Var = tape.param(store, w);
    for k in 0..10_000 {
        h = match k % 4 {
            0 => tape.tanh(h),
            1 => tape.mul_scalar(h, 1.5),
            2 => tape.add_scalar(h, 0.1),
            _ => tape.mul(h, h),
        };
    }
    tape.backward(h, store);
    store.zero_grads();
    tape.scalar(h)
}

/// Register the autodiff benchmarks.
pub fn bench(c: &mut Criterion) {
    let mut realnvp = FlowStep::realnvp_toy();
    c.bench_function("autodiff/realnvp_toy_step", |b| b.iter(|| black_box(realnvp.step())));

    let mut spread = FlowStep::spread_fig1();
    c.bench_function("autodiff/spread_fig1_step", |b| b.iter(|| black_box(spread.step())));

    let mut group = c.benchmark_group("autodiff");
    group.sample_size(20);
    let mut wide = WideStep::seeded();
    group.bench_function("wide_fwd_bwd", |b| b.iter(|| black_box(wide.fwd_bwd())));
    group.bench_function("wide_adam", |b| b.iter(|| wide.adam()));
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let (m1, m2) = (uniform(&mut rng, 512, 512), uniform(&mut rng, 512, 512));
    let mut out = Mat::<f64>::zeros(512, 512);
    group.bench_function("faer_matmul_512", |b| {
        b.iter(|| {
            faer::linalg::matmul::matmul(out.as_mut(), Accum::Replace, m1.as_ref(), m2.as_ref(), 1.0, Par::Seq);
            black_box(out[(0, 0)])
        })
    });
    group.finish();

    let mut store = ParamStore::new();
    let w = store.add("w", faer::mat![[0.5]]);
    let mut tape = Tape::new();
    c.bench_function("autodiff/tape_overhead_10k", |b| b.iter(|| black_box(overhead_step(&mut tape, &mut store, w))));
}
