//! Unit tests of the text reader and writer: every malformed-input class and the options.

use super::*;
use crate::files::NonFinite;
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
    let (ds, _, _d) = read_text("h.csv", "1,2\n3,4\n", &CsvOptions::default().header(Header::Present));
    assert_eq!(ds.expect("valid").len(), 1);
    // A forced data line that is text is an error.
    let (err, _, _d) = read_text("h2.csv", "x,y\n3,4\n", &CsvOptions::default().header(Header::Absent));
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
    std::fs::write(&bad, [0xff, 0xfe, b'1', b'\n']).expect("write");
    let err = read_csv(&bad, &CsvOptions::default());
    assert!(matches!(err, Err(DataError::Io { ref source, .. }) if source.kind() == std::io::ErrorKind::InvalidData));
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
