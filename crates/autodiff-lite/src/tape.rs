//! The tape: an arena of recorded operations over dense matrices, addressed by [`Var`]
//! indices, with the forward computation of every op. The reverse pass is in `backward.rs`.

use std::sync::atomic::{AtomicU32, Ordering};

use faer::{Accum, MatRef, Par};

use crate::buf::Buf;
use crate::conv::Conv2dShape;
use crate::linalg::{FactorStorage, SpreadFactor};
use crate::simd::dispatch;
use crate::store::{ParamId, ParamStore};

/// A value recorded on a [`Tape`]: a `Copy` index into its arena.
///
/// A `Var` is only meaningful on the tape (and in the epoch, between two
/// [`Tape::clear`]s) that created it; using it elsewhere panics with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Var {
    pub(crate) index: u32,
    pub(crate) tape: u32,
    pub(crate) epoch: u32,
}

impl Var {
    /// The position of this value in its tape (operands always come before results).
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// Whether the tape keeps what the reverse pass needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GradMode {
    /// Record every operation for [`Tape::backward`] (training).
    #[default]
    Record,
    /// Compute values only (inference: encoding, sampling); `backward` is refused.
    NoGrad,
}

/// Whether a matrix operand of [`Tape::matmul_t`] is transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transpose {
    /// Use the operand as it is.
    No,
    /// Use the operand's transpose.
    Yes,
}

/// The nonlinearity fused into a dense layer by [`Tape::linear_act`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Activation {
    /// No nonlinearity: `linear_act(x, w, b, Identity)` is [`Tape::linear`].
    #[default]
    Identity,
    /// `max(y, 0)`, as [`Tape::relu`].
    Relu,
    /// `y` where positive, `alpha y` elsewhere, as [`Tape::leaky_relu`].
    LeakyRelu(f64),
    /// `tanh(y)`, as [`Tape::tanh`].
    Tanh,
}

/// Elementwise functions of one operand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Unary {
    Neg,
    Exp,
    Log,
    Tanh,
    Sigmoid,
    Softplus,
    Relu,
    LeakyRelu(f64),
    Square,
    Sqrt,
    AddScalar(f64),
    MulScalar(f64),
}

/// Elementwise functions of two operands, with row/column/scalar broadcasting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
}

/// Reductions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reduce {
    /// Sum of all entries -> 1 x 1.
    Sum,
    /// Sum of each row -> n x 1.
    RowSum,
    /// Sum of each column -> 1 x d.
    ColSum,
}

/// One recorded operation: its kind, operands (indices of earlier nodes) and constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    /// A constant input (data, noise): no gradient flows further.
    Leaf,
    /// A parameter read from a store: its gradient is added to the store's.
    Param(ParamId),
    /// A value computed in no-grad mode.
    Detached,
    Unary(Unary, u32),
    Binary(Binary, u32, u32),
    /// `op(a) op(b)`.
    MatMul(u32, u32, Transpose, Transpose),
    /// `act(x w + b)` with `b` a `1 x out` row broadcast over the rows (a fused dense layer);
    /// the activation's derivative is computed from the output, so `LeakyRelu` needs
    /// `alpha >= 0` here.
    Linear(u32, u32, u32, Activation),
    /// A reduction, scaled by a constant (1 for sums, 1/count for means).
    Reduce(Reduce, u32, f64),
    /// Columns `start .. start + out.cols` of the operand.
    SelectCols(u32, usize),
    /// `[a | b]`.
    ConcatCols(u32, u32),
    /// Output column `j` is operand column `perm[j]`; `perm` lives in `Tape::perms[slot]`.
    PermuteCols(u32, u32),
    /// Lower triangle (with diagonal), zeros above.
    Tril(u32),
    /// `a^T`.
    Transpose(u32),
    /// Cholesky factor of `(a + a^T) / 2`.
    Cholesky(u32),
    /// `L^-1 b` with `L` the lower triangle of the first operand.
    SolveLower(u32, u32),
    /// `2 sum_i log L_ii` of a Cholesky factor.
    LogDetCholesky(u32),
    /// Per-row Gaussian log-density minus `0.5 noise_variance tr(S^-1)`; `aux` slots hold
    /// `[L, L^-1, L^-1 Y^T]`; `job` indexes the buffers of its dense gradient term.
    GaussianLogProb {
        z: u32,
        a: u32,
        mu: Option<u32>,
        noise_variance: f64,
        aux: u32,
        job: u32,
    },
    /// 2-D convolution `conv(x; w) + b`; `aux` slot holds the patch matrix (im2col).
    Conv2d {
        x: u32,
        w: u32,
        b: u32,
        shape: Conv2dShape,
        aux: u32,
    },
    /// Each position of the column blocks minus its mean across the blocks.
    CenterBlocks(u32, usize),
}

impl Op {
    /// The kind of op, as reported by [`OpTimes`].
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Param(_) => "param",
            Op::Detached => "detached",
            Op::Unary(..) => "unary",
            Op::Binary(..) => "binary",
            Op::MatMul(..) => "matmul",
            Op::Linear(..) => "linear",
            Op::Reduce(..) => "reduce",
            Op::SelectCols(..) => "select_cols",
            Op::ConcatCols(..) => "concat_cols",
            Op::PermuteCols(..) => "permute_cols",
            Op::Tril(_) => "tril",
            Op::Transpose(_) => "transpose",
            Op::Cholesky(_) => "cholesky",
            Op::SolveLower(..) => "solve_lower",
            Op::LogDetCholesky(_) => "log_det_cholesky",
            Op::GaussianLogProb { .. } => "gaussian_log_prob",
            Op::Conv2d { .. } => "conv2d",
            Op::CenterBlocks(..) => "center_blocks",
        }
    }
}

/// Errors from operations whose success depends on the data (not on shapes).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TapeError {
    /// A Cholesky factorisation met a non-positive pivot.
    #[error("{op}: matrix of shape {rows}x{rows} is not positive definite (pivot {pivot})")]
    NotPositiveDefinite {
        /// The operation that failed.
        op: &'static str,
        /// The matrix dimension.
        rows: usize,
        /// The index of the failing pivot.
        pivot: usize,
    },
    /// `gaussian_log_prob` with `s = 0` and a singular `A` (a zero diagonal entry).
    #[error("gaussian_log_prob: s = 0 and A is singular (A[{index},{index}] = 0); use a spread s > 0")]
    SingularCovariance {
        /// The diagonal index where `A` vanishes.
        index: usize,
    },
    /// [`Tape::gaussian_log_prob_factored`] was given the factor of another matrix.
    #[error("gaussian_log_prob_factored: the SpreadFactor does not factor A A^T + s^2 I of this A (row {row} differs)")]
    FactorMismatch {
        /// The first row whose squared norm differs.
        row: usize,
    },
}

