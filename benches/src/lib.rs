//! Shared set-up for the criterion suite (`benches/benches/suite.rs`) and the step profile
//! (`examples/step_profile.rs`): seeded inputs and the MNIST-scale image model.

use faer::Mat;
use flow_core::ImageShape;
use manifold_prior::{
    Architecture, FitConfig, ImageFlow, MeanMode, PriorConfig, PriorError, SpreadConfig, SpreadFlow, Standardizer,
    TrainConfig, spread_model,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The seeded generator every benchmark input is drawn from.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The MNIST-scale image step of issue 19 (goal 2): side of the images (`28`).
pub const IMAGE784_SIDE: usize = 28;
/// Batch of the MNIST-scale image step (`64`, the `mnist` protocol's).
pub const IMAGE784_BATCH: usize = 64;

/// The MNIST-scale image model of issue 19: the paper's image family (method.md section 5;
/// [`ImageFlow::paper`] on `1 x 28 x 28`: squeeze to `4 x 14 x 14`, three convolutional
/// couplings, squeeze to `16 x 7 x 7`, three more, then two dense mean-centred affine
/// couplings on the flat 784-vector) with the manifold prior `N(mu, A A^T)`, `A` a dense
/// `784 x 784` lower-triangular parameter, learned mean, spread `s = 0.01` with random
/// noise on the latent codes; no rescaling (pixels in `[0, 1]`).
///
/// # Errors
/// Never for this architecture; the `Result` carries construction errors of the layers.
pub fn image784_model(seed: u64) -> Result<SpreadFlow, PriorError> {
    let side = IMAGE784_SIDE;
    let config = FitConfig {
        architecture: Architecture::Image(ImageFlow::paper(ImageShape::new(1, side, side))),
        prior: PriorConfig::Spread { spread: SpreadConfig::paper(), mean: MeanMode::Learned },
        training: image784_train_config(),
        ..FitConfig::paper_fading_squares()
    };
    spread_model(&config.with_seed(seed), Standardizer::identity(side * side))
}

/// The optimiser settings of the MNIST-scale step: fading-squares' (Adam lr 3e-4, coupled
/// L2 weight decay 0.5, moving average of the prior) at batch [`IMAGE784_BATCH`].
pub fn image784_train_config() -> TrainConfig {
    TrainConfig { batch_size: IMAGE784_BATCH, ..TrainConfig::paper_fading_squares() }
}

/// A batch of `n` random images for the MNIST-scale step: pixels uniform on `[0, 1)`, as the
/// PyTorch reference (`benches/peers/nice784_step_timing_torch.py`) draws its data; the
/// step's cost does not depend on the pixel values.
pub fn image784_batch(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
    let d = IMAGE784_SIDE * IMAGE784_SIDE;
    Mat::from_fn(n, d, |_, _| rng.random::<f64>())
}

/// The snippets of `docs/which-crate.md`, run as doctests against the library crates this
/// crate depends on directly, as a user's project would.
#[cfg(doctest)]
#[doc = include_str!("../../docs/which-crate.md")]
pub struct WhichCrateSnippets;
