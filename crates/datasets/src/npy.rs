//! NumPy `.npy` files: a streaming reader for 2-D f32/f64/u8 arrays in C or Fortran order
//! (format versions 1 to 3, either byte order; the header dictionary parsed as a Python
//! literal) and an f64 writer.

use std::path::Path;

use faer::{Mat, MatRef};

use crate::DataError;
use crate::files::{NonFinite, check_finite, mat_from_row_major, write_with};
use crate::input::{DEFAULT_MAX_BYTES, Input, Rest};

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
/// rejecting NaN and infinities. Gzip-compressed content is decompressed; at most
/// [`crate::DEFAULT_MAX_BYTES`] are read ([`crate::load_with`] takes another limit).
///
/// # Errors
/// [`DataError::Io`], [`DataError::Empty`] (also for a shape with a zero),
/// [`DataError::BadMagic`], [`DataError::BadHeader`],
/// [`DataError::UnsupportedDtype`], [`DataError::ShapeMismatch`] (not 2-D, or trailing
/// bytes), [`DataError::Truncated`], [`DataError::NonFinite`],
/// [`DataError::DeclaredTooLarge`], [`DataError::GzipTrailingData`].
pub fn read_npy(path: impl AsRef<Path>) -> Result<Mat<f64>, DataError> {
    read_npy_with(path, NonFinite::Reject)
}

/// [`read_npy`] with a choice of what to do with non-finite values.
///
/// # Errors
/// As [`read_npy`].
pub fn read_npy_with(path: impl AsRef<Path>, non_finite: NonFinite) -> Result<Mat<f64>, DataError> {
    let path = path.as_ref();
    let mut input = Input::open(path, DEFAULT_MAX_BYTES)?;
    parse_npy(&mut input, non_finite)
}

/// Longest header dictionary read, in bytes. NumPy writes about 120 and by default refuses to
/// read more than 10,000 (`max_header_size`); this is a little more lenient.
const MAX_HEADER_LEN: usize = 1 << 16;

/// Read `want` more bytes of the file into `bytes`, or fail as truncated, saying the file
/// needs `bytes.len() + want` bytes.
fn read_part(input: &mut Input<'_>, bytes: &mut Vec<u8>, want: usize) -> Result<(), DataError> {
    let expected = (bytes.len() + want) as u64;
    let got = input.read_up_to(want as u64, bytes)?;
    if got < want as u64 {
        return Err(DataError::Truncated { path: input.path().into(), expected, found: bytes.len() as u64 });
    }
    Ok(())
}

