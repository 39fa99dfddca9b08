//! The Levina-Bickel maximum-likelihood estimator with MacKay and Ghahramani's averaging of
//! inverses (skdim's `MLE` with its defaults: no noise model, `comb='mle'`, `k = 20`).

use faer::MatRef;

use crate::{Combine, Estimate, EstimateError, Estimator, KnnGraph, check};

/// Levina-Bickel MLE of the intrinsic dimension.
///
/// With `r_1(i) <= ... <= r_k(i)` the distances from point `i` to its `k` nearest neighbours,
/// the local estimate is
///
/// `m_k(i) = (k - 1) / sum_{j=1}^{k} ln(r_k(i) / r_j(i))`
///
/// (`k - 2` in the numerator with [`unbiased`](Mle::unbiased), skdim's `unbiased=True`), and the
/// global estimate combines the local ones, by default with the harmonic mean
/// `m_k = (1/n sum_i 1/m_k(i))^{-1}` (MacKay and Ghahramani; skdim's `comb='mle'`).
///
/// Over a range `k1..=k2` (Levina and Bickel's proposal; not in skdim) the global estimate is the
/// mean `1/(k2 - k1 + 1) sum_k m_k` and the local ones are `1/(k2 - k1 + 1) sum_k m_k(i)`.
///
/// Points whose nearest neighbour is at distance 0 (duplicates) are skipped: their local value
/// is NaN, they do not enter the global value, and `skipped_duplicates` counts them. Diagnostics:
/// `k1`, `k2`, `skipped_duplicates`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mle {
    /// Smallest neighbourhood size (at least 2).
    pub k1: usize,
    /// Largest neighbourhood size (`k1 <= k2`); `k1 == k2` is skdim's single `k`.
    pub k2: usize,
    /// How local estimates are combined.
    pub combine: Combine,
    /// Use `k - 2` instead of `k - 1` in the numerator (skdim's `unbiased`).
    pub unbiased: bool,
}

impl Default for Mle {
    /// skdim's defaults: `k = 20`, harmonic mean, `k - 1`.
    fn default() -> Self {
        Mle::new(20)
    }
}

impl Mle {
    /// A single neighbourhood size `k` (skdim's `n_neighbors`).
    ///
    /// # Panics
    /// If `k < 2`.
    #[track_caller]
    pub fn new(k: usize) -> Self {
        Mle::range(k, k)
    }

    /// Neighbourhood sizes `k1..=k2`, averaged (Levina and Bickel 2005).
    ///
    /// # Panics
    /// If `k1 < 2` or `k1 > k2`.
    #[track_caller]
    pub fn range(k1: usize, k2: usize) -> Self {
        assert!(k1 >= 2 && k1 <= k2, "MLE needs 2 <= k1 <= k2, got k1 = {k1}, k2 = {k2}");
        Mle { k1, k2, combine: Combine::HarmonicMean, unbiased: false }
    }

    /// With another way of combining the local estimates.
    pub fn with_combine(mut self, combine: Combine) -> Self {
        self.combine = combine;
        self
    }

    /// `m_k(i)` from the sorted distances `r` of one point (`r[0] > 0`).
    fn local(&self, r: &[f64]) -> f64 {
        let k = r.len();
        let kfac = if self.unbiased { k - 2 } else { k - 1 } as f64;
        let rk = r[k - 1];
        kfac / r.iter().map(|&rj| (rk / rj).ln()).sum::<f64>()
    }
}

impl Estimator for Mle {
    fn name(&self) -> &str {
        "mle"
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
        let kept: Vec<usize> = (0..n).filter(|&i| graph.distances(i)[0] > 0.0).collect();
        let skipped = n - kept.len();
        if kept.len() < 2 {
            return Err(EstimateError::Duplicates { skipped, total: n });
        }
        let mut local = vec![0.0; n];
        let mut global = 0.0;
        let sizes = self.k2 - self.k1 + 1;
        for k in self.k1..=self.k2 {
            let mk: Vec<f64> = kept.iter().map(|&i| self.local(&graph.distances(i)[..k])).collect();
            for (&i, m) in kept.iter().zip(&mk) {
                local[i] += m / sizes as f64;
            }
            global += self
                .combine
                .apply(&mk)
                .ok_or_else(|| EstimateError::Degenerate(format!("a local MLE at k = {k} is 0")))?
                / sizes as f64;
        }
        if !global.is_finite() {
            return Err(EstimateError::Degenerate(
                "the MLE diverged: some points have all k neighbours at the same distance".into(),
            ));
        }
        for i in (0..n).filter(|&i| graph.distances(i)[0] == 0.0) {
            local[i] = f64::NAN;
        }
        Ok(Estimate {
            dimension: global,
            local: Some(local),
            diagnostics: vec![
                ("k1".into(), self.k1 as f64),
                ("k2".into(), self.k2 as f64),
                ("skipped_duplicates".into(), skipped as f64),
            ],
        })
    }
}
