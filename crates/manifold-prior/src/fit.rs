//! Fitting a flow to data in one call: [`fit`] takes a [`FitConfig`] and data (a matrix, or a
//! generator of fresh batches) and returns a [`FittedModel`], which samples, encodes, scores
//! and reads off the intrinsic dimension, and saves to and loads from a model folder
//! (docs/model-format.md):
//!
//! | file | contents |
//! | --- | --- |
//! | `model.json` | the [`FitConfig`], the data standardisation, the flow's architecture, the parameter count, versions, commit and the training summary |
//! | `weights.safetensors` | every parameter (row-major `f64`, named as in the model, e.g. `coupling.0.t.layer0.weight`, `prior.a`) and the moving average of the prior's (`average.prior.a`) |
//! | `training.csv` | `step,loss,validation_loss,eigenvalue_1..` every `log_interval` steps |
//! | `checkpoint/` | while training with checkpoints (removed by `mflow fit` at the end) |

use std::path::Path;

use autodiff_lite::{ParamId, ParamStore, Tape};
use faer::{Mat, MatRef};
use flow_core::io::{attach_saved, load_params, read_json, save_params, write_atomic, write_json};
use flow_core::{Bijector, Flow, FlowSpec};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::PriorError;
use crate::average::{MovingAverage, ParamSource};
use crate::config::{FitConfig, PriorConfig};
use crate::model::{
    BasePrior, Model, PriorEigenvalues, SpreadFlow, StandardFlow, TrainableState, column_means, covariance,
};
use crate::prior::{DiagonalGaussian, Prior, Spectrum, StandardNormal, TriangularGaussian};
use crate::readoff::{IntrinsicDimension, ReadoffConfig};
use crate::scaling::Standardizer;
use crate::trainer::{CheckpointConfig, DataSource, History, TrainError, TrainEvent, TrainObserver, resume, train};

/// The format tag of `model.json`.
pub const MODEL_FORMAT: &str = "manifold-flows/model/1";
/// The prefix of the moving-average tensors in `weights.safetensors`.
pub const AVERAGE_PREFIX: &str = "average.";
/// Rows of a generator drawn to fit the standardisation when the data come from one.
const GENERATOR_FIT_ROWS: usize = 10_000;
/// Offsets of the random streams derived from the training seed (the split into training and
/// validation rows, the generator's fit rows, the validation noise).
const SPLIT_STREAM: u64 = 0x5b17;
const FIT_STREAM: u64 = 0xf17;
const VALIDATION_STREAM: u64 = 0x7a11d;

/// A fitted flow: a spread flow (volume-preserving flow + manifold prior) or a flow with a
/// prior that has a density everywhere (maximum likelihood).
#[derive(Debug)]
pub enum FlowModel {
    /// The spread objective's model.
    Spread(SpreadFlow),
    /// Maximum likelihood with `N(0, I)` or a learned diagonal Gaussian.
    Standard(StandardFlow),
}

impl FlowModel {
    /// The parameters.
    pub fn store(&self) -> &ParamStore {
        match self {
            FlowModel::Spread(m) => m.store(),
            FlowModel::Standard(m) => m.store(),
        }
    }

    /// The flow `g` (data to latent).
    pub fn flow(&self) -> &Flow {
        match self {
            FlowModel::Spread(m) => m.flow(),
            FlowModel::Standard(m) => m.flow(),
        }
    }

    /// The input standardisation.
    pub fn standardizer(&self) -> &Standardizer {
        match self {
            FlowModel::Spread(m) => m.standardizer(),
            FlowModel::Standard(m) => m.standardizer(),
        }
    }

    fn init_from_data(&mut self, x: MatRef<'_, f64>) {
        match self {
            FlowModel::Spread(m) => m.init_from_data(x),
            FlowModel::Standard(m) => m.init_from_data(x),
        }
    }

    /// The handles of the prior's parameters.
    fn prior_params(&self) -> Vec<ParamId> {
        match self {
            FlowModel::Spread(m) => m.prior().params(),
            FlowModel::Standard(m) => match m.prior() {
                BasePrior::Standard(p) => p.params(),
                BasePrior::Diagonal(p) => p.params(),
            },
        }
    }
}

