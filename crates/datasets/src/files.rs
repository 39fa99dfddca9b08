//! `load`: read any supported data file by its name (or any stream, by a named format), plus
//! the helpers the format modules share (atomic writes, row-major to column-major copies, the
//! non-finite policy).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use faer::Mat;
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::csv::{CsvOptions, TextLayout, parse_text};
use crate::input::Input;
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

/// A file read by [`load_detailed`]: the data set, the format it was read as and, for text,
/// what the reader decided about its delimiter and header.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The data.
    pub dataset: Dataset,
    /// The format, from the file name.
    pub format: Format,
    /// For text files, the delimiter and header decisions (`None` for binary formats).
    pub layout: Option<TextLayout>,
    /// The shape of one sample before flattening when the file has one (an IDX file of
    /// `n x d0 x d1 ...` samples: `[d0, d1, ...]`, e.g. `[28, 28]` for MNIST images); `None`
    /// for text and NPY files, whose samples are flat.
    pub sample_shape: Option<Vec<usize>>,
}

/// Read a data file, choosing the reader from its name (see [`Format`]): text files with
/// [`CsvOptions::default`] (delimiter and header detected), NPY (2-D f32/f64/u8), IDX
/// (`n x d0 x d1 ...` becomes `n x (d0 d1 ...)`). Gzip-compressed content (every member of a
/// multi-member file) is decompressed whatever the name. At most
/// [`crate::DEFAULT_MAX_BYTES`] are read; non-finite values are rejected. The data set is
/// named after the file stem and has no known intrinsic dimension.
///
/// # Errors
/// [`DataError::UnknownFormat`] for an unrecognised name, otherwise whatever the reader
/// returns.
pub fn load(path: impl AsRef<Path>) -> Result<Dataset, DataError> {
    load_with(path, &CsvOptions::default())
}

/// [`load`] with options: all of `opts` applies to text files, and `opts.non_finite` and
/// `opts.max_bytes` to every format.
///
/// # Errors
/// As [`load`].
pub fn load_with(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Dataset, DataError> {
    load_detailed(path, opts).map(|l| l.dataset)
}

/// [`load_with`], also returning the format and, for text, the [`TextLayout`] (so a program
/// can say whether it skipped a header).
///
/// # Errors
/// As [`load`].
pub fn load_detailed(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Loaded, DataError> {
    let path = path.as_ref();
    let format = Format::from_path(path).ok_or_else(|| DataError::UnknownFormat { path: path.into() })?;
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    load_reader(file, format, path, opts)
}

/// Read a data set of `format` from any byte stream (a pipe, a buffer): gunzipped when it
/// starts with the gzip magic, at most `opts.max_bytes` bytes. `path` names the source in
/// errors and, through its stem, the data set.
///
/// # Errors
/// As [`load`], less [`DataError::UnknownFormat`].
pub fn load_reader(reader: impl Read, format: Format, path: &Path, opts: &CsvOptions) -> Result<Loaded, DataError> {
    let mut input = Input::new(path, reader, opts.max_bytes)?;
    let name = file_stem(path);
    let (dataset, layout, sample_shape) = match format {
        Format::Text => {
            let (ds, layout) = parse_text(&mut input, opts, name)?;
            (ds, Some(layout), None)
        }
        Format::Npy => (Dataset::new(name, npy::parse_npy(&mut input, opts.non_finite)?), None, None),
        Format::Idx => {
            let idx = idx::parse_idx(&mut input)?;
            let n = idx.dims[0];
            let d = idx.dims[1..].iter().product();
            let shape = (idx.dims.len() > 2).then(|| idx.dims[1..].to_vec());
            (Dataset::new(name, idx.to_mat(n, d, opts.non_finite)?), None, shape)
        }
    };
    Ok(Loaded { dataset, format, layout, sample_shape })
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

/// Write `path` through `body`, gzip-compressed when the name ends in `.gz`, atomically: the
/// bytes go to a new temporary file in the same directory (`.NAME.PID.N.tmp`), which is
/// flushed to disk and then renamed over `path`. A process killed midway leaves at most the
/// temporary file, never a truncated file under the final name; on an error the temporary
/// file is removed.
pub(crate) fn write_with(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), DataError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file_name = path
        .file_name()
        .ok_or_else(|| DataError::io(path, std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.{}.tmp", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let tmp = path.with_file_name(tmp_name);
    let gz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let run = || -> std::io::Result<()> {
        let file = File::options().write(true).create_new(true).open(&tmp)?;
        let mut out = BufWriter::new(file);
        if gz {
            let mut enc = GzEncoder::new(&mut out, Compression::default());
            body(&mut enc)?;
            enc.finish()?;
        } else {
            body(&mut out)?;
        }
        let file = out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    };
    run().map_err(|e| {
        // The temporary file may not exist (create failed); nothing else to do about it.
        let _ = std::fs::remove_file(&tmp);
        DataError::io(path, e)
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The files in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("listable")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Issue 16, item 9: a write that fails midway (as a killed process would stop) leaves the
    /// previous file untouched under the final name and no temporary file behind; a write that
    /// succeeds replaces the file whole.
    #[test]
    fn writes_are_atomic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.csv");
        for name in ["x.csv", "x.csv.gz"] {
            let path = dir.path().join(name);
            write_with(&path, |w| w.write_all(b"old\n")).expect("first write");
            let err = write_with(&path, |w| {
                w.write_all(&[b'1'; 100_000])?;
                Err(std::io::Error::other("interrupted"))
            });
            assert!(matches!(err, Err(DataError::Io { path: ref p, .. }) if *p == path), "{err:?}");
            let back = crate::read_csv(&path, &crate::CsvOptions::default().header(crate::Header::No));
            assert!(matches!(back, Err(DataError::NonNumeric { ref field, .. }) if field == "old"), "{back:?}");
        }
        assert_eq!(listing(dir.path()), ["x.csv", "x.csv.gz"]);
        write_with(&path, |w| w.write_all(b"1,2\n")).expect("second write");
        assert_eq!(std::fs::read(&path).expect("read"), b"1,2\n");
        assert_eq!(listing(dir.path()), ["x.csv", "x.csv.gz"]);
        // A missing directory is an I/O error naming the final path.
        let missing = dir.path().join("no/such/dir/y.npy");
        let err = crate::write_npy(&missing, faer::Mat::<f64>::zeros(1, 1).as_ref());
        assert!(matches!(err, Err(DataError::Io { path: ref p, .. }) if *p == missing), "{err:?}");
    }
}
