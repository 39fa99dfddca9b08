//! Blocked brute-force neighbours: tiles of `|x|^2 + |y|^2 - 2 X_I X_J^T` from faer matrix
//! products, each tile of the symmetric distance matrix computed once (`J >= I`) and used for
//! the rows of both blocks, then candidates re-ranked with direct distances and certified.
//!
//! Rounding: a dot product of length `d` has error at most `d u |x||y|`, so the product-formula
//! squared distance is within `beta(a, b) = 2 (d + 4) eps (|x_a|^2 + |x_b|^2)` of the true one
//! (`eps = 2u`, a factor two of slack). Each point keeps `k + EXTRA` candidates; if the direct
//! `k`-th distance is below the candidates' worst product-formula value minus the bound, no
//! non-candidate can be closer and the row is certified, otherwise the row is searched again
//! exhaustively with direct distances. Tiles are processed in parallel by rayon into a few
//! partial candidate stores that are merged at the end; each pair's value comes from exactly one
//! tile computed sequentially, so the result does not depend on the thread count.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;

use super::{RowMajor, TopK, sq_dist, write_row};

/// Rows per block (tiles are `BLOCK x BLOCK`). 256 keeps a tile of `f64` (512 KiB) in L2 and
/// gives the matrix product enough depth; measured against 128 and 512 in the benches.
const BLOCK: usize = 256;
/// Candidates kept beyond `k`, so that near-ties under rounding rarely force a rescan.
const EXTRA: usize = 4;

/// Slack factor of the rounding bound (see the module docs).
fn bound_factor(d: usize) -> f64 {
    2.0 * (d as f64 + 4.0) * f64::EPSILON
}

/// Squared norms of the rows.
fn sq_norms(rows: &RowMajor) -> Vec<f64> {
    (0..rows.n).map(|i| rows.row(i).iter().map(|v| v * v).sum()).collect()
}

/// The upper-triangular tile list `(I, J)`, `J >= I`.
fn tiles(n: usize) -> Vec<(usize, usize)> {
    let nb = n.div_ceil(BLOCK);
    (0..nb).flat_map(|i| (i..nb).map(move |j| (i, j))).collect()
}

/// Minimum tiles per rayon job: about four partial stores per thread.
fn min_len(tiles: usize) -> usize {
    (tiles / (4 * rayon::current_num_threads())).max(1)
}

/// Compute tile `(I, J)` of `X X^T` into `g` and return the block offsets and sizes.
fn gram_tile(
    x: MatRef<'_, f64>,
    g: &mut Mat<f64>,
    (bi, bj): (usize, usize),
) -> (usize, usize, usize, usize) {
    let n = x.nrows();
    let (i0, j0) = (bi * BLOCK, bj * BLOCK);
    let (ni, nj) = (BLOCK.min(n - i0), BLOCK.min(n - j0));
    matmul(
        g.as_mut().submatrix_mut(0, 0, ni, nj),
        Accum::Replace,
        x.subrows(i0, ni),
        x.subrows(j0, nj).transpose(),
        1.0,
        Par::Seq,
    );
    (i0, ni, j0, nj)
}

/// Partial candidate lists of every point: flat `n x cap` storage, each row sorted.
struct Store {
    cap: usize,
    len: Vec<usize>,
    d2: Vec<f64>,
    idx: Vec<usize>,
}

impl Store {
    fn new(n: usize, cap: usize) -> Self {
        Store { cap, len: vec![0; n], d2: vec![f64::INFINITY; n * cap], idx: vec![usize::MAX; n * cap] }
    }

    #[inline]
    fn bound(&self, i: usize) -> f64 {
        if self.len[i] < self.cap { f64::INFINITY } else { self.d2[i * self.cap + self.cap - 1] }
    }

    /// Insert `(d2, j)` into row `i` if it beats the worst entry under `(d2, index)` order.
    #[inline]
    fn push(&mut self, i: usize, d2: f64, j: usize) {
        let cap = self.cap;
        let (rd, ri) = (&mut self.d2[i * cap..(i + 1) * cap], &mut self.idx[i * cap..(i + 1) * cap]);
        let len = self.len[i];
        let mut pos = if len == cap {
            if d2 > rd[cap - 1] || (d2 == rd[cap - 1] && j > ri[cap - 1]) {
                return;
            }
            cap - 1
        } else {
            self.len[i] += 1;
            len
        };
        while pos > 0 && (rd[pos - 1] > d2 || (rd[pos - 1] == d2 && ri[pos - 1] > j)) {
            rd[pos] = rd[pos - 1];
            ri[pos] = ri[pos - 1];
            pos -= 1;
        }
        rd[pos] = d2;
        ri[pos] = j;
    }

    /// Merge `other` into `self`, row by row.
    fn merge(mut self, other: Store) -> Store {
        for i in 0..self.len.len() {
            let c = self.cap;
            for t in 0..other.len[i] {
                self.push(i, other.d2[i * c + t], other.idx[i * c + t]);
            }
        }
        self
    }

