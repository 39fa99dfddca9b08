//! Experiments `digits` and `mnist` (method.md section 5): a standard flow and a spread flow
//! trained on real images with the same budget, judged on the paper's three claims.
//!
//! - (a) sample quality: Frechet distance, precision and recall (k = 3) of the in-project
//!   classifier's features, and the fraction of samples it assigns to a class with probability
//!   above 0.9, for both models and for real training images (the floor), against the test set;
//! - (b) representation: linear-probe and 5-NN accuracy on the test codes projected on the top
//!   `K` directions (`K` in {ID read-off, 8, 16, 32}), next to raw pixels and PCA-K;
//! - (c) intrinsic dimension: every read-off of the spread flow next to MLE (k = 5, 10, 20)
//!   and TwoNN, overall and per class.
//!
//! Both models come from [`manifold_prior::fit`] with one [`manifold_prior::FitConfig`]
//! each ([`model_config`]): the experiment is a thin layer over the library. Files written
//! (into `results/<name>/` or `--out`):
//!
//! | file | contents |
//! | --- | --- |
//! | `samples_{standard,spread}_t{1,0.7}.png/.svg`, `test_images.png/.svg` | 10 x 10 grids |
//! | `nearest.png/.svg` | samples of each model next to their 5 nearest training images |
//! | `representation.png/.svg`, `representation.csv` | accuracy against `K` |
//! | `intrinsic_dimension.png/.svg`, `intrinsic_dimension.csv` | read-offs and classical estimates, overall and per class |
//! | `spectrum.png/.svg`, `spectrum.csv` | eigenvalues of `A A^T` with the read-off thresholds |
//! | `training.png/.svg`, `training.csv` | training and validation loss of both models |
//! | `sample_quality.csv` | the metrics of claim (a) per seed |
//! | `classifier/` | the cached classifier (weights, configuration, seed, test accuracy) |

mod data;
mod judge;
mod measure;
pub mod plot;

#[cfg(test)]
mod tests;

use std::path::Path;

use faer::Mat;
use manifold_prior::flow_core::LogScale;
use manifold_prior::{
    ActNormLayers, Architecture, CouplingTransform, FitConfig, MeanMode, Mixing, PriorConfig, SpreadConfig,
    SpreadNoise, VectorFlow,
};

pub use data::{ImageData, digits_data, mnist_data, mnist_dir};
pub use judge::{Verdict, verdict};
pub use measure::{ClassicalId, classical_id};

use crate::image_metrics::{ClassifierConfig, ProbeConfig};
use crate::{Report, RunContext};

/// The two models of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Affine couplings with `tanh` log-scales (not volume-preserving), `N(0, I)` prior,
    /// maximum likelihood.
    Standard,
    /// The same couplings with mean-centred `tanh` log-scales (volume-preserving), the learned
    /// prior `N(mu, A A^T)` with `A` dense lower triangular, the spread objective.
    Spread,
}

impl ModelKind {
    /// `standard` or `spread`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Standard => "standard",
            ModelKind::Spread => "spread",
        }
    }
}

/// Everything one run of an image experiment fixes before training (method.md section 5).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Protocol {
    /// Training steps of each model.
    pub steps: usize,
    /// Rows per step.
    pub batch_size: usize,
    /// Coupling layers of each flow.
    pub couplings: usize,
    /// Hidden widths of the conditioner MLPs.
    pub hidden: Vec<usize>,
    /// Samples drawn from each model for the sample-quality metrics.
    pub n_samples: usize,
    /// Training images used for the classical estimators and the per-class read-offs
    /// (the first rows of the training set).
    pub id_rows: usize,
    /// The classifier giving the features.
    pub classifier: ClassifierConfig,
    /// The linear probe.
    #[serde(skip)]
    pub probe: ProbeConfig,
    /// The fixed `K` of claim (b) (the ID read-off is added per seed).
    pub ks: Vec<usize>,
    /// The fraction of the training images held out for the validation loss.
    pub validation_fraction: f64,
    /// Whether this is the reduced `--quick` protocol.
    pub quick: bool,
    /// The spread flow's noise: [`SpreadNoise::Random`] (the protocol, the library's default)
    /// or, with `--spread-noise expected`, the closed-form expectation of the random-noise
    /// objective (a diagnostic variant: it removes the Monte-Carlo noise from the gradient of
    /// `A`, see docs/real-images.md).
    pub spread_noise: SpreadNoise,
}

/// The k of the k-NN accuracy.
pub const KNN_K: usize = 5;
/// The k of precision and recall.
pub const PR_K: usize = 3;
/// The probability above which a sample counts as confidently classified.
pub const CONFIDENT: f64 = 0.9;
/// The reduced temperature of the second sample grid.
pub const LOW_TEMPERATURE: f64 = 0.7;

