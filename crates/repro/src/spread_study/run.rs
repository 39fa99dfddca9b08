//! Training side of the spread study: one spread flow per grid run, trained in parallel
//! (rayon, one run per job), each read at its checkpoints by an observer of the trainer.

use std::time::Instant;

use anyhow::Context as _;
use faer::Mat;
use manifold_prior::{
    ActNormLayers, CouplingTransform, DataSource, MeanMode, Mixing, Model, ParamSource, ParamStore, ReadoffConfig,
    ScalingMode, SpreadConfig, SpreadFlow, Standardizer, TrainConfig, TrainEvent, VectorFlow, VolumeCheck, train,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::grid::{Grid, RunSpec, StudyManifold};
use crate::progress::{self, Verbosity};

/// Seed of the points the standardisation is fitted to.
const FIT_SEED: u64 = 7_000_000;
/// Seed of the fixed evaluation sets (one per manifold).
const EVAL_SEED: u64 = 8_000_000;
/// Seed offset of the samples drawn at checkpoints.
const SAMPLE_SEED: u64 = 9_000_000;
/// A sample is on the manifold when its distance is at most this, in standardised units
/// (5% of the data's root-mean-square radius).
pub const ON_MANIFOLD: f64 = 0.05;
/// Points of each run's eigenvalue trajectory (log-spaced steps, plus the checkpoints).
const TRAJECTORY_POINTS: usize = 48;

/// What a run looks like at one checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    /// Steps done.
    pub step: usize,
    /// Eigenvalues of `A A^T` (current parameters), largest first.
    pub raw_prior: Vec<f64>,
    /// Eigenvalues of `A A^T` (moving average of `A`), largest first.
    pub ema_prior: Vec<f64>,
    /// Eigenvalues of the covariance of the encoded evaluation set, largest first.
    pub data: Vec<f64>,
    /// Fraction of samples within [`ON_MANIFOLD`] of the manifold (standardised units).
    pub on_manifold: f64,
    /// Median distance of samples to the manifold (standardised units).
    pub median_distance: f64,
    /// Mean loss of the 100 steps before the checkpoint (NaN when the run diverged later and
    /// its losses were lost).
    pub loss: f64,
}

/// One training run and everything measured on it.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// What was run.
    pub spec: RunSpec,
    /// The checkpoints it reached, in order.
    pub checkpoints: Vec<Checkpoint>,
    /// `(step, raw eigenvalues, EMA eigenvalues)` of `A A^T` at log-spaced steps.
    pub trajectory: Vec<(usize, Vec<f64>, Vec<f64>)>,
    /// Wall time of the run (training and checkpoint evaluations), seconds.
    pub seconds: f64,
    /// Why the run stopped early, if it did.
    pub failure: Option<String>,
}

impl RunResult {
    /// The checkpoint at `step`, if the run reached it.
    pub fn checkpoint(&self, step: usize) -> Option<&Checkpoint> {
        self.checkpoints.iter().find(|c| c.step == step)
    }
}

