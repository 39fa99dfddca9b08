//! Cross-module tests of the estimators: agreement with scikit-dimension 0.5 on committed
//! fixtures, accuracy on the benchmark manifolds, invariance under similarity transforms, and
//! typed errors on degenerate input.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use datasets::{GenerateOptions, Manifold};
use faer::{Mat, MatRef};
use intrinsic_dim::{
    Combine, CorrelationDimension, Estimate, EstimateError, Estimator, KnnGraph, Mle, Pca, PcaMode, TwoNn, TwoNnFit,
    estimate_all,
};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Relative tolerance for agreement with skdim where the definitions match.
const SKDIM_RTOL: f64 = 1e-6;

fn fixture_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// A headerless numeric CSV fixture as an `n x d` matrix.
fn read_fixture(name: &str) -> Mat<f64> {
    let text = std::fs::read_to_string(fixture_dir().join(format!("{name}.csv"))).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse::<f64>().unwrap()).collect())
        .collect();
    Mat::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

/// `fixture -> (estimator key -> skdim value)` from `skdim_reference.csv`.
fn reference() -> BTreeMap<String, BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(fixture_dir().join("skdim_reference.csv")).unwrap();
    let mut out: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        out.entry(f[0].to_owned()).or_default().insert(f[1].to_owned(), f[2].parse().unwrap());
    }
    out
}

/// Our value for a reference key (see `scripts/skdim_reference.py` for the keys).
fn ours(key: &str, x: MatRef<'_, f64>, g: &KnnGraph) -> f64 {
    let est = |e: &dyn Estimator| e.estimate_with_graph(x, g).unwrap();
    let dim = |e: &dyn Estimator| est(e).dimension;
    match key {
        "mle_k10" => dim(&Mle::new(10)),
        "mle_k20" => dim(&Mle::new(20)),
        "mle_k20_mean" => dim(&Mle::new(20).with_combine(Combine::Mean)),
        "mle_k20_median" => dim(&Mle::new(20).with_combine(Combine::Median)),
        "twonn" => dim(&TwoNn::default()),
        "twonn_f0.25" => dim(&TwoNn { discard_fraction: 0.25, fit: TwoNnFit::Linear }),
        "twonn_f0_mle" => dim(&TwoNn { discard_fraction: 0.0, fit: TwoNnFit::Mle }),
        "twonn_mle" => dim(&TwoNn { discard_fraction: 0.1, fit: TwoNnFit::Mle }),
        "lpca" => dim(&Pca::default()),
        "lpca_a0.2" => dim(&Pca { alpha: 0.2, mode: PcaMode::Global }),
        "lpca_pw30_mean" => dim(&Pca::pointwise(30)),
        "lpca_pw30_median" => dim(&Pca { alpha: 0.05, mode: PcaMode::Pointwise { k: 30, combine: Combine::Median } }),
        "corrint_10_20" => dim(&CorrelationDimension::default()),
        "corrint_5_15" => dim(&CorrelationDimension::new(5, 15)),
        "corrint_5_12" => dim(&CorrelationDimension::new(5, 12)),
        other => {
            let i: usize = other.strip_prefix("mle_k20_pw").expect("unknown reference key").parse().unwrap();
            est(&Mle::new(20)).local.unwrap()[i]
        }
    }
}

#[test]
fn agrees_with_scikit_dimension_on_the_fixtures() {
    let reference = reference();
    assert_eq!(reference.len(), 4, "four fixtures");
    for (fixture, values) in &reference {
        let x = read_fixture(fixture);
        let g = KnnGraph::build(x.as_ref(), 30).unwrap();
        for (key, &want) in values {
            let got = ours(key, x.as_ref(), &g);
            let rel = (got - want).abs() / want.abs();
            assert!(rel <= SKDIM_RTOL, "{fixture} {key}: ours {got}, skdim {want} (relative {rel:.2e})");
        }
    }
}

/// Where a pair lies exactly at a CorrInt radius (the median `k`-th neighbour distance is the
/// distance of a mutual pair), the count uses direct distances and strict inequality, so the
/// pair is out; skdim's matrix-product distances happened to put it in (4,314 pairs, from
/// `scripts/skdim_reference.py`'s check). The exhaustive direct count is 4,312.
#[test]
fn corrint_counts_a_pair_at_the_radius_exactly_as_the_definition_says() {
    let x = read_fixture("sphere_in30_300x30");
    let e = CorrelationDimension::new(5, 15).estimate(x.as_ref()).unwrap();
    assert_eq!((e.diagnostic("c2").unwrap() * 300.0 * 300.0).round(), 4312.0);
}

