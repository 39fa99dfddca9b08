//! Unit tests of the IDX reader and writers: round trips, dtypes, malformed-input classes.

use super::*;
use crate::npy::tests::gzip_members;
use std::path::Path;

fn header(code: u8, dims: &[u32]) -> Vec<u8> {
    let mut out = vec![0, 0, code, dims.len() as u8];
    dims.iter().for_each(|d| out.extend_from_slice(&d.to_be_bytes()));
    out
}

fn parse_mat(bytes: &[u8]) -> Result<Mat<f64>, DataError> {
    parse_mat_with(bytes, DEFAULT_MAX_BYTES)
}

fn parse_mat_with(bytes: &[u8], limit: u64) -> Result<Mat<f64>, DataError> {
    let view = parse_idx(&mut Input::new(Path::new("t.idx"), bytes, limit)?)?;
    let n = view.dims[0];
    let d = view.dims[1..].iter().product();
    view.to_mat(n, d, NonFinite::Reject)
}

#[test]
fn images_and_labels_round_trip_plain_and_gzip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let images: Vec<u8> = (0..3 * 4 * 5).map(|k| (k * 37 % 256) as u8).collect();
    let labels = [3u8, 0, 9];
    for gz in ["", ".gz"] {
        let ip = dir.path().join(format!("imgs-idx3-ubyte{gz}"));
        let lp = dir.path().join(format!("labs-idx1-ubyte{gz}"));
        write_idx_images(&ip, &images, 4, 5).expect("write images");
        write_idx_labels(&lp, &labels).expect("write labels");
        let (m, rows, cols) = read_idx_images(&ip).expect("read images");
        assert_eq!((m.nrows(), m.ncols(), rows, cols), (3, 20, 4, 5));
        for i in 0..3 {
            for j in 0..20 {
                assert_eq!(m[(i, j)], f64::from(images[20 * i + j]));
            }
        }
        assert_eq!(read_idx_labels(&lp).expect("read labels"), vec![3.0, 0.0, 9.0]);
    }
}

#[test]
fn every_element_type_decodes() {
    let cases: Vec<(u8, Vec<u8>)> = vec![
        (0x09, vec![0xff, 0x02]),
        (0x0B, [-1i16, 2].iter().flat_map(|v| v.to_be_bytes()).collect()),
        (0x0C, [-1i32, 2].iter().flat_map(|v| v.to_be_bytes()).collect()),
        (0x0D, [-1f32, 2.0].iter().flat_map(|v| v.to_be_bytes()).collect()),
        (0x0E, [-1f64, 2.0].iter().flat_map(|v| v.to_be_bytes()).collect()),
    ];
    for (code, payload) in cases {
        let mut bytes = header(code, &[1, 2]);
        bytes.extend_from_slice(&payload);
        let m = parse_mat(&bytes).expect("valid");
        assert_eq!((m[(0, 0)], m[(0, 1)]), (-1.0, 2.0), "type {code:#x}");
    }
}

#[test]
fn bad_magic() {
    let mut bytes = header(0x08, &[1]);
    bytes[0] = 1;
    bytes.push(0);
    assert!(matches!(parse_mat(&bytes), Err(DataError::BadMagic { .. })));
    assert!(matches!(parse_mat(b"\x89PNG\r\n"), Err(DataError::BadMagic { .. })));
}

#[test]
fn empty_file() {
    assert!(matches!(parse_mat(b""), Err(DataError::Empty { .. })));
}

#[test]
fn truncated_header_dims_and_payload() {
    let mut full = header(0x08, &[2, 3]);
    full.extend_from_slice(&[0; 6]);
    assert!(matches!(parse_mat(&full[..3]), Err(DataError::Truncated { expected: 4, found: 3, .. })));
    assert!(matches!(parse_mat(&full[..9]), Err(DataError::Truncated { expected: 12, found: 9, .. })));
    assert!(matches!(parse_mat(&full[..15]), Err(DataError::Truncated { expected: 18, found: 15, .. })));
}

#[test]
fn unsupported_type_code() {
    let mut bytes = header(0x07, &[1]);
    bytes.push(0);
    assert!(matches!(parse_mat(&bytes), Err(DataError::UnsupportedDtype { .. })));
}