impl Model for FlowModel {
    fn dim(&self) -> usize {
        self.flow().dim()
    }

    fn record_loss(
        &self,
        tape: &mut Tape,
        batch: MatRef<'_, f64>,
        rng: &mut ChaCha8Rng,
    ) -> Result<autodiff_lite::Var, PriorError> {
        match self {
            FlowModel::Spread(m) => m.record_loss(tape, batch, rng),
            FlowModel::Standard(m) => m.record_loss(tape, batch, rng),
        }
    }

    fn state_mut(&mut self) -> TrainableState<'_> {
        match self {
            FlowModel::Spread(m) => m.state_mut(),
            FlowModel::Standard(m) => m.state_mut(),
        }
    }

    fn prior_eigenvalues(&self) -> Option<PriorEigenvalues> {
        match self {
            FlowModel::Spread(m) => m.prior_eigenvalues(),
            FlowModel::Standard(m) => m.prior_eigenvalues(),
        }
    }
}

/// How a fit handles checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FitOptions {
    /// Write checkpoints (the configuration is saved next to them as `config.json`).
    pub checkpoint: Option<CheckpointConfig>,
    /// Continue from the latest checkpoint instead of starting afresh (needs `checkpoint`,
    /// and a configuration equal to the checkpoint's).
    pub resume: bool,
}

/// One row of the training log (`training.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    /// Steps done.
    pub step: usize,
    /// The mean training loss over the steps since the previous row.
    pub loss: f64,
    /// The loss on the held-out rows (the same noise draw every time), if there are any.
    pub validation_loss: Option<f64>,
    /// The leading eigenvalues of the prior's covariance (learned priors only).
    pub eigenvalues: Vec<f64>,
}

/// What a training run did, stored in `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct TrainingSummary {
    /// Steps run.
    pub steps: usize,
    /// Rows trained on (0 for a generator of fresh batches).
    pub training_rows: usize,
    /// Rows held out for the validation loss.
    pub validation_rows: usize,
    /// The loss of the first step.
    pub initial_loss: f64,
    /// The mean loss over the last `log_interval` steps.
    pub final_loss: f64,
    /// The last validation loss, if there are held-out rows.
    pub final_validation_loss: Option<f64>,
    /// Wall time of the training loop of this process, in seconds.
    pub seconds: f64,
}

/// A model fitted by [`fit`] (or loaded from a model folder), with its configuration and
/// training record.
#[derive(Debug)]
pub struct FittedModel {
    config: FitConfig,
    model: FlowModel,
    summary: TrainingSummary,
    log: Vec<LogRow>,
    commit: Option<String>,
}

/// Leading eigenvalues kept in each row of the training log.
const LOG_EIGENVALUES: usize = 5;

/// The observer [`fit`] puts between the trainer and the caller's observer: it forwards every
/// event, and every `log_interval` steps records a [`LogRow`] (with the validation loss,
/// reported as [`TrainEvent::Validation`]; the loss column is filled from the history at the
/// end). Its rows are saved with each checkpoint and restored on resume.
struct FitLogger<'a> {
    inner: &'a mut dyn TrainObserver<FlowModel>,
    interval: usize,
    steps: usize,
    validation: Option<MatRef<'a, f64>>,
    seed: u64,
    marks: Vec<LogMark>,
}

/// What the logger records every `log_interval` steps (the loss comes from the history).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LogMark {
    step: usize,
    validation_loss: Option<f64>,
    eigenvalues: Vec<f64>,
}

impl TrainObserver<FlowModel> for FitLogger<'_> {
    fn on_event(&mut self, event: &TrainEvent<'_>, model: &FlowModel) {
        self.inner.on_event(event, model);
        let TrainEvent::Step { step, .. } = *event else { return };
        if step % self.interval != 0 && step != self.steps {
            return;
        }
        let validation_loss = self.validation.map(|v| validation_loss(model, v, self.seed));
        if let Some(loss) = validation_loss {
            self.inner.on_event(&TrainEvent::Validation { step, loss }, model);
        }
        let eigenvalues = model
            .prior_eigenvalues()
            .map(|e| e.current.into_iter().take(LOG_EIGENVALUES).collect())
            .unwrap_or_default();
        self.marks.push(LogMark { step, validation_loss, eigenvalues });
    }

    fn checkpoint_state(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.marks).ok()
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<(), serde_json::Error> {
        self.marks = serde_json::from_value(state)?;
        Ok(())
    }
}

