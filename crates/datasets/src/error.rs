//! `DataError`: every data-dependent failure of this crate, naming the file and, where it
//! applies, the row and column.

use std::path::PathBuf;

/// A data-dependent failure while reading, writing or naming a data set.
///
/// Positions are 1-based and human-facing: for text files `row` is the line number in the file
/// (header and comment lines count) and `col` the field number within the line; for binary
/// files `row` and `col` index the matrix (sample and feature), also from 1.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The operating system failed to open, read or write the file (or gzip data was corrupt).
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file holds no data rows (it may hold a header or comments).
    #[error("{path}: the file holds no data")]
    Empty {
        /// The file concerned.
        path: PathBuf,
    },
    /// A text row has a different number of fields than the first data row.
    #[error("{path}: row {row} has {found} fields, expected {expected}")]
    RaggedRow {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line number.
        row: usize,
        /// Number of fields of the first data row.
        expected: usize,
        /// Number of fields of this row.
        found: usize,
    },
    /// A text field does not parse as a number.
    #[error("{path}: row {row}, column {col}: {field:?} is not a number")]
    NonNumeric {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line number.
        row: usize,
        /// 1-based field number.
        col: usize,
        /// The offending field, as written.
        field: String,
    },
    /// A value is NaN or infinite and the caller did not allow non-finite values.
    #[error("{path}: row {row}, column {col}: non-finite value {value} (see NonFinite::Allow)")]
    NonFinite {
        /// The file concerned.
        path: PathBuf,
        /// 1-based row (line number for text files).
        row: usize,
        /// 1-based column.
        col: usize,
        /// The value read.
        value: f64,
    },
    /// A binary file does not start with the magic bytes of its format.
    #[error("{path}: bad magic number {found:02x?}, expected {expected}")]
    BadMagic {
        /// The file concerned.
        path: PathBuf,
        /// What the format requires, in words.
        expected: &'static str,
        /// The first bytes of the file (at most 8).
        found: Vec<u8>,
    },
    /// A binary file ends before its header says it should.
    #[error("{path}: truncated: needs {expected} bytes, has {found}")]
    Truncated {
        /// The file concerned.
        path: PathBuf,
        /// Bytes the header promises (header included).
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// Dimensions disagree: a binary file is longer than its header says, an array has the
    /// wrong number of dimensions, or images and labels differ in count.
    #[error("{path}: shape mismatch: {detail}")]
    ShapeMismatch {
        /// The file concerned.
        path: PathBuf,
        /// What disagrees with what.
        detail: String,
    },
    /// The element type of a binary file is not one this crate reads.
    #[error("{path}: unsupported element type {dtype}")]
    UnsupportedDtype {
        /// The file concerned.
        path: PathBuf,
        /// The type as the file names it (NPY `descr`, IDX type code).
        dtype: String,
    },
    /// A binary file's header is malformed (e.g. an unparsable NPY header dictionary).
    #[error("{path}: malformed header: {detail}")]
    BadHeader {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// `load` cannot tell the format from the file name.
    #[error("{path}: unknown format; expected .csv, .txt, .tsv, .npy, .idx* or *-ubyte (optionally .gz)")]
    UnknownFormat {
        /// The file concerned.
        path: PathBuf,
    },
    /// A manifold name that the registry does not know or whose parameters are invalid.
    #[error("unknown manifold {name:?}: {reason}")]
    UnknownManifold {
        /// The name given.
        name: String,
        /// Why it was rejected, listing the known names.
        reason: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    /// Wrap an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
}
