//! The crate's one door to parallelism: `use crate::par::prelude::*` in place of
//! `rayon::prelude::*`.
//!
//! With the `rayon` feature (on by default) the prelude is rayon's, plus `fold_init` (rayon's
//! `fold` under a name `Iterator` does not use). Without it, the same method names
//! (`par_iter`, `par_chunks`, `par_chunks_mut`, `into_par_iter`, and the rayon-only adaptors
//! `for_each_init`, `flat_map_iter`, `reduce_with`, `fold_init`) are provided on the standard
//! library's sequential iterators, so every call site compiles either way and runs on the
//! calling thread in index order. Every parallel loop of the
//! crate writes disjoint outputs or combines exact partial results (integer counts, maxima,
//! blocks summed in a fixed order); the graph and the pair counts are checked to be the same
//! with 1 and 3 threads (`knn::tests`).

#[cfg(feature = "rayon")]
pub(crate) mod prelude {
    pub(crate) use super::FoldInit;
    pub(crate) use rayon::prelude::*;
}

/// `fold_init(identity, op)`: rayon's `fold` (one partial fold per split, each started from
/// `identity()`), under a name the sequential stand-in can share (`Iterator::fold` takes a
/// value, not a closure).
#[cfg(feature = "rayon")]
pub(crate) trait FoldInit: rayon::iter::ParallelIterator {
    /// `self.fold(identity, op)`.
    fn fold_init<T, ID, F>(self, identity: ID, op: F) -> rayon::iter::Fold<Self, ID, F>
    where
        F: Fn(T, Self::Item) -> T + Sync + Send,
        ID: Fn() -> T + Sync + Send,
        T: Send,
    {
        self.fold(identity, op)
    }
}

#[cfg(feature = "rayon")]
impl<I: rayon::iter::ParallelIterator> FoldInit for I {}

#[cfg(not(feature = "rayon"))]
pub(crate) mod prelude {
    pub(crate) use super::seq::{IntoParIter, ParSlice, ParSliceMut, SeqAdaptors};
}

/// Sequential stand-ins for the rayon methods the crate calls.
#[cfg(not(feature = "rayon"))]
mod seq {
    /// `par_iter` and `par_chunks` on a slice: its sequential iterators.
    pub(crate) trait ParSlice<T> {
        /// `self.iter()`.
        fn par_iter(&self) -> std::slice::Iter<'_, T>;
        /// `self.chunks(size)`.
        fn par_chunks(&self, size: usize) -> std::slice::Chunks<'_, T>;
    }

    impl<T> ParSlice<T> for [T] {
        fn par_iter(&self) -> std::slice::Iter<'_, T> {
            self.iter()
        }

        fn par_chunks(&self, size: usize) -> std::slice::Chunks<'_, T> {
            self.chunks(size)
        }
    }

    /// `par_chunks_mut` on a slice: `chunks_mut`.
    pub(crate) trait ParSliceMut<T> {
        /// `self.chunks_mut(size)`.
        fn par_chunks_mut(&mut self, size: usize) -> std::slice::ChunksMut<'_, T>;
    }

    impl<T> ParSliceMut<T> for [T] {
        fn par_chunks_mut(&mut self, size: usize) -> std::slice::ChunksMut<'_, T> {
            self.chunks_mut(size)
        }
    }

    /// `into_par_iter` on anything iterable: `into_iter`.
    pub(crate) trait IntoParIter: IntoIterator + Sized {
        /// `self.into_iter()`.
        fn into_par_iter(self) -> Self::IntoIter {
            self.into_iter()
        }
    }

    impl<I: IntoIterator> IntoParIter for I {}

    /// The rayon adaptors without a same-named `Iterator` method, with rayon's meaning on one
    /// thread (one split).
    pub(crate) trait SeqAdaptors: Iterator + Sized {
        /// `init()` once, then `op(&mut state, item)` for every item in order.
        fn for_each_init<T, INIT, OP>(self, init: INIT, op: OP)
        where
            INIT: Fn() -> T,
            OP: Fn(&mut T, Self::Item),
        {
            let mut state = init();
            self.for_each(|item| op(&mut state, item));
        }

        /// `flat_map(f)`.
        fn flat_map_iter<U, F>(self, f: F) -> std::iter::FlatMap<Self, U, F>
        where
            U: IntoIterator,
            F: FnMut(Self::Item) -> U,
        {
            self.flat_map(f)
        }

        /// The fold of every item from `identity()`, as a one-item iterator (rayon yields
        /// one partial fold per split; here there is one split).
        fn fold_init<T, ID, F>(self, identity: ID, op: F) -> std::iter::Once<T>
        where
            ID: Fn() -> T,
            F: FnMut(T, Self::Item) -> T,
        {
            std::iter::once(self.fold(identity(), op))
        }

        /// `Iterator::reduce`: `None` for no items, else the items combined by `op`.
        fn reduce_with<F>(self, op: F) -> Option<Self::Item>
        where
            F: FnMut(Self::Item, Self::Item) -> Self::Item,
        {
            Iterator::reduce(self, op)
        }
    }

    impl<I: Iterator> SeqAdaptors for I {}
}
