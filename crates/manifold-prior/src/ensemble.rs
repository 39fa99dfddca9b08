//! The flow estimator users run (`mflow id --estimator flow`): an ensemble of spread flows
//! read together, with an interval and a gap measure (issue 21), refusing degenerate data
//! (issue 16 item 3) and invariant to the data's scale (issue 16 item 4).

use faer::{Mat, MatRef};
use intrinsic_dim::{Estimate, EstimateError, Estimator};
use serde::{Deserialize, Serialize};

use crate::estimator::FlowEstimator;
use crate::presets::spread_preset;
use crate::readoff::{CLEAR_GAP_RATIO, EnsembleReadoff, ensemble_readoff};
use crate::scaling::Standardizer;
use crate::spread::{SpreadConfig, SpreadNoise, SpreadPlacement};
use crate::trainer::{DataSource, Silent, TrainConfig, train};
use crate::{Spectrum, covariance};

/// Fewest samples (and fewest distinct rows) the ensemble accepts: the same 21 that the
/// classical `mle` needs at its default `k = 20`, so `mflow id` refuses the same files.
pub const MIN_SAMPLES: usize = 21;

/// Largest ambient dimension whose `D x D` covariance the principal-component step forms
/// (`8 D^2` bytes: 128 MiB at 4,096); wider data are refused with the estimate.
pub const MAX_PCA_DIM: usize = 4_096;

/// The flow-based intrinsic-dimension estimator of `mflow id --estimator flow`.
///
/// 1. Checks: at least [`MIN_SAMPLES`] rows and as many distinct rows (identical rows are
///    refused with the classical estimators' [`EstimateError::Duplicates`]), all finite.
/// 2. Scale: the data are divided by `2^e`, `e = floor(log2 max |x_ij|)`, which is exact, so
///    nothing later overflows or underflows whatever the data's units (1e-300 or 1e300) and
///    data scaled by a power of two give bit-identical results.
/// 3. Working dimension: data wider than `max_dim` are projected on their `max_dim` leading
///    principal components (a rotation plus dropping the directions of least variance; the
///    answer is then at most `max_dim`).
/// 4. `members` spread flows ([`FlowEstimator`]'s architecture: additive couplings, data
///    placement of the noise, global standardisation) are trained with seeds
///    `seed * members + m`, in parallel, and the encoded data's spectrum of each is read
///    together by [`ensemble_readoff`]: the position of a clear gap when there is one,
///    otherwise the median count of directions above the training noise `s^2` with an
///    interval, and "no clear gap".
///
/// The defaults were chosen on data sets that are not the judged ones (MNIST test images
/// pooled to 8 x 8, warped manifolds of other dimensions and seeds; docs/spread-study.md,
/// issue-21 section): `s = 0.1`, 4 members of 3,000 steps, `max_dim = 64`,
/// `q_min = `[`CLEAR_GAP_RATIO`].
#[derive(Debug, Clone)]
pub struct EnsembleFlowEstimator {
    /// One member's model and training (its `train.seed` is the ensemble's seed).
    pub member: FlowEstimator,
    /// Number of independently trained members.
    pub members: usize,
    /// Largest working dimension (principal components kept).
    pub max_dim: usize,
    /// The gap measure at or above which a gap is clear (see [`EnsembleReadoff`]).
    pub clear_gap_ratio: f64,
}

impl Default for EnsembleFlowEstimator {
    fn default() -> Self {
        let base = FlowEstimator::default();
        Self {
            member: FlowEstimator {
                spread: SpreadConfig {
                    spread: 0.1,
                    spread_noise: SpreadNoise::Random,
                    placement: SpreadPlacement::Data,
                },
                train: TrainConfig::paper_fig1().with_steps(3_000),
                ..base
            },
            members: 4,
            max_dim: 64,
            clear_gap_ratio: CLEAR_GAP_RATIO,
        }
    }
}

/// Everything the ensemble estimator found: the read-off and how it got there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowId {
    /// The read-off (dimension, interval, gap measure, ensemble spectrum, member counts).
    pub readoff: EnsembleReadoff,
    /// Columns the flows worked in (after the principal-component step).
    pub working_dim: usize,
    /// The exponent `e` of the exact scaling by `2^-e`.
    pub scale_exponent: i32,
    /// The spread `s` of the members (standardised units).
    pub spread: f64,
    /// The members' seeds.
    pub seeds: Vec<u64>,
    /// The gap measure at or above which the gap counted as clear.
    pub clear_gap_ratio: f64,
}

