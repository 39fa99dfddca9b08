//! [`FitConfig`]: everything that defines a fitted model, in one serialisable value: how the
//! data are prepared, the flow's architecture, the prior, and the training. It is the single
//! source of truth of the command line (`mflow fit`), the model file (`model.json`) and the
//! experiments, whose paper settings are its named presets.

use autodiff_lite::ParamStore;
use flow_core::image::{random_channel_permutation, squeeze_2x2};
use flow_core::{
    ActNorm, Activation, ConvCoupling, ConvCouplingConfig, Coupling, CouplingConfig, CouplingTransform, Flow,
    FlowError, ImageShape, LogScale, LuInit, LuLinear, Parity, Permutation,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::PriorError;
use crate::fit::FlowModel;
use crate::model::{SpreadFlow, StandardFlow, VolumeCheck};
use crate::prior::MeanMode;
use crate::scaling::{ScalingMode, Standardizer};
use crate::spread::{SpreadConfig, SpreadNoise, SpreadPlacement};
use crate::trainer::{LrSchedule, TrainConfig};

/// Everything that defines a fitted model. Serialised (kebab-case JSON) into every model
/// folder's `model.json`; a JSON file of this shape is what `mflow fit --config` reads.
///
/// ```
/// use manifold_prior::FitConfig;
///
/// let config = FitConfig::preset("paper-fig1").unwrap();
/// let json = serde_json::to_string(&config).unwrap();
/// assert_eq!(serde_json::from_str::<FitConfig>(&json).unwrap(), config);
/// assert_eq!(config.training.steps, 10_000);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FitConfig {
    /// How the data are prepared.
    pub data: DataConfig,
    /// The flow `g` (data to latent).
    pub architecture: Architecture,
    /// The latent prior and its objective.
    pub prior: PriorConfig,
    /// Optimiser and schedule; its `seed` also initialises the model (weights, permutations).
    pub training: TrainConfig,
    /// Steps between two rows of `training.csv` (training loss, validation loss, eigenvalues).
    pub log_interval: usize,
}

/// How the data are prepared before training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DataConfig {
    /// Standardisation: one global scale (keeps the geometry), one per feature, or none.
    pub scaling: ScalingMode,
    /// The fraction of the rows held out for the validation loss (`0 <= f < 1`; 0: none).
    pub validation_fraction: f64,
}

/// The architecture of the flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Architecture {
    /// Couplings on vectors.
    Vector(VectorFlow),
    /// The paper's image family: squeezes, convolutional couplings, dense couplings.
    Image(ImageFlow),
}

/// A flow of couplings on vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct VectorFlow {
    /// Number of coupling layers.
    pub couplings: usize,
    /// Additive (NICE), affine, or affine with mean-centred log-scales (volume-preserving).
    pub transform: CouplingTransform,
    /// Hidden widths of the conditioner MLPs.
    pub hidden: Vec<usize>,
    /// Activation of the conditioner MLPs.
    pub activation: Activation,
    /// How the coordinates are mixed between couplings.
    pub mixing: Mixing,
    /// Whether an ActNorm layer precedes each coupling (not volume-preserving).
    pub actnorm: ActNormLayers,
}

/// How a vector flow mixes coordinates between couplings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mixing {
    /// Couplings alternate which half of the coordinates conditions the other.
    Alternate,
    /// A fixed random permutation before each coupling but the first (halves alternate too).
    Permutations,
    /// A learnable LU-factored linear map before each coupling but the first (Glow's
    /// invertible 1x1 convolution for vectors; not volume-preserving).
    Lu,
}

/// Whether a vector flow has ActNorm layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActNormLayers {
    /// None.
    None,
    /// One before each coupling, initialised from the first batch.
    BeforeEachCoupling,
}

