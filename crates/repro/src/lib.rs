//! The experiments of the paper, one module each, each writing figures, CSVs and a report.
//!
//! The binary (`repro`, normally run through `cargo xtask reproduce <name>`) parses the shared
//! flags ([`cli`]), looks the experiment up in [`EXPERIMENTS`] and hands a [`RunContext`] to its
//! [`RunFn`]. The experiment trains its models, fills the plain data structs of its module
//! (for example [`fig1::Fig1Panels`]), calls the module's writer and returns a
//! [`report::Report`]; [`run_experiment`] times it, stamps versions and writes `report.json` and
//! `report.md` next to the figures.

pub mod atomic;
pub mod checkpoint;
pub mod cli;
pub mod csv_out;
pub mod fading_squares;
pub mod fig1;
pub mod id_compare;
pub mod image_metrics;
pub mod plot;
pub mod progress;
pub mod real_images;
pub mod report;
pub mod spread_study;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use manifold_prior::SpreadNoise;

pub use progress::Verbosity;
pub use report::{Report, Status, Target, TargetPolicy};

/// What an experiment receives from the command line.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The experiment's command-line name (`fig1`).
    pub name: &'static str,
    /// The seed of the single-seed parts (figures, the "default seed" numbers).
    pub seed: u64,
    /// How many seeds the multi-seed targets use: seeds `seed..seed + n_seeds` (see
    /// [`RunContext::seeds`]).
    pub n_seeds: usize,
    /// Training steps override; `None` means the paper preset. A shortened run reports the
    /// targets it cannot reach as n/a.
    pub steps: Option<usize>,
    /// Where every output goes (created if missing).
    pub out_dir: PathBuf,
    /// The spread noise `--spread-noise` chose (the experiment's default when not given), for
    /// experiments that offer the choice ([`ExperimentInfo::spread_noises`]); `None` otherwise.
    pub spread_noise: Option<SpreadNoise>,
    /// Whether progress bars and chatter are shown.
    pub verbosity: Verbosity,
    /// `--checkpoint-every` and `--resume` (see [`checkpoint`]).
    pub checkpointing: checkpoint::Checkpointing,
    /// The data directory `--data` named, for experiments that read files (mnist).
    pub data: Option<PathBuf>,
    /// The experiment's named setting (`--preset`, e.g. fig1's `paper`); `None` for its
    /// default. Only experiments listed in [`cli::PRESETS`] accept one.
    pub preset: Option<String>,
}

impl RunContext {
    /// A quiet run of experiment `name` into `out_dir` with every other setting at its
    /// default: seed 0, one seed, the preset's steps, the experiment's default noise and
    /// preset, no checkpoints, no data directory. Change fields with struct update syntax:
    /// `RunContext { steps: Some(30), ..RunContext::new("fig1", dir) }`.
    pub fn new(name: &'static str, out_dir: impl Into<PathBuf>) -> Self {
        RunContext {
            name,
            seed: 0,
            n_seeds: 1,
            steps: None,
            out_dir: out_dir.into(),
            spread_noise: None,
            verbosity: Verbosity::Quiet,
            checkpointing: checkpoint::Checkpointing::default(),
            data: None,
            preset: None,
        }
    }

    /// The seeds of the multi-seed targets, `seed..seed + n_seeds` (so `--seed 100 --seeds
    /// 10` is seeds 100..109, a range disjoint from the default 0..9).
    pub fn seeds(&self) -> Vec<u64> {
        (0..self.n_seeds as u64).map(|k| self.seed.saturating_add(k)).collect()
    }

    /// A path inside the output directory.
    pub fn out(&self, file: &str) -> PathBuf {
        self.out_dir.join(file)
    }
}

/// The entry point of an implemented experiment: train, write figures and CSVs into
/// `ctx.out_dir`, and return the report (targets, measured sections, and `outputs` set to the
/// files written, e.g. the list [`fig1::write_outputs`] returns). [`run_experiment`] fills in
/// the wall time and versions and writes `report.json` / `report.md`.
pub type RunFn = fn(&RunContext) -> anyhow::Result<Report>;

