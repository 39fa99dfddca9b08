//! The paper's models as ready-built values. Each is [`FitConfig`]'s preset of the same name
//! built on a given standardisation: the configuration is the one definition of every
//! architecture, these functions only unwrap the model they build.

use flow_core::{Activation, CouplingTransform, ImageShape, LogScale};

use crate::PriorError;
use crate::config::{Architecture, FitConfig, ImageFlow, PriorConfig, VectorFlow};
use crate::fit::FlowModel;
use crate::model::{SpreadFlow, StandardFlow};
use crate::prior::MeanMode;
use crate::scaling::Standardizer;
use crate::spread::{SpreadConfig, SpreadNoise};

/// The conditioner of the paper's toys: MLP `k -> 24 -> 24 -> 24 -> k` with LeakyReLU(0.2).
pub const PAPER_HIDDEN: [usize; 3] = [24, 24, 24];
/// The paper's activation.
pub const PAPER_ACTIVATION: Activation = Activation::LeakyRelu(0.2);

/// Side of the fading-squares images (`32`).
pub const FADING_SQUARES_SIDE: usize = 32;

/// The number of scalar parameters of the paper's fading-squares model
/// ([`paper_fading_squares`]): `1,048,576` for `A` (stored dense, its upper triangle masked),
/// `3 x 1,156` and `3 x 3,760` for the two stages of convolutional couplings and
/// `2 x 52,624` for the two MLP couplings.
pub const FADING_SQUARES_N_PARAMS: usize = 1_168_572;

/// The spread flow `config` describes on data of dimension `standardizer.mean.len()`.
///
/// # Errors
/// [`PriorError::InvalidSetting`] if `config`'s prior is not the spread prior; as
/// [`FitConfig::build_model`].
pub fn spread_model(config: &FitConfig, standardizer: Standardizer) -> Result<SpreadFlow, PriorError> {
    match config.build_model(standardizer)? {
        FlowModel::Spread(m) => Ok(m),
        FlowModel::Standard(_) => Err(PriorError::InvalidSetting {
            setting: "prior",
            value: "a prior with a density everywhere".into(),
            expected: "the spread prior",
        }),
    }
}

/// The maximum-likelihood flow `config` describes (see [`spread_model`]).
///
/// # Errors
/// [`PriorError::InvalidSetting`] if `config`'s prior is the spread prior; as
/// [`FitConfig::build_model`].
pub fn standard_model(config: &FitConfig, standardizer: Standardizer) -> Result<StandardFlow, PriorError> {
    match config.build_model(standardizer)? {
        FlowModel::Standard(m) => Ok(m),
        FlowModel::Spread(_) => Err(PriorError::InvalidSetting {
            setting: "prior",
            value: "the spread prior".into(),
            expected: "a prior with a density everywhere",
        }),
    }
}

/// The fig1 spread flow of method.md section 3 ([`FitConfig::paper_fig1`]): 4 additive
/// couplings with MLPs `1 -> 24 -> 24 -> 24 -> 1` (LeakyReLU 0.2, PyTorch-style init), mean
/// fixed at 0, `A` initialised to `I`, `s = 0.01`, random noise; no rescaling (the toy is at
/// unit scale).
///
/// # Errors
/// Never for this architecture; the `Result` carries construction errors of the layers.
pub fn paper_fig1_spread(seed: u64) -> Result<SpreadFlow, PriorError> {
    spread_model(&FitConfig::paper_fig1().with_seed(seed), Standardizer::identity(2))
}

/// The fig1 baseline: 2 RealNVP affine couplings with `tanh`-bounded log-scales, `s` and `t`
/// MLPs `1 -> 24 -> 24 -> 24 -> 1` (LeakyReLU 0.2), prior `N(0, I)`, no rescaling.
///
/// # Errors
/// Never for this architecture; the `Result` carries construction errors of the layers.
pub fn paper_fig1_baseline(seed: u64) -> Result<StandardFlow, PriorError> {
    let config = FitConfig {
        architecture: Architecture::Vector(VectorFlow::paper(2, CouplingTransform::Affine(LogScale::Tanh))),
        prior: PriorConfig::Standard,
        ..FitConfig::paper_fig1()
    };
    standard_model(&config.with_seed(seed), Standardizer::identity(2))
}

/// A spread flow of `n_layers` additive couplings alternating the split, paper-style
/// conditioners, fixed zero mean (the preset of the graph-manifold experiments uses 6 layers).
///
/// # Errors
/// [`PriorError::Flow`] for `dim < 2`, [`PriorError::InvalidSpread`] for a non-positive
/// spread.
pub fn spread_preset(
    dim: usize,
    n_layers: usize,
    seed: u64,
    spread: SpreadConfig,
    standardizer: Standardizer,
) -> Result<SpreadFlow, PriorError> {
    debug_assert_eq!(standardizer.mean.len(), dim, "spread_preset: a standardizer of another dimension");
    let config = FitConfig {
        architecture: Architecture::Vector(VectorFlow::paper(n_layers, CouplingTransform::Additive)),
        prior: PriorConfig::Spread { spread, mean: MeanMode::Fixed },
        ..FitConfig::paper_fig1()
    };
    spread_model(&config.with_seed(seed), standardizer)
}

/// The paper's fading-squares model ([`FitConfig::paper_fading_squares`]): its image flow
/// (method.md section 4; [`ImageFlow::paper`] on `1 x 32 x 32`) with the manifold prior
/// `N(0, A A^T)`, `A` a dense `1024 x 1024` parameter initialised to `I` whose upper triangle
/// is masked, mean fixed at 0, spread `s = 0.01` in the latent space with the given noise mode
/// ([`SpreadNoise::ConstShift`] reproduces the authors' printed losses), no rescaling (pixels
/// are in `[0, 1]`). Train it with [`crate::TrainConfig::paper_fading_squares`]. It has
/// [`FADING_SQUARES_N_PARAMS`] parameters.
///
/// # Errors
/// Never for this architecture; the `Result` carries construction errors of the layers.
pub fn paper_fading_squares(seed: u64, spread_noise: SpreadNoise) -> Result<SpreadFlow, PriorError> {
    let config = FitConfig::paper_fading_squares().with_seed(seed);
    let config = FitConfig {
        prior: PriorConfig::Spread { spread: SpreadConfig::paper().with_noise(spread_noise), mean: MeanMode::Fixed },
        ..config
    };
    let side = FADING_SQUARES_SIDE;
    debug_assert_eq!(config.architecture, Architecture::Image(ImageFlow::paper(ImageShape::new(1, side, side))));
    spread_model(&config, Standardizer::identity(side * side))
}
