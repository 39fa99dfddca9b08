//! Classical intrinsic-dimension estimators behind one [`Estimator`] trait, over a shared exact
//! k-nearest-neighbour graph. This crate knows nothing of flows: the flow-based estimator lives
//! in `manifold-prior` and implements [`Estimator`] there.

use faer::MatRef;

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

/// Why an estimate could not be made.
#[derive(Debug, thiserror::Error)]
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
    /// Any other failure, with an explanation.
    #[error("{0}")]
    Failed(String),
}

/// An intrinsic-dimension estimator: data `n x d`, one sample per row, in; an [`Estimate`] out.
pub trait Estimator {
    /// A short name (`"mle"`, `"twonn"`, ...).
    fn name(&self) -> &str;
    /// Estimate the intrinsic dimension of `data` (`n x d`, one sample per row).
    fn estimate(&self, data: MatRef<'_, f64>) -> Result<Estimate, EstimateError>;
}
