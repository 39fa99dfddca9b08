//! Unit tests of the NPY reader: every dtype and order, and every malformed-input class.

use super::*;
use std::io::Write as _;
use std::path::Path;

/// The bytes of a version-1 `.npy` file with the given header dict and payload.
pub(crate) fn npy_bytes(dict: &str, payload: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    let pad = (64 - (10 + header.len() + 1) % 64) % 64;
    header.push_str(&" ".repeat(pad));
    header.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Parse `bytes` (plain or gzip) as `t.npy` with the default cap.
fn parse(bytes: &[u8]) -> Result<Mat<f64>, DataError> {
    parse_with(bytes, NonFinite::Reject, DEFAULT_MAX_BYTES)
}

fn parse_with(bytes: &[u8], non_finite: NonFinite, limit: u64) -> Result<Mat<f64>, DataError> {
    parse_npy(&mut Input::new(Path::new("t.npy"), bytes, limit)?, non_finite)
}

/// `parts` gzip-compressed one member each, concatenated (what `gzip >>` produces).
pub(crate) fn gzip_members(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(part).expect("in memory");
        out.extend(enc.finish().expect("in memory"));
    }
    out
}

fn dict(descr: &str, fortran: bool, shape: &str) -> String {
    let order = if fortran { "True" } else { "False" };
    format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}")
}

#[test]
fn reads_every_dtype_order_and_byte_order() {
    // The 2 x 3 matrix [[0, 1, 2], [3, 4, 5]].
    let want = Mat::from_fn(2, 3, |i, j| (3 * i + j) as f64);
    let c_order = [0u8, 1, 2, 3, 4, 5];
    let f_order = [0u8, 3, 1, 4, 2, 5];
    for (descr, fortran, bytes) in [
        ("|u1", false, c_order.to_vec()),
        ("|u1", true, f_order.to_vec()),
        ("<f4", false, c_order.iter().flat_map(|&v| f32::from(v).to_le_bytes()).collect()),
        (">f4", true, f_order.iter().flat_map(|&v| f32::from(v).to_be_bytes()).collect()),
        ("<f8", true, f_order.iter().flat_map(|&v| f64::from(v).to_le_bytes()).collect()),
        (">f8", false, c_order.iter().flat_map(|&v| f64::from(v).to_be_bytes()).collect()),
    ] {
        let m = parse(&npy_bytes(&dict(descr, fortran, "(2, 3)"), &bytes)).expect(descr);
        assert_eq!(m, want, "{descr} fortran={fortran}");
    }
}

#[test]
fn version_2_headers_are_read() {
    let header = format!("{}\n", dict("|u1", false, "(1, 2)"));
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&[2, 0]);
    bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[7, 8]);
    assert_eq!(parse(&bytes).expect("version 2"), Mat::from_fn(1, 2, |_, j| 7.0 + j as f64));
}

#[test]
fn bad_magic() {
    assert!(matches!(parse(b"PK\x03\x04rest"), Err(DataError::BadMagic { .. })));
    assert!(matches!(parse(b"\x93NUMPX\x01\x00"), Err(DataError::BadMagic { .. })));
}

#[test]
fn empty_file() {
    assert!(matches!(parse(b""), Err(DataError::Empty { .. })));
}

#[test]
fn truncated_header_and_payload() {
    let full = npy_bytes(&dict("<f8", false, "(2, 2)"), &[0u8; 32]);
    let data_start = full.len() - 32;
    let cut = |len: usize| parse(&full[..len]);
    assert!(matches!(cut(4), Err(DataError::Truncated { expected: 10, found: 4, .. })));
    let e = data_start as u64;
    assert!(matches!(cut(40), Err(DataError::Truncated { expected, found: 40, .. }) if expected == e));
    let cut_at = data_start + 20;
    assert!(
        matches!(cut(cut_at), Err(DataError::Truncated { expected, found, .. }) if expected == e + 32 && found == cut_at as u64)
    );
}