impl FlowId {
    /// The answer in words: `"7 (clear gap: ...)"` or
    /// `"about 17, between 12 and 24: no clear gap (...)"`.
    pub fn verdict(&self) -> String {
        let r = &self.readoff;
        if r.clear_gap {
            format!(
                "{} (clear gap: the largest log-gap of the spectrum is {:.1} times the next; all {} members agree)",
                r.gap_position,
                r.gap_ratio,
                r.member_gap_positions.len()
            )
        } else {
            format!(
                "about {}, between {} and {}: no clear gap (the largest log-gap is {:.2} times the next, below {}); \
                 the count is of directions above the training noise s = {} and moves with it",
                fmt_half(r.dimension),
                r.interval.0,
                r.interval.1,
                r.gap_ratio,
                self.clear_gap_ratio,
                self.spread
            )
        }
    }
}

/// `17` or `17.5`.
fn fmt_half(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

/// The number of rows equal to another row (compared bit for bit after `-0 == 0`) and the
/// number of distinct rows.
fn duplicates(x: MatRef<'_, f64>) -> (usize, usize) {
    let n = x.nrows();
    let mut idx: Vec<usize> = (0..n).collect();
    let cmp = |a: &usize, b: &usize| {
        (0..x.ncols())
            .map(|j| (x[(*a, j)] + 0.0).total_cmp(&(x[(*b, j)] + 0.0)))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    };
    idx.sort_by(cmp);
    let mut dup = vec![false; n];
    let mut distinct = usize::from(n > 0);
    for w in 1..n {
        if cmp(&idx[w - 1], &idx[w]).is_eq() {
            dup[idx[w - 1]] = true;
            dup[idx[w]] = true;
        } else {
            distinct += 1;
        }
    }
    (dup.iter().filter(|&&d| d).count(), distinct)
}

impl EnsembleFlowEstimator {
    /// The same estimator with another seed (members `seed * members + m`).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.member.train = self.member.train.with_seed(seed);
        self
    }

    /// The same estimator with another number of training steps per member.
    pub fn with_steps(mut self, steps: usize) -> Self {
        self.member.train = self.member.train.with_steps(steps);
        self
    }

    /// Estimate, with everything the read-off used.
    ///
    /// # Errors
    /// [`EstimateError::TooFewSamples`] below [`MIN_SAMPLES`] rows; [`EstimateError::Duplicates`]
    /// when fewer than [`MIN_SAMPLES`] rows are distinct; [`EstimateError::NonFinite`];
    /// [`EstimateError::Failed`] for one column, data wider than [`MAX_PCA_DIM`] that would
    /// need the principal-component step, zero members, or a training failure.
    pub fn estimate_detailed(&self, data: MatRef<'_, f64>) -> Result<FlowId, EstimateError> {
        let (n, d) = (data.nrows(), data.ncols());
        if n < MIN_SAMPLES {
            return Err(EstimateError::TooFewSamples { needed: MIN_SAMPLES, got: n });
        }
        if d < 2 {
            return Err(EstimateError::Failed("the flow estimator needs at least 2 ambient dimensions".into()));
        }
        if self.members == 0 {
            return Err(EstimateError::Failed("the flow estimator needs at least one member".into()));
        }
        for j in 0..d {
            for i in 0..n {
                if !data[(i, j)].is_finite() {
                    return Err(EstimateError::NonFinite { row: i, col: j });
                }
            }
        }
        let (skipped, distinct) = duplicates(data);
        if distinct < MIN_SAMPLES {
            return Err(EstimateError::Duplicates { skipped, total: n });
        }
        let e = intrinsic_dim::magnitude_exponent(data);
        let scaled = Mat::from_fn(n, d, |i, j| intrinsic_dim::times_pow2(data[(i, j)], -e));
        let x = if d > self.max_dim.max(2) {
            if d > MAX_PCA_DIM {
                return Err(EstimateError::Failed(format!(
                    "{d} columns: the principal-component step needs a {d} x {d} matrix ({} MiB), above the limit of \
                     {MAX_PCA_DIM} columns",
                    (d as u128 * d as u128 * 8) >> 20
                )));
            }
            let spec =
                Spectrum::of(covariance(scaled.as_ref()).as_ref()).map_err(|e| EstimateError::Failed(e.to_string()))?;
            let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| scaled[(i, j)]).sum::<f64>() / n as f64).collect();
            let centred = Mat::from_fn(n, d, |i, j| scaled[(i, j)] - mean[j]);
            &centred * spec.vectors.subcols(0, self.max_dim.max(2))
        } else {
            scaled
        };
        let p = x.ncols();
        let base = self.member.train.seed;
        let seeds: Vec<u64> =
            (0..self.members as u64).map(|m| base.wrapping_mul(self.members as u64).wrapping_add(m)).collect();
        let spectra: Result<Vec<Vec<f64>>, String> = each_member(&seeds, |seed| {
            let scaler = Standardizer::fit(x.as_ref(), self.member.scaling);
            let mut model =
                spread_preset(p, self.member.n_layers, seed, self.member.spread, scaler).map_err(|e| e.to_string())?;
            let config = self.member.train.clone().with_seed(seed);
            train(&mut model, DataSource::Fixed(x.as_ref()), &config, &mut Silent).map_err(|e| e.to_string())?;
            let id = model.intrinsic_dimension(x.as_ref(), self.member.readoff).map_err(|e| e.to_string())?;
            Ok(id.data_eigenvalues)
        })
        .into_iter()
        .collect();
        let spectra = spectra.map_err(EstimateError::Failed)?;
        let readoff = ensemble_readoff(&spectra, self.member.spread.spread, self.clear_gap_ratio);
        Ok(FlowId {
            readoff,
            working_dim: p,
            scale_exponent: e,
            spread: self.member.spread.spread,
            seeds,
            clear_gap_ratio: self.clear_gap_ratio,
        })
    }
}

