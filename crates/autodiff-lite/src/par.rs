//! The crate's one door to parallelism. With the `rayon` feature (on by default) these are
//! rayon's `join` and scopes and faer's `Par::rayon(0)`; without it every function runs its
//! work on the calling thread, in the order a sequential program would, and faer products are
//! `Par::Seq`. The arithmetic is the same either way: parallel tasks here only overlap
//! independent computations (each writes its own buffers), and the gradient contributions a
//! [`Scope`] runs are summed in request order by the caller, so results do not depend on the
//! feature.

use faer::Par;

/// Parallelism for a faer product or factorisation that may fan out over all threads:
/// `Par::rayon(0)` with the `rayon` feature, `Par::Seq` without.
#[inline]
pub(crate) fn all() -> Par {
    #[cfg(feature = "rayon")]
    {
        Par::rayon(0)
    }
    #[cfg(not(feature = "rayon"))]
    {
        Par::Seq
    }
}

/// Threads available to parallel work: rayon's current pool size, or 1 without the feature.
#[inline]
pub(crate) fn threads() -> usize {
    #[cfg(feature = "rayon")]
    {
        rayon::current_num_threads()
    }
    #[cfg(not(feature = "rayon"))]
    {
        1
    }
}

/// `(a(), b())`, potentially in parallel (`rayon::join`); without the feature `a` runs
/// first, then `b`.
#[inline]
pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    #[cfg(feature = "rayon")]
    {
        rayon::join(a, b)
    }
    #[cfg(not(feature = "rayon"))]
    {
        let ra = a();
        (ra, b())
    }
}

#[cfg(feature = "rayon")]
pub(crate) use rayon::{Scope, in_place_scope, scope};

/// A scope for work that may run beside the caller (rayon's `Scope` with the feature). Without
/// it, [`Scope::spawn`] runs the work at once on the calling thread; everything spawned has
/// then finished when `spawn` returns, which the scope's contract (finished when the scope
/// ends) allows.
#[cfg(not(feature = "rayon"))]
pub(crate) struct Scope<'s> {
    /// Invariant in `'s`, as rayon's scope is.
    marker: std::marker::PhantomData<&'s mut &'s ()>,
}

#[cfg(not(feature = "rayon"))]
impl<'s> Scope<'s> {
    /// Runs `work` now, on the calling thread.
    pub(crate) fn spawn<F>(&self, work: F)
    where
        F: FnOnce(&Scope<'s>) + Send + 's,
    {
        work(self)
    }
}

/// Runs `op` with a scope whose spawned work has finished when this returns (on the calling
/// thread; rayon's `in_place_scope` with the feature).
#[cfg(not(feature = "rayon"))]
pub(crate) fn in_place_scope<'s, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'s>) -> R,
{
    op(&Scope { marker: std::marker::PhantomData })
}

/// Runs `op` with a scope as [`in_place_scope`] (rayon's `scope`, which runs `op` as a task
/// of the pool, with the feature).
#[cfg(not(feature = "rayon"))]
pub(crate) fn scope<'s, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'s>) -> R + Send,
    R: Send,
{
    in_place_scope(op)
}
