//! Sums and means over all entries, over each row, or over each column: recording and
//! reverse pass.

use crate::backward::Reverse;
use crate::buf::Buf;
use crate::kernels::{prepare, sum_slice};
use crate::op::{Family, Op, Operands};
use crate::tape::{Tape, Var};

/// Which entries a reduction sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reduce {
    /// Sum of all entries -> 1 x 1.
    Sum,
    /// Sum of each row -> n x 1.
    RowSum,
    /// Sum of each column -> 1 x d.
    ColSum,
}

/// A recorded reduction of operand `a`, scaled by `scale` (1 for sums, 1/count for means).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Reduction {
    kind: Reduce,
    a: u32,
    scale: f64,
}

impl Family for Reduction {
    fn operands(&self) -> Operands {
        [Some(self.a), None, None]
    }

    fn name(&self) -> &'static str {
        "reduce"
    }
}

impl Tape {
    #[track_caller]
    fn reduce(&mut self, kind: Reduce, a: Var, mean: bool, name: &str) -> Var {
        let (r, c) = self.dims(a, name);
        let (shape, count) = match kind {
            Reduce::Sum => ((1, 1), r * c),
            Reduce::RowSum => ((r, 1), c),
            Reduce::ColSum => ((1, c), r),
        };
        let scale = if mean { 1.0 / count as f64 } else { 1.0 };
        let out = self.push(Op::Reduction(Reduction { kind, a: a.index, scale }), shape.0, shape.1);
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
}

impl Reduction {
    /// Reverse pass: `g` is the gradient of this node's value.
    pub(crate) fn reverse(&self, g: &Buf, r: &mut Reverse<'_, '_, '_>) {
        let Reduction { kind, a, scale } = *self;
        if !r.needs[a as usize] {
            return;
        }
        let (rows, cols) = r.values[a as usize].shape();
        let (t, live) = r.grads.target(a);
        prepare(t, live, rows, cols);
        match kind {
            Reduce::Sum => {
                let v = g.data[0] * scale;
                t.data.iter_mut().for_each(|t| *t += v);
            }
            Reduce::RowSum => {
                for j in 0..cols {
                    for (t, &gi) in t.col_mut(j).iter_mut().zip(&g.data) {
                        *t += scale * gi;
                    }
                }
            }
            Reduce::ColSum => {
                for j in 0..cols {
                    let v = g.data[j] * scale;
                    t.col_mut(j).iter_mut().for_each(|t| *t += v);
                }
            }
        }
    }
}