/// One reproducible experiment: its command name, what it reproduces and its status.
#[derive(Debug, Clone, Copy)]
pub struct ExperimentInfo {
    /// The name used on the command line (`fig1`).
    pub name: &'static str,
    /// What the experiment reproduces.
    pub summary: &'static str,
    /// Typical wall time with default settings on 2 cores (release build excluded); an
    /// estimate until the experiment is implemented.
    pub typical_time: &'static str,
    /// The experiment's entry point, or `None` while it is not implemented.
    pub run: Option<RunFn>,
    /// The reduced variant `--quick` selects (same name and output directory, a smaller
    /// grid), if the experiment has one.
    pub quick: Option<&'static ExperimentInfo>,
    /// The spread noises `--spread-noise` may choose, the default first (empty: the
    /// experiment has no choice); the selected one reaches the run as
    /// [`RunContext::spread_noise`].
    pub spread_noises: &'static [NoiseVariant],
    /// Whether the experiment takes `--checkpoint-every` and `--resume` (its training jobs
    /// checkpoint through [`checkpoint`]).
    pub resumable: bool,
    /// Seeds of the multi-seed parts when `--seeds` is not given (the protocol's count: fig1's
    /// targets are stated over 5 seeds, the digits protocol over 3, the MNIST run is 1 seed).
    pub default_seeds: usize,
}

/// One spread noise an experiment can run with: what the run then reproduces and how long it
/// takes.
#[derive(Debug, Clone, Copy)]
pub struct NoiseVariant {
    /// The noise mode.
    pub spread_noise: SpreadNoise,
    /// What the experiment reproduces with it.
    pub summary: &'static str,
    /// Typical wall time with default settings on 2 cores.
    pub typical_time: &'static str,
}

impl ExperimentInfo {
    /// True when the experiment can be run.
    pub fn is_implemented(&self) -> bool {
        self.run.is_some()
    }
}

/// Every experiment the project knows, implemented or planned.
pub const EXPERIMENTS: &[ExperimentInfo] = &[
    ExperimentInfo {
        name: "fig1",
        summary: "Figure 1: sine curve in 2-D, standard flow vs spread flow (ID 1)",
        typical_time: "< 30 s",
        run: Some(fig1::run),
        quick: None,
        spread_noises: &[],
        resumable: true,
        default_seeds: 5,
    },
    ExperimentInfo {
        name: "fading-squares",
        summary: "32x32 fading squares (1024-D, ID 1) with the authors' exact model, const-shift noise \
                  (the released code); --spread-noise random for random spread noise, --spread-noise \
                  expected for its closed-form expectation",
        typical_time: "~ 7 min (measured 421 s, 81 ms per step)",
        run: Some(fading_squares::run),
        quick: None,
        spread_noises: &[
            NoiseVariant {
                spread_noise: SpreadNoise::ConstShift,
                summary: "fading squares with the released code's constant-shift noise (the default)",
                typical_time: "~ 7 min (measured 421 s, 81 ms per step)",
            },
            NoiseVariant {
                spread_noise: SpreadNoise::Random,
                summary: "fading squares with random spread noise (the method as intended)",
                typical_time: "~ 7 min (81-86 ms per step measured; 1,106 s sharing the machine)",
            },
            NoiseVariant {
                spread_noise: SpreadNoise::Expected,
                summary: "fading squares with the random-noise objective's expectation in closed form (no sampling)",
                typical_time: "~ 10 min (measured 581-583 s alone, 110-112 ms per step)",
            },
        ],
        resumable: true,
        default_seeds: 1,
    },
    ExperimentInfo {
        name: "spread-study",
        summary: "when the learned prior reveals the intrinsic dimension (noise x placement x conditioner x seeds); \
                  --quick for a reduced grid",
        typical_time: "~ 45 min (measured: 66 min on a loaded 2-core machine, 5,340 CPU-s)",
        run: Some(spread_study::run),
        quick: Some(&SPREAD_STUDY_QUICK),
        spread_noises: &[],
        // 400 runs of about 13 CPU-s each: a checkpoint inside a run would save seconds.
        resumable: false,
        default_seeds: 5,
    },
    ExperimentInfo {
        name: "id-compare",
        summary: "the flow estimator vs MLE and TwoNN on warped K-manifolds in 64 and 784 dimensions, digits (all, per class, halves) and 10k MNIST images: dimension, interval, gap and wall time (issue 21)",
        typical_time: "~ 1 min per flow estimate per seed (--seeds 10: about 3 h on a loaded 2-core machine)",
        run: Some(id_compare::run),
        quick: None,
        spread_noises: &[],
        // Every finished estimate is journalled in runs.csv; --resume continues from there.
        resumable: true,
        default_seeds: 5,
    },
    ExperimentInfo {
        resumable: false,
        default_seeds: 3,
        name: "digits",
        summary: "real 8x8 digits: standard vs spread flow on sample quality, representation and intrinsic \
                  dimension (the paper's three claims); --quick for 600 steps and one seed",
        typical_time: "~ 1.5 min with --seeds 3 (measured 78 s on an idle 2-core Intel Xeon; 1,227 s at load ~19)",
        run: Some(real_images::run_digits),
        quick: Some(&DIGITS_QUICK),
        spread_noises: IMAGE_NOISES,
    },
    ExperimentInfo {
        resumable: false,
        default_seeds: 1,
        name: "mnist",
        summary: "MNIST or Fashion-MNIST (--data DIR or MFLOW_MNIST): the paper's three claims on 28x28 images; \
                  --quick for a 10k/2k subset and 300 steps",
        typical_time: "~ 13 min per seed (measured 777 s for 1 seed on an idle 2-core Intel Xeon)",
        run: Some(real_images::run_mnist),
        quick: Some(&MNIST_QUICK),
        spread_noises: IMAGE_NOISES,
    },
];

