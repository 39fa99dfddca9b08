//! Experiment fading-squares (method.md section 4): 32 x 32 images of a centred 6 x 6 square
//! of brightness `v ~ U(0, 1)`, a 1-D manifold in `R^1024`, learnt by the authors' exact
//! model (1,168,572 parameters) with the spread-KL objective. This module is the presentation
//! side: the training code ([`run`]) fills [`FadingSquaresFigures`] and calls
//! [`write_outputs`], which writes
//!
//! | file | contents |
//! | --- | --- |
//! | `loss.png`, `loss.svg`, `loss.csv` | the training loss of every step (`step,loss`), with the floor `D/2 ln(2 pi s^2)`, the plateau target and the authors' printed values |
//! | `samples.png`, `samples.csv` | a 10 x 10 grid of samples `f(A e)` (32 x 32 grey images; the CSV holds the 1024 pixels of each, row-major) |
//! | `eigenvalues.png`, `eigenvalues.svg` | the top 100 eigenvalues of `A A^T` (moving average), bars on a linear scale |
//! | `eigenvalues_log.png`, `eigenvalues_log.svg` | the same on a log scale with the raw `A A^T`, the encoded data's spectrum and the read-off thresholds |
//! | `eigenvalues.csv` | `rank,ema,raw,data`: every eigenvalue of `A A^T` (EMA and raw) and of `cov(g(x))`, largest first |
//! | `eigen_trajectory.png`, `eigen_trajectory.svg`, `eigen_trajectory.csv` | the top eigenvalues against the step, raw and EMA (`step,raw_1..raw_k,ema_1..ema_k`) |
//! | `embedding.png`, `embedding.csv` | fresh images placed by their projection on the top eigenvector against their brightness, with thumbnails in projection order (`index,brightness,projection`) |
//!
//! and [`Measurements::report`] turns the measured numbers into the report's target rows.
//!
//! The images are drawn pixel by pixel, so the two figures of images are PNG only; the charts
//! are written as PNG and SVG.

pub mod plot;
mod run;
pub mod targets;

pub use run::run;
pub use targets::{Measurements, Readoff, SampleSummary, Timing, spearman};

use std::path::Path;

use anyhow::Context as _;
use faer::Mat;

use crate::csv_out;

/// Side of the images (`32`): rows of every image matrix hold `SIDE * SIDE` pixels, row-major.
pub const SIDE: usize = manifold_prior::FADING_SQUARES_SIDE;
/// Pixels per image (`1024`).
pub const PIXELS: usize = SIDE * SIDE;
/// The sample grid is `GRID x GRID` images.
pub const GRID: usize = 10;
/// How many leading eigenvalues the spectrum charts show.
pub const TOP_EIGENVALUES: usize = 100;

/// A value printed in the literature next to the step it was printed at, drawn on the loss
/// curve.
#[derive(Debug, Clone, PartialEq)]
pub struct LossReference {
    /// Who printed it (`"authors"`, `"our JAX"`).
    pub label: String,
    /// `(step, loss)` pairs.
    pub points: Vec<(usize, f64)>,
}

/// The spectra of the read-off, each sorted largest first (length `D = 1024` in a real run).
#[derive(Debug, Clone, PartialEq)]
pub struct Spectra {
    /// Eigenvalues of `A A^T` with the moving average of `A` (the read-off's spectrum).
    pub ema: Vec<f64>,
    /// Eigenvalues of `A A^T` with the final parameters.
    pub raw: Vec<f64>,
    /// Eigenvalues of the covariance of the encoded data `g(x)` (no noise).
    pub data: Vec<f64>,
}

/// The leading eigenvalues of `A A^T` recorded during training.
#[derive(Debug, Clone, PartialEq)]
pub struct EigenTrajectory {
    /// Steps at which the spectrum was recorded, increasing (0 is the initial `A = I`).
    pub steps: Vec<usize>,
    /// `raw[k]`: the leading eigenvalues with the parameters of `steps[k]`, largest first.
    pub raw: Vec<Vec<f64>>,
    /// `ema[k]`: the same with the moving average of `A`.
    pub ema: Vec<Vec<f64>>,
}

impl EigenTrajectory {
    /// How many leading eigenvalues each record keeps (the shortest record).
    pub fn top(&self) -> usize {
        self.raw.iter().chain(&self.ema).map(Vec::len).min().unwrap_or(0)
    }

    /// Check that there is one raw and one EMA record per step.
    ///
    /// # Panics
    /// If `steps`, `raw` and `ema` differ in length.
    #[track_caller]
    pub fn assert_shapes(&self) {
        assert!(
            self.raw.len() == self.steps.len() && self.ema.len() == self.steps.len(),
            "EigenTrajectory: {} steps, {} raw and {} EMA records",
            self.steps.len(),
            self.raw.len(),
            self.ema.len()
        );
    }
}

/// Fresh images with known brightness and their projection on the top eigenvector of `A A^T`.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// `n x 1024` images, one per row.
    pub images: Mat<f64>,
    /// The generating brightness `v` of each image.
    pub brightness: Vec<f64>,
    /// `(g(x) - mu) . u_1`, `u_1` the top eigenvector of the moving-average `A A^T` (its sign
    /// is arbitrary).
    pub projection: Vec<f64>,
}

