//! Cholesky factorisation, triangular solve and the log-determinant of a Cholesky factor:
//! recording, reverse pass and their reverse-pass kernels.

use faer::Accum;
use faer::linalg::triangular_solve::{solve_lower_triangular_in_place, solve_upper_triangular_in_place};

use crate::backward::Reverse;
use crate::buf::Buf;
use crate::error::TapeError;
use crate::kernels::{cholesky_in_place, gemm, par_for, prepare, reduce_into, transpose_in_place, zero_above_diagonal};
use crate::op::{Family, Op, Operands};
use crate::tape::{Tape, Var};

/// A recorded linear-algebra op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Linalg {
    /// Cholesky factor of `(a + a^T) / 2`.
    Cholesky(u32),
    /// `L^-1 b` with `L` the lower triangle of the first operand.
    SolveLower(u32, u32),
    /// `2 sum_i log L_ii` of a Cholesky factor.
    LogDetCholesky(u32),
}

impl Family for Linalg {
    fn operands(&self) -> Operands {
        match *self {
            Linalg::Cholesky(a) | Linalg::LogDetCholesky(a) => [Some(a), None, None],
            Linalg::SolveLower(l, b) => [Some(l), Some(b), None],
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Linalg::Cholesky(_) => "cholesky",
            Linalg::SolveLower(..) => "solve_lower",
            Linalg::LogDetCholesky(_) => "log_det_cholesky",
        }
    }
}

impl Tape {
    /// The lower Cholesky factor `L` of the symmetric part of `a`: `L L^T = (a + a^T) / 2`.
    /// Gradients flow to `a` through the symmetrisation, so they are symmetric.
    ///
    /// # Errors
    /// [`TapeError::NotPositiveDefinite`] when the symmetric part is not positive definite.
    ///
    /// # Panics
    /// If `a` is not square.
    #[track_caller]
    pub fn cholesky(&mut self, a: Var) -> Result<Var, TapeError> {
        let (r, c) = self.dims(a, "cholesky");
        assert!(r == c, "cholesky: matrix of shape {r}x{c} is not square");
        let out = self.push(Op::Linalg(Linalg::Cholesky(a.index)), r, r);
        let (o, x) = self.out_in(out, a.index);
        for j in 0..r {
            for i in 0..r {
                o.data[i + j * r] = 0.5 * (x.data[i + j * r] + x.data[j + i * r]);
            }
        }
        if let Err(pivot) = cholesky_in_place(o) {
            self.pop();
            return Err(TapeError::NotPositiveDefinite { op: "cholesky", rows: r, pivot });
        }
        Ok(self.var(out))
    }

    /// `L^-1 b`, where `L` is the lower triangle (with diagonal) of `l`.
    ///
    /// # Panics
    /// If `l` is not square or its size differs from the rows of `b`.
    #[track_caller]
    pub fn solve_lower(&mut self, l: Var, b: Var) -> Var {
        let (r, c) = self.dims(l, "solve_lower");
        let (rb, cb) = self.dims(b, "solve_lower");
        assert!(r == c && c == rb, "solve_lower: L of shape {r}x{c} cannot solve a right-hand side of shape {rb}x{cb}");
        let out = self.push(Op::Linalg(Linalg::SolveLower(l.index, b.index)), rb, cb);
        let (lo, hi) = self.values.split_at_mut(out as usize);
        let o = &mut hi[0];
        o.data.copy_from_slice(&lo[b.index()].data);
        solve_lower_triangular_in_place(lo[l.index()].as_ref(), o.as_mut(), par_for(r * r * cb));
        self.var(out)
    }

    /// `log det(L L^T) = 2 sum_i ln L_ii` for a Cholesky factor `L` (`1 x 1`).
    ///
    /// # Panics
    /// If `l` is not square.
    #[track_caller]
    pub fn log_det_cholesky(&mut self, l: Var) -> Var {
        let (r, c) = self.dims(l, "log_det_cholesky");
        assert!(r == c, "log_det_cholesky: factor of shape {r}x{c} is not square");
        let out = self.push(Op::Linalg(Linalg::LogDetCholesky(l.index)), 1, 1);
        let (o, x) = self.out_in(out, l.index);
        o.data[0] = 2.0 * (0..r).map(|i| x.data[i + i * r].ln()).sum::<f64>();
        self.var(out)
    }
}

impl Linalg {
    /// Reverse pass: `g` is the gradient of this node's value `out`.
    pub(crate) fn reverse(&self, g: &Buf, out: &Buf, r: &mut Reverse<'_, '_, '_>) {
        match *self {
            Linalg::Cholesky(a) => {
                if !r.needs[a as usize] {
                    return;
                }
                let (rows, cols) = r.values[a as usize].shape();
                cholesky_backward(out, g, &mut r.scratch[0]);
                let (t, live) = r.grads.target(a);
                reduce_into(t, live, (rows, cols), &r.scratch[0], 1.0);
            }
            Linalg::SolveLower(l, b) => {
                let need_l = r.needs[l as usize];
                if !need_l && !r.needs[b as usize] {
                    return;
                }
                let [s0, s1, ..] = &mut *r.scratch;
                solve_lower_backward(&r.values[l as usize], out, g, s0, need_l.then_some(s1));
                if r.needs[b as usize] {
                    let shape = r.values[b as usize].shape();
                    let (t, live) = r.grads.target(b);
                    reduce_into(t, live, shape, &r.scratch[0], 1.0);
                }
                if need_l {
                    let shape = r.values[l as usize].shape();
                    let (t, live) = r.grads.target(l);
                    reduce_into(t, live, shape, &r.scratch[1], 1.0);
                }
            }
            Linalg::LogDetCholesky(l) => {
                if !r.needs[l as usize] {
                    return;
                }
                let x = &r.values[l as usize];
                let (rows, cols) = x.shape();
                let (t, live) = r.grads.target(l);
                prepare(t, live, rows, cols);
                for k in 0..rows {
                    t.data[k + k * rows] += 2.0 * g.data[0] / x.data[k + k * rows];
                }
            }
        }
    }
}

/// Reverse pass of the Cholesky factorisation `L L^T = sym(A)`: given `Lbar`, returns
/// `Abar = sym(L^-T Phi(L^T Lbar) L^-1)` into `out`, where `Phi` takes the lower triangle
/// and halves the diagonal (Murray 2016).
fn cholesky_backward(l: &Buf, lbar: &Buf, out: &mut Buf) {
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

/// Reverse pass of `X = L^-1 B`: `Bbar = L^-T Xbar` into `bbar`; `Lbar = -tril(Bbar X^T)`
/// into `lbar` when asked.
fn solve_lower_backward(l: &Buf, x: &Buf, xbar: &Buf, bbar: &mut Buf, lbar: Option<&mut Buf>) {
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
