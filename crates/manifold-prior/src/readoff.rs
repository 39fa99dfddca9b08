//! Reading the intrinsic dimension off a spectrum: the three rules of the method.
//!
//! 1. relative: count `lambda_i / lambda_max > tau` (default `tau = 1e-2`);
//! 2. largest log-gap: the position of the largest gap between consecutive
//!    log-eigenvalues, or `D` when every eigenvalue is above the noise floor `c s^2`;
//!    eigenvalues below the spectrum's resolution `lambda_max D eps` count as that
//!    resolution, so rounding-level values cannot make the largest gap;
//! 3. noise-relative: count eigenvalues of the covariance of the encoded data `g(x)` above
//!    `c s^2` (default `c = 50`): directions the flow could not squeeze below the noise carry
//!    the manifold.
//!
//! and two candidates of the spread study (docs/spread-study.md):
//!
//! 4. spread log-gap: the largest gap of `ln(lambda_i + s^2)`, with a virtual last value
//!    `ln s^2`: every direction squeezed below the noise sits at the same floor, so gaps
//!    between collapsed directions (which the plain log-gap rule can pick) vanish;
//! 5. noise sweep (after Horvat and Pfister 2022): spectra of runs at two or more noise
//!    levels; directions whose variance scales like `s^2` are noise, the others carry the
//!    manifold (see [`noise_sweep_count`]).

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
/// (no collapsed direction).
///
/// Before taking logs, every eigenvalue is raised to the resolution of the spectrum,
/// `delta = lambda_max D eps` (`eps = f64::EPSILON`). The spectra read here are computed in
/// floating point from a `D x D` symmetric matrix `M` (`A A^T` or a covariance): forming `M`
/// (sums of `D` products) and a backward-stable symmetric eigensolver each perturb it by an
/// `E` with `||E||_2` of order `D eps ||M||_2`, and by Weyl's inequality every computed
/// eigenvalue is then within that of the exact one: `|lambda^_i - lambda_i| <= ||E||_2`,
/// about `delta`. An eigenvalue below `delta` (exact zeros, clamped or tiny negative rounding,
/// values like 1e-20 next to `lambda_max` near 1) cannot be told from 0 and its logarithm
/// means nothing; at the floor they all share one value, so gaps among them vanish, and the
/// gap into them from the smallest resolved eigenvalue `lambda_k` is `ln(lambda_k / delta)`.
/// (Flooring at a fixed 1e-300 made the gap between the smallest nonzero value and the
/// zeros, e.g. `ln(1e-14 / 1e-300) = 658`, the largest: the fading-squares model's `A A^T`
/// read 940 instead of 1.) The same tolerance is the default of `numpy.linalg.matrix_rank`
/// (`sigma_max max(m, n) eps`). `f64::MIN_POSITIVE` bounds it below for an all-zero
/// spectrum, whose answer stays 1.
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
    let resolution = spectrum_resolution(v[0], d);
    let logs: Vec<f64> = v.iter().map(|&l| l.max(resolution).ln()).collect();
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

/// The resolution `lambda_max D eps` of a computed spectrum of a `D x D` symmetric matrix
/// (see [`largest_log_gap_count`]), bounded below by `f64::MIN_POSITIVE`.
fn spectrum_resolution(lambda_max: f64, d: usize) -> f64 {
    (lambda_max * d as f64 * f64::EPSILON).max(f64::MIN_POSITIVE)
}

/// Rule 3: the number of eigenvalues above `c s^2`.
pub fn noise_relative_count(eigenvalues: &[f64], spread: f64, c: f64) -> usize {
    let threshold = c * spread * spread;
    eigenvalues.iter().filter(|&&l| l > threshold).count()
}

