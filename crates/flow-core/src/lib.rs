#![doc = include_str!("../README.md")]
//!
//! # API overview
//!
//! Bijectors with exact log-Jacobian determinants, composable into normalizing flows.
//!
//! A [`Bijector`] maps data `x` to latent `z` ([`Bijector::forward`]) and back
//! ([`Bijector::inverse`]), batched with one sample per row, and returns the per-sample
//! `log|det dz/dx|` (or `log|det dx/dz|` for the inverse) with the output. Layers keep
//! [`autodiff_lite::ParamId`] handles into a [`ParamStore`] and record their math once on an
//! [`autodiff_lite::Tape`]: with a recording tape for training, with a no-grad tape for fast
//! encoding and sampling ([`Flow::encode`], [`Flow::decode`]).
//!
//! Layers: [`Coupling`] (additive and affine), [`Permutation`], [`ActNorm`], [`LuLinear`], and
//! for images (rows, channel-major) [`ConvCoupling`], [`image::squeeze_2x2`] and
//! [`image::channel_permutation`];
//! [`Flow`] chains them. With the `io` feature (on by default) a trained flow is saved as a
//! JSON architecture ([`FlowSpec`]) next to a safetensors weights file readable from Python
//! (`io::save_flow`, `io::load_flow`); see "Feature flags" above.
//!
//! ```
//! use flow_core::{Activation, Bijector, Coupling, CouplingConfig, CouplingTransform, Flow, Parity, Permutation};
//! use rand::SeedableRng;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let mut store = autodiff_lite::ParamStore::new();
//! let mut flow = Flow::new(2);
//! for k in 0..4 {
//!     let config = CouplingConfig::halves(2, Parity::alternating(k), CouplingTransform::Additive, &[24, 24], Activation::LeakyRelu(0.2));
//!     flow.push(Coupling::new(&mut store, &format!("coupling.{k}"), config, &mut rng).unwrap()).unwrap();
//! }
//! flow.push(Permutation::reverse(2)).unwrap();
//! assert!(flow.is_volume_preserving());
//!
//! let x = faer::mat![[0.5, -1.0], [2.0, 0.25]];
//! let (z, log_det) = flow.encode(&store, x.as_ref());
//! let (x_back, _) = flow.decode(&store, z.as_ref());
//! assert!((&x_back - &x).norm_max() < 1e-12);
//! assert!(log_det.iter().all(|&l| l == 0.0));
//! ```

mod actnorm;
mod coupling;
mod flow;
pub mod image;
#[cfg(feature = "io")]
pub mod io;
mod lu_linear;
mod mlp;
mod permutation;
pub mod testing;

#[cfg(test)]
mod tests;

use autodiff_lite::{ParamId, ParamStore, Tape, Var};
use faer::MatRef;

pub use actnorm::ActNorm;
/// The autodiff tape, parameter store and optimisers every layer records on and trains with,
/// re-exported so that users need no dependency of their own on a matching version.
pub use autodiff_lite;
/// The conditioners' nonlinearity (the tape's fused activation).
pub use autodiff_lite::Activation;
pub use coupling::{Coupling, CouplingConfig, CouplingTransform, LogScale, Parity, Split};
/// The dense-matrix crate of every signature here (batches `n x D`, one sample per row).
pub use faer;
pub use flow::{Flow, FlowSpec};
pub use image::{ConvCoupling, ConvCouplingConfig, ImageShape};
pub use lu_linear::{LuInit, LuLinear};
pub use mlp::{LastLayerInit, Mlp, MlpConfig};
pub use permutation::Permutation;
/// The random-number traits layer constructors take (`Coupling::new(.., &mut rng)`).
pub use rand;

/// The per-sample log-determinant of a bijector's Jacobian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogDet {
    /// Exactly zero by construction (volume-preserving): no value is recorded.
    Zero,
    /// An `n x 1` column of `log|det J|`, one per sample.
    PerSample(Var),
}

impl LogDet {
    /// The sum of two log-determinants (composition), recording an addition only when both
    /// are non-zero.
    pub fn add(self, tape: &mut Tape, other: LogDet) -> LogDet {
        match (self, other) {
            (LogDet::Zero, x) | (x, LogDet::Zero) => x,
            (LogDet::PerSample(a), LogDet::PerSample(b)) => LogDet::PerSample(tape.add(a, b)),
        }
    }

    /// The values as a vector of length `n` (zeros for [`LogDet::Zero`]).
    pub fn to_vec(self, tape: &Tape, n: usize) -> Vec<f64> {
        match self {
            LogDet::Zero => vec![0.0; n],
            LogDet::PerSample(v) => (0..n).map(|i| tape.value(v)[(i, 0)]).collect(),
        }
    }
}

/// An invertible map of `R^D` with an exact log-Jacobian determinant, applied to batches
/// (`n x D`, one sample per row). Implementors provide the map both ways; the rest has
/// defaults for a layer without parameters that changes volume.
pub trait Bijector: std::fmt::Debug + Send + Sync {
    /// The dimension `D`.
    fn dim(&self) -> usize;

    /// Data to latent: `z = g(x)` and `log|det dg/dx|` per sample.
    fn forward(&self, tape: &mut Tape, store: &ParamStore, x: Var) -> (Var, LogDet);

    /// Latent to data: `x = g^-1(z)` and `log|det dg^-1/dz|` per sample.
    fn inverse(&self, tape: &mut Tape, store: &ParamStore, z: Var) -> (Var, LogDet);

    /// True only where `log|det J|` is exactly zero by construction (default: false).
    fn is_volume_preserving(&self) -> bool {
        false
    }