#[test]
fn duplicates_are_skipped_and_counted() {
    // The fixture's last 20 rows repeat its first 20: 40 points have a twin at distance 0.
    let x = read_fixture("cube4_dups_200x4");
    let mle = Mle::default().estimate(x.as_ref()).unwrap();
    assert_eq!(mle.diagnostic("skipped_duplicates"), Some(40.0));
    let local = mle.local.unwrap();
    assert!(local[..20].iter().chain(&local[180..]).all(|v| v.is_nan()));
    assert!(local[20..180].iter().all(|v| v.is_finite()));
    assert!(mle.dimension.is_finite());
    let twonn = TwoNn::default().estimate(x.as_ref()).unwrap();
    assert_eq!(twonn.diagnostic("skipped_duplicates"), Some(40.0));
    assert_eq!(twonn.diagnostic("n_ratios"), Some(160.0));
}

#[test]
fn all_duplicates_is_a_typed_error() {
    // Ten distinct points, each present three times.
    let x = Mat::from_fn(30, 3, |i, j| ((i % 10) * (j + 1)) as f64);
    let err = Err(EstimateError::Duplicates { skipped: 30, total: 30 });
    assert_eq!(Mle::new(5).estimate(x.as_ref()), err);
    assert_eq!(TwoNn::default().estimate(x.as_ref()), err);
    assert!(matches!(CorrelationDimension::new(2, 5).estimate(x.as_ref()), Err(EstimateError::Degenerate(_))));
}

#[test]
fn too_few_samples_and_neighbours_are_typed_errors() {
    let x = Mat::from_fn(15, 2, |i, j| (i * i + j) as f64);
    assert_eq!(Mle::default().estimate(x.as_ref()), Err(EstimateError::TooFewSamples { needed: 21, got: 15 }));
    assert_eq!(
        CorrelationDimension::default().estimate(x.as_ref()),
        Err(EstimateError::TooFewSamples { needed: 21, got: 15 })
    );
    let g = KnnGraph::build(x.as_ref(), 5).unwrap();
    assert_eq!(
        Mle::new(10).estimate_with_graph(x.as_ref(), &g),
        Err(EstimateError::TooFewNeighbours { needed: 10, got: 5 })
    );
    let tiny = Mat::from_fn(2, 2, |i, j| (i + j) as f64);
    assert_eq!(TwoNn::default().estimate(tiny.as_ref()), Err(EstimateError::TooFewSamples { needed: 3, got: 2 }));
    let mut bad = Mat::from_fn(50, 2, |i, j| (i * 3 + j) as f64);
    bad[(7, 1)] = f64::INFINITY;
    assert_eq!(Pca::default().estimate(bad.as_ref()), Err(EstimateError::NonFinite { row: 7, col: 1 }));
}

#[test]
fn estimate_all_shares_one_graph_and_matches_separate_runs() {
    let x = Manifold::SwissRoll.generate(&GenerateOptions::new(600, 3)).data;
    let (mle, twonn, pca, corr) =
        (Mle::default(), TwoNn::default(), Pca::pointwise(40), CorrelationDimension::default());
    let all = estimate_all(x.as_ref(), &[&mle, &twonn, &pca, &corr, &Pca::default()]);
    let separate: Vec<Estimate> = vec![
        mle.estimate(x.as_ref()).unwrap(),
        twonn.estimate(x.as_ref()).unwrap(),
        pca.estimate(x.as_ref()).unwrap(),
        corr.estimate(x.as_ref()).unwrap(),
        Pca::default().estimate(x.as_ref()).unwrap(),
    ];
    for (a, b) in all.into_iter().zip(separate) {
        assert_eq!(a.unwrap(), b);
    }
}

