//! Unit tests of priors, objectives, training mechanics (divergence, checkpoints, determinism)
//! and model files. Training-quality acceptance tests are in `tests/acceptance.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use autodiff_lite::{ParamStore, Tape, check_param_gradients};
use faer::Mat;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::*;

fn config(cases: u32) -> Config {
    Config { cases, rng_algorithm: RngAlgorithm::ChaCha, rng_seed: RngSeed::Fixed(0x9a1), ..Config::default() }
}

fn random_mat(rng: &mut ChaCha8Rng, r: usize, c: usize) -> Mat<f64> {
    Mat::from_fn(r, c, |_, _| rng.random_range(-1.0..1.0))
}

fn sine(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
    let t: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
    Mat::from_fn(n, 2, |i, j| if j == 0 { t[i] } else { (2.0 * t[i]).sin() })
}

/// `log N(z; mu, S)` for one row by the textbook formula with faer's Cholesky.
fn reference_log_density(z: &[f64], mu: &[f64], cov: &Mat<f64>) -> f64 {
    let d = z.len();
    let llt = cov.llt(faer::Side::Lower).unwrap();
    let y = Mat::from_fn(d, 1, |i, _| z[i] - mu[i]);
    let sol = faer::linalg::solvers::Solve::solve(&llt, &y);
    let quad: f64 = (0..d).map(|i| y[(i, 0)] * sol[(i, 0)]).sum();
    let log_det: f64 = 2.0 * (0..d).map(|i| llt.L()[(i, i)].ln()).sum::<f64>();
    -0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + log_det + quad)
}

