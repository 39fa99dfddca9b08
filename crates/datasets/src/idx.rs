//! IDX files (the MNIST / Fashion-MNIST format), optionally gzip-compressed: streaming readers
//! for image and label files (the header checked before the payload is read) and u8 writers
//! for tests and benchmarks.
//!
//! Layout: bytes `0 0 T N`, then `N` big-endian u32 dimensions, then the elements in row-major
//! order, big-endian; `T` is `0x08` u8, `0x09` i8, `0x0B` i16, `0x0C` i32, `0x0D` f32,
//! `0x0E` f64.

use std::path::Path;

use faer::Mat;

use crate::DataError;
use crate::files::{NonFinite, check_finite, mat_from_row_major, write_with};
use crate::input::{DEFAULT_MAX_BYTES, Input, Rest};

/// Element types of IDX files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdxType {
    U8,
    I8,
    I16,
    I32,
    F32,
    F64,
}

impl IdxType {
    fn from_code(code: u8) -> Option<IdxType> {
        Some(match code {
            0x08 => IdxType::U8,
            0x09 => IdxType::I8,
            0x0B => IdxType::I16,
            0x0C => IdxType::I32,
            0x0D => IdxType::F32,
            0x0E => IdxType::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }
}

/// A parsed IDX file: its element type, dimensions and length-checked payload.
#[derive(Debug)]
pub(crate) struct IdxData<'p> {
    path: &'p Path,
    dtype: IdxType,
    /// The dimensions, at least one.
    pub dims: Vec<usize>,
    payload: Vec<u8>,
}

/// Parse an IDX stream: the header first, then exactly the bytes it implies (refusing more
/// than the cap before reading them), then nothing.
pub(crate) fn parse_idx<'p>(input: &mut Input<'p>) -> Result<IdxData<'p>, DataError> {
    let path = input.path();
    let mut bytes = Vec::with_capacity(64);
    input.read_up_to(4, &mut bytes)?;
    if bytes.is_empty() {
        return Err(DataError::Empty { path: path.into() });
    }
    let short = bytes.len().min(2);
    if bytes[..short] != [0, 0][..short] {
        return Err(DataError::BadMagic { path: path.into(), expected: "00 00 <type> <ndim>", found: bytes.clone() });
    }
    let truncated = |expected: usize, found: usize| DataError::Truncated {
        path: path.into(),
        expected: expected as u64,
        found: found as u64,
    };
    if bytes.len() < 4 {
        return Err(truncated(4, bytes.len()));
    }
    let dtype = IdxType::from_code(bytes[2]).ok_or_else(|| DataError::UnsupportedDtype {
        path: path.into(),
        dtype: format!("IDX type code {:#04x}", bytes[2]),
    })?;
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err(DataError::BadHeader { path: path.into(), detail: "zero dimensions".into() });
    }
    let start = 4 + 4 * ndim;
    input.read_up_to(4 * ndim as u64, &mut bytes)?;
    if bytes.len() < start {
        return Err(truncated(start, bytes.len()));
    }
    let dims: Vec<usize> =
        bytes[4..start].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let payload_len = dims
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .filter(|c| c.checked_add(start).is_some())
        .ok_or_else(|| DataError::BadHeader { path: path.into(), detail: format!("dimensions {dims:?} overflow") })?;
    // Dimensions with a zero hold nothing, however large the others: [4294967295, 0] would
    // otherwise become a 4294967295 x 0 matrix, built row by row (found by fuzzing).
    if dims.contains(&0) {
        return Err(DataError::Empty { path: path.into() });
    }
    let mut payload = Vec::new();
    let got = input.read_up_to(payload_len as u64, &mut payload)?;
    if got < payload_len as u64 {
        return Err(truncated(start + payload_len, start + payload.len()));
    }
    let rest = input.count_rest()?;
    if rest != Rest::Exactly(0) {
        return Err(DataError::ShapeMismatch {
            path: path.into(),
            detail: format!("{rest} bytes after the array of dimensions {dims:?}"),
        });
    }
    Ok(IdxData { path, dtype, dims, payload })
}

impl IdxData<'_> {
    /// The elements as an `n x d` matrix (`n d` must equal the element count).
    pub(crate) fn to_mat(&self, n: usize, d: usize, non_finite: NonFinite) -> Result<Mat<f64>, DataError> {
        let p = self.payload.as_slice();
        debug_assert_eq!(n * d * self.dtype.size(), p.len());
        let m = match self.dtype {
            IdxType::U8 => mat_from_row_major(n, d, |k| f64::from(p[k])),
            IdxType::I8 => mat_from_row_major(n, d, |k| f64::from(p[k] as i8)),
            IdxType::I16 => mat_from_row_major(n, d, |k| f64::from(i16::from_be_bytes([p[2 * k], p[2 * k + 1]]))),
            IdxType::I32 => mat_from_row_major(n, d, |k| {
                f64::from(i32::from_be_bytes([p[4 * k], p[4 * k + 1], p[4 * k + 2], p[4 * k + 3]]))
            }),
            IdxType::F32 => mat_from_row_major(n, d, |k| {
                f64::from(f32::from_be_bytes([p[4 * k], p[4 * k + 1], p[4 * k + 2], p[4 * k + 3]]))
            }),
            IdxType::F64 => mat_from_row_major(n, d, |k| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&p[8 * k..8 * k + 8]);
                f64::from_be_bytes(b)
            }),
        };
        check_finite(self.path, &m, non_finite)?;
        Ok(m)
    }

    /// A [`DataError::ShapeMismatch`] unless there are exactly `want` dimensions.
    fn expect_ndim(&self, want: usize, what: &str) -> Result<(), DataError> {
        if self.dims.len() == want {
            Ok(())
        } else {
            Err(DataError::ShapeMismatch {
                path: self.path.into(),
                detail: format!("{what} need {want} dimensions, the file has {:?}", self.dims),
            })
        }
    }
}

