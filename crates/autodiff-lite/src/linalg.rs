//! Forward and reverse kernels of the linear-algebra ops: the fused spread-Gaussian
//! log-density, Cholesky, triangular solve and log-determinant.

use faer::linalg::matmul::triangular::{BlockStructure, matmul as triangular_matmul};
use faer::linalg::triangular_inverse::invert_lower_triangular;
use faer::linalg::triangular_solve::{solve_lower_triangular_in_place, solve_upper_triangular_in_place};
use faer::{Accum, MatMut, MatRef, Par};

use crate::buf::Buf;
use crate::tape::{Tape, TapeError, cholesky_in_place, gemm, par_for, zero_above_diagonal};

const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// The Cholesky factor `L` of the spread covariance `S = A A^T + s^2 I` of a triangular
/// Gaussian (and optionally its inverse `L^-1`), computed from `A` (the lower triangle of a
/// `d x d` matrix) alone. For `s = 0` the factor is `A` itself with the signs of its columns
/// fixed so that its diagonal is positive (which needs a non-singular `A`).
///
/// [`Tape::gaussian_log_prob`] builds one internally. Building it yourself lets its
/// `O(d^3)` work (`A A^T` and the Cholesky factorisation, `2 d^3 / 3` flops; the inverse
/// another `d^3 / 3`) run concurrently with the recording of the batch it will score, since
/// it depends on `A` only; [`Tape::gaussian_log_prob_factored`] then uses it. The reverse
/// pass needs `L^-1`: when the factor does not carry it, it is formed there, concurrently
/// with the rest of the reverse pass when `a` is a large parameter.
///
/// ```
/// use autodiff_lite::SpreadFactor;
///
/// // A rank-1 A: A A^T is singular, the spread covariance S = A A^T + 0.1^2 I is not.
/// let a = faer::mat![[1.0, 0.0], [2.0, 0.0]];
/// let factor = SpreadFactor::new(a.as_ref(), 0.1).unwrap();
/// // S = [[1.01, 2], [2, 4.01]]: det S = 0.0501, tr(S^-1) = 5.02 / 0.0501.
/// assert!((factor.log_det() - 0.0501f64.ln()).abs() < 1e-12);
/// assert!((factor.trace_of_inverse() - 5.02 / 0.0501).abs() < 1e-9);
/// ```
#[derive(Debug, Clone)]
pub struct SpreadFactor {
    l: Buf,
    /// `L^-1` when `inverse`; otherwise storage only.
    l_inv: Buf,
    inverse: bool,
    s: f64,
}

/// The storage of a [`SpreadFactor`] (two `d x d` buffers), to build the next one without
/// allocating: [`Tape::take_factor_storage`] hands back the buffers of the factor a previous
/// recording used, and [`SpreadFactor::new_in`] fills them.
#[derive(Debug, Default)]
pub struct FactorStorage {
    l: Buf,
    l_inv: Buf,
}

impl SpreadFactor {
    /// Factor `S = A A^T + s^2 I` with `A = tril(a)`.
    ///
    /// # Errors
    /// [`TapeError::SingularCovariance`] for `s = 0` and a zero diagonal entry of `A`;
    /// [`TapeError::NotPositiveDefinite`] if `S` is numerically not positive definite.
    ///
    /// # Panics
    /// If `a` is not square or `s` is negative or not finite.
    pub fn new(a: MatRef<'_, f64>, s: f64) -> Result<Self, TapeError> {
        Self::new_in(a, s, FactorStorage::default())
    }

