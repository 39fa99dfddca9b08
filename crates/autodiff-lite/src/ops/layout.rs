//! Ops that move entries without arithmetic (column blocks, concatenation, permutation,
//! lower triangle, transpose) and the per-position centring across column blocks:
//! recording and reverse pass.

use crate::backward::Reverse;
use crate::buf::Buf;
use crate::conv::center_blocks;
use crate::kernels::{add_slice, prepare, reduce_into, zero_above_diagonal};
use crate::op::{Family, Op, Operands};
use crate::tape::{Tape, Var};

/// A recorded layout op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Layout {
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
    /// Each position of the column blocks minus its mean across the blocks.
    CenterBlocks(u32, usize),
}

impl Family for Layout {
    fn operands(&self) -> Operands {
        match *self {
            Layout::SelectCols(a, _)
            | Layout::PermuteCols(a, _)
            | Layout::Tril(a)
            | Layout::Transpose(a)
            | Layout::CenterBlocks(a, _) => [Some(a), None, None],
            Layout::ConcatCols(a, b) => [Some(a), Some(b), None],
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Layout::SelectCols(..) => "select_cols",
            Layout::ConcatCols(..) => "concat_cols",
            Layout::PermuteCols(..) => "permute_cols",
            Layout::Tril(_) => "tril",
            Layout::Transpose(_) => "transpose",
            Layout::CenterBlocks(..) => "center_blocks",
        }
    }
}

impl Tape {
    /// Columns `start .. start + len` of `a`.
    ///
    /// # Panics
    /// If the block does not fit in `a`.
    #[track_caller]
    pub fn select_cols(&mut self, a: Var, start: usize, len: usize) -> Var {
        let (r, c) = self.dims(a, "select_cols");
        assert!(start + len <= c, "select_cols: columns {start}..{} out of range for shape {r}x{c}", start + len);
        let out = self.push(Op::Layout(Layout::SelectCols(a.index, start)), r, len);
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
        let out = self.push(Op::Layout(Layout::ConcatCols(a.index, b.index)), ra, ca + cb);
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
        let slot = self.store_perm(perm);
        let out = self.push(Op::Layout(Layout::PermuteCols(a.index, slot)), r, c);
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
        let out = self.push(Op::Layout(Layout::Tril(a.index)), r, c);
        let (o, x) = self.out_in(out, a.index);
        o.data.copy_from_slice(&x.data);
        zero_above_diagonal(o);
        self.var(out)
    }

    /// The transpose `a^T`.
    #[track_caller]
    pub fn transpose(&mut self, a: Var) -> Var {
        let (r, c) = self.dims(a, "transpose");
        let out = self.push(Op::Layout(Layout::Transpose(a.index)), c, r);
        let (o, x) = self.out_in(out, a.index);
        o.as_mut().copy_from(x.as_ref().transpose());
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
        let out = self.push(Op::Layout(Layout::CenterBlocks(a.index, blocks)), r, c);
        let (o, x) = self.out_in(out, a.index);
        center_blocks(&x.data, r, blocks, &mut o.data);
        self.var(out)
    }
}

fn is_permutation(perm: &[usize]) -> bool {
    let mut seen = vec![false; perm.len()];
    perm.iter().all(|&p| p < perm.len() && !std::mem::replace(&mut seen[p], true))
}

impl Layout {
    /// Reverse pass: `g` is the gradient of this node's value.
    pub(crate) fn reverse(&self, g: &Buf, r: &mut Reverse<'_, '_, '_>) {
        match *self {
            Layout::SelectCols(a, start) => {
                if !r.needs[a as usize] {
                    return;
                }
                let (rows, cols) = r.values[a as usize].shape();
                let (t, live) = r.grads.target(a);
                prepare(t, live, rows, cols);
                add_slice(&mut t.data[start * rows..start * rows + g.data.len()], &g.data);
            }
            Layout::ConcatCols(a, b) => {
                let split = r.values[a as usize].data.len();
                for (k, range) in [(a, 0..split), (b, split..g.data.len())] {
                    if !r.needs[k as usize] {
                        continue;
                    }
                    let (rows, cols) = r.values[k as usize].shape();
                    let (t, live) = r.grads.target(k);
                    prepare(t, live, rows, cols);
                    add_slice(&mut t.data, &g.data[range]);
                }
            }
            Layout::PermuteCols(a, slot) => {
                if !r.needs[a as usize] {
                    return;
                }
                let (rows, cols) = r.values[a as usize].shape();
                let (t, live) = r.grads.target(a);
                prepare(t, live, rows, cols);
                for (j, &p) in r.perms[slot as usize].iter().enumerate() {
                    add_slice(t.col_mut(p), g.col(j));
                }
            }
            Layout::Tril(a) => {
                if !r.needs[a as usize] {
                    return;
                }
                let (rows, cols) = r.values[a as usize].shape();
                let (t, live) = r.grads.target(a);
                prepare(t, live, rows, cols);
                for j in 0..cols {
                    add_slice(&mut t.col_mut(j)[j.min(rows)..], &g.col(j)[j.min(rows)..]);
                }
            }
            Layout::Transpose(a) => {
                if !r.needs[a as usize] {
                    return;
                }
                let (rows, cols) = r.values[a as usize].shape();
                let (t, live) = r.grads.target(a);
                prepare(t, live, rows, cols);
                let mut tm = t.as_mut();
                tm += g.as_ref().transpose();
            }
            Layout::CenterBlocks(a, blocks) => {
                if !r.needs[a as usize] {
                    return;
                }
                let (rows, cols) = r.values[a as usize].shape();
                let centred = &mut r.scratch[0];
                centred.reshape(rows, cols);
                center_blocks(&g.data, rows, blocks, &mut centred.data);
                let (t, live) = r.grads.target(a);
                reduce_into(t, live, (rows, cols), centred, 1.0);
            }
        }
    }
}
