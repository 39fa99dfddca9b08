//! Reading the intrinsic dimension off a spectrum: the three rules of the method.
//!
//! 1. relative: count `lambda_i / lambda_max > tau` (default `tau = 1e-2`);
//! 2. largest log-gap: the position of the largest gap between consecutive
//!    log-eigenvalues, or `D` when every eigenvalue is above the noise floor `c s^2`;
//! 3. noise-relative: count eigenvalues of the covariance of the encoded data `g(x)` above
//!    `c s^2` (default `c = 50`): directions the flow could not squeeze below the noise carry
//!    the manifold.

use serde::{Deserialize, Serialize};

/// Thresholds of the read-off rules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReadoffConfig {
    /// The relative threshold `tau` of rule 1.
    pub relative_tau: f64,
    /// The multiple `c` of `s^2` in rules 2 and 3.
    pub noise_c: f64,
}

impl Default for ReadoffConfig {
    fn default() -> Self {
        Self { relative_tau: 1e-2, noise_c: 50.0 }
    }
}

/// Rule 1: the number of eigenvalues with `lambda_i / lambda_max > tau`.
pub fn relative_count(eigenvalues: &[f64], tau: f64) -> usize {
    let max = eigenvalues.iter().copied().fold(0.0, f64::max);
    if max <= 0.0 {
        return 0;
    }
    eigenvalues.iter().filter(|&&l| l / max > tau).count()
}

/// Rule 2: with eigenvalues sorted largest first, `k` such that the gap
/// `ln lambda_k - ln lambda_{k+1}` is the largest; `D` when all eigenvalues exceed `floor`
/// (no collapsed direction). Eigenvalues are floored at `1e-300` before taking logs.
pub fn largest_log_gap_count(eigenvalues: &[f64], floor: f64) -> usize {
    let mut v: Vec<f64> = eigenvalues.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    let d = v.len();
    if d == 0 {
        return 0;
    }
    if v.iter().all(|&l| l > floor) {
        return d;
    }
    let logs: Vec<f64> = v.iter().map(|&l| l.max(1e-300).ln()).collect();
    let (mut best, mut best_gap) = (d, f64::NEG_INFINITY);
    for k in 0..d - 1 {
        let gap = logs[k] - logs[k + 1];
        if gap > best_gap {
            best_gap = gap;
            best = k + 1;
        }
    }
    best
}

/// Rule 3: the number of eigenvalues above `c s^2`.
pub fn noise_relative_count(eigenvalues: &[f64], spread: f64, c: f64) -> usize {
    let threshold = c * spread * spread;
    eigenvalues.iter().filter(|&&l| l > threshold).count()
}

/// The counts of every rule on one spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCounts {
    /// Rule 1 (relative).
    pub relative: usize,
    /// Rule 2 (largest log-gap).
    pub log_gap: usize,
    /// Rule 3 (above `c s^2`).
    pub noise_relative: usize,
}

impl RuleCounts {
    /// All three rules on `eigenvalues` with spread `s`.
    pub fn of(eigenvalues: &[f64], spread: f64, config: ReadoffConfig) -> Self {
        Self {
            relative: relative_count(eigenvalues, config.relative_tau),
            log_gap: largest_log_gap_count(eigenvalues, config.noise_c * spread * spread),
            noise_relative: noise_relative_count(eigenvalues, spread, config.noise_c),
        }
    }
}

/// The full intrinsic-dimension read-off of a trained spread flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntrinsicDimension {
    /// Eigenvalues of `A A^T` (raw parameters), largest first.
    pub prior_eigenvalues: Vec<f64>,
    /// Eigenvalues of `A A^T` from the exponential moving average of the parameters.
    pub ema_prior_eigenvalues: Vec<f64>,
    /// Eigenvalues of the covariance of the encoded data `g(x)`, largest first.
    pub data_eigenvalues: Vec<f64>,
    /// The rules applied to the EMA prior spectrum.
    pub prior_rules: RuleCounts,
    /// The rules applied to the raw prior spectrum.
    pub raw_prior_rules: RuleCounts,
    /// The rules applied to the encoded-data spectrum; `data_rules.noise_relative` is rule 3
    /// of the method and the default answer.
    pub data_rules: RuleCounts,
    /// The spread `s` the thresholds refer to.
    pub spread: f64,
    /// The thresholds used.
    pub config: ReadoffConfig,
}

impl IntrinsicDimension {
    /// The default answer: the noise-relative rule on the encoded data.
    pub fn estimate(&self) -> usize {
        self.data_rules.noise_relative
    }

    /// `lambda_1 / lambda_2` of the EMA prior spectrum (infinite when `lambda_2 = 0`).
    pub fn eigenvalue_ratio(&self) -> f64 {
        ratio(&self.ema_prior_eigenvalues)
    }
}

/// `lambda_1 / lambda_2` of a spectrum sorted largest first (`inf` if `lambda_2 = 0`, NaN
/// for fewer than two values).
pub fn ratio(values: &[f64]) -> f64 {
    match values {
        [a, b, ..] => a / b,
        _ => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_as_documented() {
        let spec = [0.9, 0.02, 1e-5, 1e-7];
        assert_eq!(relative_count(&spec, 1e-2), 2);
        assert_eq!(largest_log_gap_count(&spec, 50.0 * 1e-4), 2);
        assert_eq!(noise_relative_count(&spec, 0.01, 50.0), 2);
        // Every eigenvalue above the floor: the log-gap rule returns D.
        assert_eq!(largest_log_gap_count(&[1.0, 0.5, 0.01], 1e-3), 3);
        // One dominant direction.
        assert_eq!(largest_log_gap_count(&[0.85, 1e-6, 9e-7], 5e-3), 1);
        assert_eq!(relative_count(&[0.0, 0.0], 1e-2), 0);
        assert_eq!(ratio(&[4.0, 2.0]), 2.0);
    }
}