/// `prior.log_prob` of the rows of `z` with spread `s` equals the textbook density of
/// `N(mean, covariance + s^2 I)` to 1e-9.
fn assert_textbook_density(prior: &dyn Density, store: &ParamStore, z: &Mat<f64>, s: f64) -> Result<(), TestCaseError> {
    let d = z.ncols();
    let mut tape = Tape::no_grad();
    let zv = tape.leaf(z.as_ref());
    let lp = prior.log_prob(&mut tape, store, zv, s).unwrap();
    let mut cov = prior.covariance(store);
    for i in 0..d {
        cov[(i, i)] += s * s;
    }
    let mu = prior.mean(store);
    let mui: Vec<f64> = (0..d).map(|j| mu[(0, j)]).collect();
    for i in 0..z.nrows() {
        let zi: Vec<f64> = (0..d).map(|j| z[(i, j)]).collect();
        let want = reference_log_density(&zi, &mui, &cov);
        prop_assert!((tape.value(lp)[(i, 0)] - want).abs() <= 1e-9 * (1.0 + want.abs()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn triangular_prior_log_prob_matches_the_textbook_density_and_finite_differences(seed in any::<u64>(), d in 1usize..5, s in prop::sample::select(vec![0.01, 0.3])) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut store = ParamStore::new();
        let prior = TriangularGaussian::new(&mut store, "prior", d, MeanMode::Learned);
        store.set_value(prior.a_param(), random_mat(&mut rng, d, d).as_ref());
        store.set_value(prior.mu_param().unwrap(), random_mat(&mut rng, 1, d).as_ref());
        let z = random_mat(&mut rng, 3, d);
        assert_textbook_density(&prior, &store, &z, s)?;
        // Parameter gradients against central differences.
        let check = check_param_gradients(&mut store, 1e-6, |t, st| {
            let zv = t.leaf(z.as_ref());
            let lp = prior.log_prob(t, st, zv, s).unwrap();
            t.sum(lp)
        });
        prop_assert!(check.max_rel_error() < 1e-6, "{:?}", check.rel_errors);
    }

    #[test]
    fn diagonal_and_standard_priors_match_closed_forms(seed in any::<u64>(), d in 1usize..5) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut store = ParamStore::new();
        let diag = DiagonalGaussian::new(&mut store, "diag", d, MeanMode::Learned);
        let ids = diag.params();
        store.set_value(ids[0], random_mat(&mut rng, 1, d).as_ref());
        store.set_value(ids[1], random_mat(&mut rng, 1, d).as_ref());
        let std_normal = StandardNormal::new(d);
        let z = random_mat(&mut rng, 2, d);
        let s = 0.2;
        for prior in [&diag as &dyn Density, &std_normal] {
            assert_textbook_density(prior, &store, &z, s)?;
        }
        let check = check_param_gradients(&mut store, 1e-6, |t, st| {
            let zv = t.leaf(z.as_ref());
            let lp = diag.log_prob(t, st, zv, s).unwrap();
            t.sum(lp)
        });
        prop_assert!(check.max_rel_error() < 1e-6, "{:?}", check.rel_errors);
    }
}

#[test]
fn prior_samples_have_the_prior_covariance() {
    let mut store = ParamStore::new();
    let prior = TriangularGaussian::new(&mut store, "prior", 2, MeanMode::Fixed);
    store.set_value(prior.a_param(), faer::mat![[1.0, 9.0], [0.5, 0.0]].as_ref()); // singular A, upper ignored
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let z = prior.sample(&store, 200_000, &mut rng);
    let cov = covariance(z.as_ref());
    let want = prior.covariance(&store);
    assert!((&cov - &want).norm_max() < 0.01, "{cov:?} vs {want:?}");
    // A rank-one A A^T: every sample lies on the line z2 = 0.5 z1.
    assert!((0..100).all(|i| (z[(i, 1)] - 0.5 * z[(i, 0)]).abs() < 1e-12));
    let spec = prior.spectrum(&store).unwrap();
    assert!((spec.values[0] - 1.25).abs() < 1e-12 && spec.values[1] < 1e-15);
}

#[test]
fn a_flow_that_is_not_volume_preserving_is_refused_unless_overridden() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut store = ParamStore::new();
    let transform = flow_core::CouplingTransform::Affine(flow_core::LogScale::Tanh);
    let two_affine = VectorFlow { hidden: vec![4], ..VectorFlow::paper(2, transform) };
    let flow = two_affine.build(&mut store, 2, &mut rng).unwrap();
    let err = SpreadFlow::new(
        store.clone(),
        flow,
        MeanMode::Fixed,
        SpreadConfig::paper(),
        Standardizer::identity(2),
        VolumeCheck::Require,
    );
    assert!(matches!(err, Err(PriorError::NotVolumePreserving)));
    let again = two_affine.build(&mut ParamStore::new(), 2, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    let flow = flow_core::Flow::from_spec(&again.architecture(), &store).unwrap();
    assert!(
        SpreadFlow::new(
            store,
            flow,
            MeanMode::Fixed,
            SpreadConfig::paper(),
            Standardizer::identity(2),
            VolumeCheck::Override
        )
        .is_ok()
    );
}

#[test]
fn the_spread_loss_gradient_matches_finite_differences() {
    // const-shift noise makes the loss deterministic, so central differences apply.
    let spread =
        SpreadConfig { spread: 0.1, spread_noise: SpreadNoise::ConstShift, placement: SpreadPlacement::Latent };
    let mut model = spread_preset(3, 2, 4, spread, Standardizer::identity(3)).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let a = random_mat(&mut rng, 3, 3);
    let a_id = model.prior().a_param();
    model.store_mut().set_value(a_id, a.as_ref());
    let x = random_mat(&mut rng, 6, 3);
    let (flow, prior) = (model.flow(), model.prior());
    let mut store = model.store().clone();
    let check = check_param_gradients(&mut store, 1e-6, |t, st| {
        let xv = t.leaf(x.as_ref());
        let (z, _) = flow_core::Bijector::forward(flow, t, st, xv);
        let z = t.add_scalar(z, 0.1);
        let lp = prior.log_prob(t, st, z, 0.1).unwrap();
        let m = t.mean(lp);
        t.neg(m)
    });
    assert!(check.max_rel_error() < 1e-6, "{:?}", check.rel_errors);
    // The model's own loss is the same function.
    let mut tape = Tape::new();
    let loss = model.record_loss(&mut tape, x.as_ref(), &mut rng).unwrap();
    let mut t2 = Tape::no_grad();
    let xv = t2.leaf(x.as_ref());
    let (z, _) = flow_core::Bijector::forward(model.flow(), &mut t2, model.store(), xv);
    let z = t2.add_scalar(z, 0.1);
    let lp = model.prior().log_prob(&mut t2, model.store(), z, 0.1).unwrap();
    let m = t2.mean(lp);
    assert_eq!(tape.scalar(loss), -t2.scalar(m));
}

/// `SpreadNoise::Expected` is the mean of the `Random` loss over the noise: its loss and its
/// gradient for A match Monte-Carlo averages of the random-noise ones (same parameters, same
/// batch) within 4 standard errors.
#[test]
fn the_expected_noise_loss_is_the_mean_of_the_random_noise_loss() {
    let s = 0.2;
    let model_with = |spread_noise| {
        let spread = SpreadConfig { spread: s, spread_noise, placement: SpreadPlacement::Latent };
        let mut model = spread_preset(3, 2, 4, spread, Standardizer::identity(3)).unwrap();
        let a = random_mat(&mut ChaCha8Rng::seed_from_u64(3), 3, 3);
        let a_id = model.prior().a_param();
        model.store_mut().set_value(a_id, a.as_ref());
        model
    };
    let x = random_mat(&mut ChaCha8Rng::seed_from_u64(4), 8, 3);
    let loss_and_grad = |model: &mut SpreadFlow, rng: &mut ChaCha8Rng| {
        let mut tape = Tape::new();
        let loss = model.record_loss(&mut tape, x.as_ref(), rng).unwrap();
        tape.backward(loss, model.store_mut());
        let g = model.store().grad(model.prior().a_param())[(2, 1)];
        model.store_mut().zero_grads();
        (tape.scalar(loss), g)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (exact_loss, exact_grad) = loss_and_grad(&mut model_with(SpreadNoise::Expected), &mut rng);
    let mut random = model_with(SpreadNoise::Random);
    let draws: Vec<(f64, f64)> = (0..4000).map(|_| loss_and_grad(&mut random, &mut rng)).collect();
    for (k, exact) in [(0, exact_loss), (1, exact_grad)] {
        let v: Vec<f64> = draws.iter().map(|d| if k == 0 { d.0 } else { d.1 }).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
        let se = sd / (v.len() as f64).sqrt();
        assert!(
            (mean - exact).abs() < 4.0 * se,
            "{}: Monte Carlo {mean} +- {se} vs closed form {exact}",
            ["loss", "dA"][k]
        );
    }
    // Expected noise with data placement has no closed form: refused.
    let spread = SpreadConfig { spread: s, spread_noise: SpreadNoise::Expected, placement: SpreadPlacement::Data };
    assert!(matches!(spread.validate(), Err(PriorError::ExpectedNoiseNeedsLatentPlacement)));
    assert!(spread_preset(3, 2, 4, spread, Standardizer::identity(3)).is_err());
}

#[test]
fn the_closed_form_prior_gradient_of_the_method_holds() {
    // method.md: with M = Y^T Y / B, G = 0.5 (S^-1 - S^-1 M S^-1), dLoss/dA = tril(2 G A).
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let d = 3;
    let s = 0.2;
    let a = Mat::from_fn(d, d, |i, j| if i >= j { rng.random_range(-1.0..1.0) } else { 0.0 });
    let y = random_mat(&mut rng, 5, d);
    let mut store = ParamStore::new();
    let prior = TriangularGaussian::new(&mut store, "prior", d, MeanMode::Fixed);
    store.set_value(prior.a_param(), a.as_ref());
    let mut tape = Tape::new();
    let yv = tape.leaf(y.as_ref());
    let lp = prior.log_prob(&mut tape, &store, yv, s).unwrap();
    let m = tape.mean(lp);
    let loss = tape.neg(m);
    tape.backward(loss, &mut store);
    let mut cov = &a * a.transpose();
    for i in 0..d {
        cov[(i, i)] += s * s;
    }
    let inv = faer::linalg::solvers::Solve::solve(&cov.llt(faer::Side::Lower).unwrap(), Mat::<f64>::identity(d, d));
    let mm = y.transpose() * &y * faer::Scale(1.0 / 5.0);
    let g = (&inv - &inv * &mm * &inv) * faer::Scale(0.5);
    let want = &g * &a * faer::Scale(2.0);
    for i in 0..d {
        for j in 0..d {
            let w = if i >= j { want[(i, j)] } else { 0.0 };
            assert!((store.grad(prior.a_param())[(i, j)] - w).abs() < 1e-12, "({i},{j})");
        }
    }
}

#[test]
fn divergence_stops_training_with_the_step_and_last_finite_loss() {
    let mut model = paper_fig1_spread(0).unwrap();
    let mut step = 0;
    let mut data = |n: usize, rng: &mut ChaCha8Rng| {
        step += 1;
        let mut x = sine(n, rng);
        if step == 4 {
            x[(0, 0)] = f64::NAN;
        }
        x
    };
    let mut events = Vec::new();
    let mut observer = |e: &TrainEvent<'_>, _: &SpreadFlow| {
        if let TrainEvent::Diverged { step, cause, .. } = *e {
            events.push((step, cause));
        }
    };
    let config = TrainConfig::paper_fig1().with_steps(10);
    let err = train(&mut model, DataSource::Generator(&mut data), &config, &mut observer).unwrap_err();
    match &err {
        TrainError::Diverged { step, cause, last_finite_loss } => {
            assert_eq!((*step, *cause), (3, Divergence::Loss));
            assert!(last_finite_loss.is_some_and(f64::is_finite));
        }
        other => panic!("expected divergence, got {other}"),
    }
    assert_eq!(events, vec![(3, Divergence::Loss)]);
    let message = err.to_string();
    assert!(message.contains("step 3") && message.contains("last finite loss"), "{message}");
}

#[test]
fn bad_training_data_is_an_error() {
    let mut model = paper_fig1_spread(0).unwrap();
    let wide = Mat::<f64>::zeros(10, 3);
    assert!(matches!(
        train(&mut model, DataSource::Fixed(wide.as_ref()), &TrainConfig::paper_fig1().with_steps(1), &mut Silent),
        Err(TrainError::Shape { expected: 2, got: 3 })
    ));
    let empty = Mat::<f64>::zeros(0, 2);
    assert!(matches!(
        train(&mut model, DataSource::Fixed(empty.as_ref()), &TrainConfig::paper_fig1().with_steps(1), &mut Silent),
        Err(TrainError::Empty)
    ));
}

#[test]
fn resuming_from_a_checkpoint_is_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let fixed = sine(300, &mut rng); // a fixed data set exercises the shuffled epoch order
    let base = TrainConfig { batch_size: 64, ..TrainConfig::paper_fig1().with_steps(40) };
    let mut straight = paper_fig1_spread(1).unwrap();
    let h1 = train(&mut straight, DataSource::Fixed(fixed.as_ref()), &base, &mut Silent).unwrap();

    let ck = CheckpointConfig { dir: dir.path().join("ck"), interval: 10 };
    let first = TrainConfig { checkpoint: Some(ck.clone()), ..base.clone().with_steps(25) };
    let mut interrupted = paper_fig1_spread(1).unwrap();
    train(&mut interrupted, DataSource::Fixed(fixed.as_ref()), &first, &mut Silent).unwrap();
    // A fresh process: a new model, restored from disk.
    let mut restored = paper_fig1_spread(1).unwrap();
    let rest = TrainConfig { checkpoint: Some(ck), ..base.clone() };
    let h2 = resume(&mut restored, DataSource::Fixed(fixed.as_ref()), &rest, &mut Silent).unwrap();
    assert_eq!(h1.losses, h2.losses);
    assert_same_state(&straight, &restored);
}