/// Accuracy on noiseless benchmark manifolds, `n = 2000`, with the tolerance each method is
/// known to reach: MLE (Levina and Bickel 2005) and TwoNN (Facco et al. 2017) within 10% for
/// ID <= 5; correlation dimension (Grassberger-Procaccia; it underestimates as the ID grows,
/// since the small radii these n allow still see boundary and curvature) within 10% for
/// ID <= 5; local PCA
/// (Fukunaga-Olsen, 100-neighbourhoods, median) exactly the ID where the curvature inside a
/// neighbourhood stays below the 5% threshold. Global PCA is exact on the linear manifolds only.
#[test]
fn benchmark_manifolds_within_the_literature_accuracy() {
    let mut report = Vec::new();
    for m in datasets::benchmark_manifolds() {
        let x = m.generate(&GenerateOptions::new(2000, 11)).data;
        let id = m.intrinsic_dim() as f64;
        let pw = Pca { alpha: 0.05, mode: PcaMode::Pointwise { k: 100, combine: Combine::Median } };
        let (mle, twonn, corr, lpca_pw, lpca) =
            (Mle::default(), TwoNn::default(), CorrelationDimension::default(), pw, Pca::default());
        let r = estimate_all(x.as_ref(), &[&mle, &twonn, &corr, &lpca_pw, &lpca]);
        let v: Vec<f64> = r.into_iter().map(|e| e.unwrap().dimension).collect();
        report.push(format!(
            "{:>18} id {id}: mle {:.3} twonn {:.3} corrdim {:.3} lpca-pw {} lpca {}",
            m.name(),
            v[0],
            v[1],
            v[2],
            v[3],
            v[4]
        ));
        let rel = |e: f64| (e - id).abs() / id;
        assert!(rel(v[0]) <= 0.10, "{}: MLE {} vs {id}\n{}", m.name(), v[0], report.join("\n"));
        assert!(rel(v[1]) <= 0.10, "{}: TwoNN {} vs {id}\n{}", m.name(), v[1], report.join("\n"));
        assert!(rel(v[2]) <= 0.10, "{}: CorrInt {} vs {id}\n{}", m.name(), v[2], report.join("\n"));
        if matches!(m, Manifold::Torus) {
            // Inside 100 of 2000 points the tube (minor radius 1) bends enough that the third
            // principal variance passes 5% of the first.
            assert!((v[3] - id).abs() <= 1.0, "{}: pointwise lPCA {}", m.name(), v[3]);
        } else {
            assert_eq!(v[3], id, "{}: pointwise lPCA\n{}", m.name(), report.join("\n"));
        }
        if matches!(m, Manifold::LinearSubspace { .. } | Manifold::Hypercube { .. }) {
            assert_eq!(v[4], id, "{}: global lPCA on a linear manifold", m.name());
        }
    }
    println!("{}", report.join("\n"));
}

