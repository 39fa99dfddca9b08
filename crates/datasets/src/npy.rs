//! NumPy `.npy` files: a reader for 2-D f32/f64/u8 arrays in C or Fortran order (format
//! versions 1 to 3, either byte order) and an f64 writer.

use std::path::Path;

use faer::{Mat, MatRef};

use crate::DataError;
use crate::files::{NonFinite, check_finite, mat_from_row_major, read_bytes, write_with};

/// The six magic bytes that open every `.npy` file.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Element types the reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F64 { big: bool },
    F32 { big: bool },
    U8,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F64 { .. } => 8,
            Dtype::F32 { .. } => 4,
            Dtype::U8 => 1,
        }
    }

    /// Element `k` of `payload`.
    #[inline]
    fn get(self, payload: &[u8], k: usize) -> f64 {
        match self {
            Dtype::U8 => f64::from(payload[k]),
            Dtype::F32 { big } => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&payload[4 * k..4 * k + 4]);
                f64::from(if big { f32::from_be_bytes(b) } else { f32::from_le_bytes(b) })
            }
            Dtype::F64 { big } => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&payload[8 * k..8 * k + 8]);
                if big { f64::from_be_bytes(b) } else { f64::from_le_bytes(b) }
            }
        }
    }
}

/// Read a 2-D `.npy` array (f32, f64 or u8, C or Fortran order) into an `n x d` matrix,
/// rejecting NaN and infinities. Gzip-compressed content is decompressed.
///
/// # Errors
/// [`DataError::Io`], [`DataError::Empty`], [`DataError::BadMagic`], [`DataError::BadHeader`],
/// [`DataError::UnsupportedDtype`], [`DataError::ShapeMismatch`] (not 2-D, or trailing
/// bytes), [`DataError::Truncated`], [`DataError::NonFinite`].
pub fn read_npy(path: impl AsRef<Path>) -> Result<Mat<f64>, DataError> {
    read_npy_with(path, NonFinite::Reject)
}

/// [`read_npy`] with a choice of what to do with non-finite values.
///
/// # Errors
/// As [`read_npy`].
pub fn read_npy_with(path: impl AsRef<Path>, non_finite: NonFinite) -> Result<Mat<f64>, DataError> {
    let path = path.as_ref();
    let bytes = read_bytes(path)?;
    parse_npy(path, &bytes, non_finite)
}

/// Parse the bytes of a `.npy` file; `path` only names the file in errors.
pub(crate) fn parse_npy(path: &Path, bytes: &[u8], non_finite: NonFinite) -> Result<Mat<f64>, DataError> {
    if bytes.is_empty() {
        return Err(DataError::Empty { path: path.into() });
    }
    let short = bytes.len().min(MAGIC.len());
    if bytes[..short] != MAGIC[..short] {
        return Err(DataError::BadMagic {
            path: path.into(),
            expected: "\\x93NUMPY",
            found: bytes[..bytes.len().min(8)].to_vec(),
        });
    }
    let truncated = |expected: usize| DataError::Truncated {
        path: path.into(),
        expected: expected as u64,
        found: bytes.len() as u64,
    };
    let bad_header = |detail: String| DataError::BadHeader { path: path.into(), detail };
    if bytes.len() < 8 {
        return Err(truncated(10));
    }
    let (len_bytes, start) = match bytes[6] {
        1 => (2, 10),
        2 | 3 => (4, 12),
        v => return Err(bad_header(format!("unsupported format version {v}.{}", bytes[7]))),
    };
    if bytes.len() < start {
        return Err(truncated(start));
    }
    let header_len = bytes[8..8 + len_bytes].iter().rev().fold(0usize, |acc, &b| (acc << 8) | b as usize);
    let data_start = start + header_len;
    if bytes.len() < data_start {
        return Err(truncated(data_start));
    }
    let header = String::from_utf8_lossy(&bytes[start..data_start]);
    let descr = dict_value(&header, "descr").ok_or_else(|| bad_header("no 'descr' key".into()))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let dtype = match descr {
        "<f8" | "=f8" => Dtype::F64 { big: false },
        ">f8" => Dtype::F64 { big: true },
        "<f4" | "=f4" => Dtype::F32 { big: false },
        ">f4" => Dtype::F32 { big: true },
        "|u1" | "<u1" | ">u1" | "=u1" => Dtype::U8,
        other => return Err(DataError::UnsupportedDtype { path: path.into(), dtype: other.into() }),
    };
    let fortran = match dict_value(&header, "fortran_order") {
        Some("True") => true,
        Some("False") => false,
        _ => return Err(bad_header("'fortran_order' must be True or False".into())),
    };
    let shape_text = dict_value(&header, "shape").ok_or_else(|| bad_header("no 'shape' key".into()))?;
    let shape: Vec<usize> = shape_text
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad_header(format!("bad shape {shape_text}"))))
        .collect::<Result<_, _>>()?;
    let &[n, d] = shape.as_slice() else {
        return Err(DataError::ShapeMismatch {
            path: path.into(),
            detail: format!("expected a 2-D array, found shape {shape_text}"),
        });
    };
    let need = n
        .checked_mul(d)
        .and_then(|c| c.checked_mul(dtype.size()))
        .and_then(|c| c.checked_add(data_start))
        .ok_or_else(|| bad_header(format!("shape {shape_text} overflows")))?;
    if bytes.len() < need {
        return Err(truncated(need));
    }
    if bytes.len() > need {
        return Err(DataError::ShapeMismatch {
            path: path.into(),
            detail: format!("{} bytes after the {n} x {d} array", bytes.len() - need),
        });
    }
    let payload = &bytes[data_start..];
    let m = if fortran {
        Mat::from_fn(n, d, |i, j| dtype.get(payload, j * n + i))
    } else {
        mat_from_row_major(n, d, |k| dtype.get(payload, k))
    };
    check_finite(path, &m, non_finite)?;
    Ok(m)
}

/// The raw text of the value of `'key'` in a Python dict literal: a quoted string, a tuple,
/// or a bare word.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pos = header.find(&format!("'{key}'")).or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[pos + key.len() + 2..].trim_start().strip_prefix(':')?.trim_start();
    let end = match rest.chars().next()? {
        '(' => rest.find(')')? + 1,
        q @ ('\'' | '"') => rest[1..].find(q)? + 2,
        _ => rest.find([',', '}']).unwrap_or(rest.len()),
    };
    Some(rest[..end].trim())
}

/// Write `x` (`n x d`) as a version 1.0 `.npy` file: little-endian f64 (`'<f8'`), C order,
/// header padded to a multiple of 64 bytes as NumPy does. A path ending in `.gz` is
/// gzip-compressed (NumPy cannot read that directly; [`read_npy`] can).
///
/// # Errors
/// [`DataError::Io`].
pub fn write_npy(path: impl AsRef<Path>, x: MatRef<'_, f64>) -> Result<(), DataError> {
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}), }}", x.nrows(), x.ncols());
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    write_with(path.as_ref(), |w| {
        w.write_all(MAGIC)?;
        w.write_all(&[1, 0])?;
        // The padded header is under 100 bytes plus digits: it fits the u16 length field.
        w.write_all(&(header.len() as u16).to_le_bytes())?;
        w.write_all(header.as_bytes())?;
        let mut row = Vec::with_capacity(8 * x.ncols());
        for i in 0..x.nrows() {
            row.clear();
            for j in 0..x.ncols() {
                row.extend_from_slice(&x[(i, j)].to_le_bytes());
            }
            w.write_all(&row)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests;
