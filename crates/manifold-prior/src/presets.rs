//! Named architectures of the paper's experiments and of the flow-based estimator.

use autodiff_lite::ParamStore;
use flow_core::{Activation, Coupling, CouplingConfig, CouplingTransform, Flow, FlowError, LogScale, Parity};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::PriorError;
use crate::model::{SpreadConfig, SpreadFlow, StandardFlow, VolumeCheck};
use crate::prior::MeanMode;
use crate::scaling::Standardizer;

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
    spread_preset(2, 4, seed, SpreadConfig::default(), Standardizer::identity(2))
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
    let flow =
        coupling_flow(&mut store, 2, 2, transform, &PAPER_HIDDEN, PAPER_ACTIVATION, &mut rng).map_err(flow_err)?;
    Ok(StandardFlow::new(store, flow, Standardizer::identity(2)))
}

/// A spread flow of `n_layers` additive couplings alternating the split, paper-style
/// conditioners, fixed zero mean (the preset of the graph-manifold experiments uses 6 layers).
///
/// # Errors
/// [`PriorError::Config`] for `dim < 2` or a non-positive spread.
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
    )
    .map_err(flow_err)?;
    SpreadFlow::new(store, flow, MeanMode::Fixed, spread, scaler, VolumeCheck::Require)
}

fn flow_err(e: FlowError) -> PriorError {
    PriorError::Config(e.to_string())
}
