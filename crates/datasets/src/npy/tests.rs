//! Unit tests of the NPY reader: every dtype and order, and every malformed-input class.

use super::*;
use std::path::PathBuf;

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

fn parse(bytes: &[u8]) -> Result<Mat<f64>, DataError> {
    parse_npy(&PathBuf::from("t.npy"), bytes, NonFinite::Reject)
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
    let m = parse_npy(&PathBuf::from("t.npy"), &bytes, NonFinite::Allow).expect("allowed");
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
