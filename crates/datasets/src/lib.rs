#![doc = include_str!("../README.md")]
//!
//! # API overview
//!
//! Data sets as dense matrices (one sample per row) with metadata: toy manifolds with a known
//! intrinsic dimension and loaders for real data files. Nothing is ever downloaded.
//!
//! - [`Manifold`]: seeded samplers for the benchmark manifolds ([`benchmark_manifolds`]),
//!   e.g. the paper's sine curve `x1 ~ N(0, 1)`, `x2 = sin(2 x1)` and fading squares, with
//!   ambient noise and random-rotation embedding ([`GenerateOptions`]) and exact
//!   off-manifold errors ([`Manifold::manifold_error`]).
//! - Files: [`load`] dispatches on the name to [`read_csv`], [`read_npy`] or the IDX
//!   readers ([`read_idx_images`], [`read_idx_labels`]); gzip (every member of a
//!   multi-member file) is handled transparently, reading stops at a cap
//!   ([`DEFAULT_MAX_BYTES`], [`CsvOptions::max_bytes`]) and binary headers are checked before
//!   their payload is read. Every data-dependent failure is a [`DataError`] naming the file,
//!   row and column. Writers replace their file atomically (temporary file, then rename).
//! - Real data: [`digits`] (embedded) and [`mnist`] (from a directory the caller names).
//! - With the `nalgebra` feature, conversions to and from `nalgebra::DMatrix`.
//!
//! ```
//! use datasets::{GenerateOptions, Manifold};
//!
//! // 500 points of the sine curve, embedded in R^5 by a seeded rotation, with noise.
//! let ds = Manifold::SineCurve.generate(&GenerateOptions::new(500, 7).embed(5).noise(0.01));
//! assert_eq!((ds.len(), ds.ambient_dim(), ds.intrinsic_dim), (500, 5, Some(1)));
//!
//! // Noise-free points lie on the curve: |x2 - sin(2 x1)| = 0.
//! let clean = Manifold::SineCurve.generate(&GenerateOptions::new(100, 7));
//! let err = Manifold::SineCurve.manifold_error(clean.data.as_ref()).expect("sine has an error");
//! assert!(err.iter().all(|&e| e < 1e-12));
//!
//! // Every benchmark manifold by name, with its known intrinsic dimension.
//! for m in datasets::benchmark_manifolds() {
//!     assert_eq!(Manifold::from_name(&m.name())?, m);
//!     assert!(m.intrinsic_dim() < m.ambient_dim());
//! }
//!
//! // The embedded digits: 1,797 images of 8 x 8 pixels with their labels.
//! let digits = datasets::digits();
//! assert_eq!((digits.len(), digits.ambient_dim()), (1797, 64));
//! # Ok::<(), datasets::DataError>(())
//! ```

use faer::Mat;

mod csv;
mod error;
mod files;
mod idx;
mod input;
#[cfg(feature = "nalgebra")]
mod interop;
mod manifold;
mod npy;
mod real;

pub use crate::csv::{
    CsvOptions, Delimiter, Header, HeaderReason, LabelColumn, TextLayout, read_csv, read_csv_with_layout, write_csv,
};
pub use crate::error::{DataError, Result, human_bytes};
pub use crate::files::{Format, Loaded, NonFinite, load, load_detailed, load_reader, load_with};
pub use crate::idx::{read_idx_images, read_idx_labels, write_idx_images, write_idx_labels, write_idx_u8};
pub use crate::input::DEFAULT_MAX_BYTES;
#[cfg(feature = "nalgebra")]
pub use crate::interop::{from_dmatrix, to_dmatrix};
pub use crate::manifold::{
    FADING_SQUARES_SIDE, FADING_SQUARES_SQUARE, FADING_SQUARES_START, GenerateOptions, Manifold, TORUS_MAJOR_RADIUS,
    TORUS_MINOR_RADIUS, WARP_AMPLITUDE, WARP_FREQUENCY, WarpMap, all_manifolds, benchmark_manifolds, embedding_frame,
    fading_squares_pixels, subspace_basis,
};
pub use crate::npy::{read_npy, read_npy_with, write_npy};
pub use crate::real::{Split, digits, mnist};
/// The dense-matrix crate of every signature here (one sample per row), re-exported so that
/// users need no dependency of their own on a matching version.
pub use faer;

/// A data set: `n x d` samples, one per row, with its name, known intrinsic dimension and
/// optional per-sample labels.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Short name of the generator or file the data came from.
    pub name: String,
    /// The samples, `n x d`, one per row.
    pub data: Mat<f64>,
    /// The intrinsic dimension of the manifold the data lies on, when it is known.
    pub intrinsic_dim: Option<usize>,
    /// One value per sample when there is one (`n` entries): a class label (digits, MNIST,
    /// a CSV label column) or a generating parameter (fading-squares brightness, the sine
    /// curve's `x1`; see [`Manifold::sample_with_params`]).
    pub labels: Option<Vec<f64>>,
}

impl Dataset {
    /// A data set named `name` holding `data` (`n x d`), with no known intrinsic dimension
    /// and no labels.
    pub fn new(name: impl Into<String>, data: Mat<f64>) -> Self {
        Dataset { name: name.into(), data, intrinsic_dim: None, labels: None }
    }

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