#[test]
fn trailing_bytes_and_wrong_rank_are_shape_mismatches() {
    let mut extra = npy_bytes(&dict("|u1", false, "(1, 2)"), &[1, 2]);
    extra.push(3);
    assert!(matches!(parse(&extra), Err(DataError::ShapeMismatch { .. })));
    for shape in ["(6,)", "(1, 2, 3)", "()"] {
        let bytes = npy_bytes(&dict("|u1", false, shape), &[0; 6]);
        assert!(matches!(parse(&bytes), Err(DataError::ShapeMismatch { .. })), "{shape}");
    }
}

#[test]
fn unsupported_dtype() {
    let bytes = npy_bytes(&dict("<i8", false, "(1, 1)"), &[0; 8]);
    match parse(&bytes) {
        Err(DataError::UnsupportedDtype { dtype, .. }) => assert_eq!(dtype, "<i8"),
        other => panic!("expected UnsupportedDtype, got {other:?}"),
    }
}

#[test]
fn malformed_headers() {
    for d in [
        "{'fortran_order': False, 'shape': (1, 1), }",
        "{'descr': '|u1', 'shape': (1, 1), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (1, x), }",
        "{'descr': '|u1', 'fortran_order': False, }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999, 99999999999999), }",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1), 'extra': 1}",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1), 'shape': (1, 1)}",
        "{'descr': '|u1', 'fortran_order': 0, 'shape': (1, 1)}",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 'a')}",
        "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1)} trailing",
        "{'descr': '|u1', 'fortran_order': False, 'shape': ((((((((((1,),),),),),),),),),)}",
        "{'descr': '|u1 , 'fortran_order': False, 'shape': (1, 1)}",
        "",
    ] {
        assert!(matches!(parse(&npy_bytes(d, &[0])), Err(DataError::BadHeader { .. })), "{d}");
    }
    let mut bytes = npy_bytes(&dict("|u1", false, "(1, 1)"), &[0]);
    bytes[6] = 9;
    assert!(matches!(parse(&bytes), Err(DataError::BadHeader { .. })));
}

#[test]
fn non_finite_values_name_row_and_column() {
    let vals = [1.0, 2.0, 3.0, f64::INFINITY];
    let payload: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let bytes = npy_bytes(&dict("<f8", false, "(2, 2)"), &payload);
    assert!(matches!(parse(&bytes), Err(DataError::NonFinite { row: 2, col: 2, .. })));
    let m = parse_with(&bytes, NonFinite::Allow, DEFAULT_MAX_BYTES).expect("allowed");
    assert_eq!(m[(1, 1)], f64::INFINITY);
}

#[test]
fn writer_pads_header_to_64_bytes_and_round_trips() {
    let dir = tempfile::tempdir().expect("temp dir");
    let x = Mat::from_fn(3, 5, |i, j| (i as f64 - 1.3) * (j as f64 + 0.1));
    for name in ["x.npy", "x.npy.gz"] {
        let path = dir.path().join(name);
        write_npy(&path, x.as_ref()).expect("write");
        assert_eq!(read_npy(&path).expect("read back"), x);
    }
    let raw = std::fs::read(dir.path().join("x.npy")).expect("read");
    let header_len = u16::from_le_bytes([raw[8], raw[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0);
    assert_eq!(raw[9 + header_len], b'\n');
    assert_eq!(raw.len(), 10 + header_len + 8 * 15);
}

/// Issue 16, item 8: the shape is the value of the `'shape'` key of the dictionary, not the
/// first text that looks like one. A crafted extra key whose string value holds
/// `'shape': (1, 600)` used to be read as a 1 x 600 array.
#[test]
fn a_shape_inside_a_string_value_is_not_the_shape() {
    let crafted = "{'descr': '<f8', 'note': \"'shape': (1, 600)\", 'fortran_order': False, 'shape': (2, 1), }";
    let payload: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    match parse(&npy_bytes(crafted, &payload)) {
        Err(DataError::BadHeader { detail, .. }) => assert!(detail.contains("unknown key \"note\""), "{detail}"),
        other => panic!("expected BadHeader, got {other:?}"),
    }
    // Keys in any order, double quotes and a string holding dictionary syntax in `descr`'s
    // place are parsed, not searched.
    let reordered = "{\"shape\": (2, 1), 'fortran_order': False, 'descr': '<f8'}";
    assert_eq!(parse(&npy_bytes(reordered, &payload)).expect("valid").nrows(), 2);
    let tricky = "{'descr': \"'shape': (1, 600)\", 'fortran_order': False, 'shape': (2, 1)}";
    assert!(matches!(parse(&npy_bytes(tricky, &payload)), Err(DataError::UnsupportedDtype { .. })));
}

/// Python 2's long integers (`3L`) and version-3 UTF-8 headers are read.
#[test]
fn python2_longs_and_version_3_headers() {
    let bytes = npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1L, 2L), }", &[7, 8]);
    assert_eq!(parse(&bytes).expect("python 2 header").ncols(), 2);
    let header = format!("{}\n", dict("|u1", false, "(1, 2)"));
    let mut v3 = MAGIC.to_vec();
    v3.extend_from_slice(&[3, 0]);
    v3.extend_from_slice(&(header.len() as u32).to_le_bytes());
    v3.extend_from_slice(header.as_bytes());
    v3.extend_from_slice(&[7, 8]);
    assert_eq!(parse(&v3).expect("version 3"), Mat::from_fn(1, 2, |_, j| 7.0 + j as f64));
}