/// Rule 4: with `v_i = ln(lambda_i + s^2)` sorted largest first and a virtual
/// `v_{D+1} = ln s^2`, the `k` in `1..=D` with the largest gap `v_k - v_{k+1}`.
///
/// Adding `s^2` puts every direction squeezed below the noise at the same floor `ln s^2`, so
/// the gap that wins is the one between the smallest direction above the noise and the noise
/// (or the last one, `D`, when nothing collapsed), however far the collapsed directions fell.
/// When every eigenvalue is far below `s^2` the gaps are all near 0 and the answer is
/// arbitrary: too few steps or a noise level above the manifold's curvature scale.
/// Negative eigenvalues (rounding) count as 0.
pub fn spread_log_gap_count(eigenvalues: &[f64], spread: f64) -> usize {
    let floor = spread * spread;
    let mut v: Vec<f64> = eigenvalues.iter().map(|&l| (l.max(0.0) + floor).max(1e-300).ln()).collect();
    v.sort_by(|a, b| b.total_cmp(a));
    v.push(floor.max(1e-300).ln());
    let (mut best, mut best_gap) = (0, f64::NEG_INFINITY);
    for k in 0..v.len() - 1 {
        let gap = v[k] - v[k + 1];
        if gap > best_gap {
            best_gap = gap;
            best = k + 1;
        }
    }
    best
}

/// The least-squares slope of `ln lambda_i` against `ln s^2`, per rank `i` (largest first),
/// over spectra of runs at different noise levels: `spectra[r] = (s_r, eigenvalues_r)`.
/// A direction whose variance scales like the noise has slope near 1 (or more, if the flow
/// squeezes it further at small `s`); one carrying the manifold keeps its variance whatever
/// `s` is, slope near 0. A rank whose eigenvalue is at or below its spectrum's resolution
/// `lambda_max D eps` in any run (exact zeros, rounding) has no meaningful logarithm; it
/// is a collapsed direction, not a manifold one, and its slope is `+inf` (so
/// [`noise_sweep_count`] never counts it). Flooring such values at a fixed constant would
/// give them slope 0, the signature of a manifold direction.
///
/// # Panics
/// If fewer than two spectra are given, the spectra differ in length, or all noise levels
/// are equal.
#[track_caller]
pub fn noise_sweep_slopes(spectra: &[(f64, &[f64])]) -> Vec<f64> {
    assert!(spectra.len() >= 2, "noise_sweep_slopes: needs spectra at two or more noise levels, got {}", spectra.len());
    let d = spectra[0].1.len();
    for (s, e) in spectra {
        assert_eq!(e.len(), d, "noise_sweep_slopes: spectrum at s = {s} has {} values, the first has {d}", e.len());
    }
    let xs: Vec<f64> = spectra.iter().map(|(s, _)| (s * s).ln()).collect();
    let x_mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let sxx: f64 = xs.iter().map(|x| (x - x_mean).powi(2)).sum();
    assert!(sxx > 0.0, "noise_sweep_slopes: the noise levels must differ");
    // ln lambda per rank, largest first; None below the spectrum's resolution.
    let sorted: Vec<Vec<Option<f64>>> = spectra
        .iter()
        .map(|(_, e)| {
            let mut v = e.to_vec();
            v.sort_by(|a, b| b.total_cmp(a));
            let resolution = spectrum_resolution(v.first().copied().unwrap_or(0.0), d);
            v.iter().map(|&l| (l > resolution).then(|| l.ln())).collect()
        })
        .collect();
    (0..d)
        .map(|i| {
            let Some(ys) = sorted.iter().map(|v| v[i]).collect::<Option<Vec<f64>>>() else {
                return f64::INFINITY;
            };
            let y_mean = ys.iter().sum::<f64>() / ys.len() as f64;
            let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - x_mean) * (y - y_mean)).sum();
            sxy / sxx
        })
        .collect()
}

/// Rule 5, the noise sweep: the number of ranks whose [`noise_sweep_slopes`] slope is below
/// `max_slope` (0.5 halfway between "carries the manifold" and "scales with the noise" is
/// the study's choice). Ranks are matched by order (largest first), so the rule assumes
/// the runs agree on which directions are large; it needs one training run per noise level.
///
/// # Panics
/// As [`noise_sweep_slopes`].
#[track_caller]
pub fn noise_sweep_count(spectra: &[(f64, &[f64])], max_slope: f64) -> usize {
    noise_sweep_slopes(spectra).iter().filter(|&&b| b < max_slope).count()
}

