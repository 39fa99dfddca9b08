//! The Frechet distance between two feature sets (Heusel et al. 2017's FID, on the features of
//! the in-project classifier).

use anyhow::Context as _;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use manifold_prior::Spectrum;

use super::stats::{covariance, mean_row};

/// The Frechet distance between Gaussians fitted to the rows of `a` and of `b` (see
/// [`frechet_gaussians`]).
///
/// # Errors
/// Different column counts, fewer than 2 rows, or a covariance that cannot be decomposed.
pub fn frechet_distance(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> anyhow::Result<f64> {
    anyhow::ensure!(a.ncols() == b.ncols(), "Frechet distance: {} vs {} features", a.ncols(), b.ncols());
    anyhow::ensure!(a.nrows() >= 2 && b.nrows() >= 2, "Frechet distance: at least 2 rows per set");
    frechet_gaussians(&mean_row(a), covariance(a).as_ref(), &mean_row(b), covariance(b).as_ref())
}

/// The squared 2-Wasserstein (Frechet) distance between `N(m_1, S_1)` and `N(m_2, S_2)`:
/// `|m_1 - m_2|^2 + tr S_1 + tr S_2 - 2 tr (S_1^{1/2} S_2 S_1^{1/2})^{1/2}`, the matrix square
/// roots taken through symmetric eigen-decompositions (negative rounding eigenvalues set to 0).
///
/// # Errors
/// Mismatched sizes, or a covariance that is not finite or cannot be decomposed.
pub fn frechet_gaussians(m1: &[f64], s1: MatRef<'_, f64>, m2: &[f64], s2: MatRef<'_, f64>) -> anyhow::Result<f64> {
    let d = m1.len();
    anyhow::ensure!(
        m2.len() == d && s1.shape() == (d, d) && s2.shape() == (d, d),
        "Frechet distance: mismatched sizes"
    );
    let mean_term: f64 = m1.iter().zip(m2).map(|(x, y)| (x - y) * (x - y)).sum();
    let e1 = Spectrum::of(s1).context("eigen-decomposition of the first covariance")?;
    let root1 = Mat::from_fn(d, d, |i, j| {
        (0..d).map(|k| e1.vectors[(i, k)] * e1.values[k].sqrt() * e1.vectors[(j, k)]).sum::<f64>()
    });
    let mut tmp = Mat::<f64>::zeros(d, d);
    matmul(tmp.as_mut(), Accum::Replace, root1.as_ref(), s2, 1.0, Par::Seq);
    let mut m = Mat::<f64>::zeros(d, d);
    matmul(m.as_mut(), Accum::Replace, tmp.as_ref(), root1.as_ref(), 1.0, Par::Seq);
    // Symmetrise against rounding before the decomposition.
    let m = Mat::from_fn(d, d, |i, j| 0.5 * (m[(i, j)] + m[(j, i)]));
    let cross: f64 =
        Spectrum::of(m.as_ref()).context("eigen-decomposition of the product")?.values.iter().map(|v| v.sqrt()).sum();
    let trace = |s: MatRef<'_, f64>| (0..d).map(|i| s[(i, i)]).sum::<f64>();
    Ok((mean_term + trace(s1) + trace(s2) - 2.0 * cross).max(0.0))
}
