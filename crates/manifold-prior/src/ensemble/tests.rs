#![allow(clippy::unwrap_used)]

use datasets::{GenerateOptions, Manifold};
use faer::Mat;
use intrinsic_dim::{EstimateError, Estimator as _};
use proptest::prelude::*;

use super::*;

/// A short ensemble for tests: `members` members of `steps` steps.
fn short(members: usize, steps: usize) -> EnsembleFlowEstimator {
    EnsembleFlowEstimator { members, ..EnsembleFlowEstimator::default() }.with_steps(steps)
}

#[test]
fn degenerate_data_are_refused_as_the_classical_estimators_refuse_them() {
    let e = short(1, 10);
    // 300 identical rows: the classical estimators' Duplicates error, not a dimension.
    let same = Mat::from_fn(300, 3, |_, j| [0.5, 0.25, 1.0][j]);
    assert_eq!(e.estimate(same.as_ref()).unwrap_err(), EstimateError::Duplicates { skipped: 300, total: 300 });
    // Two points, or 20: too few samples, with the same minimum as mle's default.
    let two = Mat::from_fn(2, 3, |i, j| (i + j) as f64);
    assert_eq!(e.estimate(two.as_ref()).unwrap_err(), EstimateError::TooFewSamples { needed: 21, got: 2 });
    // 100 rows but only 5 distinct ones.
    let few = Mat::from_fn(100, 3, |i, j| ((i % 5) * (j + 1)) as f64);
    assert_eq!(e.estimate(few.as_ref()).unwrap_err(), EstimateError::Duplicates { skipped: 100, total: 100 });
    let mut bad = Mat::from_fn(30, 2, |i, j| (i * (j + 2)) as f64);
    bad[(4, 1)] = f64::NAN;
    assert_eq!(e.estimate(bad.as_ref()).unwrap_err(), EstimateError::NonFinite { row: 4, col: 1 });
    assert_eq!(duplicates(Mat::from_fn(3, 1, |i, _| [0.0, -0.0, 1.0][i]).as_ref()), (2, 2), "-0 equals 0");
}

/// Points 2 of issue 21, fast: a warped 2-manifold in R^12 with small noise reads exactly 2,
/// with a clear gap, for three seeds.
#[test]
fn a_warped_manifold_reads_its_dimension_with_a_clear_gap() {
    let data = Manifold::Warped { k: 2, d: 12 }.generate(&GenerateOptions::new(600, 7).noise(0.01)).data;
    for seed in 0..3 {
        let id = short(2, 1_500).with_seed(seed).estimate_detailed(data.as_ref()).unwrap();
        assert!(id.readoff.clear_gap, "seed {seed}: {id:?}");
        assert_eq!((id.readoff.dimension, id.readoff.interval), (2.0, (2, 2)), "seed {seed}: {}", id.verdict());
    }
}

/// Point 1 of issue 21, fast: on 400 digits (64 pixels in [0, 1]) the estimates of four seeds
/// are within 25% of their median, and the output says there is no clear gap.
#[test]
fn digits_give_stable_estimates_and_no_clear_gap() {
    let digits = datasets::digits().data;
    let x = Mat::from_fn(400, 64, |i, j| digits[(i, j)] / 16.0);
    let ids: Vec<FlowId> =
        (0..4).map(|seed| short(2, 600).with_seed(seed).estimate_detailed(x.as_ref()).unwrap()).collect();
    let mut dims: Vec<f64> = ids.iter().map(|id| id.readoff.dimension).collect();
    dims.sort_by(f64::total_cmp);
    let median = (dims[1] + dims[2]) / 2.0;
    for id in &ids {
        let r = &id.readoff;
        assert!((r.dimension - median).abs() <= 0.25 * median, "{dims:?}: {}", id.verdict());
        assert!(!r.clear_gap && id.verdict().contains("no clear gap"), "{}", id.verdict());
        assert!(r.interval.0 as f64 <= r.dimension && r.dimension <= r.interval.1 as f64, "{r:?}");
    }
}

/// Data wider than `max_dim` go through the principal-component step.
#[test]
fn wide_data_are_projected_on_their_leading_components() {
    let data = Manifold::Warped { k: 2, d: 40 }.generate(&GenerateOptions::new(300, 3).noise(0.01)).data;
    let e = EnsembleFlowEstimator { max_dim: 8, ..short(1, 50) };
    let id = e.estimate_detailed(data.as_ref()).unwrap();
    assert_eq!((id.working_dim, id.readoff.spectrum.len()), (8, 8));
}

/// The sine curve (K = 1 in R^2), a small fixed data set for the scale properties.
fn sine() -> Mat<f64> {
    Manifold::SineCurve.generate(&GenerateOptions::new(200, 5).noise(0.001)).data
}

/// Issue 16 item 4: at 1e155 (where the flow used to diverge at step 0) and at 1e-170 the
/// estimate is the one in the data's own units.
#[test]
fn extreme_scales_give_the_same_estimate() {
    let x = sine();
    let e = short(1, 300);
    let reference = e.estimate_detailed(x.as_ref()).unwrap();
    for factor in [1e155, 1e-170, 1e300, 1e-300] {
        let y = Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] * factor);
        let id = e.estimate_detailed(y.as_ref()).unwrap();
        assert_eq!(id.readoff.dimension, reference.readoff.dimension, "factor {factor:e}: {}", id.verdict());
        assert_eq!(id.readoff.clear_gap, reference.readoff.clear_gap, "factor {factor:e}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Multiplying the data by any power of two in the f64 range changes nothing, bit for
    /// bit: the scaling by `2^-e` is exact.
    #[test]
    fn power_of_two_scalings_give_bit_identical_results(e in -1000i32..1000) {
        let x = sine();
        let est = short(1, 40);
        let reference = est.estimate_detailed(x.as_ref()).unwrap();
        let y = Mat::from_fn(x.nrows(), x.ncols(), |i, j| intrinsic_dim::times_pow2(x[(i, j)], e));
        prop_assume!(y.col_iter().all(|c| c.iter().all(|v| v.is_normal() || *v == 0.0)));
        let id = est.estimate_detailed(y.as_ref()).unwrap();
        prop_assert_eq!(&id.readoff, &reference.readoff);
    }
}
