//! Metrics for generative models of images (method.md section 5), each a plain function of
//! matrices (one sample per row):
//!
//! - [`frechet_distance`]: `|m_1 - m_2|^2 + tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2})`
//!   between the Gaussians fitted to two feature sets;
//! - [`precision_recall`]: Kynkaanniemi et al. (2019) with `k` nearest neighbours;
//! - [`knn_accuracy`]: majority vote of the `k` nearest training points;
//! - [`linear_probe`]: multinomial logistic regression on training codes, accuracy on test codes;
//! - [`Classifier`]: the in-project MLP classifier whose last hidden layer gives the features
//!   and whose softmax gives the confident-class fraction ([`Classifier::confident_fraction`]);
//!   it saves to and loads from a folder so that a second run reuses it;
//! - [`Pca`]: principal components of a training set, projected on the top `K`.
//!
//! ```
//! use repro::image_metrics::frechet_distance;
//! let a = faer::Mat::from_fn(200, 2, |i, j| ((i * 7 + j * 3) % 11) as f64);
//! let d = frechet_distance(a.as_ref(), a.as_ref()).unwrap();
//! assert!(d.abs() < 1e-6);
//! ```

mod classifier;
mod frechet;
mod knn;
mod precision;
mod probe;
mod stats;

#[cfg(test)]
mod tests;

pub use classifier::{Classifier, ClassifierConfig, ClassifierMeta};
pub use frechet::{frechet_distance, frechet_gaussians};
pub use knn::knn_accuracy;
pub use precision::{PrecisionRecall, precision_recall};
pub use probe::{ProbeConfig, linear_probe};
pub use stats::{Pca, accuracy, covariance, mean_row, squared_distances};
