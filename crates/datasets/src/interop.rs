//! Conversions between faer and `nalgebra::DMatrix` (the optional `nalgebra` feature).

use faer::{Mat, MatRef};
use nalgebra::DMatrix;

use crate::Dataset;

/// Copy a faer matrix into an `nalgebra::DMatrix` of the same shape (`m[(i, j)]` kept).
pub fn to_dmatrix(m: MatRef<'_, f64>) -> DMatrix<f64> {
    DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)])
}

/// Copy an `nalgebra::DMatrix` into a faer matrix of the same shape (`m[(i, j)]` kept).
pub fn from_dmatrix(m: &DMatrix<f64>) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)])
}

impl Dataset {
    /// The samples as an `n x d` `nalgebra::DMatrix` (one sample per row).
    pub fn to_dmatrix(&self) -> DMatrix<f64> {
        to_dmatrix(self.data.as_ref())
    }

    /// A data set from an `n x d` `nalgebra::DMatrix` (one sample per row), with no known
    /// intrinsic dimension and no labels.
    pub fn from_dmatrix(name: impl Into<String>, m: &DMatrix<f64>) -> Dataset {
        Dataset::new(name, from_dmatrix(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_every_entry() {
        let m = Mat::from_fn(3, 2, |i, j| (10 * i + j) as f64);
        let n = to_dmatrix(m.as_ref());
        assert_eq!((n.nrows(), n.ncols()), (3, 2));
        assert_eq!(n[(2, 1)], 21.0);
        assert_eq!(from_dmatrix(&n), m);
        let ds = Dataset::from_dmatrix("x", &n);
        assert_eq!(ds.to_dmatrix(), n);
    }
}
