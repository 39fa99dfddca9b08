//! An invertible dense linear map in LU form (Glow's invertible 1x1 convolution on vectors),
//! with an exact log-determinant and a triangular-solve inverse.

use autodiff_lite::{GradMode, ParamId, ParamStore, Tape, Transpose, Var};
use faer::Mat;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::permutation::invert;
use crate::{Bijector, FlowError, Layer, LayerSpec, LogDet};

/// How a new [`LuLinear`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LuInit {
    /// Glow's initialisation: `W` a random orthogonal matrix (the `Q` of a QR factorisation
    /// of a standard Gaussian matrix, column signs fixed so that `Q` is Haar-distributed),
    /// factored as `W = P L (U + diag(sign * exp(log_abs_s)))` by partial-pivoting LU.
    /// `log|det W| = 0` at initialisation.
    RandomOrthogonal,
    /// `W = I`: identity permutation, `L = I`, `U = 0`, `log_abs_s = 0`, signs `+1`.
    Identity,
}

/// The dense linear map `z = x W^T` (each sample row `x_i` maps to `W x_i`), with `W`
/// parameterised in LU form as in Glow (Kingma and Dhariwal, 2018):
///
/// `W = P L (U + diag(sign * exp(log_abs_s)))`
///
/// - `P` a fixed permutation, `(P v)_j = v_{perm[j]}`, so row `j` of `W` is row `perm[j]`
///   of `L R`;
/// - `L` unit lower triangular: the strictly lower part of the `D x D` parameter
///   `<prefix>.lower` plus the identity;
/// - `U` strictly upper triangular: the strictly upper part of the `D x D` parameter
///   `<prefix>.upper`;
/// - `log_abs_s` the `1 x D` parameter `<prefix>.log_abs_s`, `sign` a fixed vector of `+-1`.
///
/// Writing `R = U + diag(sign * exp(log_abs_s))`, `det W = det P * prod_j sign_j
/// exp(log_abs_s_j)`, so
///
/// - forward: `z = x W^T = (x (L R)^T) P^T`, `log|det dz/dx| = sum_j log_abs_s_j` per sample;
/// - inverse: `x^T = R^-1 L^-1 P^T z^T` by two triangular solves, `log|det dx/dz| =
///   -sum_j log_abs_s_j`. The upper solve `R^-1 y` runs as a lower solve with the
///   index-reversed matrix: with `J` the reversal permutation, `R^-1 y = J (J R J)^-1 J y`
///   and `J R J` is lower triangular.
///
/// The entries of `lower` on and above the diagonal and of `upper` on and below it are
/// ignored (masked, zero gradient); they are stored so the parameters are plain matrices, as
/// in Glow's reference code, and count towards [`crate::Flow::n_params`] (`2 D^2 + D`).
#[derive(Debug, Clone)]
pub struct LuLinear {
    prefix: String,
    dim: usize,
    perm: Vec<usize>,
    inv_perm: Vec<usize>,
    signs: Vec<f64>,
    lower: ParamId,
    upper: ParamId,
    log_abs_s: ParamId,
}