/// Where the factor a Gaussian node receives comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FactorOrigin {
    /// Built by the tape from the node's own `a` (nothing to check).
    ThisA,
    /// Given by the caller (checked against `a`).
    Caller,
}

static NEXT_TAPE_ID: AtomicU32 = AtomicU32::new(1);

/// Products with at least this many multiply-adds may use rayon; smaller ones stay on the
/// calling thread so that tiny ops pay no thread overhead.
const PAR_MATMUL_FLOPS: usize = 1 << 22;

/// A define-by-run reverse-mode tape over dense `f64` matrices.
///
/// Record operations (each returns a [`Var`]), then call [`Tape::backward`] on a scalar to
/// accumulate parameter gradients into a [`ParamStore`]. [`Tape::clear`] forgets the graph but
/// keeps every buffer, so the next step with the same shapes allocates nothing.
///
/// ```
/// use autodiff_lite::{ParamStore, Tape};
/// let mut store = ParamStore::new();
/// let w = store.add("w", faer::mat![[2.0], [3.0]]);
/// let mut tape = Tape::new();
/// let x = tape.leaf(faer::mat![[1.0, 1.0]].as_ref());
/// let wv = tape.param(&store, w);
/// let y = tape.matmul(x, wv); // 1 x 1: 2 + 3
/// let loss = tape.square(y);
/// tape.backward(loss, &mut store);
/// assert_eq!(tape.value(loss)[(0, 0)], 25.0);
/// assert_eq!(store.grad(w)[(0, 0)], 10.0); // d(y^2)/dw = 2 y x
/// ```
#[derive(Debug)]
pub struct Tape {
    pub(crate) id: u32,
    pub(crate) epoch: u32,
    pub(crate) mode: GradMode,
    pub(crate) ops: Vec<Op>,
    /// Whether a gradient must flow into node `i` (it depends on a parameter or an input).
    pub(crate) needs: Vec<bool>,
    /// Value buffers; slot `i` belongs to node `i` and is reused after `clear`.
    pub(crate) values: Vec<Buf>,
    /// Gradient buffers, same indexing as `values`.
    pub(crate) grads: Vec<Buf>,
    /// Whether `grads[i]` holds a gradient in the current backward pass.
    pub(crate) grad_live: Vec<bool>,
    /// Auxiliary buffers of fused ops (factorisations kept for the reverse pass).
    pub(crate) aux: Vec<Buf>,
    pub(crate) n_aux: usize,
    /// Column permutations of `PermuteCols` nodes.
    pub(crate) perms: Vec<Vec<usize>>,
    pub(crate) n_perms: usize,
    /// Scratch buffers for the reverse pass.
    pub(crate) scratch: [Buf; 5],
    /// Buffers of the dense gradient term of each `GaussianLogProb` node (computed
    /// concurrently with the rest of the reverse pass, so kept apart from `scratch`).
    pub(crate) dense_jobs: Vec<[Buf; 4]>,
    pub(crate) n_dense_jobs: usize,
    /// The buffers that each Gaussian node's factor replaced, for the next factor.
    pub(crate) spare_factors: Vec<Option<FactorStorage>>,
    /// Scratch of the dense layers (pre-activation forward, its gradient backward), kept
    /// apart from `scratch`: a buffer alternating between shapes is zero-filled by
    /// `Vec::resize` each time it grows back (measured at 3% of the RealNVP step).
    pub(crate) layer_scratch: Buf,
    /// Time spent in the reverse pass per kind of op, when profiling is on.
    pub(crate) profile: Option<OpTimes>,
}

/// Wall time of the reverse pass by kind of operation (see [`Tape::set_profiling`]), summed
/// over every [`Tape::backward`] since profiling was switched on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpTimes {
    entries: Vec<(&'static str, std::time::Duration)>,
}

impl OpTimes {
    pub(crate) fn add(&mut self, name: &'static str, t: std::time::Duration) {
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += t,
            None => self.entries.push((name, t)),
        }
    }

    /// The time spent in ops of kind `name` (`"gaussian_log_prob"`, `"conv2d"`, `"linear"`,
    /// `"unary"`, ...), zero if none ran.
    pub fn get(&self, name: &str) -> std::time::Duration {
        self.entries.iter().find(|(n, _)| *n == name).map_or(std::time::Duration::ZERO, |(_, t)| *t)
    }

    /// The total over all kinds.
    pub fn total(&self) -> std::time::Duration {
        self.entries.iter().map(|(_, t)| *t).sum()
    }

    /// `(kind, time)` pairs, longest first.
    pub fn sorted(&self) -> Vec<(&'static str, std::time::Duration)> {
        let mut v = self.entries.clone();
        v.sort_by_key(|e| std::cmp::Reverse(e.1));
        v
    }
}

impl Default for Tape {
    fn default() -> Self {
        Self::new()
    }
}

impl Tape {
    /// A new tape that records for the reverse pass.
    pub fn new() -> Self {
        Self::with_mode(GradMode::Record)
    }

    /// A new tape that only computes values (inference).
    pub fn no_grad() -> Self {
        Self::with_mode(GradMode::NoGrad)
    }

    /// A new tape in the given mode.
    pub fn with_mode(mode: GradMode) -> Self {
        Self {
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            epoch: 0,
            mode,
            ops: Vec::new(),
            needs: Vec::new(),
            values: Vec::new(),
            grads: Vec::new(),
            grad_live: Vec::new(),
            aux: Vec::new(),
            n_aux: 0,
            perms: Vec::new(),
            n_perms: 0,
            scratch: Default::default(),
            dense_jobs: Vec::new(),
            n_dense_jobs: 0,
            spare_factors: Vec::new(),
            layer_scratch: Buf::default(),
            profile: None,
        }
    }

    /// Switch timing of the reverse pass by kind of op on (resetting the totals) or off.
    /// The overhead is two clock reads per op, negligible for large ops.
    pub fn set_profiling(&mut self, on: bool) {
        self.profile = on.then(OpTimes::default);
    }

    /// The reverse-pass times by kind of op since profiling was switched on.
    pub fn profile(&self) -> Option<&OpTimes> {
        self.profile.as_ref()
    }

    /// The recording mode.
    pub fn mode(&self) -> GradMode {
        self.mode
    }

    /// Switch the recording mode; only allowed on an empty tape (after [`Tape::clear`]).
    ///
    /// # Panics
    /// If the tape holds values.
    #[track_caller]
    pub fn set_mode(&mut self, mode: GradMode) {
        assert!(self.ops.is_empty(), "Tape::set_mode: clear the tape before changing its mode");
        self.mode = mode;
    }