    /// Accumulate the candidates of tile `(I, J)`.
    fn tile(&mut self, x: MatRef<'_, f64>, sq: &[f64], g: &mut Mat<f64>, tile: (usize, usize)) {
        let (i0, ni, j0, nj) = gram_tile(x, g, tile);
        let diagonal = tile.0 == tile.1;
        let mut thr_a: Vec<f64> = (i0..i0 + ni).map(|i| self.bound(i)).collect();
        for b in 0..nj {
            let jb = j0 + b;
            let sqb = sq[jb];
            let mut thr_b = self.bound(jb);
            let col = &g.col_as_slice(b)[..ni];
            for (a, &gab) in col.iter().enumerate() {
                let ia = i0 + a;
                let d2 = (sq[ia] + sqb - 2.0 * gab).max(0.0);
                if diagonal {
                    if ia != jb && d2 <= thr_a[a] {
                        self.push(ia, d2, jb);
                        thr_a[a] = self.bound(ia);
                    }
                } else {
                    if d2 <= thr_a[a] {
                        self.push(ia, d2, jb);
                        thr_a[a] = self.bound(ia);
                    }
                    if d2 <= thr_b {
                        self.push(jb, d2, ia);
                        thr_b = self.bound(jb);
                    }
                }
            }
        }
    }
}

/// Exact `k` nearest neighbours of every row (`n > k` guaranteed by the caller).
pub(super) fn knn(rows: &RowMajor, k: usize) -> (Vec<usize>, Vec<f64>) {
    let (n, d) = (rows.n, rows.d);
    let x = MatRef::from_row_major_slice(&rows.x, n, d);
    let sq = sq_norms(rows);
    let max_sq = sq.iter().copied().fold(0.0, f64::max);
    let cap = (k + EXTRA).min(n - 1);
    let tiles = tiles(n);
    let store = tiles
        .par_iter()
        .with_min_len(min_len(tiles.len()))
        .fold(
            || (Store::new(n, cap), Mat::<f64>::zeros(BLOCK.min(n), BLOCK.min(n))),
            |(mut store, mut g), &tile| {
                store.tile(x, &sq, &mut g, tile);
                (store, g)
            },
        )
        .map(|(store, _)| store)
        .reduce_with(Store::merge);
    let Some(store) = store else { return (Vec::new(), Vec::new()) };

    let beta = bound_factor(d);
    let mut indices = vec![0usize; n * k];
    let mut distances = vec![0.0f64; n * k];
    indices
        .par_chunks_mut(k)
        .zip(distances.par_chunks_mut(k))
        .enumerate()
        .for_each(|(i, (idx_out, dist_out))| {
            let xi = rows.row(i);
            let mut best = TopK::new(k);
            for t in 0..store.len[i] {
                let j = store.idx[i * cap + t];
                best.push(sq_dist(xi, rows.row(j)), j);
            }
            // Certify: every non-candidate has product-formula value >= the worst candidate's.
            let worst = store.d2[i * cap + cap - 1];
            let slack = beta * (sq[i] + max_sq + worst);
            let certified = cap == n - 1 || worst - slack > best.bound();
            if !certified {
                best = TopK::new(k);
                for j in (0..n).filter(|&j| j != i) {
                    best.push(sq_dist(xi, rows.row(j)), j);
                }
            }
            write_row(&best, k, idx_out, dist_out);
        });
    (indices, distances)
}

/// Ordered-pair counts within each squared radius (strictly), exact.
pub(super) fn count_pairs(rows: &RowMajor, r2: &[f64]) -> Vec<u64> {
    let (n, d) = (rows.n, rows.d);
    let x = MatRef::from_row_major_slice(&rows.x, n, d);
    let sq = sq_norms(rows);
    let beta = bound_factor(d);
    let tiles = tiles(n);
    let zero = || vec![0u64; r2.len()];
    let counts = tiles
        .par_iter()
        .with_min_len(min_len(tiles.len()))
        .fold(
            || (zero(), Mat::<f64>::zeros(BLOCK.min(n), BLOCK.min(n))),
            |(mut counts, mut g), &tile| {
                let (i0, ni, j0, nj) = gram_tile(x, &mut g, tile);
                for b in 0..nj {
                    let jb = j0 + b;
                    let col = &g.col_as_slice(b)[..ni];
                    // On a diagonal tile, count each unordered pair once (a < b).
                    let upto = if tile.0 == tile.1 { b } else { ni };
                    for (a, &gab) in col[..upto].iter().enumerate() {
                        let ia = i0 + a;
                        let d2 = sq[ia] + sq[jb] - 2.0 * gab;
                        for (c, &r) in counts.iter_mut().zip(r2) {
                            let slack = beta * (sq[ia] + sq[jb] + r);
                            let inside = if d2 < r - slack {
                                true
                            } else if d2 > r + slack {
                                false
                            } else {
                                sq_dist(rows.row(ia), rows.row(jb)) < r
                            };
                            *c += u64::from(inside);
                        }
                    }
                }
                (counts, g)
            },
        )
        .map(|(c, _)| c)
        .reduce(zero, |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect());
    counts.into_iter().map(|c| 2 * c).collect()
}