/// The spread noises of the image experiments (digits, mnist and their quick runs): random
/// noise is the protocol; `expected` is a diagnostic variant that removes the Monte-Carlo noise
/// from the gradient of `A` (docs/real-images.md, "Why the MNIST prior is wider than its codes").
pub const IMAGE_NOISES: &[NoiseVariant] = &[
    NoiseVariant {
        spread_noise: SpreadNoise::Random,
        summary: "random spread noise (the protocol, the default)",
        typical_time: "as without --spread-noise",
    },
    NoiseVariant {
        spread_noise: SpreadNoise::Expected,
        summary: "the spread flow trained on the random-noise objective's expectation in closed form (diagnostic variant)",
        typical_time: "as without --spread-noise",
    },
];

/// `digits --quick`: 600 steps, one seed (see [`real_images::Protocol::digits_quick`]).
pub const DIGITS_QUICK: ExperimentInfo = ExperimentInfo {
    resumable: false,
    default_seeds: 1,
    name: "digits",
    summary: "digits, reduced (--quick): 600 steps, one seed",
    typical_time: "~ 1.5 min (measured 82 s at load ~19)",
    run: Some(real_images::run_digits_quick),
    quick: None,
    spread_noises: IMAGE_NOISES,
};

/// `mnist --quick`: 10,000 training and 2,000 test images, 300 steps, one seed (see
/// [`real_images::Protocol::mnist_quick`]).
pub const MNIST_QUICK: ExperimentInfo = ExperimentInfo {
    resumable: false,
    default_seeds: 1,
    name: "mnist",
    summary: "mnist, reduced (--quick): 10k train / 2k test images, 300 steps, one seed",
    typical_time: "~ 2.5 min (measured 134 s on an idle 2-core Intel Xeon; 1,310 s at load ~19)",
    run: Some(real_images::run_mnist_quick),
    quick: None,
    spread_noises: IMAGE_NOISES,
};

/// `spread-study --quick`: 5 manifolds (the 4 graph manifolds and the circle as a closed
/// control) x s in {0.01, 0.03} x 2 placements x the paper conditioner x 3 seeds, 10k steps
/// (see [`spread_study::GridSize::Quick`]).
pub const SPREAD_STUDY_QUICK: ExperimentInfo = ExperimentInfo {
    name: "spread-study",
    summary: "spread study, reduced grid (--quick): 5 manifolds (4 graphs + the circle as a control) x s in \
              {0.01, 0.03} x 2 placements x paper conditioner x 3 seeds, 10k steps",
    typical_time: "~ 3 min (measured 2-3 min)",
    run: Some(spread_study::run_quick),
    quick: None,
    spread_noises: &[],
    resumable: false,
    default_seeds: 3,
};

