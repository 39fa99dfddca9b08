//! Unit tests of the text reader and writer: every malformed-input class and the options.

use super::*;
use crate::files::NonFinite;
use std::io::Read as _;
use std::path::PathBuf;

/// Write `text` to a fresh file named `name` and read it back with `opts`.
fn read_text(name: &str, text: &str, opts: &CsvOptions) -> (Result<Dataset, DataError>, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write fixture");
    (read_csv(&path, opts), path, dir)
}

#[test]
fn reads_header_comments_and_both_delimiters() {
    let (ds, _, _d) = read_text("a.csv", "# comment\nx, y\n1, 2\n\n3.5,-4e2\n", &CsvOptions::default());
    let ds = ds.expect("valid csv");
    assert_eq!(ds.name, "a");
    assert_eq!((ds.len(), ds.ambient_dim()), (2, 2));
    assert_eq!(ds.data[(1, 1)], -400.0);
    let (ds, _, _d) = read_text("b.txt", "1 2\t3\n  4 5 6\n", &CsvOptions::default());
    let ds = ds.expect("valid whitespace text");
    assert_eq!((ds.len(), ds.ambient_dim(), ds.data[(1, 2)]), (2, 3, 6.0));
}

#[test]
fn label_columns_move_to_labels() {
    let text = "1,2,9\n3,4,8\n";
    let (ds, _, _d) = read_text("l.csv", text, &CsvOptions::default().labels(LabelColumn::Last));
    let ds = ds.expect("valid");
    assert_eq!(ds.labels, Some(vec![9.0, 8.0]));
    assert_eq!((ds.ambient_dim(), ds.data[(1, 1)]), (2, 4.0));
    let (ds, _, _d) = read_text("f.csv", text, &CsvOptions::default().labels(LabelColumn::First));
    let ds = ds.expect("valid");
    assert_eq!(ds.labels, Some(vec![1.0, 3.0]));
    assert_eq!(ds.data[(0, 0)], 2.0);
    let (err, path, _d) = read_text("one.csv", "1\n2\n", &CsvOptions::default().labels(LabelColumn::Last));
    assert!(matches!(err, Err(DataError::ShapeMismatch { path: p, .. }) if p == path));
}

#[test]
fn ragged_row_names_line_and_counts() {
    let (err, path, _d) = read_text("r.csv", "a,b,c\n1,2,3\n4,5\n", &CsvOptions::default());
    match err {
        Err(DataError::RaggedRow { path: p, row, expected, found }) => {
            assert_eq!((p, row, expected, found), (path, 3, 3, 2));
        }
        other => panic!("expected RaggedRow, got {other:?}"),
    }
}

#[test]
fn non_numeric_field_names_line_column_and_text() {
    let (err, path, _d) = read_text("n.csv", "1,2\n3,oops\n", &CsvOptions::default());
    match err {
        Err(DataError::NonNumeric { path: p, row, col, field }) => {
            assert_eq!((p, row, col, field.as_str()), (path, 2, 2, "oops"));
        }
        other => panic!("expected NonNumeric, got {other:?}"),
    }
    // An explicit header makes a numeric-looking first line a header, not data.
    let (ds, _, _d) = read_text("h.csv", "1,2\n3,4\n", &CsvOptions::default().header(Header::Yes));
    assert_eq!(ds.expect("valid").len(), 1);
    // A forced data line that is text is an error.
    let (err, _, _d) = read_text("h2.csv", "x,y\n3,4\n", &CsvOptions::default().header(Header::No));
    assert!(matches!(err, Err(DataError::NonNumeric { row: 1, col: 1, .. })));
}

#[test]
fn non_finite_values_are_rejected_unless_allowed() {
    let text = "1,2\n3,NaN\n-inf,4\n";
    let (err, path, _d) = read_text("nf.csv", text, &CsvOptions::default());
    match err {
        Err(DataError::NonFinite { path: p, row, col, value }) => {
            assert_eq!((p, row, col), (path, 2, 2));
            assert!(value.is_nan());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let (ds, _, _d) = read_text("nf.csv", text, &CsvOptions::default().non_finite(NonFinite::Allow));
    let ds = ds.expect("allowed");
    assert!(ds.data[(1, 1)].is_nan() && ds.data[(2, 0)] == f64::NEG_INFINITY);
}

#[test]
fn empty_files_and_header_only_files_are_empty() {
    for text in ["", "\n\n", "# only a comment\n", "x,y\n"] {
        let (err, path, _d) = read_text("e.csv", text, &CsvOptions::default());
        assert!(matches!(err, Err(DataError::Empty { path: ref p }) if *p == path), "{text:?}: {err:?}");
    }
}

#[test]
fn missing_and_non_utf8_files_are_io_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent.csv");
    assert!(matches!(read_csv(&path, &CsvOptions::default()), Err(DataError::Io { path: ref p, .. }) if *p == path));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, [b'1', b'\n', 0xff, 0xfe, b'1', b'\n']).expect("write");
    let err = read_csv(&bad, &CsvOptions::default());
    assert!(matches!(err, Err(DataError::NotUtf8 { row: 2, .. })), "{err:?}");
}

