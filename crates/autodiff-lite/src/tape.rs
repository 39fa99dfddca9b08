//! The tape: an arena of recorded operations over dense matrices, addressed by [`Var`]
//! indices. This file holds the arena itself (recording, values, leaves and parameters); each
//! family of ops records itself in `ops/` and the reverse pass is in `backward.rs`.

use std::sync::atomic::{AtomicU32, Ordering};

use faer::MatRef;

use crate::buf::Buf;
use crate::op::Op;
use crate::ops::gaussian::PreparedFactor;
use crate::profile::OpTimes;
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

/// Buffers that one op owns for its reverse pass (and for work it runs concurrently with the
/// rest of the reverse pass), handed to that op alone.
pub(crate) type Workspace = [Buf; 4];

static NEXT_TAPE_ID: AtomicU32 = AtomicU32::new(1);

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
    /// Buffers owned by single ops for their reverse pass (see [`Workspace`]), kept apart from
    /// `scratch` because work that runs concurrently with the reverse pass writes them.
    pub(crate) workspaces: Vec<Workspace>,
    pub(crate) n_workspaces: usize,
    /// Scratch of the dense layers (pre-activation forward, its gradient backward), kept
    /// apart from `scratch`: a buffer alternating between shapes is zero-filled by
    /// `Vec::resize` each time it grows back (measured at 3% of the RealNVP step).
    pub(crate) layer_scratch: Buf,
    /// A covariance factorised ahead of its Gaussian node (see
    /// [`Tape::factorize_while_recording`]).
    pub(crate) prepared: Option<PreparedFactor>,
    /// A node whose value concurrent work is reading (moved out of `values` meanwhile).
    pub(crate) lent: Option<u32>,
    /// Time by kind of op, when profiling is on.
    pub(crate) profile: Option<OpTimes>,
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
            workspaces: Vec::new(),
            n_workspaces: 0,
            layer_scratch: Buf::default(),
            prepared: None,
            lent: None,
            profile: None,
        }
    }

    /// Switch timing by kind of op on (resetting the totals) or off: the reverse pass by op,
    /// and the work that runs concurrently (see [`OpTimes`]). The overhead is two clock reads
    /// per op, negligible for large ops.
    pub fn set_profiling(&mut self, on: bool) {
        self.profile = on.then(OpTimes::default);
    }

    /// The times by kind of op since profiling was switched on.
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
        self.n_workspaces = 0;
        self.n_perms = 0;
        self.prepared = None;
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

    /// Panic unless `v` is a current variable of this tape whose value is not lent out. The
    /// test is inlined into every op; the messages are built out of line (on `1 x 1` values
    /// the checks are a measurable part of the cost per op).
    #[inline]
    #[track_caller]
    pub(crate) fn check(&self, v: Var, op: &str) {
        let valid =
            v.tape == self.id && v.epoch == self.epoch && v.index() < self.ops.len() && self.lent != Some(v.index);
        if !valid {
            self.invalid(v, op);
        }
    }

    /// The panic of [`Tape::check`], naming what is wrong with `v`.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn invalid(&self, v: Var, op: &str) -> ! {
        if v.tape != self.id {
            panic!("{op}: the variable belongs to another tape (tape {} used on tape {})", v.tape, self.id);
        }
        if v.epoch != self.epoch || v.index() >= self.ops.len() {
            panic!("{op}: the variable is stale (recorded before the last Tape::clear)");
        }
        panic!(
            "{op}: the variable's value is being read by concurrent work (Tape::factorize_while_recording); \
             use it after the recording closure returns"
        );
    }

    #[inline]
    #[track_caller]
    pub(crate) fn dims(&self, v: Var, op: &str) -> (usize, usize) {
        self.check(v, op);
        self.values[v.index()].shape()
    }

    /// Push a node whose output buffer has shape `rows x cols`; returns its index. The
    /// output buffer's contents are unspecified until the caller writes them. Inlined into
    /// each op's recording (on `1 x 1` values the call was a measurable part of its cost).
    #[inline(always)]
    pub(crate) fn push(&mut self, op: Op, rows: usize, cols: usize) -> u32 {
        let i = self.ops.len();
        let needs = self.mode == GradMode::Record
            && match op {
                Op::Leaf | Op::Detached => false,
                Op::Param(_) => true,
                _ => op.operands().into_iter().flatten().any(|k| self.needs[k as usize]),
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
    pub(crate) fn pop(&mut self) {
        self.ops.pop();
        self.needs.pop();
    }

    pub(crate) fn var(&self, index: u32) -> Var {
        Var { index, tape: self.id, epoch: self.epoch }
    }

    /// Output buffer of node `out` and input buffer of an earlier node `a`.
    #[inline]
    pub(crate) fn out_in(&mut self, out: u32, a: u32) -> (&mut Buf, &Buf) {
        let (lo, hi) = self.values.split_at_mut(out as usize);
        (&mut hi[0], &lo[a as usize])
    }

    /// Reserve `count` consecutive auxiliary buffers for the node being recorded; returns the
    /// first slot.
    pub(crate) fn reserve_aux(&mut self, count: usize) -> u32 {
        let first = self.n_aux as u32;
        self.n_aux += count;
        while self.aux.len() < self.n_aux {
            self.aux.push(Buf::default());
        }
        first
    }

    /// Reserve a [`Workspace`] for the node being recorded; returns its slot.
    pub(crate) fn reserve_workspace(&mut self) -> u32 {
        let slot = self.n_workspaces as u32;
        self.n_workspaces += 1;
        while self.workspaces.len() < self.n_workspaces {
            self.workspaces.push(Default::default());
        }
        slot
    }

    /// Store a column permutation for the node being recorded; returns its slot.
    pub(crate) fn store_perm(&mut self, perm: &[usize]) -> u32 {
        let slot = self.n_perms;
        self.n_perms += 1;
        if self.perms.len() < self.n_perms {
            self.perms.push(Vec::new());
        }
        self.perms[slot].clear();
        self.perms[slot].extend_from_slice(perm);
        slot as u32
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
}
