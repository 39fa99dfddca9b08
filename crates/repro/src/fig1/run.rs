//! Training side of fig1: the baseline and the spread flow on the sine curve (method.md
//! section 3), trained in parallel (one seed per job), then measured and handed to the
//! presentation layer.

use std::sync::Mutex;

use anyhow::Context as _;
use datasets::Manifold;
use faer::Mat;
use indicatif::ProgressBar;
use manifold_prior::{
    DataSource, History, ParamSource, ReadoffConfig, SpreadFlow, StandardFlow, TrainConfig, paper_fig1_baseline,
    paper_fig1_spread,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{EigenTrajectory, Fig1Measurements, Fig1Panels, SampleQuality, SpreadSeed, sine_curve, write_outputs};
use crate::checkpoint::{self, RunCheckpoints};
use crate::progress::{self, BarObserver};
use crate::{Report, RunContext};

/// The paper preset's number of steps.
const PRESET_STEPS: usize = 10_000;
/// Samples drawn from each trained model to measure how many land on the curve.
const N_EVAL_SAMPLES: usize = 10_000;
/// Points shown in each panel.
const N_PANEL_POINTS: usize = 2_000;
/// Data points used for the encoded-data spectrum of the read-off.
const N_READOFF: usize = 10_000;
/// The tolerance of "on the curve" (method.md: 0.05 on `|x2 - sin(2 x1)|`).
const ON_CURVE: f64 = 0.05;
/// Seeds of the evaluation streams, offset so they never coincide with a training seed.
const EVAL_SEED: u64 = 1_000_000;
/// Steps between updates of a progress bar.
const BAR_EVERY: usize = 100;

enum Job {
    Baseline(u64),
    Spread(u64),
}

enum Trained {
    Baseline(Box<StandardFlow>, History),
    Spread(u64, Box<SpreadFlow>, History),
}

/// Run fig1: train, measure, draw, report.
pub fn run(ctx: &RunContext) -> anyhow::Result<Report> {
    let steps = ctx.steps.unwrap_or(PRESET_STEPS);
    let mut seeds = ctx.seeds();
    if !seeds.contains(&ctx.seed) {
        seeds.push(ctx.seed);
    }
    let mut jobs = vec![Job::Baseline(ctx.seed)];
    jobs.extend(seeds.iter().map(|&s| Job::Spread(s)));

    let job_name = |job: &Job| match *job {
        Job::Baseline(s) => format!("baseline-s{s}"),
        Job::Spread(s) => format!("spread-s{s}"),
    };
    let config_of = |seed: u64| TrainConfig::paper_fig1().with_seed(seed).with_steps(steps);
    let settings: serde_json::Map<String, serde_json::Value> = jobs
        .iter()
        .map(|job| {
            let seed = match *job {
                Job::Baseline(s) | Job::Spread(s) => s,
            };
            Ok((job_name(job), serde_json::to_value(config_of(seed))?))
        })
        .collect::<serde_json::Result<_>>()?;
    let checkpoints = RunCheckpoints::open(ctx, serde_json::json!({"experiment": ctx.name, "jobs": settings}))?;

    let multi = progress::multi(ctx.verbosity);
    let bars = Mutex::new(multi);
    let trained: Vec<Trained> = jobs
        .into_par_iter()
        .map(|job| {
            let (label, seed) = match job {
                Job::Baseline(s) => (format!("baseline s{s}"), s),
                Job::Spread(s) => (format!("spread s{s}"), s),
            };
            let bar = bars.lock().map(|m| progress::add_bar(&m, steps as u64, &label)).ok();
            let mut observer = BarObserver::new(bar.unwrap_or_else(ProgressBar::hidden), BAR_EVERY);
            let config = config_of(seed);
            let name = job_name(&job);
            let ck = checkpoints.as_ref();
            let mut sine = |n: usize, rng: &mut ChaCha8Rng| Manifold::SineCurve.sample(n, rng);
            Ok(match job {
                Job::Baseline(_) => {
                    let mut model = paper_fig1_baseline(seed)?;
                    let h = checkpoint::train(
                        ck,
                        &name,
                        &mut model,
                        DataSource::Generator(&mut sine),
                        &config,
                        &mut observer,
                    )
                    .with_context(|| format!("training the baseline (seed {seed})"))?;
                    Trained::Baseline(Box::new(model), h)
                }
                Job::Spread(_) => {
                    let mut model = paper_fig1_spread(seed)?;
                    let h = checkpoint::train(
                        ck,
                        &name,
                        &mut model,
                        DataSource::Generator(&mut sine),
                        &config,
                        &mut observer,
                    )
                    .with_context(|| format!("training the spread flow (seed {seed})"))?;
                    Trained::Spread(seed, Box::new(model), h)
                }
            })
        })
        .collect::<anyhow::Result<_>>()?;

    let mut eval_rng = ChaCha8Rng::seed_from_u64(EVAL_SEED + ctx.seed);
    let data = Manifold::SineCurve.sample(N_PANEL_POINTS, &mut eval_rng);
    let readoff_data = Manifold::SineCurve.sample(N_READOFF, &mut eval_rng);

    let mut baseline = None;
    let mut spread = Vec::new();
    let mut figure_run = None;
    for t in trained {
        match t {
            Trained::Baseline(model, h) => baseline = Some((model, h)),
            Trained::Spread(seed, model, h) => {
                let quality = sample_quality(&model.sample(N_EVAL_SAMPLES, EVAL_SEED + seed), &h);
                let id = model.intrinsic_dimension(readoff_data.as_ref(), ReadoffConfig::default())?;
                if seeds.iter().take(ctx.n_seeds).any(|&s| s == seed) || ctx.n_seeds == 0 {
                    spread.push(SpreadSeed {
                        seed,
                        eigenvalues: id.ema_prior_eigenvalues.clone(),
                        raw_eigenvalues: id.prior_eigenvalues.clone(),
                        id_relative: id.prior_rules.relative,
                        id_gap: id.prior_rules.log_gap,
                        id_noise: id.data_rules.noise_relative,
                        quality: quality.clone(),
                    });
                }
                if seed == ctx.seed {
                    figure_run = Some((model, h, quality, id));
                }
            }
        }
    }
    let (base_model, base_history) = baseline.context("the baseline did not train")?;
    let (spread_model, spread_history, spread_quality, id) = figure_run.context("the spread flow did not train")?;
    let base_quality = sample_quality(&base_model.sample(N_EVAL_SAMPLES, EVAL_SEED + 500 + ctx.seed), &base_history);

    let panels = Fig1Panels {
        data: data.clone(),
        reference_curve: sine_curve(-4.0, 4.0, 801),
        baseline_samples: base_model.sample(N_PANEL_POINTS, EVAL_SEED + 700 + ctx.seed),
        baseline_prior_samples: {
            let mut rng = ChaCha8Rng::seed_from_u64(EVAL_SEED + 800 + ctx.seed);
            Mat::from_fn(N_PANEL_POINTS, 2, |_, _| {
                rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng)
            })
        },
        baseline_latent: base_model.encode(data.as_ref()),
        spread_samples: spread_model.sample(N_PANEL_POINTS, EVAL_SEED + 900 + ctx.seed),
        spread_prior_samples: spread_model.sample_latent(
            N_PANEL_POINTS,
            EVAL_SEED + 1000 + ctx.seed,
            ParamSource::Average,
        ),
        spread_latent: spread_model.encode(data.as_ref()),
        eigenvalues: id.ema_prior_eigenvalues.clone(),
        baseline_on_curve: Some(base_quality.on_curve),
        spread_on_curve: Some(spread_quality.on_curve),
        on_curve_tolerance: ON_CURVE,
    };
    let trajectory = EigenTrajectory {
        steps: spread_history.eigen_steps.clone(),
        eigenvalues: spread_history.eigenvalues.clone(),
        s: spread_model.spread().spread,
        c: ReadoffConfig::default().noise_c,
    };
    let outputs = write_outputs(&ctx.out_dir, &panels, &trajectory)?;

    spread.sort_by_key(|s| s.seed);
    let measurements = Fig1Measurements { baseline: base_quality, spread, steps, preset_steps: PRESET_STEPS };
    let config = serde_json::json!({
        "data": "x1 ~ N(0, 1), x2 = sin(2 x1); fresh batch every step",
        "steps": steps,
        "batch_size": 128,
        "optimizer": "Adam lr 1e-3, no weight decay",
        "baseline": "2 affine couplings, tanh log-scales, s and t MLPs 1-24-24-24-1 LeakyReLU(0.2), prior N(0, I)",
        "spread_flow": "4 additive couplings, MLPs 1-24-24-24-1 LeakyReLU(0.2), prior N(0, A A^T), A lower triangular init I, mean 0",
        "spread": {"s": spread_model.spread().spread, "noise": "random", "placement": "latent"},
        "ema_decay": 0.999,
        "readoff": {"tau": ReadoffConfig::default().relative_tau, "c": ReadoffConfig::default().noise_c},
        "evaluation": {"samples": N_EVAL_SAMPLES, "tolerance": ON_CURVE, "readoff_points": N_READOFF},
        "default_seed": ctx.seed,
        "training_seconds": {
            "baseline": base_history.seconds,
            "spread_default_seed": spread_history.seconds,
        },
    });
    let mut report = measurements.report(config);
    report.outputs = outputs;
    Ok(report)
}

/// On-curve fraction and median distance of samples (non-finite samples count as off the
/// curve, with infinite distance), and the mean loss of the last 100 steps.
fn sample_quality(samples: &Mat<f64>, history: &History) -> SampleQuality {
    let err = Manifold::SineCurve.manifold_error(samples.as_ref()).unwrap_or_default();
    let on_curve = err.iter().filter(|&&e| e <= ON_CURVE).count() as f64 / err.len().max(1) as f64;
    let mut sorted = err.clone();
    sorted.sort_by(f64::total_cmp); // infinite distances (non-finite samples) sort last
    let median_distance = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    let tail = &history.losses[history.losses.len().saturating_sub(100)..];
    let final_loss = tail.iter().sum::<f64>() / tail.len().max(1) as f64;
    SampleQuality { on_curve, median_distance, final_loss }
}
