//! Unit tests of the capped, gunzipping input: members, trailing data, the cap, slow pipes.

use super::*;
use crate::npy::tests::gzip_members;

/// Everything `input` yields, or its error as a `DataError`.
fn drain(bytes: &[u8], limit: u64) -> Result<Vec<u8>, DataError> {
    let path = Path::new("t.bin");
    let mut input = Input::new(path, bytes, limit)?;
    let mut out = Vec::new();
    input.read_to_end(&mut out).map_err(|e| input.error(e))?;
    Ok(out)
}

/// A reader that hands out one byte per call, as a slow pipe may.
struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&b, rest)), Some(slot)) => {
                *slot = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn plain_bytes_pass_through_and_gzip_members_are_joined() {
    assert_eq!(drain(b"hello", 100).expect("plain"), b"hello");
    assert_eq!(drain(b"", 100).expect("empty"), b"");
    assert_eq!(drain(&gzip_members(&[b"hel", b"", b"lo"]), 100).expect("three members"), b"hello");
    // The gzip magic split over two reads is still recognised.
    let gz = gzip_members(&[b"abc", b"def"]);
    let mut input = Input::new(Path::new("p"), OneByte(&gz), 100).expect("open");
    let mut out = Vec::new();
    input.read_to_end(&mut out).expect("read");
    assert_eq!(out, b"abcdef");
}

#[test]
fn data_after_the_last_member_is_refused() {
    for tail in [&b"x"[..], b"\x1f", b"\x00\x00\x00\x00", b"\x1f\x8bnot a header"] {
        let mut gz = gzip_members(&[b"abc"]);
        gz.extend_from_slice(tail);
        let err = drain(&gz, 100);
        assert!(
            matches!(err, Err(DataError::GzipTrailingData { members: 1, .. }) | Err(DataError::Io { .. })),
            "{tail:?}: {err:?}"
        );
        if tail[0] != 0x1f || tail.len() < 2 {
            assert!(matches!(err, Err(DataError::GzipTrailingData { .. })), "{tail:?}: {err:?}");
        }
    }
}

#[test]
fn corrupt_and_truncated_gzip_say_so() {
    let gz = gzip_members(&[&[7u8; 1000]]);
    for cut in [&gz[..gz.len() - 3], &gz[..12]] {
        match drain(cut, 10_000) {
            Err(e @ DataError::Io { .. }) => assert!(e.to_string().contains("gzip"), "{e}"),
            other => panic!("expected an Io error, got {other:?}"),
        }
    }
    let mut flipped = gz.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0xff; // the CRC
    assert!(matches!(drain(&flipped, 10_000), Err(DataError::Io { .. })));
}

#[test]
fn the_cap_stops_reading_plain_and_gzip_input() {
    assert_eq!(drain(&[1u8; 10], 10).expect("exactly the cap").len(), 10);
    assert!(matches!(drain(&[1u8; 11], 10), Err(DataError::TooLarge { limit: 10, .. })));
    let gz = gzip_members(&[&[0u8; 100_000]]);
    assert!(matches!(drain(&gz, 1000), Err(DataError::TooLarge { limit: 1000, .. })));
}

#[test]
fn count_rest_counts_up_to_the_cap() {
    let mut input = Input::new(Path::new("t"), &[0u8; 50][..], 20).expect("open");
    let mut head = Vec::new();
    assert_eq!(input.read_up_to(5, &mut head).expect("five"), 5);
    assert_eq!(input.count_rest().expect("counted"), Rest::AtLeast(16));
    let mut input = Input::new(Path::new("t"), &[0u8; 50][..], 5).expect("open");
    assert_eq!(input.read_up_to(5, &mut head).expect("five"), 5);
    assert_eq!(input.count_rest().expect("counted"), Rest::AtLeast(1));
    let mut input = Input::new(Path::new("t"), &[0u8; 10][..], 20).expect("open");
    assert_eq!(input.count_rest().expect("counted"), Rest::Exactly(10));
    assert!(matches!(input.read_up_to(11, &mut head), Err(DataError::DeclaredTooLarge { declared: 21, .. })));
}
