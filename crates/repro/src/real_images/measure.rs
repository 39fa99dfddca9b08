//! Training the two models per seed and measuring the three claims.

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::Context as _;
use faer::{Mat, MatRef};
use indicatif::ProgressBar;
use intrinsic_dim::{Estimator, Mle, TwoNn};
use manifold_prior::autodiff_lite::Tape;
use manifold_prior::{
    DataSource, FitOptions, FittedModel, FlowModel, IntrinsicDimension, LogRow, Model, TrainEvent, TrainObserver, fit,
};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{
    CONFIDENT, ImageData, KNN_K, LOW_TEMPERATURE, ModelKind, PR_K, Protocol, judge, model_config, plot, select_rows,
};
use crate::image_metrics::{Classifier, Pca, frechet_distance, knn_accuracy, linear_probe, precision_recall};
use crate::progress::{self, BarObserver};
use crate::{Report, RunContext};

/// Seeds of the evaluation streams (samples, dequantisation of the test set), offset so
/// they never coincide with a training seed.
const EVAL_SEED: u64 = 1_000_000;
/// The seed of the split of the training images into training and validation rows.
const SPLIT_SEED: u64 = 77;
/// At most this many validation rows are scored (every `log_interval` steps).
const MAX_VALIDATION_ROWS: usize = 1_000;
/// Images per sample grid (10 x 10).
pub(crate) const GRID: usize = 100;

/// The sample-quality metrics of one set of images against the test set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Frechet distance of the classifier features.
    pub frechet: f64,
    /// Precision (k = 3).
    pub precision: f64,
    /// Recall (k = 3).
    pub recall: f64,
    /// Fraction classified with probability above 0.9.
    pub confident: f64,
}

/// Linear-probe and 5-NN accuracy of one representation at one `K`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReprRow {
    /// `ID` or the number.
    pub label: String,
    /// The `K` used.
    pub k: usize,
    /// Linear-probe test accuracy.
    pub probe: f64,
    /// 5-NN test accuracy.
    pub knn: f64,
}

/// What was measured on one trained model.
#[derive(Debug, Clone)]
pub struct ModelResult {
    /// Which model.
    pub kind: ModelKind,
    /// Its training seed.
    pub seed: u64,
    /// Scalar parameters.
    pub n_params: usize,
    /// Claim (a).
    pub quality: Quality,
    /// A diagnostic beside claim (a), for the spread flow only: the quality of samples drawn
    /// from the Gaussian of its encoded training images instead of its prior
    /// ([`FittedModel::sample_encoded_gaussian`]), which says whether the prior or the flow limits the samples.
    pub codes_gaussian_quality: Option<Quality>,
    /// Claim (b), one row per `K`.
    pub repr: Vec<ReprRow>,
    /// The training log (mean loss per interval).
    pub log: Vec<LogRow>,
    /// `(step, validation loss)`.
    pub validation: Vec<(usize, f64)>,
    /// Bits per dimension on the dequantised test set (standard flow only).
    pub bits_per_dim: Option<f64>,
    /// Training wall time in seconds.
    pub train_seconds: f64,
}

/// The classical estimates on one set of images (NaN where an estimator failed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassicalId {
    /// MLE with k = 5, 10, 20 (Levina-Bickel, MacKay-Ghahramani average).
    pub mle: [f64; 3],
    /// TwoNN.
    pub twonn: f64,
}

impl ClassicalId {
    /// The smallest and largest of the four estimates (NaN ignored).
    pub fn range(&self) -> (f64, f64) {
        let v = self.mle.iter().chain([&self.twonn]).copied().filter(|v| v.is_finite());
        v.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)))
    }
}

/// The neighbours of MLE.
pub const MLE_KS: [usize; 3] = [5, 10, 20];

/// MLE (k = 5, 10, 20) and TwoNN on the rows of `x`.
pub fn classical_id(x: MatRef<'_, f64>) -> ClassicalId {
    let run = |e: &dyn Estimator| e.estimate(x).map(|r| r.dimension).unwrap_or(f64::NAN);
    ClassicalId { mle: MLE_KS.map(|k| run(&Mle::new(k))), twonn: run(&TwoNn::default()) }
}

/// A trained model, its validation losses `(step, loss)` and its training seconds.
type Trained = (FittedModel, Vec<(usize, f64)>, f64);

