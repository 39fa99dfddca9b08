//! The two models: [`SpreadFlow`] (volume-preserving flow + manifold prior, trained with the
//! spread-KL objective) and [`StandardFlow`] (any flow + `N(0, I)`, maximum likelihood), and
//! the [`Model`] seam the trainer drives.

use std::path::Path;
use std::time::{Duration, Instant};

use autodiff_lite::{ParamId, ParamStore, SpreadFactor, Tape, Var};
use faer::{Mat, MatRef};
use flow_core::{Bijector, Flow, FlowSpec, LogDet};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::PriorError;
use crate::prior::{MeanMode, Prior, Spectrum, StandardNormal, TriangularGaussian, standard_normal};
use crate::readoff::{IntrinsicDimension, ReadoffConfig, RuleCounts};
use crate::scaling::Standardizer;
use flow_core::io::{load_params, load_params_into, read_json, save_params, write_json};

/// How the spread noise `eps` is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum NoiseMode {
    /// `eps ~ N(0, s^2 I)`, fresh every step (the method).
    #[default]
    Random,
    /// `eps = s` in every coordinate: the released notebook's behaviour (almost certainly a
    /// typo), kept to compare with the authors' printed losses.
    ConstShift,
    /// No draw: the loss is the expectation over `eps ~ N(0, s^2 I)` of the
    /// [`NoiseMode::Random`] loss, in closed form,
    /// `E_eps[-log N(g(x) + eps; mu, S)] = -log N(g(x); mu, S) + 0.5 s^2 tr(S^-1)`.
    /// The same objective as `Random` with no Monte-Carlo noise in its gradient. Latent
    /// placement only (the expectation through `g` has no closed form).
    Expected,
}

/// Where the spread noise enters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SpreadPlacement {
    /// `z = g(x) + eps` (the paper).
    #[default]
    Latent,
    /// `z = g(x + eps)`: exact maximum likelihood of the noisy data under the spread prior,
    /// for a volume-preserving `g`.
    Data,
}

/// The spread of the objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpreadConfig {
    /// The noise level `s` (in standardised units).
    pub s: f64,
    /// Random noise or the constant shift of the released code.
    pub noise: NoiseMode,
    /// Latent (paper) or data placement.
    pub placement: SpreadPlacement,
}