    /// Forget every recorded value, keeping the buffers for reuse. Earlier [`Var`]s become
    /// invalid.
    pub fn clear(&mut self) {
        self.ops.clear();
        self.needs.clear();
        self.n_aux = 0;
        self.n_dense_jobs = 0;
        self.n_perms = 0;
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// The number of recorded values.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The value of a recorded variable.
    #[track_caller]
    pub fn value(&self, v: Var) -> MatRef<'_, f64> {
        self.check(v, "value");
        self.values[v.index()].as_ref()
    }

    /// The shape `(rows, cols)` of a recorded variable.
    #[track_caller]
    pub fn shape(&self, v: Var) -> (usize, usize) {
        self.check(v, "shape");
        self.values[v.index()].shape()
    }

    /// The scalar value of a `1 x 1` variable.
    ///
    /// # Panics
    /// If `v` is not `1 x 1`.
    #[track_caller]
    pub fn scalar(&self, v: Var) -> f64 {
        let (r, c) = self.shape(v);
        assert!((r, c) == (1, 1), "Tape::scalar: variable has shape {r}x{c}, not 1x1");
        self.values[v.index()].data[0]
    }

    /// The gradient `d loss / d v` after [`Tape::backward`], or `None` when no gradient
    /// reached `v`.
    #[track_caller]
    pub fn grad(&self, v: Var) -> Option<MatRef<'_, f64>> {
        self.check(v, "grad");
        let i = v.index();
        (i < self.grad_live.len() && self.grad_live[i]).then(|| self.grads[i].as_ref())
    }

    #[track_caller]
    pub(crate) fn check(&self, v: Var, op: &str) {
        assert!(
            v.tape == self.id,
            "{op}: the variable belongs to another tape (tape {} used on tape {})",
            v.tape,
            self.id
        );
        assert!(
            v.epoch == self.epoch && v.index() < self.ops.len(),
            "{op}: the variable is stale (recorded before the last Tape::clear)"
        );
    }

    #[track_caller]
    fn dims(&self, v: Var, op: &str) -> (usize, usize) {
        self.check(v, op);
        self.values[v.index()].shape()
    }

    /// Push a node whose output buffer has shape `rows x cols`; returns its index. The
    /// output buffer's contents are unspecified until the caller writes them.
    fn push(&mut self, op: Op, rows: usize, cols: usize) -> u32 {
        let i = self.ops.len();
        let need = |k: u32| self.needs[k as usize];
        let needs = self.mode == GradMode::Record
            && match op {
                Op::Leaf | Op::Detached => false,
                Op::Param(_) => true,
                Op::Unary(_, a)
                | Op::Reduce(_, a, _)
                | Op::SelectCols(a, _)
                | Op::PermuteCols(a, _)
                | Op::Tril(a)
                | Op::Transpose(a)
                | Op::Cholesky(a)
                | Op::CenterBlocks(a, _)
                | Op::LogDetCholesky(a) => need(a),
                Op::Binary(_, a, b) | Op::MatMul(a, b, ..) | Op::ConcatCols(a, b) | Op::SolveLower(a, b) => {
                    need(a) || need(b)
                }
                Op::Linear(x, w, b, _) => need(x) || need(w) || need(b),
                Op::GaussianLogProb { z, a, mu, .. } => need(z) || need(a) || mu.is_some_and(need),
                Op::Conv2d { x, w, b, .. } => need(x) || need(w) || need(b),
            };
        let op =
            if self.mode == GradMode::NoGrad && !matches!(op, Op::Leaf | Op::Param(_)) { Op::Detached } else { op };
        self.ops.push(op);
        self.needs.push(needs);
        if self.values.len() <= i {
            self.values.push(Buf::default());
        }
        self.values[i].reshape(rows, cols);
        i as u32
    }

    /// Undo the last `push` (an op whose data-dependent computation failed).
    fn pop(&mut self) {
        self.ops.pop();
        self.needs.pop();
    }

    fn var(&self, index: u32) -> Var {
        Var { index, tape: self.id, epoch: self.epoch }
    }

    /// Output buffer of node `out` and input buffer of an earlier node `a`.
    #[inline]
    pub(crate) fn out_in(&mut self, out: u32, a: u32) -> (&mut Buf, &Buf) {
        let (lo, hi) = self.values.split_at_mut(out as usize);
        (&mut hi[0], &lo[a as usize])
    }

    // ----- leaves -------------------------------------------------------------------------

    /// Record a constant (data, noise): no gradient is computed for it (see [`Tape::input`]).
    pub fn leaf(&mut self, value: MatRef<'_, f64>) -> Var {
        let i = self.push(Op::Leaf, value.nrows(), value.ncols());
        self.values[i as usize].copy_from(value);
        self.var(i)
    }

    /// Record a constant `rows x cols` input filled by `fill(row, col)`.
    pub fn leaf_from_fn(&mut self, rows: usize, cols: usize, mut fill: impl FnMut(usize, usize) -> f64) -> Var {
        let i = self.push(Op::Leaf, rows, cols);
        let buf = &mut self.values[i as usize];
        for j in 0..cols {
            for (r, x) in buf.col_mut(j).iter_mut().enumerate() {
                *x = fill(r, j);
            }
        }
        self.var(i)
    }

    /// Record an input whose gradient `d loss / d input` is wanted (read it with
    /// [`Tape::grad`] after [`Tape::backward`]); otherwise like [`Tape::leaf`].
    pub fn input(&mut self, value: MatRef<'_, f64>) -> Var {
        let v = self.leaf(value);
        self.needs[v.index()] = self.mode == GradMode::Record;
        v
    }

    /// Record a `1 x 1` constant.
    pub fn scalar_leaf(&mut self, x: f64) -> Var {
        self.leaf_from_fn(1, 1, |_, _| x)
    }

    /// Read a parameter's current value from `store` as a leaf whose gradient
    /// [`Tape::backward`] adds to the store.
    pub fn param(&mut self, store: &ParamStore, id: ParamId) -> Var {
        let value = store.value(id);
        let i = self.push(Op::Param(id), value.nrows(), value.ncols());
        self.values[i as usize].copy_from(value);
        self.var(i)
    }

    // ----- elementwise --------------------------------------------------------------------

    #[track_caller]
    fn unary(&mut self, f: Unary, a: Var, name: &str) -> Var {
        let (r, c) = self.dims(a, name);
        let out = self.push(Op::Unary(f, a.index), r, c);
        let (o, x) = self.out_in(out, a.index);
        let (o, x) = (&mut o.data[..], &x.data[..]);
        match f {
            Unary::Neg => map(o, x, move |x| -x),
            Unary::Exp => map(o, x, f64::exp),
            Unary::Log => map(o, x, f64::ln),
            Unary::Tanh => map(o, x, f64::tanh),
            Unary::Sigmoid => map(o, x, sigmoid),
            Unary::Softplus => map(o, x, softplus),
            Unary::Relu => map(o, x, move |x| if x > 0.0 { x } else { 0.0 }),
            Unary::LeakyRelu(alpha) => map(o, x, move |x| if x > 0.0 { x } else { alpha * x }),
            Unary::Square => map(o, x, move |x| x * x),
            Unary::Sqrt => map(o, x, f64::sqrt),
            Unary::AddScalar(c) => map(o, x, move |x| x + c),
            Unary::MulScalar(c) => map(o, x, move |x| x * c),
        }
        self.var(out)
    }

    /// `-a`, elementwise.
    #[track_caller]
    pub fn neg(&mut self, a: Var) -> Var {
        self.unary(Unary::Neg, a, "neg")
    }
    /// `exp(a)`, elementwise.
    #[track_caller]
    pub fn exp(&mut self, a: Var) -> Var {
        self.unary(Unary::Exp, a, "exp")
    }
    /// `ln(a)`, elementwise.
    #[track_caller]
    pub fn log(&mut self, a: Var) -> Var {
        self.unary(Unary::Log, a, "log")
    }
    /// `tanh(a)`, elementwise.
    #[track_caller]
    pub fn tanh(&mut self, a: Var) -> Var {
        self.unary(Unary::Tanh, a, "tanh")
    }
    /// `1 / (1 + exp(-a))`, elementwise.
    #[track_caller]
    pub fn sigmoid(&mut self, a: Var) -> Var {
        self.unary(Unary::Sigmoid, a, "sigmoid")
    }
    /// `ln(1 + exp(a))`, elementwise (computed stably).
    #[track_caller]
    pub fn softplus(&mut self, a: Var) -> Var {
        self.unary(Unary::Softplus, a, "softplus")
    }
    /// `max(a, 0)`, elementwise.
    #[track_caller]
    pub fn relu(&mut self, a: Var) -> Var {
        self.unary(Unary::Relu, a, "relu")
    }
    /// `a` where positive, `alpha a` elsewhere.
    #[track_caller]
    pub fn leaky_relu(&mut self, a: Var, alpha: f64) -> Var {
        self.unary(Unary::LeakyRelu(alpha), a, "leaky_relu")
    }
    /// `a^2`, elementwise.
    #[track_caller]
    pub fn square(&mut self, a: Var) -> Var {
        self.unary(Unary::Square, a, "square")
    }
    /// `sqrt(a)`, elementwise.
    #[track_caller]
    pub fn sqrt(&mut self, a: Var) -> Var {
        self.unary(Unary::Sqrt, a, "sqrt")
    }
    /// `a + c` for a constant `c`.
    #[track_caller]
    pub fn add_scalar(&mut self, a: Var, c: f64) -> Var {
        self.unary(Unary::AddScalar(c), a, "add_scalar")
    }
    /// `c a` for a constant `c`.
    #[track_caller]
    pub fn mul_scalar(&mut self, a: Var, c: f64) -> Var {
        self.unary(Unary::MulScalar(c), a, "mul_scalar")
    }

    #[track_caller]
    fn binary(&mut self, f: Binary, a: Var, b: Var, name: &str) -> Var {
        let (ra, ca) = self.dims(a, name);
        let (rb, cb) = self.dims(b, name);
        let (r, c) = match (broadcast_dim(ra, rb), broadcast_dim(ca, cb)) {
            (Some(r), Some(c)) => (r, c),
            _ => panic!("{name}: shapes {ra}x{ca} and {rb}x{cb} do not broadcast (each dimension must match or be 1)"),
        };
        let out = self.push(Op::Binary(f, a.index, b.index), r, c);
        let (lo, hi) = self.values.split_at_mut(out as usize);
        let o = &mut hi[0];
        let (x, y) = (&lo[a.index()], &lo[b.index()]);
        match f {
            Binary::Add => zip_broadcast(o, x, y, move |x, y| x + y),
            Binary::Sub => zip_broadcast(o, x, y, move |x, y| x - y),
            Binary::Mul => zip_broadcast(o, x, y, move |x, y| x * y),
            Binary::Div => zip_broadcast(o, x, y, move |x, y| x / y),
        }
        self.var(out)
    }

    /// `a + b`, elementwise with broadcasting: each dimension of `b` (or `a`) either matches
    /// or is 1 (a `1 x d` row, an `n x 1` column, or a `1 x 1` scalar).
    #[track_caller]
    pub fn add(&mut self, a: Var, b: Var) -> Var {
        self.binary(Binary::Add, a, b, "add")
    }
    /// `a - b`, elementwise with broadcasting (see [`Tape::add`]).
    #[track_caller]
    pub fn sub(&mut self, a: Var, b: Var) -> Var {
        self.binary(Binary::Sub, a, b, "sub")
    }
    /// `a * b`, elementwise with broadcasting (see [`Tape::add`]).
    #[track_caller]
    pub fn mul(&mut self, a: Var, b: Var) -> Var {
        self.binary(Binary::Mul, a, b, "mul")
    }
    /// `a / b`, elementwise with broadcasting (see [`Tape::add`]).
    #[track_caller]
    pub fn div(&mut self, a: Var, b: Var) -> Var {
        self.binary(Binary::Div, a, b, "div")
    }

    // ----- products and reductions --------------------------------------------------------

    /// The matrix product `a b`.
    #[track_caller]
    pub fn matmul(&mut self, a: Var, b: Var) -> Var {
        self.matmul_t(a, Transpose::No, b, Transpose::No)
    }

    /// The matrix product `op(a) op(b)` where `op` optionally transposes.
    ///
    /// # Panics
    /// If the inner dimensions differ; the message names both shapes.
    #[track_caller]
    pub fn matmul_t(&mut self, a: Var, ta: Transpose, b: Var, tb: Transpose) -> Var {
        let sa = oriented(self.dims(a, "matmul"), ta);
        let sb = oriented(self.dims(b, "matmul"), tb);
        assert!(
            sa.1 == sb.0,
            "matmul: inner dimensions differ: {}x{} times {}x{} (after transposes {ta:?}, {tb:?})",
            sa.0,
            sa.1,
            sb.0,
            sb.1
        );
        let out = self.push(Op::MatMul(a.index, b.index, ta, tb), sa.0, sb.1);
        let (lo, hi) = self.values.split_at_mut(out as usize);
        let x = orient(lo[a.index()].as_ref(), ta);
        let y = orient(lo[b.index()].as_ref(), tb);
        gemm(hi[0].as_mut(), Accum::Replace, x, y, 1.0);
        self.var(out)
    }

    /// A dense layer `x w + b`: `x` is `n x k`, `w` is `k x m` and the bias `b` a `1 x m` row
    /// added to every row of the product. The same value and gradients as
    /// `add(matmul(x, w), b)`, in one node and without the intermediate product.
    ///
    /// # Panics
    /// If the shapes do not fit; the message names all three.
    #[track_caller]
    pub fn linear(&mut self, x: Var, w: Var, b: Var) -> Var {
        self.linear_act(x, w, b, Activation::Identity)
    }

    /// A dense layer with its nonlinearity, `act(x w + b)` (shapes as in [`Tape::linear`]):
    /// the same value and gradients as `linear` followed by the activation op, in one node
    /// that writes one `n x m` buffer forward and reads one backward (the derivative comes
    /// from the output: `relu' = [y > 0]`, `tanh' = 1 - y^2`).
    ///
    /// # Panics
    /// If the shapes do not fit; the message names all three.
    #[track_caller]
    pub fn linear_act(&mut self, x: Var, w: Var, b: Var, act: Activation) -> Var {
        let (n, k) = self.dims(x, "linear");
        let (rw, m) = self.dims(w, "linear");
        let (rb, cb) = self.dims(b, "linear");
        assert!(
            rw == k && (rb, cb) == (1, m),
            "linear: x is {n}x{k}, w is {rw}x{m}, b is {rb}x{cb} (expected w {k}x_ and b 1x{m})"
        );
        if let Activation::LeakyRelu(alpha) = act {
            if alpha < 0.0 || alpha.is_nan() {
                // The sign of the output no longer tells the side of the kink: two nodes.
                let y = self.linear(x, w, b);
                return self.leaky_relu(y, alpha);
            }
        }
        let out = self.push(Op::Linear(x.index, w.index, b.index, act), n, m);
        let Tape { values, layer_scratch: pre, .. } = self;
        let (lo, hi) = values.split_at_mut(out as usize);
        let (xb, wb, bb) = (&lo[x.index()], &lo[w.index()], &lo[b.index()]);
        let o = &mut hi[0];
        // The activation reads the pre-activation from a reused scratch buffer and writes the
        // output once: applied in place, the compiler drops the store where the value is
        // unchanged (y > 0) and emits masked stores, which are several times slower.
        // Without an activation the bias is written first and the product accumulated onto
        // it; with one, the bias is added in the activation's pass, saving a pass over the
        // output (the value is the same sum of the product and the bias either way).
        if act == Activation::Identity {
            for (j, &bj) in bb.data.iter().enumerate() {
                o.col_mut(j).fill(bj);
            }
            gemm(o.as_mut(), Accum::Add, xb.as_ref(), wb.as_ref(), 1.0);
            return self.var(out);
        }
        pre.reshape(n, m);
        gemm(pre.as_mut(), Accum::Replace, xb.as_ref(), wb.as_ref(), 1.0);
        for (j, &bj) in bb.data.iter().enumerate() {
            let (o, pre) = (&mut o.data[j * n..(j + 1) * n], &pre.data[j * n..(j + 1) * n]);
            match act {
                Activation::Identity => unreachable!("handled above"),
                Activation::Relu => map(o, pre, move |y| if y + bj > 0.0 { y + bj } else { 0.0 }),
                Activation::LeakyRelu(alpha) => {
                    map(o, pre, move |y| if y + bj > 0.0 { y + bj } else { alpha * (y + bj) })
                }
                Activation::Tanh => map(o, pre, move |y| (y + bj).tanh()),
            }
        }
        self.var(out)
    }

    #[track_caller]
    fn reduce(&mut self, kind: Reduce, a: Var, mean: bool, name: &str) -> Var {
        let (r, c) = self.dims(a, name);
        let (shape, count) = match kind {
            Reduce::Sum => ((1, 1), r * c),
            Reduce::RowSum => ((r, 1), c),
            Reduce::ColSum => ((1, c), r),
        };
        let scale = if mean { 1.0 / count as f64 } else { 1.0 };
        let out = self.push(Op::Reduce(kind, a.index, scale), shape.0, shape.1);
        let (o, x) = self.out_in(out, a.index);
        match kind {
            Reduce::Sum => o.data[0] = sum_slice(&x.data) * scale,
            Reduce::ColSum => {
                for j in 0..c {
                    o.data[j] = sum_slice(x.col(j)) * scale;
                }
            }
            Reduce::RowSum => {
                o.data.copy_from_slice(x.col(0));
                for j in 1..c {
                    for (s, v) in o.data.iter_mut().zip(x.col(j)) {
                        *s += v;
                    }
                }
                if mean {
                    o.data.iter_mut().for_each(|s| *s *= scale);
                }
            }
        }
        self.var(out)
    }

    /// The sum of all entries (`1 x 1`).
    #[track_caller]
    pub fn sum(&mut self, a: Var) -> Var {
        self.reduce(Reduce::Sum, a, false, "sum")
    }
    /// The mean of all entries (`1 x 1`).
    #[track_caller]
    pub fn mean(&mut self, a: Var) -> Var {
        self.reduce(Reduce::Sum, a, true, "mean")
    }
    /// The sum over each row's entries: `n x d -> n x 1`.
    #[track_caller]
    pub fn row_sum(&mut self, a: Var) -> Var {
        self.reduce(Reduce::RowSum, a, false, "row_sum")
    }
    /// The mean over each row's entries: `n x d -> n x 1`.
    #[track_caller]
    pub fn row_mean(&mut self, a: Var) -> Var {
        self.reduce(Reduce::RowSum, a, true, "row_mean")
    }
    /// The sum over each column's entries (over the rows): `n x d -> 1 x d`.
    #[track_caller]
    pub fn col_sum(&mut self, a: Var) -> Var {
        self.reduce(Reduce::ColSum, a, false, "col_sum")
    }
    /// The mean over each column's entries (over the rows): `n x d -> 1 x d`.
    #[track_caller]
    pub fn col_mean(&mut self, a: Var) -> Var {
        self.reduce(Reduce::ColSum, a, true, "col_mean")
    }

    // ----- column blocks ------------------------------------------------------------------

    /// Columns `start .. start + len` of `a`.
    ///
    /// # Panics
    /// If the block does not fit in `a`.
    #[track_caller]
    pub fn select_cols(&mut self, a: Var, start: usize, len: usize) -> Var {
        let (r, c) = self.dims(a, "select_cols");
        assert!(start + len <= c, "select_cols: columns {start}..{} out of range for shape {r}x{c}", start + len);
        let out = self.push(Op::SelectCols(a.index, start), r, len);
        let (o, x) = self.out_in(out, a.index);
        o.data.copy_from_slice(&x.data[start * r..(start + len) * r]);
        self.var(out)
    }

    /// `[a | b]`: the columns of `a` followed by those of `b`.
    ///
    /// # Panics
    /// If the row counts differ.
    #[track_caller]
    pub fn concat_cols(&mut self, a: Var, b: Var) -> Var {
        let (ra, ca) = self.dims(a, "concat_cols");
        let (rb, cb) = self.dims(b, "concat_cols");
        assert!(ra == rb, "concat_cols: row counts differ: {ra}x{ca} and {rb}x{cb}");
        let out = self.push(Op::ConcatCols(a.index, b.index), ra, ca + cb);
        let (lo, hi) = self.values.split_at_mut(out as usize);
        let o = &mut hi[0].data;
        o[..ra * ca].copy_from_slice(&lo[a.index()].data);
        o[ra * ca..].copy_from_slice(&lo[b.index()].data);
        self.var(out)
    }

    /// Reorder columns: output column `j` is column `perm[j]` of `a`.
    ///
    /// # Panics
    /// If `perm` is not a permutation of `0..cols`.
    #[track_caller]
    pub fn permute_cols(&mut self, a: Var, perm: &[usize]) -> Var {
        let (r, c) = self.dims(a, "permute_cols");
        assert!(perm.len() == c, "permute_cols: permutation of length {} for shape {r}x{c}", perm.len());
        debug_assert!(is_permutation(perm), "permute_cols: not a permutation: {perm:?}");
        let slot = self.n_perms;
        self.n_perms += 1;
        if self.perms.len() < self.n_perms {
            self.perms.push(Vec::new());
        }
        self.perms[slot].clear();
        self.perms[slot].extend_from_slice(perm);
        let out = self.push(Op::PermuteCols(a.index, slot as u32), r, c);
        let (o, x) = self.out_in(out, a.index);
        for (j, &p) in perm.iter().enumerate() {
            o.col_mut(j).copy_from_slice(x.col(p));
        }
        self.var(out)
    }

    /// The lower triangle of a matrix (diagonal included), zeros above.
    #[track_caller]
    pub fn tril(&mut self, a: Var) -> Var {
        let (r, c) = self.dims(a, "tril");
        let out = self.push(Op::Tril(a.index), r, c);
        let (o, x) = self.out_in(out, a.index);
        o.data.copy_from_slice(&x.data);
        zero_above_diagonal(o);
        self.var(out)
    }

    /// The transpose `a^T`.
    #[track_caller]
    pub fn transpose(&mut self, a: Var) -> Var {
        let (r, c) = self.dims(a, "transpose");
        let out = self.push(Op::Transpose(a.index), c, r);
        let (o, x) = self.out_in(out, a.index);
        o.as_mut().copy_from(x.as_ref().transpose());
        self.var(out)
    }

    // ----- linear algebra -----------------------------------------------------------------

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
        let out = self.push(Op::Cholesky(a.index), r, r);
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
        let out = self.push(Op::SolveLower(l.index, b.index), rb, cb);
        let (lo, hi) = self.values.split_at_mut(out as usize);
        let o = &mut hi[0];
        o.data.copy_from_slice(&lo[b.index()].data);
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(
            lo[l.index()].as_ref(),
            o.as_mut(),
            par_for(r * r * cb),
        );
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
        let out = self.push(Op::LogDetCholesky(l.index), 1, 1);
        let (o, x) = self.out_in(out, l.index);
        o.data[0] = 2.0 * (0..r).map(|i| x.data[i + i * r].ln()).sum::<f64>();
        self.var(out)
    }

    /// The buffers of a [`SpreadFactor`] that an earlier `gaussian_log_prob` on this tape
    /// replaced (empty storage if none), for [`SpreadFactor::new_in`]: a training loop that
    /// factorises every step then allocates nothing.
    pub fn take_factor_storage(&mut self) -> FactorStorage {
        self.spare_factors.iter_mut().find_map(Option::take).unwrap_or_default()
    }

    /// Per-row Gaussian log-density with a spread, triangular-factor covariance:
    ///
    /// `out_i = log N(z_i; mu, S)`, `S = A A^T + s^2 I`, with `A` the lower triangle of `a`
    /// (`d x d`; the upper triangle is ignored and gets zero gradient), `z` of shape `n x d`,
    /// `mu` an optional `1 x d` row (zero when `None`), `s >= 0` a constant. Output `n x 1`:
    /// `-0.5 (d ln(2 pi) + ln det S + y_i^T S^-1 y_i)`, `y_i = z_i - mu`.
    ///
    /// One Cholesky factorisation of `S` per call (a [`SpreadFactor`]). With `s = 0` the
    /// factor is `A` itself (the signs of its columns fixed so its diagonal is positive),
    /// which needs a non-singular `A`. The reverse pass, with upstream weights `w_i` and
    /// `G = 0.5 sum_i w_i (S^-1 y_i y_i^T S^-1 - S^-1)`, gives `d/dA = tril(2 G A)`,
    /// `d/dz_i = -w_i S^-1 y_i`, `d/dmu = sum_i w_i S^-1 y_i`.
    ///
    /// # Errors
    /// [`TapeError::SingularCovariance`] for `s = 0` and a zero diagonal entry of `A`;
    /// [`TapeError::NotPositiveDefinite`] if `S` is numerically not positive definite.
    ///
    /// # Panics
    /// If shapes disagree or `s` is negative or not finite.
    #[track_caller]
    pub fn gaussian_log_prob(&mut self, z: Var, a: Var, mu: Option<Var>, s: f64) -> Result<Var, TapeError> {
        self.check(a, "gaussian_log_prob");
        let storage = self.take_factor_storage();
        let factor = SpreadFactor::new_in(self.values[a.index()].as_ref(), s, storage)?;
        // The factor was just built from this `a`: no need to check it.
        self.record_gaussian(z, a, mu, factor, 0.0, FactorOrigin::ThisA)
    }

    /// [`Tape::gaussian_log_prob`] with the factorisation of `S = A A^T + s^2 I` done
    /// beforehand (possibly concurrently with the recording of `z`), and optionally the
    /// expectation over Gaussian noise on `z` in closed form:
    ///
    /// `out_i = E_{eps ~ N(0, v I)} log N(z_i + eps; mu, S) = log N(z_i; mu, S) - 0.5 v tr(S^-1)`
    ///
    /// with `v = noise_variance >= 0` (`v = 0` is [`Tape::gaussian_log_prob`]). The extra
    /// reverse-pass term is `d/dA = v sum_i w_i tril(S^-2 A)`.
    ///
    /// In the reverse pass, when `a` is a parameter read with [`Tape::param`] and `d` is
    /// large, the dense part of `d/dA` (`tril(S^-1 A)`, which needs `A` and the factor only)
    /// is computed on another thread while the reverse pass goes on through the rest of the
    /// graph, and added to the parameter's gradient at the end.
    ///
    /// # Errors
    /// [`TapeError::FactorMismatch`] when `factor` is not the factor of this `a` (its
    /// `diag(L L^T)` differs from the squared row norms of `tril(a)` plus `s^2`).
    ///
    /// # Panics
    /// If shapes disagree or `noise_variance` is negative or not finite.
    #[track_caller]
    pub fn gaussian_log_prob_factored(
        &mut self,
        z: Var,
        a: Var,
        mu: Option<Var>,
        factor: SpreadFactor,
        noise_variance: f64,
    ) -> Result<Var, TapeError> {
        self.record_gaussian(z, a, mu, factor, noise_variance, FactorOrigin::Caller)
    }

    #[track_caller]
    fn record_gaussian(
        &mut self,
        z: Var,
        a: Var,
        mu: Option<Var>,
        factor: SpreadFactor,
        noise_variance: f64,
        origin: FactorOrigin,
    ) -> Result<Var, TapeError> {
        let (n, d) = self.dims(z, "gaussian_log_prob");
        let (ra, ca) = self.dims(a, "gaussian_log_prob");
        assert!(ra == d && ca == d, "gaussian_log_prob: z is {n}x{d} but a is {ra}x{ca} (expected {d}x{d})");
        if let Some(mu) = mu {
            let (rm, cm) = self.dims(mu, "gaussian_log_prob");
            assert!((rm, cm) == (1, d), "gaussian_log_prob: z is {n}x{d} but mu is {rm}x{cm} (expected 1x{d})");
        }
        assert!(
            noise_variance >= 0.0 && noise_variance.is_finite(),
            "gaussian_log_prob: noise variance {noise_variance} must be finite and >= 0"
        );
        if origin == FactorOrigin::Caller {
            if let Some(row) = factor.mismatched_row(&self.values[a.index()]) {
                return Err(TapeError::FactorMismatch { row });
            }
        }
        // Three auxiliary slots: [aux] = L (Cholesky factor of S), [aux + 1] = L^-1,
        // [aux + 2] = W^T = L^-1 Y^T.
        let aux = self.n_aux as u32;
        self.n_aux += 3;
        while self.aux.len() < self.n_aux {
            self.aux.push(Buf::default());
        }
        let job = self.n_dense_jobs as u32;
        self.n_dense_jobs += 1;
        while self.dense_jobs.len() < self.n_dense_jobs {
            self.dense_jobs.push(Default::default());
        }
        let spare = {
            let (l, rest) = self.aux[aux as usize..].split_at_mut(1);
            factor.into_slots(&mut l[0], &mut rest[0])
        };
        self.spare_factors.resize_with(self.n_dense_jobs, || None);
        self.spare_factors[job as usize] = Some(spare);
        let op = Op::GaussianLogProb { z: z.index, a: a.index, mu: mu.map(|m| m.index), noise_variance, aux, job };
        let out = self.push(op, n, 1);
        crate::linalg::gaussian_forward(self, out, z.index, mu.map(|m| m.index), noise_variance, aux);
        Ok(self.var(out))
    }

    /// A stride-1, zero-padded 2-D convolution of a batch of images (see [`Conv2dShape`] for
    /// the layout): `x` is `n x (C_in H W)`, one channel-major image per row; `w` is
    /// `C_out x (C_in k k)` (PyTorch's `[out, in, ky, kx]` flattened); `b` is `1 x C_out`.
    /// The output is `n x (C_out H_out W_out)`, channel-major:
    /// `out[b, co, y, x] = b[co] + sum_{ci, ky, kx} w[co, ci, ky, kx] x[b, ci, y + ky - pad, x + kx - pad]`.
    /// Computed as one matrix product with the patch matrix (im2col), which is kept for the
    /// reverse pass; a `1 x 1` kernel without padding multiplies the input directly.
    ///
    /// ```
    /// use autodiff_lite::{Conv2dShape, Tape};
    /// let mut tape = Tape::new();
    /// // One 1-channel 2 x 2 image, a 3 x 3 kernel of ones with padding 1: every output pixel
    /// // sums the whole image.
    /// let x = tape.leaf(faer::mat![[1.0, 2.0, 3.0, 4.0]].as_ref());
    /// let w = tape.leaf(faer::Mat::from_fn(1, 9, |_, _| 1.0).as_ref());
    /// let b = tape.leaf(faer::mat![[0.5]].as_ref());
    /// let y = tape.conv2d(x, w, b, Conv2dShape::same(1, 2, 2, 3));
    /// assert_eq!(tape.value(y)[(0, 0)], 10.5);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not fit the geometry; the message names them.
    #[track_caller]
    pub fn conv2d(&mut self, x: Var, w: Var, b: Var, shape: Conv2dShape) -> Var {
        let (n, cx) = self.dims(x, "conv2d");
        let (c_out, pw) = self.dims(w, "conv2d");
        let (rb, cb) = self.dims(b, "conv2d");
        assert!(
            cx == shape.in_len() && pw == shape.patch_len() && (rb, cb) == (1, c_out),
            "conv2d: x is {n}x{cx}, w is {c_out}x{pw}, b is {rb}x{cb}; the geometry {shape:?} needs x {n}x{}, \
             w {c_out}x{} and b 1x{c_out}",
            shape.in_len(),
            shape.patch_len()
        );
        assert!(
            shape.out_height() > 0 && shape.out_width() > 0,
            "conv2d: the kernel ({}) is larger than the padded image {shape:?}",
            shape.kernel
        );
        let aux = self.n_aux as u32;
        self.n_aux += 1;
        while self.aux.len() < self.n_aux {
            self.aux.push(Buf::default());
        }
        let op = Op::Conv2d { x: x.index, w: w.index, b: b.index, shape, aux };
        let out = self.push(op, n, c_out * shape.out_height() * shape.out_width());
        let Tape { values, aux: auxs, .. } = self;
        let (lo, hi) = values.split_at_mut(out as usize);
        crate::conv::conv_forward(
            &shape,
            n,
            &lo[x.index()],
            &lo[w.index()],
            &lo[b.index()],
            &mut auxs[aux as usize],
            &mut hi[0],
        );
        self.var(out)
    }

    /// Per-position centring across column blocks: the columns of `a` form `blocks` equal
    /// blocks, and `y[i, k, p] = a[i, k, p] - (1 / blocks) sum_k' a[i, k', p]`. For images
    /// (blocks = channels, positions = pixels) this removes the mean over channels at every
    /// pixel, so that the entries of each row sum to zero over every pixel's channels;
    /// `blocks = cols` removes each row's mean. The map is an orthogonal projection (its own
    /// adjoint).
    ///
    /// # Panics
    /// If `blocks` is zero or does not divide the number of columns.
    #[track_caller]
    pub fn center_blocks(&mut self, a: Var, blocks: usize) -> Var {
        let (r, c) = self.dims(a, "center_blocks");
        assert!(blocks > 0 && c % blocks == 0, "center_blocks: {blocks} blocks do not divide {c} columns");
        let out = self.push(Op::CenterBlocks(a.index, blocks), r, c);
        let (o, x) = self.out_in(out, a.index);
        crate::conv::center_blocks(&x.data, r, blocks, &mut o.data);
        self.var(out)
    }
}

