// Shared part of the instruction-count driver (issue 14 A/B): `driver WORKLOAD ITERS` builds
// the workload, runs it twice to allocate every buffer, then ITERS times inside `measured`
// (never inlined), whose inclusive callgrind cost is the count of ITERS iterations. Rayon's
// global pool is the calling thread alone, so callgrind sees all work on one thread.

use std::hint::black_box;

#[allow(dead_code)]
mod autodiff_bench;
#[allow(dead_code)]
mod prior_bench;
mod side;

/// The workloads (names as in the criterion suite where the body is the suite's).
pub const WORKLOADS: &[&str] = &[
    "autodiff/realnvp_toy_step",
    "autodiff/spread_fig1_step",
    "autodiff/wide_fwd_bwd",
    "autodiff/wide_adam",
    "autodiff/faer_matmul_512",
    "autodiff/tape_overhead_10k",
    "prior/cholesky_1024_fwd_bwd",
    "prior/gaussian_1024_b100_fwd_bwd",
    "prior/faer_gemm_1024_seq",
    "fading_squares/train_step",
    "fading_squares/train_loop",
];

type Work = Box<dyn FnMut() -> f64>;

fn uniform(rng: &mut rand_chacha::ChaCha8Rng, r: usize, c: usize, h: f64) -> faer::Mat<f64> {
    use rand::RngExt;
    faer::Mat::from_fn(r, c, |_, _| rng.random_range(-h..h))
}

fn make(name: &str) -> Work {
    use autodiff_bench::{FlowStep, WideStep, overhead_step};
    use autodiff_lite::{ParamStore, Tape};
    use faer::{Accum, Mat, Par};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    match name {
        "autodiff/realnvp_toy_step" => {
            let mut s = FlowStep::realnvp_toy();
            Box::new(move || s.step())
        }
        "autodiff/spread_fig1_step" => {
            let mut s = FlowStep::spread_fig1();
            Box::new(move || s.step())
        }
        "autodiff/wide_fwd_bwd" => {
            let mut s = WideStep::seeded();
            Box::new(move || s.fwd_bwd())
        }
        "autodiff/wide_adam" => {
            let mut s = WideStep::seeded();
            s.fwd_bwd();
            Box::new(move || {
                s.adam();
                0.0
            })
        }
        "autodiff/faer_matmul_512" => {
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let (m1, m2) = (uniform(&mut rng, 512, 512, 1.0), uniform(&mut rng, 512, 512, 1.0));
            let mut out = Mat::<f64>::zeros(512, 512);
            Box::new(move || {
                faer::linalg::matmul::matmul(out.as_mut(), Accum::Replace, m1.as_ref(), m2.as_ref(), 1.0, Par::Seq);
                out[(0, 0)]
            })
        }
        "autodiff/tape_overhead_10k" => {
            let mut store = ParamStore::new();
            let w = store.add("w", faer::mat![[0.5]]);
            let mut tape = Tape::new();
            Box::new(move || overhead_step(&mut tape, &mut store, w))
        }
        "prior/cholesky_1024_fwd_bwd" => {
            let mut s = prior_bench::CholeskyStep::seeded();
            Box::new(move || s.fwd_bwd())
        }
        "prior/gaussian_1024_b100_fwd_bwd" => {
            let mut s = prior_bench::GaussianStep::seeded();
            Box::new(move || s.fwd_bwd())
        }
        "prior/faer_gemm_1024_seq" => {
            let mut rng = ChaCha8Rng::seed_from_u64(13);
            let (m1, m2) = (uniform(&mut rng, 1024, 1024, 1.0), uniform(&mut rng, 1024, 1024, 1.0));
            let mut out = Mat::<f64>::zeros(1024, 1024);
            Box::new(move || {
                faer::linalg::matmul::matmul(out.as_mut(), Accum::Replace, m1.as_ref(), m2.as_ref(), 1.0, Par::Seq);
                out[(0, 0)]
            })
        }
        "fading_squares/train_step" => side::train_step(),
        "fading_squares/train_loop" => side::train_loop(),
        other => panic!("unknown workload {other}; known: {WORKLOADS:?}"),
    }
}

/// The counted part: `iters` calls of the workload.
#[inline(never)]
fn measured(work: &mut Work, iters: usize) -> f64 {
    let mut sum = 0.0;
    for _ in 0..iters {
        sum += black_box(work());
    }
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: driver WORKLOAD ITERS; workloads: {WORKLOADS:?}");
        std::process::exit(2);
    }
    let iters: usize = args[2].parse().expect("ITERS is a number");
    let _ = rayon::ThreadPoolBuilder::new().num_threads(1).use_current_thread().build_global();
    let mut work = make(&args[1]);
    let warm = work() + work();
    let sum = measured(&mut work, iters);
    // The values, so both sides can be compared bit for bit too.
    println!("{}\titers={}\twarm={:e}\tsum={:e}", args[1], iters, warm, sum);
}
