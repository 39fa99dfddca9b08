//! The estimator check: [`FlowEstimator`] as a user runs it (a fixed data set, its own
//! training loop), with the default the study chose, with the method's setting, and with
//! the default pushed into two failure cases (noise above the curvature radius, too few
//! steps), on every manifold of the grid. The study's runs use fresh batches and the grid's seeds; this check
//! uses fixed data sets drawn from other seeds, so it also tests the choice out of sample.

use manifold_prior::{Estimator as _, FlowEstimator, TrainConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::grid::{Grid, StudyManifold};

/// Seed offset of the check's data sets (distinct from every training, fit and evaluation seed).
const CHECK_SEED: u64 = 6_000_000;

/// Which estimator configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Which {
    /// `FlowEstimator::default()`: data placement, `s = 0.03`, log-gap on the encoded data.
    Default,
    /// `FlowEstimator::method()`: latent placement, `s = 0.01`, noise-relative on the encoded data.
    Method,
    /// The default with `s = 0.3`, above the curvature radius of every graph manifold of the
    /// study (0.20 for the sine curve and the paraboloid, 0.27 for the 3-D curve, in
    /// standardised units): a failure case.
    Noisy,
    /// The default trained for only [`SHORT_STEPS`] steps: a failure case.
    Short,
}

/// Training steps of [`Which::Short`].
pub const SHORT_STEPS: usize = 300;

/// Every configuration of the check, in the order of the report.
pub const ALL: [Which; 4] = [Which::Default, Which::Method, Which::Noisy, Which::Short];

impl Which {
    /// A label for tables.
    pub fn name(self) -> &'static str {
        match self {
            Which::Default => "default (data, s=0.03, log-gap/data)",
            Which::Method => "method (latent, s=0.01, noise-relative/data)",
            Which::Noisy => "default at s=0.3 (above the curvature radius)",
            Which::Short => "default, 300 steps",
        }
    }

    fn estimator(self, seed: u64, steps: usize) -> FlowEstimator {
        let base = match self {
            Which::Default | Which::Short => FlowEstimator::default(),
            Which::Method => FlowEstimator::method(),
            Which::Noisy => {
                let d = FlowEstimator::default();
                FlowEstimator { spread: manifold_prior::SpreadConfig { spread: 0.3, ..d.spread }, ..d }
            }
        };
        let steps = if self == Which::Short { steps.min(SHORT_STEPS) } else { steps };
        FlowEstimator { train: TrainConfig::paper_fig1().with_seed(seed).with_steps(steps), ..base }
    }
}

/// One estimate of the check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRun {
    /// The manifold.
    pub manifold: StudyManifold,
    /// The configuration.
    pub which: Which,
    /// Seed of the estimator (its data set uses another).
    pub seed: u64,
    /// The estimated dimension, or the error.
    pub dimension: Result<usize, String>,
}

/// Run every configuration on a fixed data set of `grid.n_check` points per manifold and
/// seed, `grid.check_steps()` steps each, in parallel.
pub fn run_check(grid: &Grid) -> Vec<CheckRun> {
    let mut jobs = Vec::new();
    for &manifold in &grid.manifolds {
        for &seed in &grid.seeds {
            for which in ALL {
                jobs.push((manifold, seed, which));
            }
        }
    }
    jobs.into_par_iter()
        .map(|(manifold, seed, which)| {
            let mut rng = ChaCha8Rng::seed_from_u64(CHECK_SEED + 1_000 * manifold.index() + seed);
            let data = manifold.sampler().sample(grid.n_check, &mut rng);
            let dimension = which
                .estimator(seed, grid.check_steps())
                .estimate(data.as_ref())
                .map(|e| e.dimension.round() as usize)
                .map_err(|e| e.to_string());
            CheckRun { manifold, which, seed, dimension }
        })
        .collect()
}