#[test]
fn bad_headers() {
    assert!(matches!(parse_mat(&header(0x08, &[])), Err(DataError::BadHeader { .. })));
    if usize::BITS == 64 {
        let huge = header(0x0E, &[u32::MAX, u32::MAX, u32::MAX]);
        assert!(matches!(parse_mat(&huge), Err(DataError::BadHeader { .. })));
    }
}

#[test]
fn trailing_bytes_and_wrong_rank_are_shape_mismatches() {
    let mut bytes = header(0x08, &[2]);
    bytes.extend_from_slice(&[1, 2, 3]);
    assert!(matches!(parse_mat(&bytes), Err(DataError::ShapeMismatch { .. })));
    let dir = tempfile::tempdir().expect("temp dir");
    let labels = dir.path().join("l-idx1-ubyte");
    write_idx_labels(&labels, &[1, 2]).expect("write");
    assert!(matches!(read_idx_images(&labels), Err(DataError::ShapeMismatch { path, .. }) if path == labels));
    let images = dir.path().join("i-idx3-ubyte");
    write_idx_images(&images, &[0; 8], 2, 2).expect("write");
    assert!(matches!(read_idx_labels(&images), Err(DataError::ShapeMismatch { .. })));
}

#[test]
fn non_finite_floats_are_rejected() {
    let mut bytes = header(0x0D, &[2, 2]);
    [0f32, 1.0, f32::NAN, 3.0].iter().for_each(|v| bytes.extend_from_slice(&v.to_be_bytes()));
    assert!(matches!(parse_mat(&bytes), Err(DataError::NonFinite { row: 2, col: 1, .. })));
}

#[test]
fn corrupt_gzip_is_an_io_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("x-idx1-ubyte.gz");
    std::fs::write(&path, [0x1f, 0x8b, 8, 0, 1, 2, 3]).expect("write");
    assert!(matches!(read_idx_labels(&path), Err(DataError::Io { path: p, .. }) if p == path));
}

/// Issue 16, item 1: all members of a multi-member gzip IDX file are read (the first member
/// alone used to be reported as truncated); trailing garbage is an error.
#[test]
fn multi_member_gzip_and_trailing_garbage() {
    let mut whole = header(0x08, &[2, 3]);
    whole.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
    let (a, b) = whole.split_at(13);
    let m = parse_mat(&gzip_members(&[a, b])).expect("two members");
    assert_eq!(m, Mat::from_fn(2, 3, |i, j| (3 * i + j + 1) as f64));
    let mut garbage = gzip_members(&[&whole]);
    garbage.push(b'x');
    assert!(matches!(parse_mat(&garbage), Err(DataError::GzipTrailingData { .. })));
}

/// Issue 16, item 6: a compressed IDX header declaring a huge payload is refused before the
/// payload is decompressed (a 4.7 MB `.idx.gz` of zeros used to take 1 GB first).
#[test]
fn a_declared_size_above_the_cap_is_refused_before_reading() {
    let mut bomb = header(0x08, &[1000, 1000, 1000]);
    bomb.extend(std::iter::repeat_n(0u8, 5_000_000));
    let gz = gzip_members(&[&bomb]);
    match parse_mat_with(&gz, 1 << 20) {
        Err(DataError::DeclaredTooLarge { declared, limit, .. }) => {
            assert_eq!((declared, limit), (16 + 1_000_000_000, 1 << 20))
        }
        other => panic!("expected DeclaredTooLarge, got {other:?}"),
    }
    // Below the cap but promising more than the stream holds: truncated, having read only
    // what is there.
    match parse_mat(&gz) {
        Err(DataError::Truncated { expected, found, .. }) => assert_eq!((expected, found), (1_000_000_016, 5_000_016)),
        other => panic!("expected Truncated, got {other:?}"),
    }
}

/// Found by fuzzing (the `idx` target hung on a 16-byte file): dimensions `[4294967295, 0]`
/// have no payload, passed every size check, and the `4294967295 x 0` matrix was built row by
/// row. A zero dimension means an empty file.
#[test]
fn fuzz_regression_zero_dimension_with_a_huge_other_is_empty() {
    for dims in [&[u32::MAX, 0][..], &[0, 5, 5], &[0], &[7, 0, u32::MAX]] {
        assert!(matches!(parse_mat(&header(0x08, dims)), Err(DataError::Empty { .. })), "{dims:?}");
    }
}