/// The parameters and the moving average of two models are equal.
fn assert_same_state(a: &SpreadFlow, b: &SpreadFlow) {
    for id in a.store().ids() {
        assert_eq!(a.store().value(id), b.store().value(id), "{}", a.store().name(id));
    }
    for id in a.average().ids() {
        assert_eq!(a.average().get(id), b.average().get(id), "average of {}", a.store().name(id));
    }
}

#[test]
fn an_observer_reads_a_long_run_at_checkpoints_without_changing_it() {
    let config = TrainConfig::paper_fig1().with_steps(60);
    let mut plain = paper_fig1_spread(4).unwrap();
    let h_plain = train(&mut plain, DataSource::Generator(&mut sine), &config, &mut Silent).unwrap();

    let eval = sine(200, &mut ChaCha8Rng::seed_from_u64(5));
    let mut seen = Vec::new();
    let mut eigen_steps = Vec::new();
    let mut at_20 = None;
    let mut observed = paper_fig1_spread(4).unwrap();
    let mut observer = |e: &TrainEvent<'_>, m: &SpreadFlow| match *e {
        TrainEvent::Started { done, steps } => assert_eq!((done, steps), (0, 60)),
        TrainEvent::Step { step, .. } => {
            seen.push(step);
            if step == 20 {
                let average: Vec<_> = m.average().ids().map(|id| m.average().get(id).unwrap().to_owned()).collect();
                at_20 =
                    Some((m.store().clone(), average, m.intrinsic_dimension(eval.as_ref(), ReadoffConfig::default())));
            }
        }
        TrainEvent::Eigenvalues { step, eigenvalues } => eigen_steps.push((step, eigenvalues.current.len())),
        _ => {}
    };
    let h_obs = train(&mut observed, DataSource::Generator(&mut sine), &config, &mut observer).unwrap();
    assert_eq!(seen, (1..=60).collect::<Vec<_>>());
    assert_eq!(eigen_steps, vec![(50, 2), (60, 2)]);
    assert_eq!(h_plain, History { seconds: h_plain.seconds, ..h_obs });
    assert_same_state(&plain, &observed);
    // What the observer saw at step 20 is the model a 20-step run ends with.
    let (store, average, id) = at_20.unwrap();
    let mut short = paper_fig1_spread(4).unwrap();
    train(&mut short, DataSource::Generator(&mut sine), &config.clone().with_steps(20), &mut Silent).unwrap();
    for p in short.store().ids() {
        assert_eq!(short.store().value(p), store.value(p), "{}", short.store().name(p));
    }
    for (p, avg) in short.average().ids().zip(&average) {
        assert_eq!(short.average().get(p).unwrap(), avg.as_ref());
    }
    assert_eq!(id.unwrap(), short.intrinsic_dimension(eval.as_ref(), ReadoffConfig::default()).unwrap());
}

