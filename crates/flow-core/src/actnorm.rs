//! ActNorm (Glow): a learned per-dimension affine map with data-dependent initialisation.

use autodiff_lite::{ParamId, ParamStore, Tape, Var};
use faer::{Mat, MatRef};

use crate::{Bijector, FlowError, Layer, LayerSpec, LogDet};

/// Per-dimension affine normalisation `z = x * exp(log_scale) + bias` (Kingma and Dhariwal,
/// Glow, 2018), batched over rows.
///
/// With `a = log_scale` and `b = bias` (both `1 x D` rows, broadcast over the `n` samples):
///
/// - forward: `z_ij = x_ij exp(a_j) + b_j`, `log|det dz/dx| = sum_j a_j` for every sample;
/// - inverse: `x_ij = (z_ij - b_j) exp(-a_j)`, `log|det dx/dz| = -sum_j a_j`.
///
/// The parameters are `<prefix>.log_scale` and `<prefix>.bias`; a new layer is the identity
/// (`a = b = 0`) until [`Bijector::init_from_data`] sets them from a batch so that the
/// layer's outputs on that batch have zero mean and unit variance in every dimension.
#[derive(Debug, Clone)]
pub struct ActNorm {
    prefix: String,
    dim: usize,
    log_scale: ParamId,
    bias: ParamId,
}

impl ActNorm {
    /// Register `<prefix>.log_scale` and `<prefix>.bias` (`1 x dim`, zeros: the identity).
    ///
    /// # Errors
    /// [`FlowError::Config`] for `dim == 0`.
    ///
    /// # Panics
    /// If either name is already registered in `store`.
    #[track_caller]
    pub fn new(store: &mut ParamStore, prefix: &str, dim: usize) -> Result<Self, FlowError> {
        if dim == 0 {
            return Err(FlowError::Config("ActNorm needs at least one coordinate".into()));
        }
        let log_scale = store.add(format!("{prefix}.log_scale"), Mat::zeros(1, dim));
        let bias = store.add(format!("{prefix}.bias"), Mat::zeros(1, dim));
        Ok(Self { prefix: prefix.to_owned(), dim, log_scale, bias })
    }

    /// Attach to parameters already in a store (loading a saved flow).
    ///
    /// # Errors
    /// [`FlowError::Config`] for `dim == 0`; [`FlowError::Param`] when a parameter is
    /// missing or not `1 x dim`.
    pub fn from_store(store: &ParamStore, prefix: &str, dim: usize) -> Result<Self, FlowError> {
        if dim == 0 {
            return Err(FlowError::Config("ActNorm needs at least one coordinate".into()));
        }
        let log_scale = store.get_shaped(&format!("{prefix}.log_scale"), (1, dim))?;
        let bias = store.get_shaped(&format!("{prefix}.bias"), (1, dim))?;
        Ok(Self { prefix: prefix.to_owned(), dim, log_scale, bias })
    }

    /// The handle of `<prefix>.log_scale` (`1 x D`).
    pub fn log_scale(&self) -> ParamId {
        self.log_scale
    }

    /// The handle of `<prefix>.bias` (`1 x D`).
    pub fn bias(&self) -> ParamId {
        self.bias
    }

    /// `sum_j a_j` broadcast to an `n x 1` column, negated for the inverse.
    fn log_det(&self, tape: &mut Tape, a: Var, n: usize, sign: f64) -> LogDet {
        let total = tape.sum(a);
        let total = if sign < 0.0 { tape.neg(total) } else { total };
        LogDet::PerSample(crate::broadcast_rows(tape, total, n))
    }
}

impl Bijector for ActNorm {
    fn dim(&self) -> usize {
        self.dim
    }

    fn forward(&self, tape: &mut Tape, store: &ParamStore, x: Var) -> (Var, LogDet) {
        let n = tape.shape(x).0;
        let a = tape.param(store, self.log_scale);
        let b = tape.param(store, self.bias);
        let scale = tape.exp(a);
        let scaled = tape.mul(x, scale);
        let z = tape.add(scaled, b);
        (z, self.log_det(tape, a, n, 1.0))
    }

    fn inverse(&self, tape: &mut Tape, store: &ParamStore, z: Var) -> (Var, LogDet) {
        let n = tape.shape(z).0;
        let a = tape.param(store, self.log_scale);
        let b = tape.param(store, self.bias);
        let shifted = tape.sub(z, b);
        let neg = tape.neg(a);
        let scale = tape.exp(neg);
        let x = tape.mul(shifted, scale);
        (x, self.log_det(tape, a, n, -1.0))
    }

    fn is_volume_preserving(&self) -> bool {
        false
    }

    fn params(&self) -> Vec<ParamId> {
        vec![self.log_scale, self.bias]
    }

    /// Glow's data-dependent initialisation: with the batch mean `m_j` and standard deviation
    /// `s_j = sqrt(mean_i (x_ij - m_j)^2)` (population, so the normalised batch has variance
    /// exactly 1), set `a_j = -ln s_j` and `b_j = -m_j / s_j`; the outputs on `x` then have
    /// zero mean and unit variance per dimension.
    ///
    /// Guards: a dimension whose spread is zero (or below `1e-12 (1 + |m_j|)`, so rounding
    /// noise is not blown up) is only centred (`a_j = 0`, `b_j = -m_j`); a dimension with a
    /// non-finite mean or spread, and an empty batch, leave the parameters unchanged.
    ///
    /// # Panics
    /// If `x` does not have `D` columns.
    #[track_caller]
    fn init_from_data(&self, store: &mut ParamStore, x: MatRef<'_, f64>) {
        assert_eq!(
            x.ncols(),
            self.dim,
            "ActNorm::init_from_data: batch has {} columns, layer has {}",
            x.ncols(),
            self.dim
        );
        let n = x.nrows();
        if n == 0 {
            return;
        }
        for j in 0..self.dim {
            let col = x.col(j);
            let mean = col.iter().sum::<f64>() / n as f64;
            let var = col.iter().map(|&v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
            let std = var.sqrt();
            if !mean.is_finite() || !std.is_finite() {
                continue;
            }
            let (a, b) = if std > 1e-12 * (1.0 + mean.abs()) { (-std.ln(), -mean / std) } else { (0.0, -mean) };
            store.value_mut(self.log_scale)[(0, j)] = a;
            store.value_mut(self.bias)[(0, j)] = b;
        }
    }
}

impl Layer for ActNorm {
    fn spec(&self) -> LayerSpec {
        LayerSpec::ActNorm { prefix: self.prefix.clone(), dim: self.dim }
    }
}
