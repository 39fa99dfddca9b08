//! The read-off rules compared by the study, and the tally of how often each recovers the
//! known dimension: per rule, setting and checkpoint, the fraction of seeds that are right.

use manifold_prior::{
    ReadoffConfig, largest_log_gap_count, noise_relative_count, noise_sweep_count, relative_count, spread_log_gap_count,
};
use serde::Serialize;

use super::grid::{Grid, RunSpec, Setting};
use super::run::{Checkpoint, RunResult};

/// The slope of `ln lambda` against `ln s^2` below which the noise sweep counts a direction
/// (halfway between 0, "carries the manifold", and 1, "scales with the noise"; fixed before
/// the study ran).
pub const SWEEP_MAX_SLOPE: f64 = 0.5;

/// Which spectrum a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Spectrum {
    /// `A A^T` with the current parameters.
    RawPrior,
    /// `A A^T` with the exponential moving average of `A` (decay 0.999).
    EmaPrior,
    /// The covariance of the encoded evaluation set `g(x)`.
    Data,
}

impl Spectrum {
    /// `raw`, `ema` or `data`.
    pub fn name(self) -> &'static str {
        match self {
            Spectrum::RawPrior => "raw",
            Spectrum::EmaPrior => "ema",
            Spectrum::Data => "data",
        }
    }

    /// The spectrum of a checkpoint.
    pub fn of(self, c: &Checkpoint) -> &[f64] {
        match self {
            Spectrum::RawPrior => &c.raw_prior,
            Spectrum::EmaPrior => &c.ema_prior,
            Spectrum::Data => &c.data,
        }
    }
}

/// How a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Kind {
    /// Rule 1: `lambda_i / lambda_max > 1e-2`.
    Relative,
    /// Rule 2: the largest log-gap (`D` when nothing is below `c s^2`).
    LogGap,
    /// Rule 3: `lambda_i > 50 s^2`.
    NoiseRelative,
    /// Rule 4: the largest gap of `ln(lambda + s^2)`.
    SpreadLogGap,
    /// Rule 5: the noise sweep over the run and its twin at the next noise level.
    NoiseSweep,
    /// Rule 5 on the total latent variance `lambda + s^2`: the variance of the noisy codes
    /// `g(x) + eps` under the latent placement (Horvat and Pfister's inflated variance), so
    /// directions the flow squeezed to nothing scale exactly like `s^2`.
    NoiseSweepTotal,
}

impl Kind {
    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Relative => "relative",
            Kind::LogGap => "log-gap",
            Kind::NoiseRelative => "noise-relative",
            Kind::SpreadLogGap => "spread-log-gap",
            Kind::NoiseSweep => "noise-sweep",
            Kind::NoiseSweepTotal => "noise-sweep-total",
        }
    }
}

/// A rule applied to a spectrum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Rule {
    /// How it counts.
    pub kind: Kind,
    /// What it reads.
    pub spectrum: Spectrum,
}

impl Rule {
    /// `noise-relative/data`.
    pub fn label(self) -> String {
        format!("{}/{}", self.kind.name(), self.spectrum.name())
    }

    /// True for the rules that need runs at two noise levels.
    pub fn is_sweep(self) -> bool {
        matches!(self.kind, Kind::NoiseSweep | Kind::NoiseSweepTotal)
    }

    /// The count of a single-run rule on one checkpoint at noise level `s`.
    ///
    /// # Panics
    /// For the noise sweep (use [`Rule::sweep_count`]).
    #[track_caller]
    pub fn count(self, c: &Checkpoint, s: f64) -> usize {
        let cfg = ReadoffConfig::default();
        let e = self.spectrum.of(c);
        match self.kind {
            Kind::Relative => relative_count(e, cfg.relative_tau),
            Kind::LogGap => largest_log_gap_count(e, cfg.noise_c * s * s),
            Kind::NoiseRelative => noise_relative_count(e, s, cfg.noise_c),
            Kind::SpreadLogGap => spread_log_gap_count(e, s),
            Kind::NoiseSweep | Kind::NoiseSweepTotal => {
                panic!("Rule::count: the noise sweep needs two runs; use Rule::sweep_count")
            }
        }
    }

