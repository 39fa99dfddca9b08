//! Quick timing of the neighbour search and estimators on random data of the benchmark shapes
//! (`cargo run --release -p intrinsic-dim --example knn_timing -- [n d k algorithm]`).

use std::time::Instant;

use faer::Mat;
use intrinsic_dim::{Algorithm, Estimator, KnnGraph, Mle, TwoNn};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (n, d, k) = (get(0, 10_000), get(1, 784), get(2, 20));
    let alg = match args.get(3).map(String::as_str) {
        Some("brute") => Algorithm::BruteForce,
        Some("tree") => Algorithm::KdTree,
        _ => Algorithm::Auto,
    };
    // A cheap deterministic pseudo-random fill (xorshift), values in [0, 1).
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let data = Mat::from_fn(n, d, |_, _| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    });
    for rep in 0..3 {
        let t = Instant::now();
        let g = KnnGraph::build_with(data.as_ref(), k, alg).expect("graph");
        let tg = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let m = Mle::default().estimate_with_graph(data.as_ref(), &g).expect("mle");
        let tw = TwoNn::default().estimate_with_graph(data.as_ref(), &g).expect("twonn");
        let te = t.elapsed().as_secs_f64();
        println!(
            "rep {rep}: n={n} d={d} k={k} {alg:?}: graph {tg:.3} s, mle+twonn {te:.4} s ({:.2}, {:.2})",
            m.dimension, tw.dimension
        );
    }
}
