//! Latent priors: the standard normal (baseline), a learnable diagonal Gaussian, and the
//! manifold prior `N(mu, A A^T)` with `A` lower triangular, whose covariance may lose rank.

use autodiff_lite::{Gaussian, LN_2PI, NoiseTerm, ParamId, ParamStore, Tape, Var};
use faer::{Mat, MatRef, Side};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal as Gauss};
use serde::{Deserialize, Serialize};

use crate::PriorError;
use crate::average::ParamValues;

/// Eigenvalues (largest first) and matching eigenvectors (columns) of a covariance.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Eigenvalues, largest first (tiny negative rounding clamped to 0).
    pub values: Vec<f64>,
    /// Eigenvectors as columns, in the same order.
    pub vectors: Mat<f64>,
}

impl Spectrum {
    /// The spectrum of a symmetric matrix.
    ///
    /// # Errors
    /// [`PriorError::NonFiniteCovariance`] for non-finite entries,
    /// [`PriorError::EigenNoConvergence`] if the decomposition does not converge.
    pub fn of(cov: MatRef<'_, f64>) -> Result<Self, PriorError> {
        if !cov.is_all_finite() {
            return Err(PriorError::NonFiniteCovariance);
        }
        let evd = cov.self_adjoint_eigen(Side::Lower).map_err(|_| PriorError::EigenNoConvergence)?;
        let d = cov.nrows();
        // faer returns ascending order.
        let values = (0..d).rev().map(|i| evd.S()[i].max(0.0)).collect();
        let u = evd.U();
        let vectors = Mat::from_fn(d, d, |r, c| u[(r, d - 1 - c)]);
        Ok(Self { values, vectors })
    }
}

/// A Gaussian latent distribution over `R^D` with learnable parameters: its moments under
/// given parameter values. What it can do beyond that is a capability of its own: scoring
/// batches on the tape ([`Density`]) and drawing samples ([`Sampler`]).
pub trait Prior: std::fmt::Debug + Send + Sync {
    /// The dimension `D`.
    fn dim(&self) -> usize;

    /// Trainable parameters.
    fn params(&self) -> Vec<ParamId>;

    /// The covariance matrix (`D x D`, without spread).
    fn covariance(&self, values: &dyn ParamValues) -> Mat<f64>;

    /// The mean (`1 x D`; zero unless the prior learns it).
    fn mean(&self, _values: &dyn ParamValues) -> Mat<f64> {
        Mat::zeros(1, self.dim())
    }

    /// Eigenvalues (largest first) and eigenvectors of the covariance.
    ///
    /// # Errors
    /// As [`Spectrum::of`].
    fn spectrum(&self, values: &dyn ParamValues) -> Result<Spectrum, PriorError> {
        Spectrum::of(self.covariance(values).as_ref())
    }
}

/// A prior that scores batches on the tape, convolved with spread noise.
pub trait Density: Prior {
    /// Per-row `log p_s(z)` (`n x 1`) of the prior convolved with `N(0, s^2 I)`, `s = spread`;
    /// `s = 0` is the prior itself.
    ///
    /// # Errors
    /// [`PriorError::Covariance`] when the prior has no density at `s = 0` (a singular
    /// covariance).
    fn log_prob(&self, tape: &mut Tape, store: &ParamStore, z: Var, spread: f64) -> Result<Var, PriorError>;
}

/// A prior that can be sampled (without spread).
pub trait Sampler: Prior {
    /// `n` samples (rows) of the prior under the parameter values `values`.
    fn sample(&self, values: &dyn ParamValues, n: usize, rng: &mut dyn rand::Rng) -> Mat<f64>;
}

fn gaussian_rows(n: usize, d: usize, rng: &mut dyn rand::Rng) -> Mat<f64> {
    Mat::from_fn(n, d, |_, _| Gauss.sample(rng))
}

/// `N(0, I)`: the baseline prior. With spread, `N(0, (1 + s^2) I)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandardNormal {
    dim: usize,
}

impl StandardNormal {
    /// The standard normal on `R^dim`.
    pub fn new(dim: usize) -> Self {
        Self { dim }
    }
}

impl Prior for StandardNormal {
    fn dim(&self) -> usize {
        self.dim
    }

    fn params(&self) -> Vec<ParamId> {
        Vec::new()
    }

    fn covariance(&self, _values: &dyn ParamValues) -> Mat<f64> {
        Mat::identity(self.dim, self.dim)
    }
}

impl Density for StandardNormal {
    /// `-0.5 (D ln(2 pi v) + |z|^2 / v)` with `v = 1 + s^2`.
    fn log_prob(&self, tape: &mut Tape, _store: &ParamStore, z: Var, spread: f64) -> Result<Var, PriorError> {
        let v = 1.0 + spread * spread;
        let sq = tape.square(z);
        let r = tape.row_sum(sq);
        let scaled = tape.mul_scalar(r, -0.5 / v);
        Ok(tape.add_scalar(scaled, -0.5 * self.dim as f64 * (LN_2PI + v.ln())))
    }
}

