//! Training: one optimiser step ([`TrainStep`], the only place a step is written), the loop
//! around it (mini-batches from a fixed data matrix or fresh batches from a generator, the
//! moving average of the prior, the eigenvalue trajectory, divergence detection, atomic
//! checkpoints that resume bit-identically), and the events it reports to an observer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use autodiff_lite::{
    Adam, AdamConfig, Optimizer, OptimizerState, ParamId, ParamStore, Sgd, SgdConfig, Tape, WeightDecay,
};
use faer::{Mat, MatRef};
use flow_core::io::{load_params, load_params_into, read_json, save_params, write_json};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::PriorError;
use crate::error::CheckpointError;
use crate::model::{Model, PriorEigenvalues};

/// Which optimiser the trainer uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Adam with PyTorch's defaults (betas 0.9, 0.999; eps 1e-8).
    Adam,
    /// SGD with the given momentum.
    Sgd {
        /// Momentum factor.
        momentum: f64,
    },
}

/// How the learning rate changes over the run: a factor `m(t)` with the rate of step `t`
/// (0-based, of `T` steps) equal to `m(t) lr`. The decays act only on the last `fraction` of
/// the steps, from step `t0 = T - round(fraction T)` on, with `u = (t - t0) / (T - t0)` in
/// `[0, 1)`. A decay at the end of training is what makes fig1's samples land on the curve
/// in every seed (docs/fig1.md, "Choosing the default").
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// `m(t) = 1`.
    #[default]
    Constant,
    /// `m(t) = 0.5 (1 + cos(pi u))` on the tail: a half cosine from 1 down to 0.
    CosineTail {
        /// Part of the run (in `(0, 1]`) over which the rate decays.
        fraction: f64,
    },
    /// `m(t) = factor` on the tail.
    StepTail {
        /// Part of the run (in `(0, 1]`) run at the lower rate.
        fraction: f64,
        /// The multiplier of the rate on the tail.
        factor: f64,
    },
}

impl LrSchedule {
    /// The multiplier `m(t)` of the learning rate at step `step` (0-based) of `steps`.
    pub fn factor(&self, step: usize, steps: usize) -> f64 {
        let tail = |fraction: f64| {
            let len = ((fraction.clamp(0.0, 1.0) * steps as f64).round() as usize).min(steps);
            let start = steps - len;
            (step >= start && len > 0).then(|| (step - start) as f64 / len as f64)
        };
        match *self {
            Self::Constant => 1.0,
            Self::CosineTail { fraction } => {
                tail(fraction).map_or(1.0, |u| 0.5 * (1.0 + (std::f64::consts::PI * u).cos()))
            }
            Self::StepTail { fraction, factor } => tail(fraction).map_or(1.0, |_| factor),
        }
    }
}

/// Where and how often checkpoints are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointConfig {
    /// The checkpoint directory (created if needed).
    pub dir: PathBuf,
    /// Write a checkpoint every this many steps (and at the end).
    pub interval: usize,
}

/// The training configuration. Named presets give the paper's settings
/// ([`TrainConfig::paper_fig1`], [`TrainConfig::paper_fading_squares`]). It serialises as
/// part of a [`crate::FitConfig`] (kebab-case; the checkpoint directory is not part of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TrainConfig {
    /// Number of optimiser steps.
    pub steps: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// How the learning rate changes over the run.
    pub lr_schedule: LrSchedule,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Weight decay (coupled L2 as `torch.optim.Adam`, or decoupled as AdamW).
    pub weight_decay: WeightDecay,
    /// Clip the gradient norm to this value, if set.
    pub grad_clip: Option<f64>,
    /// Seed of the batch order and the noise.
    pub seed: u64,
    /// Steps between records of the prior's eigenvalues (0: never).
    pub eigen_interval: usize,
    /// Decay of the exponential moving average of the prior's parameters.
    pub ema_decay: f64,
    /// Checkpointing, if wanted.
    #[serde(skip)]
    pub checkpoint: Option<CheckpointConfig>,
}

