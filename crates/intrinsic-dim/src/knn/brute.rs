//! Blocked brute-force neighbours: tiles of `|x|^2 + |y|^2 - 2 X_I X_J^T` from faer matrix
//! products rank candidates; direct distances re-rank them; a rounding-error bound certifies
//! that no other point can be closer. The graph is exact.
//!
//! Passes, each only for the points the previous one could not certify:
//! 1. `f32` products over the upper-triangular tiles of the symmetric distance matrix, each
//!    tile computed once (`J >= I`) and used for the rows of both blocks. `f32` products run at
//!    about twice the `f64` rate (the figures are in docs/performance.md); the data are
//!    scaled by a power of two into `[-1, 1]` first, so nothing overflows and the scaling is
//!    exact.
//! 2. `f64` products of the remaining rows against all points.
//! 3. an exhaustive scan with direct distances.
//!
//! Rounding: with `u` the unit roundoff of the product precision, a dot product of length `d`
//! has error at most `d u |x||y|` and rounding the inputs to that precision moves `|x - y|^2`
//! by at most `4 u (|x|^2 + |y|^2)`, so the product-formula value is within
//! `beta (|x_a|^2 + |x_b|^2)`, `beta = 3 (d + 8) eps`, `eps = 2u`, of the true squared
//! distance (a factor three of slack). A point keeps `k + EXTRA` candidates; if its direct
//! `k`-th squared distance is below the worst candidate's product value minus that bound, every
//! non-candidate is farther and the point is certified.
//!
//! Parallelism: rayon over tiles; each block of rows has its candidate lists behind a mutex
//! (a tile locks its two blocks in order). A list keeps the best entries under the total order
//! `(value, index)` and every entry's value comes from exactly one tile computed sequentially,
//! so the result does not depend on the thread count or on the order of the tiles.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::par::prelude::*;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};

use super::{Radius, RowMajor, TopK, sq_dist, sq_dist4, write_row};

/// Rows per block (tiles are `BLOCK x BLOCK`): the fastest of 128, 256, 384, 512 in the `f32`
/// product measurements (a 256 x 256 `f64` tile, 512 KiB, stays in L2).
const BLOCK: usize = 256;
/// Candidates kept beyond `k`, so that near-ties under rounding rarely force another pass.
const EXTRA: usize = 6;

/// The precision of a ranking pass.
trait Precision: faer::traits::ComplexField + Copy + Default + Send + Sync + Into<f64> + 'static {
    /// Machine epsilon (`2u`).
    const EPS: f64;
    /// Round from `f64`.
    fn from_f64(v: f64) -> Self;
    /// `dst = a b^T`, sequential.
    fn gemm_abt(dst: MatMut<'_, Self>, a: MatRef<'_, Self>, b: MatRef<'_, Self>);
}

impl Precision for f32 {
    const EPS: f64 = f32::EPSILON as f64;
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn gemm_abt(dst: MatMut<'_, f32>, a: MatRef<'_, f32>, b: MatRef<'_, f32>) {
        matmul(dst, Accum::Replace, a, b.transpose(), 1.0f32, Par::Seq);
    }
}

impl Precision for f64 {
    const EPS: f64 = f64::EPSILON;
    fn from_f64(v: f64) -> Self {
        v
    }
    fn gemm_abt(dst: MatMut<'_, f64>, a: MatRef<'_, f64>, b: MatRef<'_, f64>) {
        matmul(dst, Accum::Replace, a, b.transpose(), 1.0f64, Par::Seq);
    }
}

/// The data centred, scaled by a power of two into `[-1, 1]` and rounded to `T`, row-major, with
/// the squared norms (in `f64`) of the rounded rows.
struct Lowered<T> {
    n: usize,
    d: usize,
    x: Vec<T>,
    sq: Vec<f64>,
    max_sq: f64,
    /// The (exact) scale factor `s`: the product values approximate `s^2 |x_a - x_b|^2`.
    scale: f64,
    /// Rounding-bound factor `beta` (module docs) plus an absolute floor for underflow.
    beta: f64,
    floor: f64,
}

