//! The image data sets: pixels scaled to `[0, 1]`, labels, and the uniform dequantisation
//! the flows train on.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use faer::{Mat, MatRef};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The environment variable naming the MNIST directory when `--data` is not given.
pub const MNIST_ENV: &str = "MFLOW_MNIST";
/// The seed of the digits split into training and test images.
const DIGITS_SPLIT_SEED: u64 = 18;
/// Test images of the digits split.
const DIGITS_TEST: usize = 300;

/// Square grey-level images with their labels, split into training and test sets.
#[derive(Debug, Clone)]
pub struct ImageData {
    /// The data set's name (`digits`, `mnist`).
    pub name: String,
    /// The side of the square images in pixels.
    pub side: usize,
    /// The largest raw grey level (16 for digits, 255 for MNIST); pixels are `v / levels`.
    pub levels: f64,
    /// Training images, one per row, in `[0, 1]`.
    pub train: Mat<f64>,
    /// Their labels.
    pub train_labels: Vec<usize>,
    /// Test images.
    pub test: Mat<f64>,
    /// Their labels.
    pub test_labels: Vec<usize>,
}

impl ImageData {
    /// The number of pixels `D`.
    pub fn dim(&self) -> usize {
        self.side * self.side
    }

    /// The number of classes (the largest label plus one).
    pub fn n_classes(&self) -> usize {
        self.train_labels.iter().chain(&self.test_labels).max().map_or(0, |m| m + 1)
    }

    /// Uniform dequantisation of rows of `x` (method.md section 5): with `v = levels x` the
    /// raw grey level, `x~ = (v + u - 1/2) / levels`, `u ~ U(0, 1)` per pixel; the noise is
    /// centred so that `E x~ = x`.
    pub fn dequantise(&self, x: MatRef<'_, f64>, rng: &mut ChaCha8Rng) -> Mat<f64> {
        let l = self.levels;
        Mat::from_fn(x.nrows(), x.ncols(), |i, j| (l * x[(i, j)] + rng.random::<f64>() - 0.5) / l)
    }
}

/// Labels stored as numbers, as indices.
fn labels_of(labels: Option<Vec<f64>>, what: &str) -> anyhow::Result<Vec<usize>> {
    let labels = labels.with_context(|| format!("{what} has no labels"))?;
    labels
        .into_iter()
        .map(|l| {
            anyhow::ensure!(l >= 0.0 && l.fract() == 0.0 && l < 1e6, "{what}: label {l} is not a class index");
            Ok(l as usize)
        })
        .collect()
}

/// The embedded 8 x 8 digits (1,797 images, grey levels 0..16), split 1,497 train / 300 test
/// by a fixed seed.
pub fn digits_data() -> ImageData {
    let ds = datasets::digits();
    let labels: Vec<usize> = ds.labels.unwrap_or_default().into_iter().map(|l| l as usize).collect();
    let mut order: Vec<usize> = (0..ds.data.nrows()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(DIGITS_SPLIT_SEED));
    let (test_rows, train_rows) = order.split_at(DIGITS_TEST);
    let pick = |rows: &[usize]| Mat::from_fn(rows.len(), ds.data.ncols(), |i, j| ds.data[(rows[i], j)] / 16.0);
    ImageData {
        name: "digits".into(),
        side: 8,
        levels: 16.0,
        train: pick(train_rows),
        train_labels: train_rows.iter().map(|&r| labels[r]).collect(),
        test: pick(test_rows),
        test_labels: test_rows.iter().map(|&r| labels[r]).collect(),
    }
}

/// The MNIST directory: `dir` if given, else `$MFLOW_MNIST`; an error saying where to get the
/// files and what they are called when neither is set.
///
/// # Errors
/// Neither given, or a directory that does not exist.
pub fn mnist_dir(dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match dir {
        Some(d) => d.to_owned(),
        None => std::env::var_os(MNIST_ENV).map(PathBuf::from).with_context(|| {
            format!(
                "mnist needs the MNIST (or Fashion-MNIST) IDX files: pass --data DIR or set {MNIST_ENV}=DIR. \
                 DIR must hold train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and \
                 t10k-labels-idx1-ubyte (each may end in .gz, and '.idx3-ubyte' spellings work too); get them \
                 from http://yann.lecun.com/exdb/mnist/ (Fashion-MNIST: \
                 https://github.com/zalandoresearch/fashion-mnist). Nothing is downloaded."
            )
        })?,
    };
    anyhow::ensure!(dir.is_dir(), "the MNIST directory {} does not exist", dir.display());
    Ok(dir)
}

/// MNIST (or Fashion-MNIST) from `dir`, pixels divided by 255; with `rows = Some((n, m))`
/// only the first `n` training and `m` test images.
///
/// # Errors
/// A missing or malformed file (the message names the file names tried).
pub fn mnist_data(dir: &Path, rows: Option<(usize, usize)>) -> anyhow::Result<ImageData> {
    let load = |split, what: &str| -> anyhow::Result<(Mat<f64>, Vec<usize>)> {
        let ds = datasets::mnist(dir, split)
            .with_context(|| format!("reading the MNIST {what} files from {}", dir.display()))?;
        let labels = labels_of(ds.labels, what)?;
        Ok((ds.data, labels))
    };
    let (mut train, mut train_labels) = load(datasets::Split::Train, "training")?;
    let (mut test, mut test_labels) = load(datasets::Split::Test, "test")?;
    if let Some((n, m)) = rows {
        let (n, m) = (n.min(train.nrows()), m.min(test.nrows()));
        train = train.get(..n, ..).to_owned();
        train_labels.truncate(n);
        test = test.get(..m, ..).to_owned();
        test_labels.truncate(m);
    }
    let side = (train.ncols() as f64).sqrt().round() as usize;
    anyhow::ensure!(side * side == train.ncols(), "MNIST images of {} pixels are not square", train.ncols());
    let scale = |x: Mat<f64>| Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] / 255.0);
    Ok(ImageData {
        name: "mnist".into(),
        side,
        levels: 255.0,
        train: scale(train),
        train_labels,
        test: scale(test),
        test_labels,
    })
}
