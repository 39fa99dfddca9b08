//! Acceptance of the method on the paper's sine curve (method.md section 3) with the exact
//! configuration of the paper: these train full 10k-step runs, so they assert only properties
//! that held in every run we measured. The multi-seed targets (ID 1 in 80% of the seeds,
//! median eigenvalue ratio >= 30, >= 99% of samples on the curve in every seed) are measured
//! and judged by `cargo xtask reproduce fig1 --strict`, which CI runs (`.ci/run`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use datasets::Manifold;
use faer::Mat;
use manifold_prior::{
    DataSource, ReadoffConfig, ScalingMode, Silent, SpreadConfig, Standardizer, TrainConfig, paper_fig1_baseline,
    paper_fig1_spread, spread_preset, train,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn sine(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
    Manifold::SineCurve.sample(n, rng)
}

/// The fraction of rows within `tol` of the curve `x2 = sin(2 x1)` (non-finite rows count as off).
fn on_curve_fraction(x: &Mat<f64>, tol: f64) -> f64 {
    let err = Manifold::SineCurve.manifold_error(x.as_ref()).expect("the sine curve has an exact error");
    err.iter().filter(|&&e| e < tol).count() as f64 / err.len() as f64
}

#[test]
fn the_spread_flow_keeps_samples_on_the_curve_and_reads_dimension_one() {
    // Seeds 0 and 1: the first two, not chosen. In our 5-seed measurements the on-curve
    // fraction ranged from 0.975 to 0.998 and the noise-relative rule gave 1 every time; the
    // guard below is what held in every run, the 0.99 target is reported by fig1.
    for seed in 0..2 {
        let mut model = paper_fig1_spread(seed).unwrap();
        let config = TrainConfig::paper_fig1().with_seed(seed);
        train(&mut model, DataSource::Generator(&mut sine), &config, &mut Silent).unwrap();
        let samples = model.sample(10_000, 100 + seed);
        let fraction = on_curve_fraction(&samples, 0.05);
        assert!(fraction >= 0.95, "seed {seed}: only {fraction} of samples within 0.05 of the curve");
        let data = sine(10_000, &mut ChaCha8Rng::seed_from_u64(7));
        let id = model.intrinsic_dimension(data.as_ref(), ReadoffConfig::default()).unwrap();
        assert_eq!(id.data_rules.noise_relative, 1, "seed {seed}: {id:?}");
    }
}

#[test]
fn the_baseline_curls_the_curve_and_falls_off_it() {
    let mut model = paper_fig1_baseline(0).unwrap();
    train(&mut model, DataSource::Generator(&mut sine), &TrainConfig::paper_fig1(), &mut Silent).unwrap();
    let fraction = on_curve_fraction(&model.sample(10_000, 5), 0.05);
    assert!(fraction < 0.70, "baseline has {fraction} of samples on the curve (the paper's failure mode is gone?)");
}

#[test]
fn on_a_circle_the_prior_keeps_full_rank() {
    // A closed curve cannot be flattened by a diffeomorphism of R^2: documented limitation.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let reference = Manifold::Circle.sample(5_000, &mut rng);
    let scaler = Standardizer::fit(reference.as_ref(), ScalingMode::Global);
    let mut model = spread_preset(2, 6, 0, SpreadConfig::paper(), scaler).unwrap();
    let mut circle = |n: usize, rng: &mut ChaCha8Rng| Manifold::Circle.sample(n, rng);
    train(&mut model, DataSource::Generator(&mut circle), &TrainConfig::paper_fig1().with_steps(3_000), &mut Silent)
        .unwrap();
    let id = model.intrinsic_dimension(reference.as_ref(), ReadoffConfig::default()).unwrap();
    assert_eq!(id.data_rules.noise_relative, 2, "{id:?}");
}

#[test]
fn the_flow_estimator_implements_the_estimator_trait() {
    use intrinsic_dim::Estimator;
    let data = sine(2_000, &mut ChaCha8Rng::seed_from_u64(11));
    let estimator = manifold_prior::FlowEstimator {
        train: TrainConfig::paper_fig1().with_steps(3_000),
        ..manifold_prior::FlowEstimator::default()
    };
    assert_eq!(estimator.name(), "flow");
    let estimate = estimator.estimate(data.as_ref()).unwrap();
    // The sine curve is one-dimensional: the estimator must say 1 (a range such as 1..=2 would
    // pass an estimator that never finds the curve).
    assert_eq!(estimate.dimension, 1.0, "{estimate:?}");
    assert!(estimate.diagnostics.iter().any(|(k, _)| k == "prior_eigenvalue_0"));
    let bad = Mat::from_fn(10, 2, |i, _| if i == 3 { f64::NAN } else { 0.0 });
    assert!(matches!(
        estimator.estimate(bad.as_ref()),
        Err(intrinsic_dim::EstimateError::NonFinite { row: 3, col: 0 })
    ));
}
