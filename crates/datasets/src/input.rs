//! `Input`: a data file as a byte stream, gunzipped when it starts with the gzip magic (every
//! member of a multi-member file, nothing after the last one), counting what it has read and
//! refusing to read past a cap, so no reader ever holds more than the cap in memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::GzDecoder;

use crate::DataError;

/// The default cap on the bytes a reader takes from one file, after decompression: 1 GiB
/// (`2^30` bytes). Text needs at most 8 bytes of memory per byte read for its values (a value
/// takes at least two characters and becomes an 8-byte `f64`, held twice while the matrix is
/// built), binary files at most `8 / element size` bytes per byte for the matrix. Raise it with
/// [`crate::CsvOptions::max_bytes`].
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// The two bytes that open every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why an [`Input`] stopped: carried inside an `io::Error` through `Read` and turned back into
/// the matching [`DataError`] by [`Input::error`].
#[derive(Debug)]
enum Stop {
    /// The cap was reached.
    Limit,
    /// Bytes after the last gzip member that do not start another member.
    TrailingData { members: u64 },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Limit => f.write_str("read limit reached"),
            Stop::TrailingData { members } => write!(f, "data after gzip member {members} is not gzip"),
        }
    }
}

impl std::error::Error for Stop {}

/// A buffered reader that can guarantee a few bytes of look-ahead ([`Buffered::peek`]), which
/// `std::io::BufReader` cannot: a pipe may deliver the two bytes of a gzip magic in two reads.
struct Buffered<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
}

impl<R: Read> Buffered<R> {
    fn new(inner: R) -> Self {
        Buffered { inner, buf: vec![0; 64 * 1024].into_boxed_slice(), pos: 0, filled: 0 }
    }

    /// The next `n` bytes (`n` at most the buffer size) without consuming them, or fewer at
    /// the end of the stream.
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.filled - self.pos < n {
            self.buf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
            while self.filled < n {
                match self.inner.read(&mut self.buf[self.filled..]) {
                    Ok(0) => break,
                    Ok(got) => self.filled += got,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let end = self.filled.min(self.pos + n);
        Ok(&self.buf[self.pos..end])
    }
}

impl<R: Read> Read for Buffered<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let data = self.fill_buf()?;
        let n = data.len().min(out.len());
        out[..n].copy_from_slice(&data[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Buffered<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.filled {
            self.pos = 0;
            self.filled = 0;
            self.filled = loop {
                match self.inner.read(&mut self.buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other?,
                }
            };
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.filled);
    }
}

/// Every member of a gzip stream, one after another; after the last member only the end of the
/// stream may follow (`gzip -d` ignores trailing bytes with a warning; we refuse them).
struct Members<R: Read> {
    /// The decoder of the current member; `None` once the stream has ended cleanly.
    current: Option<GzDecoder<Buffered<R>>>,
    /// Members started so far.
    members: u64,
}

impl<R: Read> Members<R> {
    fn new(inner: Buffered<R>) -> Self {
        Members { current: Some(GzDecoder::new(inner)), members: 1 }
    }
}

impl<R: Read> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(decoder) = self.current.as_mut() else { return Ok(0) };
            let got = decoder.read(buf)?;
            if got > 0 || buf.is_empty() {
                return Ok(got);
            }
            // The member ended (its CRC and length checked by the decoder): what follows?
            let Some(decoder) = self.current.take() else { return Ok(0) };
            let mut inner = decoder.into_inner();
            let head = inner.peek(2)?;
            if head.is_empty() {
                return Ok(0);
            }
            if head != GZIP_MAGIC {
                return Err(io::Error::new(io::ErrorKind::InvalidData, Stop::TrailingData { members: self.members }));
            }
            self.members += 1;
            self.current = Some(GzDecoder::new(inner));
        }
    }
}

/// A file's content as a capped stream (see the module docs).
pub(crate) struct Input<'p> {
    path: &'p Path,
    inner: Box<dyn BufRead + 'p>,
    /// Bytes handed out so far (after decompression).
    read: u64,
    /// Most bytes that may be handed out.
    limit: u64,
    /// Whether the content is gzip-compressed.
    gzip: bool,
}

impl<'p> Input<'p> {
    /// Open `path` for reading at most `limit` bytes of its (decompressed) content.
    pub(crate) fn open(path: &'p Path, limit: u64) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        Input::new(path, file, limit)
    }

