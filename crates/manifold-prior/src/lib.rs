#![doc = include_str!("../README.md")]
//!
//! # API overview
//!
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
//! From a CSV file to samples, with [`fit`] and a [`FitConfig`] preset:
//!
//! ```
//! use manifold_prior::{DataSource, FitConfig, FitOptions, FittedModel, Silent, fit};
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let csv = dir.path().join("points.csv");
//! # let rows: Vec<String> = (0..500).map(|i| { let t = -2.0 + 4.0 * i as f64 / 499.0; format!("{t},{}", (2.0 * t).sin()) }).collect();
//! # std::fs::write(&csv, format!("x,y\n{}\n", rows.join("\n"))).unwrap();
//! let data = datasets::load(&csv).unwrap().data; // one sample per row
//! let config = FitConfig::preset("default").unwrap().with_steps(300);
//! let model = fit(DataSource::Fixed(data.as_ref()), &config, &FitOptions::default(), &mut Silent).unwrap();
//! let samples = model.sample(1_000, 42, 1.0); // 1,000 x 2, in the data's units
//! let codes = model.encode(data.as_ref(), Some(1)).unwrap(); // the top latent direction
//! let log_density = model.log_prob(data.as_ref()).unwrap();
//! model.save(&dir.path().join("model")).unwrap();
//! let again = FittedModel::load(&dir.path().join("model")).unwrap();
//! assert_eq!(again.sample(1_000, 42, 1.0), samples);
//! # assert_eq!((codes.ncols(), log_density.len()), (1, 500));
//! ```
//!
//! The pieces, for finer control (here the paper's fig1 model trained on fresh batches):
//!
//! ```
//! use manifold_prior::{DataSource, ReadoffConfig, Silent, TrainConfig, paper_fig1_spread, train};
//! use rand::RngExt;
//!
//! // The paper's sine curve, fresh samples every step.
//! let mut sine = |n: usize, rng: &mut rand_chacha::ChaCha8Rng| {
//!     let t: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
//!     faer::Mat::from_fn(n, 2, |i, j| if j == 0 { t[i] } else { (2.0 * t[i]).sin() })
//! };
//! let mut model = paper_fig1_spread(0).unwrap();
//! let config = TrainConfig::paper_fig1().with_steps(50);
//! let history = train(&mut model, DataSource::Generator(&mut sine), &config, &mut Silent).unwrap();
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

mod average;
mod config;
mod ensemble;
mod error;
mod estimator;
mod fit;
mod model;
mod presets;
mod prior;
mod profile;
mod readoff;
mod scaling;
mod spread;
mod trainer;

/// The tape and parameter store this crate trains with, re-exported whole so that users (and
/// this workspace's binaries) reach it through one dependency, at the version this crate uses.
pub use autodiff_lite;
/// The dense-matrix crate of every signature here (data `n x D`, one sample per row).
pub use faer;
/// The bijectors and flows this crate builds on, re-exported whole (see [`autodiff_lite`]).
pub use flow_core;
/// The classical estimators [`FlowEstimator`] is compared with, re-exported whole (see
/// [`autodiff_lite`]).
pub use intrinsic_dim;

/// The parameter store in the signatures of [`SpreadFlow::new`] and [`VectorFlow::build`].
pub use autodiff_lite::ParamStore;
pub use average::{Averaged, MovingAverage, ParamSource, ParamValues};
pub use config::{ActNormLayers, Architecture, DataConfig, FitConfig, ImageFlow, Mixing, PriorConfig, VectorFlow};
pub use ensemble::{EnsembleFlowEstimator, FlowId, MAX_PCA_DIM, MIN_SAMPLES};
pub use error::{CheckpointError, PriorError};
pub use estimator::FlowEstimator;
pub use fit::{
    AVERAGE_PREFIX, FitOptions, FittedModel, FlowModel, LogRow, MODEL_FORMAT, TrainingSummary, config_differences, fit,
    json_differences,
};
/// The flow-core types in the signatures of [`FitConfig`] and the presets.
pub use flow_core::{Activation, CouplingTransform};
/// The trait [`FlowEstimator`] implements and its result, so callers need not depend on
/// `intrinsic-dim` to use the flow estimator.
pub use intrinsic_dim::{Estimate, Estimator};
pub use model::{
    BasePrior, Model, PriorEigenvalues, SpreadFlow, StandardFlow, TrainableState, VolumeCheck, covariance,
};
pub use presets::{
    FADING_SQUARES_N_PARAMS, FADING_SQUARES_SIDE, PAPER_ACTIVATION, PAPER_HIDDEN, paper_fading_squares,
    paper_fig1_baseline, paper_fig1_spread, spread_model, spread_preset, standard_model,
};
pub use prior::{Density, DiagonalGaussian, MeanMode, Prior, Sampler, Spectrum, StandardNormal, TriangularGaussian};
pub use profile::{StepProfile, profile_steps};
pub use readoff::{
    CLEAR_GAP_RATIO, EnsembleReadoff, IntrinsicDimension, ReadoffConfig, ReadoffRule, RuleCounts, RuleKind,
    SpectrumSource, ensemble_readoff, largest_log_gap_count, noise_relative_count, noise_sweep_count,
    noise_sweep_slopes, ratio, relative_count, spread_log_gap_count,
};
pub use scaling::{ScalingMode, Standardizer};
pub use spread::{SpreadConfig, SpreadNoise, SpreadPlacement};
pub use trainer::{
    CheckpointConfig, DataSource, Divergence, History, LrSchedule, OptimizerKind, Silent, StepOutcome, TrainConfig,
    TrainError, TrainEvent, TrainObserver, TrainStep, resume, train,
};

#[cfg(test)]
mod tests;
