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
    /// A text line holds a NUL byte: the file is binary, not text (or, say, `/dev/zero`).
    #[error("{path}: row {row} holds a NUL byte: binary data, not text")]
    NotText {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line number.
        row: usize,
    },
    /// A text line is not valid UTF-8.
    #[error("{path}: row {row} is not valid UTF-8 text")]
    NotUtf8 {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line number.
        row: usize,
    },
    /// With [`crate::Header::Auto`], the first row mixes numbers and text, so it is neither
    /// clearly a header nor data.
    #[error("{path}: row {row} mixes numbers and text ({line:?}): cannot tell whether it is a header")]
    MixedHeader {
        /// The file concerned.
        path: PathBuf,
        /// 1-based line number.
        row: usize,
        /// The row as written (cut to 200 characters).
        line: String,
    },
    /// The file holds more bytes (after decompression) than the read limit allows.
    #[error("{path}: more than {limit} bytes of data (after decompression), the read limit")]
    TooLarge {
        /// The file concerned.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A binary file's header declares more bytes than the read limit allows (checked before
    /// reading them).
    #[error("{path}: the header declares {declared} bytes, more than the read limit of {limit} bytes")]
    DeclaredTooLarge {
        /// The file concerned.
        path: PathBuf,
        /// Bytes the header implies (header included).
        declared: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Bytes follow the last member of a gzip file that do not start another member.
    #[error("{path}: data after gzip member {members} is not gzip (trailing garbage)")]
    GzipTrailingData {
        /// The file concerned.
        path: PathBuf,
        /// Members read before the trailing data.
        members: u64,
    },
    /// A value is NaN or infinite and the caller did not allow non-finite values.
    #[error("{path}: row {row}, column {col}: non-finite value {value}")]
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
    /// Generating would need more memory than the caller's limit (or more than `u64` counts).
    #[error("{name}: generating needs {} of memory, above the limit of {limit} bytes", bytes_text(*.bytes))]
    GenerateTooLarge {
        /// The generator's name.
        name: String,
        /// Estimated bytes (`None`: more than `u64::MAX`).
        bytes: Option<u64>,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The generator's settings give non-finite values (e.g. noise of standard deviation
    /// `1e308`, whose samples overflow to infinity).
    #[error(
        "{name}: the settings give a non-finite value {value} at row {row}, column {col} (noise std {noise_std:e})"
    )]
    GeneratedNonFinite {
        /// The generator's name.
        name: String,
        /// 1-based row.
        row: usize,
        /// 1-based column.
        col: usize,
        /// The value.
        value: f64,
        /// The noise standard deviation asked for.
        noise_std: f64,
    },
    /// The noise standard deviation is negative, NaN or infinite.
    #[error("the noise standard deviation must be finite and >= 0, got {noise_std:e}")]
    InvalidNoise {
        /// The value given.
        noise_std: f64,
    },
    /// The embedding dimension is below the manifold's own ambient dimension.
    #[error("{name}: cannot embed its {native} dimensions into {embed}")]
    EmbedTooSmall {
        /// The generator's name.
        name: String,
        /// The manifold's own ambient dimension.
        native: usize,
        /// The embedding dimension asked for.
        embed: usize,
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

/// `bytes` in words: `"12345 bytes (12.3 kB)"`, or "more than 2^64 bytes".
fn bytes_text(bytes: Option<u64>) -> String {
    match bytes {
        Some(b) => format!("{b} bytes ({})", human_bytes(b)),
        None => "more than 2^64 bytes".into(),
    }
}

/// `bytes` with a decimal SI prefix and three decimals (`2.400 TB`), or in bytes below 1000.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 { format!("{bytes} B") } else { format!("{v:.3} {}", UNITS[u]) }
}

/// Shorthand for results of this crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    /// Wrap an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
}
