//! The fused Gaussian log-density `log N(z; mean, A A^T + spread^2 I)` with a triangular
//! factor `A` (one Cholesky factorisation per batch and a closed-form reverse pass), optionally
//! averaged over isotropic noise on `z`; its factorisation may run concurrently with the
//! recording of `z` ([`Tape::factorize_while_recording`]) and the dense part of its gradient
//! with the rest of the reverse pass.

use std::time::Instant;

use faer::linalg::triangular_solve::{solve_lower_triangular_in_place, solve_upper_triangular_in_place};
use faer::{Accum, MatRef, Par};

use crate::backward::Reverse;
use crate::buf::Buf;
use crate::error::TapeError;
use crate::kernels::{
    FULL, LN_2PI, LOWER, UPPER, add_lower, capped, cholesky_in_place, invert_lower_into, par_for, prepare, reduce_into,
    squared_norm_lower, tri_product, zero_above_diagonal,
};
use crate::op::{Family, Op, Operands};
use crate::profile::OpTimes;
use crate::tape::{Tape, Var, Workspace};

/// From this dimension on, [`Tape::factorize_while_recording`] factorises on another rayon
/// task and the reverse pass computes the dense term of `dA` beside the rest of the graph
/// (below it, a task costs more than it saves).
const CONCURRENT_MIN_DIM: usize = 128;

/// Whether [`Tape::gaussian_log_prob`] scores `z` itself or averages over noise on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoiseTerm {
    /// `log N(z; mean, S)`.
    #[default]
    None,
    /// The expectation over isotropic noise of the spread's own scale, in closed form:
    /// `E_{eps ~ N(0, spread^2 I)} log N(z + eps; mean, S) = log N(z; mean, S) - 0.5 spread^2 tr(S^-1)`.
    Expected,
}

/// The Gaussian `N(mean, S)`, `S = A A^T + spread^2 I`, that [`Tape::gaussian_log_prob`]
/// scores: `A` is the lower triangle of the `d x d` value `factor` (its strict upper triangle
/// is ignored and gets zero gradient), `mean` a `1 x d` row (zero when `None`), and
/// `spread >= 0` the scale of the isotropic Gaussian noise the covariance is convolved with.
/// With `spread > 0`, `S` is positive definite whatever the rank of `A`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaussian {
    /// The covariance factor: its lower triangle is `A`.
    pub factor: Var,
    /// The mean (`1 x d`), or zero.
    pub mean: Option<Var>,
    /// The isotropic spread `s >= 0` of `S = A A^T + s^2 I`.
    pub spread: f64,
    /// Whether the log-density is averaged over `N(0, spread^2 I)` noise on `z`.
    pub noise: NoiseTerm,
}

/// A recorded Gaussian log-density. The auxiliary slots `aux .. aux + 3` hold the Cholesky
/// factor `L` of `S`, `L^-1` (empty until formed) and `W^T = L^-1 Y^T`; `workspace` holds the
/// buffers of the dense term of `dA`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GaussianNode {
    z: u32,
    a: u32,
    mu: Option<u32>,
    /// `spread^2` for [`NoiseTerm::Expected`], else 0.
    noise_variance: f64,
    aux: u32,
    workspace: u32,
}

/// A factorisation done ahead of its Gaussian node by [`Tape::factorize_while_recording`].
#[derive(Debug, Clone)]
pub(crate) struct PreparedFactor {
    a: u32,
    spread_bits: u64,
    aux: u32,
    result: Result<(), TapeError>,
}

impl Family for GaussianNode {
    fn operands(&self) -> Operands {
        [Some(self.z), Some(self.a), self.mu]
    }

    fn name(&self) -> &'static str {
        "gaussian_log_prob"
    }

    fn spawns_work(&self, ops: &[Op], needs: &[bool], values: &[Buf]) -> bool {
        let a = self.a as usize;
        needs[a] && matches!(ops[a], Op::Param(_)) && values[a].rows >= CONCURRENT_MIN_DIM
    }
}

