//! Errors of operations whose success depends on the data (misuse, such as mismatched
//! shapes, panics instead; see each op's `# Panics`).

/// Errors from operations whose success depends on the data (not on shapes).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TapeError {
    /// A Cholesky factorisation met a non-positive pivot.
    #[error("{op}: matrix of shape {rows}x{rows} is not positive definite (pivot {pivot})")]
    NotPositiveDefinite {
        /// The operation that failed.
        op: &'static str,
        /// The matrix dimension.
        rows: usize,
        /// The index of the failing pivot.
        pivot: usize,
    },
    /// [`crate::Tape::gaussian_log_prob`] of a Gaussian with `spread = 0` whose `A` is singular
    /// (a zero diagonal entry): `A A^T` has no density.
    #[error(
        "gaussian_log_prob: the covariance A A^T + spread^2 I has spread 0 and A[{index},{index}] = 0, so it is \
         singular and has no density; use a spread > 0"
    )]
    SingularCovariance {
        /// The diagonal index where `A` vanishes.
        index: usize,
    },
}
