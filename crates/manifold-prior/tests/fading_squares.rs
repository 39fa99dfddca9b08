//! The paper's fading-squares model (method.md section 4) at full size: parameter count,
//! initial loss, exact volume preservation, and a short training run that learns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use datasets::Manifold;
use manifold_prior::{
    DataSource, FADING_SQUARES_N_PARAMS, Silent, SpreadNoise, TrainConfig, paper_fading_squares, train,
};
use rand_chacha::ChaCha8Rng;

fn fading_squares(n: usize, rng: &mut ChaCha8Rng) -> faer::Mat<f64> {
    Manifold::FadingSquares.sample_with_params(n, rng).0
}

/// Two steps: the parameter count is the authors' 1,168,572 and the first loss is about
/// 960 (their notebook printed 959.48, our JAX re-implementation 963.98; the value depends on
/// the random initialisation through |g(x)|^2, about 40 of the 960).
#[test]
fn full_model_has_the_papers_parameter_count_and_initial_loss() {
    let mut model = paper_fading_squares(0, SpreadNoise::ConstShift).unwrap();
    assert_eq!(model.store().n_scalars(), FADING_SQUARES_N_PARAMS);
    assert!(flow_core::Bijector::is_volume_preserving(model.flow()));
    let config = TrainConfig::paper_fading_squares().with_steps(2);
    let history = train(&mut model, DataSource::Generator(&mut fading_squares), &config, &mut Silent).unwrap();
    let first = history.losses[0];
    assert!((first - 960.0).abs() < 0.02 * 960.0, "initial loss {first}");
    // The constant part alone: 0.5 (D ln(2 pi) + D ln(1 + s^2)) = 941.0 for A = I.
    assert!(first > 941.0, "initial loss {first} below the constant part");
    assert!(history.losses[1] < first, "{:?}", history.losses);
}

/// The whole flow on random images (not only on the data manifold): an exact bijection with
/// log-det exactly zero.
#[test]
fn full_flow_is_an_exactly_volume_preserving_bijection() {
    let model = paper_fading_squares(1, SpreadNoise::Random).unwrap();
    let x = faer::Mat::from_fn(3, 1024, |i, j| ((i * 1024 + j) as f64 * 0.7548776662).fract() * 2.0 - 1.0);
    let (z, log_det) = model.flow().encode(model.store(), x.as_ref());
    assert!(log_det.iter().all(|&l| l == 0.0));
    let (x_back, log_det_inv) = model.flow().decode(model.store(), z.as_ref());
    assert!(log_det_inv.iter().all(|&l| l == 0.0));
    let err = (&x_back - &x).norm_max();
    assert!(err < 1e-10, "round trip error {err}");
}

/// A short run learns: the mean loss of the last 50 of 300 steps is well below that of the
/// first 50.
#[test]
fn short_training_run_lowers_the_loss() {
    let mut model = paper_fading_squares(2, SpreadNoise::ConstShift).unwrap();
    let config = TrainConfig { eigen_interval: 0, ..TrainConfig::paper_fading_squares().with_seed(2).with_steps(300) };
    let history = train(&mut model, DataSource::Generator(&mut fading_squares), &config, &mut Silent).unwrap();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (first, last) = (mean(&history.losses[..50]), mean(&history.losses[250..]));
    eprintln!("first 50: {first}, last 50: {last}");
    assert!(last < first - 50.0, "first 50 steps {first}, last 50 steps {last}");
}