    /// [`SpreadFactor::new`] in the buffers of `storage` (no allocation when they have the
    /// size already).
    ///
    /// # Errors
    /// As [`SpreadFactor::new`].
    ///
    /// # Panics
    /// As [`SpreadFactor::new`].
    pub fn new_in(a: MatRef<'_, f64>, s: f64, storage: FactorStorage) -> Result<Self, TapeError> {
        let d = a.nrows();
        assert!(a.ncols() == d, "SpreadFactor: a is {d}x{} (expected a square matrix)", a.ncols());
        assert!(s >= 0.0 && s.is_finite(), "SpreadFactor: spread s = {s} must be finite and >= 0");
        let FactorStorage { mut l, l_inv } = storage;
        if s > 0.0 {
            l.reshape(d, d);
            // Only the lower triangle of A A^T, read from the lower triangle of `a` (faer never
            // touches the other): d^3 / 3 flops, a sixth of a dense product.
            tri_product((l.as_mut(), LOWER), Accum::Replace, (a, LOWER), (a.transpose(), UPPER), 1.0);
            for i in 0..d {
                l.data[i + i * d] += s * s;
            }
            if let Err(pivot) = cholesky_in_place(&mut l) {
                return Err(TapeError::NotPositiveDefinite { op: "gaussian_log_prob", rows: d, pivot });
            }
        } else {
            l.copy_from(a);
            zero_above_diagonal(&mut l);
            for j in 0..d {
                let diag = l.data[j + j * d];
                if diag == 0.0 {
                    return Err(TapeError::SingularCovariance { index: j });
                }
                if diag < 0.0 {
                    l.col_mut(j).iter_mut().for_each(|x| *x = -*x);
                }
            }
        }
        Ok(Self { l, l_inv, inverse: false, s })
    }

    /// The same factor carrying `L^-1` too (`d^3 / 3` flops), which
    /// [`SpreadFactor::trace_of_inverse`] and a closed-form noise expectation in
    /// [`Tape::gaussian_log_prob_factored`] need.
    #[must_use]
    pub fn with_inverse(mut self) -> Self {
        if !self.inverse {
            let par = par_for(self.dim().pow(3) / 3);
            invert_into(&self.l, &mut self.l_inv, par);
            self.inverse = true;
        }
        self
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.l.rows
    }

    /// The spread `s`.
    pub fn spread(&self) -> f64 {
        self.s
    }

    /// The lower-triangular factor `L` (`S = L L^T`).
    pub fn factor(&self) -> MatRef<'_, f64> {
        self.l.as_ref()
    }

    /// `ln det S = 2 sum_i ln L_ii`.
    pub fn log_det(&self) -> f64 {
        let d = self.dim();
        2.0 * (0..d).map(|i| self.l.data[i + i * d].ln()).sum::<f64>()
    }

    /// `tr(S^-1) = |L^-1|_F^2` (forming `L^-1` first when the factor does not carry it).
    pub fn trace_of_inverse(&self) -> f64 {
        if !self.inverse {
            let mut l_inv = Buf::default();
            invert_into(&self.l, &mut l_inv, par_for(self.dim().pow(3) / 3));
            return squared_norm_lower(&l_inv);
        }
        squared_norm_lower(&self.l_inv)
    }

    /// The first row `i` at which `diag(L L^T)` and the squared row norms of `tril(a)` plus
    /// `s^2` disagree beyond rounding (a factor of another matrix), if any.
    pub(crate) fn mismatched_row(&self, a: &Buf) -> Option<usize> {
        let d = self.dim();
        if a.shape() != (d, d) {
            return Some(0);
        }
        let mut expected = vec![self.s * self.s; d];
        let mut factored = vec![0.0; d];
        for j in 0..d {
            let (ac, lc) = (a.col(j), self.l.col(j));
            for i in j..d {
                expected[i] += ac[i] * ac[i];
                factored[i] += lc[i] * lc[i];
            }
        }
        (0..d).find(|&i| (expected[i] - factored[i]).abs() > 1e-9 * expected[i] + f64::MIN_POSITIVE)
    }

    /// Swap the factor's buffers into the op's auxiliary slots `L` and `L^-1` (the latter
    /// left empty when the factor has no inverse); returns the slots' previous buffers.
    pub(crate) fn into_slots(mut self, l: &mut Buf, l_inv: &mut Buf) -> FactorStorage {
        std::mem::swap(l, &mut self.l);
        std::mem::swap(l_inv, &mut self.l_inv);
        if !self.inverse {
            l_inv.reshape(0, 0);
        }
        FactorStorage { l: self.l, l_inv: self.l_inv }
    }
}

