#![doc = include_str!("../README.md")]
//!
//! # API overview
//!
//! Classical intrinsic-dimension estimators behind one [`Estimator`] trait, over a shared exact
//! k-nearest-neighbour graph. This crate knows nothing of flows: the flow-based estimator lives
//! in `manifold-prior` and implements [`Estimator`] there.
//!
//! The estimators follow scikit-dimension 0.5 (`skdim.id`) definitions and defaults, and agree
//! with it to `1e-6` relative on the same data (the tests check this against committed
//! fixtures):
//!
//! | estimator | skdim | default parameters |
//! | --- | --- | --- |
//! | [`Mle`] | `MLE` (Levina-Bickel, `comb='mle'`: harmonic mean of local values) | `k = 20` |
//! | [`TwoNn`] | `TwoNN` (Facco et al. 2017, linear fit through the origin) | discard the largest 10% of ratios |
//! | [`Pca`] | `lPCA(ver='FO')` | `alpha = 0.05`, global; pointwise over `k = 100` neighbourhoods |
//! | [`CorrelationDimension`] | `CorrInt` (Grassberger-Procaccia) | `k1 = 10`, `k2 = 20` |
//!
//! Exact k-nearest neighbours dominate the cost of every method. A [`KnnGraph`] is computed once
//! and handed to several estimators through [`Estimator::estimate_with_graph`] (or all at once
//! with [`estimate_all`]); each takes the first `k` neighbours it needs from the graph.
//!
//! ```
//! use faer::Mat;
//! use intrinsic_dim::{Estimator, KnnGraph, Mle, TwoNn, Pca};
//!
//! // 400 points at pseudo-random angles on the unit circle in the (x, y) plane of R^3:
//! // intrinsic dimension 1.
//! let angle = |i: usize| ((i as f64 * 12.9898).sin() * 43758.5453).fract().abs() * std::f64::consts::TAU;
//! let data = Mat::from_fn(400, 3, |i, j| [angle(i).cos(), angle(i).sin(), 0.0][j]);
//! let graph = KnnGraph::build(data.as_ref(), 20)?;
//! let mle = Mle::default().estimate_with_graph(data.as_ref(), &graph)?;
//! let twonn = TwoNn::default().estimate_with_graph(data.as_ref(), &graph)?;
//! assert!((mle.dimension - 1.0).abs() < 0.1, "{}", mle.dimension);
//! assert!((twonn.dimension - 1.0).abs() < 0.1, "{}", twonn.dimension);
//! // A global PCA sees the two directions the circle spans.
//! assert_eq!(Pca::default().estimate(data.as_ref())?.dimension, 2.0);
//! # Ok::<(), intrinsic_dim::EstimateError>(())
//! ```
//!
//! # Duplicate points
//! Zero distances never reach a logarithm or a division. The graph keeps duplicates as
//! neighbours at distance 0 (as scikit-learn does); [`Mle`] and [`TwoNn`] skip the points whose
//! nearest neighbour is at distance 0 (TwoNN exactly as skdim does; skdim's MLE would return 0 or
//! NaN there), report the number skipped in the diagnostics, and return
//! [`EstimateError::Duplicates`] when too few points are left. [`CorrelationDimension`] returns
//! [`EstimateError::Degenerate`] when a radius is 0.

use faer::MatRef;

mod check;
pub mod corrdim;
pub mod knn;
pub mod mle;
mod par;
pub mod pca;
pub mod twonn;

pub use check::{magnitude_exponent, median, times_pow2};
pub use corrdim::CorrelationDimension;
/// The dense-matrix crate of every signature here (`MatRef<f64>` data, one sample per row),
/// re-exported so that users need no dependency of their own on a matching version.
pub use faer;
pub use knn::{Algorithm, KnnGraph, count_pairs_within};
pub use mle::Mle;
pub use pca::{Pca, PcaMode};
pub use twonn::{TwoNn, TwoNnFit};

/// The result of an intrinsic-dimension estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The global estimate of the intrinsic dimension (not rounded).
    pub dimension: f64,
    /// Per-point (local) estimates, where the method has them.
    pub local: Option<Vec<f64>>,
    /// Named diagnostic values (e.g. the fitted slope, discarded points).
    pub diagnostics: Vec<(String, f64)>,
}

impl Estimate {
    /// The diagnostic value called `name`, if the estimator reported one.
    pub fn diagnostic(&self, name: &str) -> Option<f64> {
        self.diagnostics.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }
}

/// Why an estimate could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimateError {
    /// Too few samples for the method's parameters.
    #[error("need at least {needed} samples, got {got}")]
    TooFewSamples {
        /// The minimum number of samples.
        needed: usize,
        /// The number of samples given.
        got: usize,
    },
    /// The data holds NaN or infinite values.
    #[error("data holds a non-finite value at row {row}, column {col}")]
    NonFinite {
        /// Row of the first non-finite value.
        row: usize,
        /// Column of the first non-finite value.
        col: usize,
    },
    /// A precomputed neighbour graph holds fewer neighbours per point than the method needs.
    #[error("the neighbour graph holds {got} neighbours per point, the estimator needs {needed}")]
    TooFewNeighbours {
        /// Neighbours per point the estimator needs.
        needed: usize,
        /// Neighbours per point in the graph.
        got: usize,
    },
    /// Too many points coincide with another point (nearest-neighbour distance 0) for the
    /// method to use the rest.
    #[error(
        "{skipped} of {total} points have a duplicate (nearest-neighbour distance 0); \
         too few distinct points are left (remove duplicates first)"
    )]
    Duplicates {
        /// Points skipped because their nearest neighbour is at distance 0.
        skipped: usize,
        /// Points in the data.
        total: usize,
    },
    /// The data are degenerate for the method (e.g. a zero radius), with an explanation.
    #[error("degenerate data: {0}")]
    Degenerate(String),
    /// Any other failure, with an explanation.
    #[error("{0}")]
    Failed(String),
}

