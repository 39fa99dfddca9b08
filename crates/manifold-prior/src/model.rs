//! The two models: [`SpreadFlow`] (volume-preserving flow + manifold prior, trained with the
//! spread-KL objective) and [`StandardFlow`] (any flow + `N(0, I)`, maximum likelihood), and
//! the [`Model`] seam the trainer drives.

use autodiff_lite::{NoiseTerm, ParamStore, Tape, Var};
use faer::{Mat, MatRef};
use flow_core::{Bijector, Flow, LogDet};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::PriorError;
use crate::average::{MovingAverage, ParamSource, ParamValues};
use crate::prior::{
    Density, DiagonalGaussian, MeanMode, Prior, Sampler, Spectrum, StandardNormal, TriangularGaussian, standard_normal,
};
use crate::readoff::{IntrinsicDimension, ReadoffConfig, RuleCounts};
use crate::scaling::Standardizer;
use crate::spread::{SpreadConfig, SpreadNoise, SpreadPlacement};

/// Whether a non-volume-preserving flow may be used with the spread objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VolumeCheck {
    /// Refuse flows that are not volume-preserving (the objective drops the entropy term,
    /// which is only valid for them).
    #[default]
    Require,
    /// Accept any flow (the log-determinant is then added to the objective, but the dropped
    /// entropy term makes the objective biased: for experiments only).
    Override,
}

/// What the trainer updates: the parameters, and the moving average of some of them if the
/// model keeps one.
#[derive(Debug)]
pub struct TrainableState<'a> {
    /// Every parameter.
    pub params: &'a mut ParamStore,
    /// The moving average the trainer updates after each step, if any.
    pub average: Option<&'a mut MovingAverage>,
}

/// The eigenvalues of a learned prior's covariance, largest first.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorEigenvalues {
    /// Under the current parameters.
    pub current: Vec<f64>,
    /// Under the moving average (empty when there is none or it has no spectrum).
    pub average: Vec<f64>,
}

/// What the trainer needs from a model: its dimension, the loss of a batch, and its
/// trainable state. A model with a learned prior also reports the prior's spectrum, which the
/// trainer records along the run.
pub trait Model {
    /// The data dimension `D`.
    fn dim(&self) -> usize;

    /// Record the mean loss of a batch (`n x D`, in data units: the model standardises it) on
    /// `tape`; `rng` draws any noise.
    ///
    /// # Errors
    /// [`PriorError`] when the prior cannot be evaluated (e.g. a singular covariance).
    fn record_loss(&self, tape: &mut Tape, batch: MatRef<'_, f64>, rng: &mut ChaCha8Rng) -> Result<Var, PriorError>;

    /// The parameters and moving average, for the optimiser's update.
    fn state_mut(&mut self) -> TrainableState<'_>;

    /// The eigenvalues of the learned prior's covariance (`None` for a fixed prior).
    fn prior_eigenvalues(&self) -> Option<PriorEigenvalues> {
        None
    }
}

/// Volume-preserving flow `g` + manifold prior `N(mu, A A^T)`, trained with the spread-KL
/// objective: with `S = A A^T + s^2 I`, `y = g(x) + eps - mu`,
/// `loss(x) = 0.5 (D ln(2 pi) + ln det S + y^T S^-1 y) - ln|det dg/dx|`, averaged over the batch
/// (the last term is 0 for a volume-preserving `g`).
#[derive(Debug)]
pub struct SpreadFlow {
    store: ParamStore,
    average: MovingAverage,
    flow: Flow,
    prior: TriangularGaussian,
    spread: SpreadConfig,
    standardizer: Standardizer,
}

impl SpreadFlow {
    /// Assemble a spread flow from a flow whose parameters are in `store`; registers the prior
    /// as `prior.a` (and `prior.mu`), whose moving average the trainer keeps.
    ///
    /// # Errors
    /// [`PriorError::NotVolumePreserving`] for a flow that is not volume-preserving, unless
    /// `check` is [`VolumeCheck::Override`]; invalid `spread` settings (see
    /// [`SpreadConfig::validate`]).
    pub fn new(
        mut store: ParamStore,
        flow: Flow,
        mean: MeanMode,
        spread: SpreadConfig,
        standardizer: Standardizer,
        check: VolumeCheck,
    ) -> Result<Self, PriorError> {
        if check == VolumeCheck::Require && !flow.is_volume_preserving() {
            return Err(PriorError::NotVolumePreserving);
        }
        spread.validate()?;
        let prior = TriangularGaussian::new(&mut store, "prior", flow.dim(), mean);
        let average = MovingAverage::new(&store, &prior.params());
        Ok(Self { store, average, flow, prior, spread, standardizer })
    }

