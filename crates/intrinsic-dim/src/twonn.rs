//! TwoNN (Facco, d'Errico, Rodriguez and Laio 2017): the ratio of each point's second to first
//! neighbour distance follows a Pareto law whose shape is the intrinsic dimension (skdim's
//! `TwoNN`).

use faer::MatRef;

use crate::{Estimate, EstimateError, Estimator, KnnGraph, check};

/// How [`TwoNn`] fits the Pareto shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TwoNnFit {
    /// The least-squares line through the origin of Facco et al.:
    /// `d = sum_i x_i y_i / sum_i x_i^2` with `x_i = ln mu_(i)`, `y_i = -ln(1 - i/N)`
    /// (skdim's `method='linear'`, the default).
    #[default]
    Linear,
    /// The unbiased maximum-likelihood estimate under Type-II censoring:
    /// `d = (K - 1) / (sum_{i<=K} ln mu_(i) + (N - K) ln mu_(K))` (skdim's `method='mle'`).
    Mle,
}

/// The TwoNN estimator.
///
/// `mu_i = r_2(i) / r_1(i)` follows `Pareto(1, d)`, i.e. `P(mu <= x) = 1 - x^{-d}`. With the `N`
/// ratios sorted, `mu_(1) <= ... <= mu_(N)`, the largest fraction
/// [`discard_fraction`](TwoNn::discard_fraction) is dropped, keeping `K = floor(N (1 - f))`, and
/// `d` is fitted to `-ln(1 - F_emp(mu_(i))) = d ln mu_(i)`, `F_emp(mu_(i)) = i / N`, as chosen by
/// [`fit`](TwoNn::fit).
///
/// Points with `r_1 = 0` (duplicates) give no ratio and are dropped before counting `N`, as skdim
/// does. Diagnostics: `n_ratios` (`N`), `n_kept` (`K`), `skipped_duplicates`.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoNn {
    /// Fraction in `[0, 1)` of the largest ratios to discard (skdim default 0.1).
    pub discard_fraction: f64,
    /// The fit.
    pub fit: TwoNnFit,
}

impl Default for TwoNn {
    /// skdim's defaults: discard 10%, linear fit.
    fn default() -> Self {
        TwoNn { discard_fraction: 0.1, fit: TwoNnFit::Linear }
    }
}

impl TwoNn {
    /// `K = floor(N (1 - f))`, computed as NumPy's `int(N * (1 - f))`.
    fn kept(&self, n: usize) -> usize {
        (n as f64 * (1.0 - self.discard_fraction)) as usize
    }

    /// The dimension from the unsorted ratios `mu` (all finite, `>= 1`).
    fn fit_ratios(&self, mut mu: Vec<f64>) -> Option<(f64, usize)> {
        let n = mu.len();
        let keep = self.kept(n);
        mu.sort_by(f64::total_cmp);
        let log_mu: Vec<f64> = mu[..keep].iter().map(|m| m.ln()).collect();
        let d = match self.fit {
            TwoNnFit::Linear => {
                let (mut sxy, mut sxx) = (0.0, 0.0);
                for (i, &x) in log_mu.iter().enumerate() {
                    let y = -(1.0 - (i + 1) as f64 / n as f64).ln();
                    sxy += x * y;
                    sxx += x * x;
                }
                sxy / sxx
            }
            TwoNnFit::Mle => {
                let last = log_mu[keep - 1];
                (keep - 1) as f64 / (log_mu.iter().sum::<f64>() + (n - keep) as f64 * last)
            }
        };
        d.is_finite().then_some((d, keep))
    }
}

impl Estimator for TwoNn {
    fn name(&self) -> &str {
        "twonn"
    }

    fn neighbours(&self) -> usize {
        2
    }

    /// # Panics
    /// If `discard_fraction` is not in `[0, 1)`.
    #[track_caller]
    fn estimate(&self, data: MatRef<'_, f64>) -> Result<Estimate, EstimateError> {
        check::with_own_graph(self, data)
    }

    /// # Panics
    /// If `discard_fraction` is not in `[0, 1)`, or the graph is for other data.
    #[track_caller]
    fn estimate_with_graph(&self, data: MatRef<'_, f64>, graph: &KnnGraph) -> Result<Estimate, EstimateError> {
        let f = self.discard_fraction;
        assert!((0.0..1.0).contains(&f), "discard_fraction must be in [0, 1), got {f}");
        check::graph(data, graph, 2)?;
        let total = graph.n();
        let mu: Vec<f64> = (0..total).map(|i| graph.distances(i)).filter(|r| r[0] > 0.0).map(|r| r[1] / r[0]).collect();
        let n = mu.len();
        let skipped = total - n;
        if self.kept(n) < 2 {
            if skipped > 0 {
                return Err(EstimateError::Duplicates { skipped, total });
            }
            let needed = (n..).find(|&m| self.kept(m) >= 2).unwrap_or(usize::MAX);
            return Err(EstimateError::TooFewSamples { needed, got: total });
        }
        let (dimension, keep) = self.fit_ratios(mu).ok_or_else(|| {
            EstimateError::Degenerate(
                "every kept point has its first and second neighbours at the same distance".into(),
            )
        })?;
        Ok(Estimate {
            dimension,
            local: None,
            diagnostics: vec![
                ("n_ratios".into(), n as f64),
                ("n_kept".into(), keep as f64),
                ("skipped_duplicates".into(), skipped as f64),
            ],
        })
    }
}