/// An intrinsic-dimension estimator: data `n x d`, one sample per row, in; an [`Estimate`] out.
///
/// Required: [`name`](Estimator::name) and [`estimate`](Estimator::estimate). Estimators built on
/// k-nearest neighbours also override [`neighbours`](Estimator::neighbours) and
/// [`estimate_with_graph`](Estimator::estimate_with_graph), so that one [`KnnGraph`] built with
/// the largest `k` any of them needs serves them all (see [`estimate_all`]).
///
/// ```
/// use faer::Mat;
/// use intrinsic_dim::{Estimator, CorrelationDimension, KnnGraph};
///
/// let data = Mat::from_fn(300, 2, |i, j| (((i * 37 + j * 101) % 300) as f64 / 300.0).sqrt());
/// let est = CorrelationDimension::default();
/// let graph = KnnGraph::build(data.as_ref(), est.neighbours())?;
/// let a = est.estimate_with_graph(data.as_ref(), &graph)?;
/// let b = est.estimate(data.as_ref())?;
/// assert_eq!(a.dimension, b.dimension);
/// # Ok::<(), intrinsic_dim::EstimateError>(())
/// ```
pub trait Estimator {
    /// A short name (`"mle"`, `"twonn"`, ...).
    fn name(&self) -> &str;

    /// Estimate the intrinsic dimension of `data` (`n x d`, one sample per row).
    fn estimate(&self, data: MatRef<'_, f64>) -> Result<Estimate, EstimateError>;

    /// Neighbours per point the estimator reads from a [`KnnGraph`] (0: it uses none).
    fn neighbours(&self) -> usize {
        0
    }

    /// Estimate from `data` and a neighbour graph of it holding at least
    /// [`neighbours`](Estimator::neighbours) neighbours per point (a graph with more is fine:
    /// the first ones are used). The default ignores the graph.
    ///
    /// # Panics
    /// If `graph` was built for a different number of points than `data` has.
    fn estimate_with_graph(&self, data: MatRef<'_, f64>, _graph: &KnnGraph) -> Result<Estimate, EstimateError> {
        self.estimate(data)
    }
}

/// Run several estimators on the same data, searching neighbours once: the graph is built with
/// `max_e neighbours(e)` neighbours per point and shared. Results are in the order given; when
/// the graph cannot be built, every estimator that needs it gets that error.
pub fn estimate_all(data: MatRef<'_, f64>, estimators: &[&dyn Estimator]) -> Vec<Result<Estimate, EstimateError>> {
    estimate_all_timed(data, estimators).results.into_iter().map(|(r, _)| r).collect()
}

/// What [`estimate_all_timed`] returns: each estimator's result with its own wall time, and the
/// shared neighbour search's `k` and wall time (if one was needed).
#[derive(Debug, Clone)]
pub struct TimedEstimates {
    /// Each estimator's result and seconds, in the order given.
    pub results: Vec<(Result<Estimate, EstimateError>, f64)>,
    /// `(k, seconds)` of the neighbour search shared by the estimators, if any needed one.
    pub neighbour_search: Option<(usize, f64)>,
}

/// [`estimate_all`], timing each estimator and the shared neighbour search (wall time).
pub fn estimate_all_timed(data: MatRef<'_, f64>, estimators: &[&dyn Estimator]) -> TimedEstimates {
    let k = estimators.iter().map(|e| e.neighbours()).max().unwrap_or(0);
    let start = std::time::Instant::now();
    let graph = (k > 0).then(|| KnnGraph::build(data, k));
    let neighbour_search = graph.as_ref().map(|_| (k, start.elapsed().as_secs_f64()));
    let results = estimators
        .iter()
        .map(|e| {
            let start = std::time::Instant::now();
            let result = match (&graph, e.neighbours()) {
                (_, 0) | (None, _) => e.estimate(data),
                (Some(Ok(g)), _) => e.estimate_with_graph(data, g),
                (Some(Err(err)), _) => Err(err.clone()),
            };
            (result, start.elapsed().as_secs_f64())
        })
        .collect();
    TimedEstimates { results, neighbour_search }
}

/// How per-point estimates `m_i` are combined into a global one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Combine {
    /// The harmonic mean `(1/n sum_i 1/m_i)^{-1}`: MacKay and Ghahramani's averaging of inverses
    /// (skdim's `comb='mle'`).
    #[default]
    HarmonicMean,
    /// The arithmetic mean `1/n sum_i m_i` (skdim's `comb='mean'`).
    Mean,
    /// The median (NumPy's: the mean of the two middle values for even `n`).
    Median,
}

impl Combine {
    /// Combine the values (which must be non-empty and finite); `None` when the harmonic mean
    /// meets a zero.
    pub(crate) fn apply(self, values: &[f64]) -> Option<f64> {
        match self {
            Combine::HarmonicMean => {
                if values.contains(&0.0) {
                    return None;
                }
                Some(values.len() as f64 / values.iter().map(|v| 1.0 / v).sum::<f64>())
            }
            Combine::Mean => Some(values.iter().sum::<f64>() / values.len() as f64),
            Combine::Median => Some(check::median(values)),
        }
    }
}
