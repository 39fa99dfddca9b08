//! PCA with the Fukunaga-Olsen rule (skdim's `lPCA(ver='FO')`): the number of principal
//! variances above a fraction of the largest, globally or over every point's k-neighbourhood.

use crate::par::prelude::*;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par, Side};

use crate::{Combine, Estimate, EstimateError, Estimator, KnnGraph, check};

/// Where [`Pca`] looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PcaMode {
    /// One PCA of the whole data set (skdim's `lPCA().fit(X)`).
    Global,
    /// One PCA per point over its `k` nearest neighbours, the point itself excluded (skdim's
    /// `lPCA().fit_pw(X, n_neighbors=k)`, default `k = 100`), combined into the global value.
    Pointwise {
        /// Neighbourhood size.
        k: usize,
        /// How the local counts are combined (skdim leaves this to the user: mean or median).
        combine: Combine,
    },
}

/// Local PCA with the Fukunaga-Olsen rule.
///
/// With `lambda_1 >= ... >= lambda_p` the eigenvalues of the sample covariance of the (centred)
/// data, the estimate is `#{ j : lambda_j > alpha lambda_1 }` (an integer; 0 for constant data).
/// In [`PcaMode::Pointwise`] the local values are these counts over each point's neighbourhood
/// and the global value is their mean or median; the diagnostic `global_pca` holds the
/// whole-data count. Diagnostics: `alpha`, and `k` in pointwise mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Fraction of the largest variance a direction must exceed (skdim's `alphaFO`, 0.05).
    pub alpha: f64,
    /// Global or pointwise.
    pub mode: PcaMode,
}

impl Default for Pca {
    /// skdim's default: global, `alpha = 0.05`.
    fn default() -> Self {
        Pca { alpha: 0.05, mode: PcaMode::Global }
    }
}

impl Pca {
    /// Pointwise mode over `k`-neighbourhoods combined by the mean, `alpha = 0.05`.
    pub fn pointwise(k: usize) -> Self {
        Pca { alpha: 0.05, mode: PcaMode::Pointwise { k, combine: Combine::Mean } }
    }

    /// The Fukunaga-Olsen count of the rows of `x` (`m x d`, any `m >= 1`).
    fn fo_count(&self, x: MatRef<'_, f64>) -> Result<usize, EstimateError> {
        let ev = spectrum(x)?;
        let top = ev.iter().copied().fold(0.0, f64::max);
        Ok(ev.iter().filter(|&&l| l > self.alpha * top).count())
    }
}

/// Eigenvalues (unordered, up to scale `2^-2e / (m - 1)` with `2^e` the power of two nearest
/// below the largest `|x_ij|`) of the sample covariance of the rows of `x`:
/// from the `d x d` scatter matrix `X_c^T X_c` when `d <= m`, otherwise from the `m x m` Gram
/// matrix `X_c X_c^T`, which has the same non-zero eigenvalues. Large inputs are summed over row
/// blocks in parallel, in a fixed order.
fn spectrum(x: MatRef<'_, f64>) -> Result<Vec<f64>, EstimateError> {
    let (m, d) = (x.nrows(), x.ncols());
    // Divided by the power of two that puts the largest entry in [1, 2): exact, so data scaled
    // by any power of two gives the same matrix, and no square overflows or underflows.
    let exp = check::magnitude_exponent(x);
    let x = Mat::from_fn(m, d, |i, j| check::times_pow2(x[(i, j)], -exp));
    let mean: Vec<f64> = (0..d).map(|j| (0..m).map(|i| x[(i, j)]).sum::<f64>() / m as f64).collect();
    let xc = Mat::from_fn(m, d, |i, j| x[(i, j)] - mean[j]);
    let s = if d <= m {
        const ROWS: usize = 2048;
        let blocks: Vec<Mat<f64>> = (0..m.div_ceil(ROWS))
            .into_par_iter()
            .map(|b| {
                let rows = xc.as_ref().subrows(b * ROWS, ROWS.min(m - b * ROWS));
                let mut s = Mat::<f64>::zeros(d, d);
                matmul(s.as_mut(), Accum::Replace, rows.transpose(), rows, 1.0, Par::Seq);
                s
            })
            .collect();
        let mut s = Mat::<f64>::zeros(d, d);
        for b in &blocks {
            s += b;
        }
        s
    } else {
        let mut g = Mat::<f64>::zeros(m, m);
        matmul(g.as_mut(), Accum::Replace, xc.as_ref(), xc.as_ref().transpose(), 1.0, Par::Seq);
        g
    };
    s.self_adjoint_eigenvalues(Side::Lower)
        .map_err(|e| EstimateError::Failed(format!("PCA eigenvalues did not converge: {e:?}")))
}

impl Estimator for Pca {
    fn name(&self) -> &str {
        "lpca"
    }

    fn neighbours(&self) -> usize {
        match self.mode {
            PcaMode::Global => 0,
            PcaMode::Pointwise { k, .. } => k,
        }
    }

    fn estimate(&self, data: MatRef<'_, f64>) -> Result<Estimate, EstimateError> {
        match self.mode {
            PcaMode::Global => {
                check::samples(data, 2)?;
                check::finite(data)?;
                Ok(Estimate {
                    dimension: self.fo_count(data)? as f64,
                    local: None,
                    diagnostics: vec![("alpha".into(), self.alpha)],
                })
            }
            PcaMode::Pointwise { k, .. } => {
                let graph = KnnGraph::build(data, k)?;
                self.estimate_with_graph(data, &graph)
            }
        }
    }

    fn estimate_with_graph(&self, data: MatRef<'_, f64>, graph: &KnnGraph) -> Result<Estimate, EstimateError> {
        let PcaMode::Pointwise { k, combine } = self.mode else {
            return self.estimate(data);
        };
        check::graph(data, graph, k)?;
        check::finite(data)?;
        let local = (0..graph.n())
            .into_par_iter()
            .map(|i| {
                let nb = &graph.indices(i)[..k];
                let x = Mat::from_fn(k, data.ncols(), |r, c| data[(nb[r], c)]);
                self.fo_count(x.as_ref()).map(|c| c as f64)
            })
            .collect::<Result<Vec<f64>, _>>()?;
        let dimension = combine
            .apply(&local)
            .ok_or_else(|| EstimateError::Degenerate("a neighbourhood has zero variance (all duplicates)".into()))?;
        let global = self.fo_count(data)? as f64;
        Ok(Estimate {
            dimension,
            local: Some(local),
            diagnostics: vec![("alpha".into(), self.alpha), ("k".into(), k as f64), ("global_pca".into(), global)],
        })
    }
}