impl TrainConfig {
    /// The paper's fig1 setting: Adam lr 1e-3, batch 128 of fresh samples, 10k steps, no
    /// weight decay; EMA decay 0.999; eigenvalues every 50 steps.
    pub fn paper_fig1() -> Self {
        Self {
            steps: 10_000,
            batch_size: 128,
            lr: 1e-3,
            lr_schedule: LrSchedule::Constant,
            optimizer: OptimizerKind::Adam,
            weight_decay: WeightDecay::None,
            grad_clip: None,
            seed: 0,
            eigen_interval: 50,
            ema_decay: 0.999,
            checkpoint: None,
        }
    }

    /// The paper's fading-squares setting (method.md section 4): Adam lr 3e-4 with coupled L2
    /// weight decay 0.5 on all parameters (`torch.optim.Adam(weight_decay=0.5)`, not AdamW),
    /// batch 100 of fresh images, 5,000 steps; EMA decay 0.999; eigenvalues of the
    /// `1024 x 1024` prior covariance every 250 steps.
    pub fn paper_fading_squares() -> Self {
        Self {
            steps: 5_000,
            batch_size: 100,
            lr: 3e-4,
            weight_decay: WeightDecay::L2(0.5),
            eigen_interval: 250,
            ..Self::paper_fig1()
        }
    }

    /// The same configuration with another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The same configuration with another number of steps.
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }

    /// The optimiser this configuration asks for.
    fn make_optimizer(&self) -> Box<dyn Optimizer> {
        match self.optimizer {
            OptimizerKind::Adam => Box::new(Adam::new(AdamConfig {
                lr: self.lr,
                weight_decay: self.weight_decay,
                ..AdamConfig::default()
            })),
            OptimizerKind::Sgd { momentum } => {
                let weight_decay = match self.weight_decay {
                    WeightDecay::L2(w) => w,
                    _ => 0.0,
                };
                Box::new(Sgd::new(SgdConfig { lr: self.lr, momentum, weight_decay, ..SgdConfig::default() }))
            }
        }
    }
}

/// Where training batches come from.
pub enum DataSource<'a> {
    /// Shuffled mini-batches of a fixed `n x D` matrix (reshuffled every epoch).
    Fixed(MatRef<'a, f64>),
    /// Fresh batches `generate(batch_size, rng)` every step (the paper's toys).
    Generator(&'a mut dyn FnMut(usize, &mut ChaCha8Rng) -> Mat<f64>),
}

/// What a training run records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The loss of every step.
    pub losses: Vec<f64>,
    /// Steps at which eigenvalues were recorded.
    pub eigen_steps: Vec<usize>,
    /// Eigenvalues of the prior covariance (current parameters), largest first.
    pub eigenvalues: Vec<Vec<f64>>,
    /// Eigenvalues of the prior covariance (moving average), largest first.
    pub ema_eigenvalues: Vec<Vec<f64>>,
    /// Wall time of the training loop in seconds (this run only; not restored on resume).
    pub seconds: f64,
}

/// What turned non-finite when training diverged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Divergence {
    /// The loss.
    Loss,
    /// A gradient (the loss was still finite).
    Gradient,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Divergence::Loss => "loss",
            Divergence::Gradient => "gradient",
        })
    }
}

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A non-finite loss or gradient.
    #[error("training diverged at step {step}: non-finite {cause} ({})", describe_last_loss(*last_finite_loss))]
    Diverged {
        /// The step (0-based) that produced it.
        step: usize,
        /// What was non-finite.
        cause: Divergence,
        /// The last finite loss before it, if any.
        last_finite_loss: Option<f64>,
    },
    /// A batch had the wrong width.
    #[error("data has {got} columns but the model has dimension {expected}")]
    Shape {
        /// The model's dimension.
        expected: usize,
        /// The data's width.
        got: usize,
    },
    /// The data matrix is empty (or has a single row).
    #[error("no training data (at least 2 rows are needed)")]
    Empty,
    /// A data cell is NaN or infinite.
    #[error("the data are not finite at row {row}, column {col} (0-based)")]
    NonFinite {
        /// The row (0-based).
        row: usize,
        /// The column (0-based).
        col: usize,
    },
    /// A run resumed with another configuration than its checkpoint's.
    #[error("the configuration differs from the checkpoint's: {}", differences.join("; "))]
    ResumeMismatch {
        /// One line per differing setting.
        differences: Vec<String>,
    },
    /// [`resume`] without a checkpoint directory in the configuration.
    #[error("resume needs a checkpoint directory (TrainConfig::checkpoint)")]
    NoCheckpointDirectory,
    /// The model could not evaluate the loss, or a checkpoint could not be written or read.
    #[error(transparent)]
    Model(#[from] PriorError),
}