    /// The dimension `D`.
    pub fn dim(&self) -> usize {
        self.flow.dim()
    }

    /// The parameters of the flow and the prior.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }

    /// The parameters, mutably (e.g. to set a value before a test).
    pub fn store_mut(&mut self) -> &mut ParamStore {
        &mut self.store
    }

    /// The moving average of the prior's parameters.
    pub fn average(&self) -> &MovingAverage {
        &self.average
    }

    /// The flow `g` (data to latent).
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// The manifold prior.
    pub fn prior(&self) -> &TriangularGaussian {
        &self.prior
    }

    /// The spread of the objective.
    pub fn spread(&self) -> SpreadConfig {
        self.spread
    }

    /// The input standardisation, undone when sampling.
    pub fn standardizer(&self) -> &Standardizer {
        &self.standardizer
    }

    /// The parameter values of `source`: the current ones, or the moving average of the prior
    /// with the current flow.
    pub fn params(&self, source: ParamSource) -> Box<dyn ParamValues + '_> {
        match source {
            ParamSource::Current => Box::new(&self.store),
            ParamSource::Average => Box::new(self.average.over(&self.store)),
        }
    }

    /// `z = g(standardise(x))`.
    pub fn encode(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        self.flow.encode(&self.store, self.standardizer.transform(x).as_ref()).0
    }

    /// `n` samples `x = unstandardise(f(mu + A e))` with the current parameters
    /// (no spread noise).
    pub fn sample(&self, n: usize, seed: u64) -> Mat<f64> {
        self.sample_with(n, seed, ParamSource::Current)
    }

    /// `n` samples `x = unstandardise(f(mu + A e))` with the prior's parameters `mu`, `A` from
    /// `source` (the flow is always the current one: only the prior is averaged). The latent
    /// draws are those of [`SpreadFlow::sample_latent`] with the same seed.
    pub fn sample_with(&self, n: usize, seed: u64, source: ParamSource) -> Mat<f64> {
        let z = self.sample_latent(n, seed, source);
        self.standardizer.inverse(self.flow.decode(&self.store, z.as_ref()).0.as_ref())
    }