    /// The noise sweep on the same checkpoint of two runs at noise levels `s_lo < s_hi`
    /// ([`Kind::NoiseSweepTotal`] adds `s^2` to every eigenvalue first).
    ///
    /// # Panics
    /// For a single-run rule (use [`Rule::count`]).
    #[track_caller]
    pub fn sweep_count(self, lo: (&Checkpoint, f64), hi: (&Checkpoint, f64)) -> usize {
        let add = match self.kind {
            Kind::NoiseSweep => false,
            Kind::NoiseSweepTotal => true,
            _ => panic!("Rule::sweep_count: {} reads one run; use Rule::count", self.label()),
        };
        let spectrum = |(c, s): (&Checkpoint, f64)| -> Vec<f64> {
            self.spectrum.of(c).iter().map(|&l| if add { l + s * s } else { l }).collect()
        };
        let (e_lo, e_hi) = (spectrum(lo), spectrum(hi));
        noise_sweep_count(&[(lo.1, &e_lo), (hi.1, &e_hi)], SWEEP_MAX_SLOPE)
    }
}

/// Every rule the study compares, in the order of the heat-map rows.
pub fn all_rules() -> Vec<Rule> {
    use Kind::*;
    use Spectrum::*;
    let mut rules = Vec::new();
    for kind in [Relative, LogGap, NoiseRelative, SpreadLogGap] {
        for spectrum in [RawPrior, EmaPrior, Data] {
            rules.push(Rule { kind, spectrum });
        }
    }
    for kind in [NoiseSweep, NoiseSweepTotal] {
        rules.push(Rule { kind, spectrum: EmaPrior });
        rules.push(Rule { kind, spectrum: Data });
    }
    rules
}

/// The estimate of one rule for one run at one checkpoint; `None` when the run has no such
/// checkpoint (it diverged before) or, for the sweep, when the setting has no partner.
pub fn estimate(rule: Rule, grid: &Grid, results: &[RunResult], run: usize, step: usize) -> Option<usize> {
    let r = &results[run];
    let c = r.checkpoint(step)?;
    if !rule.is_sweep() {
        return Some(rule.count(c, r.spec.setting.s));
    }
    let s_hi = grid.next_spread(r.spec.setting.s)?;
    let twin = RunSpec { setting: r.spec.setting.with_s(s_hi), seed: r.spec.seed };
    let other = results.iter().find(|o| o.spec == twin)?;
    let c_hi = other.checkpoint(step)?;
    Some(rule.sweep_count((c, r.spec.setting.s), (c_hi, s_hi)))
}

/// How often one rule was right in one setting at one checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The rule.
    pub rule: Rule,
    /// The setting.
    pub setting: Setting,
    /// The checkpoint.
    pub step: usize,
    /// Runs whose estimate equals the known dimension.
    pub correct: usize,
    /// Runs with an estimate at this checkpoint (diverged runs and missing sweep partners
    /// are not counted here; see `missing`).
    pub total: usize,
    /// Runs of the setting without an estimate (diverged before the checkpoint); counted as
    /// wrong in [`Cell::fraction`].
    pub missing: usize,
    /// The estimates, one per seed (None: missing).
    pub estimates: Vec<Option<usize>>,
}

impl Cell {
    /// `correct / (total + missing)`, NaN when the rule does not apply (a noise sweep at the
    /// largest noise level).
    pub fn fraction(&self) -> f64 {
        let n = self.total + self.missing;
        if n == 0 { f64::NAN } else { self.correct as f64 / n as f64 }
    }
}

/// The tally of every rule, setting and checkpoint.
pub fn tally(grid: &Grid, results: &[RunResult]) -> Vec<Cell> {
    let mut cells = Vec::new();
    for rule in all_rules() {
        for setting in grid.settings() {
            let sweep_na = rule.is_sweep() && grid.next_spread(setting.s).is_none();
            for &step in &grid.checkpoints {
                let mut cell = Cell { rule, setting, step, correct: 0, total: 0, missing: 0, estimates: Vec::new() };
                if !sweep_na {
                    for (i, _) in results.iter().enumerate().filter(|(_, r)| r.spec.setting == setting) {
                        let est = estimate(rule, grid, results, i, step);
                        match est {
                            Some(k) => {
                                cell.total += 1;
                                if k == setting.manifold.intrinsic_dim() {
                                    cell.correct += 1;
                                }
                            }
                            None => cell.missing += 1,
                        }
                        cell.estimates.push(est);
                    }
                }
                cells.push(cell);
            }
        }
    }
    cells
}

/// The fraction of runs a rule gets right over every cell that `keep` selects (cells that do
/// not apply are skipped), with the numerator and denominator.
pub fn pooled(cells: &[Cell], keep: impl Fn(&Cell) -> bool) -> (usize, usize) {
    cells
        .iter()
        .filter(|c| keep(c) && c.total + c.missing > 0)
        .fold((0, 0), |(k, n), c| (k + c.correct, n + c.total + c.missing))
}