/// `out = L^-1` for a lower-triangular `L`, with a zero strict upper triangle.
fn invert_into(l: &Buf, out: &mut Buf, par: Par) {
    let d = l.rows;
    out.reshape(d, d);
    invert_lower_triangular(out.as_mut(), l.as_ref(), par);
    zero_above_diagonal(out);
}

/// The squared Frobenius norm of the lower triangle.
fn squared_norm_lower(m: &Buf) -> f64 {
    (0..m.cols).map(|j| m.col(j)[j..].iter().map(|x| x * x).sum::<f64>()).sum()
}

/// Forward pass of `gaussian_log_prob` into node `out`, with `L` and `L^-1` (possibly empty)
/// in the auxiliary slots `aux` and `aux + 1`; keeps `W^T = L^-1 Y^T` in slot `aux + 2`:
/// `out_i = -0.5 (d ln(2 pi) + ln det S + v tr(S^-1) + |w_i|^2)`.
pub(crate) fn gaussian_forward(tape: &mut Tape, out: u32, z: u32, mu: Option<u32>, noise_variance: f64, aux: u32) {
    let Tape { values, aux: auxs, .. } = tape;
    let (lo, hi) = values.split_at_mut(out as usize);
    let zb = &lo[z as usize];
    let (n, d) = zb.shape();
    let (slots, rest) = auxs[aux as usize..].split_at_mut(2);
    let wt = &mut rest[0];
    let (l, l_inv) = {
        let (l, l_inv) = slots.split_at_mut(1);
        (&l[0], &mut l_inv[0])
    };
    if noise_variance > 0.0 && l_inv.data.is_empty() {
        invert_into(l, l_inv, par_for(d * d * d / 3));
    }

    // W^T = L^-1 (Z - mu)^T, d x n.
    wt.reshape(d, n);
    for i in 0..n {
        for k in 0..d {
            let m = mu.map_or(0.0, |m| lo[m as usize].data[k]);
            wt.data[k + i * d] = zb.data[i + k * n] - m;
        }
    }
    solve_lower_triangular_in_place(l.as_ref(), wt.as_mut(), par_for(d * d * n));

    let log_det: f64 = 2.0 * (0..d).map(|i| l.data[i + i * d].ln()).sum::<f64>();
    let trace = if noise_variance > 0.0 { noise_variance * squared_norm_lower(l_inv) } else { 0.0 };
    let constant = -0.5 * (d as f64 * LN_2PI + log_det + trace);
    let o = &mut hi[0];
    for i in 0..n {
        let quad: f64 = wt.col(i).iter().map(|w| w * w).sum();
        o.data[i] = constant - 0.5 * quad;
    }
}

/// `P = S^-1 Y^T = L^-T W^T` (`d x n`) into `p`: the reverse pass's `d/dz_i = -w_i p_i` and
/// `d/dmu = sum_i w_i p_i`.
pub(crate) fn gaussian_p(l: &Buf, wt: &Buf, p: &mut Buf) {
    let (d, n) = wt.shape();
    p.reshape(d, n);
    p.data.copy_from_slice(&wt.data);
    solve_upper_triangular_in_place(l.as_ref().transpose(), p.as_mut(), par_for(d * d * n));
}