impl Tape {
    /// Per-row Gaussian log-density of `z` (`n x d`) under `gaussian` (see [`Gaussian`]), an
    /// `n x 1` column:
    ///
    /// `out_i = -0.5 (d ln(2 pi) + ln det S + y_i^T S^-1 y_i)`, `y_i = z_i - mean`,
    ///
    /// minus `0.5 spread^2 tr(S^-1)` for [`NoiseTerm::Expected`]. One Cholesky factorisation
    /// `S = L L^T` per call, unless [`Tape::factorize_while_recording`] did it already. With
    /// `spread = 0` the factor is `A` itself (the signs of its columns fixed so that its
    /// diagonal is positive), which needs a non-singular `A`. The reverse pass, with upstream
    /// weights `w_i` and `G = 0.5 sum_i w_i (S^-1 y_i y_i^T S^-1 - S^-1)`, gives
    /// `d/dA = tril(2 G A)` (plus `spread^2 sum_i w_i tril(S^-2 A)` for the expectation),
    /// `d/dz_i = -w_i S^-1 y_i`, `d/dmean = sum_i w_i S^-1 y_i`. When `factor` is a parameter
    /// read with [`Tape::param`] and `d` is large, the dense part of `d/dA` (`tril(S^-1 A)`,
    /// which needs `A` and the factor only) is computed on another rayon task while the
    /// reverse pass goes on through the rest of the graph.
    ///
    /// ```
    /// use autodiff_lite::{Gaussian, NoiseTerm, Tape};
    ///
    /// // A rank-1 A: A A^T is singular, the spread covariance S = A A^T + 0.1^2 I is not.
    /// let mut tape = Tape::new();
    /// let a = tape.leaf(faer::mat![[1.0, 0.0], [2.0, 0.0]].as_ref());
    /// let z = tape.leaf(faer::mat![[0.0, 0.0]].as_ref());
    /// let gaussian = Gaussian { factor: a, mean: None, spread: 0.1, noise: NoiseTerm::None };
    /// let lp = tape.gaussian_log_prob(z, &gaussian).unwrap();
    /// // S = [[1.01, 2], [2, 4.01]], det S = 0.0501: log N(0; 0, S) = -0.5 (2 ln 2 pi + ln 0.0501).
    /// let expected = -0.5 * (2.0 * (2.0 * std::f64::consts::PI).ln() + 0.0501f64.ln());
    /// assert!((tape.scalar(lp) - expected).abs() < 1e-12);
    /// ```
    ///
    /// # Errors
    /// [`TapeError::SingularCovariance`] for `spread = 0` and a zero diagonal entry of `A`;
    /// [`TapeError::NotPositiveDefinite`] if `S` is numerically not positive definite.
    ///
    /// # Panics
    /// If the shapes disagree (the message names them) or `spread` is negative or not finite.
    #[track_caller]
    pub fn gaussian_log_prob(&mut self, z: Var, gaussian: &Gaussian) -> Result<Var, TapeError> {
        let Gaussian { factor: a, mean: mu, spread, noise } = *gaussian;
        let (n, d) = self.dims(z, "gaussian_log_prob");
        self.check_gaussian(gaussian, d);
        let prepared = self.prepared.take_if(|p| p.a == a.index && p.spread_bits == spread.to_bits());
        let aux = match prepared {
            Some(p) => {
                p.result?;
                p.aux
            }
            None => {
                let slot = self.reserve_aux(3);
                let Tape { values, aux, .. } = &mut *self;
                if let Err(e) = factorize(values[a.index()].as_ref(), spread, &mut aux[slot as usize]) {
                    self.n_aux -= 3;
                    return Err(e);
                }
                // L^-1 is formed when a noise term or the reverse pass needs it.
                aux[slot as usize + 1].reshape(0, 0);
                slot
            }
        };
        let noise_variance = match noise {
            NoiseTerm::None => 0.0,
            NoiseTerm::Expected => spread * spread,
        };
        let workspace = self.reserve_workspace();
        let node = GaussianNode { z: z.index, a: a.index, mu: mu.map(|m| m.index), noise_variance, aux, workspace };
        let out = self.push(Op::Gaussian(node), n, 1);
        let start = Instant::now();
        let Tape { values, aux: auxs, profile, .. } = self;
        let (lo, hi) = values.split_at_mut(out as usize);
        let (slots, rest) = auxs[aux as usize..].split_at_mut(2);
        let (l, l_inv) = slots.split_at_mut(1);
        let mean = mu.map(|m| &lo[m.index()]);
        gaussian_forward(&lo[z.index()], mean, &l[0], &mut l_inv[0], noise_variance, &mut rest[0], &mut hi[0]);
        if let Some(profile) = profile.as_mut() {
            profile.add(OpTimes::GAUSSIAN_FORWARD, start.elapsed());
        }
        Ok(self.var(out))
    }