/// The two models' configurations for `protocol` and `seed`: the library's defaults for a
/// user's data ([`FitConfig::default_for_data`]: one global scale, the manifold prior with
/// `s = 0.01` and random latent noise, Adam lr 1e-3 with a x0.1 step decay over the last 20%)
/// with the protocol's flow (`couplings` affine couplings with random permutations between
/// them, conditioners of `hidden` widths) and budget, identical for both but for the
/// log-scale's centring and the prior.
pub fn model_config(kind: ModelKind, protocol: &Protocol, seed: u64) -> FitConfig {
    let mut config = FitConfig::default_for_data().with_seed(seed).with_steps(protocol.steps);
    let log_scale = match kind {
        ModelKind::Standard => LogScale::Tanh,
        ModelKind::Spread => LogScale::TanhMeanCentred,
    };
    config.architecture = Architecture::Vector(VectorFlow {
        couplings: protocol.couplings,
        transform: CouplingTransform::Affine(log_scale),
        hidden: protocol.hidden.clone(),
        activation: manifold_prior::PAPER_ACTIVATION,
        mixing: Mixing::Permutations,
        actnorm: ActNormLayers::None,
    });
    config.prior = match kind {
        ModelKind::Standard => PriorConfig::Standard,
        ModelKind::Spread => PriorConfig::Spread {
            spread: SpreadConfig::paper().with_noise(protocol.spread_noise),
            mean: MeanMode::Learned,
        },
    };
    config.training.batch_size = protocol.batch_size;
    // The validation split is the experiment's (fixed for both models), not the fit's.
    config.data.validation_fraction = 0.0;
    config.log_interval = (protocol.steps / 30).max(1);
    config
}

impl Protocol {
    /// `digits`: 3,000 steps of 128, 8 couplings with 128 x 128 conditioners, 1,000 samples,
    /// a 64 -> 128 -> 64 -> 10 classifier.
    pub fn digits() -> Self {
        Self {
            steps: 3_000,
            batch_size: 128,
            couplings: 8,
            hidden: vec![128, 128],
            n_samples: 1_000,
            id_rows: usize::MAX,
            classifier: ClassifierConfig {
                hidden: vec![128, 64],
                steps: 3_000,
                batch_size: 128,
                lr: 1e-3,
                weight_decay: 1e-4,
                seed: 0,
            },
            probe: ProbeConfig::default(),
            ks: vec![8, 16, 32],
            validation_fraction: 0.1,
            quick: false,
            spread_noise: SpreadNoise::Random,
        }
    }

    /// `digits --quick`: the same with 600 steps.
    pub fn digits_quick() -> Self {
        Self { steps: 600, quick: true, ..Self::digits() }
    }

    /// `mnist`: 4,000 steps of 64, 8 couplings with 128 x 128 conditioners, 10,000 samples,
    /// a 784 -> 256 -> 128 -> 10 classifier, the classical estimators on the first 10,000
    /// training images.
    pub fn mnist() -> Self {
        let digits = Self::digits();
        Self {
            steps: 4_000,
            batch_size: 64,
            n_samples: 10_000,
            id_rows: 10_000,
            classifier: ClassifierConfig { hidden: vec![256, 128], steps: 4_000, ..digits.classifier.clone() },
            ..digits
        }
    }

    /// `mnist --quick`: 10,000 training and 2,000 test images, 300 steps, 2,000 samples, the
    /// classifier trained for 1,500 steps.
    pub fn mnist_quick() -> Self {
        let full = Self::mnist();
        Self {
            steps: 300,
            n_samples: 2_000,
            id_rows: 2_000,
            classifier: ClassifierConfig { steps: 1_500, ..full.classifier.clone() },
            quick: true,
            ..full
        }
    }

    /// The protocol with the spread noise `--spread-noise` chose (unchanged without one).
    fn with_noise_of(self, ctx: &RunContext) -> Self {
        Self { spread_noise: ctx.spread_noise.unwrap_or(self.spread_noise), ..self }
    }
}

/// Rows kept by the quick MNIST protocol.
const MNIST_QUICK_ROWS: (usize, usize) = (10_000, 2_000);

/// `digits`.
pub fn run_digits(ctx: &RunContext) -> anyhow::Result<Report> {
    measure::run(ctx, &digits_data(), &Protocol::digits().with_noise_of(ctx))
}

/// `digits --quick`.
pub fn run_digits_quick(ctx: &RunContext) -> anyhow::Result<Report> {
    measure::run(ctx, &digits_data(), &Protocol::digits_quick().with_noise_of(ctx))
}

/// `mnist`.
pub fn run_mnist(ctx: &RunContext) -> anyhow::Result<Report> {
    without_empty_output(ctx, |ctx| {
        let data = mnist_data(&mnist_dir(ctx.data.as_deref())?, None)?;
        measure::run(ctx, &data, &Protocol::mnist().with_noise_of(ctx))
    })
}

/// `mnist --quick`.
pub fn run_mnist_quick(ctx: &RunContext) -> anyhow::Result<Report> {
    without_empty_output(ctx, |ctx| {
        let data = mnist_data(&mnist_dir(ctx.data.as_deref())?, Some(MNIST_QUICK_ROWS))?;
        measure::run(ctx, &data, &Protocol::mnist_quick().with_noise_of(ctx))
    })
}

/// Run `f`; when it fails, remove the output folder if it is still empty (the runner creates
/// it before the experiment starts), so that a failed run leaves nothing behind.
fn without_empty_output(
    ctx: &RunContext,
    f: impl FnOnce(&RunContext) -> anyhow::Result<Report>,
) -> anyhow::Result<Report> {
    let result = f(ctx);
    if result.is_err() {
        remove_if_empty(&ctx.out_dir);
    }
    result
}

/// Remove `dir` if it exists and is empty (`remove_dir` refuses a folder with files).
fn remove_if_empty(dir: &Path) {
    let _ = std::fs::remove_dir(dir);
}

/// Rows of `x` at `rows`.
pub(crate) fn select_rows(x: faer::MatRef<'_, f64>, rows: &[usize]) -> Mat<f64> {
    Mat::from_fn(rows.len(), x.ncols(), |i, j| x[(rows[i], j)])
}