    /// `n` samples of the prior `N(mu, A A^T)` in latent space.
    pub fn sample_latent(&self, n: usize, seed: u64, source: ParamSource) -> Mat<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        self.prior.sample(&*self.params(source), n, &mut rng)
    }

    /// `log p_s(x)`: the density of the spread model at standardised `x`,
    /// `log N(g(x); mu, A A^T + s^2 I)` plus the flow's log-determinant (0 when
    /// volume-preserving). Densities are in standardised units.
    ///
    /// # Errors
    /// [`PriorError::Covariance`] if the spread covariance cannot be factorised.
    pub fn log_prob(&self, x: MatRef<'_, f64>) -> Result<Vec<f64>, PriorError> {
        let mut tape = Tape::no_grad();
        let u = self.standardizer.transform(x);
        let xv = tape.leaf(u.as_ref());
        let (z, ld) = self.flow.forward(&mut tape, &self.store, xv);
        let lp = self.prior.log_prob(&mut tape, &self.store, z, self.spread.spread)?;
        let lds = ld.to_vec(&tape, x.nrows());
        Ok((0..x.nrows()).map(|i| tape.value(lp)[(i, 0)] + lds[i]).collect())
    }

    /// The intrinsic-dimension read-off: spectra of `A A^T` (current and moving average) and
    /// of the covariance of the encoded data, with the rules on each.
    ///
    /// # Errors
    /// As [`Spectrum::of`] (non-finite values).
    pub fn intrinsic_dimension(
        &self,
        data: MatRef<'_, f64>,
        config: ReadoffConfig,
    ) -> Result<IntrinsicDimension, PriorError> {
        let z = self.encode(data);
        let data_spec = Spectrum::of(covariance(z.as_ref()).as_ref())?;
        let raw = self.prior.spectrum(&self.store)?;
        let ema = self.prior.spectrum(&*self.params(ParamSource::Average))?;
        let s = self.spread.spread;
        Ok(IntrinsicDimension {
            prior_rules: RuleCounts::of(&ema.values, s, config),
            raw_prior_rules: RuleCounts::of(&raw.values, s, config),
            data_rules: RuleCounts::of(&data_spec.values, s, config),
            prior_eigenvalues: raw.values,
            ema_prior_eigenvalues: ema.values,
            data_eigenvalues: data_spec.values,
            spread: s,
            config,
        })
    }

    /// The representation of the method: `g(x) - mu` projected on the `k` leading
    /// eigenvectors of the moving-average `A A^T` (`n x k`).
    ///
    /// # Errors
    /// As [`Spectrum::of`]; [`PriorError::ProjectionTooWide`] for `k > D`.
    pub fn project(&self, x: MatRef<'_, f64>, k: usize) -> Result<Mat<f64>, PriorError> {
        if k > self.dim() {
            return Err(PriorError::ProjectionTooWide { k, dim: self.dim() });
        }
        let z = self.encode(x);
        let averaged = self.params(ParamSource::Average);
        let mu = self.prior.mean(&*averaged);
        let spec = self.prior.spectrum(&*averaged)?;
        Ok(Mat::from_fn(z.nrows(), k, |i, c| {
            (0..self.dim()).map(|j| (z[(i, j)] - mu[(0, j)]) * spec.vectors[(j, c)]).sum()
        }))
    }

    /// Reassemble a model from its parts (loading a model folder).
    pub(crate) fn from_parts(
        store: ParamStore,
        average: MovingAverage,
        flow: Flow,
        prior: TriangularGaussian,
        spread: SpreadConfig,
        standardizer: Standardizer,
    ) -> Self {
        Self { store, average, flow, prior, spread, standardizer }
    }

    /// Data-dependent initialisation of the flow's layers (ActNorm) from a batch in data
    /// units.
    pub fn init_from_data(&mut self, x: MatRef<'_, f64>) {
        let u = self.standardizer.transform(x);
        self.flow.init_from_data(&mut self.store, u.as_ref());
    }

    /// The spread latent codes of a standardised batch, `z = g(x) + eps` (latent placement)
    /// or `z = g(x + eps)` (data placement; no draw for [`SpreadNoise::Expected`]), and
    /// `log|det dg/dx|`.
    fn record_codes(&self, tape: &mut Tape, batch: MatRef<'_, f64>, rng: &mut ChaCha8Rng) -> (Var, LogDet) {
        let s = self.spread.spread;
        let (n, d) = (batch.nrows(), batch.ncols());
        let mut noise = |tape: &mut Tape, v: Var| match self.spread.spread_noise {
            SpreadNoise::Random => {
                let eps = tape.leaf_from_fn(n, d, |_, _| s * standard_normal(rng));
                tape.add(v, eps)
            }
            SpreadNoise::ConstShift => tape.add_scalar(v, s),
            SpreadNoise::Expected => v,
        };
        let x = tape.leaf(batch);
        match self.spread.placement {
            SpreadPlacement::Latent => {
                let (z, ld) = self.flow.forward(tape, &self.store, x);
                (noise(tape, z), ld)
            }
            SpreadPlacement::Data => {
                let noisy = noise(tape, x);
                self.flow.forward(tape, &self.store, noisy)
            }
        }
    }
}