impl SpreadConfig {
    /// Check the settings.
    ///
    /// # Errors
    /// [`PriorError::Config`] for a non-positive or non-finite `s`, or
    /// [`NoiseMode::Expected`] with [`SpreadPlacement::Data`].
    pub fn validate(&self) -> Result<(), PriorError> {
        if !(self.s > 0.0 && self.s.is_finite()) {
            return Err(PriorError::Config(format!("the spread s must be positive and finite, got {}", self.s)));
        }
        if self.noise == NoiseMode::Expected && self.placement == SpreadPlacement::Data {
            return Err(PriorError::Config(
                "noise mode 'expected' needs the latent placement: the expectation over noise on the data, \
                 taken through the flow, has no closed form"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The variance of the noise whose expectation the prior's log-density takes in closed
    /// form: `s^2` for [`NoiseMode::Expected`], otherwise 0.
    pub fn expected_noise_variance(&self) -> f64 {
        if self.noise == NoiseMode::Expected { self.s * self.s } else { 0.0 }
    }
}

impl Default for SpreadConfig {
    fn default() -> Self {
        Self { s: 0.01, noise: NoiseMode::Random, placement: SpreadPlacement::Latent }
    }
}

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

/// What the trainer needs from a model: its parameters, the loss of a batch, and the
/// parameters whose moving average it keeps.
pub trait Model {
    /// All parameters.
    fn store(&self) -> &ParamStore;
    /// All parameters, mutably (optimiser updates).
    fn store_mut(&mut self) -> &mut ParamStore;
    /// The input standardisation.
    fn scaler(&self) -> &Standardizer;
    /// Record the mean loss of a standardised batch on `tape`; `rng` draws any noise.
    ///
    /// # Errors
    /// [`PriorError`] when the prior cannot be evaluated (e.g. a singular covariance).
    fn record_loss(&self, tape: &mut Tape, batch: MatRef<'_, f64>, rng: &mut ChaCha8Rng) -> Result<Var, PriorError>;
    /// Parameters whose exponential moving average is kept (the prior's).
    fn tracked_params(&self) -> Vec<ParamId>;
    /// The moving-average copy of the parameters, if the model keeps one.
    fn ema_store(&self) -> Option<&ParamStore>;
    /// The current parameters and the moving-average copy together (for its update).
    fn split_ema(&mut self) -> Option<(&ParamStore, &mut ParamStore)>;
    /// Eigenvalues of the prior covariance under the given parameter values, largest first
    /// (`None` for a fixed prior).
    fn prior_eigenvalues(&self, store: &ParamStore) -> Option<Vec<f64>>;
}

/// Volume-preserving flow `g` + manifold prior `N(mu, A A^T)`, trained with the spread-KL
/// objective: with `S = A A^T + s^2 I`, `y = g(x) + eps - mu`,
/// `loss(x) = 0.5 (D ln(2 pi) + ln det S + y^T S^-1 y) - ln|det dg/dx|`, averaged over the batch
/// (the last term is 0 for a volume-preserving `g`).
#[derive(Debug)]
pub struct SpreadFlow {
    /// Parameters of the flow and the prior.
    pub store: ParamStore,
    /// Exponential moving average of the prior's parameters (`mu`, `A`), updated by the
    /// trainer. It is a copy of the whole store, but the flow's entries are never updated
    /// (they keep their values from construction): read only the prior from it.
    pub ema: ParamStore,
    /// The flow `g` (data to latent).
    pub flow: Flow,
    /// The manifold prior.
    pub prior: TriangularGaussian,
    /// The spread of the objective.
    pub spread: SpreadConfig,
    /// Input standardisation, undone when sampling.
    pub scaler: Standardizer,
}

impl SpreadFlow {
    /// Assemble a spread flow from a flow whose parameters are in `store`; registers the prior
    /// as `prior.a` (and `prior.mu`).
    ///
    /// # Errors
    /// [`PriorError::NotVolumePreserving`] for a flow that is not volume-preserving, unless
    /// `check` is [`VolumeCheck::Override`]; [`PriorError::Config`] for invalid `spread`
    /// settings (see [`SpreadConfig::validate`]).
    pub fn new(
        mut store: ParamStore,
        flow: Flow,
        mean: MeanMode,
        spread: SpreadConfig,
        scaler: Standardizer,
        check: VolumeCheck,
    ) -> Result<Self, PriorError> {
        if check == VolumeCheck::Require && !flow.is_volume_preserving() {
            return Err(PriorError::NotVolumePreserving);
        }
        spread.validate()?;
        let prior = TriangularGaussian::new(&mut store, "prior", flow.dim(), mean);
        let ema = store.clone();
        Ok(Self { store, ema, flow, prior, spread, scaler })
    }

    /// The dimension `D`.
    pub fn dim(&self) -> usize {
        self.flow.dim()
    }

    /// `z = g(standardise(x))`.
    pub fn encode(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        self.flow.encode(&self.store, self.scaler.transform(x).as_ref()).0
    }

    /// `n` samples `x = unstandardise(f(mu + A e))` with the current parameters
    /// (no spread noise).
    pub fn sample(&self, n: usize, seed: u64) -> Mat<f64> {
        self.sample_with(n, seed, ParamSource::Current)
    }

    /// `n` samples `x = unstandardise(f(mu + A e))` with the prior's parameters `mu`, `A` from
    /// `source` and the flow's always from the current parameters.
    ///
    /// The moving average is of the prior only (method.md section 2: "keep an exponential
    /// moving average of A for the read-off"; [`Model::tracked_params`]): the trainer never
    /// updates the flow's entries of the EMA store, which keep their values from construction.
    /// Decoding with them would run an untrained flow, so `ParamSource::Ema` means "the
    /// averaged prior, decoded by the trained flow". The latent draws are those of
    /// [`SpreadFlow::sample_latent`] with the same seed.
    pub fn sample_with(&self, n: usize, seed: u64, source: ParamSource) -> Mat<f64> {
        let z = self.sample_latent(n, seed, source);
        self.scaler.inverse(self.flow.decode(&self.store, z.as_ref()).0.as_ref())
    }

    /// `n` samples of the prior `N(mu, A A^T)` in latent space.
    pub fn sample_latent(&self, n: usize, seed: u64, source: ParamSource) -> Mat<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        self.prior.sample(self.params(source), n, &mut rng)
    }

    /// The parameter store of `source`. The EMA store's flow entries are stale (see
    /// [`SpreadFlow::ema`]): use it for the prior's parameters only, and the current store for
    /// the flow, as [`SpreadFlow::sample_with`] does.
    pub fn params(&self, source: ParamSource) -> &ParamStore {
        match source {
            ParamSource::Current => &self.store,
            ParamSource::Ema => &self.ema,
        }
    }

    /// `log p_s(x)`: the density of the spread model at standardised `x`,
    /// `log N(g(x); mu, A A^T + s^2 I)` plus the flow's log-determinant (0 when
    /// volume-preserving). Densities are in standardised units.
    ///
    /// # Errors
    /// [`PriorError`] if the spread covariance cannot be factorised.
    pub fn log_prob(&self, x: MatRef<'_, f64>) -> Result<Vec<f64>, PriorError> {
        let mut tape = Tape::no_grad();
        let u = self.scaler.transform(x);
        let xv = tape.leaf(u.as_ref());
        let (z, ld) = self.flow.forward(&mut tape, &self.store, xv);
        let lp = self.prior.log_prob(&mut tape, &self.store, z, self.spread.s)?;
        let lds = ld.to_vec(&tape, x.nrows());
        Ok((0..x.nrows()).map(|i| tape.value(lp)[(i, 0)] + lds[i]).collect())
    }

    /// The intrinsic-dimension read-off: spectra of `A A^T` (raw and moving average) and of
    /// the covariance of the encoded data, with the three rules on each.
    ///
    /// # Errors
    /// [`PriorError::Eigen`] when a spectrum cannot be computed (non-finite values).
    pub fn intrinsic_dimension(
        &self,
        data: MatRef<'_, f64>,
        config: ReadoffConfig,
    ) -> Result<IntrinsicDimension, PriorError> {
        let z = self.encode(data);
        let data_spec = Spectrum::of(covariance(z.as_ref()).as_ref())?;
        let raw = self.prior.spectrum(&self.store)?;
        let ema = self.prior.spectrum(&self.ema)?;
        let s = self.spread.s;
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
    /// [`PriorError::Eigen`] when the spectrum cannot be computed; [`PriorError::Config`] for
    /// `k > D`.
    pub fn project(&self, x: MatRef<'_, f64>, k: usize) -> Result<Mat<f64>, PriorError> {
        if k > self.dim() {
            return Err(PriorError::Config(format!("cannot project on {k} directions in dimension {}", self.dim())));
        }
        let z = self.encode(x);
        let mu = self.prior.mean(&self.ema);
        let spec = self.prior.spectrum(&self.ema)?;
        Ok(Mat::from_fn(z.nrows(), k, |i, c| {
            (0..self.dim()).map(|j| (z[(i, j)] - mu[(0, j)]) * spec.vectors[(j, c)]).sum()
        }))
    }

    /// Save the whole model into `dir`: `model.json` (architecture, prior, spread, scaling),
    /// `params.safetensors` and `ema.safetensors` (row-major `f64`, named by parameter).
    ///
    /// # Errors
    /// [`PriorError::Io`] or [`PriorError::Format`] naming the file.
    pub fn save(&self, dir: &Path) -> Result<(), PriorError> {
        std::fs::create_dir_all(dir).map_err(|source| PriorError::Io { path: dir.to_owned(), source })?;
        let meta = SavedSpreadFlow {
            format: "manifold-flows/spread-flow/1".into(),
            flow: self.flow.architecture(),
            mean: self.prior.mean_mode(),
            spread: self.spread,
            scaler: self.scaler.clone(),
        };
        write_json(dir.join("model.json"), &meta)?;
        let ids: Vec<ParamId> = self.store.ids().collect();
        save_params(dir.join("params.safetensors"), &self.store, &ids)?;
        save_params(dir.join("ema.safetensors"), &self.ema, &ids)?;
        Ok(())
    }

    /// Load a model saved by [`SpreadFlow::save`].
    ///
    /// # Errors
    /// [`PriorError::Io`], [`PriorError::Format`] (corrupted files) or
    /// [`PriorError::Mismatch`] (weights that do not fit the architecture), naming the file;
    /// invalid spread settings in `model.json` are a [`PriorError::Format`].
    pub fn load(dir: &Path) -> Result<Self, PriorError> {
        let meta: SavedSpreadFlow = read_json(dir.join("model.json"))?;
        meta.spread.validate().map_err(|e| PriorError::Format {
            path: dir.join("model.json"),
            message: format!("spread settings: {e}"),
        })?;
        let store = load_params(dir.join("params.safetensors"))?;
        let flow =
            Flow::from_spec(&meta.flow, &store).map_err(|e| PriorError::Mismatch(format!("{}: {e}", dir.display())))?;
        let prior = TriangularGaussian::from_store(&store, "prior", meta.flow.dim, meta.mean)?;
        let mut ema = store.clone();
        let ids: Vec<ParamId> = ema.ids().collect();
        load_params_into(dir.join("ema.safetensors"), &mut ema, &ids)?;
        Ok(Self { store, ema, flow, prior, spread: meta.spread, scaler: meta.scaler })
    }
}

/// Which parameter values a query uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamSource {
    /// The values after the last optimiser step.
    #[default]
    Current,
    /// The exponential moving average kept by the trainer, which is of the prior's
    /// parameters only: queries that also need the flow use its current parameters.
    Ema,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedSpreadFlow {
    format: String,
    flow: FlowSpec,
    mean: MeanMode,
    spread: SpreadConfig,
    scaler: Standardizer,
}

impl SpreadFlow {
    /// The first half of the loss: the spread latent codes of a standardised batch,
    /// `z = g(x) + eps` (latent placement) or `z = g(x + eps)` (data placement; no draw for
    /// [`NoiseMode::Expected`]), and `log|det dg/dx|`; meanwhile, on another thread when `D`
    /// is large, the factorisation of the spread covariance that the second half needs.
    pub fn record_latent(&self, tape: &mut Tape, batch: MatRef<'_, f64>, rng: &mut ChaCha8Rng) -> SpreadLatent {
        let storage = tape.take_factor_storage();
        let factorise = || {
            let start = Instant::now();
            // With L^-1 too (needed by NoiseMode::Expected in the forward pass anyway): at the
            // paper's fading-squares size the flow's forward pass takes about 33 ms on one
            // core, A A^T and the Cholesky factorisation 21 ms, the inverse another 10; forming
            // the inverse in the reverse pass instead measured the same (82-90 ms per step
            // either way, within this machine's noise).
            let factor =
                self.prior.spread_factor_in(&self.store, self.spread.s, storage).map(SpreadFactor::with_inverse);
            (factor, start.elapsed())
        };
        let ((factor, factor_time), (z, log_det)) = if self.dim() >= CONCURRENT_FACTOR_MIN_DIM {
            rayon::join(factorise, || self.record_codes(tape, batch, rng))
        } else {
            let codes = self.record_codes(tape, batch, rng);
            (factorise(), codes)
        };
        SpreadLatent { z, log_det, factor, factor_time }
    }

    fn record_codes(&self, tape: &mut Tape, batch: MatRef<'_, f64>, rng: &mut ChaCha8Rng) -> (Var, LogDet) {
        let s = self.spread.s;
        let (n, d) = (batch.nrows(), batch.ncols());
        let mut noise = |tape: &mut Tape, v: Var| match self.spread.noise {
            NoiseMode::Random => {
                let eps = tape.leaf_from_fn(n, d, |_, _| s * standard_normal(rng));
                tape.add(v, eps)
            }
            NoiseMode::ConstShift => tape.add_scalar(v, s),
            NoiseMode::Expected => v,
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

    /// The second half of the loss:
    /// `-(mean_i log N(z_i; mu, A A^T + s^2 I) + mean_i log|det J_i|)`, plus
    /// `0.5 s^2 tr(S^-1)` for [`NoiseMode::Expected`].
    ///
    /// # Errors
    /// [`PriorError`] when the spread covariance is numerically not positive definite.
    pub fn record_prior_loss(&self, tape: &mut Tape, latent: SpreadLatent) -> Result<Var, PriorError> {
        let variance = self.spread.expected_noise_variance();
        let lp = self.prior.log_prob_factored(tape, &self.store, latent.z, latent.factor?, variance)?;
        Ok(negative_mean_log_likelihood(tape, lp, latent.log_det))
    }
}

/// From this latent dimension on, [`SpreadFlow::record_latent`] factorises the spread
/// covariance on its own thread (below it, a thread costs more than it saves).
const CONCURRENT_FACTOR_MIN_DIM: usize = 128;

/// The first half of a spread-KL loss on the tape (see [`SpreadFlow::record_latent`]).
#[derive(Debug)]
pub struct SpreadLatent {
    /// The (spread) latent codes, `n x D`.
    pub z: Var,
    /// `log|det dg/dx|` per sample.
    pub log_det: LogDet,
    /// The factorisation of `A A^T + s^2 I`, or why it failed.
    pub factor: Result<SpreadFactor, PriorError>,
    /// How long the factorisation took (on its own thread when `D` is large).
    pub factor_time: Duration,
}

impl Model for SpreadFlow {
    fn store(&self) -> &ParamStore {
        &self.store
    }

    fn store_mut(&mut self) -> &mut ParamStore {
        &mut self.store
    }

    fn scaler(&self) -> &Standardizer {
        &self.scaler
    }

    fn record_loss(&self, tape: &mut Tape, batch: MatRef<'_, f64>, rng: &mut ChaCha8Rng) -> Result<Var, PriorError> {
        let latent = self.record_latent(tape, batch, rng);
        self.record_prior_loss(tape, latent)
    }

    fn tracked_params(&self) -> Vec<ParamId> {
        self.prior.params()
    }

    fn ema_store(&self) -> Option<&ParamStore> {
        Some(&self.ema)
    }

    fn split_ema(&mut self) -> Option<(&ParamStore, &mut ParamStore)> {
        Some((&self.store, &mut self.ema))
    }

    fn prior_eigenvalues(&self, store: &ParamStore) -> Option<Vec<f64>> {
        self.prior.spectrum(store).ok().map(|s| s.values)
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

/// Any flow + `N(0, I)`, trained by maximum likelihood (the baseline):
/// `loss(x) = -log N(g(x); 0, I) - log|det dg/dx|`.
#[derive(Debug)]
pub struct StandardFlow {
    /// Parameters of the flow.
    pub store: ParamStore,
    /// The flow `g` (data to latent).
    pub flow: Flow,
    /// The prior `N(0, I)`.
    pub prior: StandardNormal,
    /// Input standardisation, undone when sampling.
    pub scaler: Standardizer,
}

impl StandardFlow {
    /// Assemble the baseline from a flow whose parameters are in `store`.
    pub fn new(store: ParamStore, flow: Flow, scaler: Standardizer) -> Self {
        let prior = StandardNormal::new(flow.dim());
        Self { store, flow, prior, scaler }
    }

    /// `z = g(standardise(x))`.
    pub fn encode(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        self.flow.encode(&self.store, self.scaler.transform(x).as_ref()).0
    }

    /// `n` samples `x = unstandardise(f(e))`, `e ~ N(0, I)`.
    pub fn sample(&self, n: usize, seed: u64) -> Mat<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let z = self.prior.sample(&self.store, n, &mut rng);
        self.scaler.inverse(self.flow.decode(&self.store, z.as_ref()).0.as_ref())
    }

    /// `log p(x)` in standardised units: `log N(g(x); 0, I) + log|det dg/dx|`.
    pub fn log_prob(&self, x: MatRef<'_, f64>) -> Vec<f64> {
        let mut tape = Tape::no_grad();
        let u = self.scaler.transform(x);
        let xv = tape.leaf(u.as_ref());
        let (z, ld) = self.flow.forward(&mut tape, &self.store, xv);
        let lp = match self.prior.log_prob(&mut tape, &self.store, z, 0.0) {
            Ok(lp) => lp,
            Err(_) => unreachable!("the standard normal always has a density"),
        };
        let lds = ld.to_vec(&tape, x.nrows());
        (0..x.nrows()).map(|i| tape.value(lp)[(i, 0)] + lds[i]).collect()
    }
}

impl Model for StandardFlow {
    fn store(&self) -> &ParamStore {
        &self.store
    }

    fn store_mut(&mut self) -> &mut ParamStore {
        &mut self.store
    }

    fn scaler(&self) -> &Standardizer {
        &self.scaler
    }

    fn record_loss(&self, tape: &mut Tape, batch: MatRef<'_, f64>, _rng: &mut ChaCha8Rng) -> Result<Var, PriorError> {
        let x = tape.leaf(batch);
        let (z, log_det) = self.flow.forward(tape, &self.store, x);
        let lp = self.prior.log_prob(tape, &self.store, z, 0.0)?;
        Ok(negative_mean_log_likelihood(tape, lp, log_det))
    }

    fn tracked_params(&self) -> Vec<ParamId> {
        Vec::new()
    }

    fn ema_store(&self) -> Option<&ParamStore> {
        None
    }

    fn split_ema(&mut self) -> Option<(&ParamStore, &mut ParamStore)> {
        None
    }

    fn prior_eigenvalues(&self, _store: &ParamStore) -> Option<Vec<f64>> {
        None
    }
}

/// The covariance `(Z - mean)^T (Z - mean) / n` of the rows of `z`.
pub fn covariance(z: MatRef<'_, f64>) -> Mat<f64> {
    let (n, d) = (z.nrows(), z.ncols());
    let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| z[(i, j)]).sum::<f64>() / n.max(1) as f64).collect();
    let centred = Mat::from_fn(n, d, |i, j| z[(i, j)] - mean[j]);
    let mut cov = centred.transpose() * &centred;
    cov *= faer::Scale(1.0 / n.max(1) as f64);
    cov
}