impl Sampler for StandardNormal {
    fn sample(&self, _values: &dyn ParamValues, n: usize, rng: &mut dyn rand::Rng) -> Mat<f64> {
        gaussian_rows(n, self.dim, rng)
    }
}

/// Whether a Gaussian prior learns its mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MeanMode {
    /// The mean is fixed at 0 (the paper's code).
    #[default]
    Fixed,
    /// The mean is a learnable `1 x D` parameter.
    Learned,
}

/// `N(mu, diag(exp(2 l)))` with learnable log-standard-deviations `l` (`1 x D`, init 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagonalGaussian {
    dim: usize,
    log_std: ParamId,
    mu: Option<ParamId>,
}

impl DiagonalGaussian {
    /// Register `<prefix>.log_std` (and `<prefix>.mu` when learned).
    pub fn new(store: &mut ParamStore, prefix: &str, dim: usize, mean: MeanMode) -> Self {
        let log_std = store.add(format!("{prefix}.log_std"), Mat::zeros(1, dim));
        let mu = (mean == MeanMode::Learned).then(|| store.add(format!("{prefix}.mu"), Mat::zeros(1, dim)));
        Self { dim, log_std, mu }
    }

    /// Attach to parameters already in a store (loading).
    ///
    /// # Errors
    /// [`PriorError::Param`] when `<prefix>.log_std` (or the learned mean) is missing or not
    /// `1 x D`.
    pub fn from_store(store: &ParamStore, prefix: &str, dim: usize, mean: MeanMode) -> Result<Self, PriorError> {
        let log_std = store.get_shaped(&format!("{prefix}.log_std"), (1, dim))?;
        let mu = match mean {
            MeanMode::Fixed => None,
            MeanMode::Learned => Some(store.get_shaped(&format!("{prefix}.mu"), (1, dim))?),
        };
        Ok(Self { dim, log_std, mu })
    }

    /// Whether the mean is learned.
    pub fn mean_mode(&self) -> MeanMode {
        if self.mu.is_some() { MeanMode::Learned } else { MeanMode::Fixed }
    }
}

impl Prior for DiagonalGaussian {
    fn dim(&self) -> usize {
        self.dim
    }

    fn params(&self) -> Vec<ParamId> {
        std::iter::once(self.log_std).chain(self.mu).collect()
    }

    fn covariance(&self, values: &dyn ParamValues) -> Mat<f64> {
        let l = values.value(self.log_std);
        Mat::from_fn(self.dim, self.dim, |i, j| if i == j { (2.0 * l[(0, i)]).exp() } else { 0.0 })
    }

    fn mean(&self, values: &dyn ParamValues) -> Mat<f64> {
        learned_mean(self.mu, self.dim, values)
    }
}

impl Density for DiagonalGaussian {
    /// `sum_k -0.5 (ln(2 pi v_k) + (z_k - mu_k)^2 / v_k)`, `v_k = exp(2 l_k) + s^2`.
    fn log_prob(&self, tape: &mut Tape, store: &ParamStore, z: Var, spread: f64) -> Result<Var, PriorError> {
        let l = tape.param(store, self.log_std);
        let l2 = tape.mul_scalar(l, 2.0);
        let var = tape.exp(l2);
        let var = tape.add_scalar(var, spread * spread);
        let y = match self.mu {
            Some(mu) => {
                let m = tape.param(store, mu);
                tape.sub(z, m)
            }
            None => z,
        };
        let y2 = tape.square(y);
        let q = tape.div(y2, var);
        let log_var = tape.log(var);
        let terms = tape.add(q, log_var);
        let per_row = tape.row_sum(terms);
        let half = tape.mul_scalar(per_row, -0.5);
        Ok(tape.add_scalar(half, -0.5 * self.dim as f64 * LN_2PI))
    }
}

impl Sampler for DiagonalGaussian {
    fn sample(&self, values: &dyn ParamValues, n: usize, rng: &mut dyn rand::Rng) -> Mat<f64> {
        let l = values.value(self.log_std);
        let mu = self.mean(values);
        let mut e = gaussian_rows(n, self.dim, rng);
        for j in 0..self.dim {
            for i in 0..n {
                e[(i, j)] = mu[(0, j)] + l[(0, j)].exp() * e[(i, j)];
            }
        }
        e
    }
}

/// The learned mean `mu` (`1 x D`), or zero when it is fixed.
fn learned_mean(mu: Option<ParamId>, dim: usize, values: &dyn ParamValues) -> Mat<f64> {
    mu.map_or_else(|| Mat::zeros(1, dim), |m| values.value(m).to_owned())
}