impl<T: Precision> Lowered<T> {
    fn new(rows: &RowMajor) -> Self {
        let (n, d) = (rows.n, rows.d);
        let max_abs = rows
            .x
            .par_chunks(d.max(1))
            .map(|r| r.iter().zip(&rows.mean).fold(0.0f64, |m, (v, c)| m.max((v - c).abs())))
            .reduce_with(f64::max)
            .unwrap_or(0.0);
        let scale = if max_abs > 0.0 { 2f64.powi(-(max_abs.log2().floor() as i32) - 1) } else { 1.0 };
        let mut x = vec![T::default(); n * d];
        x.par_chunks_mut(d.max(1)).zip(rows.x.par_chunks(d.max(1))).for_each(|(out, r)| {
            for ((o, v), c) in out.iter_mut().zip(r).zip(&rows.mean) {
                *o = T::from_f64((v - c) * scale);
            }
        });
        let sq: Vec<f64> = x
            .par_chunks(d.max(1))
            .map(|r| {
                r.iter()
                    .map(|&v| {
                        let v: f64 = v.into();
                        v * v
                    })
                    .sum()
            })
            .collect();
        let max_sq = sq.iter().copied().fold(0.0, f64::max);
        let beta = 3.0 * (d as f64 + 8.0) * T::EPS;
        Lowered { n, d, x, sq, max_sq, scale, beta, floor: d as f64 * 1e-36 }
    }

    fn mat(&self) -> MatRef<'_, T> {
        MatRef::from_row_major_slice(&self.x, self.n, self.d)
    }
}

/// Candidate lists of a block of rows: flat `rows x cap` storage, each row sorted by
/// `(value, index)`.
struct Lists {
    cap: usize,
    len: Vec<usize>,
    d2: Vec<f64>,
    idx: Vec<usize>,
}

impl Lists {
    fn new(rows: usize, cap: usize) -> Self {
        Lists { cap, len: vec![0; rows], d2: vec![f64::INFINITY; rows * cap], idx: vec![usize::MAX; rows * cap] }
    }

    /// The value a new entry of row `r` must reach (ties then go by index) to enter.
    #[inline]
    fn bound(&self, r: usize) -> f64 {
        if self.len[r] < self.cap { f64::INFINITY } else { self.d2[r * self.cap + self.cap - 1] }
    }

    /// Insert `(d2, j)` into row `r` if it beats the worst entry under `(value, index)` order.
    #[inline]
    fn push(&mut self, r: usize, d2: f64, j: usize) {
        let cap = self.cap;
        let (rd, ri) = (&mut self.d2[r * cap..(r + 1) * cap], &mut self.idx[r * cap..(r + 1) * cap]);
        let len = self.len[r];
        let mut pos = if len == cap {
            if d2 > rd[cap - 1] || (d2 == rd[cap - 1] && j > ri[cap - 1]) {
                return;
            }
            cap - 1
        } else {
            self.len[r] += 1;
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

    fn row(&self, r: usize) -> (&[f64], &[usize]) {
        let (c, l) = (self.cap, self.len[r]);
        (&self.d2[r * c..r * c + l], &self.idx[r * c..r * c + l])
    }
}

fn lock(m: &Mutex<Lists>) -> MutexGuard<'_, Lists> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Scan a product tile held in the top-left `ni x nj` corner of `g` (rows are the queries `qa`
/// with squared norms `sq_a`; columns the points `j0..j0 + nj` with squared norms `sq_b`) into
/// the queries' lists `rows_a` and, unless `cols` is `None`, the column points' lists. Self
/// pairs (`qa[a] == j0 + b`) are skipped.
fn scan<T: Precision>(
    g: &Mat<T>,
    (sq_a, qa, rows_a): (&[f64], &[usize], &mut Lists),
    (sq_b, j0): (&[f64], usize),
    mut cols: Option<&mut Lists>,
) {
    let ni = qa.len();
    let mut thr_a: Vec<f64> = (0..ni).map(|a| rows_a.bound(a)).collect();
    for (b, &sqb) in sq_b.iter().enumerate() {
        let jb = j0 + b;
        let mut thr_b = cols.as_ref().map_or(f64::NEG_INFINITY, |c| c.bound(b));
        let col = &g.col_as_slice(b)[..ni];
        for (a, ((&gab, &sqa), thr)) in col.iter().zip(sq_a).zip(thr_a.iter_mut()).enumerate() {
            let gab: f64 = gab.into();
            let d2 = (sqa + sqb - 2.0 * gab).max(0.0);
            if d2 <= *thr && qa[a] != jb {
                rows_a.push(a, d2, jb);
                *thr = rows_a.bound(a);
            }
            if d2 <= thr_b {
                if let Some(c) = cols.as_deref_mut() {
                    c.push(b, d2, qa[a]);
                    thr_b = c.bound(b);
                }
            }
        }
    }
}

/// Pass over all points with the symmetric tiles: candidate lists per block of `BLOCK` rows.
fn rank_all<T: Precision>(low: &Lowered<T>, cap: usize) -> Vec<Lists> {
    let n = low.n;
    let nb = n.div_ceil(BLOCK);
    let size = |b: usize| BLOCK.min(n - b * BLOCK);
    let blocks: Vec<Mutex<Lists>> = (0..nb).map(|b| Mutex::new(Lists::new(size(b), cap))).collect();
    let tiles: Vec<(usize, usize)> = (0..nb).flat_map(|i| (i..nb).map(move |j| (i, j))).collect();
    let x = low.mat();
    let all: Vec<usize> = (0..n).collect();
    tiles.par_iter().for_each_init(
        || Mat::<T>::zeros(BLOCK.min(n), BLOCK.min(n)),
        |g, &(bi, bj)| {
            let (i0, j0, ni, nj) = (bi * BLOCK, bj * BLOCK, size(bi), size(bj));
            T::gemm_abt(g.as_mut().submatrix_mut(0, 0, ni, nj), x.subrows(i0, ni), x.subrows(j0, nj));
            let (sq_a, qa, sq_b) = (&low.sq[i0..i0 + ni], &all[i0..i0 + ni], &low.sq[j0..j0 + nj]);
            if bi == bj {
                scan(g, (sq_a, qa, &mut lock(&blocks[bi])), (sq_b, j0), None);
            } else {
                let mut rows = lock(&blocks[bi]);
                let mut cols = lock(&blocks[bj]);
                scan(g, (sq_a, qa, &mut rows), (sq_b, j0), Some(&mut cols));
            }
        },
    );
    blocks.into_iter().map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner)).collect()
}