/// The batch term of `dA`: `tril(sum_i w_i p_i p_i^T A) = tril(P T)` with `T = diag(w) P^T A`
/// (rank `n`, `d^2 n` flops), into `out` with a zero strict upper triangle. Only the lower
/// triangle of `a` is read.
pub(crate) fn gaussian_batch_term(upstream: &[f64], p: &Buf, a: &Buf, t: &mut Buf, out: &mut Buf) {
    let (d, n) = p.shape();
    t.reshape(n, d);
    tri_product((t.as_mut(), FULL), Accum::Replace, (p.as_ref().transpose(), FULL), (a.as_ref(), LOWER), 1.0);
    for col in t.data.chunks_exact_mut(n) {
        col.iter_mut().zip(upstream).for_each(|(x, &wi)| *x *= wi);
    }
    out.reshape(d, d);
    zero_above_diagonal(out);
    tri_product((out.as_mut(), LOWER), Accum::Replace, (p.as_ref(), FULL), (t.as_ref(), FULL), 1.0);
}

/// The dense term of `dA` per unit of upstream weight, `tril(S^-1 A - v S^-2 A)`, into
/// `bufs[3]` with a zero strict upper triangle (the reverse pass adds `-sum_i w_i` times it).
/// It depends on `A` and the factor only, so the reverse pass may compute it concurrently
/// with the rest of the graph. `l_inv` is `L^-1`, or empty: it is then formed in `bufs[0]`
/// from `l` (`d^3 / 3` flops).
///
/// `M = L^-1 A` is lower triangular like both factors and `S^-1 A = L^-T M`; with `v = 0`
/// only its lower triangle is formed (`tril(L^-T M)`, `d^3 / 3` flops after the `d^3 / 3` of
/// `M`). With `v > 0`, `S^-2 A = L^-T (L^-1 (L^-T M))` adds about `d^3` flops. With
/// `Par::Seq` it runs on the calling thread only (to overlap other work, not to fan out).
pub(crate) fn gaussian_dense_term<'b>(
    l: &Buf,
    l_inv: &Buf,
    a: &Buf,
    noise_variance: f64,
    bufs: &'b mut [Buf; 4],
    par: Par,
) -> &'b Buf {
    let d = a.rows;
    let [own_inverse, m, k, out] = bufs;
    let l_inv = if l_inv.data.is_empty() {
        invert_into(l, own_inverse, capped(par, d * d * d / 3));
        &*own_inverse
    } else {
        l_inv
    };
    m.reshape(d, d);
    tri_product_par((m.as_mut(), LOWER), Accum::Replace, (l_inv.as_ref(), LOWER), (a.as_ref(), LOWER), 1.0, par);
    out.reshape(d, d);
    zero_above_diagonal(out);
    if noise_variance > 0.0 {
        // K = L^-T M in full, then tril(K) - v tril(L^-T (L^-1 K)), reusing M for L^-1 K.
        k.reshape(d, d);
        tri_product_par(
            (k.as_mut(), FULL),
            Accum::Replace,
            (l_inv.as_ref().transpose(), UPPER),
            (m.as_ref(), LOWER),
            1.0,
            par,
        );
        tri_product_par((m.as_mut(), FULL), Accum::Replace, (l_inv.as_ref(), LOWER), (k.as_ref(), FULL), 1.0, par);
        tri_product_par(
            (out.as_mut(), LOWER),
            Accum::Replace,
            (l_inv.as_ref().transpose(), UPPER),
            (m.as_ref(), FULL),
            -noise_variance,
            par,
        );
        for j in 0..d {
            let (o, kc) = (out.col_mut(j), k.col(j));
            for i in j..d {
                o[i] += kc[i];
            }
        }
    } else {
        tri_product_par(
            (out.as_mut(), LOWER),
            Accum::Replace,
            (l_inv.as_ref().transpose(), UPPER),
            (m.as_ref(), LOWER),
            1.0,
            par,
        );
    }
    out
}

const FULL: BlockStructure = BlockStructure::Rectangular;
const LOWER: BlockStructure = BlockStructure::TriangularLower;
const UPPER: BlockStructure = BlockStructure::TriangularUpper;

