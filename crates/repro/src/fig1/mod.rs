//! Experiment fig1 (method.md section 3): the sine curve `x2 = sin(2 x1)` in 2-D, a standard
//! flow against a spread flow. This module is the presentation side: the training code fills
//! [`Fig1Panels`] and [`EigenTrajectory`] and calls [`write_outputs`], which writes
//!
//! | file | contents |
//! | --- | --- |
//! | `fig1.png`, `fig1.svg` | the five panels (a) data, (b)/(c) standard flow samples/latent, (d)/(e) spread flow samples/latent |
//! | `eigen_trajectory.png`, `eigen_trajectory.svg` | eigenvalues of `A A^T` against the training step, with `s^2` and `c s^2` |
//! | `data.csv`, `baseline_samples.csv`, `spread_samples.csv` | `x1,x2` |
//! | `baseline_prior_samples.csv`, `baseline_latent.csv`, `spread_prior_samples.csv`, `spread_latent.csv` | `z1,z2` |
//! | `eigenvalues.csv` | `rank,eigenvalue`, largest first |
//! | `eigen_trajectory.csv` | `step,lambda_1,...,lambda_D` |
//!
//! and [`Fig1Measurements::report`] turns the measured numbers into the report's target rows
//! (method.md section 3) and per-seed tables.
//!
//! `repro fig1 --preset NAME` picks the training setting ([`Fig1Preset`]): `default`, the
//! one that meets every target over 10 seeds, or `paper`, the configuration of method.md as
//! written.

pub mod plot;
mod run;
#[cfg(test)]
pub(crate) mod synthetic;
pub mod targets;

pub use run::{Fig1Preset, run};
pub use targets::{AblationResult, Fig1Measurements, SampleQuality, SpreadSeed};

use std::path::Path;

use anyhow::Context as _;
use faer::Mat;

use crate::csv_out;

/// Everything the five panels of `fig1.png` show. Every point set is an `n x 2` matrix, one
/// point per row (sizes may differ between sets). Non-finite points are skipped in the
/// figure and written as-is to the CSVs.
#[derive(Debug, Clone)]
pub struct Fig1Panels {
    /// Panel (a): the training data `x` (data space).
    pub data: Mat<f64>,
    /// Points along the true manifold `x2 = sin(2 x1)`, drawn as a thin reference line in the
    /// data-space panels; 0 rows to draw none. See [`sine_curve`].
    pub reference_curve: Mat<f64>,
    /// Panel (b): standard-flow samples `f(z)`, `z ~ N(0, I)` (data space).
    pub baseline_samples: Mat<f64>,
    /// Panel (c), underneath: prior samples `z ~ N(0, I)` of the standard flow (latent space).
    pub baseline_prior_samples: Mat<f64>,
    /// Panel (c), on top: the data encoded by the standard flow, `g(x)` (the curled curve).
    pub baseline_latent: Mat<f64>,
    /// Panel (d): spread-flow samples `f(mu + A e)`, `e ~ N(0, I)` (data space).
    pub spread_samples: Mat<f64>,
    /// Panel (e), underneath: prior samples `z ~ N(mu, A A^T)` of the spread flow.
    pub spread_prior_samples: Mat<f64>,
    /// Panel (e), on top: the data encoded by the spread flow, `g(x)` (a thin segment).
    pub spread_latent: Mat<f64>,
    /// Eigenvalues of `A A^T` of the figure's run (the final A, the one the gap target
    /// judges), largest first; written on panel (e) and to `eigenvalues.csv`.
    pub eigenvalues: Vec<f64>,
    /// Fraction of standard-flow samples within the tolerance of the curve, shown on (b).
    pub baseline_on_curve: Option<f64>,
    /// Fraction of spread-flow samples within the tolerance of the curve, shown on (d).
    pub spread_on_curve: Option<f64>,
    /// The tolerance of the two fractions above (method.md: 0.05 on `|x2 - sin(2 x1)|`).
    pub on_curve_tolerance: f64,
}

impl Fig1Panels {
    /// Check that every point set has two columns.
    ///
    /// # Panics
    /// If a point set does not have exactly 2 columns (naming the set and its shape).
    #[track_caller]
    pub fn assert_shapes(&self) {
        for (name, m) in self.point_sets() {
            assert_eq!(m.ncols(), 2, "Fig1Panels::{name} must be n x 2, got {} x {}", m.nrows(), m.ncols());
        }
    }

