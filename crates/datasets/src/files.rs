//! `load`: read any supported data file by its name, plus the byte-level helpers the format
//! modules share (transparent gzip, row-major to column-major copies, the non-finite policy).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use faer::Mat;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use crate::csv::{CsvOptions, parse_text};
use crate::{DataError, Dataset, idx, npy};

/// What a reader does with NaN and infinite values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NonFinite {
    /// Fail with [`DataError::NonFinite`] naming the first offending row and column.
    #[default]
    Reject,
    /// Keep them.
    Allow,
}

/// The file formats [`load`] recognises from a file name (after stripping a `.gz` suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text: `.csv`, `.txt`, `.tsv`, `.dat`.
    Text,
    /// NumPy `.npy`.
    Npy,
    /// IDX (MNIST): a last extension starting with `idx` (`.idx`, `.idx3-ubyte`) or a name
    /// ending in `-ubyte`.
    Idx,
}

impl Format {
    /// The format of `path` judged by its name, or `None` when the name says nothing.
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        if matches!(ext, "csv" | "txt" | "tsv" | "dat") {
            Some(Format::Text)
        } else if ext == "npy" {
            Some(Format::Npy)
        } else if ext.starts_with("idx") || name.ends_with("-ubyte") {
            Some(Format::Idx)
        } else {
            None
        }
    }
}

/// Read a data file, choosing the reader from its name (see [`Format`]): text files with
/// [`CsvOptions::default`] (comma or whitespace separated, header detected), NPY (2-D
/// f32/f64/u8), IDX (`n x d0 x d1 ...` becomes `n x (d0 d1 ...)`). Gzip-compressed content is
/// decompressed whatever the name. Non-finite values are rejected. The data set is named after
/// the file stem and has no known intrinsic dimension.
///
/// # Errors
/// [`DataError::UnknownFormat`] for an unrecognised name, otherwise whatever the reader
/// returns.
pub fn load(path: impl AsRef<Path>) -> Result<Dataset, DataError> {
    load_with(path, &CsvOptions::default())
}

/// [`load`] with options: all of `opts` applies to text files, and `opts.non_finite` to
/// every format.
///
/// # Errors
/// As [`load`].
pub fn load_with(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Dataset, DataError> {
    let path = path.as_ref();
    let format = Format::from_path(path).ok_or_else(|| DataError::UnknownFormat { path: path.into() })?;
    let bytes = read_bytes(path)?;
    let name = file_stem(path);
    match format {
        Format::Text => parse_text(path, &bytes, opts, name),
        Format::Npy => Ok(Dataset::new(name, npy::parse_npy(path, &bytes, opts.non_finite)?)),
        Format::Idx => {
            let view = idx::parse_idx(path, &bytes)?;
            let n = view.dims[0];
            let d = view.dims[1..].iter().product();
            Ok(Dataset::new(name, view.to_mat(n, d, opts.non_finite)?))
        }
    }
}

/// The file name without directories, a `.gz` suffix and the last extension.
pub(crate) fn file_stem(path: &Path) -> String {
    let name = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => name.to_string(),
    }
}

/// The whole content of `path`, gunzipped when it starts with the gzip magic `1f 8b`.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    gunzip_if_needed(path, raw)
}

/// `raw`, gunzipped when it starts with the gzip magic `1f 8b`.
pub(crate) fn gunzip_if_needed(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        GzDecoder::new(raw.as_slice()).read_to_end(&mut out).map_err(|e| DataError::io(path, e))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Write `path` through `body`, gzip-compressed when the name ends in `.gz`.
pub(crate) fn write_with(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), DataError> {
    let run = || -> std::io::Result<()> {
        let file = BufWriter::new(File::create(path)?);
        let gz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        if gz {
            let mut enc = GzEncoder::new(file, Compression::default());
            body(&mut enc)?;
            enc.finish()?.flush()
        } else {
            let mut file = file;
            body(&mut file)?;
            file.flush()
        }
    };
    run().map_err(|e| DataError::io(path, e))
}

/// Rows of a row-major `n x d` buffer copied into a column-major `Mat`, in blocks of rows so
/// both sides stay in cache. `get(k)` returns element `k = i d + j`.
pub(crate) fn mat_from_row_major(n: usize, d: usize, get: impl Fn(usize) -> f64) -> Mat<f64> {
    const BLOCK: usize = 256;
    let mut m = Mat::<f64>::zeros(n, d);
    for i0 in (0..n).step_by(BLOCK) {
        let i1 = (i0 + BLOCK).min(n);
        for j in 0..d {
            let col = &mut m.col_as_slice_mut(j)[i0..i1];
            for (off, dst) in col.iter_mut().enumerate() {
                *dst = get((i0 + off) * d + j);
            }
        }
    }
    m
}

/// The first non-finite entry of `m` in row-major order as a [`DataError::NonFinite`]
/// (1-based row and column), under the `Reject` policy.
pub(crate) fn check_finite(path: &Path, m: &Mat<f64>, policy: NonFinite) -> Result<(), DataError> {
    if policy == NonFinite::Allow {
        return Ok(());
    }
    let mut first: Option<(usize, usize, f64)> = None;
    for j in 0..m.ncols() {
        for (i, &v) in m.col_as_slice(j).iter().enumerate() {
            if !v.is_finite() && first.is_none_or(|(fi, fj, _)| (i, j) < (fi, fj)) {
                first = Some((i, j, v));
            }
        }
    }
    match first {
        Some((i, j, value)) => Err(DataError::NonFinite { path: path.into(), row: i + 1, col: j + 1, value }),
        None => Ok(()),
    }
}
