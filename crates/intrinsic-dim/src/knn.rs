//! Exact k-nearest-neighbour graphs and pair counts: blocked distance products for high
//! dimensions, a k-d tree for low ones, both parallel over queries with rayon.
//!
//! Conventions (those of scikit-learn's `NearestNeighbors.kneighbors()` without a query):
//! every point's neighbours exclude the point itself (by index) but include other points at
//! distance 0 (duplicates); neighbours are sorted by `(distance, index)`, so ties break towards
//! the lower index and the graph is the same for every thread count and algorithm (up to the
//! order of exact ties in distance, which the index fixes).
//!
//! Distances are computed on the data divided by a power of two `2^e` chosen from its largest
//! entry (`e = 0` for data between `2^-250` and `2^250` in magnitude; see
//! [`KnnGraph::unit_exponent`]): the division is exact, so the graph of data scaled by any
//! power of two is the same graph with its distances exactly scaled, and no square overflows
//! (data near `1e300`) or underflows (data near `1e-300`) on the way.
//!
//! Distances in the graph are always computed directly, `sqrt(sum_j (x_j - y_j)^2)`. The blocked
//! algorithm first ranks candidates with `|x|^2 + |y|^2 - 2 x.y` from a matrix product, keeps a
//! few more than `k`, recomputes their distances directly and certifies the result with a
//! rounding-error bound; a point whose ranking the bound cannot certify is searched again
//! exhaustively with direct distances. The result is exact, not approximate.

use crate::par::prelude::*;
use faer::MatRef;

use crate::EstimateError;

mod brute;
mod kdtree;

/// How to search neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// [`KdTree`](Algorithm::KdTree) for more than [`KD_TREE_MIN_POINTS`] points in up to
    /// [`KD_TREE_MAX_DIM`] dimensions, or at least [`KD_TREE_LARGE_N`] points in up to
    /// [`KD_TREE_MAX_DIM_LARGE`]; [`BruteForce`](Algorithm::BruteForce) otherwise. Measured on
    /// uniform data (the tree's worst case; 2 cores, k = 20): in 10-D the blocked products win
    /// at 5,000 points (0.11 s against 0.21 s) and the tree at 40,000 (2.8 s against 5.4 s);
    /// at 5,000 points the tree wins in 8-D, the products from 12-D on.
    #[default]
    Auto,
    /// Blocked distance products `|x|^2 + |y|^2 - 2 X Y^T` over tiles of the (symmetric)
    /// distance matrix, each tile computed once: cost `n^2 d` flops.
    BruteForce,
    /// A k-d tree (median splits on the widest coordinate, Arya-Mount incremental distances),
    /// queries in tree order: about `n log n` for small `d`.
    KdTree,
}

/// Largest dimension for which [`Algorithm::Auto`] picks the k-d tree at any size.
pub const KD_TREE_MAX_DIM: usize = 8;
/// Largest dimension for which [`Algorithm::Auto`] picks the k-d tree for large data sets.
pub const KD_TREE_MAX_DIM_LARGE: usize = 16;
/// Points from which a data set counts as large for [`KD_TREE_MAX_DIM_LARGE`].
pub const KD_TREE_LARGE_N: usize = 20_000;
/// Most points for which [`Algorithm::Auto`] always picks the blocked products.
pub const KD_TREE_MIN_POINTS: usize = 256;

impl Algorithm {
    /// The concrete algorithm for `n` points in `d` dimensions.
    pub fn resolve(self, n: usize, d: usize) -> Algorithm {
        match self {
            Algorithm::Auto
                if n > KD_TREE_MIN_POINTS
                    && (d <= KD_TREE_MAX_DIM || (d <= KD_TREE_MAX_DIM_LARGE && n >= KD_TREE_LARGE_N)) =>
            {
                Algorithm::KdTree
            }
            Algorithm::Auto => Algorithm::BruteForce,
            other => other,
        }
    }
}