/// `dst (=|+=) alpha lhs rhs` where each of the three matrices is read or written only on
/// the triangle its [`BlockStructure`] names (faer skips the blocks known to be zero). Rayon
/// is used for large products as in `gemm`.
fn tri_product(
    (dst, dst_structure): (MatMut<'_, f64>, BlockStructure),
    accum: Accum,
    (lhs, lhs_structure): (MatRef<'_, f64>, BlockStructure),
    (rhs, rhs_structure): (MatRef<'_, f64>, BlockStructure),
    alpha: f64,
) {
    tri_product_par((dst, dst_structure), accum, (lhs, lhs_structure), (rhs, rhs_structure), alpha, Par::rayon(0));
}

/// `Par::Seq` stays sequential; otherwise rayon when `flops` is large (as [`par_for`]).
fn capped(par: Par, flops: usize) -> Par {
    if matches!(par, Par::Seq) { par } else { par_for(flops) }
}

/// [`tri_product`] with the parallelism given (`Par::Seq`: on the calling thread only).
fn tri_product_par(
    (dst, dst_structure): (MatMut<'_, f64>, BlockStructure),
    accum: Accum,
    (lhs, lhs_structure): (MatRef<'_, f64>, BlockStructure),
    (rhs, rhs_structure): (MatRef<'_, f64>, BlockStructure),
    alpha: f64,
    par: Par,
) {
    let par = capped(par, lhs.nrows() * lhs.ncols() * rhs.ncols());
    triangular_matmul(dst, dst_structure, accum, lhs, lhs_structure, rhs, rhs_structure, alpha, par);
}

/// Reverse pass of the Cholesky factorisation `L L^T = sym(A)`: given `Lbar`, returns
/// `Abar = sym(L^-T Phi(L^T Lbar) L^-1)` into `out`, where `Phi` takes the lower triangle
/// and halves the diagonal (Murray 2016).
pub(crate) fn cholesky_backward(l: &Buf, lbar: &Buf, out: &mut Buf) {
    let n = l.rows;
    out.reshape(n, n);
    // out = L^T Lbar, then Phi.
    gemm(out.as_mut(), Accum::Replace, l.as_ref().transpose(), lbar.as_ref(), 1.0);
    zero_above_diagonal(out);
    for i in 0..n {
        out.data[i + i * n] *= 0.5;
    }
    let par = par_for(n * n * n);
    // out = L^-T out L^-1: solve L^T X = out, then L^T Y^T = X^T.
    solve_upper_triangular_in_place(l.as_ref().transpose(), out.as_mut(), par);
    transpose_in_place(out);
    solve_upper_triangular_in_place(l.as_ref().transpose(), out.as_mut(), par);
    // symmetrise
    for j in 0..n {
        for i in (j + 1)..n {
            let v = 0.5 * (out.data[i + j * n] + out.data[j + i * n]);
            out.data[i + j * n] = v;
            out.data[j + i * n] = v;
        }
    }
}

fn transpose_in_place(m: &mut Buf) {
    let n = m.rows;
    for j in 0..n {
        for i in (j + 1)..n {
            m.data.swap(i + j * n, j + i * n);
        }
    }
}

/// Reverse pass of `X = L^-1 B`: `Bbar = L^-T Xbar` into `bbar`; `Lbar = -tril(Bbar X^T)`
/// into `lbar` when asked.
pub(crate) fn solve_lower_backward(l: &Buf, x: &Buf, xbar: &Buf, bbar: &mut Buf, lbar: Option<&mut Buf>) {
    let n = l.rows;
    bbar.reshape(xbar.rows, xbar.cols);
    bbar.data.copy_from_slice(&xbar.data);
    solve_upper_triangular_in_place(l.as_ref().transpose(), bbar.as_mut(), par_for(n * n * x.cols));
    if let Some(lbar) = lbar {
        lbar.reshape(n, n);
        gemm(lbar.as_mut(), Accum::Replace, bbar.as_ref(), x.as_ref().transpose(), -1.0);
        zero_above_diagonal(lbar);
    }
}