/// The paper's image flow (method.md sections 4 and 5): `stages` times a 2 x 2 squeeze and
/// `conv_couplings` convolutional couplings with random channel permutations between them,
/// then `dense_couplings` affine couplings on the flattened image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ImageFlow {
    /// The image: `channels x height x width`, flattened channel-major in each row.
    pub image: ImageShape,
    /// Squeeze stages (each halves the height and width, so both must be divisible by
    /// `2^stages`).
    pub stages: usize,
    /// Convolutional couplings per stage.
    pub conv_couplings: usize,
    /// Hidden channels of the convolutional conditioners.
    pub conv_hidden: usize,
    /// Dense couplings on the flattened image.
    pub dense_couplings: usize,
    /// Hidden widths of the dense couplings' MLPs.
    pub dense_hidden: Vec<usize>,
    /// Activation of the dense couplings' MLPs.
    pub dense_activation: Activation,
}

/// The latent prior and the objective it comes with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum PriorConfig {
    /// `N(0, I)`, trained by maximum likelihood (any flow).
    Standard,
    /// `N(mu, diag(exp(2 l)))` with learnable log-standard-deviations, maximum likelihood.
    Diagonal {
        /// Whether the mean is learned.
        mean: MeanMode,
    },
    /// The manifold prior `N(mu, A A^T)` with the spread-KL objective (volume-preserving flows).
    Spread {
        /// The spread scale, noise mode and placement.
        spread: SpreadConfig,
        /// Whether the mean is learned.
        mean: MeanMode,
    },
}