fn describe_last_loss(loss: Option<f64>) -> String {
    match loss {
        Some(l) => format!("last finite loss {l}"),
        None => "no finite loss before it".to_owned(),
    }
}

/// What happened during training, reported to a [`TrainObserver`].
#[derive(Debug, Clone, Copy)]
pub enum TrainEvent<'a> {
    /// Training starts (or resumes) after `done` of `steps` steps.
    Started {
        /// Steps already done (0, or the checkpoint's step when resuming).
        done: usize,
        /// The total number of steps of the run.
        steps: usize,
    },
    /// An optimiser step is done (`step` counts the steps done, from 1); the moving average
    /// is updated.
    Step {
        /// Steps done.
        step: usize,
        /// This step's loss.
        loss: f64,
    },
    /// The prior's eigenvalues were recorded after `step` steps.
    Eigenvalues {
        /// Steps done.
        step: usize,
        /// The recorded spectra.
        eigenvalues: &'a PriorEigenvalues,
    },
    /// A checkpoint was written after `step` steps.
    Checkpoint {
        /// Steps done.
        step: usize,
        /// The checkpoint directory.
        dir: &'a Path,
    },
    /// The loss on held-out data after `step` steps ([`crate::fit`] reports it every
    /// `log_interval` steps when it holds rows out).
    Validation {
        /// Steps done.
        step: usize,
        /// The validation loss.
        loss: f64,
    },
    /// Training diverged; the error follows.
    Diverged {
        /// The step (0-based) that produced a non-finite value.
        step: usize,
        /// What was non-finite.
        cause: Divergence,
        /// The last finite loss before it, if any.
        last_finite_loss: Option<f64>,
    },
}

/// Receives the events of a training run, with read access to the model. An observer only
/// reads, so a run is bit-identical whatever observes it. Closures
/// `FnMut(&TrainEvent, &M)` are observers; [`Silent`] ignores everything. An observer that
/// keeps a record of the run (a log) can have it saved with each checkpoint and restored on
/// [`resume`], so that a resumed run's record equals an uninterrupted one's.
pub trait TrainObserver<M: ?Sized> {
    /// Called for each event, in order.
    fn on_event(&mut self, event: &TrainEvent<'_>, model: &M);

    /// The record to save with a checkpoint (none by default).
    fn checkpoint_state(&self) -> Option<serde_json::Value> {
        None
    }

    /// Restore the record saved with the checkpoint a run resumes from.
    ///
    /// # Errors
    /// The record does not have the shape this observer saves.
    fn restore(&mut self, _state: serde_json::Value) -> Result<(), serde_json::Error> {
        Ok(())
    }
}

impl<M: ?Sized, F: FnMut(&TrainEvent<'_>, &M)> TrainObserver<M> for F {
    fn on_event(&mut self, event: &TrainEvent<'_>, model: &M) {
        self(event, model);
    }
}

/// An observer that ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl<M: ?Sized> TrainObserver<M> for Silent {
    fn on_event(&mut self, _event: &TrainEvent<'_>, _model: &M) {}
}

/// The phases of one step, as [`TrainStep::run`] measured them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// The loss of the batch.
    pub loss: f64,
    /// Recording the loss on the tape (the forward pass).
    pub forward: Duration,
    /// The reverse pass, including the check that every gradient is finite.
    pub backward: Duration,
    /// Clipping, the optimiser update, zeroing the gradients and the moving average.
    pub update: Duration,
}