impl Model for SpreadFlow {
    fn dim(&self) -> usize {
        self.flow.dim()
    }

    /// `-(mean_i log N(z_i; mu, A A^T + s^2 I) + mean_i log|det J_i|)` of the standardised
    /// batch (the expectation over the noise in closed form for [`SpreadNoise::Expected`]),
    /// with `S = A A^T + s^2 I` factorised while the flow encodes the batch
    /// ([`Tape::factorize_while_recording`]).
    fn record_loss(&self, tape: &mut Tape, batch: MatRef<'_, f64>, rng: &mut ChaCha8Rng) -> Result<Var, PriorError> {
        let input = self.standardizer.transform(batch);
        let noise = match self.spread.spread_noise {
            SpreadNoise::Expected => NoiseTerm::Expected,
            SpreadNoise::Random | SpreadNoise::ConstShift => NoiseTerm::None,
        };
        let gaussian = self.prior.record_gaussian(tape, &self.store, self.spread.spread, noise);
        let (z, log_det) =
            tape.factorize_while_recording(&gaussian, |tape| self.record_codes(tape, input.as_ref(), rng));
        let lp = tape.gaussian_log_prob(z, &gaussian)?;
        Ok(negative_mean_log_likelihood(tape, lp, log_det))
    }

    fn state_mut(&mut self) -> TrainableState<'_> {
        TrainableState { params: &mut self.store, average: Some(&mut self.average) }
    }

    fn prior_eigenvalues(&self) -> Option<PriorEigenvalues> {
        let current = self.prior.spectrum(&self.store).ok()?.values;
        let average = self.prior.spectrum(&*self.params(ParamSource::Average)).map(|s| s.values).unwrap_or_default();
        Some(PriorEigenvalues { current, average })
    }
}

/// `-(mean_i log p(z_i) + mean_i log|det J_i|)`.
fn negative_mean_log_likelihood(tape: &mut Tape, log_prob: Var, log_det: LogDet) -> Var {
    let total = match log_det {
        LogDet::Zero => log_prob,
        LogDet::PerSample(ld) => tape.add(log_prob, ld),
    };
    let mean = tape.mean(total);
    tape.neg(mean)
}

/// The prior of a [`StandardFlow`]: fixed in form, with a density everywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BasePrior {
    /// `N(0, I)`.
    Standard(StandardNormal),
    /// `N(mu, diag(exp(2 l)))`, learned.
    Diagonal(DiagonalGaussian),
}

impl BasePrior {
    fn density(&self) -> &dyn Density {
        match self {
            BasePrior::Standard(p) => p,
            BasePrior::Diagonal(p) => p,
        }
    }

    fn sampler(&self) -> &dyn Sampler {
        match self {
            BasePrior::Standard(p) => p,
            BasePrior::Diagonal(p) => p,
        }
    }
}

/// Any flow + a prior with a density everywhere (`N(0, I)`, or a learned diagonal Gaussian),
/// trained by maximum likelihood (the baseline): `loss(x) = -log p(g(x)) - log|det dg/dx|`.
#[derive(Debug)]
pub struct StandardFlow {
    store: ParamStore,
    flow: Flow,
    prior: BasePrior,
    standardizer: Standardizer,
}

impl StandardFlow {
    /// Assemble the baseline (prior `N(0, I)`) from a flow whose parameters are in `store`.
    pub fn new(store: ParamStore, flow: Flow, standardizer: Standardizer) -> Self {
        let prior = BasePrior::Standard(StandardNormal::new(flow.dim()));
        Self { store, flow, prior, standardizer }
    }

    /// A flow with a learned diagonal Gaussian prior, registered in `store` as
    /// `prior.log_std` (and `prior.mu` when the mean is learned).
    pub fn with_diagonal_prior(mut store: ParamStore, flow: Flow, mean: MeanMode, standardizer: Standardizer) -> Self {
        let prior = BasePrior::Diagonal(DiagonalGaussian::new(&mut store, "prior", flow.dim(), mean));
        Self { store, flow, prior, standardizer }
    }

