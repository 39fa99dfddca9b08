//! The in-project classifier (method.md section 5): an MLP `x -> relu(h_1) -> ... -> relu(h_L)
//! -> logits`, trained by minimising the mean cross-entropy
//! `-(1/n) sum_i log softmax(logits_i)_{y_i}` with Adam on the project's own tape. Its last
//! hidden layer `relu(h_L)` gives the features of the sample-quality metrics and its softmax
//! the confident-class fraction. With no hidden layer it is multinomial logistic regression
//! (the linear probe, [`super::linear_probe`]).

use std::path::Path;

use anyhow::Context as _;
use faer::{Mat, MatRef};
use manifold_prior::autodiff_lite::{
    Activation, Adam, AdamConfig, Optimizer, ParamId, ParamStore, Tape, Var, WeightDecay,
};
use manifold_prior::flow_core::io::{load_params, read_json, save_params, write_json};
use manifold_prior::flow_core::{Mlp, MlpConfig};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::stats::accuracy;

/// Rows per block when the trained network is evaluated.
const EVAL_BLOCK: usize = 2048;
/// The file of the configuration, data fingerprint and test accuracy in a classifier folder.
const META_FILE: &str = "classifier.json";
/// The file of the weights in a classifier folder.
const WEIGHTS_FILE: &str = "weights.safetensors";

/// How the classifier is built and trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// Hidden widths (empty: multinomial logistic regression).
    pub hidden: Vec<usize>,
    /// Adam steps.
    pub steps: usize,
    /// Rows per step (capped at the number of training rows); batches run through shuffled
    /// epochs.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Coupled L2 weight decay `lambda` (the gradient gets `lambda p`).
    pub weight_decay: f64,
    /// Seed of the initialisation and the batch order.
    pub seed: u64,
}

/// What a saved classifier records next to its weights: how it was trained, on what, and its
/// test accuracy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierMeta {
    /// The configuration.
    pub config: ClassifierConfig,
    /// The input dimension.
    pub input_dim: usize,
    /// The number of classes.
    pub n_classes: usize,
    /// A fingerprint of the training data and labels (FNV-1a of their bits), so that a cache
    /// is only reused for the same data.
    pub data_fingerprint: String,
    /// The accuracy on the test set given to [`Classifier::fit_or_load`].
    pub test_accuracy: f64,
}

/// A trained classifier (see the module documentation).
#[derive(Debug)]
pub struct Classifier {
    meta: ClassifierMeta,
    store: ParamStore,
    body: Option<Mlp>,
    head: Mlp,
}

/// FNV-1a over the bits of every cell and label: equal data give equal fingerprints.
pub(crate) fn fingerprint(x: MatRef<'_, f64>, labels: &[usize]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |v: u64| {
        for byte in v.to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(x.nrows() as u64);
    eat(x.ncols() as u64);
    for i in 0..x.nrows() {
        for j in 0..x.ncols() {
            eat(x[(i, j)].to_bits());
        }
    }
    labels.iter().for_each(|&l| eat(l as u64));
    format!("{h:016x}")
}

impl Classifier {
    fn build(meta: ClassifierMeta, store: &mut ParamStore, rng: &mut ChaCha8Rng) -> (Option<Mlp>, Mlp) {
        let hidden = &meta.config.hidden;
        let body = hidden.split_last().map(|(last, init)| {
            let config = MlpConfig::new(meta.input_dim, init, *last, Activation::Relu);
            Mlp::new(store, "body", config, rng)
        });
        let feature_dim = hidden.last().copied().unwrap_or(meta.input_dim);
        let head = Mlp::new(store, "head", MlpConfig::new(feature_dim, &[], meta.n_classes, Activation::Identity), rng);
        (body, head)
    }