impl LuLinear {
    /// Register `<prefix>.lower`, `<prefix>.upper` (`D x D`) and `<prefix>.log_abs_s`
    /// (`1 x D`) and initialise them as `init` says, drawing from `rng` when random.
    ///
    /// # Errors
    /// [`FlowError::Config`] for `dim == 0`, or if the random matrix is numerically singular
    /// (a zero pivot; probability zero).
    ///
    /// # Panics
    /// If one of the names is already registered in `store`.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        prefix: &str,
        dim: usize,
        init: LuInit,
        rng: &mut R,
    ) -> Result<Self, FlowError> {
        if dim == 0 {
            return Err(FlowError::Config("LuLinear needs at least one coordinate".into()));
        }
        let (perm, signs, lower, upper, log_abs_s) = match init {
            LuInit::Identity => {
                ((0..dim).collect(), vec![1.0; dim], Mat::zeros(dim, dim), Mat::zeros(dim, dim), Mat::zeros(1, dim))
            }
            LuInit::RandomOrthogonal => lu_of_random_orthogonal(dim, rng)?,
        };
        let lower = store.add(format!("{prefix}.lower"), lower);
        let upper = store.add(format!("{prefix}.upper"), upper);
        let log_abs_s = store.add(format!("{prefix}.log_abs_s"), log_abs_s);
        Ok(Self { prefix: prefix.to_owned(), dim, inv_perm: invert(&perm), perm, signs, lower, upper, log_abs_s })
    }

    /// Attach to parameters already in a store (loading a saved flow).
    ///
    /// # Errors
    /// [`FlowError::Config`] when `perm` is not a permutation of `0..dim` or `signs` is not
    /// `dim` values each `+1` or `-1`; [`FlowError::Param`] when a parameter is missing or
    /// mis-shaped.
    pub fn from_store(
        store: &ParamStore,
        prefix: &str,
        dim: usize,
        perm: Vec<usize>,
        signs: Vec<f64>,
    ) -> Result<Self, FlowError> {
        if dim == 0 {
            return Err(FlowError::Config("LuLinear needs at least one coordinate".into()));
        }
        let mut seen = vec![false; dim];
        if perm.len() != dim || !perm.iter().all(|&p| p < dim && !std::mem::replace(&mut seen[p], true)) {
            return Err(FlowError::Config(format!("LuLinear '{prefix}': not a permutation of 0..{dim}: {perm:?}")));
        }
        if signs.len() != dim || !signs.iter().all(|&s| s == 1.0 || s == -1.0) {
            return Err(FlowError::Config(format!(
                "LuLinear '{prefix}': signs must be {dim} values of +1 or -1, got {signs:?}"
            )));
        }
        let lower = store.get_shaped(&format!("{prefix}.lower"), (dim, dim))?;
        let upper = store.get_shaped(&format!("{prefix}.upper"), (dim, dim))?;
        let log_abs_s = store.get_shaped(&format!("{prefix}.log_abs_s"), (1, dim))?;
        Ok(Self { prefix: prefix.to_owned(), dim, inv_perm: invert(&perm), perm, signs, lower, upper, log_abs_s })
    }

    /// The fixed permutation: `(P v)_j = v_{perm[j]}`.
    pub fn perm(&self) -> &[usize] {
        &self.perm
    }

    /// The fixed signs of the diagonal of the upper factor.
    pub fn signs(&self) -> &[f64] {
        &self.signs
    }

    /// The current weight matrix `W = P L (U + diag(sign * exp(log_abs_s)))` (`D x D`), so
    /// that the forward map is `z = x W^T`. Computed from the same recorded factors as the
    /// layer itself.
    pub fn weight(&self, store: &ParamStore) -> Mat<f64> {
        let mut tape = Tape::with_mode(GradMode::NoGrad);
        let (l, r, _) = self.factors(&mut tape, store);
        let m = tape.matmul(l, r);
        // W^T = (L R)^T P^T: column j of W^T is column perm[j] of (L R)^T.
        let mt = tape.transpose(m);
        let wt = tape.permute_cols(mt, &self.perm);
        tape.value(wt).transpose().to_owned()
    }

    /// Record `L` (unit lower), `R = U + diag(sign * exp(log_abs_s))` (upper) and the
    /// `1 x D` row `log_abs_s`.
    fn factors(&self, tape: &mut Tape, store: &ParamStore) -> (Var, Var, Var) {
        let d = self.dim;
        let lower = tape.param(store, self.lower);
        let upper = tape.param(store, self.upper);
        let log_abs_s = tape.param(store, self.log_abs_s);
        let strict_lower = tape.leaf_from_fn(d, d, |i, j| if i > j { 1.0 } else { 0.0 });
        let strict_upper = tape.leaf_from_fn(d, d, |i, j| if i < j { 1.0 } else { 0.0 });
        let eye = tape.leaf_from_fn(d, d, |i, j| if i == j { 1.0 } else { 0.0 });
        let sign_diag = tape.leaf_from_fn(d, d, |i, j| if i == j { self.signs[i] } else { 0.0 });
        let l_strict = tape.mul(lower, strict_lower);
        let l = tape.add(l_strict, eye);
        let u_strict = tape.mul(upper, strict_upper);
        let s = tape.exp(log_abs_s);
        // sign_diag (D x D) times the 1 x D row s, broadcast down the rows: diag(sign * s).
        let diag = tape.mul(sign_diag, s);
        let r = tape.add(u_strict, diag);
        (l, r, log_abs_s)
    }

    /// `sign * sum_j log_abs_s_j` down an `n x 1` column.
    fn log_det(tape: &mut Tape, log_abs_s: Var, n: usize, inverse: bool) -> LogDet {
        let total = tape.sum(log_abs_s);
        let total = if inverse { tape.neg(total) } else { total };
        LogDet::PerSample(crate::broadcast_rows(tape, total, n))
    }
}

