//! The reverse pass: one loop over the arena from the loss back to the leaves (operands always
//! precede results), handing each node to its family's reverse function, plus the facility
//! that lets a reverse function compute a parameter's gradient contribution on another rayon
//! task while the loop goes on ([`Concurrent`]).

use std::cell::Cell;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::buf::Buf;
use crate::kernels::add_slice;
use crate::op::Op;
use crate::profile::OpTimes;
use crate::store::{ParamId, ParamStore};
use crate::tape::{GradMode, Tape, Var, Workspace};

/// The gradient buffers of the nodes before the one being reversed, and whether each already
/// holds a value in this pass.
pub(crate) struct Grads<'i> {
    bufs: &'i mut [Buf],
    live: &'i mut [bool],
}

impl Grads<'_> {
    /// Operand `k`'s gradient buffer, and whether it already held a gradient (then `+=` into
    /// it; otherwise overwrite it). Marks it as holding one.
    #[inline]
    pub(crate) fn target(&mut self, k: u32) -> (&mut Buf, bool) {
        let k = k as usize;
        let was_live = self.live[k];
        self.live[k] = true;
        (&mut self.bufs[k], was_live)
    }

    /// Operand `k`'s gradient buffer (after [`Grads::target`]).
    #[inline]
    pub(crate) fn buf(&mut self, k: u32) -> &mut Buf {
        &mut self.bufs[k as usize]
    }
}

/// What a family's reverse function gets: the recorded graph (`'g`: values, auxiliary
/// buffers, ops, which nodes need gradients, permutations), the gradient buffers of earlier
/// nodes, scratch buffers, the workspaces of single ops, and the concurrent-work facility.
pub(crate) struct Reverse<'g, 's, 'i> {
    pub(crate) values: &'g [Buf],
    pub(crate) aux: &'g [Buf],
    pub(crate) ops: &'g [Op],
    pub(crate) needs: &'g [bool],
    pub(crate) perms: &'g [Vec<usize>],
    pub(crate) grads: Grads<'i>,
    pub(crate) scratch: &'i mut [Buf; 5],
    pub(crate) layer_scratch: &'i mut Buf,
    /// Each op's [`Workspace`], handed out once (`Option::take`).
    pub(crate) workspaces: &'i mut [Option<&'g mut Workspace>],
    pub(crate) concurrent: &'i Concurrent<'i, 's, 'g>,
}

/// A gradient contribution computed concurrently: `(order of request, parameter, scale,
/// value)`.
type Contribution<'g> = (usize, ParamId, f64, &'g Buf);

/// Work a reverse function hands to another rayon task: a contribution to a parameter's
/// gradient that needs only values already known (not the gradients still to come), so it
/// can be computed while the reverse pass goes on through the rest of the graph. Each is
/// added to the parameter's gradient in the store, in the order requested, before
/// [`Tape::backward`] returns (before any optimiser can read it).
///
/// Lifetimes: `'s` is the rayon scope's (spawned work must outlive it), `'g` the graph's (the
/// buffers the work reads and the one it returns).
pub(crate) struct Concurrent<'a, 's, 'g> {
    scope: &'a crate::par::Scope<'s>,
    results: &'s Mutex<Vec<Contribution<'g>>>,
    busy: &'s Mutex<Duration>,
    next: Cell<usize>,
}

impl<'s, 'g: 's> Concurrent<'_, 's, 'g> {
    /// Compute `work` on another task and add `scale` times its result (a buffer of the
    /// parameter's shape) to the gradient of `param`.
    pub(crate) fn add_to_param_grad(&self, param: ParamId, scale: f64, work: impl FnOnce() -> &'g Buf + Send + 's) {
        let order = self.next.get();
        self.next.set(order + 1);
        let (results, busy) = (self.results, self.busy);
        self.scope.spawn(move |_| {
            let start = Instant::now();
            let value = work();
            *busy.lock().unwrap_or_else(PoisonError::into_inner) += start.elapsed();
            results.lock().unwrap_or_else(PoisonError::into_inner).push((order, param, scale, value));
        });
    }
}