/// The counts of every single-run rule on one spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCounts {
    /// Rule 1 (relative).
    pub relative: usize,
    /// Rule 2 (largest log-gap).
    pub log_gap: usize,
    /// Rule 3 (above `c s^2`).
    pub noise_relative: usize,
    /// Rule 4 (largest gap of `ln(lambda + s^2)`).
    #[serde(default)]
    pub spread_log_gap: usize,
}

impl RuleCounts {
    /// Rules 1 to 4 on `eigenvalues` with spread `s`.
    pub fn of(eigenvalues: &[f64], spread: f64, config: ReadoffConfig) -> Self {
        Self {
            relative: relative_count(eigenvalues, config.relative_tau),
            log_gap: largest_log_gap_count(eigenvalues, config.noise_c * spread * spread),
            noise_relative: noise_relative_count(eigenvalues, spread, config.noise_c),
            spread_log_gap: spread_log_gap_count(eigenvalues, spread),
        }
    }
}

/// Which spectrum a single-run read-off rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SpectrumSource {
    /// `A A^T` with the current parameters.
    RawPrior,
    /// `A A^T` with the exponential moving average of the prior's parameters.
    EmaPrior,
    /// The covariance of the encoded data `g(x)` (a full pass, no noise).
    Data,
}

/// How a single-run read-off rule counts (rules 1 to 4 of the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RuleKind {
    /// Rule 1: `lambda_i / lambda_max > tau`.
    Relative,
    /// Rule 2: the largest log-gap (`D` when nothing is below `c s^2`).
    LogGap,
    /// Rule 3: `lambda_i > c s^2`.
    NoiseRelative,
    /// Rule 4: the largest gap of `ln(lambda_i + s^2)`.
    SpreadLogGap,
}

/// A single-run read-off: a rule applied to one spectrum. The [`Default`] is the read-off
/// the spread study found most reliable (docs/spread-study.md): rule 2, the largest log-gap,
/// on the encoded data's spectrum ([`ReadoffRule::LOG_GAP_DATA`]). The earlier default, rule 3
/// on the encoded data, is [`ReadoffRule::NOISE_RELATIVE_DATA`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReadoffRule {
    /// How it counts.
    pub kind: RuleKind,
    /// Which spectrum it reads.
    pub source: SpectrumSource,
}

impl ReadoffRule {
    /// Rule 3 on the encoded data: the method's noise-relative rule.
    pub const NOISE_RELATIVE_DATA: Self = Self { kind: RuleKind::NoiseRelative, source: SpectrumSource::Data };
    /// Rule 2 on the encoded data.
    pub const LOG_GAP_DATA: Self = Self { kind: RuleKind::LogGap, source: SpectrumSource::Data };
    /// Rule 4 on the encoded data.
    pub const SPREAD_LOG_GAP_DATA: Self = Self { kind: RuleKind::SpreadLogGap, source: SpectrumSource::Data };
}

impl Default for ReadoffRule {
    fn default() -> Self {
        Self::LOG_GAP_DATA
    }
}

