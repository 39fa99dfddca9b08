//! How close samples are to a toy manifold: for each file (CSV, NPY; e.g. the output of
//! `mflow sample`), the fraction of rows strictly within a tolerance of the manifold
//! (`datasets::Manifold::fraction_within`; for the sine curve `|x2 - sin(2 x1)| < tol`),
//! and the median and largest distance (`Manifold::manifold_error`; non-finite rows count as
//! off the manifold, at infinite distance). Used by `docs/make-mflow-fit.sh`.
//!
//! Usage: `cargo run --release -p mflow-cli --example on_manifold -- MANIFOLD TOLERANCE FILE...`
//! prints CSV: `file,n,tolerance,fraction_within,median_error,max_error`, one row per file.

use anyhow::{Context, bail};
use datasets::{CsvOptions, Manifold, NonFinite};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, tolerance, files @ ..] = args.as_slice() else {
        bail!("usage: on_manifold MANIFOLD TOLERANCE FILE...");
    };
    if files.is_empty() {
        bail!("usage: on_manifold MANIFOLD TOLERANCE FILE... (no file given)");
    }
    let manifold: Manifold = name.parse()?;
    let tolerance: f64 = tolerance.parse().with_context(|| format!("tolerance {tolerance:?} is not a number"))?;
    let opts = CsvOptions { non_finite: NonFinite::Allow, ..CsvOptions::default() };
    println!("file,n,tolerance,fraction_within,median_error,max_error");
    for file in files {
        let x = datasets::load_with(file, &opts).with_context(|| format!("{file}: cannot read"))?.data;
        if x.ncols() != manifold.ambient_dim() {
            bail!("{file}: {} columns, but {manifold} lives in {} dimensions", x.ncols(), manifold.ambient_dim());
        }
        let (Some(mut err), Some(fraction)) =
            (manifold.manifold_error(x.as_ref()), manifold.fraction_within(x.as_ref(), tolerance))
        else {
            bail!("{file}: no closed-form distance to {manifold}, or no rows");
        };
        err.sort_by(f64::total_cmp);
        let median = err[err.len() / 2];
        let max = err[err.len() - 1];
        println!("{file},{},{tolerance},{fraction},{median},{max}", x.nrows());
    }
    Ok(())
}
