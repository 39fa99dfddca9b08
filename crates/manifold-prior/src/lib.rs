//! Learnable singular Gaussian priors, the spread-KL objective, training, sampling and the
//! intrinsic-dimension read-off ("Spread Flows for Manifold Modelling", Zhang et al.).
//!
//! A volume-preserving flow `g` maps data to latent codes scored under a learnable
//! `N(mu, A A^T)` whose covariance may lose rank. Both are spread by `N(0, s^2 I)` noise and
//! the KL divergence between the two noisy distributions is minimised:
//! with `S = A A^T + s^2 I` and `y = g(x) + eps - mu`,
//! `loss(x) = 0.5 (D ln(2 pi) + ln det S + y^T S^-1 y)`.
//! After training, the number of non-negligible eigenvalues of `A A^T` (and of the covariance
//! of `g(x)`) is the intrinsic dimension, and `f(mu + A e) = g^-1(mu + A e)` samples the
//! manifold.
//!
//! ```
//! use manifold_prior::{DataSource, ReadoffConfig, TrainConfig, paper_fig1_spread, train};
//! use rand::RngExt;
//!
//! // The paper's sine curve, fresh samples every step.
//! let mut sine = |n: usize, rng: &mut rand_chacha::ChaCha8Rng| {
//!     let t: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
//!     faer::Mat::from_fn(n, 2, |i, j| if j == 0 { t[i] } else { (2.0 * t[i]).sin() })
//! };
//! let mut model = paper_fig1_spread(0).unwrap();
//! let config = TrainConfig::paper_fig1().with_steps(50);
//! let history = train(&mut model, DataSource::Generator(&mut sine), &config).unwrap();
//! assert_eq!(history.losses.len(), 50);
//! let samples = model.sample(100, 1);
//! assert_eq!(samples.ncols(), 2);
//! let id = model.intrinsic_dimension(samples.as_ref(), ReadoffConfig::default()).unwrap();
//! assert_eq!(id.prior_eigenvalues.len(), 2);
//! ```
//!
//! Topology caveat: a flow is a diffeomorphism of `R^D`, so it can map the data manifold into a
//! `K`-dimensional linear subspace only if the manifold is diffeomorphic to an open subset of
//! `R^K` (graphs of functions, sheets). Closed manifolds (circles, spheres, tori) cannot be
//! flattened: on them the learned prior keeps extra rank and the read-off overestimates.
//!
//! Known degeneracy: the objective drops the entropy of the noisy latent, so nothing stops a
//! volume-preserving flow from also contracting the manifold along its tangent: the spectrum
//! drifts with training. The trainer keeps an exponential moving average of the prior for the
//! read-off and records the eigenvalue trajectory; judge results over several seeds.

mod estimator;
mod model;
mod presets;
mod prior;
mod profile;
mod readoff;
mod scaling;
mod trainer;

/// The parameter store in the signatures of [`SpreadFlow::new`] and [`coupling_flow`].
pub use autodiff_lite::ParamStore;
pub use estimator::FlowEstimator;
/// The flow-core types in the signatures of [`coupling_flow`] and the presets, so callers can
/// build flows without depending on `flow-core` directly.
pub use flow_core::{Activation, CouplingTransform};
/// The trait [`FlowEstimator`] implements and its result, so callers need not depend on
/// `intrinsic-dim` to use the flow estimator.
pub use intrinsic_dim::{Estimate, Estimator};
pub use model::{
    Model, NoiseMode, ParamSource, SpreadConfig, SpreadFlow, SpreadPlacement, StandardFlow, VolumeCheck, covariance,
};
pub use presets::{
    FADING_SQUARES_N_PARAMS, FADING_SQUARES_SIDE, PAPER_ACTIVATION, PAPER_HIDDEN, coupling_flow, fading_squares_flow,
    paper_fading_squares, paper_fig1_baseline, paper_fig1_spread, spread_preset,
};
pub use prior::{DiagonalGaussian, MeanMode, Prior, Spectrum, StandardNormal, TriangularGaussian};
pub use profile::{StepProfile, profile_spread_steps};
pub use readoff::{
    IntrinsicDimension, ReadoffConfig, ReadoffRule, RuleCounts, RuleKind, SpectrumSource, largest_log_gap_count,
    noise_relative_count, noise_sweep_count, noise_sweep_slopes, ratio, relative_count, spread_log_gap_count,
};
pub use scaling::{ScalingMode, Standardizer};
#[cfg(test)]
mod tests;

pub use trainer::{
    CheckpointConfig, DataSource, History, OptimizerKind, Progress, TrainConfig, TrainError, resume, train,
    train_with_observer,
};

impl From<flow_core::FlowError> for PriorError {
    fn from(e: flow_core::FlowError) -> Self {
        match e {
            flow_core::FlowError::Config(m) => PriorError::Config(m),
            flow_core::FlowError::Mismatch(m) => PriorError::Mismatch(m),
            flow_core::FlowError::Io { path, source } => PriorError::Io { path, source },
            flow_core::FlowError::Format { path, message } => PriorError::Format { path, message },
        }
    }
}

/// Errors of priors, models and their files.
#[derive(Debug, thiserror::Error)]
pub enum PriorError {
    /// The spread objective needs a volume-preserving flow.
    #[error(
        "the spread objective drops the entropy term, which is only valid for a volume-preserving flow; \
         use additive or mean-centred affine couplings, or VolumeCheck::Override"
    )]
    NotVolumePreserving,
    /// An invalid setting.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The covariance could not be factorised or decomposed.
    #[error("covariance: {0}")]
    Tape(#[from] autodiff_lite::TapeError),
    /// An eigen-decomposition failed.
    #[error("eigen-decomposition failed: {0}")]
    Eigen(String),
    /// Saved weights do not fit the architecture.
    #[error("weights do not match the model: {0}")]
    Mismatch(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file's content is corrupted.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
}