    /// Record `record` (more of the graph, typically the `z` that `gaussian` will score) on
    /// this tape while another rayon task factorises `S = A A^T + spread^2 I` (and forms
    /// `L^-1`), which depends on `gaussian.factor` only; the next
    /// [`Tape::gaussian_log_prob`] of the same `factor` and `spread` uses this factorisation
    /// (and reports its error, if it failed) instead of computing one. Below a dimension of
    /// 128 the factorisation runs after `record` on the calling thread. Returns what `record`
    /// returns.
    ///
    /// While `record` runs, the value of `gaussian.factor` is being read by the other task:
    /// using that variable inside `record` panics.
    ///
    /// # Panics
    /// If `gaussian.factor` is not square or `spread` is negative or not finite.
    #[track_caller]
    pub fn factorize_while_recording<R: Send>(
        &mut self,
        gaussian: &Gaussian,
        record: impl FnOnce(&mut Tape) -> R + Send,
    ) -> R {
        let a = gaussian.factor.index;
        let (d, _) = self.dims(gaussian.factor, "factorize_while_recording");
        self.check_gaussian(gaussian, d);
        let spread = gaussian.spread;
        let slot = self.reserve_aux(3) as usize;
        let mut l = std::mem::take(&mut self.aux[slot]);
        let mut l_inv = std::mem::take(&mut self.aux[slot + 1]);
        let factorize_with_inverse = |a: &Buf, l: &mut Buf, l_inv: &mut Buf| {
            let start = Instant::now();
            let result = factorize(a.as_ref(), spread, l).map(|()| invert_lower_into(l, l_inv, par_for(d * d * d / 3)));
            (result, start.elapsed())
        };
        let ((result, time), recorded) = if d >= CONCURRENT_MIN_DIM {
            let a_value = std::mem::take(&mut self.values[a as usize]);
            self.lent = Some(a);
            let (factorized, recorded) =
                crate::par::join(|| factorize_with_inverse(&a_value, &mut l, &mut l_inv), || record(&mut *self));
            self.lent = None;
            self.values[a as usize] = a_value;
            (factorized, recorded)
        } else {
            let recorded = record(&mut *self);
            (factorize_with_inverse(&self.values[a as usize], &mut l, &mut l_inv), recorded)
        };
        self.aux[slot] = l;
        self.aux[slot + 1] = l_inv;
        if let Some(profile) = self.profile.as_mut() {
            profile.add(OpTimes::CONCURRENT_FACTORIZATION, time);
        }
        self.prepared = Some(PreparedFactor { a, spread_bits: spread.to_bits(), aux: slot as u32, result });
        recorded
    }

    #[track_caller]
    fn check_gaussian(&self, gaussian: &Gaussian, d: usize) {
        let (ra, ca) = self.dims(gaussian.factor, "gaussian_log_prob");
        assert!(
            ra == d && ca == d,
            "gaussian_log_prob: z has {d} columns but the factor is {ra}x{ca} (expected {d}x{d})"
        );
        if let Some(mu) = gaussian.mean {
            let (rm, cm) = self.dims(mu, "gaussian_log_prob");
            assert!(
                (rm, cm) == (1, d),
                "gaussian_log_prob: z has {d} columns but the mean is {rm}x{cm} (expected 1x{d})"
            );
        }
        let spread = gaussian.spread;
        assert!(spread >= 0.0 && spread.is_finite(), "gaussian_log_prob: spread {spread} must be finite and >= 0");
    }
}