// ----- kernels shared with the reverse pass -------------------------------------------------

#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[inline]
pub(crate) fn softplus(x: f64) -> f64 {
    if x > 0.0 { x + (-x).exp().ln_1p() } else { x.exp().ln_1p() }
}

/// The sum of a slice with eight independent accumulators, so that it vectorises (a plain
/// `iter().sum()` is one serial chain of dependent additions). The order is fixed, so the
/// result is deterministic.
#[inline(always)]
pub(crate) fn sum_slice(x: &[f64]) -> f64 {
    dispatch(
        x.len(),
        #[inline(always)]
        move || sum_slice_kernel(x),
    )
}

#[inline(always)]
fn sum_slice_kernel(x: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            acc[k] += c[k];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &v in chunks.remainder() {
        s += v;
    }
    s
}

#[inline(always)]
fn map(o: &mut [f64], x: &[f64], f: impl Fn(f64) -> f64) {
    dispatch(
        o.len(),
        #[inline(always)]
        move || {
            for (o, &x) in o.iter_mut().zip(x) {
                *o = f(x);
            }
        },
    )
}

fn broadcast_dim(a: usize, b: usize) -> Option<usize> {
    match (a, b) {
        _ if a == b => Some(a),
        (1, b) => Some(b),
        (a, 1) => Some(a),
        _ => None,
    }
}

