//! A k-d tree for exact neighbours in low dimensions: median splits on the coordinate of widest
//! spread, leaves of at most [`LEAF`] points stored contiguously, depth-first search nearer
//! child first with Arya-Mount incremental cell distances for pruning. Queries run in tree
//! order (neighbouring queries touch the same leaves), in parallel chunks, and every distance is
//! computed directly, so the result is exact and independent of the thread count.

use crate::par::prelude::*;

use super::{Radius, RowMajor, TopK, sq_dist, write_row};

/// Most points in a leaf.
const LEAF: usize = 16;
/// Queries per parallel job.
const CHUNK: usize = 256;
/// A cell is pruned only when its lower bound exceeds the current bound by this relative
/// margin, which covers the rounding of the incremental bound and of direct distances.
const PRUNE_SLACK: f64 = 1e-10;

#[derive(Debug, Clone, Copy)]
struct Node {
    /// Range of tree positions `lo..hi` held below this node.
    lo: usize,
    hi: usize,
    /// Split coordinate and value (internal nodes); left holds values `<= split`, right `>=`.
    dim: usize,
    split: f64,
    /// Children (internal nodes), `usize::MAX` for a leaf.
    left: usize,
    right: usize,
}

struct Tree {
    d: usize,
    /// `perm[p]` is the original index of the point at tree position `p`.
    perm: Vec<usize>,
    /// Points in tree order, row-major.
    pts: Vec<f64>,
    nodes: Vec<Node>,
}

impl Tree {
    fn build(rows: &RowMajor) -> Tree {
        let (n, d) = (rows.n, rows.d);
        let mut perm: Vec<usize> = (0..n).collect();
        let mut nodes = Vec::with_capacity(2 * n / LEAF + 2);
        Self::split(rows, &mut perm, 0, n, &mut nodes);
        let mut pts = Vec::with_capacity(n * d);
        for &p in &perm {
            pts.extend_from_slice(rows.row(p));
        }
        Tree { d, perm, pts, nodes }
    }

    /// Build the subtree over `perm[lo..hi]`, returning its node index.
    fn split(rows: &RowMajor, perm: &mut [usize], lo: usize, hi: usize, nodes: &mut Vec<Node>) -> usize {
        let id = nodes.len();
        nodes.push(Node { lo, hi, dim: 0, split: 0.0, left: usize::MAX, right: usize::MAX });
        if hi - lo <= LEAF {
            return id;
        }
        // The coordinate of widest spread.
        let (mut dim, mut width) = (0, -1.0);
        for j in 0..rows.d {
            let (mut mn, mut mx) = (f64::INFINITY, f64::NEG_INFINITY);
            for &p in &perm[lo..hi] {
                let v = rows.row(p)[j];
                mn = mn.min(v);
                mx = mx.max(v);
            }
            if mx - mn > width {
                (dim, width) = (j, mx - mn);
            }
        }
        if width <= 0.0 {
            return id; // all points coincide: keep them in one leaf
        }
        let mid = lo + (hi - lo) / 2;
        perm[lo..hi]
            .select_nth_unstable_by(mid - lo, |&a, &b| rows.row(a)[dim].total_cmp(&rows.row(b)[dim]).then(a.cmp(&b)));
        let split = rows.row(perm[mid])[dim];
        let left = Self::split(rows, perm, lo, mid, nodes);
        let right = Self::split(rows, perm, mid, hi, nodes);
        nodes[id] = Node { lo, hi, dim, split, left, right };
        id
    }

    #[inline]
    fn point(&self, p: usize) -> &[f64] {
        &self.pts[p * self.d..(p + 1) * self.d]
    }

    /// Depth-first search below `node` for the neighbours of `q` (original index `qi`), with
    /// `rd` the squared distance from `q` to the node's cell and `off` its per-coordinate parts.
    fn knn(&self, node: usize, q: &[f64], qi: usize, rd: f64, off: &mut [f64], best: &mut TopK) {
        let nd = self.nodes[node];
        if nd.left == usize::MAX {
            for p in nd.lo..nd.hi {
                let j = self.perm[p];
                if j != qi {
                    let d2 = sq_dist(q, self.point(p));
                    if d2 <= best.bound() {
                        best.push(d2, j);
                    }
                }
            }
            return;
        }
        let diff = q[nd.dim] - nd.split;
        let (near, far) = if diff <= 0.0 { (nd.left, nd.right) } else { (nd.right, nd.left) };
        self.knn(near, q, qi, rd, off, best);
        let old = off[nd.dim];
        let new = diff * diff;
        let rd_far = rd - old + new;
        if rd_far * (1.0 - PRUNE_SLACK) <= best.bound() {
            off[nd.dim] = new;
            self.knn(far, q, qi, rd_far, off, best);
            off[nd.dim] = old;
        }
    }