/// The exact `k` nearest neighbours of every point of a data set (excluding itself), with their
/// Euclidean distances, sorted by `(distance, index)`.
///
/// Row `i` holds `N_1(i), ..., N_k(i)` with `r_1(i) <= ... <= r_k(i)`,
/// `r_j(i) = |x_i - x_{N_j(i)}|_2 / 2^e`, in units of `2^e` with `e` =
/// [`unit_exponent`](KnnGraph::unit_exponent): 0 (the data's own units) unless the data's
/// largest entry lies outside `[2^-250, 2^250]`. Built once, shared by every estimator that
/// needs `k' <= k` neighbours: they read the first `k'` of each row.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnGraph {
    n: usize,
    k: usize,
    /// Distances are in units of `2^unit_exp`.
    unit_exp: i32,
    /// `n x k`, row-major: neighbour indices.
    indices: Vec<usize>,
    /// `n x k`, row-major: neighbour distances.
    distances: Vec<f64>,
}

impl KnnGraph {
    /// The `k` nearest neighbours of every row of `data` (`n x d`), with [`Algorithm::Auto`].
    ///
    /// Errors: [`EstimateError::TooFewSamples`] when `n < k + 1` (also for `k = usize::MAX`),
    /// [`EstimateError::NonFinite`] for a NaN or infinite entry.
    ///
    /// # Panics
    /// If `k == 0`.
    #[track_caller]
    pub fn build(data: MatRef<'_, f64>, k: usize) -> Result<Self, EstimateError> {
        Self::build_with(data, k, Algorithm::Auto)
    }

    /// [`build`](KnnGraph::build) with a chosen [`Algorithm`]; every algorithm gives the same
    /// graph.
    ///
    /// # Panics
    /// If `k == 0`.
    #[track_caller]
    pub fn build_with(data: MatRef<'_, f64>, k: usize, algorithm: Algorithm) -> Result<Self, EstimateError> {
        assert!(k > 0, "a neighbour graph needs k >= 1");
        crate::check::samples(data, k.saturating_add(1))?;
        crate::check::finite(data)?;
        let (n, d) = (data.nrows(), data.ncols());
        let rows = RowMajor::new(data);
        let (indices, distances) = match algorithm.resolve(n, d) {
            Algorithm::KdTree => kdtree::knn(&rows, k),
            _ => brute::knn(&rows, k),
        };
        Ok(KnnGraph { n, k, unit_exp: rows.exp, indices, distances })
    }

    /// An upper estimate of the memory [`build`](KnnGraph::build) allocates for `n` points in
    /// `d` dimensions and `k` neighbours, in bytes (`None` beyond `u64`): the graph's indices
    /// and distances (`16 n k`), a row-major copy of the data (`8 n d`), and the search's
    /// candidate lists (about `16 n (k + 16)` more).
    pub fn bytes_needed(n: usize, d: usize, k: usize) -> Option<u64> {
        let (n, d, k) = (n as u64, d as u64, k as u64);
        let graph = n.checked_mul(k)?.checked_mul(16)?;
        let copy = n.checked_mul(d)?.checked_mul(8)?;
        let lists = n.checked_mul(k.checked_add(16)?)?.checked_mul(16)?;
        graph.checked_add(copy)?.checked_add(lists)
    }

    /// Assemble a graph from precomputed neighbour lists (`n x k`, row-major), e.g. from
    /// another library, with distances in the data's units (unit exponent 0). Rows must be
    /// sorted by distance and exclude the point itself.
    ///
    /// # Panics
    /// If the lengths are not `n * k`, a row is not sorted, or a distance is negative or NaN.
    #[track_caller]
    pub fn from_parts(n: usize, k: usize, indices: Vec<usize>, distances: Vec<f64>) -> Self {
        assert_eq!(indices.len(), n * k, "indices must hold n * k = {} entries", n * k);
        assert_eq!(distances.len(), n * k, "distances must hold n * k = {} entries", n * k);
        for row in distances.chunks(k.max(1)) {
            assert!(row.iter().all(|&r| r >= 0.0), "distances must be non-negative");
            assert!(row.windows(2).all(|w| w[0] <= w[1]), "each row must be sorted by distance");
        }
        KnnGraph { n, k, unit_exp: 0, indices, distances }
    }

    /// The exponent `e` of the graph's distance unit `2^e` (see [`KnnGraph`]): 0 unless the
    /// data's largest entry lies outside `[2^-250, 2^250]`. A distance `r` of the graph is
    /// `r 2^e` in the data's units (which may overflow or underflow `f64` for extreme data;
    /// ratios of distances never do).
    pub fn unit_exponent(&self) -> i32 {
        self.unit_exp
    }