/// A random similarity transform `x -> c Q x + t`: `Q` a product of Givens rotations in random
/// planes, `c > 0`, `t` a random shift of size `shift`.
fn similarity(x: MatRef<'_, f64>, seed: u64, scale: f64, shift: f64) -> Mat<f64> {
    let (n, d) = (x.nrows(), x.ncols());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut y = x.to_owned();
    for _ in 0..3 * d {
        let (p, q) = (rng.random_range(0..d), rng.random_range(0..d));
        if p == q {
            continue;
        }
        let th: f64 = rng.random::<f64>() * std::f64::consts::TAU;
        let (c, s) = (th.cos(), th.sin());
        for i in 0..n {
            let (a, b) = (y[(i, p)], y[(i, q)]);
            y[(i, p)] = c * a - s * b;
            y[(i, q)] = s * a + c * b;
        }
    }
    let t: Vec<f64> = (0..d).map(|_| shift * (rng.random::<f64>() - 0.5)).collect();
    Mat::from_fn(n, d, |i, j| scale * y[(i, j)] + t[j])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, rng_seed: proptest::test_runner::RngSeed::Fixed(42), ..ProptestConfig::default() })]

    /// Estimates depend on distances (and PCA on variance ratios) only: a rotation, a
    /// translation and a uniform scaling change them by rounding alone.
    #[test]
    fn invariant_under_rotation_translation_and_scaling(
        which in 0usize..12, seed in 0u64..10_000, log_scale in -3.0f64..3.0, shift in 0.0f64..100.0
    ) {
        let m = datasets::benchmark_manifolds()[which];
        let x = m.generate(&GenerateOptions::new(300, seed)).data;
        let y = similarity(x.as_ref(), seed ^ 0xABCD, 10f64.powf(log_scale), shift);
        let ests: [&dyn Estimator; 5] = [&Mle::default(), &TwoNn::default(), &CorrelationDimension::default(), &Pca::default(), &Pca::pointwise(30)];
        let a = estimate_all(x.as_ref(), &ests);
        let b = estimate_all(y.as_ref(), &ests);
        for ((e, a), b) in ests.iter().zip(a).zip(b) {
            let (a, b) = (a.unwrap().dimension, b.unwrap().dimension);
            prop_assert!((a - b).abs() <= 1e-9 * a.abs(), "{} on {}: {} vs {}", e.name(), m.name(), a, b);
        }
    }

    /// Issue 16, item 4: the classical estimators give the same estimate whatever the data's
    /// scale over the whole `f64` range. Scaling by a power of two (down to `2^-1000`, up to
    /// `2^1000`) gives bit-identical estimates; scaling by a power of ten rounds the data once
    /// (relative `2^-53`), which moves MLE, TwoNN and CorrInt by rounding alone and leaves
    /// the PCA counts unchanged. At `1e154` and more squares of distances used to overflow
    /// ("all k neighbours at the same distance"), and at `1e-170` lPCA returned 0 and the
    /// others called every point a duplicate.
    #[test]
    fn estimates_do_not_depend_on_the_scale_of_the_data(which in 0usize..12, seed in 0u64..10_000) {
        let m = datasets::benchmark_manifolds()[which];
        let x = m.generate(&GenerateOptions::new(250, seed)).data;
        let ests: [&dyn Estimator; 5] =
            [&Mle::default(), &TwoNn::default(), &CorrelationDimension::default(), &Pca::default(), &Pca::pointwise(20)];
        let base: Vec<f64> = estimate_all(x.as_ref(), &ests).into_iter().map(|r| r.unwrap().dimension).collect();
        for exp in [-1000, -600, -300, -100, 100, 300, 600, 1000] {
            let f = 2f64.powi(exp.clamp(-1000, 1000));
            let y = Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] * f);
            for ((e, r), &want) in ests.iter().zip(estimate_all(y.as_ref(), &ests)).zip(&base) {
                let got = r.map_err(|err| TestCaseError::fail(format!("{} at 2^{exp}: {err}", e.name())))?.dimension;
                prop_assert_eq!(got.to_bits(), want.to_bits(), "{} on {} at 2^{}: {} vs {}", e.name(), m, exp, got, want);
            }
        }
        for f in [1e-300, 1e-170, 1e-100, 1e100, 1e154, 1e200, 1e300] {
            let y = Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] * f);
            for ((e, r), &want) in ests.iter().zip(estimate_all(y.as_ref(), &ests)).zip(&base) {
                let got = r.map_err(|err| TestCaseError::fail(format!("{} at {f:e}: {err}", e.name())))?.dimension;
                prop_assert!((got - want).abs() <= 1e-9 * want.abs(), "{} on {} at {:e}: {} vs {}", e.name(), m, f, got, want);
            }
        }
    }
}

/// Issue 16, item 4: at extreme scales the errors say what is wrong. Exact duplicates are
/// duplicates at any scale, and data near `f64::MAX` (whose distances overflow) still gets an
/// estimate.
#[test]
fn errors_at_extreme_scales_are_the_true_ones() {
    let x = Manifold::Sphere { k: 2 }.generate(&GenerateOptions::new(300, 5)).data;
    let base = Mle::default().estimate(x.as_ref()).unwrap().dimension;
    let huge = Mat::from_fn(300, 3, |i, j| x[(i, j)] * 1e308);
    let got = Mle::default().estimate(huge.as_ref()).unwrap().dimension;
    assert!((got - base).abs() <= 1e-9 * base, "{got} vs {base}");
    let g = KnnGraph::build(huge.as_ref(), 20).unwrap();
    assert_ne!(g.unit_exponent(), 0);
    let dup = Mat::from_fn(300, 3, |i, j| if i % 2 == 0 { 1e300 } else { -1e300 } * (j + 1) as f64);
    for e in [&Mle::default() as &dyn Estimator, &TwoNn::default()] {
        assert!(matches!(e.estimate(dup.as_ref()), Err(EstimateError::Duplicates { skipped: 300, total: 300 })));
    }
    // A neighbour count that would overflow `k + 1` is "too few samples", not a panic.
    assert_eq!(
        KnnGraph::build(x.as_ref(), usize::MAX).err(),
        Some(EstimateError::TooFewSamples { needed: usize::MAX, got: 300 })
    );
    assert_eq!(KnnGraph::bytes_needed(1000, 3, 20), Some(16 * 20_000 + 24_000 + 16 * 36_000));
    assert_eq!(KnnGraph::bytes_needed(usize::MAX, 3, 20), None);
}
