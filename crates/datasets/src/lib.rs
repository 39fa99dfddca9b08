//! Data sets as dense matrices (one sample per row) with metadata: toy manifolds with a known
//! intrinsic dimension and loaders for real data files. Nothing is ever downloaded.

use faer::Mat;

/// A data set: `n x d` samples, one per row, with its name and known intrinsic dimension.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Short name of the generator or file the data came from.
    pub name: String,
    /// The samples, `n x d`, one per row.
    pub data: Mat<f64>,
    /// The intrinsic dimension of the manifold the data lies on, when it is known.
    pub intrinsic_dim: Option<usize>,
}

impl Dataset {
    /// The ambient dimension `d` (number of columns).
    pub fn ambient_dim(&self) -> usize {
        self.data.ncols()
    }

    /// The number of samples `n` (number of rows).
    pub fn len(&self) -> usize {
        self.data.nrows()
    }

    /// True when the data set holds no samples.
    pub fn is_empty(&self) -> bool {
        self.data.nrows() == 0
    }
}
