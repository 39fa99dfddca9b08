//! Unit tests of the real data loaders that need no external files.

use super::*;

#[test]
fn digits_have_the_documented_shape_range_and_labels() {
    let ds = digits();
    assert_eq!((ds.name.as_str(), ds.len(), ds.ambient_dim(), ds.intrinsic_dim), ("digits", 1797, 64, None));
    let labels = ds.labels.as_ref().expect("digits have labels");
    assert_eq!(labels.len(), 1797);
    for d in 0..10 {
        let count = labels.iter().filter(|&&l| l == f64::from(d)).count();
        assert!((170..=190).contains(&count), "digit {d}: {count}");
    }
    let mut max = 0.0f64;
    for j in 0..64 {
        for &v in ds.data.col_as_slice(j) {
            assert!((0.0..=16.0).contains(&v) && v.fract() == 0.0);
            max = max.max(v);
        }
    }
    assert_eq!(max, 16.0);
    // The first row of the file: a zero, as in scikit-learn's load_digits().
    assert_eq!((ds.data[(0, 2)], ds.data[(0, 3)], labels[0]), (5.0, 13.0, 0.0));
}

#[test]
fn missing_mnist_directory_is_a_not_found_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    match mnist(dir.path().join("nothing-here"), Split::Test) {
        Err(DataError::Io { path, source }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            assert!(path.ends_with("t10k-images-idx3-ubyte"), "{}", path.display());
        }
        other => panic!("expected Io NotFound, got {other:?}"),
    }
}

#[test]
fn mnist_layout_from_written_files_and_count_mismatch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let images: Vec<u8> = (0..3 * 784).map(|k| (k % 251) as u8).collect();
    crate::write_idx_images(dir.path().join("train-images.idx3-ubyte.gz"), &images, 28, 28).expect("write");
    crate::write_idx_labels(dir.path().join("train-labels-idx1-ubyte"), &[5, 0, 4]).expect("write");
    let ds = mnist(dir.path(), Split::Train).expect("loads");
    assert_eq!((ds.name.as_str(), ds.len(), ds.ambient_dim()), ("mnist-train", 3, 784));
    assert_eq!(ds.labels, Some(vec![5.0, 0.0, 4.0]));
    assert_eq!(ds.data[(1, 0)], f64::from(images[784]));
    crate::write_idx_labels(dir.path().join("train-labels-idx1-ubyte"), &[5, 0]).expect("write");
    assert!(matches!(mnist(dir.path(), Split::Train), Err(DataError::ShapeMismatch { .. })));
}