    /// Read `reader` (gunzipped when it starts with the gzip magic) for at most `limit` bytes;
    /// `path` names it in errors.
    pub(crate) fn new(path: &'p Path, reader: impl Read + 'p, limit: u64) -> Result<Self, DataError> {
        let mut raw = Buffered::new(reader);
        let gzip = raw.peek(2).map_err(|e| DataError::io(path, e))? == GZIP_MAGIC;
        let inner: Box<dyn BufRead + 'p> =
            if gzip { Box::new(BufReader::with_capacity(64 * 1024, Members::new(raw))) } else { Box::new(raw) };
        Ok(Input { path, inner, read: 0, limit, gzip })
    }

    /// The file's path, for errors.
    pub(crate) fn path(&self) -> &'p Path {
        self.path
    }

    /// The [`DataError`] for an I/O error from this input (see [`ErrorContext::error`]).
    pub(crate) fn error(&self, e: io::Error) -> DataError {
        self.context().error(e)
    }

    /// What [`ErrorContext::error`] needs, detached from the input's borrow.
    pub(crate) fn context(&self) -> ErrorContext<'p> {
        ErrorContext { path: self.path, limit: self.limit, gzip: self.gzip }
    }

    /// Exactly `n` more bytes appended to `out`, or as many as there are; returns how many were
    /// appended. `out` grows with the data actually read, so a file that promises more than it
    /// has costs only what it has.
    ///
    /// Errors: [`DataError::TooLarge`] when `n` would pass the cap (nothing read), or a read
    /// error.
    pub(crate) fn read_up_to(&mut self, n: u64, out: &mut Vec<u8>) -> Result<u64, DataError> {
        if self.read.saturating_add(n) > self.limit {
            return Err(DataError::DeclaredTooLarge {
                path: self.path.into(),
                limit: self.limit,
                declared: self.read.saturating_add(n),
            });
        }
        let got = (&mut *self).take(n).read_to_end(out);
        got.map(|g| g as u64).map_err(|e| self.error(e))
    }

    /// The bytes left in the stream, counted up to the cap: `Exactly(m)`, or `AtLeast(m)` when
    /// the cap stopped the count (then `m` counts the bytes read plus the one that was
    /// waiting).
    pub(crate) fn count_rest(&mut self) -> Result<Rest, DataError> {
        let before = self.read;
        match io::copy(self, &mut io::sink()) {
            Ok(_) => Ok(Rest::Exactly(self.read - before)),
            // The cap stopped the count with at least one more byte waiting.
            Err(e) => match self.error(e) {
                DataError::TooLarge { .. } => Ok(Rest::AtLeast(self.read - before + 1)),
                other => Err(other),
            },
        }
    }
}

/// The path, cap and compression of an [`Input`], to turn its I/O errors into [`DataError`]s
/// while the input itself is borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorContext<'p> {
    path: &'p Path,
    limit: u64,
    gzip: bool,
}

impl ErrorContext<'_> {
    /// The [`DataError`] for an I/O error from the input: the cap, gzip trailing data, a
    /// corrupt gzip stream, or an operating-system error.
    pub(crate) fn error(self, e: io::Error) -> DataError {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<Stop>()) {
            Some(Stop::Limit) => DataError::TooLarge { path: self.path.into(), limit: self.limit },
            Some(&Stop::TrailingData { members }) => DataError::GzipTrailingData { path: self.path.into(), members },

            None if self.gzip
                && matches!(
                    e.kind(),
                    io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
                ) =>
            {
                DataError::io(self.path, io::Error::new(e.kind(), GzipCorrupt(e)))
            }
            None => DataError::io(self.path, e),
        }
    }
}

/// How many bytes were left in a stream (see [`Input::count_rest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rest {
    /// This many.
    Exactly(u64),
    /// At least this many: the cap stopped the count.
    AtLeast(u64),
}

impl std::fmt::Display for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rest::Exactly(n) => write!(f, "{n}"),
            Rest::AtLeast(n) => write!(f, "at least {n}"),
        }
    }
}

/// A gzip decoding failure (bad header, corrupt deflate data, CRC or length mismatch), so the
/// message says that the gzip layer failed.
#[derive(Debug)]
struct GzipCorrupt(io::Error);

impl std::fmt::Display for GzipCorrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "truncated or corrupt gzip data: {}", self.0)
    }
}

impl std::error::Error for GzipCorrupt {}

impl Read for Input<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let data = self.fill_buf()?;
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Input<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let room = self.limit - self.read;
        let data = self.inner.fill_buf()?;
        if room == 0 && !data.is_empty() {
            return Err(io::Error::other(Stop::Limit));
        }
        let n = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        Ok(&data[..n])
    }

    fn consume(&mut self, amt: usize) {
        self.read += amt as u64;
        self.inner.consume(amt);
    }
}

#[cfg(test)]
mod tests;
