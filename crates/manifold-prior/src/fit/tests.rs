//! `fit` and the model folder: a fit on a fixed data set learns and saves a folder that loads
//! to the same model; bad data, bad folders and a changed configuration on resume are clear
//! errors; every prior and architecture family fits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use faer::Mat;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::*;

/// `n` points of the sine curve `x2 = sin(2 x1)`, `x1 ~ U(-2, 2)`.
fn sine(n: usize, seed: u64) -> Mat<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let t: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
    Mat::from_fn(n, 2, |i, j| if j == 0 { t[i] } else { (2.0 * t[i]).sin() })
}

fn short(name: &str, steps: usize) -> FitConfig {
    FitConfig { log_interval: 10, ..FitConfig::preset(name).unwrap().with_steps(steps) }
}

fn fitted(config: &FitConfig, data: &Mat<f64>) -> FittedModel {
    fit(DataSource::Fixed(data.as_ref()), config, &FitOptions::default(), &mut Silent).unwrap()
}

#[test]
fn a_fit_on_a_fixed_data_set_records_its_training_and_holds_rows_out() {
    let data = sine(500, 1);
    let mut config = short("paper-fig1", 40);
    config.data.validation_fraction = 0.2;
    let mut validations = Vec::new();
    let mut observer = |e: &TrainEvent<'_>, _: &FlowModel| {
        if let TrainEvent::Validation { step, loss } = *e {
            validations.push((step, loss));
        }
    };
    let model = fit(DataSource::Fixed(data.as_ref()), &config, &FitOptions::default(), &mut observer).unwrap();
    let summary = model.training_summary();
    assert_eq!((summary.steps, summary.training_rows, summary.validation_rows), (40, 400, 100));
    assert!(summary.final_loss < summary.initial_loss, "{summary:?}");
    let log = model.training_log();
    assert_eq!(log.iter().map(|r| r.step).collect::<Vec<_>>(), vec![10, 20, 30, 40]);
    assert!(log.iter().all(|r| r.validation_loss.is_some_and(f64::is_finite) && r.eigenvalues.len() == 2));
    assert_eq!(validations.iter().map(|v| v.0).collect::<Vec<_>>(), vec![10, 20, 30, 40]);
    assert_eq!(summary.final_validation_loss, Some(validations[3].1));
}

#[test]
fn a_saved_model_folder_loads_to_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = sine(300, 2);
    let mut model = fitted(&short("paper-fig1", 30), &data);
    model.set_commit("abc123");
    model.save(dir.path()).unwrap();
    for file in ["model.json", "weights.safetensors", "training.csv"] {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    let loaded = FittedModel::load(dir.path()).unwrap();
    assert_eq!(loaded.config(), model.config());
    assert_eq!(loaded.training_summary(), model.training_summary());
    assert_eq!(loaded.training_log(), model.training_log());
    assert_eq!(model.sample(50, 3, 1.0), loaded.sample(50, 3, 1.0));
    assert_eq!(model.sample(50, 3, 0.7), loaded.sample(50, 3, 0.7));
    assert_eq!(model.encode(data.as_ref(), None).unwrap(), loaded.encode(data.as_ref(), None).unwrap());
    assert_eq!(model.encode(data.as_ref(), Some(1)).unwrap(), loaded.encode(data.as_ref(), Some(1)).unwrap());
    assert_eq!(model.log_prob(data.as_ref()).unwrap(), loaded.log_prob(data.as_ref()).unwrap());
    let (FlowModel::Spread(a), FlowModel::Spread(b)) = (model.model(), loaded.model()) else { panic!("spread") };
    for id in a.average().ids() {
        assert_eq!(a.average().get(id), b.average().get(id));
    }
    let json = std::fs::read_to_string(dir.path().join("model.json")).unwrap();
    assert!(json.contains("\"commit\": \"abc123\"") && json.contains(MODEL_FORMAT), "{json}");
}

#[test]
fn a_broken_model_folder_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fitted(&short("paper-fig1", 5), &sine(100, 3)).save(dir.path()).unwrap();
    let weights = dir.path().join("weights.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    // Truncated weights.
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let err = FittedModel::load(dir.path()).unwrap_err();
    assert!(matches!(&err, PriorError::Flow(flow_core::FlowError::Format { path, .. }) if *path == weights), "{err}");
    // Missing weights.
    std::fs::remove_file(&weights).unwrap();
    let err = FittedModel::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("weights.safetensors"), "{err}");
    // Garbage configuration.
    std::fs::write(&weights, &bytes).unwrap();
    let model_json = dir.path().join("model.json");
    let json = std::fs::read_to_string(&model_json).unwrap();
    std::fs::write(&model_json, "{ not json").unwrap();
    assert!(matches!(FittedModel::load(dir.path()), Err(PriorError::Flow(flow_core::FlowError::Json { .. }))));
    // Another format.
    std::fs::write(&model_json, json.replace(MODEL_FORMAT, "manifold-flows/model/99")).unwrap();
    assert!(matches!(FittedModel::load(dir.path()), Err(PriorError::UnknownFormat { .. })));
    // Weights of another architecture.
    std::fs::write(&model_json, &json).unwrap();
    let other = tempfile::tempdir().unwrap();
    fitted(&short("id-default", 5), &sine(100, 3)).save(other.path()).unwrap();
    std::fs::copy(other.path().join("weights.safetensors"), &weights).unwrap();
    let err = FittedModel::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, PriorError::Flow(flow_core::FlowError::ExtraTensor { path, .. }) if *path == weights),
        "{err}"
    );
    // Weights of another dimension.
    let wide = Mat::from_fn(100, 3, |i, j| sine(100, 3)[(i, j.min(1))] + j as f64);
    fitted(&short("paper-fig1", 5), &wide).save(other.path()).unwrap();
    std::fs::copy(other.path().join("weights.safetensors"), &weights).unwrap();
    let err = FittedModel::load(dir.path()).unwrap_err();
    assert!(matches!(&err, PriorError::Flow(flow_core::FlowError::Weights { path, .. }) if *path == weights), "{err}");
}