/// The manifold prior `N(mu, A A^T)`: `A` a learnable lower-triangular `D x D` matrix (stored
/// dense as `<prefix>.a` and masked to its lower triangle, as in the authors' code, so
/// parameter counts match theirs), initialised to `I`; `mu` fixed at 0 unless learned.
///
/// Nothing constrains the diagonal of `A`, so `A A^T` may lose rank: the prior then has no
/// density, but its spread version `N(mu, A A^T + s^2 I)` always does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriangularGaussian {
    dim: usize,
    a: ParamId,
    mu: Option<ParamId>,
}

impl TriangularGaussian {
    /// Register `<prefix>.a` (`D x D`, init `I`) and, when learned, `<prefix>.mu` (init 0).
    pub fn new(store: &mut ParamStore, prefix: &str, dim: usize, mean: MeanMode) -> Self {
        let a = store.add(format!("{prefix}.a"), Mat::identity(dim, dim));
        let mu = (mean == MeanMode::Learned).then(|| store.add(format!("{prefix}.mu"), Mat::zeros(1, dim)));
        Self { dim, a, mu }
    }

    /// Attach to parameters already in a store (loading).
    ///
    /// # Errors
    /// [`PriorError::Param`] when `<prefix>.a` is missing or not `D x D` (or the learned mean
    /// is missing or not `1 x D`).
    pub fn from_store(store: &ParamStore, prefix: &str, dim: usize, mean: MeanMode) -> Result<Self, PriorError> {
        let a = store.get_shaped(&format!("{prefix}.a"), (dim, dim))?;
        let mu = match mean {
            MeanMode::Fixed => None,
            MeanMode::Learned => Some(store.get_shaped(&format!("{prefix}.mu"), (1, dim))?),
        };
        Ok(Self { dim, a, mu })
    }

    /// The handle of the dense `a` parameter (its lower triangle is `A`).
    pub fn a_param(&self) -> ParamId {
        self.a
    }

    /// The handle of the mean, when it is learned.
    pub fn mu_param(&self) -> Option<ParamId> {
        self.mu
    }

    /// Whether the mean is learned.
    pub fn mean_mode(&self) -> MeanMode {
        if self.mu.is_some() { MeanMode::Learned } else { MeanMode::Fixed }
    }

    /// Record the parameters on `tape` and describe the spread prior
    /// `N(mu, A A^T + spread^2 I)` for [`Tape::gaussian_log_prob`], with the given noise term.
    pub fn record_gaussian(&self, tape: &mut Tape, store: &ParamStore, spread: f64, noise: NoiseTerm) -> Gaussian {
        let factor = tape.param(store, self.a);
        let mean = self.mu.map(|m| tape.param(store, m));
        Gaussian { factor, mean, spread, noise }
    }

    /// `A = tril(a)` under the parameter values `values`.
    pub fn factor(&self, values: &dyn ParamValues) -> Mat<f64> {
        let a = values.value(self.a);
        Mat::from_fn(self.dim, self.dim, |i, j| if i >= j { a[(i, j)] } else { 0.0 })
    }
}

impl Prior for TriangularGaussian {
    fn dim(&self) -> usize {
        self.dim
    }

    fn params(&self) -> Vec<ParamId> {
        std::iter::once(self.a).chain(self.mu).collect()
    }

    fn covariance(&self, values: &dyn ParamValues) -> Mat<f64> {
        let a = self.factor(values);
        &a * a.transpose()
    }

    fn mean(&self, values: &dyn ParamValues) -> Mat<f64> {
        learned_mean(self.mu, self.dim, values)
    }
}

impl Density for TriangularGaussian {
    /// `log N(z; mu, A A^T + s^2 I)` through the tape's fused `gaussian_log_prob` (one
    /// Cholesky per batch). With `s = 0` it needs a non-singular `A`.
    fn log_prob(&self, tape: &mut Tape, store: &ParamStore, z: Var, spread: f64) -> Result<Var, PriorError> {
        let gaussian = self.record_gaussian(tape, store, spread, NoiseTerm::None);
        Ok(tape.gaussian_log_prob(z, &gaussian)?)
    }
}

impl Sampler for TriangularGaussian {
    /// `z = mu + A e`, `e ~ N(0, I)` (rows: `Z = mu + E A^T`).
    fn sample(&self, values: &dyn ParamValues, n: usize, rng: &mut dyn rand::Rng) -> Mat<f64> {
        let e = gaussian_rows(n, self.dim, rng);
        let mut z = e * self.factor(values).transpose();
        let mu = self.mean(values);
        for j in 0..self.dim {
            for i in 0..n {
                z[(i, j)] += mu[(0, j)];
            }
        }
        z
    }
}

/// Draw one standard normal from any RNG (shared by the objectives).
pub(crate) fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    Gauss.sample(rng)
}
