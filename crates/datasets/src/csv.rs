//! Delimited text files (CSV, whitespace-separated): a reader with header detection, an
//! optional label column and typed errors, and a writer that round-trips every `f64`.

use std::path::Path;

use faer::MatRef;

use crate::files::{NonFinite, file_stem, mat_from_row_major, read_bytes, write_with};
use crate::{DataError, Dataset};

/// How fields are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delimiter {
    /// Comma when the first non-comment line holds a comma, whitespace otherwise.
    #[default]
    Auto,
    /// Commas; fields are trimmed of surrounding whitespace.
    Comma,
    /// Runs of spaces and tabs.
    Whitespace,
}

/// Whether the first non-comment line is a header of column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    /// A header exactly when none of the first line's fields parses as a number.
    #[default]
    Auto,
    /// The first line is a header.
    Present,
    /// Every line is data.
    Absent,
}

/// Which column, if any, holds a per-row label rather than a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelColumn {
    /// All columns are features.
    #[default]
    None,
    /// The first column is the label.
    First,
    /// The last column is the label.
    Last,
}

/// Options of [`read_csv`] (and of [`crate::load_with`]).
///
/// Lines that are empty or start with `#` (after leading whitespace) are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsvOptions {
    /// Field separator.
    pub delimiter: Delimiter,
    /// Header handling.
    pub header: Header,
    /// Label column, moved to [`Dataset::labels`].
    pub labels: LabelColumn,
    /// NaN / infinity handling (also used for binary formats by [`crate::load_with`]).
    pub non_finite: NonFinite,
}

impl CsvOptions {
    /// Set the delimiter.
    pub fn delimiter(mut self, delimiter: Delimiter) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Set the header handling.
    pub fn header(mut self, header: Header) -> Self {
        self.header = header;
        self
    }

    /// Set the label column.
    pub fn labels(mut self, labels: LabelColumn) -> Self {
        self.labels = labels;
        self
    }

    /// Set the non-finite policy.
    pub fn non_finite(mut self, non_finite: NonFinite) -> Self {
        self.non_finite = non_finite;
        self
    }
}

/// Read a delimited text file (gzip-compressed content is decompressed) into an `n x d` data
/// set named after the file stem, `d` being the number of fields minus a label column.
///
/// # Errors
/// [`DataError::Io`], [`DataError::Empty`] (no data rows), [`DataError::RaggedRow`],
/// [`DataError::NonNumeric`], [`DataError::NonFinite`] (unless allowed), and
/// [`DataError::ShapeMismatch`] when a label column is asked of a one-column file.
pub fn read_csv(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Dataset, DataError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    parse_text(path, &bytes, opts, file_stem(path))
}

/// Parse the bytes of a text file; `path` only names the file in errors.
pub(crate) fn parse_text(path: &Path, bytes: &[u8], opts: &CsvOptions, name: String) -> Result<Dataset, DataError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| DataError::io(path, std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .peekable();
    let Some(&(_, first)) = lines.peek() else {
        return Err(DataError::Empty { path: path.into() });
    };
    let comma = match opts.delimiter {
        Delimiter::Comma => true,
        Delimiter::Whitespace => false,
        Delimiter::Auto => first.contains(','),
    };
    let split = |line| split_fields(line, comma);
    let skip_header = match opts.header {
        Header::Present => true,
        Header::Absent => false,
        Header::Auto => split(first).iter().all(|f| f.parse::<f64>().is_err()),
    };
    if skip_header {
        lines.next();
    }
    let mut values: Vec<f64> = Vec::new();
    let mut width: Option<usize> = None;
    let mut n = 0usize;
    for (row, line) in lines {
        let fields = split(line);
        let expected = *width.get_or_insert(fields.len());
        if fields.len() != expected {
            return Err(DataError::RaggedRow { path: path.into(), row, expected, found: fields.len() });
        }
        for (j, field) in fields.iter().enumerate() {
            let v: f64 = field.parse().map_err(|_| DataError::NonNumeric {
                path: path.into(),
                row,
                col: j + 1,
                field: (*field).to_string(),
            })?;
            if !v.is_finite() && opts.non_finite == NonFinite::Reject {
                return Err(DataError::NonFinite { path: path.into(), row, col: j + 1, value: v });
            }
            values.push(v);
        }
        n += 1;
    }
    let Some(width) = width.filter(|_| n > 0) else {
        return Err(DataError::Empty { path: path.into() });
    };
    let (feat_start, label_col) = match opts.labels {
        LabelColumn::None => (0, None),
        LabelColumn::First => (1, Some(0)),
        LabelColumn::Last => (0, Some(width - 1)),
    };
    if label_col.is_some() && width < 2 {
        return Err(DataError::ShapeMismatch {
            path: path.into(),
            detail: format!("a label column needs at least 2 columns, the file has {width}"),
        });
    }
    let d = if label_col.is_some() { width - 1 } else { width };
    let data = mat_from_row_major(n, d, |k| values[(k / d) * width + feat_start + k % d]);
    let labels = label_col.map(|c| (0..n).map(|i| values[i * width + c]).collect());
    Ok(Dataset { name, data, intrinsic_dim: None, labels })
}

/// The fields of one line: comma-separated and trimmed, or whitespace-separated.
fn split_fields(line: &str, comma: bool) -> Vec<&str> {
    if comma { line.split(',').map(str::trim).collect() } else { line.split_whitespace().collect() }
}

/// Write `x` (`n x d`) as comma-separated text, one row per line, with an optional header
/// line; values use Rust's shortest round-trip formatting (`{:?}`: `0.1`, `1e300`), so
/// [`read_csv`] recovers them bit for bit (NaN as `NaN`, infinities as `inf` / `-inf`). A path ending in `.gz` is
/// gzip-compressed.
///
/// # Errors
/// [`DataError::Io`].
///
/// # Panics
/// If `header` has a length other than `d`.
#[track_caller]
pub fn write_csv(path: impl AsRef<Path>, x: MatRef<'_, f64>, header: Option<&[&str]>) -> Result<(), DataError> {
    if let Some(h) = header {
        assert_eq!(h.len(), x.ncols(), "write_csv: header has {} names for {} columns", h.len(), x.ncols());
    }
    write_with(path.as_ref(), |w| {
        if let Some(h) = header {
            writeln!(w, "{}", h.join(","))?;
        }
        let mut line = String::new();
        for i in 0..x.nrows() {
            line.clear();
            for j in 0..x.ncols() {
                if j > 0 {
                    line.push(',');
                }
                use std::fmt::Write as _;
                let _ = write!(line, "{:?}", x[(i, j)]);
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests;
