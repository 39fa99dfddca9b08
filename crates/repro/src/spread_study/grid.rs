//! The grid of the spread study: manifolds with known dimension, noise levels, spread
//! placements, conditioner designs, seeds and the checkpoints at which each run is read.

use datasets::{Manifold, embedding_frame};
use faer::{Mat, MatRef};
use manifold_prior::Activation;
use manifold_prior::{PAPER_ACTIVATION, PAPER_HIDDEN, SpreadPlacement};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Seed of the fixed rotation that embeds the paraboloid into `R^10`.
pub const EMBED_SEED: u64 = 10;
/// Ambient dimension of [`StudyManifold::ParaboloidIn10`].
pub const EMBED_DIM: usize = 10;

/// A graph manifold of the study, with its known intrinsic dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum StudyManifold {
    /// The paper's sine curve `x2 = sin(2 x1)` in `R^2` (ID 1).
    Sine,
    /// The curve `(x1, sin(2 x1), x1^2 / 2)` in `R^3` (ID 1).
    SineGraph3d,
    /// The paraboloid `x3 = x1^2 + x2^2` in `R^3` (ID 2).
    Paraboloid,
    /// The paraboloid embedded in `R^10` by a fixed random rotation (ID 2).
    ParaboloidIn10,
    /// The unit circle in `R^2` (ID 1): a closed curve, which no diffeomorphism of `R^2`
    /// flattens; the control for the topology caveat, left out of every pooled number.
    Circle,
}

impl StudyManifold {
    /// The four graph manifolds of the issue, in the order of the figures.
    pub const GRAPHS: [StudyManifold; 4] =
        [StudyManifold::Sine, StudyManifold::SineGraph3d, StudyManifold::Paraboloid, StudyManifold::ParaboloidIn10];

    /// The graph manifolds and the closed control.
    pub fn all() -> Vec<StudyManifold> {
        let mut v = Self::GRAPHS.to_vec();
        v.push(StudyManifold::Circle);
        v
    }

    /// True for the closed control: excluded from pooled fractions and from the choice of
    /// the default read-off.
    pub fn is_closed(self) -> bool {
        self == StudyManifold::Circle
    }

    /// A fixed index (seeds of the standardisation and evaluation sets).
    pub fn index(self) -> u64 {
        self as u64
    }

    /// The name used in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            StudyManifold::Sine => "sine",
            StudyManifold::SineGraph3d => "sine-graph-3d",
            StudyManifold::Paraboloid => "paraboloid",
            StudyManifold::ParaboloidIn10 => "paraboloid-in-10",
            StudyManifold::Circle => "circle",
        }
    }

    /// The generator of `datasets` behind it.
    fn native(self) -> Manifold {
        match self {
            StudyManifold::Sine => Manifold::SineCurve,
            StudyManifold::SineGraph3d => Manifold::SineGraph3d,
            StudyManifold::Paraboloid | StudyManifold::ParaboloidIn10 => Manifold::Paraboloid,
            StudyManifold::Circle => Manifold::Circle,
        }
    }

    /// The known intrinsic dimension `K`.
    pub fn intrinsic_dim(self) -> usize {
        self.native().intrinsic_dim()
    }

    /// The ambient dimension `D` the flow sees.
    pub fn dim(self) -> usize {
        match self {
            StudyManifold::ParaboloidIn10 => EMBED_DIM,
            _ => self.native().ambient_dim(),
        }
    }

    /// The `D x d` embedding frame `B` (orthonormal columns) of the embedded variant.
    fn frame(self) -> Option<Mat<f64>> {
        match self {
            StudyManifold::ParaboloidIn10 => Some(embedding_frame(self.native().ambient_dim(), EMBED_DIM, EMBED_SEED)),
            _ => None,
        }
    }

    /// A sampler `n x D` of fresh i.i.d. points, for training batches and evaluation sets.
    pub fn sampler(self) -> Sampler {
        Sampler { manifold: self, frame: self.frame() }
    }
}

/// Draws points of a [`StudyManifold`] and measures distances to it (the frame of the
/// embedded variant is computed once).
#[derive(Debug, Clone)]
pub struct Sampler {
    manifold: StudyManifold,
    frame: Option<Mat<f64>>,
}

impl Sampler {
    /// `n` fresh points, one per row, `n x D` (embedded rows are `y = B x`).
    pub fn sample(&self, n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
        let x = self.manifold.native().sample(n, rng);
        match &self.frame {
            Some(b) => &x * b.transpose(),
            None => x,
        }
    }

