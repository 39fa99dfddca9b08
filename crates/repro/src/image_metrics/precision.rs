//! Improved precision and recall (Kynkaanniemi, Karras, Laine, Lehtinen, Aila 2019).

use super::stats::squared_distances;

/// Rows per block of the distance matrices.
const BLOCK: usize = 256;

/// Precision and recall of generated features against real ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrecisionRecall {
    /// The fraction of generated points inside the real manifold estimate.
    pub precision: f64,
    /// The fraction of real points inside the generated manifold estimate.
    pub recall: f64,
}

/// Kynkaanniemi et al.'s estimate with `k` neighbours: each set's manifold is the union of
/// balls around its points with radius the distance to the point's `k`-th nearest neighbour in
/// its own set. Precision is the fraction of `fake` rows inside the `real` manifold, recall the
/// fraction of `real` rows inside the `fake` manifold (a point on a ball's boundary is inside).
///
/// # Errors
/// Different column counts, or a set with at most `k` rows.
pub fn precision_recall(
    real: faer::MatRef<'_, f64>,
    fake: faer::MatRef<'_, f64>,
    k: usize,
) -> anyhow::Result<PrecisionRecall> {
    anyhow::ensure!(real.ncols() == fake.ncols(), "precision/recall: {} vs {} features", real.ncols(), fake.ncols());
    anyhow::ensure!(
        k >= 1 && real.nrows() > k && fake.nrows() > k,
        "precision/recall: each set needs more than k = {k} rows"
    );
    // Distances are computed in blocks of rows so that 10,000 x 10,000 sets fit in memory.
    let radii = |x: faer::MatRef<'_, f64>| -> Vec<f64> {
        let mut out = Vec::with_capacity(x.nrows());
        for start in (0..x.nrows()).step_by(BLOCK) {
            let end = (start + BLOCK).min(x.nrows());
            let d = squared_distances(x.get(start..end, ..), x);
            for i in 0..end - start {
                let mut row: Vec<f64> = (0..x.nrows()).filter(|&j| j != start + i).map(|j| d[(i, j)]).collect();
                let (_, kth, _) = row.select_nth_unstable_by(k - 1, f64::total_cmp);
                out.push(*kth);
            }
        }
        out
    };
    let (r_real, r_fake) = (radii(real), radii(fake));
    let mut precision = 0;
    let mut covered = vec![false; real.nrows()];
    for start in (0..fake.nrows()).step_by(BLOCK) {
        let end = (start + BLOCK).min(fake.nrows());
        let cross = squared_distances(fake.get(start..end, ..), real);
        for i in 0..end - start {
            precision += usize::from((0..real.nrows()).any(|j| cross[(i, j)] <= r_real[j]));
            for (j, c) in covered.iter_mut().enumerate() {
                *c |= cross[(i, j)] <= r_fake[start + i];
            }
        }
    }
    let recall = covered.iter().filter(|&&c| c).count();
    Ok(PrecisionRecall {
        precision: precision as f64 / fake.nrows() as f64,
        recall: recall as f64 / real.nrows() as f64,
    })
}
