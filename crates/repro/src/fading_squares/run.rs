//! Training side of fading-squares: profile a few steps of the exact model, train it (one
//! seed, fresh batches of 100 images per step), then read off the spectrum, embed fresh
//! images, decode samples, and hand everything to the presentation layer.

use std::time::Instant;

use anyhow::Context as _;
use datasets::Manifold;
use faer::Mat;
use manifold_prior::{
    DataSource, Model as _, ReadoffConfig, SpreadNoise, TrainConfig, TrainEvent, TrainObserver as _,
    paper_fading_squares, profile_steps,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::targets::{self, AUTHORS_LOSSES, JAX_LOSSES, Measurements, Readoff, SampleSummary, Timing, spearman};
use super::{EigenTrajectory, Embedding, FadingSquaresFigures, LossReference, Spectra, write_outputs};
use crate::checkpoint::{self, RunCheckpoints};
use crate::progress::{self, BarObserver};
use crate::{Report, RunContext};

/// Steps of the per-phase profile run before training (after one warm-up step).
const PROFILE_STEPS: usize = 20;
/// Fresh images encoded for the spectrum of `cov(g(x))` (read-off rule 3).
const N_READOFF: usize = 1000;
/// Fresh images of the 1-D embedding figure.
const N_EMBEDDING: usize = 200;
/// Samples decoded to measure their distance to the manifold (the first 100 form the grid).
const N_SAMPLES: usize = 1000;
/// Leading eigenvalues kept per record of the trajectory.
const TRAJECTORY_TOP: usize = 10;
/// Seeds of the evaluation streams, offset so they never coincide with a training seed.
const EVAL_SEED: u64 = 1_000_000;
/// Steps between updates of the progress bar.
const BAR_EVERY: usize = 10;

/// Run fading-squares with the spread noise of `ctx` (the released code's constant shift by
/// default: it compares with the authors' printed losses; `random`, the method as intended;
/// `expected`, no Monte-Carlo noise in the gradient).
pub fn run(ctx: &RunContext) -> anyhow::Result<Report> {
    run_with(ctx, ctx.spread_noise.unwrap_or(SpreadNoise::ConstShift))
}

fn fading_squares(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
    Manifold::FadingSquares.sample_with_params(n, rng).0
}

fn run_with(ctx: &RunContext, noise: SpreadNoise) -> anyhow::Result<Report> {
    let preset = TrainConfig::paper_fading_squares();
    let preset_steps = preset.steps;
    let steps = ctx.steps.unwrap_or(preset_steps);
    let config = preset.with_seed(ctx.seed).with_steps(steps);
    let readoff_config = ReadoffConfig::default();
    let threads = rayon::current_num_threads();

    // The profile runs on its own instance (same seed) so the training run is untouched.
    let profile = {
        let mut probe = paper_fading_squares(ctx.seed, noise)?;
        profile_steps(&mut probe, &mut fading_squares, &config, PROFILE_STEPS).context("profiling the training step")?
    };

    let job = "fading-squares";
    let checkpoints = RunCheckpoints::open(
        ctx,
        serde_json::json!({"experiment": ctx.name, "spread_noise": noise.name(), "jobs": {job: config}}),
    )?;
    let mut model = paper_fading_squares(ctx.seed, noise)?;
    let n_params = model.store().n_scalars();
    let n_prior_params = n_params - model.flow().n_params(model.store());
    let initial = model.prior_eigenvalues().context("the prior has no spectrum")?.current;

    let bar = progress::bar(steps as u64, "fading squares", ctx.verbosity);
    let mut bar_observer = BarObserver::new(bar.clone(), BAR_EVERY);
    let mut stamps = Vec::with_capacity(steps + 1);
    stamps.push(Instant::now());
    let mut observer = |event: &TrainEvent<'_>, m: &manifold_prior::SpreadFlow| {
        bar_observer.on_event(event, m);
        if let TrainEvent::Step { .. } = event {
            stamps.push(Instant::now());
        }
    };
    let data = DataSource::Generator(&mut fading_squares);
    let history = checkpoint::train(checkpoints.as_ref(), job, &mut model, data, &config, &mut observer)
        .with_context(|| format!("training the fading-squares model (seed {}, {steps} steps)", ctx.seed))?;
    bar.finish_and_clear();
    let step_ms: Vec<f64> = stamps.windows(2).map(|w| (w[1] - w[0]).as_secs_f64() * 1e3).collect();
    let median_step_ms = intrinsic_dim::median(&step_ms);

    // Read-off, embedding and samples on fresh data from a stream of their own.
    let mut eval_rng = ChaCha8Rng::seed_from_u64(EVAL_SEED + ctx.seed);
    let readoff_data = fading_squares(N_READOFF, &mut eval_rng);
    let id = model.intrinsic_dimension(readoff_data.as_ref(), readoff_config)?;
    let (images, labels) = Manifold::FadingSquares.sample_with_params(N_EMBEDDING, &mut eval_rng);
    let brightness = labels.context("fading squares carry their brightness")?;
    let projected = model.project(images.as_ref(), 1)?;
    let projection: Vec<f64> = (0..projected.nrows()).map(|i| projected[(i, 0)]).collect();
    let rho = spearman(&projection, &brightness);
    let samples = model.sample(N_SAMPLES, EVAL_SEED + 100 + ctx.seed);
    let sample_summary = summarise_samples(&samples);

    let trajectory = trajectory(&initial, &history);
    let references = match noise {
        SpreadNoise::ConstShift => vec![
            LossReference { label: "authors (printed)".into(), points: AUTHORS_LOSSES.to_vec() },
            LossReference { label: "our JAX (printed)".into(), points: JAX_LOSSES.to_vec() },
        ],
        SpreadNoise::Random | SpreadNoise::Expected => Vec::new(),
    };
    let s = model.spread().spread;
    let dim = model.dim() as f64;
    let figures = FadingSquaresFigures {
        run_label: format!("{} noise, seed {}, {steps} steps", noise.name(), ctx.seed),
        losses: history.losses.clone(),
        loss_floor: 0.5 * dim * (2.0 * std::f64::consts::PI * s * s).ln(),
        plateau_target: targets::plateau_target(noise),
        references,
        samples: samples.subrows(0, super::GRID * super::GRID).to_owned(),
        spectra: Spectra {
            ema: id.ema_prior_eigenvalues.clone(),
            raw: id.prior_eigenvalues.clone(),
            data: id.data_eigenvalues.clone(),
        },
        trajectory,
        embedding: Embedding { images, brightness, projection },
        spearman: rho,
        s,
        tau: readoff_config.relative_tau,
        c: readoff_config.noise_c,
    };
    let outputs = write_outputs(&ctx.out_dir, &figures)?;

    let top = |v: &[f64]| v.iter().take(5).copied().collect::<Vec<f64>>();
    let measurements = Measurements {
        noise,
        n_params,
        n_prior_params,
        steps,
        preset_steps,
        losses: history.losses.clone(),
        readoff: Readoff {
            ema: id.prior_rules,
            raw: id.raw_prior_rules,
            data: id.data_rules,
            ema_top: top(&id.ema_prior_eigenvalues),
            raw_top: top(&id.prior_eigenvalues),
            data_top: top(&id.data_eigenvalues),
            tau: readoff_config.relative_tau,
            c: readoff_config.noise_c,
            n_data: N_READOFF,
        },
        spearman: rho,
        n_embedding: N_EMBEDDING,
        timing: Timing {
            train_seconds: history.seconds,
            median_step_ms,
            profile,
            threads,
            trained_steps: step_ms.len(),
        },
        samples: sample_summary,
    };
    let run_config = serde_json::json!({
        "n_params": n_params,
        "data": "32x32 images, 0 except a 6x6 square at rows/cols 13..18 of brightness v ~ U(0, 1); fresh batch every step",
        "model": "squeeze, 3 conv couplings (4 ch) with permutations, squeeze, 3 conv couplings (16 ch), \
                  2 MLP affine couplings 512-24-24-24-512 (mean-centred log-scales); prior N(0, A A^T), \
                  A dense 1024x1024 masked lower triangular, init I",
        "noise": noise.name(),
        "spread_s": s,
        "steps": steps,
        "preset_steps": preset_steps,
        "seed": ctx.seed,
        "batch_size": config.batch_size,
        "optimizer": "Adam lr 3e-4, coupled L2 weight decay 0.5 on all parameters",
        "ema_decay": config.ema_decay,
        "eigen_interval": config.eigen_interval,
        "readoff": {"tau": readoff_config.relative_tau, "c": readoff_config.noise_c, "images": N_READOFF},
        "embedding_images": N_EMBEDDING,
        "samples": {"n": N_SAMPLES, "params": "current (flow and A after the last step)"},
        "profile_steps": PROFILE_STEPS,
        "threads": threads,
        "training_seconds": history.seconds,
        "median_step_ms": median_step_ms,
        "profile_ms": profile,
    });
    let mut report = measurements.report(run_config);
    report.seeds = vec![ctx.seed];
    report.outputs = outputs;
    Ok(report)
}

