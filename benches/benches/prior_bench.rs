//! Benchmarks of the prior's linear algebra at the fading-squares size (issue 8, "Speed"): the tape's
//! Cholesky with its log-determinant, and the fused spread-Gaussian log-density
//! `gaussian_log_prob` at `D = 1024`, batch 100, `s = 0.01`, each forward and backward.
//!
//! `prior/faer_gemm_1024_*` is the dense `1024^3` product (2.15 GFLOP) with faer, the
//! reference for the GFLOP/s the structured kernels reach. Run the group with
//! `cargo bench -p mflow-benches --bench suite -- prior`.

use std::hint::black_box;

use autodiff_lite::{Gaussian, NoiseTerm, ParamId, ParamStore, Tape};
use criterion::Criterion;
use faer::{Accum, Mat, Par};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const D: usize = 1024;
const BATCH: usize = 100;
const SPREAD: f64 = 0.01;

fn uniform(rng: &mut ChaCha8Rng, r: usize, c: usize, half_width: f64) -> Mat<f64> {
    Mat::from_fn(r, c, |_, _| rng.random_range(-half_width..half_width))
}

/// A lower-triangular factor near the identity: `I + E` with `E` strictly lower, entries
/// uniform in `+-0.5 / sqrt(D)`, so that `A A^T` is well conditioned like a trained prior's.
fn near_identity_factor(rng: &mut ChaCha8Rng, d: usize) -> Mat<f64> {
    let w = 0.5 / (d as f64).sqrt();
    Mat::from_fn(d, d, |i, j| match i.cmp(&j) {
        std::cmp::Ordering::Equal => 1.0,
        std::cmp::Ordering::Greater => rng.random_range(-w..w),
        std::cmp::Ordering::Less => 0.0,
    })
}

/// `log det(chol(S))` forward and backward on a `D x D` SPD matrix held as a parameter.
pub struct CholeskyStep {
    tape: Tape,
    store: ParamStore,
    s: ParamId,
}

impl CholeskyStep {
    /// `S = B B^T / D + I` from a fixed seed.
    pub fn seeded() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let b = uniform(&mut rng, D, D, 1.0);
        let s = &b * b.transpose() * (1.0 / D as f64) + Mat::<f64>::identity(D, D);
        let mut store = ParamStore::new();
        let s = store.add("s", s);
        Self { tape: Tape::new(), store, s }
    }

    /// Cholesky, log-determinant, reverse pass into the store.
    #[inline(never)]
    pub fn fwd_bwd(&mut self) -> f64 {
        let Self { tape, store, s } = self;
        tape.clear();
        let sv = tape.param(store, *s);
        let l = tape.cholesky(sv).expect("S is positive definite");
        let ld = tape.log_det_cholesky(l);
        tape.backward(ld, store);
        store.zero_grads();
        tape.scalar(ld)
    }
}

/// `-mean_i log N(z_i; mu, A A^T + s^2 I)` forward and backward, with `z`, `A` and `mu`
/// all parameters (so the reverse pass produces every gradient a spread flow needs).
pub struct GaussianStep {
    tape: Tape,
    store: ParamStore,
    z: ParamId,
    a: ParamId,
    mu: ParamId,
}

impl GaussianStep {
    /// `A` lower triangular near the identity, `z` uniform in `+-2`, `mu` small.
    pub fn seeded() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let mut store = ParamStore::new();
        let a = store.add("a", near_identity_factor(&mut rng, D));
        let z = store.add("z", uniform(&mut rng, BATCH, D, 2.0));
        let mu = store.add("mu", uniform(&mut rng, 1, D, 0.1));
        Self { tape: Tape::new(), store, z, a, mu }
    }

    /// One `gaussian_log_prob` forward and backward.
    #[inline(never)]
    pub fn fwd_bwd(&mut self) -> f64 {
        let Self { tape, store, z, a, mu } = self;
        tape.clear();
        let (zv, factor, mean) = (tape.param(store, *z), tape.param(store, *a), tape.param(store, *mu));
        let gaussian = Gaussian { factor, mean: Some(mean), spread: SPREAD, noise: NoiseTerm::None };
        let lp = tape.gaussian_log_prob(zv, &gaussian).expect("spread covariance is positive definite");
        let m = tape.mean(lp);
        let loss = tape.neg(m);
        tape.backward(loss, store);
        store.zero_grads();
        tape.scalar(loss)
    }
}

/// Register the prior benchmarks.
pub fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("prior");
    group.sample_size(20);

    let mut chol = CholeskyStep::seeded();
    group.bench_function("cholesky_1024_fwd_bwd", |b| b.iter(|| black_box(chol.fwd_bwd())));

    let mut gauss = GaussianStep::seeded();
    group.bench_function("gaussian_1024_b100_fwd_bwd", |b| b.iter(|| black_box(gauss.fwd_bwd())));

    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let (m1, m2) = (uniform(&mut rng, D, D, 1.0), uniform(&mut rng, D, D, 1.0));
    let mut out = Mat::<f64>::zeros(D, D);
    for (name, par) in [("faer_gemm_1024_seq", Par::Seq), ("faer_gemm_1024_par", Par::rayon(0))] {
        group.bench_function(name, |b| {
            b.iter(|| {
                faer::linalg::matmul::matmul(out.as_mut(), Accum::Replace, m1.as_ref(), m2.as_ref(), 1.0, par);
                black_box(out[(0, 0)])
            })
        });
    }
    group.finish();
}
