//! Real data: the embedded 8 x 8 digits set and MNIST / Fashion-MNIST from a directory the
//! caller names. Nothing is ever downloaded.

use std::path::{Path, PathBuf};

use crate::csv::{CsvOptions, Header, LabelColumn};
use crate::files::{Format, load_reader};
use crate::idx::{read_idx_images, read_idx_labels};
use crate::{DataError, Dataset};

/// The gzip-compressed digits CSV (1,797 rows: 64 pixels then the label), see `data/README.md`.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// The UCI optical handwritten digits (E. Alpaydin, C. Kaynak, 1998; CC BY 4.0; the copy
/// scikit-learn bundles as `load_digits`), embedded in the crate: `1797 x 64` grey levels
/// `0..=16` of 8 x 8 images flattened row-major, with the digit `0..=9` as labels.
pub fn digits() -> Dataset {
    let path = Path::new("<embedded digits.csv.gz>");
    let opts = CsvOptions::default().header(Header::No).labels(LabelColumn::Last);
    let mut ds = load_reader(DIGITS_CSV_GZ, Format::Text, path, &opts)
        .expect("the embedded digits file parses (checked by the crate's tests)")
        .dataset;
    ds.name = "digits".into();
    ds
}

/// Which half of MNIST to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The 60,000 training images (`train-*` files).
    Train,
    /// The 10,000 test images (`t10k-*` files).
    Test,
}

/// Load MNIST (or Fashion-MNIST, which uses the same file names) from `dir`: the images as an
/// `n x 784` matrix of raw grey levels `0..=255` (flattened row-major; divide by 255 for
/// `[0, 1]`) and the digits as labels. For each file the names `train-images-idx3-ubyte`
/// and `train-images.idx3-ubyte` (likewise `t10k-`, `-labels-idx1-`) are tried, each plain or
/// with `.gz`. The data set is named `mnist-train` or `mnist-test`.
///
/// # Errors
/// [`DataError::Io`] (kind `NotFound`) naming the first candidate when no file exists, any
/// reader error, and [`DataError::ShapeMismatch`] when image and label counts differ.
pub fn mnist(dir: impl AsRef<Path>, split: Split) -> Result<Dataset, DataError> {
    let dir = dir.as_ref();
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let images_path = find_file(dir, prefix, "images", 3)?;
    let labels_path = find_file(dir, prefix, "labels", 1)?;
    let (data, _, _) = read_idx_images(&images_path)?;
    let labels = read_idx_labels(&labels_path)?;
    if labels.len() != data.nrows() {
        return Err(DataError::ShapeMismatch {
            path: labels_path,
            detail: format!("{} labels for {} images in {}", labels.len(), data.nrows(), images_path.display()),
        });
    }
    let name = match split {
        Split::Train => "mnist-train",
        Split::Test => "mnist-test",
    };
    Ok(Dataset { name: name.into(), data, intrinsic_dim: None, labels: Some(labels) })
}

/// The first existing file among the usual spellings of an MNIST file name.
fn find_file(dir: &Path, prefix: &str, kind: &str, ndim: usize) -> Result<PathBuf, DataError> {
    let stems = [format!("{prefix}-{kind}-idx{ndim}-ubyte"), format!("{prefix}-{kind}.idx{ndim}-ubyte")];
    let candidates: Vec<PathBuf> = stems.iter().flat_map(|s| [dir.join(s), dir.join(format!("{s}.gz"))]).collect();
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        DataError::io(
            &candidates[0],
            std::io::Error::new(std::io::ErrorKind::NotFound, format!("none of {} exists", tried.join(", "))),
        )
    })
}

#[cfg(test)]
mod tests;