#[test]
fn data_that_do_not_fit_are_errors_naming_the_problem() {
    let model = fitted(&short("paper-fig1", 5), &sine(100, 4));
    let wide = Mat::<f64>::zeros(4, 3);
    assert!(matches!(model.encode(wide.as_ref(), None), Err(PriorError::DimensionMismatch { expected: 2, got: 3 })));
    assert!(matches!(model.decode(wide.as_ref()), Err(PriorError::DimensionMismatch { expected: 2, got: 3 })));
    let one = sine(1, 2);
    assert!(matches!(
        model.sample_encoded_gaussian(one.as_ref(), 5, 0, 1.0),
        Err(PriorError::TooFewRows { rows: 1, needed: 2 })
    ));
    let mut nan = sine(4, 5);
    nan[(2, 1)] = f64::NAN;
    assert!(matches!(model.log_prob(nan.as_ref()), Err(PriorError::NonFiniteData { row: 2, col: 1 })));
    let err = fit(DataSource::Fixed(nan.as_ref()), &short("paper-fig1", 5), &FitOptions::default(), &mut Silent);
    assert!(matches!(err, Err(TrainError::NonFinite { row: 2, col: 1 })));
    let one = Mat::<f64>::zeros(1, 2);
    let err = fit(DataSource::Fixed(one.as_ref()), &short("paper-fig1", 5), &FitOptions::default(), &mut Silent);
    assert!(matches!(err, Err(TrainError::Empty)));
    let mut bad = short("paper-fig1", 5);
    bad.data.validation_fraction = 1.5;
    let err = fit(DataSource::Fixed(sine(10, 1).as_ref()), &bad, &FitOptions::default(), &mut Silent).unwrap_err();
    assert!(err.to_string().contains("data.validation-fraction"), "{err}");
}

