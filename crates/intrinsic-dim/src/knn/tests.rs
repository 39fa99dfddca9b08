//! Unit tests of the neighbour search: both algorithms against an exhaustive reference, with
//! ties and duplicates, plus pair counts.

#![allow(clippy::unwrap_used)]

use faer::Mat;
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// Exhaustive reference: direct distances, `(distance^2, index)` order, self excluded.
fn reference(data: &Mat<f64>, k: usize) -> (Vec<usize>, Vec<f64>) {
    let n = data.nrows();
    let row = |i: usize| (0..data.ncols()).map(|j| data[(i, j)]).collect::<Vec<_>>();
    let (mut idx, mut dist) = (Vec::new(), Vec::new());
    for i in 0..n {
        let xi = row(i);
        let mut all: Vec<(f64, usize)> = (0..n)
            .filter(|&j| j != i)
            .map(|j| (xi.iter().zip(row(j)).map(|(a, b)| (a - b) * (a - b)).sum::<f64>(), j))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(d2, j) in &all[..k] {
            idx.push(j);
            dist.push(d2.sqrt());
        }
    }
    (idx, dist)
}

fn random(n: usize, d: usize, seed: u64) -> Mat<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Mat::from_fn(n, d, |_, _| rng.random::<f64>() * 2.0 - 1.0)
}

/// Distances agree to rounding (centring changes the last bits) and every listed neighbour is
/// at the listed distance; indices agree wherever distances are not tied.
fn assert_same(g: &KnnGraph, (idx, dist): &(Vec<usize>, Vec<f64>), k: usize) {
    for i in 0..g.n() {
        for j in 0..k {
            let (a, b) = (g.distances(i)[j], dist[i * k + j]);
            assert!((a - b).abs() <= 1e-12 * b.max(1.0), "point {i} rank {j}: {a} vs {b}");
            let untied = (j == 0 || dist[i * k + j - 1] < b - 1e-12) && (j + 1 == k || dist[i * k + j + 1] > b + 1e-12);
            if untied {
                assert_eq!(g.indices(i)[j], idx[i * k + j], "point {i} rank {j}");
            }
        }
    }
}

#[test]
fn both_algorithms_match_the_exhaustive_reference() {
    for &(n, d, k) in &[(300, 3, 5), (700, 2, 20), (600, 10, 7), (530, 40, 12), (257, 784, 3)] {
        let data = random(n, d, (n * d + k) as u64);
        let want = reference(&data, k);
        for alg in [Algorithm::BruteForce, Algorithm::KdTree] {
            let g = KnnGraph::build_with(data.as_ref(), k, alg).unwrap();
            assert_eq!((g.n(), g.k()), (n, k));
            assert_same(&g, &want, k);
        }
    }
}

#[test]
fn duplicates_are_neighbours_at_distance_zero() {
    // A 4 x 4 grid (many ties) with every point present twice.
    let data = Mat::from_fn(32, 2, |i, j| if j == 0 { ((i % 16) / 4) as f64 } else { (i % 4) as f64 });
    for alg in [Algorithm::BruteForce, Algorithm::KdTree] {
        let g = KnnGraph::build_with(data.as_ref(), 5, alg).unwrap();
        for i in 0..32 {
            assert_eq!(g.indices(i)[0], (i + 16) % 32, "{alg:?}: the twin comes first");
            assert_eq!(g.distances(i)[0], 0.0);
            assert!(!g.indices(i).contains(&i), "{alg:?}: a point is not its own neighbour");
        }
        assert_same(&g, &reference(&data, 5), 5);
    }
}

#[test]
fn far_from_the_origin_the_product_formula_is_certified_or_rescanned() {
    // Points 1e-3 apart around 1e6: |x|^2 - 2xy + |y|^2 cancels catastrophically without care.
    let base = random(400, 20, 9);
    let data = Mat::from_fn(400, 20, |i, j| 1e6 + 1e-3 * base[(i, j)]);
    let want = reference(&data, 4);
    let g = KnnGraph::build_with(data.as_ref(), 4, Algorithm::BruteForce).unwrap();
    for i in 0..400 {
        for j in 0..4 {
            let (a, b) = (g.distances(i)[j], want.1[i * 4 + j]);
            assert!((a - b).abs() <= 1e-9 * b, "point {i} rank {j}: {a} vs {b}");
        }
    }
}