/// The trajectory of the leading eigenvalues: the initial spectrum at step 0, then the
/// trainer's records.
fn trajectory(initial: &[f64], history: &manifold_prior::History) -> EigenTrajectory {
    let top = |v: &[f64]| v.iter().take(TRAJECTORY_TOP).copied().collect::<Vec<f64>>();
    let mut t = EigenTrajectory { steps: vec![0], raw: vec![top(initial)], ema: vec![top(initial)] };
    for ((&step, raw), ema) in history.eigen_steps.iter().zip(&history.eigenvalues).zip(&history.ema_eigenvalues) {
        t.steps.push(step);
        t.raw.push(top(raw));
        t.ema.push(top(ema));
    }
    t
}

/// Distance of each sample to the manifold and the brightness of the nearest manifold image
/// (the mean over the square's pixels, clamped to `[0, 1]`).
fn summarise_samples(samples: &Mat<f64>) -> SampleSummary {
    let dist = Manifold::FadingSquares.manifold_error(samples.as_ref()).unwrap_or_default();
    let pixels: Vec<usize> = datasets::fading_squares_pixels().collect();
    let brightness: Vec<f64> = (0..samples.nrows())
        .map(|i| (pixels.iter().map(|&j| samples[(i, j)]).sum::<f64>() / pixels.len() as f64).clamp(0.0, 1.0))
        .collect();
    // Non-finite samples have an infinite distance and count (they sort last).
    let q = |v: &[f64], q: f64| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v.get(((v.len().saturating_sub(1)) as f64 * q).round() as usize).copied().unwrap_or(f64::NAN)
    };
    SampleSummary {
        n: samples.nrows(),
        median_distance: q(&dist, 0.5),
        q90_distance: q(&dist, 0.9),
        brightness_range: (q(&brightness, 0.05), q(&brightness, 0.95)),
    }
}