/// One optimiser step, the only one: record the loss of a batch, run the reverse pass, stop
/// on a non-finite loss or gradient, clip, update the parameters and the moving average. The
/// trainer, the step profiler and the benchmarks all call it; it keeps the optimiser state,
/// the tape (whose buffers are reused step to step) and the count of steps done.
pub struct TrainStep {
    optimizer: Box<dyn Optimizer>,
    lr: f64,
    lr_schedule: LrSchedule,
    total_steps: usize,
    tape: Tape,
    grad_clip: Option<f64>,
    ema_decay: f64,
    done: usize,
    last_finite_loss: Option<f64>,
}

impl std::fmt::Debug for TrainStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainStep").field("done", &self.done).field("last_finite_loss", &self.last_finite_loss).finish()
    }
}

impl TrainStep {
    /// The step of `config` (optimiser, learning-rate schedule over `config.steps`, clipping,
    /// moving-average decay), before any step.
    pub fn new(config: &TrainConfig) -> Self {
        Self {
            optimizer: config.make_optimizer(),
            lr: config.lr,
            lr_schedule: config.lr_schedule,
            total_steps: config.steps,
            tape: Tape::new(),
            grad_clip: config.grad_clip,
            ema_decay: config.ema_decay,
            done: 0,
            last_finite_loss: None,
        }
    }

    /// The number of steps done.
    pub fn steps_done(&self) -> usize {
        self.done
    }

    /// The tape the steps record on (to switch profiling on, or read its profile).
    pub fn tape_mut(&mut self) -> &mut Tape {
        &mut self.tape
    }

    /// One step on `batch` (`n x D`, in data units); `rng` draws the model's noise.
    ///
    /// # Errors
    /// [`TrainError::Diverged`] on a non-finite loss or gradient (the parameters are left as
    /// they were before the step), [`TrainError::Model`] when the loss cannot be evaluated.
    pub fn run<M: Model + ?Sized>(
        &mut self,
        model: &mut M,
        batch: MatRef<'_, f64>,
        rng: &mut ChaCha8Rng,
    ) -> Result<StepOutcome, TrainError> {
        let step = self.done;
        let t0 = Instant::now();
        self.tape.clear();
        let loss_var = model.record_loss(&mut self.tape, batch, rng)?;
        let loss = self.tape.scalar(loss_var);
        if !loss.is_finite() {
            return Err(TrainError::Diverged {
                step,
                cause: Divergence::Loss,
                last_finite_loss: self.last_finite_loss,
            });
        }
        let t1 = Instant::now();
        let state = model.state_mut();
        self.tape.backward(loss_var, state.params);
        if !state.params.grads_are_finite() {
            state.params.zero_grads();
            return Err(TrainError::Diverged { step, cause: Divergence::Gradient, last_finite_loss: Some(loss) });
        }
        let t2 = Instant::now();
        if let Some(max_norm) = self.grad_clip {
            state.params.clip_grad_norm(max_norm);
        }
        if self.lr_schedule != LrSchedule::Constant {
            self.optimizer.set_lr(self.lr * self.lr_schedule.factor(step, self.total_steps));
        }
        self.optimizer.step(state.params);
        state.params.zero_grads();
        if let Some(average) = state.average {
            average.update(state.params, self.ema_decay);
        }
        self.last_finite_loss = Some(loss);
        self.done += 1;
        Ok(StepOutcome { loss, forward: t1 - t0, backward: t2 - t1, update: t2.elapsed() })
    }
}

