//! Named architectures of the paper's experiments and of the flow-based estimator.

use autodiff_lite::ParamStore;
use flow_core::image::{random_channel_permutation, squeeze_2x2};
use flow_core::{
    Activation, ConvCoupling, ConvCouplingConfig, Coupling, CouplingConfig, CouplingTransform, Flow, FlowError,
    ImageShape, LogScale, Parity,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::PriorError;
use crate::model::{SpreadFlow, StandardFlow, VolumeCheck};
use crate::prior::MeanMode;
use crate::scaling::Standardizer;
use crate::spread::{SpreadConfig, SpreadNoise};

/// The conditioner of the paper's toys: MLP `k -> 24 -> 24 -> 24 -> k` with LeakyReLU(0.2).
pub const PAPER_HIDDEN: [usize; 3] = [24, 24, 24];
/// The paper's activation.
pub const PAPER_ACTIVATION: Activation = Activation::LeakyRelu(0.2);

/// A chain of `n_layers` couplings of one transform alternating the split
/// (`Parity::alternating`), registered as `coupling.<k>` in `store`.
///
/// # Errors
/// [`FlowError::Config`] for `dim < 2`.
pub fn coupling_flow(
    store: &mut ParamStore,
    dim: usize,
    n_layers: usize,
    transform: CouplingTransform,
    hidden: &[usize],
    activation: Activation,
    rng: &mut ChaCha8Rng,
) -> Result<Flow, FlowError> {
    let mut flow = Flow::new(dim);
    for k in 0..n_layers {
        let config = CouplingConfig::halves(dim, Parity::alternating(k), transform, hidden, activation);
        flow.push(Coupling::new(store, &format!("coupling.{k}"), config, rng)?)?;
    }
    Ok(flow)
}

/// The fig1 spread flow of method.md section 3: 4 additive couplings with MLPs
/// `1 -> 24 -> 24 -> 24 -> 1` (LeakyReLU 0.2, PyTorch-style init), mean fixed at 0, `A`
/// initialised to `I`, `s = 0.01`, random noise; no rescaling (the toy is at unit scale).
///
/// # Errors
/// Never for this architecture; the `Result` carries construction errors of the layers.
pub fn paper_fig1_spread(seed: u64) -> Result<SpreadFlow, PriorError> {
    spread_preset(2, 4, seed, SpreadConfig::paper(), Standardizer::identity(2))
}

/// The fig1 baseline: 2 RealNVP affine couplings with `tanh`-bounded log-scales, `s` and `t`
/// MLPs `1 -> 24 -> 24 -> 24 -> 1` (LeakyReLU 0.2), prior `N(0, I)`, no rescaling.
///
/// # Errors
/// Never for this architecture; the `Result` carries construction errors of the layers.
pub fn paper_fig1_baseline(seed: u64) -> Result<StandardFlow, PriorError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut store = ParamStore::new();
    let transform = CouplingTransform::Affine(LogScale::Tanh);
    let flow = coupling_flow(&mut store, 2, 2, transform, &PAPER_HIDDEN, PAPER_ACTIVATION, &mut rng)?;
    Ok(StandardFlow::new(store, flow, Standardizer::identity(2)))
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
    scaler: Standardizer,
) -> Result<SpreadFlow, PriorError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut store = ParamStore::new();
    let flow = coupling_flow(
        &mut store,
        dim,
        n_layers,
        CouplingTransform::Additive,
        &PAPER_HIDDEN,
        PAPER_ACTIVATION,
        &mut rng,
    )?;
    SpreadFlow::new(store, flow, MeanMode::Fixed, spread, scaler, VolumeCheck::Require)
}

/// Side of the fading-squares images (`32`).
pub const FADING_SQUARES_SIDE: usize = 32;

/// The number of scalar parameters of the paper's fading-squares model
/// ([`paper_fading_squares`]): `1,048,576` for `A` (stored dense, its upper triangle masked),
/// `3 x 1,156` and `3 x 3,760` for the two stages of convolutional couplings and
/// `2 x 52,624` for the two MLP couplings.
pub const FADING_SQUARES_N_PARAMS: usize = 1_168_572;

/// The flow of the paper's fading-squares model (method.md section 4), data to latent, all
/// volume-preserving, on `1 x 32 x 32` images flattened channel-major:
/// squeeze 2 x 2 to `[4, 16, 16]`; conv-coupling(4), permute(4), conv-coupling(4), permute(4),
/// conv-coupling(4); squeeze to `[16, 8, 8]`; the same with 16 channels; flatten (a no-op);
/// MLP affine couplings on halves of 1024 (even, then odd) with separate `s` and `t` MLPs
/// `512 -> 24 -> 24 -> 24 -> 512`, LeakyReLU(0.2), mean-centred log-scales. Parameters are
/// registered in `store` (`stage<k>.coupling<j>.*`, `mlp.coupling<j>.*`) with PyTorch's default
/// initialisation; the permutations are drawn from `rng`.
///
/// # Errors
/// Never for this architecture; the `Result` carries construction errors of the layers.
pub fn fading_squares_flow(store: &mut ParamStore, rng: &mut ChaCha8Rng) -> Result<Flow, FlowError> {
    let image = ImageShape::new(1, FADING_SQUARES_SIDE, FADING_SQUARES_SIDE);
    let mut flow = Flow::new(image.len());
    let mut shape = image;
    for stage in 0..2 {
        let (squeeze, squeezed) = squeeze_2x2(shape)?;
        shape = squeezed;
        flow.push(squeeze)?;
        for j in 0..3 {
            if j > 0 {
                flow.push(random_channel_permutation(shape, rng)?)?;
            }
            let config = ConvCouplingConfig::paper(shape);
            flow.push(ConvCoupling::new(store, &format!("stage{stage}.coupling{j}"), config, rng)?)?;
        }
    }
    for j in 0..2 {
        let config = CouplingConfig::halves(
            image.len(),
            Parity::alternating(j),
            CouplingTransform::Affine(LogScale::MeanCentred),
            &PAPER_HIDDEN,
            PAPER_ACTIVATION,
        );
        flow.push(Coupling::new(store, &format!("mlp.coupling{j}"), config, rng)?)?;
    }
    Ok(flow)
}

/// The paper's fading-squares model: [`fading_squares_flow`] with the manifold prior
/// `N(0, A A^T)`, `A` a dense `1024 x 1024` parameter initialised to `I` whose upper triangle
/// is masked, mean fixed at 0, spread `s = 0.01` in the latent space with the given noise mode
/// ([`SpreadNoise::ConstShift`] reproduces the authors' printed losses), no rescaling (pixels
/// are in `[0, 1]`). Train it with [`crate::TrainConfig::paper_fading_squares`]. It has
/// [`FADING_SQUARES_N_PARAMS`] parameters.
///
/// # Errors
/// Never for this architecture; the `Result` carries construction errors of the layers.
pub fn paper_fading_squares(seed: u64, spread_noise: SpreadNoise) -> Result<SpreadFlow, PriorError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut store = ParamStore::new();
    let flow = fading_squares_flow(&mut store, &mut rng)?;
    let dim = FADING_SQUARES_SIDE * FADING_SQUARES_SIDE;
    let spread = SpreadConfig::paper().with_noise(spread_noise);
    SpreadFlow::new(store, flow, MeanMode::Fixed, spread, Standardizer::identity(dim), VolumeCheck::Require)
}