/// Everything the fading-squares figures and CSVs show.
#[derive(Debug, Clone, PartialEq)]
pub struct FadingSquaresFigures {
    /// A short description of the run for the figure titles (`"const-shift noise, seed 0"`).
    pub run_label: String,
    /// The loss of every training step.
    pub losses: Vec<f64>,
    /// The lower bound of the loss, `D/2 ln(2 pi s^2)` (`-3774.7` for `D = 1024`, `s = 0.01`).
    pub loss_floor: f64,
    /// The plateau target of method.md for this noise mode.
    pub plateau_target: f64,
    /// Printed values to compare with (empty when none apply, e.g. for random noise).
    pub references: Vec<LossReference>,
    /// `n x 1024` samples decoded from the prior; the first `GRID * GRID` form the grid.
    pub samples: Mat<f64>,
    /// The spectra of the read-off.
    pub spectra: Spectra,
    /// The eigenvalue trajectory.
    pub trajectory: EigenTrajectory,
    /// The 1-D embedding of fresh images.
    pub embedding: Embedding,
    /// Spearman's rho between projection and brightness, shown on the embedding figure.
    pub spearman: f64,
    /// The spread `s`.
    pub s: f64,
    /// The relative threshold `tau` of read-off rule 1.
    pub tau: f64,
    /// The factor `c` of the noise-relative threshold `c s^2`.
    pub c: f64,
}

impl FadingSquaresFigures {
    /// Check the shapes of the image matrices and the trajectory.
    ///
    /// # Panics
    /// If an image matrix does not have 1024 columns, the embedding's vectors differ in
    /// length from its images, or the trajectory's records do not match its steps.
    #[track_caller]
    pub fn assert_shapes(&self) {
        for (name, m) in [("samples", &self.samples), ("embedding.images", &self.embedding.images)] {
            assert_eq!(
                m.ncols(),
                PIXELS,
                "FadingSquaresFigures::{name} must be n x {PIXELS}, got {} x {}",
                m.nrows(),
                m.ncols()
            );
        }
        let n = self.embedding.images.nrows();
        assert!(
            self.embedding.brightness.len() == n && self.embedding.projection.len() == n,
            "FadingSquaresFigures::embedding: {n} images, {} brightness values, {} projections",
            self.embedding.brightness.len(),
            self.embedding.projection.len()
        );
        self.trajectory.assert_shapes();
    }
}

/// Write every fading-squares figure and CSV into `out_dir` (created if missing) and return
/// the file names written, in a stable order (for [`crate::report::Report::outputs`]).
///
/// # Panics
/// If the shapes disagree (see [`FadingSquaresFigures::assert_shapes`]).
#[track_caller]
pub fn write_outputs(out_dir: &Path, figures: &FadingSquaresFigures) -> anyhow::Result<Vec<String>> {
    figures.assert_shapes();
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut written = Vec::new();

    plot::render_loss(out_dir, figures)?;
    written.extend(["loss.png".to_owned(), "loss.svg".to_owned()]);
    plot::render_samples(out_dir, figures)?;
    written.push("samples.png".to_owned());
    plot::render_eigenvalues(out_dir, figures)?;
    written.extend(
        ["eigenvalues.png", "eigenvalues.svg", "eigenvalues_log.png", "eigenvalues_log.svg"].map(str::to_owned),
    );
    plot::render_trajectory(out_dir, figures)?;
    written.extend(["eigen_trajectory.png".to_owned(), "eigen_trajectory.svg".to_owned()]);
    plot::render_embedding(out_dir, figures)?;
    written.push("embedding.png".to_owned());

    csv_out::write_rows(
        &out_dir.join("loss.csv"),
        &["step", "loss"],
        figures.losses.iter().enumerate().map(|(step, &l)| [step as f64, l]),
    )?;
    written.push("loss.csv".to_owned());

    let names: Vec<String> = (0..PIXELS).map(|j| format!("p{j}")).collect();
    let header: Vec<&str> = names.iter().map(String::as_str).collect();
    csv_out::write_matrix(&out_dir.join("samples.csv"), &header, figures.samples.as_ref())?;
    written.push("samples.csv".to_owned());

    let sp = &figures.spectra;
    let ranks = sp.ema.len().max(sp.raw.len()).max(sp.data.len());
    let at = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(f64::NAN);
    csv_out::write_rows(
        &out_dir.join("eigenvalues.csv"),
        &["rank", "ema", "raw", "data"],
        (0..ranks).map(|i| [(i + 1) as f64, at(&sp.ema, i), at(&sp.raw, i), at(&sp.data, i)]),
    )?;
    written.push("eigenvalues.csv".to_owned());

    let t = &figures.trajectory;
    let k = t.top();
    let names: Vec<String> = (1..=k).map(|i| format!("raw_{i}")).chain((1..=k).map(|i| format!("ema_{i}"))).collect();
    let header: Vec<&str> = std::iter::once("step").chain(names.iter().map(String::as_str)).collect();
    csv_out::write_rows(
        &out_dir.join("eigen_trajectory.csv"),
        &header,
        t.steps.iter().zip(t.raw.iter().zip(&t.ema)).map(|(&step, (raw, ema))| {
            std::iter::once(step as f64)
                .chain(raw[..k].iter().copied())
                .chain(ema[..k].iter().copied())
                .collect::<Vec<_>>()
        }),
    )?;
    written.push("eigen_trajectory.csv".to_owned());

    let e = &figures.embedding;
    csv_out::write_rows(
        &out_dir.join("embedding.csv"),
        &["index", "brightness", "projection"],
        e.brightness.iter().zip(&e.projection).enumerate().map(|(i, (&b, &p))| [i as f64, b, p]),
    )?;
    written.push("embedding.csv".to_owned());
    Ok(written)
}

#[cfg(test)]
mod tests;
