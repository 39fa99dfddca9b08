//! Moments, pairwise distances and PCA shared by the metrics.

use anyhow::Context as _;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use manifold_prior::Spectrum;

/// The mean of the rows, `m_j = (1/n) sum_i x_ij`, as a vector.
pub fn mean_row(x: MatRef<'_, f64>) -> Vec<f64> {
    let n = x.nrows().max(1) as f64;
    (0..x.ncols()).map(|j| (0..x.nrows()).map(|i| x[(i, j)]).sum::<f64>() / n).collect()
}

/// The sample covariance of the rows, `S = (1/(n-1)) sum_i (x_i - m)^T (x_i - m)` (`d x d`;
/// divided by 1 when `n = 1`).
pub fn covariance(x: MatRef<'_, f64>) -> Mat<f64> {
    let m = mean_row(x);
    let xc = Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] - m[j]);
    let mut s = Mat::<f64>::zeros(x.ncols(), x.ncols());
    matmul(s.as_mut(), Accum::Replace, xc.transpose(), xc.as_ref(), 1.0 / (x.nrows().max(2) - 1) as f64, Par::rayon(0));
    s
}

/// Squared Euclidean distances `|a_i - b_j|^2` (`n_a x n_b`), from
/// `|a|^2 + |b|^2 - 2 a b^T` (clamped at 0 against rounding).
pub fn squared_distances(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut g = Mat::<f64>::zeros(a.nrows(), b.nrows());
    matmul(g.as_mut(), Accum::Replace, a, b.transpose(), -2.0, Par::rayon(0));
    let na: Vec<f64> = (0..a.nrows()).map(|i| (0..a.ncols()).map(|j| a[(i, j)] * a[(i, j)]).sum()).collect();
    let nb: Vec<f64> = (0..b.nrows()).map(|i| (0..b.ncols()).map(|j| b[(i, j)] * b[(i, j)]).sum()).collect();
    Mat::from_fn(a.nrows(), b.nrows(), |i, j| (g[(i, j)] + na[i] + nb[j]).max(0.0))
}

/// The fraction of positions where `predicted` equals `truth` (0 for empty input).
pub fn accuracy(predicted: &[usize], truth: &[usize]) -> f64 {
    let hits = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    hits as f64 / predicted.len().max(1) as f64
}

/// Principal components of a training set: the mean `m` and the eigenvectors `u_1, u_2, ...`
/// of the sample covariance, largest eigenvalue first; [`Pca::project`] maps `x` to
/// `((x - m) u_1, ..., (x - m) u_K)`.
#[derive(Debug, Clone)]
pub struct Pca {
    /// The training mean.
    pub mean: Vec<f64>,
    /// The covariance's eigenvalues, largest first.
    pub eigenvalues: Vec<f64>,
    /// The eigenvectors as columns, in the order of `eigenvalues`.
    pub vectors: Mat<f64>,
}

impl Pca {
    /// Fit on the rows of `x`.
    ///
    /// # Errors
    /// A covariance that is not finite or whose eigen-decomposition does not converge.
    pub fn fit(x: MatRef<'_, f64>) -> anyhow::Result<Self> {
        let spectrum = Spectrum::of(covariance(x).as_ref()).context("PCA of the training set")?;
        Ok(Self { mean: mean_row(x), eigenvalues: spectrum.values, vectors: spectrum.vectors })
    }

    /// The projection of the rows of `x` on the top `k` components (`n x k`, `k` capped at
    /// the dimension).
    pub fn project(&self, x: MatRef<'_, f64>, k: usize) -> Mat<f64> {
        let k = k.min(self.vectors.ncols());
        let xc = Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] - self.mean[j]);
        let mut out = Mat::<f64>::zeros(x.nrows(), k);
        matmul(out.as_mut(), Accum::Replace, xc.as_ref(), self.vectors.get(.., ..k), 1.0, Par::rayon(0));
        out
    }
}
