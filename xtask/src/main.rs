//! `cargo xtask`: orchestration only. `reproduce` builds the `repro` binary in release mode
//! and becomes it (signals reach the experiment; relative paths are the caller's);
//! `bench` runs the criterion suite and tracks medians over time; `docs` regenerates the
//! results tables of the docs from the committed reports.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

mod bench;
mod docs;
mod id_table;
mod reproduce;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  reproduce <experiment> [flags]   run an experiment in release mode (see --list)
  reproduce --list                 list the experiments, what they reproduce and their status
  reproduce all [flags]            run every implemented experiment
  bench [criterion args]           run the criterion suite, write benches/history/<date>.json
  id-table [--mnist-dir DIR]       regenerate docs/intrinsic-dim.md (classical ID estimators)
  docs [--check]                   regenerate the results tables of README.md and docs/*.md from
                                   docs/results/*/report.json (--check: fail if they differ)
";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("reproduce") => reproduce::run(&workspace_root(), &args[1..]),
        Some("bench") => bench::run(&workspace_root(), &args[1..]),
        Some("id-table") => id_table::run(&workspace_root(), &args[1..]),
        Some("docs") => docs::run(&workspace_root(), &args[1..]),
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => bail!("unknown command '{other}'\n{USAGE}"),
    }
}

/// Run a command to completion and pass its exit code on.
fn cargo_status(cmd: &mut Command) -> anyhow::Result<ExitCode> {
    let status = cmd.status().with_context(|| format!("failed to start {cmd:?}"))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// The cargo that invoked us (so the same toolchain builds the experiments).
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}