/// The model's loss on the validation rows, with the noise drawn from the same stream every
/// time so that successive values compare.
fn validation_loss(model: &FlowModel, rows: MatRef<'_, f64>, seed: u64) -> f64 {
    let mut tape = Tape::no_grad();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ VALIDATION_STREAM);
    match model.record_loss(&mut tape, rows, &mut rng) {
        Ok(loss) => tape.scalar(loss),
        Err(_) => f64::NAN,
    }
}

/// Fit a flow to `data` as `config` says, reporting to `observer` (pass [`crate::Silent`] for
/// none). With a fixed data matrix, `config.data.validation_fraction` of the rows (a seeded
/// random choice) are held out and scored every `config.log_interval` steps; the
/// standardisation is fitted on the training rows. With a generator, the standardisation is
/// fitted on 10,000 rows of its own stream.
///
/// ```
/// use manifold_prior::{DataSource, FitConfig, FitOptions, Silent, fit};
///
/// // 1,000 points of the sine curve x2 = sin(2 x1), as if read from a CSV file.
/// let data = faer::Mat::from_fn(1_000, 2, |i, j| {
///     let t = -2.0 + 4.0 * i as f64 / 999.0;
///     if j == 0 { t } else { (2.0 * t).sin() }
/// });
/// let config = FitConfig::preset("paper-fig1").unwrap().with_steps(200);
/// let model = fit(DataSource::Fixed(data.as_ref()), &config, &FitOptions::default(), &mut Silent).unwrap();
/// let samples = model.sample(500, 7, 1.0);
/// assert_eq!(samples.shape(), (500, 2));
/// let codes = model.encode(data.as_ref(), None).unwrap();
/// assert_eq!(codes.ncols(), 2);
/// ```
///
/// # Errors
/// [`TrainError::Model`] for an invalid configuration (or data that do not fit the
/// architecture); [`TrainError::NonFinite`] naming the first non-finite cell;
/// [`TrainError::Empty`] for fewer than 2 rows; [`TrainError::ResumeMismatch`] listing the
/// settings that differ from the checkpoint's; divergence and checkpoint errors as
/// [`train`].
pub fn fit(
    data: DataSource<'_>,
    config: &FitConfig,
    options: &FitOptions,
    observer: &mut dyn TrainObserver<FlowModel>,
) -> Result<FittedModel, TrainError> {
    config.validate()?;
    let seed = config.training.seed;
    let (mut model, train_rows, validation) = match data {
        DataSource::Fixed(x) => {
            check_finite(x)?;
            if x.nrows() < 2 {
                return Err(TrainError::Empty);
            }
            let (train_rows, validation) = split_rows(x, config.data.validation_fraction, seed);
            let standardizer = Standardizer::fit(train_rows.as_ref(), config.data.scaling);
            let mut model = config.build_model(standardizer)?;
            model.init_from_data(train_rows.as_ref());
            (model, Some(train_rows), validation)
        }
        DataSource::Generator(generate) => {
            let mut fit_rng = ChaCha8Rng::seed_from_u64(seed ^ FIT_STREAM);
            let rows = generate(GENERATOR_FIT_ROWS, &mut fit_rng);
            check_finite(rows.as_ref())?;
            let standardizer = Standardizer::fit(rows.as_ref(), config.data.scaling);
            let mut model = config.build_model(standardizer)?;
            model.init_from_data(rows.as_ref());
            let history = run_training(&mut model, DataSource::Generator(generate), config, options, None, observer)?;
            return Ok(FittedModel::from_run(config, model, 0, 0, history));
        }
    };
    let train_rows = train_rows.unwrap_or_else(|| Mat::zeros(0, 0));
    let history = run_training(
        &mut model,
        DataSource::Fixed(train_rows.as_ref()),
        config,
        options,
        validation.as_ref().map(|v| v.as_ref()),
        observer,
    )?;
    let n_validation = validation.as_ref().map_or(0, |v| v.nrows());
    Ok(FittedModel::from_run(config, model, train_rows.nrows(), n_validation, history))
}

