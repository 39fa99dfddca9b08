//! The command line shared by every experiment: `repro --list`, `repro all [flags]`,
//! `repro <name> [flags]`.

use std::path::{Path, PathBuf};

use clap::{Args, Parser};
use manifold_prior::SpreadNoise;

use crate::checkpoint::Checkpointing;
use crate::progress::Verbosity;
use crate::report::TargetPolicy;
use crate::{ExperimentInfo, RunContext};

/// `repro`: reproduce the paper's experiments (figures, raw CSVs and a report per experiment).
#[derive(Debug, Parser)]
#[command(
    name = "repro",
    version,
    about = "Reproduce the experiments of \"Spread Flows for Manifold Modelling\"",
    after_help = "Each experiment writes figures, raw CSVs, report.json and report.md into \
                  results/<name> (or --out DIR).\nExit codes: 0 success, 1 error, 2 usage error, \
                  3 a target FAILed under --strict.\nExamples:\n  repro --list\n  repro fig1 \
                  --seeds 3\n  repro all --quiet --strict"
)]
pub struct Cli {
    /// The experiment to run (see --list), or `all` for every implemented one.
    #[arg(required_unless_present = "list")]
    pub experiment: Option<String>,

    /// List the experiments, what they reproduce, their typical run time and status.
    #[arg(long, conflicts_with = "experiment")]
    pub list: bool,

    /// Flags shared by every experiment.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Flags shared by every experiment.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Seed of the single-seed parts (the figures and the "default seed" numbers).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Number of seeds for the multi-seed targets: seeds SEED..SEED+N-1 (with the default
    /// --seed 0, seeds 0..N-1). Default: the experiment's protocol (fig1 5, spread-study 5,
    /// id-compare 5, digits 3, mnist 1; --list shows each). At most 1000: each seed trains a
    /// model.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_SEEDS))]
    pub seeds: Option<u64>,

    /// Training steps (default: the paper preset). Targets a shortened run cannot reach are
    /// reported as n/a.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,

    /// Output directory (default: results/NAME; with `all`, DIR/NAME).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// No progress bars and no summary table: one line per experiment.
    #[arg(long)]
    pub quiet: bool,

    /// Exit non-zero (code 3) when any target FAILs.
    #[arg(long)]
    pub strict: bool,

    /// Run the experiment's reduced grid (experiments that have one, see --list; not with
    /// `all`).
    #[arg(long)]
    pub quick: bool,

    /// How the spread noise is drawn, for experiments that offer the choice (fading-squares:
    /// `const-shift` by default, the released code, to compare with the authors' printed
    /// losses; `random`, the method as intended; `expected`, the random-noise objective's
    /// expectation in closed form, no sampling). Not with `all`.
    #[arg(long, value_enum, value_name = "MODE")]
    pub spread_noise: Option<SpreadNoise>,

    /// Checkpoint every training job each N steps (and at its end) into OUT/checkpoint/, so an
    /// interrupted run can be continued with --resume; the folder is removed once the report is
    /// written. Jobs: fig1's baseline, each seed of its spread flow and each ablation;
    /// fading-squares' one run. spread-study has none (a run there is short; rerun it);
    /// id-compare needs none (it keeps every finished estimate in runs.csv).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,

    /// Continue an interrupted run from OUT/checkpoint/ (same flags as the interrupted run;
    /// differing settings are refused). Each job resumes from its latest checkpoint (a finished
    /// job trains no further; one without a checkpoint starts from step 0), so the outputs and
    /// report equal an uninterrupted run's except for wall times. id-compare: keeps the estimates
    /// in OUT/runs.csv measured with the same settings and measures the rest (with a larger
    /// --seeds, also extends a run).
    #[arg(long)]
    pub resume: bool,
    /// Directory of the data files, for experiments that read some (mnist: the IDX files;
    /// default: the environment variable MFLOW_MNIST).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// A named training setting, for experiments that have them (fig1: `default`, `paper` for
    /// the paper's configuration as written, and the other candidates the default was chosen
    /// from: `step-tail`, `expected-noise`, `ema-samples`). Not with `all`.
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
}

/// The largest `--seeds`: every seed trains at least one model, so a larger count is a typo
/// rather than a plan (`--seeds 100000000` would ask for weeks of training and gigabytes of
/// per-seed results).
pub const MAX_SEEDS: u64 = 1000;