#[cfg(feature = "rayon")]
#[test]
fn one_and_two_threads_give_the_same_training_run() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut model = paper_fig1_spread(2).unwrap();
            let config = TrainConfig::paper_fig1().with_steps(30);
            let h = train(&mut model, DataSource::Generator(&mut sine), &config, &mut Silent).unwrap();
            (h.losses, model.sample(50, 9))
        })
    };
    let (l1, s1) = run(1);
    let (l2, s2) = run(2);
    for (a, b) in l1.iter().zip(&l2) {
        assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0));
    }
    assert!((&s1 - &s2).norm_max() <= 1e-12);
}

#[test]
fn standardizer_round_trips_and_uses_one_global_scale() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = Mat::from_fn(50, 3, |_, j| rng.random_range(-1.0..1.0) * (j + 1) as f64 + 5.0);
    for mode in [ScalingMode::Global, ScalingMode::PerDimension, ScalingMode::Identity] {
        let st = Standardizer::fit(x.as_ref(), mode);
        let back = st.inverse(st.transform(x.as_ref()).as_ref());
        assert!((&back - &x).norm_max() < 1e-12);
    }
    let g = Standardizer::fit(x.as_ref(), ScalingMode::Global);
    let u = g.transform(x.as_ref());
    let rms = (0..50).map(|i| (0..3).map(|j| u[(i, j)].powi(2)).sum::<f64>()).sum::<f64>() / 50.0;
    assert!((rms - 1.0).abs() < 1e-12);
    assert!(g.scale.iter().all(|&s| s == g.scale[0]));
}