/// The trainer's run (fresh or resumed) with the fit's logger, returning the history and the
/// log.
fn run_training(
    model: &mut FlowModel,
    data: DataSource<'_>,
    config: &FitConfig,
    options: &FitOptions,
    validation: Option<MatRef<'_, f64>>,
    observer: &mut dyn TrainObserver<FlowModel>,
) -> Result<(History, Vec<LogRow>), TrainError> {
    let mut training = config.training.clone();
    training.checkpoint = options.checkpoint.clone();
    if let Some(ck) = &options.checkpoint {
        let saved = ck.dir.join("config.json");
        if options.resume {
            let previous: FitConfig = read_json(&saved).map_err(PriorError::from)?;
            let differences = config_differences(&previous, config);
            if !differences.is_empty() {
                return Err(TrainError::ResumeMismatch { differences });
            }
        } else {
            std::fs::create_dir_all(&ck.dir).map_err(|source| PriorError::Io { path: ck.dir.clone(), source })?;
            write_json(&saved, config).map_err(PriorError::from)?;
        }
    }
    let mut logger = FitLogger {
        inner: observer,
        interval: config.log_interval,
        steps: training.steps,
        validation,
        seed: config.training.seed,
        marks: Vec::new(),
    };
    let history = if options.resume {
        if options.checkpoint.is_none() {
            return Err(TrainError::NoCheckpointDirectory);
        }
        resume(model, data, &training, &mut logger)?
    } else {
        train(model, data, &training, &mut logger)?
    };
    // Each row's loss: the mean over the steps since the previous row (the history holds every
    // step's loss, across a resume too).
    let mut from = 0;
    let rows = logger
        .marks
        .into_iter()
        .map(|LogMark { step, validation_loss, eigenvalues }| {
            let window = &history.losses[from.min(step)..step.min(history.losses.len())];
            from = step;
            let loss = window.iter().sum::<f64>() / window.len().max(1) as f64;
            LogRow { step, loss, validation_loss, eigenvalues }
        })
        .collect();
    Ok((history, rows))
}

/// The settings (paths in the JSON of the configuration) whose values differ.
pub fn config_differences(a: &FitConfig, b: &FitConfig) -> Vec<String> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(a), serde_json::to_value(b)) else {
        return vec!["the configurations cannot be compared".into()];
    };
    json_differences(&a, &b)
}

