//! The spread study (issue 9, docs/spread-study.md): when does the learned prior of a spread
//! flow reveal the intrinsic dimension, and which read-off can be trusted.
//!
//! Every run of the [`Grid`] (manifold x noise level `s` x spread placement x conditioner x
//! seed) trains one spread flow on fresh batches of a graph manifold with known dimension and
//! is read at the checkpoints (1k, 3k, 10k, 30k steps by default): the spectrum of `A A^T`
//! (raw and moving average), the spectrum of the encoded evaluation set, and the distance of
//! samples to the manifold. [`rules`] turns the spectra into estimates by every read-off rule
//! and tallies how often each recovers the known dimension; [`check`] then runs the flow
//! estimator as a user would (fixed data sets, other seeds) with its default and with the
//! method's setting. Outputs, in `results/spread-study`
//! (or `--out`):
//!
//! | file | contents |
//! | --- | --- |
//! | `heatmap.png`, `.svg` | rule x setting: fraction of seeds with the right dimension, last checkpoint |
//! | `heatmap_steps.png`, `.svg` | rule x (manifold, checkpoint), pooled over the other settings |
//! | `trajectories.png`, `.svg` | eigenvalues of the EMA `A A^T` against the step, per manifold and placement |
//! | `data_spectra.png`, `.svg` | eigenvalues of the encoded data at the checkpoints: the method's setting and the estimator's default |
//! | `runs.csv` | one row per run and checkpoint: spectra, every rule's estimate, sample quality |
//! | `summary.csv` | one row per rule, setting and checkpoint: correct / total |
//! | `trajectories.csv` | one row per run and recorded step: raw and EMA eigenvalues |
//! | `report.md`, `report.json` | headline tables, sample quality, failures, timings |
//!
//! `--quick` runs [`GridSize::Quick`] (under 5 minutes on 2 cores); the full grid's time is in
//! `repro --list`.

pub mod check;
pub mod grid;
mod output;
pub mod plot;
pub mod rules;
mod run;

pub use grid::{Conditioner, Grid, GridSize, RunSpec, Setting, StudyManifold};
pub use output::{build_report, write_outputs};
pub use run::{Checkpoint, ON_MANIFOLD, RunResult, run_grid};

use crate::{Report, RunContext};

/// `repro spread-study`: the full grid (seeds from `--seeds`, length from `--steps`).
pub fn run(ctx: &RunContext) -> anyhow::Result<Report> {
    run_size(ctx, GridSize::Full)
}

/// `repro spread-study --quick`: the reduced grid.
pub fn run_quick(ctx: &RunContext) -> anyhow::Result<Report> {
    run_size(ctx, GridSize::Quick)
}

/// Run a grid of the given size, write every output and return the report.
pub fn run_size(ctx: &RunContext, size: GridSize) -> anyhow::Result<Report> {
    let grid = Grid::new(size, ctx.n_seeds, ctx.steps);
    let results = run_grid(&grid, ctx.verbosity)?;
    let cells = rules::tally(&grid, &results);
    let checks = check::run_check(&grid);
    let mut report = build_report(&grid, &results, &cells);
    output::add_check(&mut report, &grid, &checks);
    report.outputs = write_outputs(&ctx.out_dir, &grid, &results, &cells)?;
    report.seeds = grid.seeds.clone();
    Ok(report)
}

#[cfg(test)]
mod tests;
