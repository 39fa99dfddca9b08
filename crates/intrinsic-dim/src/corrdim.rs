//! The correlation dimension of Grassberger and Procaccia as skdim's `CorrInt` computes it: the
//! slope of the log correlation integral between two radii set by neighbour distances.

use faer::MatRef;

use crate::knn::count_pairs_in_units;
use crate::{Algorithm, Estimate, EstimateError, Estimator, KnnGraph, check};

/// Correlation dimension between the `k1`-th and `k2`-th neighbour scales.
///
/// `r_1 = median_i r_{k1}(i)`, `r_2 = median_i r_{k2}(i)` (distances to the `k1`-th and `k2`-th
/// nearest neighbours), the correlation integral `C(r) = #{(i, j) : i != j, |x_i - x_j| < r} /
/// n^2` over ordered pairs, and
///
/// `d = (ln C(r_2) - ln C(r_1)) / ln(r_2 / r_1)`.
///
/// The diagnostics `r1` and `r2` are in the data's units (infinite or zero if the data's
/// scale puts them outside `f64`; the estimate is computed in the graph's units and is not
/// affected).
///
/// Unlike skdim, which shrinks `k1` and `k2` with a warning when `k2 >= n`, this returns
/// [`EstimateError::TooFewSamples`]; a zero radius or empty count is
/// [`EstimateError::Degenerate`]. Diagnostics: `r1`, `r2`, `c1`, `c2`.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationDimension {
    /// Neighbour rank of the smaller radius (skdim default 10).
    pub k1: usize,
    /// Neighbour rank of the larger radius (skdim default 20).
    pub k2: usize,
}

impl Default for CorrelationDimension {
    /// skdim's defaults: `k1 = 10`, `k2 = 20`.
    fn default() -> Self {
        CorrelationDimension { k1: 10, k2: 20 }
    }
}

impl CorrelationDimension {
    /// Radii from the `k1`-th and `k2`-th neighbour distances.
    ///
    /// # Panics
    /// If `k1 == 0` or `k1 >= k2`.
    #[track_caller]
    pub fn new(k1: usize, k2: usize) -> Self {
        assert!(k1 >= 1 && k1 < k2, "CorrInt needs 1 <= k1 < k2, got k1 = {k1}, k2 = {k2}");
        CorrelationDimension { k1, k2 }
    }
}

impl Estimator for CorrelationDimension {
    fn name(&self) -> &str {
        "corrdim"
    }

    fn neighbours(&self) -> usize {
        self.k2
    }

    fn estimate(&self, data: MatRef<'_, f64>) -> Result<Estimate, EstimateError> {
        check::with_own_graph(self, data)
    }

    fn estimate_with_graph(&self, data: MatRef<'_, f64>, graph: &KnnGraph) -> Result<Estimate, EstimateError> {
        check::graph(data, graph, self.k2)?;
        let n = graph.n();
        let kth = |k: usize| check::median(&(0..n).map(|i| graph.distances(i)[k - 1]).collect::<Vec<_>>());
        let (r1, r2) = (kth(self.k1), kth(self.k2));
        if r1 <= 0.0 {
            return Err(EstimateError::Degenerate(format!(
                "the median distance to the {}-th neighbour is 0 (too many duplicate points)",
                self.k1
            )));
        }
        if r2 <= r1 {
            return Err(EstimateError::Degenerate(format!(
                "the median {}-th and {}-th neighbour distances are equal",
                self.k1, self.k2
            )));
        }
        let unit = graph.unit_exponent();
        let counts = count_pairs_in_units(data, &[r1, r2], unit, Algorithm::Auto)?;
        let n2 = (n as f64) * (n as f64);
        let (c1, c2) = (counts[0] as f64 / n2, counts[1] as f64 / n2);
        if counts[0] == 0 {
            return Err(EstimateError::Degenerate("no pair lies within the smaller radius".into()));
        }
        Ok(Estimate {
            dimension: (c2.ln() - c1.ln()) / (r2 / r1).ln(),
            local: None,
            diagnostics: vec![
                ("r1".into(), check::times_pow2(r1, unit)),
                ("r2".into(), check::times_pow2(r2, unit)),
                ("c1".into(), c1),
                ("c2".into(), c2),
            ],
        })
    }
}