impl FitConfig {
    /// The names of the presets, for messages and `--help`.
    pub const PRESETS: [&'static str; 5] = ["default", "fig1", "paper-fig1", "paper-fading-squares", "id-default"];

    /// A named preset: `default` ([`FitConfig::default_for_data`]), `fig1`
    /// ([`FitConfig::fig1`]), `paper-fig1` ([`FitConfig::paper_fig1`]),
    /// `paper-fading-squares` ([`FitConfig::paper_fading_squares`]) or `id-default`
    /// ([`FitConfig::id_default`]).
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "default" => Some(Self::default_for_data()),
            "fig1" => Some(Self::fig1()),
            "paper-fig1" => Some(Self::paper_fig1()),
            "paper-fading-squares" => Some(Self::paper_fading_squares()),
            "id-default" => Some(Self::id_default()),
            _ => None,
        }
    }

    /// The spread flow for a user's own vector data: one global scale (the spread is in
    /// standardised units), 10% of the rows held out, 6 additive couplings with the paper's
    /// conditioners, the manifold prior with `s = 0.01` and random noise on the latent codes
    /// (the method), Adam lr 1e-3 with a x0.1 step decay over the last 20% of 10k steps, batch
    /// 128. (On fig1 the step decay and [`FitConfig::fig1`]'s half-cosine decay did equally
    /// well, docs/fig1.md; the real-image runs of docs/results were measured with this one.)
    pub fn default_for_data() -> Self {
        let mut config = Self {
            data: DataConfig { scaling: ScalingMode::Global, validation_fraction: 0.1 },
            architecture: Architecture::Vector(VectorFlow::paper(6, CouplingTransform::Additive)),
            ..Self::paper_fig1()
        };
        config.training.lr_schedule = LrSchedule::StepTail { fraction: 0.2, factor: 0.1 };
        config
    }

    /// fig1's robust setting, the default of `repro fig1`: [`FitConfig::paper_fig1`] with a
    /// half-cosine decay of the learning rate over the last 20% of the steps,
    /// `lr(t) = 0.5 (1 + cos(pi u)) lr` for `u` from 0 to 1, which puts the samples on the
    /// curve in every seed where the constant rate does not (docs/fig1.md, "Choosing the
    /// default": chosen on seeds 100..109, judged on 0..9).
    pub fn fig1() -> Self {
        let mut config = Self::paper_fig1();
        config.training.lr_schedule = LrSchedule::CosineTail { fraction: 0.2 };
        config
    }

    /// The paper's fig1 spread flow (method.md section 3): 4 additive couplings alternating
    /// the halves, MLPs `k -> 24 -> 24 -> 24 -> k` with LeakyReLU(0.2), the manifold prior
    /// with `s = 0.01`, random noise on the latent codes, mean fixed at 0; Adam lr 1e-3, batch
    /// 128, 10k steps, constant rate; no rescaling (the toy is at unit scale).
    pub fn paper_fig1() -> Self {
        Self {
            data: DataConfig { scaling: ScalingMode::Identity, validation_fraction: 0.0 },
            architecture: Architecture::Vector(VectorFlow::paper(4, CouplingTransform::Additive)),
            prior: PriorConfig::Spread { spread: SpreadConfig::paper(), mean: MeanMode::Fixed },
            training: TrainConfig::paper_fig1(),
            log_interval: 100,
        }
    }

    /// The paper's fading-squares model (method.md section 4) on `1 x 32 x 32` images: two
    /// squeeze stages of three convolutional couplings, two dense mean-centred affine
    /// couplings, the manifold prior with `s = 0.01` and the released code's constant-shift
    /// noise; Adam lr 3e-4 with coupled L2 weight decay 0.5, batch 100, 5,000 steps.
    pub fn paper_fading_squares() -> Self {
        Self {
            data: DataConfig { scaling: ScalingMode::Identity, validation_fraction: 0.0 },
            architecture: Architecture::Image(ImageFlow::paper(ImageShape::new(1, 32, 32))),
            prior: PriorConfig::Spread {
                spread: SpreadConfig::paper().with_noise(SpreadNoise::ConstShift),
                mean: MeanMode::Fixed,
            },
            training: TrainConfig::paper_fading_squares(),
            log_interval: 10,
        }
    }

    /// The flow-based intrinsic-dimension estimator's default (the spread study's finding,
    /// docs/spread-study.md): 6 additive couplings with the paper's conditioners, one global
    /// scale, noise `s = 0.03` added to the standardised data, fig1's optimiser.
    pub fn id_default() -> Self {
        Self {
            data: DataConfig { scaling: ScalingMode::Global, validation_fraction: 0.0 },
            architecture: Architecture::Vector(VectorFlow::paper(6, CouplingTransform::Additive)),
            prior: PriorConfig::Spread {
                spread: SpreadConfig {
                    spread: 0.03,
                    spread_noise: SpreadNoise::Random,
                    placement: SpreadPlacement::Data,
                },
                mean: MeanMode::Fixed,
            },
            training: TrainConfig::paper_fig1(),
            log_interval: 100,
        }
    }

    /// The same configuration with another seed (of the initialisation and the training).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.training.seed = seed;
        self
    }

    /// The same configuration with another number of steps.
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.training.steps = steps;
        self
    }

    /// Check the settings that can be checked without data.
    ///
    /// # Errors
    /// [`PriorError::InvalidSetting`] naming the setting; invalid spread settings;
    /// [`PriorError::NotVolumePreserving`] for the spread prior on a flow that is not.
    pub fn validate(&self) -> Result<(), PriorError> {
        let check = |ok: bool, setting: &'static str, value: String, expected: &'static str| {
            if ok { Ok(()) } else { Err(PriorError::InvalidSetting { setting, value, expected }) }
        };
        let f = self.data.validation_fraction;
        check((0.0..1.0).contains(&f), "data.validation-fraction", f.to_string(), "a fraction in [0, 1)")?;
        let t = &self.training;
        check(t.steps > 0, "training.steps", t.steps.to_string(), "at least 1")?;
        check(t.batch_size > 0, "training.batch-size", t.batch_size.to_string(), "at least 1")?;
        check(t.lr > 0.0 && t.lr.is_finite(), "training.lr", t.lr.to_string(), "a positive number")?;
        check((0.0..1.0).contains(&t.ema_decay), "training.ema-decay", t.ema_decay.to_string(), "a decay in [0, 1)")?;
        check(self.log_interval > 0, "log-interval", self.log_interval.to_string(), "at least 1")?;
        match &self.architecture {
            Architecture::Vector(v) => {
                check(v.couplings > 0, "architecture.couplings", v.couplings.to_string(), "at least 1")?;
            }
            Architecture::Image(i) => i.check()?,
        }
        if let PriorConfig::Spread { spread, .. } = self.prior {
            spread.validate()?;
            if !self.volume_preserving() {
                return Err(PriorError::NotVolumePreserving);
            }
        }
        Ok(())
    }

    /// Whether the configured flow is volume-preserving (the spread objective needs it).
    pub fn volume_preserving(&self) -> bool {
        let centred = |t: CouplingTransform| match t {
            CouplingTransform::Additive => true,
            CouplingTransform::Affine(s) => s.is_centred(),
        };
        match &self.architecture {
            Architecture::Vector(v) => {
                centred(v.transform) && v.mixing != Mixing::Lu && v.actnorm == ActNormLayers::None
            }
            // Convolutional couplings are mean-centred; the dense ones are too.
            Architecture::Image(_) => true,
        }
    }

    /// The data dimension the architecture expects (`None` for vector flows, which take it
    /// from the data).
    pub fn image_len(&self) -> Option<usize> {
        match &self.architecture {
            Architecture::Image(i) => Some(i.image.len()),
            Architecture::Vector(_) => None,
        }
    }

    /// Build the flow for data of dimension `dim`, its parameters registered in `store` and
    /// drawn from `rng` (the same seed gives the same flow).
    ///
    /// # Errors
    /// [`PriorError::Flow`] for an architecture that does not fit `dim`.
    pub fn build_flow(&self, store: &mut ParamStore, dim: usize, rng: &mut ChaCha8Rng) -> Result<Flow, PriorError> {
        match &self.architecture {
            Architecture::Vector(v) => Ok(v.build(store, dim, rng)?),
            Architecture::Image(i) => {
                if i.image.len() != dim {
                    return Err(PriorError::DimensionMismatch { expected: i.image.len(), got: dim });
                }
                Ok(i.build(store, rng)?)
            }
        }
    }

    /// A random-number generator for the model's initialisation, from the training seed.
    pub fn init_rng(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.training.seed)
    }

    /// The model this configuration describes on data standardised by `standardizer` (whose
    /// length is the data dimension), initialised from the training seed: the flow's
    /// parameters first, then the prior's.
    ///
    /// # Errors
    /// As [`FitConfig::validate`], and [`PriorError::Flow`] or
    /// [`PriorError::DimensionMismatch`] for an architecture that does not fit the dimension.
    pub fn build_model(&self, standardizer: Standardizer) -> Result<FlowModel, PriorError> {
        self.validate()?;
        let dim = standardizer.mean.len();
        let mut rng = self.init_rng();
        let mut store = ParamStore::new();
        let flow = self.build_flow(&mut store, dim, &mut rng)?;
        Ok(match self.prior {
            PriorConfig::Standard => FlowModel::Standard(StandardFlow::new(store, flow, standardizer)),
            PriorConfig::Diagonal { mean } => {
                FlowModel::Standard(StandardFlow::with_diagonal_prior(store, flow, mean, standardizer))
            }
            PriorConfig::Spread { spread, mean } => {
                FlowModel::Spread(SpreadFlow::new(store, flow, mean, spread, standardizer, VolumeCheck::Require)?)
            }
        })
    }
}

