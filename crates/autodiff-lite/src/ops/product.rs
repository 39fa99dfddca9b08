//! Matrix products and fused dense layers `act(x w + b)`: recording and reverse pass.

use faer::{Accum, MatRef};

use crate::backward::Reverse;
use crate::buf::Buf;
use crate::kernels::{gemm, map, prepare, sum_slice, zip_into};
use crate::op::{Family, Op, Operands};
use crate::tape::{Tape, Var};
use crate::vmath;

/// Whether a matrix operand of [`Tape::matmul_t`] is transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transpose {
    /// Use the operand as it is.
    No,
    /// Use the operand's transpose.
    Yes,
}

/// A nonlinearity: fused into a dense layer by [`Tape::linear_act`], and the activation of
/// multilayer perceptrons built on the tape.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Activation {
    /// No nonlinearity: `linear_act(x, w, b, Identity)` is [`Tape::linear`].
    #[default]
    Identity,
    /// `max(y, 0)`, as [`Tape::relu`].
    Relu,
    /// `y` where positive, `alpha y` elsewhere, as [`Tape::leaky_relu`] (the paper uses
    /// `alpha = 0.2`).
    LeakyRelu(f64),
    /// `tanh(y)`, as [`Tape::tanh`].
    Tanh,
}

/// A recorded product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Product {
    /// `op(a) op(b)`.
    MatMul(u32, u32, Transpose, Transpose),
    /// `act(x w + b)` with `b` a `1 x out` row broadcast over the rows (a fused dense layer);
    /// the activation's derivative is computed from the output, so `LeakyRelu` needs
    /// `alpha >= 0` here.
    Linear(u32, u32, u32, Activation),
}

impl Family for Product {
    fn operands(&self) -> Operands {
        match *self {
            Product::MatMul(a, b, ..) => [Some(a), Some(b), None],
            Product::Linear(x, w, b, _) => [Some(x), Some(w), Some(b)],
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Product::MatMul(..) => "matmul",
            Product::Linear(..) => "linear",
        }
    }
}

impl Tape {
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
        let out = self.push(Op::Product(Product::MatMul(a.index, b.index, ta, tb)), sa.0, sb.1);
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
        let out = self.push(Op::Product(Product::Linear(x.index, w.index, b.index, act)), n, m);
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
                Activation::Tanh => map(o, pre, move |y| vmath::tanh(y + bj)),
            }
        }
        self.var(out)
    }
}

fn oriented((r, c): (usize, usize), t: Transpose) -> (usize, usize) {
    match t {
        Transpose::No => (r, c),
        Transpose::Yes => (c, r),
    }
}

#[inline]
fn orient(m: MatRef<'_, f64>, t: Transpose) -> MatRef<'_, f64> {
    match t {
        Transpose::No => m,
        Transpose::Yes => m.transpose(),
    }
}

impl Product {
    /// Reverse pass: `g` is the gradient of this node's value `out`.
    pub(crate) fn reverse(&self, g: &Buf, out: &Buf, r: &mut Reverse<'_, '_, '_>) {
        match *self {
            Product::MatMul(a, b, ta, tb) => {
                let (xa, xb) = (&r.values[a as usize], &r.values[b as usize]);
                let (oa, ob) = (orient(xa.as_ref(), ta), orient(xb.as_ref(), tb));
                if r.needs[a as usize] {
                    let (t, live) = r.grads.target(a);
                    t.reshape(xa.rows, xa.cols);
                    let acc = if live { Accum::Add } else { Accum::Replace };
                    match ta {
                        Transpose::No => gemm(t.as_mut(), acc, g.as_ref(), ob.transpose(), 1.0),
                        Transpose::Yes => gemm(t.as_mut(), acc, ob, g.as_ref().transpose(), 1.0),
                    }
                }
                if r.needs[b as usize] {
                    let (t, live) = r.grads.target(b);
                    t.reshape(xb.rows, xb.cols);
                    let acc = if live { Accum::Add } else { Accum::Replace };
                    match tb {
                        Transpose::No => gemm(t.as_mut(), acc, oa.transpose(), g.as_ref(), 1.0),
                        Transpose::Yes => gemm(t.as_mut(), acc, g.as_ref().transpose(), oa, 1.0),
                    }
                }
            }
            Product::Linear(x, w, b, act) => {
                let (xv, wv) = (&r.values[x as usize], &r.values[w as usize]);
                // d = g * act'(y), the gradient before the activation; the bias gradient
                // (its column sums) is taken in the same pass.
                let d = if act == Activation::Identity {
                    g
                } else {
                    let d = &mut *r.layer_scratch;
                    d.reshape(g.rows, g.cols);
                    let (gd, yd) = (&g.data[..], &out.data[..]);
                    match act {
                        Activation::Identity => unreachable!("handled above"),
                        Activation::Relu => zip_into(d, gd, yd, move |g, y| if y > 0.0 { g } else { 0.0 }),
                        Activation::LeakyRelu(al) => zip_into(d, gd, yd, move |g, y| if y > 0.0 { g } else { al * g }),
                        Activation::Tanh => zip_into(d, gd, yd, move |g, y| g * (1.0 - y * y)),
                    }
                    &*r.layer_scratch
                };
                if r.needs[b as usize] {
                    let (t, live) = r.grads.target(b);
                    prepare(t, live, 1, d.cols);
                    for (j, t) in t.data.iter_mut().enumerate() {
                        *t += sum_slice(d.col(j));
                    }
                }
                if r.needs[x as usize] {
                    let (t, live) = r.grads.target(x);
                    t.reshape(xv.rows, xv.cols);
                    let acc = if live { Accum::Add } else { Accum::Replace };
                    gemm(t.as_mut(), acc, d.as_ref(), wv.as_ref().transpose(), 1.0);
                }
                if r.needs[w as usize] {
                    let (t, live) = r.grads.target(w);
                    t.reshape(wv.rows, wv.cols);
                    let acc = if live { Accum::Add } else { Accum::Replace };
                    gemm(t.as_mut(), acc, xv.as_ref().transpose(), d.as_ref(), 1.0);
                }
            }
        }
    }
}
