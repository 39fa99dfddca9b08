//! `repro`: runs one experiment or all of them (normally through `cargo xtask reproduce`).
//!
//! Exit codes: 0 success, 1 error (including an experiment that is not implemented yet),
//! 2 usage error (from clap), 3 a target FAILed under `--strict`.

use std::process::ExitCode;

use clap::Parser;
use repro::cli::{Cli, RunArgs, Selection, Several};
use repro::{ExperimentInfo, Verbosity};

/// Exit code when `--strict` is set and a target FAILs.
const EXIT_TARGET_FAILED: u8 = 3;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("repro: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    if cli.list {
        print!("{}", repro::cli::list_table());
        return Ok(ExitCode::SUCCESS);
    }
    match cli.selection()? {
        None => anyhow::bail!("name an experiment or pass --list"),
        Some(Selection::One(info)) => run_one(info, &cli.run, Several::No),
        Some(Selection::All) => {
            let (ready, planned): (Vec<&ExperimentInfo>, Vec<_>) =
                repro::EXPERIMENTS.iter().partition(|e| e.is_implemented());
            for e in &planned {
                eprintln!("repro: skipping '{}': not implemented yet", e.name);
            }
            anyhow::ensure!(!ready.is_empty(), "no experiment is implemented yet");
            let mut code = ExitCode::SUCCESS;
            for info in ready {
                if run_one(info, &cli.run, Several::Yes)? != ExitCode::SUCCESS {
                    code = ExitCode::from(EXIT_TARGET_FAILED);
                }
            }
            Ok(code)
        }
    }
}

/// Run one experiment, print its summary and apply `--strict`.
fn run_one(info: &ExperimentInfo, args: &RunArgs, several: Several) -> anyhow::Result<ExitCode> {
    let ctx = args.context(info, several);
    if !info.resumable && (args.checkpoint_every.is_some() || args.resume) {
        eprintln!("repro: '{}' takes no --checkpoint-every or --resume; it runs from the start", info.name);
    }
    let report = repro::run_experiment(info, &ctx)?;
    // The report marks a complete run: its checkpoints are no longer needed.
    repro::checkpoint::remove(&ctx)?;
    match ctx.verbosity {
        Verbosity::Normal => print!("{}", report.summary_table(repro::report::Color::auto())),
        Verbosity::Quiet => println!("{}", report.one_line(&ctx.out_dir)),
    }
    Ok(match report.check(args.policy()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failed) => {
            eprintln!("repro: {failed} (--strict)");
            ExitCode::from(EXIT_TARGET_FAILED)
        }
    })
}