impl Estimator for EnsembleFlowEstimator {
    fn name(&self) -> &str {
        "flow"
    }

    /// The dimension of [`EnsembleFlowEstimator::estimate_detailed`]; the diagnostics carry
    /// `interval_low`, `interval_high`, `clear_gap` (1 or 0), `gap_ratio`, `gap_position`,
    /// `working_dim`, `member_count_<m>`, `member_gap_position_<m>` and
    /// `data_eigenvalue_<i>` (the ensemble spectrum).
    fn estimate(&self, data: MatRef<'_, f64>) -> Result<Estimate, EstimateError> {
        let id = self.estimate_detailed(data)?;
        let r = &id.readoff;
        let mut diagnostics = vec![
            ("interval_low".to_owned(), r.interval.0 as f64),
            ("interval_high".to_owned(), r.interval.1 as f64),
            ("clear_gap".to_owned(), f64::from(u8::from(r.clear_gap))),
            ("gap_ratio".to_owned(), r.gap_ratio),
            ("gap_position".to_owned(), r.gap_position as f64),
            ("working_dim".to_owned(), id.working_dim as f64),
        ];
        for (m, c) in r.member_counts.iter().enumerate() {
            diagnostics.push((format!("member_count_{m}"), *c as f64));
        }
        for (m, k) in r.member_gap_positions.iter().enumerate() {
            diagnostics.push((format!("member_gap_position_{m}"), *k as f64));
        }
        for (i, v) in r.spectrum.iter().enumerate() {
            diagnostics.push((format!("data_eigenvalue_{i}"), *v));
        }
        Ok(Estimate { dimension: r.dimension, local: None, diagnostics })
    }
}

#[cfg(test)]
mod tests;

/// `f(seed)` for every member's seed, in seed order: side by side on rayon's pool with the
/// `rayon` feature, one after the other without it. Members share nothing and each one's
/// training is deterministic for its seed, so the results are the same either way.
fn each_member<T: Send>(seeds: &[u64], f: impl Fn(u64) -> T + Sync + Send) -> Vec<T> {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        seeds.par_iter().map(|&seed| f(seed)).collect()
    }
    #[cfg(not(feature = "rayon"))]
    {
        seeds.iter().map(|&seed| f(seed)).collect()
    }
}