#[test]
fn project_returns_coordinates_on_the_leading_directions() {
    let mut model = paper_fig1_spread(0).unwrap();
    train(&mut model, DataSource::Generator(&mut sine), &TrainConfig::paper_fig1().with_steps(10), &mut Silent)
        .unwrap();
    let x = sine(7, &mut ChaCha8Rng::seed_from_u64(1));
    assert_eq!(model.project(x.as_ref(), 1).unwrap().shape(), (7, 1));
    assert!(matches!(model.project(x.as_ref(), 3), Err(PriorError::ProjectionTooWide { k: 3, dim: 2 })));
}

#[test]
fn averaged_samples_are_decoded_with_the_trained_flow() {
    // The trainer averages only the prior's parameters (mu, A). Averaged samples must take
    // the prior from the moving average and the flow from the current parameters, or they are
    // decoded by an untrained flow. 2,000 steps put current samples on the curve (median
    // distance about 0.01); decay 0.99 so that the average has forgotten A = I by then.
    let config = TrainConfig { ema_decay: 0.99, ..TrainConfig::paper_fig1().with_steps(2_000) };
    let mut model = paper_fig1_spread(0).unwrap();
    train(&mut model, DataSource::Generator(&mut sine), &config, &mut Silent).unwrap();
    let (n, seed) = (2_000, 11);
    let ema = model.sample_with(n, seed, ParamSource::Average);
    // By the result: EMA samples lie on the curve about as well as current ones (decoded
    // with the flow's initial parameters they were 0.19 off, current ones 0.009).
    let median_off = |x: &Mat<f64>| {
        let mut e: Vec<f64> = (0..x.nrows()).map(|i| (x[(i, 1)] - (2.0 * x[(i, 0)]).sin()).abs()).collect();
        e.sort_by(f64::total_cmp);
        e[e.len() / 2]
    };
    let (off_ema, off_current) = (median_off(&ema), median_off(&model.sample(n, seed)));
    assert!(off_ema <= 2.0 * off_current + 0.01, "EMA samples {off_ema} off the curve, current {off_current}");
    // And directly: the current flow applied to samples of the moving-average prior.
    let z = model.sample_latent(n, seed, ParamSource::Average);
    let want = model.standardizer().inverse(model.flow().decode(model.store(), z.as_ref()).0.as_ref());
    assert_eq!(ema, want);
}