impl VectorFlow {
    /// `couplings` couplings of `transform` with the paper's conditioners (MLPs
    /// `k -> 24 -> 24 -> 24 -> k`, LeakyReLU(0.2)), alternating halves, no ActNorm.
    pub fn paper(couplings: usize, transform: CouplingTransform) -> Self {
        Self {
            couplings,
            transform,
            hidden: crate::presets::PAPER_HIDDEN.to_vec(),
            activation: crate::presets::PAPER_ACTIVATION,
            mixing: Mixing::Alternate,
            actnorm: ActNormLayers::None,
        }
    }

    /// The flow on `R^dim`: for each coupling `k`, optionally an ActNorm (`actnorm.<k>`),
    /// the mixing layer (`perm.<k>` or `lu.<k>`, from the second coupling on), and the
    /// coupling (`coupling.<k>`), halves alternating with `k`.
    ///
    /// # Errors
    /// [`FlowError::Config`] for `dim < 2`.
    pub fn build(&self, store: &mut ParamStore, dim: usize, rng: &mut ChaCha8Rng) -> Result<Flow, FlowError> {
        let mut flow = Flow::new(dim);
        for k in 0..self.couplings {
            if self.actnorm == ActNormLayers::BeforeEachCoupling {
                flow.push(ActNorm::new(store, &format!("actnorm.{k}"), dim)?)?;
            }
            if k > 0 {
                match self.mixing {
                    Mixing::Alternate => {}
                    Mixing::Permutations => {
                        flow.push(Permutation::random(dim, rng))?;
                    }
                    Mixing::Lu => {
                        flow.push(LuLinear::new(store, &format!("lu.{k}"), dim, LuInit::RandomOrthogonal, rng)?)?;
                    }
                }
            }
            let config =
                CouplingConfig::halves(dim, Parity::alternating(k), self.transform, &self.hidden, self.activation);
            flow.push(Coupling::new(store, &format!("coupling.{k}"), config, rng)?)?;
        }
        Ok(flow)
    }
}

