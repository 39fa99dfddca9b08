//! k-nearest-neighbour classification accuracy.

use faer::MatRef;

use super::stats::{accuracy, squared_distances};

/// Rows of the test set handled per block of the distance matrix.
const BLOCK: usize = 128;

/// The accuracy on `test` of the majority vote of the `k` nearest rows of `train`
/// (Euclidean). A tie between classes goes to the class whose nearest member is closest.
///
/// # Errors
/// Different column counts, label counts that do not match the rows, or `k` not in
/// `1..=train rows`.
pub fn knn_accuracy(
    train: MatRef<'_, f64>,
    train_labels: &[usize],
    test: MatRef<'_, f64>,
    test_labels: &[usize],
    k: usize,
) -> anyhow::Result<f64> {
    anyhow::ensure!(train.ncols() == test.ncols(), "k-NN: {} vs {} features", train.ncols(), test.ncols());
    anyhow::ensure!(train_labels.len() == train.nrows() && test_labels.len() == test.nrows(), "k-NN: label counts");
    anyhow::ensure!(k >= 1 && k <= train.nrows(), "k-NN: k = {k} for {} training rows", train.nrows());
    let n_classes = train_labels.iter().max().map_or(0, |m| m + 1);
    let mut predicted = Vec::with_capacity(test.nrows());
    let mut start = 0;
    while start < test.nrows() {
        let end = (start + BLOCK).min(test.nrows());
        let d = squared_distances(test.get(start..end, ..), train);
        for i in 0..end - start {
            let mut idx: Vec<usize> = (0..train.nrows()).collect();
            idx.select_nth_unstable_by(k - 1, |&a, &b| d[(i, a)].total_cmp(&d[(i, b)]));
            let mut nearest = idx[..k].to_vec();
            nearest.sort_by(|&a, &b| d[(i, a)].total_cmp(&d[(i, b)]));
            let mut votes = vec![0usize; n_classes];
            for &j in &nearest {
                votes[train_labels[j]] += 1;
            }
            let best = votes.iter().copied().max().unwrap_or(0);
            // The first of the tied classes in order of distance.
            let class = nearest.iter().map(|&j| train_labels[j]).find(|&c| votes[c] == best).unwrap_or(0);
            predicted.push(class);
        }
        start = end;
    }
    Ok(accuracy(&predicted, test_labels))
}