/// Pass over the points `queries` against all points: candidate lists per chunk of `BLOCK`
/// queries.
fn rank_rows<T: Precision>(low: &Lowered<T>, queries: &[usize], cap: usize) -> Vec<Lists> {
    let (n, d) = (low.n, low.d);
    let chunks: Vec<&[usize]> = queries.chunks(BLOCK).collect();
    let lists: Vec<Mutex<Lists>> = chunks.iter().map(|c| Mutex::new(Lists::new(c.len(), cap))).collect();
    let gathered: Vec<Mat<T>> =
        chunks.iter().map(|c| Mat::from_fn(c.len(), d, |r, col| low.x[c[r] * d + col])).collect();
    let nb = n.div_ceil(BLOCK);
    let tiles: Vec<(usize, usize)> = (0..chunks.len()).flat_map(|c| (0..nb).map(move |j| (c, j))).collect();
    let x = low.mat();
    tiles.par_iter().for_each_init(
        || Mat::<T>::zeros(BLOCK, BLOCK.min(n)),
        |g, &(c, bj)| {
            let (j0, ni, nj) = (bj * BLOCK, chunks[c].len(), BLOCK.min(n - bj * BLOCK));
            T::gemm_abt(g.as_mut().submatrix_mut(0, 0, ni, nj), gathered[c].as_ref(), x.subrows(j0, nj));
            let sq_a: Vec<f64> = chunks[c].iter().map(|&q| low.sq[q]).collect();
            scan(g, (&sq_a, chunks[c], &mut lock(&lists[c])), (&low.sq[j0..j0 + nj], j0), None);
        },
    );
    lists.into_iter().map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner)).collect()
}

/// Re-rank query `q`'s candidates (sorted by product value) with direct distances and certify
/// them; `None` if the bound cannot rule out a closer non-candidate. Candidates are refined in
/// order and the refinement stops once the next product value, less the bound, exceeds the
/// current `k`-th direct value: no later candidate and no non-candidate can enter.
fn certify<T: Precision>(
    rows: &RowMajor,
    low: &Lowered<T>,
    q: usize,
    (approx, idx): (&[f64], &[usize]),
    k: usize,
) -> Option<TopK> {
    let xq = rows.row(q);
    let s2 = low.scale * low.scale;
    let base = low.beta * (low.sq[q] + low.max_sq) + low.floor;
    let beyond = |v: f64, best: &TopK| v - (base + low.beta * v) > best.bound() * s2;
    let mut best = TopK::new(k);
    // Four candidates at a time: four rows streamed together hide more memory latency.
    for (vs, js) in approx.chunks(4).zip(idx.chunks(4)) {
        if beyond(vs[0], &best) {
            return Some(best);
        }
        if let [j0, j1, j2, j3] = *js {
            let d = sq_dist4(xq, [rows.row(j0), rows.row(j1), rows.row(j2), rows.row(j3)]);
            for (&dj, &j) in d.iter().zip(js) {
                best.push(dj, j);
            }
        } else {
            for &j in js {
                best.push(sq_dist(xq, rows.row(j)), j);
            }
        }
    }
    if idx.len() == rows.n - 1 {
        return Some(best); // every other point is a candidate
    }
    beyond(*approx.last()?, &best).then_some(best)
}