    /// The point sets with their field names.
    fn point_sets(&self) -> [(&'static str, &Mat<f64>); 8] {
        [
            ("data", &self.data),
            ("reference_curve", &self.reference_curve),
            ("baseline_samples", &self.baseline_samples),
            ("baseline_prior_samples", &self.baseline_prior_samples),
            ("baseline_latent", &self.baseline_latent),
            ("spread_samples", &self.spread_samples),
            ("spread_prior_samples", &self.spread_prior_samples),
            ("spread_latent", &self.spread_latent),
        ]
    }
}

/// The eigenvalues of `A A^T` recorded during the spread flow's training: what shows the rank
/// collapse happening.
#[derive(Debug, Clone, PartialEq)]
pub struct EigenTrajectory {
    /// Training steps at which the spectrum was recorded, increasing.
    pub steps: Vec<usize>,
    /// `eigenvalues[k]` is the spectrum at `steps[k]`, largest first; every entry has the same
    /// length `D`.
    pub eigenvalues: Vec<Vec<f64>>,
    /// The spread noise level `s`; the plot marks `s^2`.
    pub s: f64,
    /// The noise-relative read-off factor `c`; the plot marks the threshold `c s^2`.
    pub c: f64,
}

impl EigenTrajectory {
    /// The dimension `D` (length of each spectrum), 0 when empty.
    pub fn dim(&self) -> usize {
        self.eigenvalues.first().map_or(0, Vec::len)
    }

    /// Check that there is one spectrum per step and that all spectra have the same length.
    ///
    /// # Panics
    /// If `steps` and `eigenvalues` differ in length or the spectra differ in length.
    #[track_caller]
    pub fn assert_shapes(&self) {
        assert_eq!(
            self.steps.len(),
            self.eigenvalues.len(),
            "EigenTrajectory: {} steps but {} spectra",
            self.steps.len(),
            self.eigenvalues.len()
        );
        let d = self.dim();
        for (k, e) in self.eigenvalues.iter().enumerate() {
            assert_eq!(e.len(), d, "EigenTrajectory: spectrum {k} has {} values, the first has {d}", e.len());
        }
    }
}

/// `n` points of the true curve `x2 = sin(2 x1)` for `x1` evenly spaced in `[lo, hi]`, as an
/// `n x 2` matrix (the [`Fig1Panels::reference_curve`] for data in original units).
pub fn sine_curve(lo: f64, hi: f64, n: usize) -> Mat<f64> {
    let step = if n > 1 { (hi - lo) / (n - 1) as f64 } else { 0.0 };
    Mat::from_fn(n, 2, |i, j| {
        let x1 = lo + step * i as f64;
        if j == 0 { x1 } else { (2.0 * x1).sin() }
    })
}

/// Write every fig1 figure and CSV into `out_dir` (created if missing) and return the file
/// names written, in a stable order (for [`crate::report::Report::outputs`]).
///
/// # Panics
/// If a point set is not `n x 2` or the trajectory's shapes disagree (see the
/// `assert_shapes` methods).
#[track_caller]
pub fn write_outputs(out_dir: &Path, panels: &Fig1Panels, trajectory: &EigenTrajectory) -> anyhow::Result<Vec<String>> {
    panels.assert_shapes();
    trajectory.assert_shapes();
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let mut written = Vec::new();

    plot::render_fig1(out_dir, panels)?;
    written.extend(["fig1.png".to_owned(), "fig1.svg".to_owned()]);
    plot::render_eigen_trajectory(out_dir, trajectory)?;
    written.extend(["eigen_trajectory.png".to_owned(), "eigen_trajectory.svg".to_owned()]);

    let x = ["x1", "x2"];
    let z = ["z1", "z2"];
    let sets: [(&str, &[&str], &Mat<f64>); 7] = [
        ("data.csv", &x, &panels.data),
        ("baseline_samples.csv", &x, &panels.baseline_samples),
        ("baseline_prior_samples.csv", &z, &panels.baseline_prior_samples),
        ("baseline_latent.csv", &z, &panels.baseline_latent),
        ("spread_samples.csv", &x, &panels.spread_samples),
        ("spread_prior_samples.csv", &z, &panels.spread_prior_samples),
        ("spread_latent.csv", &z, &panels.spread_latent),
    ];
    for (file, header, m) in sets {
        csv_out::write_matrix(&out_dir.join(file), header, m.as_ref())?;
        written.push(file.to_owned());
    }

    csv_out::write_rows(
        &out_dir.join("eigenvalues.csv"),
        &["rank", "eigenvalue"],
        panels.eigenvalues.iter().enumerate().map(|(i, &v)| [(i + 1) as f64, v]),
    )?;
    written.push("eigenvalues.csv".to_owned());

    let names: Vec<String> = (1..=trajectory.dim()).map(|i| format!("lambda_{i}")).collect();
    let header: Vec<&str> = std::iter::once("step").chain(names.iter().map(String::as_str)).collect();
    csv_out::write_rows(
        &out_dir.join("eigen_trajectory.csv"),
        &header,
        trajectory
            .steps
            .iter()
            .zip(&trajectory.eigenvalues)
            .map(|(&step, e)| std::iter::once(step as f64).chain(e.iter().copied()).collect::<Vec<f64>>()),
    )?;
    written.push("eigen_trajectory.csv".to_owned());
    Ok(written)
}

#[cfg(test)]
mod tests;