/// Parse a `.npy` stream: the header first, then exactly the bytes it implies (refusing more
/// than the cap before reading them), then nothing.
pub(crate) fn parse_npy(input: &mut Input<'_>, non_finite: NonFinite) -> Result<Mat<f64>, DataError> {
    let path = input.path();
    let mut bytes = Vec::with_capacity(128);
    input.read_up_to(8, &mut bytes)?;
    if bytes.is_empty() {
        return Err(DataError::Empty { path: path.into() });
    }
    let short = bytes.len().min(MAGIC.len());
    if bytes[..short] != MAGIC[..short] {
        return Err(DataError::BadMagic { path: path.into(), expected: "\\x93NUMPY", found: bytes.clone() });
    }
    let bad_header = |detail: String| DataError::BadHeader { path: path.into(), detail };
    if bytes.len() < 8 {
        return Err(DataError::Truncated { path: path.into(), expected: 10, found: bytes.len() as u64 });
    }
    let (len_bytes, utf8) = match bytes[6] {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        v => return Err(bad_header(format!("unsupported format version {v}.{}", bytes[7]))),
    };
    read_part(input, &mut bytes, len_bytes)?;
    let header_len = bytes[8..8 + len_bytes].iter().rev().fold(0usize, |acc, &b| (acc << 8) | b as usize);
    if header_len > MAX_HEADER_LEN {
        return Err(bad_header(format!("a header of {header_len} bytes (NumPy writes about 120)")));
    }
    let start = bytes.len();
    read_part(input, &mut bytes, header_len)?;
    let data_start = bytes.len();
    let raw = &bytes[start..data_start];
    // Versions 1 and 2 are latin-1, version 3 UTF-8.
    let text: String = if utf8 {
        std::str::from_utf8(raw).map_err(|_| bad_header("the header is not UTF-8".into()))?.to_string()
    } else {
        raw.iter().map(|&b| char::from(b)).collect()
    };
    let header = NpyHeader::parse(&text).map_err(|e| bad_header(e.to_string()))?;
    let dtype = match header.descr.as_str() {
        "<f8" | "=f8" => Dtype::F64 { big: false },
        ">f8" => Dtype::F64 { big: true },
        "<f4" | "=f4" => Dtype::F32 { big: false },
        ">f4" => Dtype::F32 { big: true },
        "|u1" | "<u1" | ">u1" | "=u1" => Dtype::U8,
        other => return Err(DataError::UnsupportedDtype { path: path.into(), dtype: other.into() }),
    };
    let &[n, d] = header.shape.as_slice() else {
        return Err(DataError::ShapeMismatch {
            path: path.into(),
            detail: format!("expected a 2-D array, found shape {:?}", header.shape),
        });
    };
    let (n, d) = match (usize::try_from(n), usize::try_from(d)) {
        (Ok(n), Ok(d)) => (n, d),
        _ => return Err(bad_header(format!("shape ({n}, {d}) overflows"))),
    };
    // An array without elements is empty, however many rows it claims: (10^12, 0) holds
    // nothing, and building a 10^12 x 0 matrix would loop over the rows (found by fuzzing).
    if n == 0 || d == 0 {
        return Err(DataError::Empty { path: path.into() });
    }
    let payload_len = n
        .checked_mul(d)
        .and_then(|c| c.checked_mul(dtype.size()))
        .filter(|c| c.checked_add(data_start).is_some())
        .ok_or_else(|| bad_header(format!("shape ({n}, {d}) overflows")))?;
    read_part(input, &mut bytes, payload_len)?;
    let rest = input.count_rest()?;
    if rest != Rest::Exactly(0) {
        return Err(DataError::ShapeMismatch {
            path: path.into(),
            detail: format!("{rest} bytes after the {n} x {d} array"),
        });
    }
    let payload = &bytes[data_start..];
    let m = if header.fortran_order {
        Mat::from_fn(n, d, |i, j| dtype.get(payload, j * n + i))
    } else {
        mat_from_row_major(n, d, |k| dtype.get(payload, k))
    };
    check_finite(path, &m, non_finite)?;
    Ok(m)
}

/// The header dictionary of a `.npy` file, parsed as the Python literal it is, with exactly
/// the three keys NumPy requires (NumPy refuses others too).
#[derive(Debug, Clone, PartialEq, Eq)]
struct NpyHeader {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// Why a header dictionary did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum HeaderSyntax {
    #[error("unexpected {found} at character {at} of the header dictionary")]
    Unexpected { found: String, at: usize },
    #[error("key {0:?} appears twice")]
    DuplicateKey(String),
    #[error("unknown key {0:?} (NumPy writes only 'descr', 'fortran_order' and 'shape')")]
    UnknownKey(String),
    #[error("no {0:?} key")]
    MissingKey(&'static str),
    #[error("{key:?} must be {want}")]
    WrongType { key: &'static str, want: &'static str },
}

/// A Python literal of the kinds a `.npy` header holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PyValue {
    Str(String),
    Int(u64),
    Bool(bool),
    None,
    /// A tuple or a list (a structured dtype's `descr` is a list of tuples).
    Seq(Vec<PyValue>),
}

/// A cursor over the characters of a header dictionary.
struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

impl Lexer {
    fn skip_space(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.chars.get(self.pos).copied()
    }

    fn unexpected(&self) -> HeaderSyntax {
        let found = match self.chars.get(self.pos) {
            Some(c) => format!("{c:?}"),
            None => "end".into(),
        };
        HeaderSyntax::Unexpected { found, at: self.pos }
    }

