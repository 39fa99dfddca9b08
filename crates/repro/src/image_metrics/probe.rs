//! The linear probe: multinomial logistic regression on training codes, accuracy on test codes.

use faer::{Mat, MatRef};

use super::classifier::{Classifier, ClassifierConfig};
use super::stats::{accuracy, mean_row};

/// How the probe is trained (Adam on the mean cross-entropy plus `weight_decay |W|^2 / 2`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeConfig {
    /// Adam steps.
    pub steps: usize,
    /// Rows per step.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Seed of the initialisation and batch order.
    pub seed: u64,
}

impl Default for ProbeConfig {
    /// 1,500 steps of 256 rows, lr 0.01, weight decay 1e-4, seed 0.
    fn default() -> Self {
        Self { steps: 1_500, batch_size: 256, lr: 0.01, weight_decay: 1e-4, seed: 0 }
    }
}

/// Standardise each column by the training mean and standard deviation (a constant column is
/// only centred), fit multinomial logistic regression on (`train`, `train_labels`) and return
/// its accuracy on (`test`, `test_labels`).
///
/// # Errors
/// As [`Classifier::fit`].
pub fn linear_probe(
    train: MatRef<'_, f64>,
    train_labels: &[usize],
    test: MatRef<'_, f64>,
    test_labels: &[usize],
    config: &ProbeConfig,
) -> anyhow::Result<f64> {
    let m = mean_row(train);
    let sd: Vec<f64> = (0..train.ncols())
        .map(|j| {
            let v =
                (0..train.nrows()).map(|i| (train[(i, j)] - m[j]).powi(2)).sum::<f64>() / train.nrows().max(1) as f64;
            if v > 1e-24 { v.sqrt() } else { 1.0 }
        })
        .collect();
    let scale = |x: MatRef<'_, f64>| Mat::from_fn(x.nrows(), x.ncols(), |i, j| (x[(i, j)] - m[j]) / sd[j]);
    let (tr, te) = (scale(train), scale(test));
    let n_classes = train_labels.iter().chain(test_labels).max().map_or(1, |c| c + 1);
    let cc = ClassifierConfig {
        hidden: Vec::new(),
        steps: config.steps,
        batch_size: config.batch_size,
        lr: config.lr,
        weight_decay: config.weight_decay,
        seed: config.seed,
    };
    let net = Classifier::fit(tr.as_ref(), train_labels, n_classes, te.as_ref(), test_labels, &cc)?;
    Ok(accuracy(&net.predict(te.as_ref()), test_labels))
}