/// The Cholesky factor `L` of `S = A A^T + spread^2 I` (`A = tril(a)`) into `l`. For
/// `spread = 0` the factor is `A` itself with the signs of its columns fixed so that its
/// diagonal is positive (which needs a non-singular `A`).
fn factorize(a: MatRef<'_, f64>, spread: f64, l: &mut Buf) -> Result<(), TapeError> {
    let d = a.nrows();
    if spread > 0.0 {
        l.reshape(d, d);
        // Only the lower triangle of A A^T, read from the lower triangle of `a` (faer never
        // touches the other): d^3 / 3 flops, a sixth of a dense product.
        tri_product((l.as_mut(), LOWER), Accum::Replace, (a, LOWER), (a.transpose(), UPPER), 1.0, crate::par::all());
        for i in 0..d {
            l.data[i + i * d] += spread * spread;
        }
        return cholesky_in_place(l).map_err(|pivot| TapeError::NotPositiveDefinite {
            op: "gaussian_log_prob",
            rows: d,
            pivot,
        });
    }
    l.copy_from(a);
    zero_above_diagonal(l);
    for j in 0..d {
        let diag = l.data[j + j * d];
        if diag == 0.0 {
            return Err(TapeError::SingularCovariance { index: j });
        }
        if diag < 0.0 {
            l.col_mut(j).iter_mut().for_each(|x| *x = -*x);
        }
    }
    Ok(())
}

/// Forward pass into `out` (`n x 1`) with `L` in `l` and `L^-1` in `l_inv` (empty: formed
/// here when the noise term needs it); keeps `W^T = L^-1 Y^T` in `wt`:
/// `out_i = -0.5 (d ln(2 pi) + ln det S + v tr(S^-1) + |w_i|^2)` with `v = noise_variance`.
fn gaussian_forward(
    z: &Buf,
    mean: Option<&Buf>,
    l: &Buf,
    l_inv: &mut Buf,
    noise_variance: f64,
    wt: &mut Buf,
    out: &mut Buf,
) {
    let (n, d) = z.shape();
    if noise_variance > 0.0 && l_inv.data.is_empty() {
        invert_lower_into(l, l_inv, par_for(d * d * d / 3));
    }

    // W^T = L^-1 (Z - mu)^T, d x n.
    wt.reshape(d, n);
    for i in 0..n {
        for k in 0..d {
            let m = mean.map_or(0.0, |m| m.data[k]);
            wt.data[k + i * d] = z.data[i + k * n] - m;
        }
    }
    solve_lower_triangular_in_place(l.as_ref(), wt.as_mut(), par_for(d * d * n));

    let log_det: f64 = 2.0 * (0..d).map(|i| l.data[i + i * d].ln()).sum::<f64>();
    let trace = if noise_variance > 0.0 { noise_variance * squared_norm_lower(l_inv) } else { 0.0 };
    let constant = -0.5 * (d as f64 * LN_2PI + log_det + trace);
    for i in 0..n {
        let quad: f64 = wt.col(i).iter().map(|w| w * w).sum();
        out.data[i] = constant - 0.5 * quad;
    }
}

