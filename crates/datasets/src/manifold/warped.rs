//! Warped manifolds: a `k`-dimensional cube bent by a fixed random smooth map into `R^d`
//! ([`crate::Manifold::Warped`]), curved in every direction and not only rotated, with a
//! known intrinsic dimension in high ambient dimension.
//!
//! With `z ~ U([-1, 1]^k)`, `m = min(d - k, 2 k)` sine features and a fixed frame
//! `F = [Q | P]` (`d x (k + m)`, orthonormal columns, Haar-random from a constant seed mixed
//! with `(k, d)`), a point is
//!
//! `x = Q z + P h(z)`,  `h_j(z) = a sin(w_j . z + phi_j)`,  `j = 1..m`,
//!
//! with `w_j ~ N(0, (c^2 / k) I_k)` (so `w_j . z` spans about `+-c` radians over the cube),
//! `phi_j ~ U(0, 2 pi)`, `a = `[`WARP_AMPLITUDE`] and `c = `[`WARP_FREQUENCY`]. Because
//! `Q^T x = z`, the map is a smooth embedding (a graph over the cube, injective, with
//! injective differential `Q + P Dh`), so the set is a `k`-manifold diffeomorphic to an open
//! cube: the kind a flow can flatten. The second fundamental form is nonzero in every normal
//! direction the features use, so no linear projection to fewer than `k + m` dimensions
//! holds it.

use faer::{Mat, MatRef};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Amplitude `a` of each sine feature of a warped manifold (`0.3`: the features together hold
/// about as much variance as a fifth of the cube's, `m a^2 / 2` against `k / 3`).
pub const WARP_AMPLITUDE: f64 = 0.3;
/// Frequency scale `c` of the sine features (`2`: each feature turns through about a third of
/// a period over the cube's standard deviation).
pub const WARP_FREQUENCY: f64 = 2.0;
/// Seed of the fixed warps; mixed with `k` and `d` so each shape has its own map.
const WARP_SEED: u64 = 0x6d66_6c6f_775f_7770; // "mflow_wp"

/// The fixed map of [`crate::Manifold::Warped`] for one `(k, d)`: `x = Q z + P h(z)`.
#[derive(Debug, Clone, PartialEq)]
pub struct WarpMap {
    /// `d x k` frame of the cube's coordinates (orthonormal columns).
    pub q: Mat<f64>,
    /// `d x m` frame of the sine features (orthonormal columns, orthogonal to `q`).
    pub p: Mat<f64>,
    /// `m x k` frequencies `w_j` (one per row).
    pub w: Mat<f64>,
    /// The `m` phases `phi_j`.
    pub phase: Vec<f64>,
}

impl WarpMap {
    /// The map for intrinsic dimension `k` in `R^d` (the same in every call).
    ///
    /// # Panics
    /// If `k == 0` or `k > d`.
    #[track_caller]
    pub fn new(k: usize, d: usize) -> Self {
        assert!(k >= 1 && k <= d, "WarpMap: intrinsic dimension {k} must be in 1..={d}");
        let m = (d - k).min(2 * k);
        let mut rng = ChaCha8Rng::seed_from_u64(WARP_SEED ^ ((k as u64) << 32) ^ d as u64);
        let frame = super::orthonormal_frame(d, k + m, &mut rng);
        let q = frame.subcols(0, k).to_owned();
        let p = frame.subcols(k, m).to_owned();
        let scale = WARP_FREQUENCY / (k as f64).sqrt();
        let w = Mat::from_fn(m, k, |_, _| {
            let g: f64 = StandardNormal.sample(&mut rng);
            scale * g
        });
        let phase = (0..m).map(|_| 2.0 * std::f64::consts::PI * rng.random::<f64>()).collect();
        Self { q, p, w, phase }
    }

    /// The intrinsic dimension `k`.
    pub fn k(&self) -> usize {
        self.q.ncols()
    }

    /// The features `h(z)`, `h_j = a sin(w_j . z + phi_j)`.
    pub fn features(&self, z: &[f64]) -> Vec<f64> {
        (0..self.w.nrows())
            .map(|j| {
                let t: f64 = (0..z.len()).map(|i| self.w[(j, i)] * z[i]).sum::<f64>() + self.phase[j];
                WARP_AMPLITUDE * t.sin()
            })
            .collect()
    }

    /// The point `Q z + P h(z)` of cube coordinates `z` (length `k`).
    pub fn point(&self, z: &[f64]) -> Vec<f64> {
        let h = self.features(z);
        (0..self.q.nrows())
            .map(|r| {
                let lin: f64 = z.iter().enumerate().map(|(i, zi)| self.q[(r, i)] * zi).sum();
                let warp: f64 = h.iter().enumerate().map(|(j, hj)| self.p[(r, j)] * hj).sum();
                lin + warp
            })
            .collect()
    }

    /// `n` points with `z ~ U([-1, 1]^k)` drawn row by row from `rng` (row `i` does not
    /// depend on `n`), `n x d`.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Mat<f64> {
        let (k, d) = (self.k(), self.q.nrows());
        let mut x = Mat::<f64>::zeros(n, d);
        let mut z = vec![0.0; k];
        for i in 0..n {
            z.iter_mut().for_each(|zi| *zi = 2.0 * rng.random::<f64>() - 1.0);
            for (r, v) in self.point(&z).into_iter().enumerate() {
                x[(i, r)] = v;
            }
        }
        x
    }

    /// The vertical distance of each row of `x` to the manifold: with `z = clamp(Q^T x)` to
    /// the cube, `|x - Q z - P h(z)|` plus the part of `Q^T x` outside the cube (exact on the
    /// manifold, 0 there, and an upper bound of the distance elsewhere).
    pub fn vertical_error(&self, x: MatRef<'_, f64>) -> Vec<f64> {
        let (k, d) = (self.k(), self.q.nrows());
        (0..x.nrows())
            .map(|i| {
                let raw: Vec<f64> = (0..k).map(|c| (0..d).map(|r| self.q[(r, c)] * x[(i, r)]).sum()).collect();
                let z: Vec<f64> = raw.iter().map(|v| v.clamp(-1.0, 1.0)).collect();
                let on = self.point(&z);
                let sq: f64 = (0..d).map(|r| (x[(i, r)] - on[r]).powi(2)).sum();
                sq.sqrt()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_map_is_a_graph_over_the_cube_and_fixed() {
        let map = WarpMap::new(3, 20);
        assert_eq!((map.q.ncols(), map.p.ncols(), map.w.nrows()), (3, 6, 6));
        assert_eq!(map, WarpMap::new(3, 20), "the same map in every call");
        let x = map.sample(50, &mut ChaCha8Rng::seed_from_u64(1));
        // Q^T x recovers the cube coordinates (the features are orthogonal to Q): injective.
        let z = x.as_ref() * map.q.as_ref();
        assert!(z.col_iter().all(|c| c.iter().all(|v| (-1.0 - 1e-12..=1.0 + 1e-12).contains(v))));
        assert!(map.vertical_error(x.as_ref()).iter().all(|e| *e < 1e-12));
        // Not a linear subspace: the points leave the span of Q.
        let resid = &x - &z * map.q.transpose();
        assert!(resid.norm_max() > 0.1, "{}", resid.norm_max());
        // Few normal directions when d is small: m = d - k.
        assert_eq!(WarpMap::new(2, 3).p.ncols(), 1);
    }
}