/// Everything measured for one seed.
#[derive(Debug, Clone)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// The standard flow.
    pub standard: ModelResult,
    /// The spread flow.
    pub spread: ModelResult,
    /// The spread flow's read-off on the ID images.
    pub id: IntrinsicDimension,
    /// The read-off per class (classes in order).
    pub id_classes: Vec<IntrinsicDimension>,
}

impl SeedResult {
    /// The default read-off (the library's [`manifold_prior::ReadoffRule::default`]).
    pub fn readoff(&self) -> usize {
        self.id.estimate()
    }
}

/// The images the figures show (from the figure seed).
#[derive(Debug, Clone)]
pub struct FigureImages {
    /// 100 test images.
    pub test: Mat<f64>,
    /// `[standard, spread]` x `[T = 1, T = 0.7]`, 100 samples each, clipped to `[0, 1]`.
    pub samples: [[Mat<f64>; 2]; 2],
    /// The training images (for the nearest-neighbour figure).
    pub train: Mat<f64>,
}

/// Everything the report and the figures need.
#[derive(Debug, Clone)]
pub struct Measurements {
    /// Per seed.
    pub seeds: Vec<SeedResult>,
    /// Real training images against the test set (the floor of claim (a)).
    pub floor: Quality,
    /// Raw pixels (`K` = D).
    pub raw: ReprRow,
    /// PCA of the pixels per `K`.
    pub pca: BTreeMap<usize, ReprRow>,
    /// Classical estimates on the ID images, overall and per class.
    pub classical: ClassicalId,
    /// Per class.
    pub classical_classes: Vec<ClassicalId>,
    /// The classifier's test accuracy, parameters and whether it came from the cache.
    pub classifier: (f64, usize, bool),
    /// The figure seed's images.
    pub figures: FigureImages,
    /// Side of the images.
    pub side: usize,
    /// The seed the figures come from.
    pub figure_seed: u64,
}

/// The observer of one fit: drives its progress bar and scores the validation rows every
/// `interval` steps (the same noise draw every time, as `fit` does).
struct Observer<'a> {
    bar: BarObserver,
    validation: MatRef<'a, f64>,
    interval: usize,
    steps: usize,
    seed: u64,
    rows: Vec<(usize, f64)>,
}

impl TrainObserver<FlowModel> for Observer<'_> {
    fn on_event(&mut self, event: &TrainEvent<'_>, model: &FlowModel) {
        self.bar.on_event(event, model);
        let TrainEvent::Step { step, .. } = *event else { return };
        if step % self.interval == 0 || step == self.steps {
            let mut tape = Tape::no_grad();
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x7a11d);
            let loss = model.record_loss(&mut tape, self.validation, &mut rng).map_or(f64::NAN, |l| tape.scalar(l));
            self.rows.push((step, loss));
        }
    }
}

/// Clip every pixel to `[0, 1]` (samples can leave the data's range).
fn clip(x: Mat<f64>) -> Mat<f64> {
    Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)].clamp(0.0, 1.0))
}

fn quality(
    classifier: &Classifier,
    test_features: MatRef<'_, f64>,
    images: MatRef<'_, f64>,
) -> anyhow::Result<Quality> {
    let features = classifier.features(images);
    let pr = precision_recall(test_features, features.as_ref(), PR_K)?;
    Ok(Quality {
        frechet: frechet_distance(features.as_ref(), test_features)?,
        precision: pr.precision,
        recall: pr.recall,
        confident: classifier.confident_fraction(images, CONFIDENT),
    })
}