impl Bijector for LuLinear {
    fn dim(&self) -> usize {
        self.dim
    }

    fn forward(&self, tape: &mut Tape, store: &ParamStore, x: Var) -> (Var, LogDet) {
        let n = tape.shape(x).0;
        let (l, r, log_abs_s) = self.factors(tape, store);
        // One D^3 product, then one n D^2 product: cheaper than two n D^2 products for n > D.
        let m = tape.matmul(l, r);
        let xm = tape.matmul_t(x, Transpose::No, m, Transpose::Yes);
        let z = tape.permute_cols(xm, &self.perm);
        (z, Self::log_det(tape, log_abs_s, n, false))
    }

    fn inverse(&self, tape: &mut Tape, store: &ParamStore, z: Var) -> (Var, LogDet) {
        let n = tape.shape(z).0;
        let (l, r, log_abs_s) = self.factors(tape, store);
        let rev: Vec<usize> = (0..self.dim).rev().collect();
        // g = z P = x (L R)^T, so g^T = L R x^T.
        let g = tape.permute_cols(z, &self.inv_perm);
        let gt = tape.transpose(g);
        let v = tape.solve_lower(l, gt); // R x^T  (D x n)
        // J R J: reverse the rows and the columns of R (lower triangular).
        let r_j = tape.permute_cols(r, &rev);
        let jrt_t = tape.transpose(r_j);
        let jr_t_j = tape.permute_cols(jrt_t, &rev);
        let jrj = tape.transpose(jr_t_j);
        // J v: reverse the rows of v through its transpose.
        let vt = tape.transpose(v);
        let vt_j = tape.permute_cols(vt, &rev);
        let jv = tape.transpose(vt_j);
        let jx = tape.solve_lower(jrj, jv); // J x^T
        let jx_t = tape.transpose(jx); // x J
        let x = tape.permute_cols(jx_t, &rev);
        (x, Self::log_det(tape, log_abs_s, n, true))
    }

    fn is_volume_preserving(&self) -> bool {
        false
    }

    fn params(&self) -> Vec<ParamId> {
        vec![self.lower, self.upper, self.log_abs_s]
    }
}

impl Layer for LuLinear {
    fn spec(&self) -> LayerSpec {
        LayerSpec::LuLinear {
            prefix: self.prefix.clone(),
            dim: self.dim,
            perm: self.perm.clone(),
            signs: self.signs.clone(),
        }
    }
}

/// The parameters `(perm, signs, lower, upper, log_abs_s)` of a random orthogonal matrix.
type LuParts = (Vec<usize>, Vec<f64>, Mat<f64>, Mat<f64>, Mat<f64>);

/// Draw a Haar-random orthogonal `Q` (QR of a standard Gaussian matrix, columns scaled by the
/// signs of `diag(R)`) and factor it `Q = P L R` by partial-pivoting LU.
fn lu_of_random_orthogonal<R: Rng + ?Sized>(dim: usize, rng: &mut R) -> Result<LuParts, FlowError> {
    let g = Mat::from_fn(dim, dim, |_, _| -> f64 { StandardNormal.sample(rng) });
    let qr = g.qr();
    let mut q = qr.compute_Q();
    let qr_r = qr.R();
    for j in 0..dim {
        if qr_r[(j, j)] < 0.0 {
            q.col_mut(j).iter_mut().for_each(|v| *v = -*v);
        }
    }
    let lu = q.partial_piv_lu();
    let (l, u) = (lu.L(), lu.U());
    // faer: Q = P^-1 (L U) with row i of Q equal to row bwd[i] of L U.
    let perm = lu.P().arrays().1.to_vec();
    let mut signs = vec![1.0; dim];
    let mut log_abs_s = Mat::zeros(1, dim);
    for j in 0..dim {
        let s = u[(j, j)];
        if s == 0.0 || !s.is_finite() {
            return Err(FlowError::Config(format!("LuLinear: random matrix is singular (pivot {j} is {s})")));
        }
        signs[j] = s.signum();
        log_abs_s[(0, j)] = s.abs().ln();
    }
    let lower = Mat::from_fn(dim, dim, |i, j| if i > j { l[(i, j)] } else { 0.0 });
    let upper = Mat::from_fn(dim, dim, |i, j| if i < j { u[(i, j)] } else { 0.0 });
    Ok((perm, signs, lower, upper, log_abs_s))
}