    /// Number of points `n`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Neighbours per point `k`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Sorted distances `r_1(i) <= ... <= r_k(i)` of point `i` to its neighbours, in units of
    /// `2^`[`unit_exponent`](KnnGraph::unit_exponent).
    ///
    /// # Panics
    /// If `i >= n`.
    #[track_caller]
    pub fn distances(&self, i: usize) -> &[f64] {
        &self.distances[i * self.k..(i + 1) * self.k]
    }

    /// Indices `N_1(i), ..., N_k(i)` of point `i`'s neighbours, nearest first.
    ///
    /// # Panics
    /// If `i >= n`.
    #[track_caller]
    pub fn indices(&self, i: usize) -> &[usize] {
        &self.indices[i * self.k..(i + 1) * self.k]
    }

    /// The graph restricted to the first `k` neighbours of each point.
    ///
    /// # Panics
    /// If `k` is 0 or more than [`k`](KnnGraph::k).
    #[track_caller]
    pub fn truncated(&self, k: usize) -> KnnGraph {
        assert!(k > 0 && k <= self.k, "cannot truncate a {}-neighbour graph to {k}", self.k);
        fn take<T: Copy>(v: &[T], from: usize, to: usize) -> Vec<T> {
            v.chunks(from).flat_map(|row| row[..to].iter().copied()).collect()
        }
        KnnGraph {
            n: self.n,
            k,
            unit_exp: self.unit_exp,
            indices: take(&self.indices, self.k, k),
            distances: take(&self.distances, self.k, k),
        }
    }
}

/// Number of ordered pairs `(i, j)`, `i != j`, with `|x_i - x_j|_2 < r`, for each radius `r` in
/// `radii` (strict inequality, as skdim's `CorrInt`; duplicates count, at distance 0). Exact:
/// distances near a radius are recomputed directly.
///
/// Errors: [`EstimateError::NonFinite`] for a NaN or infinite entry.
pub fn count_pairs_within(
    data: MatRef<'_, f64>,
    radii: &[f64],
    algorithm: Algorithm,
) -> Result<Vec<u64>, EstimateError> {
    count_pairs_in_units(data, radii, 0, algorithm)
}

/// [`count_pairs_within`] with the radii in units of `2^unit_exp` (a [`KnnGraph`]'s units).
pub(crate) fn count_pairs_in_units(
    data: MatRef<'_, f64>,
    radii: &[f64],
    unit_exp: i32,
    algorithm: Algorithm,
) -> Result<Vec<u64>, EstimateError> {
    crate::check::finite(data)?;
    let (n, d) = (data.nrows(), data.ncols());
    if n < 2 || radii.is_empty() {
        return Ok(vec![0; radii.len()]);
    }
    let rows = RowMajor::new(data);
    let radii: Vec<Radius> = radii
        .iter()
        .map(|&r| {
            let r = crate::check::times_pow2(r, unit_exp - rows.exp);
            Radius { r, r2: r * r }
        })
        .collect();
    Ok(match algorithm.resolve(n, d) {
        Algorithm::KdTree => kdtree::count_pairs(&rows, &radii),
        _ => brute::count_pairs(&rows, &radii),
    })
}

/// A radius `r` and its square. [`contains`](Radius::contains) decides `sqrt(d2) < r` exactly
/// as a comparison of distances would (`r * r` may round either way, so a pair at exactly
/// distance `r` could otherwise count), taking the square root only near the boundary.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Radius {
    r: f64,
    r2: f64,
}

impl Radius {
    #[inline]
    fn contains(self, d2: f64) -> bool {
        if d2 < self.r2 * (1.0 - 4.0 * f64::EPSILON) {
            true
        } else if d2 > self.r2 * (1.0 + 4.0 * f64::EPSILON) {
            false
        } else {
            d2.sqrt() < self.r
        }
    }
}

/// The data divided by `2^exp` (see [`crate::check::working_exponent`]; `exp = 0` for data
/// of ordinary magnitude) and copied row-major (direct distances are computed from these
/// values, as scikit-learn's trees do), with the column means (the distance products use
/// centred data: distances are unchanged, and the products lose less precision).
pub(crate) struct RowMajor {
    n: usize,
    d: usize,
    exp: i32,
    x: Vec<f64>,
    mean: Vec<f64>,
}