    /// The handles of the layer's trainable parameters (default: none).
    fn params(&self) -> Vec<ParamId> {
        Vec::new()
    }

    /// Data-dependent initialisation from a batch `x` of inputs to this layer (ActNorm uses
    /// it); the default does nothing.
    fn init_from_data(&self, _store: &mut ParamStore, _x: MatRef<'_, f64>) {}
}

/// A bijector that a [`Flow`] can hold and save: it describes itself as a [`LayerSpec`],
/// from which [`LayerSpec::attach`] rebuilds it on saved parameters.
pub trait Layer: Bijector {
    /// The description of the layer (serialisable with the `serde` feature).
    fn spec(&self) -> LayerSpec;
}

/// The architecture of one layer, as saved next to the weights (`Serialize`/`Deserialize`
/// with the `serde` feature, internally tagged by `"type"`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "type", rename_all = "snake_case"))]
pub enum LayerSpec {
    /// A [`Coupling`] whose parameters are named `<prefix>.t.*` and `<prefix>.s.*`.
    Coupling {
        /// Parameter-name prefix.
        prefix: String,
        /// Architecture.
        config: CouplingConfig,
    },
    /// A [`Permutation`].
    Permutation {
        /// `z_j = x_{perm[j]}`.
        perm: Vec<usize>,
    },
    /// An [`ActNorm`] whose parameters are `<prefix>.log_scale` and `<prefix>.bias`.
    ActNorm {
        /// Parameter-name prefix.
        prefix: String,
        /// The dimension `D`.
        dim: usize,
    },
    /// A [`LuLinear`] whose parameters are `<prefix>.lower`, `<prefix>.upper` and
    /// `<prefix>.log_abs_s`; the permutation and the signs are fixed, so they are part of
    /// the architecture.
    LuLinear {
        /// Parameter-name prefix.
        prefix: String,
        /// The dimension `D`.
        dim: usize,
        /// The row permutation of `W = P L (U + diag(signs * exp(log_abs_s)))`:
        /// `(P v)_j = v_{perm[j]}`.
        perm: Vec<usize>,
        /// The fixed signs (`+1` or `-1`) of the diagonal of the upper factor.
        signs: Vec<f64>,
    },
    /// A [`ConvCoupling`] whose parameters are named `<prefix>.conv{0,1,2}.weight` / `.bias`.
    ConvCoupling {
        /// Parameter-name prefix.
        prefix: String,
        /// Architecture.
        config: ConvCouplingConfig,
    },
    /// A nested [`Flow`].
    Chain(FlowSpec),
}

impl LayerSpec {
    /// Rebuild the layer on parameters already in `store`.
    ///
    /// # Errors
    /// [`FlowError::Param`] when a parameter is missing or has the wrong shape,
    /// [`FlowError::Config`] for an invalid description.
    pub fn attach(&self, store: &ParamStore) -> Result<Box<dyn Layer>, FlowError> {
        Ok(match self {
            LayerSpec::Coupling { prefix, config } => Box::new(Coupling::from_store(store, prefix, config.clone())?),
            LayerSpec::Permutation { perm } => Box::new(Permutation::new(perm.clone())?),
            LayerSpec::ActNorm { prefix, dim } => Box::new(ActNorm::from_store(store, prefix, *dim)?),
            LayerSpec::LuLinear { prefix, dim, perm, signs } => {
                Box::new(LuLinear::from_store(store, prefix, *dim, perm.clone(), signs.clone())?)
            }
            LayerSpec::ConvCoupling { prefix, config } => {
                Box::new(ConvCoupling::from_store(store, prefix, config.clone())?)
            }
            LayerSpec::Chain(spec) => Box::new(Flow::from_spec(spec, store)?),
        })
    }
}

/// Errors from building, loading or saving flows.
///
/// Non-exhaustive because `FlowError::Json` exists only with the `io` feature: cargo turns a
/// feature on for the whole build when any crate asks for it, so an exhaustive `match` written
/// without `io` would break as soon as another dependency enabled it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// An invalid architecture (dimensions, masks, permutations).
    #[error("invalid flow configuration: {0}")]
    Config(String),
    /// A parameter of the architecture is missing from the store or has another shape.
    #[error("weights do not match the architecture: {0}")]
    Param(#[from] autodiff_lite::ParamError),
    /// A saved weights file does not fit the architecture it is loaded for.
    #[error("{path}: {source}")]
    Weights {
        /// The weights file.
        path: std::path::PathBuf,
        /// Which parameter is missing or mis-shaped.
        #[source]
        source: autodiff_lite::ParamError,
    },
    /// A saved weights file holds a tensor that is not a parameter of the architecture.
    #[error("{path}: tensor '{name}' is not a parameter of the architecture in {spec}")]
    ExtraTensor {
        /// The weights file.
        path: std::path::PathBuf,
        /// The tensor's name.
        name: String,
        /// The architecture file.
        spec: std::path::PathBuf,
    },
    /// A JSON file is not valid JSON or does not have the expected shape (`io` feature).
    #[cfg(feature = "io")]
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: std::path::PathBuf,
        /// Serde's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file's content is not a valid saved flow.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// A `1 x 1` value repeated down an `n x 1` column (`0 + v` with broadcasting, so the
/// gradient of every row flows back to `v`).
pub(crate) fn broadcast_rows(tape: &mut Tape, v: Var, n: usize) -> Var {
    let zeros = tape.leaf_from_fn(n, 1, |_, _| 0.0);
    tape.add(zeros, v)
}