    /// Reassemble a model from its parts (loading).
    pub(crate) fn from_parts(store: ParamStore, flow: Flow, prior: BasePrior, standardizer: Standardizer) -> Self {
        Self { store, flow, prior, standardizer }
    }

    /// The prior.
    pub fn prior(&self) -> &BasePrior {
        &self.prior
    }

    /// Data-dependent initialisation of the flow's layers (ActNorm) from a batch in data
    /// units.
    pub fn init_from_data(&mut self, x: MatRef<'_, f64>) {
        let u = self.standardizer.transform(x);
        self.flow.init_from_data(&mut self.store, u.as_ref());
    }

    /// The parameters of the flow.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }

    /// The flow `g` (data to latent).
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// The input standardisation, undone when sampling.
    pub fn standardizer(&self) -> &Standardizer {
        &self.standardizer
    }

    /// `z = g(standardise(x))`.
    pub fn encode(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        self.flow.encode(&self.store, self.standardizer.transform(x).as_ref()).0
    }

    /// `n` samples `x = unstandardise(f(z))`, `z` from the prior.
    pub fn sample(&self, n: usize, seed: u64) -> Mat<f64> {
        let z = self.sample_latent(n, seed);
        self.standardizer.inverse(self.flow.decode(&self.store, z.as_ref()).0.as_ref())
    }

    /// `n` samples of the prior in latent space.
    pub fn sample_latent(&self, n: usize, seed: u64) -> Mat<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        self.prior.sampler().sample(&self.store, n, &mut rng)
    }

    /// `log p(x)` in standardised units: `log N(g(x); 0, I) + log|det dg/dx|`.
    pub fn log_prob(&self, x: MatRef<'_, f64>) -> Vec<f64> {
        let mut tape = Tape::no_grad();
        let u = self.standardizer.transform(x);
        let xv = tape.leaf(u.as_ref());
        let (z, ld) = self.flow.forward(&mut tape, &self.store, xv);
        let lp = self.record_log_prob(&mut tape, z);
        let lds = ld.to_vec(&tape, x.nrows());
        (0..x.nrows()).map(|i| tape.value(lp)[(i, 0)] + lds[i]).collect()
    }

    /// `log p(z)` per row (the base priors always have a density).
    fn record_log_prob(&self, tape: &mut Tape, z: Var) -> Var {
        match self.prior.density().log_prob(tape, &self.store, z, 0.0) {
            Ok(lp) => lp,
            Err(_) => unreachable!("the base priors always have a density"),
        }
    }
}

impl Model for StandardFlow {
    fn dim(&self) -> usize {
        self.flow.dim()
    }

    fn record_loss(&self, tape: &mut Tape, batch: MatRef<'_, f64>, _rng: &mut ChaCha8Rng) -> Result<Var, PriorError> {
        let input = self.standardizer.transform(batch);
        let x = tape.leaf(input.as_ref());
        let (z, log_det) = self.flow.forward(tape, &self.store, x);
        let lp = self.record_log_prob(tape, z);
        Ok(negative_mean_log_likelihood(tape, lp, log_det))
    }

    fn state_mut(&mut self) -> TrainableState<'_> {
        TrainableState { params: &mut self.store, average: None }
    }
}

/// The mean of each column of `z` (the mean row); zeros for an empty `z`.
pub(crate) fn column_means(z: MatRef<'_, f64>) -> Vec<f64> {
    let n = z.nrows().max(1) as f64;
    (0..z.ncols()).map(|j| z.col(j).iter().sum::<f64>() / n).collect()
}

/// The covariance `(Z - mean)^T (Z - mean) / n` of the rows of `z`.
pub fn covariance(z: MatRef<'_, f64>) -> Mat<f64> {
    let (n, d) = (z.nrows(), z.ncols());
    let mean = column_means(z);
    let centred = Mat::from_fn(n, d, |i, j| z[(i, j)] - mean[j]);
    let mut cov = centred.transpose() * &centred;
    cov *= faer::Scale(1.0 / n.max(1) as f64);
    cov
}