/// `o = f(x, y)` with `x`, `y` broadcast to `o`'s shape (each dimension equal or 1).
#[inline(always)]
pub(crate) fn zip_broadcast(o: &mut Buf, x: &Buf, y: &Buf, f: impl Fn(f64, f64) -> f64) {
    dispatch(
        o.data.len(),
        #[inline(always)]
        move || zip_broadcast_kernel(o, x, y, f),
    )
}

#[inline(always)]
fn zip_broadcast_kernel(o: &mut Buf, x: &Buf, y: &Buf, f: impl Fn(f64, f64) -> f64) {
    if x.shape() == o.shape() && y.shape() == o.shape() {
        for ((o, &x), &y) in o.data.iter_mut().zip(&x.data).zip(&y.data) {
            *o = f(x, y);
        }
        return;
    }
    let rows = o.rows;
    for j in 0..o.cols {
        let xc = x.col(if x.cols == 1 { 0 } else { j });
        let yc = y.col(if y.cols == 1 { 0 } else { j });
        let oc = &mut o.data[j * rows..(j + 1) * rows];
        match (xc.len() == 1 && rows != 1, yc.len() == 1 && rows != 1) {
            (false, false) => oc.iter_mut().zip(xc).zip(yc).for_each(|((o, &x), &y)| *o = f(x, y)),
            (true, false) => oc.iter_mut().zip(yc).for_each(|(o, &y)| *o = f(xc[0], y)),
            (false, true) => oc.iter_mut().zip(xc).for_each(|(o, &x)| *o = f(x, yc[0])),
            (true, true) => oc.iter_mut().for_each(|o| *o = f(xc[0], yc[0])),
        }
    }
}

