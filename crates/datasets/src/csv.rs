//! Delimited text files (CSV, semicolon- or whitespace-separated): a streaming, capped reader
//! with delimiter and header detection (reported back in a [`TextLayout`]), an optional label
//! column and typed errors, and a writer that round-trips every `f64`.

use std::io::BufRead;
use std::path::Path;

use faer::MatRef;

use crate::files::{NonFinite, file_stem, mat_from_row_major, write_with};
use crate::input::{DEFAULT_MAX_BYTES, Input};
use crate::{DataError, Dataset};

/// How fields are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delimiter {
    /// Decided on the first non-comment line: semicolons when it holds a `;`, else commas when
    /// it holds a `,`, else whitespace (spaces and tabs).
    #[default]
    Auto,
    /// Commas; fields are trimmed of surrounding whitespace.
    Comma,
    /// Semicolons (the spreadsheet export of locales that write decimal commas); fields are
    /// trimmed, and a field with one comma and no point is read with the comma as the
    /// decimal separator (`1,5` is `1.5`).
    Semicolon,
    /// Runs of spaces and tabs.
    Whitespace,
}

impl std::fmt::Display for Delimiter {
    /// `auto`, `comma`, `semicolon` or `whitespace`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Delimiter::Auto => "auto",
            Delimiter::Comma => "comma",
            Delimiter::Semicolon => "semicolon",
            Delimiter::Whitespace => "whitespace",
        })
    }
}

/// Whether the first non-comment line is a header of column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    /// Decide from the first line (see [`HeaderReason`]): a header when none of its fields is
    /// a number, or when its `d >= 2` fields are exactly the integers `0, 1, ..., d - 1` (the
    /// column names pandas writes for an unnamed frame); data when every field is a number
    /// otherwise; [`DataError::MixedHeader`] when it mixes numbers and text. A single `0` is
    /// data: too many one-column files start with the value 0.
    #[default]
    Auto,
    /// The first line is a header.
    Yes,
    /// Every line is data.
    No,
}

/// Why the reader did or did not take the first line as a header (see [`TextLayout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderReason {
    /// The caller said so ([`Header::Yes`] or [`Header::No`]).
    Requested,
    /// [`Header::Auto`]: no field of the first line is a number.
    NonNumeric,
    /// [`Header::Auto`]: the first line is `0, 1, ..., d - 1`, pandas' default column names.
    ColumnIndices,
    /// [`Header::Auto`]: the first line is numbers other than `0, ..., d - 1`: data.
    Numeric,
}

/// What the text reader decided about a file: the delimiter it used, whether the first line
/// was a header, and whether a UTF-8 byte-order mark was stripped. [`read_csv_with_layout`]
/// and [`crate::load_detailed`] return it so that a program can tell its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLayout {
    /// The delimiter used (never [`Delimiter::Auto`]).
    pub delimiter: Delimiter,
    /// The column names when the first line was taken as a header, `None` otherwise.
    pub header: Option<Vec<String>>,
    /// Why.
    pub header_reason: HeaderReason,
    /// Whether the file started with a UTF-8 byte-order mark (always stripped).
    pub byte_order_mark: bool,
}

impl std::fmt::Display for TextLayout {
    /// One line for a user, e.g. `comma-separated, header row skipped (x1, x2: not numbers)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-separated", self.delimiter)?;
        if self.byte_order_mark {
            f.write_str(", UTF-8 byte-order mark stripped")?;
        }
        let why = match self.header_reason {
            HeaderReason::Requested => "as requested",
            HeaderReason::NonNumeric => "not numbers",
            HeaderReason::ColumnIndices => "the column indices 0..d-1 pandas writes",
            HeaderReason::Numeric => "the first row is numbers",
        };
        match &self.header {
            Some(names) => {
                let mut shown: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
                if names.len() > 6 {
                    shown.push("...");
                }
                write!(f, ", header row skipped ({}: {why})", shown.join(", "))
            }
            None => write!(f, ", no header ({why})"),
        }
    }
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

