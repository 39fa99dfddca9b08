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
    let mut nearest: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    let mut votes = vec![0usize; n_classes];
    let mut start = 0;
    while start < test.nrows() {
        let end = (start + BLOCK).min(test.nrows());
        // Training rows down the columns, so each test row's distances are contiguous.
        let d = squared_distances(train, test.get(start..end, ..));
        for i in 0..end - start {
            nearest_k(d.col(i).iter().copied(), k, &mut nearest);
            votes.iter_mut().for_each(|v| *v = 0);
            for &(_, j) in &nearest {
                votes[train_labels[j]] += 1;
            }
            let best = votes.iter().copied().max().unwrap_or(0);
            // The first of the tied classes in order of distance.
            let class = nearest.iter().map(|&(_, j)| train_labels[j]).find(|&c| votes[c] == best).unwrap_or(0);
            predicted.push(class);
        }
        start = end;
    }
    Ok(accuracy(&predicted, test_labels))
}

/// The `k` smallest of `distances` as `(distance, index)` pairs, nearest first, ties broken by
/// the smaller index, in one pass (insertion into a sorted list of at most `k`: the `k` here
/// are single digits, far below the training set's size).
fn nearest_k(distances: impl Iterator<Item = f64>, k: usize, nearest: &mut Vec<(f64, usize)>) {
    nearest.clear();
    for (j, dist) in distances.enumerate() {
        if nearest.len() == k && nearest[k - 1].0 <= dist {
            continue;
        }
        let at = nearest.partition_point(|&(d, _)| d <= dist);
        nearest.insert(at, (dist, j));
        nearest.truncate(k);
    }
}

#[cfg(test)]
mod tests {
    use super::nearest_k;

    /// The one-pass selection equals a full sort by (distance, index), ties included.
    #[test]
    fn nearest_k_equals_sorting_by_distance_then_index() {
        let mut state = 12345u64;
        for n in [1usize, 2, 7, 50, 300] {
            // Small integers as distances, so that ties are common.
            let distances: Vec<f64> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((state >> 33) % 9) as f64
                })
                .collect();
            for k in 1..=n.min(9) {
                let mut expected: Vec<(f64, usize)> = distances.iter().copied().zip(0..).collect();
                expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                expected.truncate(k);
                let mut got = Vec::new();
                nearest_k(distances.iter().copied(), k, &mut got);
                assert_eq!(got, expected, "n = {n}, k = {k}");
            }
        }
    }
}