/// The experiments that take `--preset`, with the names each accepts (the default first).
pub const PRESETS: &[(&str, &[&str])] =
    &[("fig1", &["default", "paper", "step-tail", "expected-noise", "ema-samples"])];

/// What an experiment name on the command line selects.
#[derive(Debug, Clone, Copy)]
pub enum Selection {
    /// Every implemented experiment (`all`).
    All,
    /// One experiment.
    One(&'static ExperimentInfo),
}

impl Cli {
    /// Resolve the experiment name: `all`, a known experiment, or an error naming the choices.
    pub fn selection(&self) -> anyhow::Result<Option<Selection>> {
        let Some(name) = self.experiment.as_deref() else {
            return Ok(None);
        };
        if name == "all" {
            anyhow::ensure!(
                !self.run.quick,
                "--quick selects one experiment's reduced grid; it does not apply to `all`"
            );
            anyhow::ensure!(
                self.run.spread_noise.is_none(),
                "--spread-noise selects one experiment's variant; it does not apply to `all`"
            );
            anyhow::ensure!(
                self.run.preset.is_none(),
                "--preset selects one experiment's setting; it does not apply to `all`"
            );
            return Ok(Some(Selection::All));
        }
        let info = match crate::find(name) {
            Some(info) if self.run.quick => match info.quick {
                Some(quick) => quick,
                None => anyhow::bail!("experiment '{name}' has no reduced grid (--quick); try --steps or --seeds"),
            },
            Some(info) => info,
            None => {
                let known: Vec<&str> = crate::EXPERIMENTS.iter().map(|e| e.name).collect();
                anyhow::bail!(
                    "unknown experiment '{name}' (known: {}, all); `repro --list` describes them",
                    known.join(", ")
                )
            }
        };
        anyhow::ensure!(
            info.resumable || !(self.run.checkpoint_every.is_some() || self.run.resume),
            "experiment '{name}' takes no --checkpoint-every or --resume: its runs are short (see --list); rerun it"
        );
        if let Some(noise) = self.run.spread_noise {
            anyhow::ensure!(
                info.spread_noises.iter().any(|v| v.spread_noise == noise),
                "experiment '{name}' has no --spread-noise {} variant (see --list)",
                noise.name()
            );
        }
        if let Some(preset) = self.run.preset.as_deref() {
            match PRESETS.iter().find(|(e, _)| *e == info.name) {
                None => anyhow::bail!("experiment '{name}' has no presets (--preset is for: fig1)"),
                Some((_, names)) => anyhow::ensure!(
                    names.contains(&preset),
                    "experiment '{name}' has no preset '{preset}' (known: {})",
                    names.join(", ")
                ),
            }
        }
        Ok(Some(Selection::One(info)))
    }
}

impl RunArgs {
    /// The verbosity these flags ask for.
    pub fn verbosity(&self) -> Verbosity {
        if self.quiet { Verbosity::Quiet } else { Verbosity::Normal }
    }

    /// The target policy these flags ask for.
    pub fn policy(&self) -> TargetPolicy {
        if self.strict { TargetPolicy::Strict } else { TargetPolicy::Lenient }
    }

    /// The context of one experiment. `several` says whether more than one experiment runs
    /// (`all`): then `--out DIR` is a parent directory and each experiment writes to
    /// `DIR/<name>`; otherwise `--out DIR` is the experiment's own directory.
    pub fn context(&self, info: &ExperimentInfo, several: Several) -> RunContext {
        let out_dir = match (&self.out, several) {
            (Some(dir), Several::Yes) => dir.join(info.name),
            (Some(dir), Several::No) => dir.clone(),
            (None, _) => Path::new("results").join(info.name),
        };
        RunContext {
            name: info.name,
            seed: self.seed,
            n_seeds: self.seeds.map_or(info.default_seeds, |n| usize::try_from(n).unwrap_or(usize::MAX)),
            steps: self.steps.map(|s| usize::try_from(s).unwrap_or(usize::MAX)),
            out_dir,
            verbosity: self.verbosity(),
            spread_noise: self.spread_noise.or_else(|| info.spread_noises.first().map(|v| v.spread_noise)),
            // With `all`, experiments without checkpoints run from the start.
            checkpointing: if info.resumable {
                Checkpointing {
                    every: self.checkpoint_every.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
                    resume: self.resume,
                }
            } else {
                Checkpointing::default()
            },
            data: self.data.clone(),
            preset: self.preset.clone(),
        }
    }
}

/// Whether one run of `repro` runs several experiments (`all`) or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Several {
    /// `repro all`.
    Yes,
    /// `repro <name>`.
    No,
}

