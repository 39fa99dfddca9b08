//! `cargo xtask id-table`: regenerate `docs/intrinsic-dim.md`, the table of every classical
//! intrinsic-dimension estimator on every benchmark manifold with times, by running the
//! `id_table` example of `crates/cli` in release mode. Extra arguments are passed on (e.g.
//! `--mnist-dir DIR`; by default `$MFLOW_MNIST_DIR`, else `../shared/data/mnist`).

use std::path::Path;
use std::process::{Command, ExitCode};

/// Run the table generator, writing `docs/intrinsic-dim.md` under `root`.
pub fn run(root: &Path, extra: &[String]) -> anyhow::Result<ExitCode> {
    let output = root.join("docs/intrinsic-dim.md");
    super::cargo_status(
        Command::new(super::cargo())
            .current_dir(root)
            .args(["run", "--release", "--quiet", "--package", "mflow-cli", "--example", "id_table", "--"])
            .arg(&output)
            .args(extra),
    )
}