#[test]
fn near_twins_beyond_f32_and_f64_resolution_are_still_exact() {
    // Rows 0..100 are spread out; rows 100..200 copy them up to 1e-4 (the f32 ranking cannot
    // separate these, f64 can) and rows 200..300 up to 1e-9 (only direct distances can).
    let base = random(300, 20, 5);
    let data = Mat::from_fn(300, 20, |i, j| match i {
        0..100 => base[(i, j)],
        100..200 => base[(i - 100, j)] + 1e-4 * base[(i, j)],
        _ => base[(i - 200, j)] + 1e-9 * base[(i, j)],
    });
    let want = reference(&data, 6);
    let g = KnnGraph::build_with(data.as_ref(), 6, Algorithm::BruteForce).unwrap();
    for i in 0..300 {
        assert_eq!(g.indices(i), &want.0[i * 6..(i + 1) * 6], "point {i}");
        for j in 0..6 {
            let (a, b) = (g.distances(i)[j], want.1[i * 6 + j]);
            assert!((a - b).abs() <= 1e-9 * b, "point {i} rank {j}: {a} vs {b}");
        }
    }
}

#[cfg(feature = "rayon")]
#[test]
fn the_graph_does_not_depend_on_the_thread_count() {
    // Enough points for many tiles (and lock contention) with 3 threads.
    let data = random(1500, 30, 21);
    let pool = |t| rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
    for alg in [Algorithm::BruteForce, Algorithm::KdTree] {
        let one = pool(1).install(|| KnnGraph::build_with(data.as_ref(), 8, alg).unwrap());
        let three = pool(3).install(|| KnnGraph::build_with(data.as_ref(), 8, alg).unwrap());
        assert_eq!(one, three, "{alg:?}");
        let c1 = pool(1).install(|| count_pairs_within(data.as_ref(), &[1.5, 2.0], alg).unwrap());
        let c3 = pool(3).install(|| count_pairs_within(data.as_ref(), &[1.5, 2.0], alg).unwrap());
        assert_eq!(c1, c3, "{alg:?}");
    }
}

#[test]
fn errors_are_typed() {
    let data = random(5, 2, 1);
    assert_eq!(KnnGraph::build(data.as_ref(), 5), Err(EstimateError::TooFewSamples { needed: 6, got: 5 }));
    let mut bad = random(10, 2, 1);
    bad[(3, 1)] = f64::NAN;
    assert_eq!(KnnGraph::build(bad.as_ref(), 2), Err(EstimateError::NonFinite { row: 3, col: 1 }));
}

#[test]
fn truncation_keeps_the_nearest() {
    let data = random(200, 4, 3);
    let g = KnnGraph::build(data.as_ref(), 10).unwrap();
    let t = g.truncated(3);
    let direct = KnnGraph::build(data.as_ref(), 3).unwrap();
    assert_eq!(t, direct);
}

#[test]
fn pair_counts_match_a_direct_count() {
    for &(n, d) in &[(400, 3), (300, 30)] {
        let data = random(n, d, 77);
        let row = |i: usize| (0..d).map(|c| data[(i, c)]).collect::<Vec<_>>();
        // The last radius is exactly the distance of a pair (as the graph reports it): strictly
        // inside excludes that pair.
        let r01 = sq_dist(&row(0), &row(1)).sqrt();
        let radii = [0.2, 0.5, 1.0, r01];
        let mut want = [0u64; 4];
        for i in 0..n {
            for j in (0..n).filter(|&j| j != i) {
                let dist = sq_dist(&row(i), &row(j)).sqrt();
                for (w, r) in want.iter_mut().zip(radii) {
                    *w += u64::from(dist < r);
                }
            }
        }
        for alg in [Algorithm::BruteForce, Algorithm::KdTree] {
            assert_eq!(count_pairs_within(data.as_ref(), &radii, alg).unwrap(), want, "{alg:?} n={n} d={d}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]

    /// Random sizes, dimensions and duplicate patterns: tree, brute force and reference agree.
    #[test]
    fn algorithms_agree(seed in 0u64..1_000_000, n in 20usize..300, d in 1usize..24, k in 1usize..12, dup in 0usize..5) {
        let mut data = random(n, d, seed);
        // Copy some rows onto others to create exact duplicates.
        for t in 0..dup.min(n / 2) {
            for c in 0..d {
                data[(2 * t + 1, c)] = data[(2 * t, c)];
            }
        }
        let k = k.min(n - 1);
        let want = reference(&data, k);
        for alg in [Algorithm::BruteForce, Algorithm::KdTree] {
            let g = KnnGraph::build_with(data.as_ref(), k, alg).unwrap();
            assert_same(&g, &want, k);
        }
    }
}