#[test]
fn writer_round_trips_extreme_values_and_gzip() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vals = [0.1, -0.0, 1e300, 5e-324, f64::MAX, -123456.789, 1.0 / 3.0, 42.0];
    let x = faer::Mat::from_fn(4, 2, |i, j| vals[2 * i + j]);
    for name in ["w.csv", "w.csv.gz"] {
        let path = dir.path().join(name);
        write_csv(&path, x.as_ref(), Some(&["a", "b"])).expect("write");
        let ds = read_csv(&path, &CsvOptions::default()).expect("read back");
        assert_eq!(ds.name, "w");
        for i in 0..4 {
            for j in 0..2 {
                assert_eq!(ds.data[(i, j)].to_bits(), x[(i, j)].to_bits(), "{name} ({i}, {j})");
            }
        }
    }
}

#[test]
#[should_panic(expected = "header has 1 names for 2 columns")]
fn header_of_the_wrong_length_panics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _ = write_csv(dir.path().join("x.csv"), faer::Mat::<f64>::zeros(1, 2).as_ref(), Some(&["a"]));
}

/// Read `bytes` (plain or gzip) as a text stream named `t.csv`.
fn parse_bytes(bytes: &[u8], opts: &CsvOptions) -> Result<(Dataset, TextLayout), DataError> {
    let mut input = Input::new(Path::new("t.csv"), bytes, opts.max_bytes)?;
    parse_text(&mut input, opts, "t".into())
}

/// Issue 16, item 2: a first row `0,1,...,d-1` (pandas' default column names) is a header; any
/// other numeric first row is data; the decision comes back in the layout.
#[test]
fn pandas_column_indices_are_a_header_and_the_decision_is_reported() {
    let (ds, layout) = parse_bytes(b"0,1\n0.5,2\n3,4\n", &CsvOptions::default()).expect("valid");
    assert_eq!(ds.len(), 2);
    assert_eq!(layout.header, Some(vec!["0".to_string(), "1".to_string()]));
    assert_eq!(layout.header_reason, HeaderReason::ColumnIndices);
    assert!(layout.to_string().contains("header row skipped (0, 1: the column indices"), "{layout}");
    let (ds, layout) = parse_bytes(b"1,0\n0.5,2\n", &CsvOptions::default()).expect("valid");
    assert_eq!((ds.len(), &layout.header, layout.header_reason), (2, &None, HeaderReason::Numeric));
    assert!(layout.to_string().contains("no header (the first row is numbers)"), "{layout}");
    // A single 0 is data.
    let (ds, _) = parse_bytes(b"0\n1\n", &CsvOptions::default()).expect("valid");
    assert_eq!(ds.len(), 2);
    // Header::No keeps 0,1 as data; Header::Yes drops a numeric row.
    let (ds, layout) = parse_bytes(b"0,1\n2,3\n", &CsvOptions::default().header(Header::No)).expect("valid");
    assert_eq!((ds.len(), layout.header_reason), (2, HeaderReason::Requested));
    let (ds, layout) = parse_bytes(b"5,6\n2,3\n", &CsvOptions::default().header(Header::Yes)).expect("valid");
    assert_eq!((ds.len(), layout.header.as_deref().map(<[String]>::len)), (1, Some(2)));
}

/// A first row mixing names and numbers is neither clearly a header nor data.
#[test]
fn a_mixed_first_row_asks_the_caller() {
    let err = parse_bytes(b"# c\nx,2\n1,2\n", &CsvOptions::default());
    assert!(matches!(err, Err(DataError::MixedHeader { row: 2, ref line, .. }) if line == "x,2"), "{err:?}");
    let (ds, _) = parse_bytes(b"x,2\n1,2\n", &CsvOptions::default().header(Header::Yes)).expect("valid");
    assert_eq!(ds.len(), 1);
}

