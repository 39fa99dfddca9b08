//! `--checkpoint-every N` and `--resume` for the experiments' training runs, on the trainer's
//! own checkpoints ([`manifold_prior::CheckpointConfig`], [`manifold_prior::resume`]: model,
//! moving average, optimiser, random stream and history, bit-identical on resume).
//!
//! Layout, inside the experiment's output folder:
//!
//! | path | contents |
//! | --- | --- |
//! | `checkpoint/run.json` | the interval and the run's settings (each training job's [`TrainConfig`]) |
//! | `checkpoint/<job>/` | the trainer's checkpoints of one training job (`latest.json`, `step-N/`) |
//!
//! The rule, per training job (fig1: the baseline and each seed of the spread flow; fading
//! squares: its one run): on `--resume`, a job with a checkpoint continues from its latest
//! one (a job that had finished resumes at its last step and trains no further), a job
//! without one starts from step 0. The settings must equal the checkpoint's
//! (`checkpoint/run.json`), otherwise the run stops and lists the differences. The folder is
//! removed once the report is written ([`remove`]): the report marks a complete run.
//!
//! Because every job is deterministic given its configuration and resumes bit-identically,
//! the figures, CSVs and report of a killed-and-resumed run equal an uninterrupted run's
//! except for wall times.

use std::path::PathBuf;

use anyhow::Context as _;
use manifold_prior::flow_core::io::{read_json, write_json};
use manifold_prior::{CheckpointConfig, DataSource, History, Model, TrainConfig, TrainError, TrainObserver};
use serde::{Deserialize, Serialize};

use crate::RunContext;

/// The checkpoint folder inside an experiment's output folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";
/// The file in [`CHECKPOINT_DIR`] that records the interval and the run's settings.
const RUN_FILE: &str = "run.json";

/// What `--checkpoint-every N` and `--resume` ask for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpointing {
    /// Write a checkpoint of every training job each `every` steps (and at its end).
    pub every: Option<usize>,
    /// Continue from the checkpoints in the output folder.
    pub resume: bool,
}

impl Checkpointing {
    /// True when either flag was given.
    pub fn is_active(&self) -> bool {
        self.every.is_some() || self.resume
    }
}

/// `checkpoint/run.json`: the interval (reused by `--resume` without `--checkpoint-every`)
/// and the settings a resumed run must match.
#[derive(Debug, Serialize, Deserialize)]
struct RunRecord {
    every: usize,
    settings: serde_json::Value,
}

/// The checkpoints of one experiment run: one trainer checkpoint folder per training job
/// under `OUT/checkpoint/`.
#[derive(Debug, Clone)]
pub struct RunCheckpoints {
    dir: PathBuf,
    every: usize,
    resume: bool,
}

impl RunCheckpoints {
    /// Set up the checkpoints of a run whose training is described by `settings` (for
    /// example every job's [`TrainConfig`] by job name): `None` when neither flag was given.
    /// A fresh run (no `--resume`) replaces any old `checkpoint/` folder and records
    /// `settings`; `--resume` reads the record and refuses a run whose settings differ.
    ///
    /// # Errors
    /// `--resume` over a folder without `checkpoint/run.json`, or with other settings; the
    /// folder cannot be written or read.
    pub fn open(ctx: &RunContext, settings: serde_json::Value) -> anyhow::Result<Option<Self>> {
        let flags = ctx.checkpointing;
        if !flags.is_active() {
            return Ok(None);
        }
        let dir = ctx.out_dir.join(CHECKPOINT_DIR);
        let record_path = dir.join(RUN_FILE);
        if flags.resume {
            anyhow::ensure!(
                record_path.is_file(),
                "--resume: {} holds no checkpoint (start without --resume)",
                dir.display()
            );
            let record: RunRecord =
                read_json(&record_path).with_context(|| format!("--resume: reading {}", record_path.display()))?;
            let differences = differences(&record.settings, &settings);
            anyhow::ensure!(
                differences.is_empty(),
                "--resume: the settings differ from the checkpoint's ({}):\n  {}\n(start without --resume, or use the \
                 checkpoint's settings)",
                record_path.display(),
                differences.join("\n  ")
            );
            let every = flags.every.unwrap_or(record.every);
            if every != record.every {
                write_json(&record_path, &RunRecord { every, settings })
                    .with_context(|| format!("cannot write {}", record_path.display()))?;
            }
            return Ok(Some(Self { dir, every, resume: true }));
        }
        let every = flags.every.unwrap_or(usize::MAX);
        if dir.exists() {
            eprintln!(
                "repro: replacing the checkpoints of an unfinished run in {} (--resume continues one)",
                dir.display()
            );
            std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove the old {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        write_json(&record_path, &RunRecord { every, settings })
            .with_context(|| format!("cannot write {}", record_path.display()))?;
        Ok(Some(Self { dir, every, resume: false }))
    }

    /// The trainer's checkpoint folder of training job `job`.
    pub fn job_dir(&self, job: &str) -> PathBuf {
        self.dir.join(job)
    }
}

/// Train `model` as [`manifold_prior::train`] does, checkpointing job `job` when `checkpoints`
/// is set, and continuing from the job's latest checkpoint on `--resume` when it has one (see
/// the module's rule). With the same configuration and data the result is bit-identical to an
/// uninterrupted run.
///
/// # Errors
/// As [`manifold_prior::train`] and [`manifold_prior::resume`].
pub fn train<M: Model>(
    checkpoints: Option<&RunCheckpoints>,
    job: &str,
    model: &mut M,
    data: DataSource<'_>,
    config: &TrainConfig,
    observer: &mut dyn TrainObserver<M>,
) -> Result<History, TrainError> {
    let Some(ck) = checkpoints else {
        return manifold_prior::train(model, data, config, observer);
    };
    let dir = ck.job_dir(job);
    let config =
        TrainConfig { checkpoint: Some(CheckpointConfig { dir: dir.clone(), interval: ck.every }), ..config.clone() };
    if ck.resume && dir.join("latest.json").is_file() {
        manifold_prior::resume(model, data, &config, observer)
    } else {
        manifold_prior::train(model, data, &config, observer)
    }
}

/// Remove the run's checkpoint folder, once its report is written (a complete run needs it no
/// more). Does nothing when checkpointing was not asked for.
///
/// # Errors
/// The folder exists and cannot be removed.
pub fn remove(ctx: &RunContext) -> anyhow::Result<()> {
    let dir = ctx.out_dir.join(CHECKPOINT_DIR);
    if ctx.checkpointing.is_active() && dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok(())
}

/// The paths (in the JSON) whose values differ between the checkpoint's settings `saved` and
/// the current ones `now`, one line each.
fn differences(saved: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    manifold_prior::json_differences(saved, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_each_changed_setting() {
        let a = json!({"experiment": "fig1", "jobs": {"spread-s0": {"steps": 100, "seed": 0}}});
        let b = json!({"experiment": "fig1", "jobs": {"spread-s0": {"steps": 200, "seed": 0}, "spread-s1": {"steps": 200}}});
        assert_eq!(
            differences(&a, &b),
            vec![
                "jobs.spread-s0.steps: 100 (checkpoint) vs 200 (now)".to_owned(),
                "jobs.spread-s1: null (checkpoint) vs {\"steps\":200} (now)".to_owned(),
            ]
        );
        assert!(differences(&a, &a).is_empty());
    }
}