#[test]
fn resuming_with_another_configuration_lists_the_differences() {
    let dir = tempfile::tempdir().unwrap();
    let data = sine(200, 6);
    let checkpoint = CheckpointConfig { dir: dir.path().join("checkpoint"), interval: 5 };
    let options = FitOptions { checkpoint: Some(checkpoint), resume: false };
    let config = short("paper-fig1", 10);
    let straight = fitted(&config, &data);
    fit(DataSource::Fixed(data.as_ref()), &config.clone().with_steps(10), &options, &mut Silent).unwrap();
    let resume = FitOptions { resume: true, ..options };
    let mut other = config.clone();
    other.training.lr = 5e-4;
    other.training.batch_size = 64;
    match fit(DataSource::Fixed(data.as_ref()), &other, &resume, &mut Silent) {
        Err(TrainError::ResumeMismatch { differences }) => {
            assert_eq!(differences.len(), 2, "{differences:?}");
            assert!(differences.iter().any(|d| d.starts_with("training.lr")), "{differences:?}");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    // The same configuration resumes (here: nothing left to do) to the same model.
    let resumed = fit(DataSource::Fixed(data.as_ref()), &config, &resume, &mut Silent).unwrap();
    assert_eq!(resumed.sample(20, 1, 1.0), straight.sample(20, 1, 1.0));
}

#[test]
fn every_prior_and_architecture_family_fits_and_round_trips() {
    let data = sine(200, 7);
    let vector = |transform, mixing, actnorm| {
        Architecture::Vector(VectorFlow { mixing, actnorm, ..VectorFlow::paper(3, transform) })
    };
    let affine = CouplingTransform::Affine(flow_core::LogScale::Tanh);
    let configs = [
        (vector(CouplingTransform::Additive, Mixing::Permutations, ActNormLayers::None), PriorConfig::Standard),
        (
            vector(affine, Mixing::Lu, ActNormLayers::BeforeEachCoupling),
            PriorConfig::Diagonal { mean: MeanMode::Learned },
        ),
        (
            vector(CouplingTransform::Additive, Mixing::Permutations, ActNormLayers::None),
            PriorConfig::Spread { spread: SpreadConfig::paper(), mean: MeanMode::Learned },
        ),
    ];
    for (architecture, prior) in configs {
        let config = FitConfig {
            architecture,
            prior,
            data: DataConfig { scaling: ScalingMode::PerDimension, validation_fraction: 0.1 },
            ..short("paper-fig1", 20)
        };
        let model = fitted(&config, &data);
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let loaded = FittedModel::load(dir.path()).unwrap();
        assert_eq!(model.log_prob(data.as_ref()).unwrap(), loaded.log_prob(data.as_ref()).unwrap(), "{prior:?}");
        assert_eq!(model.sample(10, 1, 1.0), loaded.sample(10, 1, 1.0), "{prior:?}");
        assert_eq!(model.encode(data.as_ref(), Some(1)).unwrap().ncols(), 1);
        // The codes' Gaussian: n rows, finite, its spread shrinking with the temperature.
        let drawn = model.sample_encoded_gaussian(data.as_ref(), 50, 3, 1.0).unwrap();
        assert_eq!((drawn.nrows(), drawn.ncols()), (50, 2));
        assert!(drawn.col_iter().all(|c| c.iter().all(|v| v.is_finite())));
        let cold = model.sample_encoded_gaussian(data.as_ref(), 50, 3, 0.0).unwrap();
        assert!((1..50).all(|i| (cold[(i, 0)] - cold[(0, 0)]).abs() < 1e-9), "T = 0 decodes the codes' mean");
        // decode inverts encode, in data units, for every family.
        let back = model.decode(model.encode(data.as_ref(), None).unwrap().as_ref()).unwrap();
        for i in 0..data.nrows() {
            for j in 0..data.ncols() {
                approx::assert_abs_diff_eq!(back[(i, j)], data[(i, j)], epsilon = 1e-9);
            }
        }
        assert_eq!(
            model.intrinsic_dimension(data.as_ref()).unwrap().is_some(),
            matches!(prior, PriorConfig::Spread { .. })
        );
    }
    // The spread prior on a flow that is not volume-preserving is refused before training.
    let refused =
        FitConfig { architecture: vector(affine, Mixing::Alternate, ActNormLayers::None), ..short("paper-fig1", 5) };
    let err = fit(DataSource::Fixed(data.as_ref()), &refused, &FitOptions::default(), &mut Silent).unwrap_err();
    assert!(matches!(err, TrainError::Model(PriorError::NotVolumePreserving)), "{err}");
}

#[test]
fn log_prob_is_in_data_units() {
    // Scaling the data by 10 lowers the density of each point by ln(10) per coordinate.
    let data = sine(300, 8);
    let mut config = short("paper-fig1", 20);
    config.data.scaling = ScalingMode::Global;
    let scaled = Mat::from_fn(300, 2, |i, j| 10.0 * data[(i, j)]);
    let a = fitted(&config, &data).log_prob(data.as_ref()).unwrap();
    let b = fitted(&config, &scaled).log_prob(scaled.as_ref()).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y - 2.0 * 10f64.ln()).abs() < 1e-9 * x.abs().max(1.0), "{x} vs {y}");
    }
}

#[test]
fn presets_serialise_and_a_partial_file_overrides_a_preset() {
    for name in FitConfig::PRESETS {
        let config = FitConfig::preset(name).unwrap();
        config.validate().unwrap();
        let json = serde_json::to_string_pretty(&config).unwrap();
        assert_eq!(serde_json::from_str::<FitConfig>(&json).unwrap(), config, "{name}");
    }
    assert!(FitConfig::preset("nope").is_none());
    let unknown = serde_json::from_str::<FitConfig>("{\"data\": 1, \"colour\": 2}");
    assert!(unknown.is_err());
}

#[test]
fn the_codes_gaussian_has_the_mean_and_covariance_of_the_codes() {
    let data = sine(400, 11);
    let model = fitted(&short("paper-fig1", 20), &data);
    let cov = |z: &Mat<f64>| crate::covariance(z.as_ref());
    let z = model.encode(data.as_ref(), None).unwrap();
    let n = 20_000;
    let drawn = model.sample_encoded_gaussian(data.as_ref(), n, 5, 1.0).unwrap();
    let back = model.encode(drawn.as_ref(), None).unwrap();
    let (cz, cb) = (cov(&z), cov(&back));
    for j in 0..2 {
        let mean = |m: &Mat<f64>| m.col(j).iter().sum::<f64>() / m.nrows() as f64;
        let standard_error = (cz[(j, j)] / n as f64).sqrt();
        assert!((mean(&back) - mean(&z)).abs() < 5.0 * standard_error, "mean of column {j}");
        for k in 0..2 {
            // The sample covariance of n Gaussian draws is within a few percent of the truth.
            let scale = (cz[(j, j)] * cz[(k, k)]).sqrt();
            assert!((cb[(j, k)] - cz[(j, k)]).abs() < 0.05 * scale, "covariance ({j}, {k}): {cb:?} vs {cz:?}");
        }
    }
}