/// Options of [`read_csv`] and of [`crate::load_with`] (where `non_finite` and `max_bytes`
/// apply to every format).
///
/// Lines that are empty or start with `#` (after leading whitespace) are skipped; a UTF-8
/// byte-order mark at the start of the file is stripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvOptions {
    /// Field separator.
    pub delimiter: Delimiter,
    /// Header handling.
    pub header: Header,
    /// Label column, moved to [`Dataset::labels`].
    pub labels: LabelColumn,
    /// NaN / infinity handling (also used for binary formats by [`crate::load_with`]).
    pub non_finite: NonFinite,
    /// Most bytes read from one file, after decompression ([`DEFAULT_MAX_BYTES`] by default);
    /// more is [`DataError::TooLarge`], and a binary header that declares more is
    /// [`DataError::DeclaredTooLarge`] before anything else is read.
    pub max_bytes: u64,
}

impl Default for CsvOptions {
    /// Auto delimiter and header, no label column, non-finite values rejected, and
    /// [`DEFAULT_MAX_BYTES`].
    fn default() -> Self {
        CsvOptions {
            delimiter: Delimiter::Auto,
            header: Header::Auto,
            labels: LabelColumn::None,
            non_finite: NonFinite::Reject,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
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

    /// Set the most bytes read from one file (after decompression).
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }
}

/// Read a delimited text file (gzip-compressed content is decompressed) into an `n x d` data
/// set named after the file stem, `d` being the number of fields minus a label column.
///
/// # Errors
/// [`DataError::Io`], [`DataError::Empty`] (no data rows), [`DataError::RaggedRow`],
/// [`DataError::NonNumeric`], [`DataError::NonFinite`] (unless allowed),
/// [`DataError::MixedHeader`], [`DataError::NotText`], [`DataError::NotUtf8`],
/// [`DataError::TooLarge`], [`DataError::GzipTrailingData`], and
/// [`DataError::ShapeMismatch`] when a label column is asked of a one-column file.
pub fn read_csv(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Dataset, DataError> {
    read_csv_with_layout(path, opts).map(|(ds, _)| ds)
}

/// [`read_csv`], also returning what the reader decided about the delimiter and the header.
///
/// # Errors
/// As [`read_csv`].
pub fn read_csv_with_layout(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<(Dataset, TextLayout), DataError> {
    let path = path.as_ref();
    let mut input = Input::open(path, opts.max_bytes)?;
    parse_text(&mut input, opts, file_stem(path))
}

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// The next line of `input` into `buf` (without its `\n` or `\r\n`); `false` at the end of
/// the stream. A NUL byte fails at once, so a binary file (or `/dev/zero`) is caught without
/// reading on to the cap.
fn next_line(input: &mut Input<'_>, buf: &mut Vec<u8>, row: usize) -> Result<bool, DataError> {
    buf.clear();
    let context = input.context();
    loop {
        let chunk = input.fill_buf().map_err(|e| context.error(e))?;
        if chunk.is_empty() {
            break;
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(p) => (p + 1, true),
            None => (chunk.len(), false),
        };
        if chunk[..take].contains(&0) {
            return Err(DataError::NotText { path: input.path().into(), row });
        }
        buf.extend_from_slice(&chunk[..take]);
        input.consume(take);
        if done {
            break;
        }
    }
    if buf.is_empty() {
        return Ok(false);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(true)
}

/// A field as a number; with `decimal_comma`, `1,5` reads as `1.5`.
fn parse_number(field: &str, decimal_comma: bool) -> Option<f64> {
    match field.parse::<f64>() {
        Ok(v) => Some(v),
        Err(_) if decimal_comma && field.matches(',').count() == 1 && !field.contains('.') => {
            field.replacen(',', ".", 1).parse().ok()
        }
        Err(_) => None,
    }
}

/// The fields of one line.
fn split_fields(line: &str, delimiter: Delimiter) -> Vec<&str> {
    match delimiter {
        Delimiter::Semicolon => line.split(';').map(str::trim).collect(),
        Delimiter::Whitespace => line.split_whitespace().collect(),
        Delimiter::Comma | Delimiter::Auto => line.split(',').map(str::trim).collect(),
    }
}

/// The decision of [`Header::Auto`] on the first line's fields ([`HeaderReason::Numeric`]:
/// read it as data; the others: skip it as a header); `None` when it mixes numbers and text.
fn auto_header(fields: &[&str], decimal_comma: bool) -> Option<HeaderReason> {
    let numeric = fields.iter().filter(|f| parse_number(f, decimal_comma).is_some()).count();
    if numeric == 0 {
        Some(HeaderReason::NonNumeric)
    } else if numeric < fields.len() {
        None
    } else if fields.len() >= 2 && fields.iter().enumerate().all(|(j, f)| *f == j.to_string()) {
        Some(HeaderReason::ColumnIndices)
    } else {
        Some(HeaderReason::Numeric)
    }
}

/// Parse a text stream; `input` names the file in errors.
pub(crate) fn parse_text(
    input: &mut Input<'_>,
    opts: &CsvOptions,
    name: String,
) -> Result<(Dataset, TextLayout), DataError> {
    let path = input.path();
    let mut buf = Vec::new();
    let mut row = 0usize;
    let mut byte_order_mark = false;
    let mut layout: Option<TextLayout> = None;
    let mut values: Vec<f64> = Vec::new();
    let mut width = 0usize;
    let mut n = 0usize;
    while next_line(input, &mut buf, row + 1)? {
        row += 1;
        let mut bytes = buf.as_slice();
        if row == 1 && bytes.starts_with(BOM) {
            bytes = &bytes[BOM.len()..];
            byte_order_mark = true;
        }
        let line = std::str::from_utf8(bytes).map_err(|_| DataError::NotUtf8 { path: path.into(), row })?;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let delimiter = match layout.as_ref() {
            Some(l) => l.delimiter,
            None => {
                let delimiter = match opts.delimiter {
                    Delimiter::Auto if line.contains(';') => Delimiter::Semicolon,
                    Delimiter::Auto if line.contains(',') => Delimiter::Comma,
                    Delimiter::Auto => Delimiter::Whitespace,
                    given => given,
                };
                let fields = split_fields(line, delimiter);
                let header_reason = match opts.header {
                    Header::Yes | Header::No => HeaderReason::Requested,
                    Header::Auto => auto_header(&fields, delimiter == Delimiter::Semicolon).ok_or_else(|| {
                        DataError::MixedHeader { path: path.into(), row, line: line.chars().take(200).collect() }
                    })?,
                };
                let skip = match opts.header {
                    Header::Yes => true,
                    Header::No => false,
                    Header::Auto => header_reason != HeaderReason::Numeric,
                };
                let header = skip.then(|| fields.iter().map(|f| (*f).to_string()).collect());
                layout = Some(TextLayout { delimiter, header, header_reason, byte_order_mark });
                if skip {
                    continue;
                }
                delimiter
            }
        };
        let decimal_comma = delimiter == Delimiter::Semicolon;
        let fields = split_fields(line, delimiter);
        if n == 0 {
            width = fields.len();
        } else if fields.len() != width {
            return Err(DataError::RaggedRow { path: path.into(), row, expected: width, found: fields.len() });
        }
        for (j, field) in fields.iter().enumerate() {
            let v = parse_number(field, decimal_comma).ok_or_else(|| DataError::NonNumeric {
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
    let Some(layout) = layout.filter(|_| n > 0) else {
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
    Ok((Dataset { name, data, intrinsic_dim: None, labels }, layout))
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