/// Read an IDX image file (`n x rows x cols`, e.g. MNIST's `train-images-idx3-ubyte`,
/// optionally gzip-compressed) into an `n x (rows cols)` matrix of raw values (0 to 255 for
/// u8 files), each image flattened row-major. Returns `(images, rows, cols)`.
///
/// # Errors
/// [`DataError::Io`], [`DataError::Empty`] (also for a zero dimension), [`DataError::BadMagic`],
/// [`DataError::UnsupportedDtype`], [`DataError::BadHeader`], [`DataError::Truncated`],
/// [`DataError::ShapeMismatch`] (not 3-D, or trailing bytes), [`DataError::NonFinite`] (float
/// files only).
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<(Mat<f64>, usize, usize), DataError> {
    let path = path.as_ref();
    let view = parse_idx(&mut Input::open(path, DEFAULT_MAX_BYTES)?)?;
    view.expect_ndim(3, "images")?;
    let (n, rows, cols) = (view.dims[0], view.dims[1], view.dims[2]);
    Ok((view.to_mat(n, rows * cols, NonFinite::Reject)?, rows, cols))
}

/// Read a 1-D IDX label file (e.g. MNIST's `train-labels-idx1-ubyte`, optionally
/// gzip-compressed) into one value per sample.
///
/// # Errors
/// As [`read_idx_images`], with [`DataError::ShapeMismatch`] unless the file is 1-D.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<f64>, DataError> {
    let path = path.as_ref();
    let view = parse_idx(&mut Input::open(path, DEFAULT_MAX_BYTES)?)?;
    view.expect_ndim(1, "labels")?;
    Ok(view.to_mat(view.dims[0], 1, NonFinite::Reject)?.col_as_slice(0).to_vec())
}

/// Write a u8 IDX file with the given dimensions (`data` row-major); a path ending in `.gz`
/// is gzip-compressed.
///
/// # Errors
/// [`DataError::Io`].
///
/// # Panics
/// If `dims` is empty or has more than 255 entries, a dimension exceeds `u32::MAX`, or
/// `data.len()` is not the product of `dims`.
#[track_caller]
pub fn write_idx_u8(path: impl AsRef<Path>, dims: &[usize], data: &[u8]) -> Result<(), DataError> {
    assert!(!dims.is_empty() && dims.len() <= 255, "write_idx_u8: {} dimensions", dims.len());
    assert!(dims.iter().all(|&d| u32::try_from(d).is_ok()), "write_idx_u8: dimension too large in {dims:?}");
    let count: usize = dims.iter().product();
    assert_eq!(count, data.len(), "write_idx_u8: dimensions {dims:?} need {count} bytes, got {}", data.len());
    write_with(path.as_ref(), |w| {
        w.write_all(&[0, 0, 0x08, dims.len() as u8])?;
        for &d in dims {
            w.write_all(&(d as u32).to_be_bytes())?;
        }
        w.write_all(data)
    })
}

/// Write `n = images.len() / (rows cols)` u8 images of `rows x cols` (row-major, image after
/// image) as an IDX3 file readable by [`read_idx_images`].
///
/// # Errors
/// [`DataError::Io`].
///
/// # Panics
/// If `rows cols` is zero or does not divide `images.len()`.
#[track_caller]
pub fn write_idx_images(path: impl AsRef<Path>, images: &[u8], rows: usize, cols: usize) -> Result<(), DataError> {
    let size = rows * cols;
    assert!(
        size > 0 && images.len() % size == 0,
        "write_idx_images: {} bytes are not whole {rows} x {cols} images",
        images.len()
    );
    write_idx_u8(path, &[images.len() / size, rows, cols], images)
}

/// Write u8 labels as an IDX1 file readable by [`read_idx_labels`].
///
/// # Errors
/// [`DataError::Io`].
///
/// # Panics
/// If there are more than `u32::MAX` labels.
#[track_caller]
pub fn write_idx_labels(path: impl AsRef<Path>, labels: &[u8]) -> Result<(), DataError> {
    write_idx_u8(path, &[labels.len()], labels)
}

#[cfg(test)]
mod tests;
