//! Errors of priors, models, their files and checkpoints. Each variant says what went wrong in
//! its own terms and keeps the error it came from as its source.

use std::path::PathBuf;

use autodiff_lite::{ParamError, StateError, TapeError};
use flow_core::FlowError;

/// Errors of priors, models and their files.
#[derive(Debug, thiserror::Error)]
pub enum PriorError {
    /// The spread objective needs a volume-preserving flow.
    #[error(
        "the spread objective drops the entropy term, which is only valid for a volume-preserving flow: use \
         additive or mean-centred affine couplings, without ActNorm or LU layers"
    )]
    NotVolumePreserving,
    /// The spread `s` is not a positive finite number.
    #[error("the spread must be positive and finite, got {0}")]
    InvalidSpread(f64),
    /// [`crate::SpreadNoise::Expected`] with [`crate::SpreadPlacement::Data`].
    #[error(
        "spread noise 'expected' needs the latent placement: the expectation over noise on the data, taken \
         through the flow, has no closed form"
    )]
    ExpectedNoiseNeedsLatentPlacement,
    /// A setting of a [`crate::FitConfig`] is out of its range.
    #[error("invalid configuration: {setting} = {value}, expected {expected}")]
    InvalidSetting {
        /// The setting (its path in the JSON of the configuration).
        setting: &'static str,
        /// The value given.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// Data of another dimension than the model's.
    #[error("the data have {got} columns but the model has dimension {expected}")]
    DimensionMismatch {
        /// The model's dimension.
        expected: usize,
        /// The data's number of columns.
        got: usize,
    },
    /// A data cell is NaN or infinite.
    #[error("the data are not finite at row {row}, column {col} (0-based)")]
    NonFiniteData {
        /// The row (0-based).
        row: usize,
        /// The column (0-based).
        col: usize,
    },
    /// Too few data rows for what was asked (a covariance needs two).
    #[error("{rows} data row(s) given, at least {needed} needed")]
    TooFewRows {
        /// The rows given.
        rows: usize,
        /// The rows needed.
        needed: usize,
    },
    /// A model file of another format.
    #[error("{path}: format '{found}', expected '{expected}'")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Its format tag.
        found: String,
        /// The format this version reads.
        expected: &'static str,
    },
    /// A projection on more directions than the latent space has.
    #[error("cannot project on {k} directions in dimension {dim}")]
    ProjectionTooWide {
        /// The directions asked for.
        k: usize,
        /// The latent dimension.
        dim: usize,
    },
    /// Building, loading or saving the flow failed.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// The covariance could not be factorised (not positive definite, or singular without
    /// spread).
    #[error("covariance: {0}")]
    Covariance(#[from] TapeError),
    /// A parameter of the prior is missing from a store or has another shape.
    #[error("prior parameters: {0}")]
    Param(#[from] ParamError),
    /// A covariance has non-finite entries, so it has no spectrum.
    #[error("the covariance has non-finite entries (the model diverged?)")]
    NonFiniteCovariance,
    /// The symmetric eigen-decomposition did not converge.
    #[error("the eigen-decomposition of the covariance did not converge")]
    EigenNoConvergence,
    /// A saved model's settings are invalid.
    #[error("{path}: {source}")]
    InvalidSettings {
        /// The model file.
        path: PathBuf,
        /// What is wrong with the settings.
        #[source]
        source: Box<PriorError>,
    },
    /// A checkpoint cannot be used.
    #[error("{path}: {source}")]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: CheckpointError,
    },
    /// A directory could not be created or read.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// What is wrong with a checkpoint's saved state.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The saved random-number generator seed does not have 32 bytes.
    #[error("the random-number generator seed has {0} bytes, not 32")]
    RngSeed(usize),
    /// The saved random-number generator position is not a number.
    #[error("the random-number generator position is not a number")]
    RngPosition(#[source] std::num::ParseIntError),
    /// The record an observer saved with the checkpoint cannot be read back.
    #[error("the training record: {0}")]
    ObserverRecord(#[source] serde_json::Error),
    /// The optimiser state does not fit the model's parameters.
    #[error("optimiser state: {0}")]
    Optimizer(#[from] StateError),
}