impl Tape {
    /// Reverse pass from a scalar `loss`: adds `d loss / d p` to `store.grad(p)` for every
    /// parameter `p` read with [`Tape::param`], and keeps `d loss / d v` for every recorded
    /// value that needs it (see [`Tape::grad`]). Gradients accumulate in the store until
    /// [`ParamStore::zero_grads`].
    ///
    /// # Panics
    /// If `loss` is not `1 x 1`, was recorded in [`GradMode::NoGrad`], or belongs to another
    /// tape.
    #[track_caller]
    pub fn backward(&mut self, loss: Var, store: &mut ParamStore) {
        self.check(loss, "backward");
        assert!(self.mode == GradMode::Record, "backward: the tape is in no-grad mode (nothing was recorded)");
        let (r, c) = self.values[loss.index()].shape();
        assert!((r, c) == (1, 1), "backward: the loss must be 1x1, got {r}x{c}");
        let n = loss.index() + 1;
        while self.grads.len() < n {
            self.grads.push(Buf::default());
        }
        self.grad_live.clear();
        self.grad_live.resize(self.ops.len(), false);
        self.grads[loss.index()].reshape(1, 1);
        self.grads[loss.index()].data[0] = 1.0;
        self.grad_live[loss.index()] = true;

        let Tape {
            ops,
            values,
            grads,
            grad_live,
            aux,
            perms,
            scratch,
            layer_scratch,
            needs,
            profile,
            workspaces,
            n_workspaces,
            ..
        } = self;
        let (ops, values, aux, perms, needs) = (&ops[..], &values[..], &aux[..], &perms[..], &needs[..]);
        let mut workspaces: Vec<Option<&mut Workspace>> = workspaces.iter_mut().map(Some).collect();
        let results = Mutex::new(Vec::new());
        let busy = Mutex::new(Duration::ZERO);
        let mut loop_end = None;
        // Only a node that reserved a workspace hands out work (see `Family::spawns_work`): a
        // graph without one skips the scan over every node.
        let spawns_work = *n_workspaces > 0 && ops[..n].iter().any(|op| op.spawns_work(ops, needs, values));
        let mut reverse = || {
            crate::par::in_place_scope(|scope| {
                let concurrent = Concurrent { scope, results: &results, busy: &busy, next: Cell::new(0) };
                // (start of the current op, its kind) when profiling.
                let mut clock: Option<(Instant, &'static str)> = None;
                for i in (0..n).rev() {
                    if !grad_live[i] {
                        continue;
                    }
                    if let Some(profile) = profile.as_mut() {
                        let now = Instant::now();
                        if let Some((start, name)) = clock {
                            profile.add(name, now - start);
                        }
                        clock = Some((now, ops[i].name()));
                    }
                    let (earlier, rest) = grads.split_at_mut(i);
                    let g = &rest[0];
                    let out = &values[i];
                    // The context of the node's reverse function, built in the arm that calls
                    // it (leaves and parameters need none; an inlined family's needs no copy).
                    macro_rules! ctx {
                        () => {
                            &mut Reverse {
                                values,
                                aux,
                                ops,
                                needs,
                                perms,
                                grads: Grads { bufs: earlier, live: &mut grad_live[..] },
                                scratch: &mut *scratch,
                                layer_scratch: &mut *layer_scratch,
                                workspaces: &mut workspaces,
                                concurrent: &concurrent,
                            }
                        };
                    }
                    match ops[i] {
                        Op::Leaf | Op::Detached => {}
                        Op::Param(id) => {
                            let target = store.grad_mut(id);
                            for j in 0..g.cols {
                                add_slice(target.col_as_slice_mut(j), g.col(j));
                            }
                        }
                        Op::Elementwise(op) => op.reverse(g, out, ctx!()),
                        Op::Product(op) => op.reverse(g, out, ctx!()),
                        Op::Reduction(op) => op.reverse(g, ctx!()),
                        Op::Layout(op) => op.reverse(g, ctx!()),
                        Op::Linalg(op) => op.reverse(g, out, ctx!()),
                        Op::Gaussian(op) => op.reverse(g, ctx!()),
                        Op::Conv(op) => op.reverse(g, ctx!()),
                    }
                }
                if let (Some(profile), Some((start, name))) = (profile.as_mut(), clock) {
                    profile.add(name, start.elapsed());
                }
                loop_end = Some(Instant::now());
            })
        };
        // With work to overlap, the whole reverse pass runs as a rayon task, so that it and
        // the concurrent work share the pool's threads (a thread of our own beside the pool
        // oversubscribed the cores). Without any, it runs on the calling thread as any other
        // code (no hand-over to the pool).
        if spawns_work {
            crate::par::scope(|_| reverse());
        } else {
            reverse();
        }
        // The scope has waited for the concurrent work: add it to the parameters' gradients.
        let mut contributions = results.into_inner().unwrap_or_else(PoisonError::into_inner);
        contributions.sort_by_key(|c| c.0);
        if let (Some(profile), Some(end)) = (profile.as_mut(), loop_end.filter(|_| !contributions.is_empty())) {
            profile.add(OpTimes::CONCURRENT_GRADIENTS_WAIT, end.elapsed());
            profile.add(OpTimes::CONCURRENT_GRADIENTS, busy.into_inner().unwrap_or_else(PoisonError::into_inner));
        }
        for (_, id, scale, value) in contributions {
            let target = store.grad_mut(id);
            for j in 0..value.cols {
                let col = target.col_as_slice_mut(j);
                col.iter_mut().zip(value.col(j)).for_each(|(t, &x)| *t += scale * x);
            }
        }
    }
}
