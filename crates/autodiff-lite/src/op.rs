//! The closed set of recorded operations: one variant per family of ops, each family's data
//! and reverse pass in its own module under `ops/`. Adding an op to a family touches that
//! family's module only; adding a family adds a variant here and an arm in `backward.rs`.

use crate::buf::Buf;
use crate::ops::conv::ConvNode;
use crate::ops::elementwise::Elementwise;
use crate::ops::gaussian::GaussianNode;
use crate::ops::layout::Layout;
use crate::ops::linalg::Linalg;
use crate::ops::product::Product;
use crate::ops::reduce::Reduction;
use crate::store::ParamId;

/// The operands of a node (indices of earlier nodes), at most three.
pub(crate) type Operands = [Option<u32>; 3];

/// One recorded operation: a leaf, or an op of one family with its operands and constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    /// A constant input (data, noise): no gradient flows further.
    Leaf,
    /// A parameter read from a store: its gradient is added to the store's.
    Param(ParamId),
    /// A value computed in no-grad mode.
    Detached,
    /// Elementwise functions of one or two operands.
    Elementwise(Elementwise),
    /// Matrix products and dense layers.
    Product(Product),
    /// Sums and means.
    Reduction(Reduction),
    /// Column selections, concatenations, permutations, triangles, transposes, centring.
    Layout(Layout),
    /// Cholesky factorisation, triangular solve, log-determinant.
    Linalg(Linalg),
    /// The fused Gaussian log-density.
    Gaussian(GaussianNode),
    /// 2-D convolution.
    Conv(ConvNode),
}

/// What every family of ops tells the tape about a node.
pub(crate) trait Family {
    /// The operands (earlier nodes) the node reads.
    fn operands(&self) -> Operands;
    /// The kind of op, as reported by [`crate::OpTimes`].
    fn name(&self) -> &'static str;
    /// Whether the node's reverse pass will hand work to another rayon task (see
    /// `Concurrent` in `backward.rs`); the reverse pass then runs inside the pool. Only a node
    /// that reserved a [`crate::tape::Workspace`] while recording may return true: the reverse
    /// pass asks only when the tape holds one.
    fn spawns_work(&self, _ops: &[Op], _needs: &[bool], _values: &[Buf]) -> bool {
        false
    }
}

/// `match` over the families of `op`, binding the family's data to `$f` (static dispatch: the
/// tape calls these on every recorded node).
macro_rules! each_family {
    ($op:expr, leaf => $leaf:expr, $f:ident => $body:expr) => {
        match $op {
            Op::Leaf | Op::Param(_) | Op::Detached => $leaf,
            Op::Elementwise($f) => $body,
            Op::Product($f) => $body,
            Op::Reduction($f) => $body,
            Op::Layout($f) => $body,
            Op::Linalg($f) => $body,
            Op::Gaussian($f) => $body,
            Op::Conv($f) => $body,
        }
    };
}

impl Op {
    /// The operands of the node (none for leaves).
    #[inline]
    pub(crate) fn operands(&self) -> Operands {
        each_family!(self, leaf => [None; 3], f => f.operands())
    }

    /// Whether the node's reverse pass will hand work to another rayon task.
    pub(crate) fn spawns_work(&self, ops: &[Op], needs: &[bool], values: &[Buf]) -> bool {
        each_family!(self, leaf => false, f => f.spawns_work(ops, needs, values))
    }

    /// The kind of op, as reported by [`crate::OpTimes`].
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Param(_) => "param",
            Op::Detached => "detached",
            _ => each_family!(self, leaf => "leaf", f => f.name()),
        }
    }
}