/// Issue 16, item 2: a UTF-8 byte-order mark is stripped with and without a header.
#[test]
fn a_byte_order_mark_is_stripped_with_or_without_header() {
    for (text, rows) in [(&b"\xef\xbb\xbf1,2\n3,4\n"[..], 2), (b"\xef\xbb\xbfx,y\n3,4\n", 1)] {
        let (ds, layout) = parse_bytes(text, &CsvOptions::default()).expect("valid");
        assert_eq!(ds.len(), rows);
        assert_eq!(ds.data[(rows - 1, 1)], 4.0);
        assert!(layout.byte_order_mark);
        assert!(layout.to_string().contains("byte-order mark stripped"));
    }
}

/// Issue 16, item 2: semicolon-separated files (with decimal commas or points) are read, not
/// taken as one non-numeric column whose first row becomes a "header".
#[test]
fn semicolon_separated_files_with_decimal_commas() {
    let (ds, layout) = parse_bytes(b"1,5;2\n3;-4,25\n", &CsvOptions::default()).expect("valid");
    assert_eq!(layout.delimiter, Delimiter::Semicolon);
    assert_eq!((ds.len(), ds.ambient_dim()), (2, 2));
    assert_eq!((ds.data[(0, 0)], ds.data[(1, 1)]), (1.5, -4.25));
    let (ds, layout) = parse_bytes(b"a;b\n1.5;2\n", &CsvOptions::default()).expect("valid");
    assert_eq!((ds.len(), layout.header_reason), (1, HeaderReason::NonNumeric));
    assert_eq!(ds.data[(0, 0)], 1.5);
    let (_, layout) = parse_bytes(b"1\t2\n3 4\n", &CsvOptions::default()).expect("valid");
    assert_eq!(layout.delimiter, Delimiter::Whitespace);
    // Forced delimiters win over detection; CRLF line ends are fine.
    let (ds, _) =
        parse_bytes(b"1;2\r\n3;4\r\n", &CsvOptions::default().delimiter(Delimiter::Semicolon)).expect("valid");
    assert_eq!(ds.data[(1, 1)], 4.0);
}

/// Issue 16, item 1: every member of a multi-member gzip CSV is read (200 rows, not 100).
#[test]
fn multi_member_gzip_csv_reads_every_row() {
    let rows: String = (0..200).map(|i| format!("{i},{}\n", 2 * i)).collect();
    let (a, b) = rows.as_bytes().split_at(rows.len() / 2 + 3);
    let gz = crate::npy::tests::gzip_members(&[b"x,y\n", a, b]);
    let (ds, _) = parse_bytes(&gz, &CsvOptions::default()).expect("valid");
    assert_eq!(ds.len(), 200);
    assert_eq!(ds.data[(199, 1)], 398.0);
    let mut garbage = gz.clone();
    garbage.extend_from_slice(b"trailing\n");
    assert!(matches!(
        parse_bytes(&garbage, &CsvOptions::default()),
        Err(DataError::GzipTrailingData { members: 3, .. })
    ));
}

/// Issue 16, item 6: reading stops at the cap (a zip bomb of digits); NUL bytes (a binary
/// file, `/dev/zero`) fail at once.
#[test]
fn the_cap_and_nul_bytes_stop_text_reading() {
    let mut bomb = b"1,2\n".repeat(1000);
    bomb.extend(std::iter::repeat_n(b'0', 5_000_000));
    let gz = crate::npy::tests::gzip_members(&[&bomb]);
    let err = parse_bytes(&gz, &CsvOptions::default().max_bytes(1 << 20));
    assert!(matches!(err, Err(DataError::TooLarge { limit: 1_048_576, .. })), "{err:?}");
    let err = parse_bytes(b"1,2\n\0\0\0", &CsvOptions::default());
    assert!(matches!(err, Err(DataError::NotText { row: 2, .. })), "{err:?}");
    // An endless stream of zeros is refused after the first buffer, not after the cap.
    let zeros = std::io::repeat(0).take(u64::MAX);
    let mut input = Input::new(Path::new("z.csv"), zeros, u64::MAX).expect("open");
    let err = parse_text(&mut input, &CsvOptions::default(), "z".into());
    assert!(matches!(err, Err(DataError::NotText { row: 1, .. })), "{err:?}");
}