/// Issue 16, item 1: every member of a multi-member gzip file is read; data after the last
/// member is an error, not silently dropped.
#[test]
fn multi_member_gzip_and_trailing_garbage() {
    let payload: Vec<u8> = (0..6u8).collect();
    let whole = npy_bytes(&dict("|u1", false, "(2, 3)"), &payload);
    let (a, b) = whole.split_at(whole.len() - 4);
    let m = parse(&gzip_members(&[a, b])).expect("two members");
    assert_eq!(m, Mat::from_fn(2, 3, |i, j| (3 * i + j) as f64));
    let mut garbage = gzip_members(&[&whole]);
    garbage.extend_from_slice(b"junk");
    assert!(matches!(parse(&garbage), Err(DataError::GzipTrailingData { members: 1, .. })));
    let mut zeros = gzip_members(&[a, b]);
    zeros.extend_from_slice(&[0; 16]);
    assert!(matches!(parse(&zeros), Err(DataError::GzipTrailingData { members: 2, .. })));
}

/// Issue 16, item 6: the header is checked on the stream and the payload it declares is
/// refused before it is read when it passes the cap; a gzip bomb of zeros after a valid header
/// stops at the declared size.
#[test]
fn the_cap_is_checked_against_the_header_before_reading() {
    let bytes = npy_bytes(&dict("<f8", false, "(1000, 1000)"), &[]);
    match parse_with(&bytes, NonFinite::Reject, 1 << 20) {
        Err(DataError::DeclaredTooLarge { declared, limit, .. }) => {
            assert_eq!((declared, limit), (128 + 8_000_000, 1 << 20));
        }
        other => panic!("expected DeclaredTooLarge, got {other:?}"),
    }
    // A valid 1 x 1 array followed by 10 MB of zeros, compressed to about 10 kB.
    let mut bomb = npy_bytes(&dict("|u1", false, "(1, 1)"), &[5]);
    bomb.extend(std::iter::repeat_n(0u8, 10_000_000));
    let gz = gzip_members(&[&bomb]);
    assert!(gz.len() < 100_000);
    match parse_with(&gz, NonFinite::Reject, 1 << 20) {
        Err(DataError::ShapeMismatch { detail, .. }) => assert!(detail.starts_with("at least"), "{detail}"),
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
    // A header longer than NumPy ever writes is refused before it is read.
    let mut huge = MAGIC.to_vec();
    huge.extend_from_slice(&[2, 0]);
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(parse(&huge), Err(DataError::BadHeader { .. })));
}

/// Found by fuzzing (the `npy` target hung): a shape with a zero and a huge other dimension
/// has no payload, passed every size check, and building the `10^12 x 0` matrix looped over
/// its rows. Such an array is empty.
#[test]
fn fuzz_regression_zero_dimension_with_a_huge_other_is_empty() {
    for shape in ["(1000000000000, 0)", "(0, 1000000000000)", "(0, 0)", "(0, 3)"] {
        let bytes = npy_bytes(&dict("<f8", false, shape), &[]);
        assert!(matches!(parse(&bytes), Err(DataError::Empty { .. })), "{shape}: {:?}", parse(&bytes));
    }
}