    fn expect(&mut self, c: char) -> Result<(), HeaderSyntax> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A value; `depth` bounds nesting so a hostile header cannot overflow the stack.
    fn value(&mut self, depth: usize) -> Result<PyValue, HeaderSyntax> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.chars.get(self.pos).copied() {
                        None => return Err(self.unexpected()),
                        Some(c) if c == q => break,
                        Some('\\') => {
                            let escaped = self.chars.get(self.pos + 1).copied().ok_or_else(|| self.unexpected())?;
                            s.push(escaped);
                            self.pos += 2;
                        }
                        Some(c) => {
                            s.push(c);
                            self.pos += 1;
                        }
                    }
                }
                self.pos += 1;
                Ok(PyValue::Str(s))
            }
            Some(open @ ('(' | '[')) if depth < 8 => {
                let close = if open == '(' { ')' } else { ']' };
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek() != Some(close) {
                    items.push(self.value(depth + 1)?);
                    if self.peek() == Some(',') {
                        self.pos += 1;
                    } else if self.peek() != Some(close) {
                        return Err(self.unexpected());
                    }
                }
                self.pos += 1;
                Ok(PyValue::Seq(items))
            }
            Some(c) if c.is_ascii_digit() => {
                let start = self.pos;
                while self.chars.get(self.pos).is_some_and(char::is_ascii_digit) {
                    self.pos += 1;
                }
                let digits: String = self.chars[start..self.pos].iter().collect();
                // Python 2 wrote long integers with an `L`.
                if self.chars.get(self.pos) == Some(&'L') {
                    self.pos += 1;
                }
                digits.parse().map(PyValue::Int).map_err(|_| HeaderSyntax::Unexpected { found: digits, at: start })
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self.chars.get(self.pos).is_some_and(char::is_ascii_alphanumeric) {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                match word.as_str() {
                    "True" => Ok(PyValue::Bool(true)),
                    "False" => Ok(PyValue::Bool(false)),
                    "None" => Ok(PyValue::None),
                    _ => Err(HeaderSyntax::Unexpected { found: word, at: start }),
                }
            }
            _ => Err(self.unexpected()),
        }
    }
}

impl NpyHeader {
    /// Parse `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }` (any key order,
    /// optional trailing comma, trailing spaces and newline).
    fn parse(text: &str) -> Result<NpyHeader, HeaderSyntax> {
        let mut lx = Lexer { chars: text.chars().collect(), pos: 0 };
        lx.expect('{')?;
        let mut entries: Vec<(String, PyValue)> = Vec::new();
        while lx.peek() != Some('}') {
            let key = match lx.value(0)? {
                PyValue::Str(k) => k,
                _ => return Err(lx.unexpected()),
            };
            lx.expect(':')?;
            let value = lx.value(0)?;
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(HeaderSyntax::DuplicateKey(key));
            }
            if !matches!(key.as_str(), "descr" | "fortran_order" | "shape") {
                return Err(HeaderSyntax::UnknownKey(key));
            }
            entries.push((key, value));
            if lx.peek() == Some(',') {
                lx.pos += 1;
            } else if lx.peek() != Some('}') {
                return Err(lx.unexpected());
            }
        }
        lx.pos += 1;
        if lx.peek().is_some() {
            return Err(lx.unexpected());
        }
        let mut take = |key: &'static str| {
            entries
                .iter()
                .position(|(k, _)| k == key)
                .map(|i| entries.swap_remove(i).1)
                .ok_or(HeaderSyntax::MissingKey(key))
        };
        let descr = match take("descr")? {
            PyValue::Str(s) => s,
            other => format!("{other:?}"),
        };
        let fortran_order = match take("fortran_order")? {
            PyValue::Bool(b) => b,
            _ => return Err(HeaderSyntax::WrongType { key: "fortran_order", want: "True or False" }),
        };
        let shape = match take("shape")? {
            PyValue::Seq(items) => items
                .into_iter()
                .map(|v| match v {
                    PyValue::Int(i) => Ok(i),
                    _ => Err(HeaderSyntax::WrongType { key: "shape", want: "a tuple of integers" }),
                })
                .collect::<Result<Vec<u64>, _>>()?,
            _ => return Err(HeaderSyntax::WrongType { key: "shape", want: "a tuple of integers" }),
        };
        Ok(NpyHeader { descr, fortran_order, shape })
    }
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
pub(crate) mod tests;
