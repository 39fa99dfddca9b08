//! Training: mini-batches from a fixed data matrix or fresh batches from a generator, an
//! optimiser, an exponential moving average of the prior, the eigenvalue trajectory,
//! divergence detection, and atomic checkpoints that resume bit-identically.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use autodiff_lite::{Adam, AdamConfig, Optimizer, OptimizerState, Sgd, SgdConfig, Tape, WeightDecay};
use faer::{Mat, MatRef};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::PriorError;
use crate::model::Model;
use autodiff_lite::{ParamId, ParamStore};
use flow_core::io::{load_params, load_params_into, read_json, save_params, write_json};

/// Which optimiser the trainer uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Adam with PyTorch's defaults (betas 0.9, 0.999; eps 1e-8).
    Adam,
    /// SGD with the given momentum.
    Sgd {
        /// Momentum factor.
        momentum: f64,
    },
}

/// How training reports progress.
#[derive(Debug, Clone, Default)]
pub enum Progress {
    /// Nothing is printed.
    #[default]
    Hidden,
    /// A progress bar on stderr with this label; hidden when stderr is not a terminal or the
    /// `CI` environment variable is set.
    Bar(String),
    /// Drive a bar the caller made (e.g. one line of an `indicatif::MultiProgress`).
    External(ProgressBar),
}

/// Where and how often checkpoints are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointConfig {
    /// The checkpoint directory (created if needed).
    pub dir: PathBuf,
    /// Write a checkpoint every this many steps (and at the end).
    pub interval: usize,
}

/// The training configuration.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Number of optimiser steps.
    pub steps: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Weight decay (coupled L2 as `torch.optim.Adam`, or decoupled as AdamW).
    pub weight_decay: WeightDecay,
    /// Clip the gradient norm to this value, if set.
    pub grad_clip: Option<f64>,
    /// Seed of the batch order and the noise.
    pub seed: u64,
    /// Steps between progress updates.
    pub log_interval: usize,
    /// Steps between records of the prior's eigenvalues (0: never).
    pub eigen_interval: usize,
    /// Decay of the exponential moving average of the prior's parameters.
    pub ema_decay: f64,
    /// Checkpointing, if wanted.
    pub checkpoint: Option<CheckpointConfig>,
    /// Progress reporting.
    pub progress: Progress,
}

