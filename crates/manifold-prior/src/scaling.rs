//! Data standardisation: the spread `s` and thresholds `c s^2` are absolute, so inputs are
//! centred and scaled before training, and the transform is undone when sampling.

use faer::{Mat, MatRef};
use serde::{Deserialize, Serialize};

/// How inputs are scaled before they reach the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum ScalingMode {
    /// Subtract the mean and divide by one global scale, the root-mean-square distance to the
    /// mean `sqrt(mean_i |x_i - m|^2)`: keeps the geometry (the default).
    #[default]
    Global,
    /// Subtract the mean and divide each coordinate by its own standard deviation.
    PerDimension,
    /// Leave the data as it is (the paper's toys are already at unit scale).
    Identity,
}

/// An affine map `u = (x - mean) / scale` fitted to data, stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// The mode it was fitted with.
    pub mode: ScalingMode,
    /// Per-coordinate offset.
    pub mean: Vec<f64>,
    /// Per-coordinate divisor (all equal for [`ScalingMode::Global`]).
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// The identity map on `R^dim`.
    pub fn identity(dim: usize) -> Self {
        Self { mode: ScalingMode::Identity, mean: vec![0.0; dim], scale: vec![1.0; dim] }
    }

    /// Fit to `x` (`n x d`). Zero spreads (constant data) fall back to a scale of 1.
    pub fn fit(x: MatRef<'_, f64>, mode: ScalingMode) -> Self {
        let (n, d) = (x.nrows(), x.ncols());
        if mode == ScalingMode::Identity || n == 0 {
            return Self { mode, ..Self::identity(d) };
        }
        let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| x[(i, j)]).sum::<f64>() / n as f64).collect();
        let var: Vec<f64> =
            (0..d).map(|j| (0..n).map(|i| (x[(i, j)] - mean[j]).powi(2)).sum::<f64>() / n as f64).collect();
        let guard = |s: f64| if s > 0.0 && s.is_finite() { s } else { 1.0 };
        let scale = match mode {
            ScalingMode::Global => vec![guard(var.iter().sum::<f64>().sqrt()); d],
            ScalingMode::PerDimension => var.iter().map(|v| guard(v.sqrt())).collect(),
            ScalingMode::Identity => unreachable!("handled above"),
        };
        Self { mode, mean, scale }
    }

    /// `u = (x - mean) / scale`, row by row.
    pub fn transform(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        Mat::from_fn(x.nrows(), x.ncols(), |i, j| (x[(i, j)] - self.mean[j]) / self.scale[j])
    }

    /// `x = u * scale + mean`, row by row.
    pub fn inverse(&self, u: MatRef<'_, f64>) -> Mat<f64> {
        Mat::from_fn(u.nrows(), u.ncols(), |i, j| u[(i, j)] * self.scale[j] + self.mean[j])
    }
}