/// The paths (`a.b.c`) whose values differ between a checkpoint's settings `saved` and the
/// current ones `now`, one line each (`path: saved (checkpoint) vs now (now)`); a key present
/// on one side only compares against `null`.
pub fn json_differences(saved: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    fn walk(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
        match (a, b) {
            (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                let null = serde_json::Value::Null;
                for k in keys {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    walk(&p, x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null), out);
                }
            }
            _ if a != b => out.push(format!("{path}: {a} (checkpoint) vs {b} (now)")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", saved, now, &mut out);
    out
}

/// The first non-finite cell, row by row, as an error.
fn check_finite(x: MatRef<'_, f64>) -> Result<(), TrainError> {
    for row in 0..x.nrows() {
        for col in 0..x.ncols() {
            if !x[(row, col)].is_finite() {
                return Err(TrainError::NonFinite { row, col });
            }
        }
    }
    Ok(())
}

/// Split the rows into training and validation parts: `round(fraction n)` rows, chosen by a
/// seeded shuffle, are held out (at least one row stays for training).
fn split_rows(x: MatRef<'_, f64>, fraction: f64, seed: u64) -> (Mat<f64>, Option<Mat<f64>>) {
    let n = x.nrows();
    let held = ((fraction * n as f64).round() as usize).min(n - 1);
    if held == 0 {
        return (x.to_owned(), None);
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ SPLIT_STREAM));
    let (validation, training) = order.split_at(held);
    let rows = |idx: &[usize]| Mat::from_fn(idx.len(), x.ncols(), |i, j| x[(idx[i], j)]);
    (rows(training), Some(rows(validation)))
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct SavedModel {
    format: String,
    config: FitConfig,
    dim: usize,
    standardizer: Standardizer,
    flow: FlowSpec,
    n_params: usize,
    versions: Versions,
    training: TrainingSummary,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Versions {
    manifold_prior: String,
    commit: Option<String>,
}

impl FittedModel {
    fn from_run(
        config: &FitConfig,
        model: FlowModel,
        training_rows: usize,
        validation_rows: usize,
        (history, log): (History, Vec<LogRow>),
    ) -> Self {
        let last = config.log_interval.min(history.losses.len()).max(1);
        let tail = &history.losses[history.losses.len().saturating_sub(last)..];
        let summary = TrainingSummary {
            steps: history.losses.len(),
            training_rows,
            validation_rows,
            initial_loss: history.losses.first().copied().unwrap_or(f64::NAN),
            final_loss: tail.iter().sum::<f64>() / tail.len().max(1) as f64,
            final_validation_loss: log.last().and_then(|r| r.validation_loss),
            seconds: history.seconds,
        };
        Self { config: config.clone(), model, summary, log, commit: None }
    }

    /// The configuration it was fitted with.
    pub fn config(&self) -> &FitConfig {
        &self.config
    }

    /// The model itself.
    pub fn model(&self) -> &FlowModel {
        &self.model
    }

    /// The data dimension `D`.
    pub fn dim(&self) -> usize {
        self.model.dim()
    }

    /// The number of scalar parameters (the moving average not counted).
    pub fn n_params(&self) -> usize {
        self.model.store().n_scalars()
    }

    /// What training did.
    pub fn training_summary(&self) -> &TrainingSummary {
        &self.summary
    }

    /// The training log (`training.csv`).
    pub fn training_log(&self) -> &[LogRow] {
        &self.log
    }

    /// Record the commit the model was built with (written into `model.json`).
    pub fn set_commit(&mut self, commit: impl Into<String>) {
        self.commit = Some(commit.into());
    }

    fn check_data(&self, x: MatRef<'_, f64>) -> Result<(), PriorError> {
        if x.ncols() != self.dim() {
            return Err(PriorError::DimensionMismatch { expected: self.dim(), got: x.ncols() });
        }
        for row in 0..x.nrows() {
            for col in 0..x.ncols() {
                if !x[(row, col)].is_finite() {
                    return Err(PriorError::NonFiniteData { row, col });
                }
            }
        }
        Ok(())
    }

    /// `n` samples in data units at `temperature` `T` (the prior's deviation from its mean
    /// scaled by `T`: `z = mu + T (z_0 - mu)`; `T = 1` samples the model, `T < 1` its
    /// typical set, as in Glow). Spread models sample with the current prior.
    pub fn sample(&self, n: usize, seed: u64, temperature: f64) -> Mat<f64> {
        let (mut z, mean) = match &self.model {
            FlowModel::Spread(m) => (m.sample_latent(n, seed, ParamSource::Current), m.prior().mean(m.store())),
            FlowModel::Standard(m) => {
                let mean = match m.prior() {
                    BasePrior::Standard(p) => p.mean(m.store()),
                    BasePrior::Diagonal(p) => p.mean(m.store()),
                };
                (m.sample_latent(n, seed), mean)
            }
        };
        if temperature != 1.0 {
            for j in 0..z.ncols() {
                for i in 0..z.nrows() {
                    z[(i, j)] = mean[(0, j)] + temperature * (z[(i, j)] - mean[(0, j)]);
                }
            }
        }
        self.decode_unchecked(z.as_ref())
    }

    /// `n` samples in data units of the Gaussian of the codes of `x` instead of the trained
    /// prior: with `m` the mean and `V diag(lambda) V^T` the covariance of `g(x)`,
    /// `z = m + T V diag(sqrt(lambda)) e`, `e ~ N(0, I)`, decoded by `f = g^-1`
    /// ([`FittedModel::decode`]). This is the maximum-likelihood Gaussian of the encoded data
    /// under the trained flow; when the learned prior is wider than the codes (on MNIST it is
    /// far wider, after 4,000 steps and after 16,000, docs/real-images.md) its samples stay
    /// where the training codes are. `x` is typically the training data; `T` as in
    /// [`FittedModel::sample`].
    ///
    /// # Errors
    /// As [`FittedModel::encode`]; fewer than two rows of `x`
    /// ([`PriorError::TooFewRows`]); a covariance whose spectrum cannot be computed.
    pub fn sample_encoded_gaussian(
        &self,
        x: MatRef<'_, f64>,
        n: usize,
        seed: u64,
        temperature: f64,
    ) -> Result<Mat<f64>, PriorError> {
        if x.nrows() < 2 {
            return Err(PriorError::TooFewRows { rows: x.nrows(), needed: 2 });
        }
        let z = self.encode(x, None)?;
        let d = z.ncols();
        let mean = column_means(z.as_ref());
        let spectrum = Spectrum::of(covariance(z.as_ref()).as_ref())?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let scaled = Mat::from_fn(n, d, |_, k| {
            temperature * crate::prior::standard_normal(&mut rng) * spectrum.values[k].max(0.0).sqrt()
        });
        let mut drawn = &scaled * spectrum.vectors.transpose();
        for j in 0..d {
            for i in 0..n {
                drawn[(i, j)] += mean[j];
            }
        }
        Ok(self.decode_unchecked(drawn.as_ref()))
    }

    /// The points in data units of latent codes `z` (`n x D`),
    /// `x = unstandardise(f(z))` with `f = g^-1`: the inverse of [`FittedModel::encode`]
    /// with `top = None`, for codes drawn from any latent distribution (for example a Gaussian
    /// fitted to the encoded training data instead of the trained prior).
    ///
    /// ```
    /// # use manifold_prior::{DataSource, FitConfig, FitOptions, Silent, fit};
    /// # use manifold_prior::faer::Mat;
    /// let x = Mat::from_fn(256, 2, |i, j| { let t = i as f64 / 64.0 - 2.0; if j == 0 { t } else { (2.0 * t).sin() } });
    /// let config = FitConfig::paper_fig1().with_steps(20);
    /// let model = fit(DataSource::Fixed(x.as_ref()), &config, &FitOptions::default(), &mut Silent)?;
    /// let z = model.encode(x.as_ref(), None)?;
    /// let back = model.decode(z.as_ref())?;
    /// assert!((back[(5, 1)] - x[(5, 1)]).abs() < 1e-9);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`PriorError::DimensionMismatch`] or [`PriorError::NonFiniteData`] (naming the code's
    /// row and column).
    pub fn decode(&self, z: MatRef<'_, f64>) -> Result<Mat<f64>, PriorError> {
        self.check_data(z)?;
        Ok(self.decode_unchecked(z))
    }

    /// [`FittedModel::decode`] of codes known to be finite and of the right width.
    fn decode_unchecked(&self, z: MatRef<'_, f64>) -> Mat<f64> {
        let flow = self.model.flow();
        self.model.standardizer().inverse(flow.decode(self.model.store(), z).0.as_ref())
    }

    /// The latent codes `z = g(standardise(x))` (`n x D`), or with `top = Some(k)` their
    /// projection on the `k` leading eigenvectors of the prior's covariance (the moving
    /// average of `A A^T` for spread models: the method's representation; the codes' own
    /// principal directions otherwise).
    ///
    /// # Errors
    /// [`PriorError::DimensionMismatch`], [`PriorError::NonFiniteData`],
    /// [`PriorError::ProjectionTooWide`], or a spectrum that cannot be computed.
    pub fn encode(&self, x: MatRef<'_, f64>, top: Option<usize>) -> Result<Mat<f64>, PriorError> {
        self.check_data(x)?;
        match (&self.model, top) {
            (FlowModel::Spread(m), Some(k)) => m.project(x, k),
            (FlowModel::Spread(m), None) => Ok(m.encode(x)),
            (FlowModel::Standard(m), None) => Ok(m.encode(x)),
            (FlowModel::Standard(m), Some(k)) => {
                if k > self.dim() {
                    return Err(PriorError::ProjectionTooWide { k, dim: self.dim() });
                }
                let z = m.encode(x);
                let spec = Spectrum::of(covariance(z.as_ref()).as_ref())?;
                let mean = column_means(z.as_ref());
                Ok(Mat::from_fn(z.nrows(), k, |i, c| {
                    (0..z.ncols()).map(|j| (z[(i, j)] - mean[j]) * spec.vectors[(j, c)]).sum()
                }))
            }
        }
    }

    /// The log-density of each row, in data units (the standardisation's Jacobian
    /// included): exact for maximum-likelihood models; for spread models, the density of the
    /// data convolved with the model's noise (`log N(g(x); mu, A A^T + s^2 I)`), which is
    /// finite although the model's own distribution is singular.
    ///
    /// # Errors
    /// [`PriorError::DimensionMismatch`], [`PriorError::NonFiniteData`], or a covariance that
    /// cannot be factorised.
    pub fn log_prob(&self, x: MatRef<'_, f64>) -> Result<Vec<f64>, PriorError> {
        self.check_data(x)?;
        let standardised = match &self.model {
            FlowModel::Spread(m) => m.log_prob(x)?,
            FlowModel::Standard(m) => m.log_prob(x),
        };
        let log_jacobian: f64 = self.model.standardizer().scale.iter().map(|s| -s.ln()).sum();
        Ok(standardised.into_iter().map(|lp| lp + log_jacobian).collect())
    }

    /// The intrinsic-dimension read-off (every rule on every spectrum) from the data `x`, for
    /// spread models; `None` for maximum-likelihood ones.
    ///
    /// # Errors
    /// [`PriorError::DimensionMismatch`], [`PriorError::NonFiniteData`], or a spectrum that
    /// cannot be computed.
    pub fn intrinsic_dimension(&self, x: MatRef<'_, f64>) -> Result<Option<IntrinsicDimension>, PriorError> {
        self.check_data(x)?;
        match &self.model {
            FlowModel::Spread(m) => m.intrinsic_dimension(x, ReadoffConfig::default()).map(Some),
            FlowModel::Standard(_) => Ok(None),
        }
    }

    /// Save the model folder `dir` (created if needed; files written atomically).
    ///
    /// # Errors
    /// [`PriorError::Io`] or [`PriorError::Flow`] naming the file.
    pub fn save(&self, dir: &Path) -> Result<(), PriorError> {
        std::fs::create_dir_all(dir).map_err(|source| PriorError::Io { path: dir.to_owned(), source })?;
        let saved = SavedModel {
            format: MODEL_FORMAT.into(),
            config: self.config.clone(),
            dim: self.dim(),
            standardizer: self.model.standardizer().clone(),
            flow: self.model.flow().architecture(),
            n_params: self.n_params(),
            versions: Versions { manifold_prior: env!("CARGO_PKG_VERSION").into(), commit: self.commit.clone() },
            training: self.summary.clone(),
        };
        write_json(dir.join("model.json"), &saved)?;
        let store = self.model.store();
        let mut weights = store.clone();
        if let FlowModel::Spread(m) = &self.model {
            let average = m.average();
            for id in average.ids() {
                if let Some(value) = average.get(id) {
                    weights.add(format!("{AVERAGE_PREFIX}{}", store.name(id)), value.to_owned());
                }
            }
        }
        let ids: Vec<ParamId> = weights.ids().collect();
        save_params(dir.join("weights.safetensors"), &weights, &ids)?;
        write_log(&dir.join("training.csv"), &self.log)
    }

    /// Load a model folder written by [`FittedModel::save`].
    ///
    /// # Errors
    /// [`PriorError::Flow`] naming the file for a missing, unreadable or corrupted file or
    /// weights that do not fit the architecture; [`PriorError::UnknownFormat`] for a
    /// `model.json` of another format; invalid settings as [`FitConfig::validate`].
    pub fn load(dir: &Path) -> Result<Self, PriorError> {
        let model_file = dir.join("model.json");
        let saved: SavedModel = read_json(&model_file)?;
        if saved.format != MODEL_FORMAT {
            return Err(PriorError::UnknownFormat { path: model_file, found: saved.format, expected: MODEL_FORMAT });
        }
        saved.config.validate().map_err(|e| PriorError::InvalidSettings { path: model_file, source: Box::new(e) })?;
        let weights_path = dir.join("weights.safetensors");
        let all = load_params(&weights_path)?;
        let mut store = ParamStore::new();
        let mut averages = Vec::new();
        for id in all.ids() {
            match all.name(id).strip_prefix(AVERAGE_PREFIX) {
                Some(name) => averages.push((name.to_owned(), id)),
                None => {
                    store.add(all.name(id), all.value(id).to_owned());
                }
            }
        }
        let flow = attach_saved(&saved.flow, &store, &weights_path)?;
        let dim = saved.dim;
        let standardizer = saved.standardizer;
        let weights_error =
            |source| PriorError::Flow(flow_core::FlowError::Weights { path: weights_path.clone(), source });
        let model = match saved.config.prior {
            PriorConfig::Spread { spread, mean } => {
                let prior = TriangularGaussian::from_store(&store, "prior", dim, mean)?;
                let mut average = MovingAverage::new(&store, &prior.params());
                let ids: Vec<ParamId> = average.ids().collect();
                for id in ids {
                    let (rows, cols) = (store.value(id).nrows(), store.value(id).ncols());
                    let name = store.name(id).to_owned();
                    let src = averages.iter().find(|(n, _)| *n == name).map(|&(_, src)| src).ok_or_else(|| {
                        weights_error(autodiff_lite::ParamError::Missing { name: format!("{AVERAGE_PREFIX}{name}") })
                    })?;
                    let value = all.value(src);
                    if (value.nrows(), value.ncols()) != (rows, cols) {
                        return Err(weights_error(autodiff_lite::ParamError::Shape {
                            name: format!("{AVERAGE_PREFIX}{name}"),
                            expected: (rows, cols),
                            found: (value.nrows(), value.ncols()),
                        }));
                    }
                    average.set(id, value);
                }
                FlowModel::Spread(SpreadFlow::from_parts(store, average, flow, prior, spread, standardizer))
            }
            PriorConfig::Standard => FlowModel::Standard(StandardFlow::from_parts(
                store,
                flow,
                BasePrior::Standard(StandardNormal::new(dim)),
                standardizer,
            )),
            PriorConfig::Diagonal { mean } => {
                let prior = DiagonalGaussian::from_store(&store, "prior", dim, mean)?;
                FlowModel::Standard(StandardFlow::from_parts(store, flow, BasePrior::Diagonal(prior), standardizer))
            }
        };
        let used: Vec<ParamId> = model.flow().params().into_iter().chain(model.prior_params()).collect();
        let store = model.store();
        if let Some(extra) = store.ids().find(|id| !used.contains(id)) {
            let spec = dir.join("model.json");
            let name = store.name(extra).to_owned();
            return Err(flow_core::FlowError::ExtraTensor { path: weights_path, name, spec }.into());
        }
        let log = read_log(&dir.join("training.csv"));
        Ok(Self { config: saved.config, model, summary: saved.training, log, commit: saved.versions.commit })
    }
}

/// Write the training log as CSV (`step,loss,validation_loss,eigenvalue_1..k`), atomically.
fn write_log(path: &Path, rows: &[LogRow]) -> Result<(), PriorError> {
    let k = rows.iter().map(|r| r.eigenvalues.len()).max().unwrap_or(0);
    let mut text = String::from("step,loss,validation_loss");
    for i in 1..=k {
        text.push_str(&format!(",eigenvalue_{i}"));
    }
    text.push('\n');
    for r in rows {
        let validation = r.validation_loss.map_or(String::new(), |v| format!("{v:?}"));
        text.push_str(&format!("{},{:?},{validation}", r.step, r.loss));
        for i in 0..k {
            text.push(',');
            if let Some(v) = r.eigenvalues.get(i) {
                text.push_str(&format!("{v:?}"));
            }
        }
        text.push('\n');
    }
    Ok(write_atomic(path, text.as_bytes())?)
}

/// Read a training log written by [`write_log`] (an unreadable one is empty: the log is a
/// record, not part of the model).
fn read_log(path: &Path) -> Vec<LogRow> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cells = line.split(',');
            let step = cells.next()?.parse().ok()?;
            let loss = cells.next()?.parse().ok()?;
            let validation_loss = cells.next()?.parse().ok();
            let eigenvalues = cells.filter_map(|c| c.parse().ok()).collect();
            Some(LogRow { step, loss, validation_loss, eigenvalues })
        })
        .collect()
}

#[cfg(test)]
mod tests;