fn oriented((r, c): (usize, usize), t: Transpose) -> (usize, usize) {
    match t {
        Transpose::No => (r, c),
        Transpose::Yes => (c, r),
    }
}

#[inline]
pub(crate) fn orient(m: MatRef<'_, f64>, t: Transpose) -> MatRef<'_, f64> {
    match t {
        Transpose::No => m,
        Transpose::Yes => m.transpose(),
    }
}

/// Parallelism for an operation of about `flops` multiply-adds.
pub(crate) fn par_for(flops: usize) -> Par {
    if flops >= PAR_MATMUL_FLOPS && rayon::current_num_threads() > 1 { Par::rayon(0) } else { Par::Seq }
}

/// `dst (=|+=) alpha x y`, with rayon only for large products.
pub(crate) fn gemm(dst: faer::MatMut<'_, f64>, accum: Accum, x: MatRef<'_, f64>, y: MatRef<'_, f64>, alpha: f64) {
    let flops = x.nrows() * x.ncols() * y.ncols();
    faer::linalg::matmul::matmul(dst, accum, x, y, alpha, par_for(flops));
}

pub(crate) fn zero_above_diagonal(o: &mut Buf) {
    let r = o.rows;
    for j in 1..o.cols {
        let top = j.min(r);
        o.data[j * r..j * r + top].fill(0.0);
    }
}

/// In-place lower Cholesky factorisation of a symmetric matrix (lower triangle read); the
/// strict upper triangle is zeroed. Returns the failing pivot on error.
pub(crate) fn cholesky_in_place(o: &mut Buf) -> Result<(), usize> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    let n = o.rows;
    let par = par_for(n * n * n / 3);
    let req = faer::linalg::cholesky::llt::factor::cholesky_in_place_scratch::<f64>(n, par, Default::default());
    let mut mem = MemBuffer::new(req);
    let res = faer::linalg::cholesky::llt::factor::cholesky_in_place(
        o.as_mut(),
        Default::default(),
        par,
        MemStack::new(&mut mem),
        Default::default(),
    );
    zero_above_diagonal(o);
    match res {
        Ok(_) => Ok(()),
        Err(faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot { index }) => Err(index),
    }
}

fn is_permutation(perm: &[usize]) -> bool {
    let mut seen = vec![false; perm.len()];
    perm.iter().all(|&p| p < perm.len() && !std::mem::replace(&mut seen[p], true))
}