impl GaussianNode {
    /// Reverse pass: `g` is the gradient of this node's value (the upstream weights `w_i`).
    pub(crate) fn reverse<'g, 's>(&self, g: &Buf, r: &mut Reverse<'g, 's, '_>)
    where
        'g: 's,
    {
        let GaussianNode { z, a, mu, noise_variance, aux, workspace } = *self;
        let (values, auxs, ops, needs) = (r.values, r.aux, r.ops, r.needs);
        let slot = aux as usize;
        let (l, l_inv, wt) = (&auxs[slot], &auxs[slot + 1], &auxs[slot + 2]);
        let [p, t, batch_term, ..] = &mut *r.scratch;
        gaussian_p(l, wt, p);
        let (d, n) = p.shape();
        if needs[z as usize] {
            let (t, live) = r.grads.target(z);
            prepare(t, live, n, d);
            for k in 0..d {
                for i in 0..n {
                    t.data[i + k * n] -= g.data[i] * p.data[k + i * d];
                }
            }
        }
        if let Some(m) = mu.filter(|&m| needs[m as usize]) {
            let (t, live) = r.grads.target(m);
            prepare(t, live, 1, d);
            for i in 0..n {
                for k in 0..d {
                    t.data[k] += g.data[i] * p.data[k + i * d];
                }
            }
        }
        if !needs[a as usize] {
            return;
        }
        // dA = tril(P diag(w) P^T A) - (sum_i w_i) tril(S^-1 A - v S^-2 A).
        let a_value = &values[a as usize];
        gaussian_batch_term(&g.data, p, a_value, t, batch_term);
        let scale = -g.data.iter().sum::<f64>();
        let bufs = r.workspaces[workspace as usize].take().expect("one reverse pass per Gaussian node");
        match ops[a as usize] {
            // A parameter's gradient goes straight to the store: the dense term is added there
            // once it is ready, and the reverse pass goes on meanwhile.
            Op::Param(id) if self.spawns_work(ops, needs, values) => {
                // Without the noise term (d^3 / 3 flops twice) one core finishes it within the
                // flow's reverse pass; with it (about 4 d^3 / 3 more) it outlasts the flow, so
                // it may fan out once the flow is done (docs/performance.md).
                let par = if noise_variance > 0.0 { crate::par::all() } else { Par::Seq };
                r.concurrent.add_to_param_grad(id, scale, move || {
                    gaussian_dense_term(l, l_inv, a_value, noise_variance, bufs, par)
                });
            }
            _ => {
                let dense = gaussian_dense_term(l, l_inv, a_value, noise_variance, bufs, crate::par::all());
                add_lower(batch_term, dense, scale);
            }
        }
        let (t, live) = r.grads.target(a);
        reduce_into(t, live, (d, d), batch_term, 1.0);
    }
}

/// `P = S^-1 Y^T = L^-T W^T` (`d x n`) into `p`: the reverse pass's `d/dz_i = -w_i p_i` and
/// `d/dmu = sum_i w_i p_i`.
fn gaussian_p(l: &Buf, wt: &Buf, p: &mut Buf) {
    let (d, n) = wt.shape();
    p.reshape(d, n);
    p.data.copy_from_slice(&wt.data);
    solve_upper_triangular_in_place(l.as_ref().transpose(), p.as_mut(), par_for(d * d * n));
}

/// The batch term of `dA`: `tril(sum_i w_i p_i p_i^T A) = tril(P T)` with `T = diag(w) P^T A`
/// (rank `n`, `d^2 n` flops), into `out` with a zero strict upper triangle. Only the lower
/// triangle of `a` is read.
fn gaussian_batch_term(upstream: &[f64], p: &Buf, a: &Buf, t: &mut Buf, out: &mut Buf) {
    let (d, n) = p.shape();
    t.reshape(n, d);
    let par = crate::par::all();
    tri_product((t.as_mut(), FULL), Accum::Replace, (p.as_ref().transpose(), FULL), (a.as_ref(), LOWER), 1.0, par);
    for col in t.data.chunks_exact_mut(n) {
        col.iter_mut().zip(upstream).for_each(|(x, &wi)| *x *= wi);
    }
    out.reshape(d, d);
    zero_above_diagonal(out);
    tri_product((out.as_mut(), LOWER), Accum::Replace, (p.as_ref(), FULL), (t.as_ref(), FULL), 1.0, par);
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
fn gaussian_dense_term<'b>(
    l: &Buf,
    l_inv: &Buf,
    a: &Buf,
    noise_variance: f64,
    bufs: &'b mut Workspace,
    par: Par,
) -> &'b Buf {
    let d = a.rows;
    let [own_inverse, m, k, out] = bufs;
    let l_inv = if l_inv.data.is_empty() {
        invert_lower_into(l, own_inverse, capped(par, d * d * d / 3));
        &*own_inverse
    } else {
        l_inv
    };
    m.reshape(d, d);
    tri_product((m.as_mut(), LOWER), Accum::Replace, (l_inv.as_ref(), LOWER), (a.as_ref(), LOWER), 1.0, par);
    out.reshape(d, d);
    zero_above_diagonal(out);
    let l_inv_t = l_inv.as_ref().transpose();
    if noise_variance > 0.0 {
        // K = L^-T M in full, then tril(K) - v tril(L^-T (L^-1 K)), reusing M for L^-1 K.
        k.reshape(d, d);
        tri_product((k.as_mut(), FULL), Accum::Replace, (l_inv_t, UPPER), (m.as_ref(), LOWER), 1.0, par);
        tri_product((m.as_mut(), FULL), Accum::Replace, (l_inv.as_ref(), LOWER), (k.as_ref(), FULL), 1.0, par);
        tri_product((out.as_mut(), LOWER), Accum::Replace, (l_inv_t, UPPER), (m.as_ref(), FULL), -noise_variance, par);
        for j in 0..d {
            let (o, kc) = (out.col_mut(j), k.col(j));
            for i in j..d {
                o[i] += kc[i];
            }
        }
    } else {
        tri_product((out.as_mut(), LOWER), Accum::Replace, (l_inv_t, UPPER), (m.as_ref(), LOWER), 1.0, par);
    }
    out
}