/// Train `model` for `config.steps` steps from scratch, reporting to `observer` (pass
/// [`Silent`] for none).
///
/// ```
/// use manifold_prior::{DataSource, ReadoffConfig, Silent, TrainConfig, TrainEvent, paper_fig1_spread, train};
/// # let mut sine = |n: usize, rng: &mut rand_chacha::ChaCha8Rng| {
/// #     use rand::RngExt;
/// #     let t: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
/// #     faer::Mat::from_fn(n, 2, |i, j| if j == 0 { t[i] } else { (2.0 * t[i]).sin() })
/// # };
/// let config = TrainConfig::paper_fig1().with_steps(30);
/// let mut model = paper_fig1_spread(0).unwrap();
/// train(&mut model, DataSource::Generator(&mut sine), &config, &mut Silent).unwrap();
///
/// // The same run, read at every 10th step by an observer (it only reads the model, so the
/// // run is bit-identical).
/// let eval = faer::Mat::from_fn(200, 2, |i, j| {
///     let t = -2.0 + 4.0 * i as f64 / 199.0;
///     if j == 0 { t } else { (2.0 * t).sin() }
/// });
/// let mut read = Vec::new();
/// let mut observed = paper_fig1_spread(0).unwrap();
/// let mut observer = |event: &TrainEvent<'_>, m: &manifold_prior::SpreadFlow| {
///     if let TrainEvent::Step { step, .. } = *event {
///         if step % 10 == 0 {
///             read.push((step, m.intrinsic_dimension(eval.as_ref(), ReadoffConfig::default()).unwrap()));
///         }
///     }
/// };
/// train(&mut observed, DataSource::Generator(&mut sine), &config, &mut observer).unwrap();
/// assert_eq!(read.iter().map(|r| r.0).collect::<Vec<_>>(), vec![10, 20, 30]);
/// assert_eq!(observed.store().value(observed.prior().a_param()), model.store().value(model.prior().a_param()));
/// ```
///
/// # Errors
/// [`TrainError::Diverged`] on a non-finite loss or gradient (the last checkpoint is left
/// intact), or a data, model or checkpoint error.
pub fn train<M: Model>(
    model: &mut M,
    data: DataSource<'_>,
    config: &TrainConfig,
    observer: &mut dyn TrainObserver<M>,
) -> Result<History, TrainError> {
    let state = TrainState::new(config);
    run(model, data, config, state, observer)
}

/// Continue a run from the latest checkpoint in `config.checkpoint.dir` up to `config.steps`;
/// with the same configuration and data this is bit-identical to an uninterrupted run.
///
/// # Errors
/// As [`train`], plus [`TrainError::NoCheckpointDirectory`], and [`PriorError`] for a missing
/// or corrupted checkpoint.
pub fn resume<M: Model>(
    model: &mut M,
    data: DataSource<'_>,
    config: &TrainConfig,
    observer: &mut dyn TrainObserver<M>,
) -> Result<History, TrainError> {
    let dir = config.checkpoint.as_ref().map(|c| c.dir.clone()).ok_or(TrainError::NoCheckpointDirectory)?;
    let (state, record) = TrainState::load(model, config, &dir)?;
    if let Some(record) = record {
        observer.restore(record).map_err(|e| PriorError::Checkpoint {
            path: dir.join("latest.json"),
            source: CheckpointError::ObserverRecord(e),
        })?;
    }
    run(model, data, config, state, observer)
}

/// The state of a run between steps: the step (optimiser, counter), the random stream of
/// batches and noise, the epoch order of a fixed data set, and the history.
struct TrainState {
    step: TrainStep,
    rng: ChaCha8Rng,
    history: History,
    order: Vec<usize>,
    pos: usize,
}

impl TrainState {
    fn new(config: &TrainConfig) -> Self {
        Self {
            step: TrainStep::new(config),
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            history: History::default(),
            order: Vec::new(),
            pos: 0,
        }
    }