/// Exact `k` nearest neighbours of every row (`n > k` guaranteed by the caller).
pub(super) fn knn(rows: &RowMajor, k: usize) -> (Vec<usize>, Vec<f64>) {
    let n = rows.n;
    let cap = (k + EXTRA).min(n - 1);
    let mut result: Vec<Option<TopK>> = vec![None; n];

    // Pass 1: f32 products over the symmetric tiles.
    let low32 = Lowered::<f32>::new(rows);
    let lists = rank_all(&low32, cap);
    result.par_chunks_mut(BLOCK).zip(lists.par_iter()).enumerate().for_each(|(b, (out, l))| {
        for (r, slot) in out.iter_mut().enumerate() {
            *slot = certify(rows, &low32, b * BLOCK + r, l.row(r), k);
        }
    });
    drop(low32);

    // Pass 2: f64 products for the rows pass 1 could not certify.
    let failed: Vec<usize> = (0..n).filter(|&i| result[i].is_none()).collect();
    if !failed.is_empty() {
        let low64 = Lowered::<f64>::new(rows);
        let lists = rank_rows(&low64, &failed, cap);
        let redone: Vec<(usize, Option<TopK>)> = failed
            .par_chunks(BLOCK)
            .zip(lists.par_iter())
            .flat_map_iter(|(qs, l)| {
                qs.iter().enumerate().map(|(r, &q)| (q, certify(rows, &low64, q, l.row(r), k))).collect::<Vec<_>>()
            })
            .collect();
        for (q, best) in redone {
            result[q] = best;
        }
    }

    // Pass 3: exhaustive direct scan for whatever is left.
    let mut indices = vec![0usize; n * k];
    let mut distances = vec![0.0f64; n * k];
    indices.par_chunks_mut(k).zip(distances.par_chunks_mut(k)).zip(result.par_iter()).enumerate().for_each(
        |(i, ((idx_out, dist_out), best))| match best {
            Some(best) => write_row(best, k, idx_out, dist_out),
            None => {
                let xi = rows.row(i);
                let mut best = TopK::new(k);
                for j in (0..n).filter(|&j| j != i) {
                    best.push(sq_dist(xi, rows.row(j)), j);
                }
                write_row(&best, k, idx_out, dist_out);
            }
        },
    );
    (indices, distances)
}

/// Ordered-pair counts within each squared radius (strictly), exact: `f32` products over the
/// symmetric tiles decide every pair whose value is farther from a radius than the rounding
/// bound; the few others are recomputed directly.
pub(super) fn count_pairs(rows: &RowMajor, radii: &[Radius]) -> Vec<u64> {
    let low = Lowered::<f32>::new(rows);
    let n = low.n;
    let nb = n.div_ceil(BLOCK);
    let size = |b: usize| BLOCK.min(n - b * BLOCK);
    let tiles: Vec<(usize, usize)> = (0..nb).flat_map(|i| (i..nb).map(move |j| (i, j))).collect();
    let x = low.mat();
    let s2 = low.scale * low.scale;
    let r2s: Vec<f64> = radii.iter().map(|r| r.r2 * s2).collect();
    let zero = || vec![0u64; radii.len()];
    let counts = tiles
        .par_iter()
        .fold_init(
            || (zero(), Mat::<f32>::zeros(BLOCK.min(n), BLOCK.min(n))),
            |(mut counts, mut g), &(bi, bj)| {
                let (i0, j0, ni, nj) = (bi * BLOCK, bj * BLOCK, size(bi), size(bj));
                f32::gemm_abt(g.as_mut().submatrix_mut(0, 0, ni, nj), x.subrows(i0, ni), x.subrows(j0, nj));
                for b in 0..nj {
                    let jb = j0 + b;
                    // On a diagonal tile, count each unordered pair once (a < b).
                    let upto = if bi == bj { b } else { ni };
                    for a in 0..upto {
                        let ia = i0 + a;
                        let d2 = low.sq[ia] + low.sq[jb] - 2.0 * f64::from(g[(a, b)]);
                        for ((c, &r), &rs) in counts.iter_mut().zip(radii).zip(&r2s) {
                            let slack = low.beta * (low.sq[ia] + low.sq[jb] + rs) + low.floor;
                            let inside = if d2 < rs - slack {
                                true
                            } else if d2 > rs + slack {
                                false
                            } else {
                                r.contains(sq_dist(rows.row(ia), rows.row(jb)))
                            };
                            *c += u64::from(inside);
                        }
                    }
                }
                (counts, g)
            },
        )
        .map(|(c, _)| c)
        .reduce_with(|a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect())
        .unwrap_or_else(zero);
    counts.into_iter().map(|c| 2 * c).collect()
}