    /// Train on `x` (`n x d`) with labels in `0..n_classes`, and record the accuracy on
    /// (`test_x`, `test_labels`).
    ///
    /// # Errors
    /// Mismatched shapes, a label out of range, no rows, or a non-finite loss.
    pub fn fit(
        x: MatRef<'_, f64>,
        labels: &[usize],
        n_classes: usize,
        test_x: MatRef<'_, f64>,
        test_labels: &[usize],
        config: &ClassifierConfig,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            x.nrows() > 0 && labels.len() == x.nrows(),
            "classifier: {} rows, {} labels",
            x.nrows(),
            labels.len()
        );
        anyhow::ensure!(labels.iter().all(|&l| l < n_classes), "classifier: a label is not below {n_classes}");
        anyhow::ensure!(test_x.ncols() == x.ncols() && test_labels.len() == test_x.nrows(), "classifier: test shapes");
        let meta = ClassifierMeta {
            config: config.clone(),
            input_dim: x.ncols(),
            n_classes,
            data_fingerprint: fingerprint(x, labels),
            test_accuracy: f64::NAN,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut store = ParamStore::new();
        let (body, head) = Self::build(meta.clone(), &mut store, &mut rng);
        let mut net = Classifier { meta, store, body, head };
        let weight_decay =
            if config.weight_decay > 0.0 { WeightDecay::L2(config.weight_decay) } else { WeightDecay::None };
        let mut adam = Adam::new(AdamConfig { lr: config.lr, weight_decay, ..AdamConfig::default() });
        let batch = config.batch_size.clamp(1, x.nrows());
        let mut order: Vec<usize> = (0..x.nrows()).collect();
        let mut cursor = order.len();
        for step in 0..config.steps {
            if cursor + batch > order.len() {
                order.shuffle(&mut rng);
                cursor = 0;
            }
            let rows = &order[cursor..cursor + batch];
            cursor += batch;
            let xb = Mat::from_fn(batch, x.ncols(), |i, j| x[(rows[i], j)]);
            let onehot = Mat::from_fn(batch, n_classes, |i, c| if labels[rows[i]] == c { 1.0 } else { 0.0 });
            let mut tape = Tape::new();
            let loss = net.record_loss(&mut tape, xb.as_ref(), onehot.as_ref());
            let value = tape.scalar(loss);
            anyhow::ensure!(value.is_finite(), "classifier: non-finite loss at step {step}");
            tape.backward(loss, &mut net.store);
            adam.step(&mut net.store);
            net.store.zero_grads();
        }
        net.meta.test_accuracy = accuracy(&net.predict(test_x), test_labels);
        Ok(net)
    }

    /// Load the classifier cached in `dir` if it was trained with `config` on exactly these
    /// data; otherwise train one ([`Classifier::fit`]) and save it there. Returns the
    /// classifier and whether it came from the cache.
    ///
    /// # Errors
    /// As [`Classifier::fit`], and a folder that cannot be written.
    pub fn fit_or_load(
        dir: &Path,
        x: MatRef<'_, f64>,
        labels: &[usize],
        n_classes: usize,
        test_x: MatRef<'_, f64>,
        test_labels: &[usize],
        config: &ClassifierConfig,
    ) -> anyhow::Result<(Self, bool)> {
        if let Ok(cached) = Self::load(dir) {
            let m = &cached.meta;
            if m.config == *config
                && m.n_classes == n_classes
                && m.input_dim == x.ncols()
                && m.data_fingerprint == fingerprint(x, labels)
            {
                return Ok((cached, true));
            }
        }
        let net = Self::fit(x, labels, n_classes, test_x, test_labels, config)?;
        net.save(dir)?;
        Ok((net, false))
    }