impl RuleCounts {
    /// The count of one rule.
    pub fn get(&self, kind: RuleKind) -> usize {
        match kind {
            RuleKind::Relative => self.relative,
            RuleKind::LogGap => self.log_gap,
            RuleKind::NoiseRelative => self.noise_relative,
            RuleKind::SpreadLogGap => self.spread_log_gap,
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
    /// The rules applied to the encoded-data spectrum; `data_rules.log_gap` is the default
    /// answer ([`ReadoffRule::default`]) and `data_rules.noise_relative` rule 3 of the method.
    pub data_rules: RuleCounts,
    /// The spread `s` the thresholds refer to.
    pub spread: f64,
    /// The thresholds used.
    pub config: ReadoffConfig,
}

impl IntrinsicDimension {
    /// The default answer: [`ReadoffRule::default`].
    pub fn estimate(&self) -> usize {
        self.by(ReadoffRule::default())
    }

    /// The answer of one rule.
    pub fn by(&self, rule: ReadoffRule) -> usize {
        let counts = match rule.source {
            SpectrumSource::RawPrior => &self.raw_prior_rules,
            SpectrumSource::EmaPrior => &self.prior_rules,
            SpectrumSource::Data => &self.data_rules,
        };
        counts.get(rule.kind)
    }

    /// `lambda_1 / lambda_2` of the EMA prior spectrum (infinite when `lambda_2 = 0`).
    pub fn eigenvalue_ratio(&self) -> f64 {
        ratio(&self.ema_prior_eigenvalues)
    }
}

/// What an ensemble of spectra says about the dimension: the read-off of
/// [`crate::FlowEstimator`] (issue 21: stable and honest on real data).
///
/// Inputs: the encoded data's spectra `lambda^(m)` of `M` independently trained members
/// (sorted largest first, same length `D`) and the spread `s` they were trained with.
///
/// - Ensemble spectrum: the geometric mean over members per rank of the eigenvalues floored
///   at `f = s^2 / 10`, `L_i = mean_m ln max(lambda^(m)_i, f)`, and a virtual last value
///   `L_(D+1) = ln f`. Directions squeezed far below the training noise all sit at the floor,
///   so gaps among them (rounding, how far each collapsed) vanish, and with the virtual value
///   a spectrum with nothing collapsed (a 2-D blob) has its gap at `D`.
/// - Gap measure `q = G_(1) / G_(2)`: the largest log-gap `G_i = L_i - L_(i+1)`, `i = 1..D`,
///   of the ensemble spectrum divided by the second largest. A spectrum with a gap has one
///   log-gap far above the others; a smooth decay has many of similar size and `q` near 1.
/// - The gap is *clear* when `q >= q_min` and every member's own largest log-gap sits at the
///   same position `k` as the ensemble's: then the dimension is `k` and the interval `[k, k]`.
/// - Otherwise there is no clear gap, and the position of the largest gap means nothing.
///   The dimension is then the median over members of the noise count `#{i : lambda_i > s^2}`
///   (directions the flow kept above the variance of the noise it was trained with: the
///   dimension at resolution `s`), and the interval runs from the smallest member count above
///   `2 s^2` to the largest above `s^2 / 2`: how far the count moves when the resolution changes
///   by a factor `sqrt 2` either way, over the members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleReadoff {
    /// The dimension: the agreed gap position when the gap is clear, otherwise the median
    /// member noise count (a half-integer when the two middle counts differ).
    pub dimension: f64,
    /// Lower and upper end of the interval (inclusive).
    pub interval: (usize, usize),
    /// Whether the gap was clear (see the type's docs).
    pub clear_gap: bool,
    /// The gap measure `q` (largest over second-largest log-gap of the ensemble spectrum;
    /// `+inf` when only one gap is nonzero).
    pub gap_ratio: f64,
    /// Position `k` of the ensemble spectrum's largest log-gap (the count above it).
    pub gap_position: usize,
    /// The ensemble spectrum (geometric mean over members of the floored eigenvalues),
    /// largest first.
    pub spectrum: Vec<f64>,
    /// Each member's largest-log-gap position.
    pub member_gap_positions: Vec<usize>,
    /// Each member's noise count `#{lambda_i > s^2}`.
    pub member_counts: Vec<usize>,
}

/// The default `q_min` of [`ensemble_readoff`]: chosen on data sets outside the judged ones
/// (docs/spread-study.md, issue 21 section; raw spectra in docs/results/id-compare/tuning/).
/// There, at `s = 0.1`, warped manifolds
/// (K = 3, 7 in 64 and K = 10 in 784 dimensions) gave `q` from 4.2 to 6.7 and real images
/// (MNIST test images pooled to 8 x 8, all and one class) 1.16 to 1.27; 2.5 sits between,
/// about the geometric middle.
pub const CLEAR_GAP_RATIO: f64 = 2.5;

/// The ensemble read-off of [`EnsembleReadoff`] with gap threshold `q_min`.
///
/// # Panics
/// If `spectra` is empty, the spectra differ in length, or they hold fewer than 2 values.
#[track_caller]
pub fn ensemble_readoff(spectra: &[Vec<f64>], spread: f64, q_min: f64) -> EnsembleReadoff {
    assert!(!spectra.is_empty(), "ensemble_readoff: no spectra");
    let d = spectra[0].len();
    assert!(d >= 2, "ensemble_readoff: spectra of {d} values");
    assert!(spectra.iter().all(|s| s.len() == d), "ensemble_readoff: spectra of different lengths");
    let sorted: Vec<Vec<f64>> = spectra
        .iter()
        .map(|s| {
            let mut v = s.clone();
            v.sort_by(|a, b| b.total_cmp(a));
            v
        })
        .collect();
    let floor = (spread * spread / 10.0).max(f64::MIN_POSITIVE);
    let logs: Vec<Vec<f64>> = sorted
        .iter()
        .map(|v| v.iter().map(|&l| l.max(floor).ln()).chain(std::iter::once(floor.ln())).collect())
        .collect();
    let m = logs.len() as f64;
    let mean_log: Vec<f64> = (0..=d).map(|i| logs.iter().map(|l| l[i]).sum::<f64>() / m).collect();
    let largest_gap = |l: &[f64]| -> (usize, f64, f64) {
        let (mut best, mut first, mut second) = (1, f64::NEG_INFINITY, f64::NEG_INFINITY);
        for i in 0..l.len() - 1 {
            let g = l[i] - l[i + 1];
            if g > first {
                second = first;
                first = g;
                best = i + 1;
            } else if g > second {
                second = g;
            }
        }
        (best, first, second)
    };
    let (position, first, second) = largest_gap(&mean_log);
    let gap_ratio = if second > 0.0 {
        first / second
    } else if first > 0.0 {
        f64::INFINITY
    } else {
        1.0
    };
    let member_gap_positions: Vec<usize> = logs.iter().map(|l| largest_gap(l).0).collect();
    let count = |v: &[f64], t: f64| v.iter().filter(|&&l| l > t).count();
    let s2 = spread * spread;
    let member_counts: Vec<usize> = sorted.iter().map(|v| count(v, s2)).collect();
    let clear_gap = gap_ratio >= q_min && member_gap_positions.iter().all(|&k| k == position);
    let (dimension, interval) = if clear_gap {
        (position as f64, (position, position))
    } else {
        let mut c = member_counts.clone();
        c.sort_unstable();
        let mid = c.len() / 2;
        let median = if c.len() % 2 == 1 { c[mid] as f64 } else { (c[mid - 1] + c[mid]) as f64 / 2.0 };
        let lo = sorted.iter().map(|v| count(v, 2.0 * s2)).min().unwrap_or(0);
        let hi = sorted.iter().map(|v| count(v, s2 / 2.0)).max().unwrap_or(d);
        (median, (lo, hi))
    };
    EnsembleReadoff {
        dimension,
        interval,
        clear_gap,
        gap_ratio,
        gap_position: position,
        spectrum: mean_log[..d].iter().map(|l| l.exp()).collect(),
        member_gap_positions,
        member_counts,
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

    #[test]
    fn log_gap_ignores_eigenvalues_below_the_resolution_of_the_spectrum() {
        // The final A A^T of the fading-squares model (D = 1024): one direction, a cloud of
        // collapsed ones (1e-8 down to 1e-14), and 84 at rounding level (exact zeros after
        // `Spectrum` clamps, or tiny negatives from a raw eigensolver). Floored at 1e-300, the
        // zeros made the largest gap the one below the cloud: 940 instead of 1.
        let mut spec = vec![0.85];
        spec.extend((0..939).map(|i| 10f64.powf(-8.0 - 6.0 * i as f64 / 938.0)));
        spec.extend([0.0; 80]);
        spec.extend([-1e-17, -3e-18, -2e-20, -1e-16]);
        assert_eq!(spec.len(), 1024);
        assert_eq!(largest_log_gap_count(&spec, 50.0 * 1e-4), 1);
        spec.reverse();
        assert_eq!(largest_log_gap_count(&spec, 50.0 * 1e-4), 1, "the order of the input is irrelevant");
        // A resolved small eigenvalue is still an eigenvalue: the gap to it, not the one
        // below it into the zeros, decides.
        assert_eq!(largest_log_gap_count(&[1.0, 1e-10, 0.0], 1e-3), 1);
        assert_eq!(largest_log_gap_count(&[0.9, 0.3, 0.0, 0.0, -1e-18], 1e-3), 2);
        // Everything at rounding level: no gap anywhere, the first position (as before).
        assert_eq!(largest_log_gap_count(&[0.0, 0.0, 0.0], 1e-3), 1);
    }

    #[test]
    fn a_rule_picks_its_count_from_its_spectrum() {
        let counts = |relative, log_gap, noise_relative, spread_log_gap| RuleCounts {
            relative,
            log_gap,
            noise_relative,
            spread_log_gap,
        };
        let id = IntrinsicDimension {
            prior_eigenvalues: vec![],
            ema_prior_eigenvalues: vec![],
            data_eigenvalues: vec![],
            prior_rules: counts(1, 2, 3, 4),
            raw_prior_rules: counts(5, 6, 7, 8),
            data_rules: counts(9, 10, 11, 12),
            spread: 0.01,
            config: ReadoffConfig::default(),
        };
        assert_eq!(id.estimate(), 10, "the default is the log-gap on the encoded data");
        assert_eq!(id.by(ReadoffRule::NOISE_RELATIVE_DATA), 11);
        assert_eq!(id.by(ReadoffRule::SPREAD_LOG_GAP_DATA), 12);
        assert_eq!(id.by(ReadoffRule { kind: RuleKind::Relative, source: SpectrumSource::EmaPrior }), 1);
        assert_eq!(id.by(ReadoffRule { kind: RuleKind::SpreadLogGap, source: SpectrumSource::RawPrior }), 8);
    }

    #[test]
    fn spread_log_gap_ignores_gaps_below_the_noise() {
        let s = 0.01;
        // The plain log-gap rule picks the gap between two collapsed directions (1e-6 vs
        // 1e-12 is a larger log-gap than 0.5 vs 1e-6); with the s^2 floor it is gone.
        let spec = [0.5, 1e-6, 1e-12];
        assert_eq!(largest_log_gap_count(&spec, 1e-9), 2);
        assert_eq!(spread_log_gap_count(&spec, s), 1);
        // Nothing collapsed: the gap to the virtual floor wins, D.
        assert_eq!(spread_log_gap_count(&[1.0, 0.3, 0.1], s), 3);
        // Two directions above the noise, order of the input irrelevant, rounding negatives.
        assert_eq!(spread_log_gap_count(&[1e-9, 0.8, -1e-17, 0.2], s), 2);
        assert_eq!(RuleCounts::of(&spec, s, ReadoffConfig::default()).spread_log_gap, 1);
    }

    #[test]
    fn noise_sweep_counts_directions_that_do_not_scale_with_the_noise() {
        // Two manifold directions (variance independent of s) and one that is 3 s^2.
        let spectrum = |s: f64| vec![1.2, 0.3, 3.0 * s * s];
        let (a, b, c) = (spectrum(0.003), spectrum(0.01), spectrum(0.03));
        let slopes = noise_sweep_slopes(&[(0.003, &a), (0.01, &b), (0.03, &c)]);
        assert!(slopes[0].abs() < 1e-12 && slopes[1].abs() < 1e-12, "{slopes:?}");
        assert!((slopes[2] - 1.0).abs() < 1e-12, "{slopes:?}");
        assert_eq!(noise_sweep_count(&[(0.01, &b), (0.03, &c)], 0.5), 2);
        // A tangent direction that drifts a little with s (slope 0.2) still counts; a normal
        // direction squeezed harder at small s (variance ~ s^4, slope 2) does not.
        let drift = |s: f64| vec![(s * s).powf(0.2), (s * s).powi(2)];
        let (p, q) = (drift(0.01), drift(0.1));
        let slopes = noise_sweep_slopes(&[(0.01, &p), (0.1, &q)]);
        assert!((slopes[0] - 0.2).abs() < 1e-9 && (slopes[1] - 2.0).abs() < 1e-9, "{slopes:?}");
        assert_eq!(noise_sweep_count(&[(0.1, &q), (0.01, &p)], 0.5), 1);
    }

    #[test]
    fn noise_sweep_never_counts_ranks_below_the_resolution_of_a_spectrum() {
        // One manifold direction, one that scales with the noise, and ranks that collapsed to
        // exact zeros (or rounding) in one or both runs: those are not manifold directions.
        let (lo, hi) = (vec![1.0, 2e-4, 0.0, 1e-18, 0.0], vec![1.1, 2e-2, 0.0, 3e-4, -1e-19]);
        let slopes = noise_sweep_slopes(&[(0.01, &lo), (0.1, &hi)]);
        assert!(slopes[0].abs() < 0.05 && (slopes[1] - 1.0).abs() < 1e-9, "{slopes:?}");
        assert!(slopes[2..].iter().all(|b| *b == f64::INFINITY), "{slopes:?}");
        assert_eq!(noise_sweep_count(&[(0.01, &lo), (0.1, &hi)], 0.5), 1);
    }

    #[test]
    fn an_ensemble_with_a_clear_gap_reads_its_position() {
        // Three members with 3 directions well above s^2 = 0.01 and the rest far below.
        let member = |a: f64| vec![0.3 * a, 0.2, 0.1 / a, 3e-4, 2e-4 * a, 1e-4, 8e-5];
        let r = ensemble_readoff(&[member(1.0), member(1.2), member(0.9)], 0.1, CLEAR_GAP_RATIO);
        assert!(r.clear_gap && r.gap_ratio > 5.0, "{r:?}");
        assert_eq!((r.dimension, r.interval, r.gap_position), (3.0, (3, 3), 3));
        assert_eq!(r.member_counts, vec![3, 3, 3]);
    }

    #[test]
    fn a_smooth_decay_has_no_clear_gap_and_an_interval() {
        // Geometric decay by a factor 1.3 per rank, with seed-to-seed jitter: every log-gap
        // about ln 1.3, the largest lands anywhere.
        let member =
            |j: f64| (0..40).map(|i| 0.2 * 1.3f64.powi(-i) * (1.0 + j * ((i * 7) % 5) as f64 / 50.0)).collect();
        let spectra: Vec<Vec<f64>> = vec![member(0.0), member(1.0), member(-1.0), member(0.5)];
        let r = ensemble_readoff(&spectra, 0.1, CLEAR_GAP_RATIO);
        assert!(!r.clear_gap && r.gap_ratio < CLEAR_GAP_RATIO, "{r:?}");
        // 0.2 / 1.3^i > 0.01 for i <= 11: 12 directions above s^2, the interval around it.
        assert_eq!(r.dimension, 12.0, "{r:?}");
        assert!(r.interval.0 < 12 && r.interval.1 > 12, "{r:?}");
        assert_eq!(r.interval, (9, 15), "count above 2 s^2 and s^2 / 2");
    }

    #[test]
    fn members_that_disagree_on_the_gap_make_it_unclear() {
        let a = vec![1.0, 0.5, 1e-4, 1e-4];
        let b = vec![1.0, 1e-4, 0.9e-4, 0.8e-4];
        let r = ensemble_readoff(&[a.clone(), a, b], 0.1, CLEAR_GAP_RATIO);
        assert!(!r.clear_gap, "{r:?}");
        assert_eq!(r.member_gap_positions, vec![2, 2, 1]);
    }

    #[test]
    #[should_panic(expected = "noise_sweep_slopes: needs spectra at two or more noise levels, got 1")]
    fn noise_sweep_needs_two_noise_levels() {
        noise_sweep_slopes(&[(0.01, &[1.0, 0.1])]);
    }
}