    /// The distance of each row of `y` (`n x D`) to the manifold, in data units: the
    /// generator's closed form (the vertical residual for graphs); for the embedded variant
    /// `sqrt(|y - B B^T y|^2 + e(B^T y)^2)`, the part outside the rotated `R^3` and the
    /// residual inside it. Rows with a non-finite entry get `+inf`.
    pub fn distance(&self, y: MatRef<'_, f64>) -> Vec<f64> {
        let native = self.manifold.native();
        match &self.frame {
            None => native.manifold_error(y).unwrap_or_else(|| vec![f64::NAN; y.nrows()]),
            Some(b) => {
                let x = y * b; // n x 3: coordinates in the rotated frame
                let back = &x * b.transpose();
                let inside = native.manifold_error(x.as_ref()).unwrap_or_else(|| vec![f64::NAN; y.nrows()]);
                (0..y.nrows())
                    .map(|i| {
                        let out: f64 = (0..y.ncols()).map(|j| (y[(i, j)] - back[(i, j)]).powi(2)).sum();
                        let d = (out + inside[i] * inside[i]).sqrt();
                        if d.is_finite() { d } else { f64::INFINITY }
                    })
                    .collect()
            }
        }
    }
}

/// The conditioner MLP of the additive couplings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Conditioner {
    /// The paper's `k -> 24 -> 24 -> 24 -> k` with LeakyReLU(0.2).
    Paper,
    /// A wider `k -> 64 -> 64 -> k` with ReLU.
    Wide,
}

impl Conditioner {
    /// Both, paper first.
    pub const ALL: [Conditioner; 2] = [Conditioner::Paper, Conditioner::Wide];

    /// The name used in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Conditioner::Paper => "paper-24x3-lrelu",
            Conditioner::Wide => "wide-64x2-relu",
        }
    }

    /// A short label for figures.
    pub fn short(self) -> &'static str {
        match self {
            Conditioner::Paper => "paper",
            Conditioner::Wide => "wide",
        }
    }

    /// Hidden widths.
    pub fn hidden(self) -> &'static [usize] {
        match self {
            Conditioner::Paper => &PAPER_HIDDEN,
            Conditioner::Wide => &[64, 64],
        }
    }

    /// The activation.
    pub fn activation(self) -> Activation {
        match self {
            Conditioner::Paper => PAPER_ACTIVATION,
            Conditioner::Wide => Activation::Relu,
        }
    }
}

/// The name of a spread placement in files and tables.
pub fn placement_name(p: SpreadPlacement) -> &'static str {
    match p {
        SpreadPlacement::Latent => "latent",
        SpreadPlacement::Data => "data",
    }
}

/// One cell of the grid without the seed: what a heat-map column shows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Setting {
    /// The manifold.
    pub manifold: StudyManifold,
    /// Where the spread noise enters.
    #[serde(serialize_with = "ser_placement")]
    pub placement: SpreadPlacement,
    /// The conditioner design.
    pub conditioner: Conditioner,
    /// The noise level `s` (standardised units).
    pub s: f64,
}

fn ser_placement<S: serde::Serializer>(p: &SpreadPlacement, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(placement_name(*p))
}

impl Setting {
    /// `sine/latent/paper/s=0.01`.
    pub fn label(&self) -> String {
        format!("{}/{}/{}/s={}", self.manifold.name(), placement_name(self.placement), self.conditioner.short(), self.s)
    }

    /// The same setting at another noise level.
    pub fn with_s(self, s: f64) -> Self {
        Self { s, ..self }
    }
}

/// One training run: a setting and a seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunSpec {
    /// The setting.
    pub setting: Setting,
    /// The seed of the weights, the batches and the noise.
    pub seed: u64,
}

/// Which grid to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GridSize {
    /// Everything of the issue: 4 graph manifolds (and the circle as a closed control) x 4
    /// noise levels x 2 placements x 2 conditioners x the seeds, checkpoints 1k, 3k, 10k, 30k.
    Full,
    /// `--quick`: 4 graph manifolds and the circle x s in {0.01, 0.03} x 2 placements x the
    /// paper conditioner x 3 seeds, checkpoints 1k, 3k and 10k.
    Quick,
    /// The test size: 2 manifolds, 2 noise levels, 1 placement, 1 conditioner, 1 seed, a few
    /// dozen steps.
    Smoke,
}