/// Train both models for every seed, measure, draw, and return the report.
pub(crate) fn run(ctx: &RunContext, data: &ImageData, protocol: &Protocol) -> anyhow::Result<Report> {
    let start = std::time::Instant::now();
    let mut seeds = if protocol.quick { vec![ctx.seed] } else { ctx.seeds() };
    if !seeds.contains(&ctx.seed) {
        seeds.push(ctx.seed);
    }
    let mut protocol = protocol.clone();
    if let Some(steps) = ctx.steps {
        protocol.steps = steps;
    }
    let n_classes = data.n_classes();

    // The classifier, cached in the output folder.
    let (classifier, cached) = Classifier::fit_or_load(
        &ctx.out("classifier"),
        data.train.as_ref(),
        &data.train_labels,
        n_classes,
        data.test.as_ref(),
        &data.test_labels,
        &protocol.classifier,
    )
    .context("training the classifier")?;
    let test_features = classifier.features(data.test.as_ref());

    // The flows train on the training images minus a validation part, dequantised afresh
    // every step.
    let mut order: Vec<usize> = (0..data.train.nrows()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(SPLIT_SEED));
    let held = ((protocol.validation_fraction * order.len() as f64).round() as usize).min(order.len() - 1);
    let (val_rows, fit_rows) = order.split_at(held);
    let fit_images = select_rows(data.train.as_ref(), fit_rows);
    let validation = data.dequantise(
        select_rows(data.train.as_ref(), &val_rows[..val_rows.len().min(MAX_VALIDATION_ROWS)]).as_ref(),
        &mut ChaCha8Rng::seed_from_u64(SPLIT_SEED + 1),
    );

    let jobs: Vec<(ModelKind, u64)> =
        seeds.iter().flat_map(|&s| [(ModelKind::Standard, s), (ModelKind::Spread, s)]).collect();
    let bars = Mutex::new(progress::multi(ctx.verbosity));
    let trained: Vec<(ModelKind, u64, Trained)> = jobs
        .into_par_iter()
        .map(|(kind, seed)| {
            let config = model_config(kind, &protocol, seed);
            let label = format!("{} s{seed}", kind.name());
            let bar = bars.lock().map(|m| progress::add_bar(&m, protocol.steps as u64, &label)).ok();
            let mut observer = Observer {
                bar: BarObserver::new(bar.unwrap_or_else(ProgressBar::hidden), 10),
                validation: validation.as_ref(),
                interval: config.log_interval,
                steps: protocol.steps,
                seed,
                rows: Vec::new(),
            };
            let mut generate = |n: usize, rng: &mut ChaCha8Rng| {
                let rows: Vec<usize> = (0..n).map(|_| rng.random_range(0..fit_images.nrows())).collect();
                data.dequantise(select_rows(fit_images.as_ref(), &rows).as_ref(), rng)
            };
            let t0 = std::time::Instant::now();
            let model = fit(DataSource::Generator(&mut generate), &config, &FitOptions::default(), &mut observer)
                .with_context(|| format!("training the {} flow (seed {seed})", kind.name()))?;
            Ok((kind, seed, (model, observer.rows, t0.elapsed().as_secs_f64())))
        })
        .collect::<anyhow::Result<_>>()?;

    // References: real images (the floor), raw pixels, PCA of the pixels.
    let n_floor = protocol.n_samples.min(data.train.nrows());
    let floor = quality(&classifier, test_features.as_ref(), data.train.get(..n_floor, ..))?;
    let probe = |tr: MatRef<'_, f64>, te: MatRef<'_, f64>, label: String, k: usize| -> anyhow::Result<ReprRow> {
        Ok(ReprRow {
            label,
            k,
            probe: linear_probe(tr, &data.train_labels, te, &data.test_labels, &protocol.probe)?,
            knn: knn_accuracy(tr, &data.train_labels, te, &data.test_labels, KNN_K)?,
        })
    };
    let raw = probe(data.train.as_ref(), data.test.as_ref(), "pixels".into(), data.dim())?;
    let pixel_pca = Pca::fit(data.train.as_ref())?;
    let mut pca = BTreeMap::new();

    // The images the intrinsic dimension is read from, overall and per class.
    let id_n = protocol.id_rows.min(data.train.nrows());
    let id_x = data.train.get(..id_n, ..);
    let class_rows: Vec<Vec<usize>> =
        (0..n_classes).map(|c| (0..id_n).filter(|&i| data.train_labels[i] == c).collect()).collect();
    let classical = classical_id(id_x);
    let classical_classes: Vec<ClassicalId> =
        class_rows.iter().map(|rows| classical_id(select_rows(id_x, rows).as_ref())).collect();

    let mut by_seed: BTreeMap<u64, [Option<Trained>; 2]> = BTreeMap::new();
    for (kind, seed, t) in trained {
        by_seed.entry(seed).or_default()[kind as usize] = Some(t);
    }
    let mut results = Vec::new();
    let mut figures = None;
    for (seed, [standard, spread]) in by_seed {
        let (standard, spread) = (standard.context("standard flow missing")?, spread.context("spread flow missing")?);
        let id = spread.0.intrinsic_dimension(id_x)?.context("the spread flow has a read-off")?;
        let id_classes = class_rows
            .iter()
            .map(|rows| spread.0.intrinsic_dimension(select_rows(id_x, rows).as_ref())?.context("read-off"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let readoff = id.estimate().clamp(1, data.dim());
        let mut ks: Vec<(String, usize)> = vec![("ID".into(), readoff)];
        ks.extend(protocol.ks.iter().filter(|&&k| k <= data.dim()).map(|&k| (k.to_string(), k)));
        for &(_, k) in &ks {
            if let std::collections::btree_map::Entry::Vacant(e) = pca.entry(k) {
                let (tr, te) = (pixel_pca.project(data.train.as_ref(), k), pixel_pca.project(data.test.as_ref(), k));
                e.insert(probe(tr.as_ref(), te.as_ref(), format!("PCA-{k}"), k)?);
            }
        }
        let kmax = ks.iter().map(|k| k.1).max().unwrap_or(1);
        let mut measured = Vec::new();
        let mut grids = Vec::new();
        for (kind, (model, val, secs)) in [(ModelKind::Standard, standard), (ModelKind::Spread, spread)] {
            let salt = EVAL_SEED + 10 * seed + kind as u64;
            let samples = clip(model.sample(protocol.n_samples, salt, 1.0));
            let q = quality(&classifier, test_features.as_ref(), samples.as_ref())?;
            let codes_gaussian_quality = match kind {
                ModelKind::Spread => {
                    let codes_gaussian =
                        clip(model.sample_encoded_gaussian(fit_images.as_ref(), protocol.n_samples, salt + 7, 1.0)?);
                    Some(quality(&classifier, test_features.as_ref(), codes_gaussian.as_ref())?)
                }
                ModelKind::Standard => None,
            };
            // Codes: the spread flow's projection on the top eigenvectors of A A^T; the
            // standard flow's codes on their principal components (fitted on the training
            // codes, so training and test codes share one basis).
            let (tr, te) = match kind {
                ModelKind::Spread => {
                    (model.encode(data.train.as_ref(), Some(kmax))?, model.encode(data.test.as_ref(), Some(kmax))?)
                }
                ModelKind::Standard => {
                    let z_tr = model.encode(data.train.as_ref(), None)?;
                    let z_te = model.encode(data.test.as_ref(), None)?;
                    let p = Pca::fit(z_tr.as_ref())?;
                    (p.project(z_tr.as_ref(), kmax), p.project(z_te.as_ref(), kmax))
                }
            };
            let repr = ks
                .iter()
                .map(|(label, k)| probe(tr.get(.., ..*k), te.get(.., ..*k), label.clone(), *k))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let bits_per_dim = match kind {
                ModelKind::Standard => {
                    let xt = data.dequantise(data.test.as_ref(), &mut ChaCha8Rng::seed_from_u64(EVAL_SEED - 1));
                    let lp = model.log_prob(xt.as_ref())?;
                    let d = data.dim() as f64;
                    let mean = lp.iter().sum::<f64>() / lp.len().max(1) as f64;
                    Some((-mean + d * data.levels.ln()) / (d * std::f64::consts::LN_2))
                }
                ModelKind::Spread => None,
            };
            if seed == ctx.seed {
                let low = clip(model.sample(GRID, salt + 5, LOW_TEMPERATURE));
                grids.push([samples.get(..GRID.min(samples.nrows()), ..).to_owned(), low]);
            }
            measured.push(ModelResult {
                kind,
                seed,
                n_params: model.n_params(),
                quality: q,
                codes_gaussian_quality,
                repr,
                log: model.training_log().to_vec(),
                validation: val,
                bits_per_dim,
                train_seconds: secs,
            });
        }
        if let (Some(p), Some(s)) = (grids.pop(), grids.pop()) {
            figures = Some([s, p]);
        }
        let spread_result = measured.pop().context("spread result")?;
        let standard_result = measured.pop().context("standard result")?;
        results.push(SeedResult { seed, standard: standard_result, spread: spread_result, id, id_classes });
    }
    let samples = figures.context("the figure seed was not trained")?;
    let m = Measurements {
        seeds: results,
        floor,
        raw,
        pca,
        classical,
        classical_classes,
        classifier: (classifier.meta().test_accuracy, classifier.n_params(), cached),
        figures: FigureImages {
            test: data.test.get(..GRID.min(data.test.nrows()), ..).to_owned(),
            samples,
            train: data.train.clone(),
        },
        side: data.side,
        figure_seed: ctx.seed,
    };
    let mut outputs = plot::write_all(&ctx.out_dir, &m)?;
    outputs.extend(judge::write_csvs(&ctx.out_dir, &m)?);
    let mut report = judge::report(ctx, data, &protocol, &m, start.elapsed().as_secs_f64());
    report.outputs = outputs;
    report.seeds = seeds;
    Ok(report)
}