#[test]
fn learning_rate_schedules_act_on_the_tail_only() {
    let step = LrSchedule::StepTail { fraction: 0.2, factor: 0.1 };
    assert_eq!((step.factor(7_999, 10_000), step.factor(8_000, 10_000), step.factor(9_999, 10_000)), (1.0, 0.1, 0.1));
    let cosine = LrSchedule::CosineTail { fraction: 0.5 };
    assert_eq!(cosine.factor(4, 10), 1.0);
    assert_eq!(cosine.factor(5, 10), 1.0);
    assert!((cosine.factor(9, 10) - 0.5 * (1.0 + (0.8 * std::f64::consts::PI).cos())).abs() < 1e-15);
    assert_eq!(LrSchedule::Constant.factor(3, 10), 1.0);
    // The schedule changes the run only on the tail: the first 8 of 10 steps are the same.
    let run = |schedule| {
        let config = TrainConfig { lr_schedule: schedule, ..TrainConfig::paper_fig1().with_steps(10) };
        let mut model = paper_fig1_spread(3).unwrap();
        train(&mut model, DataSource::Generator(&mut sine), &config, &mut Silent).unwrap().losses
    };
    let (constant, decayed) = (run(LrSchedule::Constant), run(step));
    assert_eq!(constant[..9], decayed[..9]);
    assert_ne!(constant[9], decayed[9]);
}