    /// Save into the folder `dir` (`classifier.json` and `weights.safetensors`).
    ///
    /// # Errors
    /// A file that cannot be written.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let ids: Vec<ParamId> = self.store.ids().collect();
        save_params(dir.join(WEIGHTS_FILE), &self.store, &ids)?;
        write_json(dir.join(META_FILE), &self.meta)?;
        Ok(())
    }

    /// Load a folder written by [`Classifier::save`].
    ///
    /// # Errors
    /// A missing or unreadable file, or weights that do not fit the recorded configuration.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let meta: ClassifierMeta = read_json(dir.join(META_FILE))?;
        let store = load_params(dir.join(WEIGHTS_FILE))?;
        let hidden = &meta.config.hidden;
        let body = match hidden.split_last() {
            Some((last, init)) => {
                Some(Mlp::from_store(&store, "body", MlpConfig::new(meta.input_dim, init, *last, Activation::Relu))?)
            }
            None => None,
        };
        let feature_dim = hidden.last().copied().unwrap_or(meta.input_dim);
        let head =
            Mlp::from_store(&store, "head", MlpConfig::new(feature_dim, &[], meta.n_classes, Activation::Identity))?;
        Ok(Classifier { meta, store, body, head })
    }

    /// The configuration, data fingerprint and test accuracy.
    pub fn meta(&self) -> &ClassifierMeta {
        &self.meta
    }

    /// The number of scalar parameters.
    pub fn n_params(&self) -> usize {
        self.store.n_scalars()
    }

    fn record_features(&self, tape: &mut Tape, x: Var) -> Var {
        match &self.body {
            Some(body) => {
                let h = body.forward(tape, &self.store, x);
                tape.relu(h)
            }
            None => x,
        }
    }

    /// The mean cross-entropy `-(1/n) sum_i log softmax(l_i)_{y_i}`, computed as
    /// `mean(log sum_c exp(l_ic - m_i) - (l_i - m_i) . onehot_i)` with `m_i` the row maximum
    /// (a constant: the loss does not depend on it).
    fn record_loss(&self, tape: &mut Tape, x: MatRef<'_, f64>, onehot: MatRef<'_, f64>) -> Var {
        let xv = tape.leaf(x);
        let h = self.record_features(tape, xv);
        let logits = self.head.forward(tape, &self.store, h);
        let l = tape.value(logits);
        let max =
            Mat::from_fn(l.nrows(), 1, |i, _| (0..l.ncols()).map(|c| l[(i, c)]).fold(f64::NEG_INFINITY, f64::max));
        let m = tape.leaf(max.as_ref());
        let shifted = tape.sub(logits, m);
        let e = tape.exp(shifted);
        let s = tape.row_sum(e);
        let lse = tape.log(s);
        let y = tape.leaf(onehot);
        let picked = tape.mul(shifted, y);
        let picked = tape.row_sum(picked);
        let nll = tape.sub(lse, picked);
        tape.mean(nll)
    }

    /// Run the network on `x` in blocks and collect `f` of (features, logits) per block.
    fn eval_blocks(&self, x: MatRef<'_, f64>, mut f: impl FnMut(MatRef<'_, f64>, MatRef<'_, f64>)) {
        let mut start = 0;
        while start < x.nrows() {
            let end = (start + EVAL_BLOCK).min(x.nrows());
            let mut tape = Tape::no_grad();
            let xv = tape.leaf(x.get(start..end, ..));
            let h = self.record_features(&mut tape, xv);
            let logits = self.head.forward(&mut tape, &self.store, h);
            f(tape.value(h), tape.value(logits));
            start = end;
        }
    }

    /// The last hidden layer's activations (`n x h_L`; the input itself without hidden
    /// layers).
    pub fn features(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        let dim = self.meta.config.hidden.last().copied().unwrap_or(self.meta.input_dim);
        let mut out = Mat::<f64>::zeros(x.nrows(), dim);
        let mut row = 0;
        self.eval_blocks(x, |h, _| {
            for i in 0..h.nrows() {
                for j in 0..dim {
                    out[(row + i, j)] = h[(i, j)];
                }
            }
            row += h.nrows();
        });
        out
    }

    /// The class probabilities `softmax(logits)` (`n x classes`).
    pub fn probabilities(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        let c = self.meta.n_classes;
        let mut out = Mat::<f64>::zeros(x.nrows(), c);
        let mut row = 0;
        self.eval_blocks(x, |_, l| {
            for i in 0..l.nrows() {
                let m = (0..c).map(|k| l[(i, k)]).fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = (0..c).map(|k| (l[(i, k)] - m).exp()).sum();
                for k in 0..c {
                    out[(row + i, k)] = (l[(i, k)] - m).exp() / z;
                }
            }
            row += l.nrows();
        });
        out
    }

    /// The most probable class of each row.
    pub fn predict(&self, x: MatRef<'_, f64>) -> Vec<usize> {
        let p = self.probabilities(x);
        (0..p.nrows()).map(|i| (0..p.ncols()).max_by(|&a, &b| p[(i, a)].total_cmp(&p[(i, b)])).unwrap_or(0)).collect()
    }

    /// The fraction of rows whose most probable class has probability above `threshold`
    /// (method.md: 0.9).
    pub fn confident_fraction(&self, x: MatRef<'_, f64>, threshold: f64) -> f64 {
        let p = self.probabilities(x);
        let confident =
            (0..p.nrows()).filter(|&i| (0..p.ncols()).map(|k| p[(i, k)]).fold(0.0, f64::max) > threshold).count();
        confident as f64 / p.nrows().max(1) as f64
    }
}