impl ImageFlow {
    /// The paper's family on images of `image`: 2 stages of 3 convolutional couplings with 16
    /// hidden channels, 2 dense couplings with MLPs `D/2 -> 24 -> 24 -> 24 -> D/2`,
    /// LeakyReLU(0.2).
    pub fn paper(image: ImageShape) -> Self {
        Self {
            image,
            stages: 2,
            conv_couplings: 3,
            conv_hidden: 16,
            dense_couplings: 2,
            dense_hidden: crate::presets::PAPER_HIDDEN.to_vec(),
            dense_activation: crate::presets::PAPER_ACTIVATION,
        }
    }

    fn check(&self) -> Result<(), PriorError> {
        let side = 1usize.checked_shl(self.stages as u32).unwrap_or(0);
        let ImageShape { channels, height, width } = self.image;
        let ok = channels > 0 && side > 0 && height > 0 && width > 0 && height % side == 0 && width % side == 0;
        if ok {
            return Ok(());
        }
        Err(PriorError::InvalidSetting {
            setting: "architecture.image",
            value: format!("{channels}x{height}x{width} with {} squeeze stages", self.stages),
            expected: "height and width divisible by 2^stages",
        })
    }

    /// The flow (method.md section 4): per stage a squeeze then `conv_couplings` convolutional
    /// couplings (`stage<s>.coupling<j>`) with a random channel permutation before each but
    /// the first; then `dense_couplings` mean-centred affine couplings (`mlp.coupling<j>`)
    /// alternating halves of the flattened image.
    ///
    /// # Errors
    /// [`FlowError::Config`] for an image the squeezes or couplings cannot take.
    pub fn build(&self, store: &mut ParamStore, rng: &mut ChaCha8Rng) -> Result<Flow, FlowError> {
        let mut flow = Flow::new(self.image.len());
        let mut shape = self.image;
        for stage in 0..self.stages {
            let (squeeze, squeezed) = squeeze_2x2(shape)?;
            shape = squeezed;
            flow.push(squeeze)?;
            for j in 0..self.conv_couplings {
                if j > 0 {
                    flow.push(random_channel_permutation(shape, rng)?)?;
                }
                let config = ConvCouplingConfig { hidden: self.conv_hidden, ..ConvCouplingConfig::paper(shape) };
                flow.push(ConvCoupling::new(store, &format!("stage{stage}.coupling{j}"), config, rng)?)?;
            }
        }
        for j in 0..self.dense_couplings {
            let config = CouplingConfig::halves(
                self.image.len(),
                Parity::alternating(j),
                CouplingTransform::Affine(LogScale::MeanCentred),
                &self.dense_hidden,
                self.dense_activation,
            );
            flow.push(Coupling::new(store, &format!("mlp.coupling{j}"), config, rng)?)?;
        }
        Ok(flow)
    }
}