/// The `--list` table: name, status, default seed count, typical time and what each
/// experiment reproduces.
pub fn list_table() -> String {
    // Every row: (name, implemented, default seeds, typical time, summary) of the base
    // experiment, then of its --quick and its other --spread-noise variants.
    let row = |name: String, e: &ExperimentInfo| (name, e.is_implemented(), e.default_seeds, e.typical_time, e.summary);
    let rows = |e: &'static ExperimentInfo| {
        std::iter::once(row(e.name.to_string(), e)).chain(e.quick.map(|q| row(format!("{} --quick", e.name), q))).chain(
            e.spread_noises.iter().skip(1).map(move |v| {
                let name = format!("{} --spread-noise {}", e.name, v.spread_noise.name());
                (name, e.is_implemented(), e.default_seeds, v.typical_time, v.summary)
            }),
        )
    };
    let name_w = crate::EXPERIMENTS.iter().flat_map(rows).map(|r| r.0.len()).max().unwrap_or(4).max(10);
    let time_w = crate::EXPERIMENTS.iter().flat_map(rows).map(|r| r.3.len()).max().unwrap_or(4).max(12);
    let mut out = format!(
        "{:<name_w$}  {:<15}  {:>5}  {:<time_w$}  reproduces\n",
        "experiment", "status", "seeds", "typical time"
    );
    for (name, implemented, seeds, time, summary) in crate::EXPERIMENTS.iter().flat_map(rows) {
        let status = if implemented { "implemented" } else { "not implemented" };
        out.push_str(&format!("{name:<name_w$}  {status:<15}  {seeds:>5}  {time:<time_w$}  {summary}\n"));
    }
    out.push_str("\nseeds: the default --seeds (the experiment's protocol)\n");
    out.push_str("run one with `cargo xtask reproduce <experiment> [flags]` (see --help)\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("repro").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_and_flags() -> anyhow::Result<()> {
        let cli = parse(&["fig1"])?;
        assert_eq!(cli.run.seed, 0);
        assert_eq!(cli.run.seeds, None);
        assert_eq!(cli.run.steps, None);
        assert!(!cli.run.quiet && !cli.run.strict);
        let info = crate::find("fig1").ok_or_else(|| anyhow::anyhow!("fig1 missing"))?;
        assert!(matches!(cli.selection()?, Some(Selection::One(e)) if e.name == "fig1"));
        let ctx = cli.run.context(info, Several::No);
        assert_eq!(ctx.out_dir, Path::new("results").join("fig1"));
        assert_eq!(ctx.seeds(), vec![0, 1, 2, 3, 4]);

        let cli =
            parse(&["all", "--seed", "3", "--seeds", "2", "--steps", "100", "--out", "/tmp/x", "--quiet", "--strict"])?;
        assert!(matches!(cli.selection()?, Some(Selection::All)));
        let ctx = cli.run.context(info, Several::Yes);
        assert_eq!(ctx.out_dir, Path::new("/tmp/x").join("fig1"));
        assert_eq!((ctx.seed, ctx.n_seeds, ctx.steps), (3, 2, Some(100)));
        assert_eq!(ctx.seeds(), vec![3, 4], "the multi-seed range starts at --seed");
        assert_eq!(ctx.verbosity, Verbosity::Quiet);
        assert_eq!(cli.run.policy(), TargetPolicy::Strict);
        Ok(())
    }

    /// Without --seeds each experiment runs its protocol's count: fig1's targets are stated
    /// over 5 seeds, digits' over 3, and the MNIST run is one seed (issue 18).
    #[test]
    fn each_experiment_has_its_own_default_seed_count() -> anyhow::Result<()> {
        for (args, expected) in [
            (&["fig1"][..], 5),
            (&["digits"][..], 3),
            (&["mnist"][..], 1),
            (&["mnist", "--quick"][..], 1),
            (&["spread-study", "--quick"][..], 3),
            (&["mnist", "--seeds", "3"][..], 3),
        ] {
            let cli = parse(args)?;
            let Some(Selection::One(info)) = cli.selection()? else { anyhow::bail!("{args:?} selects one experiment") };
            assert_eq!(cli.run.context(info, Several::No).n_seeds, expected, "{args:?}");
        }
        Ok(())
    }

    #[test]
    fn list_and_errors() -> anyhow::Result<()> {
        assert!(parse(&["--list"])?.list);
        assert!(parse(&[]).is_err(), "an experiment or --list is required");
        assert!(parse(&["fig1", "--seeds", "0"]).is_err());
        // A huge seed count is refused up front with the limit (it used to panic).
        let huge = parse(&["fig1", "--seeds", "100000000"]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(huge.contains("100000000") && huge.contains("1000"), "{huge}");
        assert!(parse(&["fig1", "--seeds", "1000"]).is_ok());
        // --preset: known names of experiments that have presets only.
        assert!(parse(&["fig1", "--preset", "paper"])?.selection().is_ok());
        assert!(parse(&["fig1", "--preset", "nope"])?.selection().is_err());
        assert!(parse(&["spread-study", "--preset", "paper"])?.selection().is_err());
        assert!(parse(&["all", "--preset", "paper"])?.selection().is_err());
        assert!(parse(&["nope"])?.selection().is_err());
        // --quick picks the reduced variant, and only where there is one.
        let quick = parse(&["spread-study", "--quick"])?;
        assert!(matches!(quick.selection()?, Some(Selection::One(e)) if e.name == "spread-study" && e.quick.is_none()));
        assert!(parse(&["fig1", "--quick"])?.selection().is_err());
        assert!(parse(&["all", "--quick"])?.selection().is_err());
        let table = list_table();
        for e in crate::EXPERIMENTS {
            assert!(table.contains(e.name) && table.contains(e.summary));
        }
        assert!(table.contains("fading-squares --spread-noise random"), "{table}");
        Ok(())
    }

    #[test]
    fn the_spread_noise_flag_reaches_the_run_as_the_library_enum() -> anyhow::Result<()> {
        let context = |args: &[&str]| -> anyhow::Result<RunContext> {
            let cli = parse(args)?;
            let Some(Selection::One(info)) = cli.selection()? else { anyhow::bail!("one experiment expected") };
            Ok(cli.run.context(info, Several::No))
        };
        assert_eq!(context(&["fading-squares"])?.spread_noise, Some(SpreadNoise::ConstShift), "the default");
        let random = context(&["fading-squares", "--spread-noise", "random", "--steps", "200"])?;
        assert_eq!(random.spread_noise, Some(SpreadNoise::Random));
        assert_eq!(random.out_dir, Path::new("results").join("fading-squares"));
        assert_eq!(
            context(&["fading-squares", "--spread-noise", "expected"])?.spread_noise,
            Some(SpreadNoise::Expected)
        );
        assert_eq!(context(&["fig1"])?.spread_noise, None);
        // The image experiments: random noise is the protocol, `expected` a variant, with or
        // without --quick; const-shift is not offered.
        assert_eq!(context(&["digits"])?.spread_noise, Some(SpreadNoise::Random));
        assert_eq!(
            context(&["digits", "--quick", "--spread-noise", "expected"])?.spread_noise,
            Some(SpreadNoise::Expected)
        );
        assert_eq!(context(&["mnist", "--spread-noise", "expected"])?.spread_noise, Some(SpreadNoise::Expected));
        assert!(parse(&["mnist", "--spread-noise", "const-shift"])?.selection().is_err());
        // Unknown modes are usage errors; experiments without the choice and `all` refuse it.
        assert!(parse(&["fading-squares", "--spread-noise", "gaussian"]).is_err());
        assert!(parse(&["spread-study", "--spread-noise", "expected"])?.selection().is_err());
        assert!(parse(&["fig1", "--spread-noise", "random"])?.selection().is_err());
        assert!(parse(&["all", "--spread-noise", "const-shift"])?.selection().is_err());
        Ok(())
    }
}