/// Look up an experiment by its command-line name.
pub fn find(name: &str) -> Option<&'static ExperimentInfo> {
    EXPERIMENTS.iter().find(|e| e.name == name)
}

/// Run one experiment: prepare the output directory ([`atomic::prepare_out_dir`]: created,
/// checked writable before any training, an earlier run's report removed and what it held
/// reported on stderr), call its [`RunFn`], stamp the wall time, seeds (if the experiment left
/// them empty) and versions, and write `report.md` and, last, `report.json` into
/// `ctx.out_dir`: a folder with a `report.json` holds a complete run.
///
/// Errors when the experiment is not implemented, when it fails, or when an output cannot be
/// written.
pub fn run_experiment(info: &ExperimentInfo, ctx: &RunContext) -> anyhow::Result<Report> {
    let run =
        info.run.with_context(|| format!("experiment '{}' ({}) is not implemented yet", info.name, info.summary))?;
    let previous = atomic::prepare_out_dir(&ctx.out_dir)?;
    if ctx.checkpointing.resume {
        eprintln!("repro: continuing the run in {} (--resume)", ctx.out_dir.display());
    } else if let Some(message) = previous.message(&ctx.out_dir) {
        eprintln!("repro: {message}");
    }
    let start = Instant::now();
    let mut report = run(ctx).with_context(|| format!("experiment '{}' failed", info.name))?;
    report.wall_time_s = start.elapsed().as_secs_f64();
    if report.experiment.is_empty() {
        report.experiment = info.name.to_owned();
    }
    if report.seeds.is_empty() {
        report.seeds = ctx.seeds();
    }
    report.stamp_versions();
    report.write(&ctx.out_dir)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in experiment: the fig1 outputs from synthetic inputs.
    fn fake_fig1(ctx: &RunContext) -> anyhow::Result<Report> {
        let (panels, trajectory) = fig1::synthetic::inputs(ctx.seed);
        let written = fig1::write_outputs(&ctx.out_dir, &panels, &trajectory)?;
        let mut report = fig1::synthetic::measurements().report(serde_json::json!({"fake": true}));
        report.outputs = written;
        Ok(report)
    }

    #[test]
    fn the_quick_spread_study_summary_describes_the_grid_it_runs() {
        use spread_study::{Grid, GridSize, StudyManifold};
        let grid = Grid::new(GridSize::Quick, 5, None);
        let text = SPREAD_STUDY_QUICK.summary;
        let spreads = grid.spreads.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ");
        let closed = grid.manifolds.iter().filter(|m| m.is_closed()).count();
        assert_eq!((grid.manifolds.len() - closed, closed), (StudyManifold::GRAPHS.len(), 1));
        for part in [
            format!(
                "{} manifolds ({} graphs + the circle as a control)",
                grid.manifolds.len(),
                grid.manifolds.len() - closed
            ),
            format!("s in {{{spreads}}}"),
            format!("{} placements", grid.placements.len()),
            format!("{} seeds", grid.seeds.len()),
            format!("{}k steps", grid.steps() / 1000),
        ] {
            assert!(text.contains(&part), "the --quick summary lacks {part:?}: {text}");
        }
        assert_eq!(grid.conditioners.len(), 1);
    }

    #[test]
    fn runner_writes_the_report_next_to_the_outputs() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let info = ExperimentInfo {
            name: "fig1",
            summary: "test",
            typical_time: "1 s",
            run: Some(fake_fig1),
            quick: None,
            spread_noises: &[],
            resumable: false,
            default_seeds: 5,
        };
        let ctx = RunContext { n_seeds: 5, ..RunContext::new("fig1", dir.path().join("nested").join("fig1")) };
        let report = run_experiment(&info, &ctx)?;
        assert!(report.wall_time_s > 0.0);
        assert!(report.versions.contains_key("rustc"));
        for f in report.outputs.iter().map(String::as_str).chain(["report.json", "report.md"]) {
            assert!(ctx.out(f).is_file(), "{f} missing");
        }
        let planned = ExperimentInfo { run: None, ..info };
        let err = run_experiment(&planned, &ctx).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("not implemented yet")));
        Ok(())
    }
}