impl RowMajor {
    fn new(data: MatRef<'_, f64>) -> Self {
        const ROWS: usize = 32;
        let (n, d) = (data.nrows(), data.ncols());
        let exp = crate::check::working_exponent(data);
        let value = |i: usize, j: usize| crate::check::times_pow2(data[(i, j)], -exp);
        let mut x = vec![0.0; n * d];
        // A blocked transpose: read ROWS entries of a column, write them ROWS rows apart.
        x.par_chunks_mut((d * ROWS).max(1)).enumerate().for_each(|(c, chunk)| {
            let i0 = c * ROWS;
            for j in 0..d {
                for r in 0..chunk.len() / d {
                    chunk[r * d + j] = if exp == 0 { data[(i0 + r, j)] } else { value(i0 + r, j) };
                }
            }
        });
        let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64).collect();
        RowMajor { n, d, exp, x, mean }
    }

    #[inline]
    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }
}

/// `sum_j (a_j - b_j)^2`, with eight partial sums so that it vectorises.
#[inline]
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        let t = x - y;
        tail += t * t;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// [`sq_dist`] from `a` to four rows at once, bit-identical to four calls.
#[inline]
pub(crate) fn sq_dist4(a: &[f64], b: [&[f64]; 4]) -> [f64; 4] {
    let mut acc = [[0.0f64; 8]; 4];
    let mut tail = [0.0f64; 4];
    let full = a.len() / 8 * 8;
    for c in (0..full).step_by(8) {
        let x = &a[c..c + 8];
        for (accr, br) in acc.iter_mut().zip(&b) {
            let y = &br[c..c + 8];
            for l in 0..8 {
                let t = x[l] - y[l];
                accr[l] += t * t;
            }
        }
    }
    for (t, br) in tail.iter_mut().zip(&b) {
        for (x, y) in a[full..].iter().zip(&br[full..]) {
            let u = x - y;
            *t += u * u;
        }
    }
    let mut out = [0.0; 4];
    for ((o, accr), t) in out.iter_mut().zip(&acc).zip(tail) {
        *o = ((accr[0] + accr[4]) + (accr[1] + accr[5])) + ((accr[2] + accr[6]) + (accr[3] + accr[7])) + t;
    }
    out
}

/// A bounded list of the best `(squared distance, index)` pairs, kept sorted, ties by index.
#[derive(Debug, Clone)]
pub(crate) struct TopK {
    cap: usize,
    d2: Vec<f64>,
    idx: Vec<usize>,
}

impl TopK {
    pub(crate) fn new(cap: usize) -> Self {
        TopK { cap, d2: Vec::with_capacity(cap), idx: Vec::with_capacity(cap) }
    }

    /// The squared distance a new entry must beat (or tie with a lower index) to enter.
    #[inline]
    pub(crate) fn bound(&self) -> f64 {
        if self.d2.len() < self.cap { f64::INFINITY } else { self.d2[self.cap - 1] }
    }

    #[inline]
    pub(crate) fn push(&mut self, d2: f64, idx: usize) {
        let len = self.d2.len();
        if len == self.cap {
            let (wd, wi) = (self.d2[len - 1], self.idx[len - 1]);
            if d2 > wd || (d2 == wd && idx > wi) {
                return;
            }
            self.d2.pop();
            self.idx.pop();
        }
        let mut pos = self.d2.len();
        while pos > 0 && (self.d2[pos - 1] > d2 || (self.d2[pos - 1] == d2 && self.idx[pos - 1] > idx)) {
            pos -= 1;
        }
        self.d2.insert(pos, d2);
        self.idx.insert(pos, idx);
    }

    pub(crate) fn len(&self) -> usize {
        self.d2.len()
    }
}

/// Write each query's sorted list into row `i` of the `n x k` outputs as distances.
fn write_row(list: &TopK, k: usize, idx_out: &mut [usize], dist_out: &mut [f64]) {
    for j in 0..k {
        idx_out[j] = list.idx[j];
        dist_out[j] = list.d2[j].sqrt();
    }
}

#[cfg(test)]
mod tests;