    /// Add to `counts[t]` the points below `node` other than `qi` strictly within `radii[t]`;
    /// `r2_max` is the largest squared radius.
    #[allow(clippy::too_many_arguments)]
    fn count(
        &self,
        node: usize,
        q: &[f64],
        qi: usize,
        rd: f64,
        off: &mut [f64],
        radii: &[Radius],
        r2_max: f64,
        counts: &mut [u64],
    ) {
        let nd = self.nodes[node];
        if nd.left == usize::MAX {
            for p in nd.lo..nd.hi {
                if self.perm[p] != qi {
                    let d2 = sq_dist(q, self.point(p));
                    for (c, &r) in counts.iter_mut().zip(radii) {
                        *c += u64::from(r.contains(d2));
                    }
                }
            }
            return;
        }
        let diff = q[nd.dim] - nd.split;
        let (near, far) = if diff <= 0.0 { (nd.left, nd.right) } else { (nd.right, nd.left) };
        self.count(near, q, qi, rd, off, radii, r2_max, counts);
        let old = off[nd.dim];
        let new = diff * diff;
        let rd_far = rd - old + new;
        if rd_far * (1.0 - PRUNE_SLACK) < r2_max {
            off[nd.dim] = new;
            self.count(far, q, qi, rd_far, off, radii, r2_max, counts);
            off[nd.dim] = old;
        }
    }
}

/// Exact `k` nearest neighbours of every row (`n > k` guaranteed by the caller).
pub(super) fn knn(rows: &RowMajor, k: usize) -> (Vec<usize>, Vec<f64>) {
    let (n, d) = (rows.n, rows.d);
    let tree = Tree::build(rows);
    // Results in tree order first (queries in tree order share leaves), then scattered.
    let mut idx_t = vec![0usize; n * k];
    let mut dist_t = vec![0.0f64; n * k];
    idx_t.par_chunks_mut(k * CHUNK).zip(dist_t.par_chunks_mut(k * CHUNK)).enumerate().for_each(
        |(c, (idx_c, dist_c))| {
            let mut off = vec![0.0; d];
            for (t, (idx_out, dist_out)) in idx_c.chunks_mut(k).zip(dist_c.chunks_mut(k)).enumerate() {
                let p = c * CHUNK + t;
                let mut best = TopK::new(k);
                off.iter_mut().for_each(|o| *o = 0.0);
                tree.knn(0, tree.point(p), tree.perm[p], 0.0, &mut off, &mut best);
                debug_assert_eq!(best.len(), k);
                write_row(&best, k, idx_out, dist_out);
            }
        },
    );
    let mut indices = vec![0usize; n * k];
    let mut distances = vec![0.0f64; n * k];
    for (p, &i) in tree.perm.iter().enumerate() {
        indices[i * k..(i + 1) * k].copy_from_slice(&idx_t[p * k..(p + 1) * k]);
        distances[i * k..(i + 1) * k].copy_from_slice(&dist_t[p * k..(p + 1) * k]);
    }
    (indices, distances)
}

/// Ordered-pair counts within each squared radius (strictly), exact.
pub(super) fn count_pairs(rows: &RowMajor, radii: &[Radius]) -> Vec<u64> {
    let (n, d) = (rows.n, rows.d);
    let tree = Tree::build(rows);
    let r2_max = radii.iter().map(|r| r.r2).fold(f64::NEG_INFINITY, f64::max);
    let zero = || vec![0u64; radii.len()];
    let positions: Vec<usize> = (0..n).collect();
    positions
        .par_chunks(CHUNK)
        .fold_init(zero, |mut counts, chunk| {
            let mut off = vec![0.0; d];
            for &p in chunk {
                off.iter_mut().for_each(|o| *o = 0.0);
                tree.count(0, tree.point(p), tree.perm[p], 0.0, &mut off, radii, r2_max, &mut counts);
            }
            counts
        })
        .reduce_with(|a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect())
        .unwrap_or_else(zero)
}