/// Log-spaced steps in `[10, steps]` (rounded, deduplicated) and the checkpoints.
fn trajectory_steps(grid: &Grid) -> Vec<usize> {
    let steps = grid.steps().max(1);
    let lo = 10f64.min(steps as f64).ln();
    let hi = (steps as f64).ln();
    let mut out: Vec<usize> = (0..TRAJECTORY_POINTS)
        .map(|i| (lo + (hi - lo) * i as f64 / (TRAJECTORY_POINTS - 1) as f64).exp().round() as usize)
        .chain(grid.checkpoints.iter().copied())
        .filter(|&s| s >= 1 && s <= steps)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Everything a run needs about its manifold, computed once per manifold.
struct ManifoldData {
    manifold: StudyManifold,
    sampler: super::grid::Sampler,
    scaler: Standardizer,
    eval: Mat<f64>,
}

impl ManifoldData {
    fn new(manifold: StudyManifold, grid: &Grid) -> Self {
        let sampler = manifold.sampler();
        let index = manifold.index();
        let fit = sampler.sample(grid.n_fit, &mut ChaCha8Rng::seed_from_u64(FIT_SEED + index));
        let scaler = Standardizer::fit(fit.as_ref(), ScalingMode::Global);
        let eval = sampler.sample(grid.n_eval, &mut ChaCha8Rng::seed_from_u64(EVAL_SEED + index));
        Self { manifold, sampler, scaler, eval }
    }

    /// On-manifold fraction and median distance of `samples`, in standardised units.
    fn quality(&self, samples: &Mat<f64>) -> (f64, f64) {
        let scale = self.scaler.scale.first().copied().unwrap_or(1.0);
        let mut d: Vec<f64> = self.sampler.distance(samples.as_ref()).into_iter().map(|x| x / scale).collect();
        let on = d.iter().filter(|&&x| x <= ON_MANIFOLD).count() as f64 / d.len().max(1) as f64;
        d.sort_by(f64::total_cmp);
        (on, d.get(d.len() / 2).copied().unwrap_or(f64::NAN))
    }
}

/// Train one run and read it at every checkpoint.
fn run_one(spec: RunSpec, grid: &Grid, md: &ManifoldData, bar: &indicatif::ProgressBar) -> anyhow::Result<RunResult> {
    let start = Instant::now();
    let setting = spec.setting;
    let dim = setting.manifold.dim();
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut store = ParamStore::new();
    let c = setting.conditioner;
    let architecture = VectorFlow {
        couplings: grid.n_layers,
        transform: CouplingTransform::Additive,
        hidden: c.hidden().to_vec(),
        activation: c.activation(),
        mixing: Mixing::Alternate,
        actnorm: ActNormLayers::None,
    };
    let flow = architecture.build(&mut store, dim, &mut rng).context("building the flow")?;
    let spread = SpreadConfig { spread: setting.s, placement: setting.placement, ..SpreadConfig::paper() };
    let mut model = SpreadFlow::new(store, flow, MeanMode::Fixed, spread, md.scaler.clone(), VolumeCheck::Require)?;
    let config =
        TrainConfig { eigen_interval: 0, ..TrainConfig::paper_fig1().with_seed(spec.seed).with_steps(grid.steps()) };

    let traj_steps = trajectory_steps(grid);
    let mut checkpoints = Vec::new();
    let mut trajectory = Vec::new();
    let mut eval_error = None;
    let mut sampler = |n: usize, rng: &mut ChaCha8Rng| md.sampler.sample(n, rng);
    let mut observer = |event: &TrainEvent<'_>, m: &SpreadFlow| {
        let TrainEvent::Step { step, .. } = *event else { return };
        if step % 100 == 0 {
            bar.inc(100);
        }
        if traj_steps.binary_search(&step).is_ok() {
            let spectra = m.prior_eigenvalues();
            let (raw, ema) = spectra.map(|e| (e.current, e.average)).unwrap_or_default();
            trajectory.push((step, raw, ema));
        }
        if grid.checkpoints.contains(&step) {
            match read_checkpoint(m, md, spec, step) {
                Ok(c) => checkpoints.push(c),
                Err(e) => eval_error = Some(format!("step {step}: {e}")),
            }
        }
    };
    let outcome = train(&mut model, DataSource::Generator(&mut sampler), &config, &mut observer);
    let failure = match outcome {
        Ok(history) => {
            for c in &mut checkpoints {
                let tail = &history.losses[c.step.saturating_sub(100)..c.step.min(history.losses.len())];
                c.loss = tail.iter().sum::<f64>() / tail.len().max(1) as f64;
            }
            eval_error
        }
        Err(e) => Some(e.to_string()),
    };
    bar.inc((grid.steps() % 100) as u64);
    Ok(RunResult { spec, checkpoints, trajectory, seconds: start.elapsed().as_secs_f64(), failure })
}

/// Spectra, read-off inputs and sample quality of the model at a checkpoint.
fn read_checkpoint(m: &SpreadFlow, md: &ManifoldData, spec: RunSpec, step: usize) -> anyhow::Result<Checkpoint> {
    let id = m.intrinsic_dimension(md.eval.as_ref(), ReadoffConfig::default())?;
    let sample_seed = SAMPLE_SEED + spec.seed * 1_000_003 + step as u64;
    let samples = m.sample_with(md.eval.nrows(), sample_seed, ParamSource::Current);
    let (on_manifold, median_distance) = md.quality(&samples);
    Ok(Checkpoint {
        step,
        raw_prior: id.prior_eigenvalues,
        ema_prior: id.ema_prior_eigenvalues,
        data: id.data_eigenvalues,
        on_manifold,
        median_distance,
        loss: f64::NAN,
    })
}

/// Train every run of `grid` in parallel and read each at its checkpoints. Runs that
/// diverge keep the checkpoints they reached and say why in [`RunResult::failure`].
///
/// # Errors
/// When a model cannot be built (a bug, not a data-dependent failure).
pub fn run_grid(grid: &Grid, verbosity: Verbosity) -> anyhow::Result<Vec<RunResult>> {
    let data: Vec<ManifoldData> = grid.manifolds.iter().map(|&m| ManifoldData::new(m, grid)).collect();
    let mut runs = grid.runs();
    // The costliest runs first, so the last jobs are short (wide conditioners, high D).
    let cost = |r: &RunSpec| r.setting.manifold.dim() * r.setting.conditioner.hidden().iter().sum::<usize>();
    runs.sort_by_key(|r| std::cmp::Reverse(cost(r)));
    let total = (runs.len() * grid.steps()) as u64;
    let bar = progress::bar(total, "spread-study", verbosity);
    let mut results: Vec<RunResult> = runs
        .into_par_iter()
        .map(|spec| {
            let md = data.iter().find(|d| d.manifold == spec.setting.manifold).context("manifold data")?;
            run_one(spec, grid, md, &bar)
        })
        .collect::<anyhow::Result<_>>()?;
    bar.finish_and_clear();
    // Back to the grid's order.
    let order = grid.runs();
    results.sort_by_key(|r| order.iter().position(|o| *o == r.spec).unwrap_or(usize::MAX));
    Ok(results)
}