impl TrainConfig {
    /// The paper's fig1 setting: Adam lr 1e-3, batch 128 of fresh samples, 10k steps, no
    /// weight decay; EMA decay 0.999; eigenvalues every 50 steps.
    pub fn paper_fig1() -> Self {
        Self {
            steps: 10_000,
            batch_size: 128,
            lr: 1e-3,
            optimizer: OptimizerKind::Adam,
            weight_decay: WeightDecay::None,
            grad_clip: None,
            seed: 0,
            log_interval: 100,
            eigen_interval: 50,
            ema_decay: 0.999,
            checkpoint: None,
            progress: Progress::Hidden,
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
            log_interval: 10,
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

/// Why training stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A non-finite loss or gradient.
    #[error("training diverged at step {step}: non-finite {what} (last finite loss: {last_finite_loss:?})")]
    Diverged {
        /// The step (0-based) that produced it.
        step: usize,
        /// `"loss"` or `"gradient"`.
        what: &'static str,
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
    /// The data matrix is empty.
    #[error("no training data")]
    Empty,
    /// The model could not evaluate the loss, or a checkpoint could not be written or read.
    #[error(transparent)]
    Model(#[from] PriorError),
}

/// Train `model` for `config.steps` steps from scratch.
///
/// # Errors
/// [`TrainError::Diverged`] on a non-finite loss or gradient (the last checkpoint is left
/// intact), or a data, model or checkpoint error.
pub fn train<M: Model>(model: &mut M, data: DataSource<'_>, config: &TrainConfig) -> Result<History, TrainError> {
    let state = TrainState::new(model, config);
    run(model, data, config, state, &mut |_, _| {})
}

/// Train as [`train`] does, calling `observer(step, &model)` after every optimiser step
/// (`step` counts the steps done, `1..=config.steps`, and the moving average is already
/// updated). The observer only reads the model, so the run is bit-identical to [`train`]'s;
/// it is how one long run is read at checkpoints (e.g. the spectrum at 1k, 3k, 10k and 30k
/// steps):
///
/// ```
/// use manifold_prior::{DataSource, ReadoffConfig, TrainConfig, paper_fig1_spread, train_with_observer};
/// # let mut sine = |n: usize, rng: &mut rand_chacha::ChaCha8Rng| {
/// #     use rand::RngExt;
/// #     let t: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
/// #     faer::Mat::from_fn(n, 2, |i, j| if j == 0 { t[i] } else { (2.0 * t[i]).sin() })
/// # };
/// let mut model = paper_fig1_spread(0).unwrap();
/// let eval = faer::Mat::from_fn(200, 2, |i, j| {
///     let t = -2.0 + 4.0 * i as f64 / 199.0;
///     if j == 0 { t } else { (2.0 * t).sin() }
/// });
/// let mut read = Vec::new();
/// let config = TrainConfig::paper_fig1().with_steps(30);
/// train_with_observer(&mut model, DataSource::Generator(&mut sine), &config, &mut |step, m| {
///     if step % 10 == 0 {
///         read.push((step, m.intrinsic_dimension(eval.as_ref(), ReadoffConfig::default())));
///     }
/// })
/// .unwrap();
/// assert_eq!(read.iter().map(|r| r.0).collect::<Vec<_>>(), vec![10, 20, 30]);
/// ```
///
/// # Errors
/// As [`train`].
pub fn train_with_observer<M: Model>(
    model: &mut M,
    data: DataSource<'_>,
    config: &TrainConfig,
    observer: &mut dyn FnMut(usize, &M),
) -> Result<History, TrainError> {
    let state = TrainState::new(model, config);
    run(model, data, config, state, observer)
}

/// Continue a run from the latest checkpoint in `config.checkpoint.dir` up to `config.steps`;
/// with the same configuration and data this is bit-identical to an uninterrupted run.
///
/// # Errors
/// As [`train`], plus [`PriorError::Io`]/[`PriorError::Format`] for a missing or corrupted
/// checkpoint.
pub fn resume<M: Model>(model: &mut M, data: DataSource<'_>, config: &TrainConfig) -> Result<History, TrainError> {
    let dir = config
        .checkpoint
        .as_ref()
        .map(|c| c.dir.clone())
        .ok_or_else(|| PriorError::Config("resume needs a checkpoint directory".into()))?;
    let state = TrainState::load(model, config, &dir)?;
    run(model, data, config, state, &mut |_, _| {})
}

/// The optimiser a [`TrainConfig`] asks for.
pub(crate) fn make_optimizer(config: &TrainConfig) -> Box<dyn Optimizer> {
    match config.optimizer {
        OptimizerKind::Adam => Box::new(Adam::new(AdamConfig {
            lr: config.lr,
            weight_decay: config.weight_decay,
            ..AdamConfig::default()
        })),
        OptimizerKind::Sgd { momentum } => {
            let weight_decay = match config.weight_decay {
                WeightDecay::L2(w) => w,
                _ => 0.0,
            };
            Box::new(Sgd::new(SgdConfig { lr: config.lr, momentum, weight_decay, ..SgdConfig::default() }))
        }
    }
}

struct TrainState {
    step: usize,
    rng: ChaCha8Rng,
    optimizer: Box<dyn Optimizer>,
    history: History,
    order: Vec<usize>,
    pos: usize,
}

impl TrainState {
    fn new<M: Model>(model: &M, config: &TrainConfig) -> Self {
        let _ = model;
        Self {
            step: 0,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            optimizer: make_optimizer(config),
            history: History::default(),
            order: Vec::new(),
            pos: 0,
        }
    }

    fn save<M: Model>(&self, model: &mut M, dir: &Path) -> Result<(), PriorError> {
        let io = |source, path: &Path| PriorError::Io { path: path.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
        let step_dir = dir.join(format!("step-{:08}", self.step));
        let tmp = dir.join(format!("step-{:08}.partial", self.step));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| io(e, &tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| io(e, &tmp))?;
        let ids: Vec<ParamId> = model.store().ids().collect();
        save_params(tmp.join("params.safetensors"), model.store(), &ids)?;
        if let Some(ema) = model.ema_store() {
            save_params(tmp.join("ema.safetensors"), ema, &ids)?;
        }
        // Optimiser buffers as 1 x n rows of a scratch store, named "<param>.<buffer>".
        let opt = self.optimizer.state(model.store());
        let mut buffers = ParamStore::new();
        for (name, v) in &opt.buffers {
            buffers.add(name.clone(), Mat::from_fn(1, v.len(), |_, j| v[j]));
        }
        let buffer_ids: Vec<ParamId> = buffers.ids().collect();
        save_params(tmp.join("optimizer.safetensors"), &buffers, &buffer_ids)?;
        let meta = CheckpointMeta {
            step: self.step,
            optimizer_step: opt.step,
            rng_seed: self.rng.get_seed().to_vec(),
            rng_stream: self.rng.get_stream(),
            rng_word_pos: self.rng.get_word_pos().to_string(),
            order: self.order.clone(),
            pos: self.pos,
            history: self.history.clone(),
        };
        write_json(tmp.join("state.json"), &meta)?;
        if step_dir.exists() {
            std::fs::remove_dir_all(&step_dir).map_err(|e| io(e, &step_dir))?;
        }
        std::fs::rename(&tmp, &step_dir).map_err(|e| io(e, &step_dir))?;
        // Point `latest.json` at the new checkpoint (atomically), then drop older ones.
        write_json(dir.join("latest.json"), &format!("step-{:08}", self.step))?;
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with("step-") && path != step_dir {
                    let _ = std::fs::remove_dir_all(&path);
                }
            }
        }
        Ok(())
    }

    fn load<M: Model>(model: &mut M, config: &TrainConfig, dir: &Path) -> Result<Self, PriorError> {
        let latest: String = read_json(dir.join("latest.json"))?;
        let step_dir = dir.join(latest);
        let state_path = step_dir.join("state.json");
        let format = |message: String| PriorError::Format { path: state_path.clone(), message };
        let meta: CheckpointMeta = read_json(&state_path)?;
        let ids: Vec<ParamId> = model.store().ids().collect();
        load_params_into(step_dir.join("params.safetensors"), model.store_mut(), &ids)?;
        if let Some((_, ema)) = model.split_ema() {
            load_params_into(step_dir.join("ema.safetensors"), ema, &ids)?;
        }
        let mut state = Self::new(model, config);
        let saved = load_params(step_dir.join("optimizer.safetensors"))?;
        let buffers = saved
            .ids()
            .map(|id| {
                (saved.name(id).to_owned(), (0..saved.value(id).ncols()).map(|j| saved.value(id)[(0, j)]).collect())
            })
            .collect();
        state
            .optimizer
            .load_state(model.store(), &OptimizerState { step: meta.optimizer_step, buffers })
            .map_err(format)?;
        let seed: [u8; 32] =
            meta.rng_seed.as_slice().try_into().map_err(|_| format("rng seed is not 32 bytes".into()))?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(meta.rng_stream);
        rng.set_word_pos(meta.rng_word_pos.parse().map_err(|_| format("bad rng position".into()))?);
        state.rng = rng;
        state.step = meta.step;
        state.order = meta.order;
        state.pos = meta.pos;
        state.history = meta.history;
        Ok(state)
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
    order: Vec<usize>,
    pos: usize,
    history: History,
}

fn progress_bar(progress: &Progress, steps: usize) -> ProgressBar {
    match progress {
        Progress::Hidden => ProgressBar::hidden(),
        Progress::External(bar) => bar.clone(),
        Progress::Bar(label) => {
            if std::env::var_os("CI").is_some() || !std::io::stderr().is_terminal() {
                return ProgressBar::hidden();
            }
            let bar = ProgressBar::new(steps as u64);
            let style = ProgressStyle::with_template(
                "{prefix:>14} {bar:30.cyan/blue} {pos:>6}/{len:6} {per_sec:>12} loss {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(label.clone());
            bar
        }
    }
}

fn run<M: Model>(
    model: &mut M,
    mut data: DataSource<'_>,
    config: &TrainConfig,
    mut state: TrainState,
    observer: &mut dyn FnMut(usize, &M),
) -> Result<History, TrainError> {
    let dim = model.scaler().mean.len();
    if let DataSource::Fixed(x) = &data {
        if x.nrows() == 0 {
            return Err(TrainError::Empty);
        }
        if x.ncols() != dim {
            return Err(TrainError::Shape { expected: dim, got: x.ncols() });
        }
    }
    let tracked = model.tracked_params();
    let bar = progress_bar(&config.progress, config.steps);
    bar.set_position(state.step as u64);
    let start = Instant::now();
    let mut tape = Tape::new();
    let mut batch = Mat::<f64>::zeros(0, 0);
    let mut last_finite = state.history.losses.iter().rev().copied().find(|l| l.is_finite());
    while state.step < config.steps {
        let step = state.step;
        // The batch, standardised.
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
        let input = model.scaler().transform(raw);

        tape.clear();
        let loss_var = model.record_loss(&mut tape, input.as_ref(), &mut state.rng)?;
        let loss = tape.scalar(loss_var);
        if !loss.is_finite() {
            bar.abandon();
            return Err(TrainError::Diverged { step, what: "loss", last_finite_loss: last_finite });
        }
        tape.backward(loss_var, model.store_mut());
        if !model.store().grads_are_finite() {
            bar.abandon();
            return Err(TrainError::Diverged { step, what: "gradient", last_finite_loss: Some(loss) });
        }
        if let Some(max_norm) = config.grad_clip {
            model.store_mut().clip_grad_norm(max_norm);
        }
        state.optimizer.step(model.store_mut());
        model.store_mut().zero_grads();
        update_ema(model, &tracked, config.ema_decay);
        last_finite = Some(loss);
        state.history.losses.push(loss);
        state.step += 1;

        if config.eigen_interval > 0 && (state.step % config.eigen_interval == 0 || state.step == config.steps) {
            record_eigenvalues(model, &mut state.history, state.step);
        }
        observer(state.step, model);
        if state.step % config.log_interval.max(1) == 0 || state.step == config.steps {
            bar.set_position(state.step as u64);
            bar.set_message(format!("{loss:.4}"));
        }
        if let Some(ck) = &config.checkpoint {
            if state.step % ck.interval.max(1) == 0 || state.step == config.steps {
                state.save(model, &ck.dir)?;
            }
        }
    }
    bar.finish_and_clear();
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

/// `ema <- decay ema + (1 - decay) current` for the tracked parameters.
pub(crate) fn update_ema<M: Model>(model: &mut M, tracked: &[autodiff_lite::ParamId], decay: f64) {
    let Some((store, ema)) = model.split_ema() else { return };
    for &id in tracked {
        let cur = store.value(id);
        let e = ema.value_mut(id);
        for j in 0..cur.ncols() {
            for i in 0..cur.nrows() {
                e[(i, j)] = decay * e[(i, j)] + (1.0 - decay) * cur[(i, j)];
            }
        }
    }
}

fn record_eigenvalues<M: Model>(model: &M, history: &mut History, step: usize) {
    let Some(raw) = model.prior_eigenvalues(model.store()) else { return };
    let ema_values = model.ema_store().and_then(|e| model.prior_eigenvalues(e)).unwrap_or_default();
    history.eigen_steps.push(step);
    history.eigenvalues.push(raw);
    history.ema_eigenvalues.push(ema_values);
}