/// The full description of a study run.
#[derive(Debug, Clone, Serialize)]
pub struct Grid {
    /// Which preset it came from.
    pub size: GridSize,
    /// Manifolds.
    pub manifolds: Vec<StudyManifold>,
    /// Noise levels, increasing.
    pub spreads: Vec<f64>,
    /// Placements.
    #[serde(serialize_with = "ser_placements")]
    pub placements: Vec<SpreadPlacement>,
    /// Conditioners.
    pub conditioners: Vec<Conditioner>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Steps at which every run is read, increasing; the last is the run's length.
    pub checkpoints: Vec<usize>,
    /// Additive coupling layers of every flow.
    pub n_layers: usize,
    /// Points of the fixed evaluation set (encoded-data spectrum) and samples drawn for the
    /// on-manifold quality, per checkpoint.
    pub n_eval: usize,
    /// Points used to fit the global standardisation.
    pub n_fit: usize,
    /// Points of each fixed data set of the estimator check ([`super::check`]).
    pub n_check: usize,
}

fn ser_placements<S: serde::Serializer>(p: &[SpreadPlacement], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(p.iter().map(|&p| placement_name(p)))
}

/// The checkpoints of the issue.
pub const FULL_CHECKPOINTS: [usize; 4] = [1_000, 3_000, 10_000, 30_000];

impl Grid {
    /// The grid of a preset. `n_seeds` seeds `0..n_seeds` (the quick grid uses at most 3);
    /// `steps` (if set) replaces the last checkpoint: checkpoints beyond it are dropped and
    /// `steps` itself is added.
    pub fn new(size: GridSize, n_seeds: usize, steps: Option<usize>) -> Self {
        let mut grid = match size {
            GridSize::Full => Grid {
                size,
                manifolds: StudyManifold::all(),
                spreads: vec![0.003, 0.01, 0.03, 0.1],
                placements: vec![SpreadPlacement::Latent, SpreadPlacement::Data],
                conditioners: Conditioner::ALL.to_vec(),
                seeds: (0..n_seeds as u64).collect(),
                checkpoints: FULL_CHECKPOINTS.to_vec(),
                n_layers: 6,
                n_eval: 4_000,
                n_fit: 20_000,
                n_check: 2_000,
            },
            GridSize::Quick => Grid {
                size,
                manifolds: StudyManifold::all(),
                spreads: vec![0.01, 0.03],
                placements: vec![SpreadPlacement::Latent, SpreadPlacement::Data],
                conditioners: vec![Conditioner::Paper],
                seeds: (0..n_seeds.min(3) as u64).collect(),
                checkpoints: vec![1_000, 3_000, 10_000],
                n_layers: 6,
                n_eval: 2_000,
                n_fit: 20_000,
                n_check: 2_000,
            },
            GridSize::Smoke => Grid {
                size,
                manifolds: vec![StudyManifold::Sine, StudyManifold::ParaboloidIn10],
                spreads: vec![0.01, 0.03],
                placements: vec![SpreadPlacement::Data],
                conditioners: vec![Conditioner::Paper],
                seeds: vec![0],
                checkpoints: vec![10, 30],
                n_layers: 2,
                n_eval: 200,
                n_fit: 1_000,
                n_check: 100,
            },
        };
        if let Some(steps) = steps {
            grid.checkpoints.retain(|&c| c < steps);
            grid.checkpoints.push(steps);
        }
        grid
    }

    /// Training steps of the estimator check: the estimator's preset (10k) or the grid's
    /// length if shorter.
    pub fn check_steps(&self) -> usize {
        self.steps().min(10_000)
    }

    /// The length of every run.
    pub fn steps(&self) -> usize {
        self.checkpoints.last().copied().unwrap_or(0)
    }

    /// Every setting, in the order manifold, placement, conditioner, noise level.
    pub fn settings(&self) -> Vec<Setting> {
        let mut out = Vec::new();
        for &manifold in &self.manifolds {
            for &placement in &self.placements {
                for &conditioner in &self.conditioners {
                    for &s in &self.spreads {
                        out.push(Setting { manifold, placement, conditioner, s });
                    }
                }
            }
        }
        out
    }

    /// Every run: each setting with each seed.
    pub fn runs(&self) -> Vec<RunSpec> {
        self.settings()
            .into_iter()
            .flat_map(|setting| self.seeds.iter().map(move |&seed| RunSpec { setting, seed }))
            .collect()
    }

    /// The next larger noise level of the grid, the partner of `s` in the noise sweep.
    pub fn next_spread(&self, s: f64) -> Option<f64> {
        self.spreads.iter().copied().filter(|&t| t > s).min_by(f64::total_cmp)
    }
}