    fn save<M: Model>(&self, model: &mut M, dir: &Path, observer: Option<serde_json::Value>) -> Result<(), PriorError> {
        let io = |source, path: &Path| PriorError::Io { path: path.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
        let done = self.step.done;
        let step_dir = dir.join(format!("step-{done:08}"));
        let tmp = dir.join(format!("step-{done:08}.partial"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| io(e, &tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| io(e, &tmp))?;
        let state = model.state_mut();
        let ids: Vec<ParamId> = state.params.ids().collect();
        save_params(tmp.join("params.safetensors"), state.params, &ids)?;
        if let Some(average) = state.average {
            average.save(&tmp.join("average.safetensors"))?;
        }
        // Optimiser buffers as 1 x n rows of a scratch store, named "<param>.<buffer>".
        let opt = self.step.optimizer.state(state.params);
        let mut buffers = ParamStore::new();
        for (name, v) in &opt.buffers {
            buffers.add(name.clone(), Mat::from_fn(1, v.len(), |_, j| v[j]));
        }
        let buffer_ids: Vec<ParamId> = buffers.ids().collect();
        save_params(tmp.join("optimizer.safetensors"), &buffers, &buffer_ids)?;
        let meta = CheckpointMeta {
            step: done,
            optimizer_step: opt.step,
            rng_seed: self.rng.get_seed().to_vec(),
            rng_stream: self.rng.get_stream(),
            rng_word_pos: self.rng.get_word_pos().to_string(),
            last_finite_loss: self.step.last_finite_loss,
            order: self.order.clone(),
            pos: self.pos,
            history: self.history.clone(),
            observer,
        };
        write_json(tmp.join("state.json"), &meta)?;
        if step_dir.exists() {
            std::fs::remove_dir_all(&step_dir).map_err(|e| io(e, &step_dir))?;
        }
        std::fs::rename(&tmp, &step_dir).map_err(|e| io(e, &step_dir))?;
        // Point `latest.json` at the new checkpoint (atomically), then drop older ones; a
        // failure to drop one only leaves it behind.
        write_json(dir.join("latest.json"), &format!("step-{done:08}"))?;
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if entry.file_name().to_string_lossy().starts_with("step-") && path != step_dir {
                    std::fs::remove_dir_all(&path).ok();
                }
            }
        }
        Ok(())
    }

    fn load<M: Model>(
        model: &mut M,
        config: &TrainConfig,
        dir: &Path,
    ) -> Result<(Self, Option<serde_json::Value>), PriorError> {
        let latest: String = read_json(dir.join("latest.json"))?;
        let step_dir = dir.join(latest);
        let state_path = step_dir.join("state.json");
        let invalid = |source: CheckpointError| PriorError::Checkpoint { path: state_path.clone(), source };
        let meta: CheckpointMeta = read_json(&state_path)?;
        let model_state = model.state_mut();
        let ids: Vec<ParamId> = model_state.params.ids().collect();
        load_params_into(step_dir.join("params.safetensors"), model_state.params, &ids)?;
        if let Some(average) = model_state.average {
            average.load(&step_dir.join("average.safetensors"))?;
        }
        let mut state = Self::new(config);
        let saved = load_params(step_dir.join("optimizer.safetensors"))?;
        let buffers = saved
            .ids()
            .map(|id| {
                (saved.name(id).to_owned(), (0..saved.value(id).ncols()).map(|j| saved.value(id)[(0, j)]).collect())
            })
            .collect();
        state
            .step
            .optimizer
            .load_state(model_state.params, &OptimizerState { step: meta.optimizer_step, buffers })
            .map_err(|e| invalid(e.into()))?;
        let seed: [u8; 32] =
            meta.rng_seed.as_slice().try_into().map_err(|_| invalid(CheckpointError::RngSeed(meta.rng_seed.len())))?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(meta.rng_stream);
        rng.set_word_pos(meta.rng_word_pos.parse().map_err(|e| invalid(CheckpointError::RngPosition(e)))?);
        state.rng = rng;
        state.step.done = meta.step;
        state.step.last_finite_loss = meta.last_finite_loss;
        state.order = meta.order;
        state.pos = meta.pos;
        state.history = meta.history;
        Ok((state, meta.observer))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct CheckpointMeta {
    step: usize,
    optimizer_step: u64,
    rng_seed: Vec<u8>,
    rng_stream: u64,
    /// `u128` as a decimal string (JSON numbers cannot hold it).
    rng_word_pos: String,
    last_finite_loss: Option<f64>,
    order: Vec<usize>,
    pos: usize,
    history: History,
    /// The observer's record at this checkpoint ([`TrainObserver::checkpoint_state`]).
    #[serde(default)]
    observer: Option<serde_json::Value>,
}

fn run<M: Model>(
    model: &mut M,
    mut data: DataSource<'_>,
    config: &TrainConfig,
    mut state: TrainState,
    observer: &mut dyn TrainObserver<M>,
) -> Result<History, TrainError> {
    let dim = model.dim();
    if let DataSource::Fixed(x) = &data {
        if x.nrows() == 0 {
            return Err(TrainError::Empty);
        }
        if x.ncols() != dim {
            return Err(TrainError::Shape { expected: dim, got: x.ncols() });
        }
    }
    observer.on_event(&TrainEvent::Started { done: state.step.done, steps: config.steps }, model);
    let start = Instant::now();
    let mut batch = Mat::<f64>::zeros(0, 0);
    while state.step.done < config.steps {
        let raw = match &mut data {
            DataSource::Fixed(x) => {
                next_batch(x.as_ref(), config.batch_size, &mut state.order, &mut state.pos, &mut state.rng, &mut batch);
                batch.as_ref()
            }
            DataSource::Generator(generate) => {
                batch = generate(config.batch_size, &mut state.rng);
                if batch.ncols() != dim {
                    return Err(TrainError::Shape { expected: dim, got: batch.ncols() });
                }
                batch.as_ref()
            }
        };
        let outcome = match state.step.run(model, raw, &mut state.rng) {
            Ok(outcome) => outcome,
            Err(e) => {
                if let TrainError::Diverged { step, cause, last_finite_loss } = e {
                    observer.on_event(&TrainEvent::Diverged { step, cause, last_finite_loss }, model);
                }
                return Err(e);
            }
        };
        state.history.losses.push(outcome.loss);
        let done = state.step.done;
        if config.eigen_interval > 0 && (done % config.eigen_interval == 0 || done == config.steps) {
            if let Some(eigenvalues) = model.prior_eigenvalues() {
                observer.on_event(&TrainEvent::Eigenvalues { step: done, eigenvalues: &eigenvalues }, model);
                state.history.eigen_steps.push(done);
                state.history.eigenvalues.push(eigenvalues.current);
                state.history.ema_eigenvalues.push(eigenvalues.average);
            }
        }
        observer.on_event(&TrainEvent::Step { step: done, loss: outcome.loss }, model);
        if let Some(ck) = &config.checkpoint {
            if done % ck.interval.max(1) == 0 || done == config.steps {
                state.save(model, &ck.dir, observer.checkpoint_state())?;
                observer.on_event(&TrainEvent::Checkpoint { step: done, dir: &ck.dir }, model);
            }
        }
    }
    state.history.seconds = start.elapsed().as_secs_f64();
    Ok(state.history)
}

/// Copy the next `batch_size` rows of `x` (in a shuffled order, reshuffled per epoch).
fn next_batch(
    x: MatRef<'_, f64>,
    batch_size: usize,
    order: &mut Vec<usize>,
    pos: &mut usize,
    rng: &mut ChaCha8Rng,
    out: &mut Mat<f64>,
) {
    let n = x.nrows();
    let b = batch_size.min(n);
    if out.nrows() != b || out.ncols() != x.ncols() {
        *out = Mat::zeros(b, x.ncols());
    }
    for r in 0..b {
        if *pos >= order.len() {
            order.clear();
            order.extend(0..n);
            order.shuffle(rng);
            *pos = 0;
        }
        let i = order[*pos];
        *pos += 1;
        for j in 0..x.ncols() {
            out[(r, j)] = x[(i, j)];
        }
    }
}
