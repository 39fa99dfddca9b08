//! Elementwise functions of one operand (`exp`, `tanh`, ...) and of two operands with
//! row/column/scalar broadcasting (`add`, `mul`, ...): recording and reverse pass.

use crate::backward::Reverse;
use crate::buf::Buf;
use crate::kernels::{acc3, map, reduce_into, sigmoid, softplus, zip_broadcast};
use crate::op::{Family, Op, Operands};
use crate::tape::{Tape, Var};
use crate::vmath;

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

/// A recorded elementwise op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Elementwise {
    /// `f(a)`.
    Unary(Unary, u32),
    /// `f(a, b)`, broadcast.
    Binary(Binary, u32, u32),
}

impl Family for Elementwise {
    fn operands(&self) -> Operands {
        match *self {
            Elementwise::Unary(_, a) => [Some(a), None, None],
            Elementwise::Binary(_, a, b) => [Some(a), Some(b), None],
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Elementwise::Unary(..) => "unary",
            Elementwise::Binary(..) => "binary",
        }
    }
}

impl Tape {
    #[track_caller]
    fn unary(&mut self, f: Unary, a: Var, name: &str) -> Var {
        let (r, c) = self.dims(a, name);
        let out = self.push(Op::Elementwise(Elementwise::Unary(f, a.index)), r, c);
        let (o, x) = self.out_in(out, a.index);
        let (o, x) = (&mut o.data[..], &x.data[..]);
        match f {
            Unary::Neg => map(o, x, move |x| -x),
            Unary::Exp => map(o, x, vmath::exp),
            Unary::Log => map(o, x, f64::ln),
            Unary::Tanh => map(o, x, vmath::tanh),
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
        let out = self.push(Op::Elementwise(Elementwise::Binary(f, a.index, b.index)), r, c);
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
}

fn broadcast_dim(a: usize, b: usize) -> Option<usize> {
    match (a, b) {
        _ if a == b => Some(a),
        (1, b) => Some(b),
        (a, 1) => Some(a),
        _ => None,
    }
}

impl Elementwise {
    /// Reverse pass: `g` is the gradient of this node's value `out`. Inlined into the
    /// reverse loop: on small values (scalar code) the call itself was a measurable part of the
    /// cost per op.
    #[inline(always)]
    pub(crate) fn reverse(&self, g: &Buf, out: &Buf, r: &mut Reverse<'_, '_, '_>) {
        match *self {
            Elementwise::Unary(f, a) => {
                if !r.needs[a as usize] {
                    return;
                }
                let x = &r.values[a as usize];
                let (rows, cols) = x.shape();
                let (t, live) = r.grads.target(a);
                let (g, x, y) = (&g.data[..], &x.data[..], &out.data[..]);
                match f {
                    Unary::Neg => acc3(t, live, g, x, y, move |g, _, _| -g),
                    Unary::Exp => acc3(t, live, g, x, y, move |g, _, y| g * y),
                    Unary::Log => acc3(t, live, g, x, y, move |g, x, _| g / x),
                    Unary::Tanh => acc3(t, live, g, x, y, move |g, _, y| g * (1.0 - y * y)),
                    Unary::Sigmoid => acc3(t, live, g, x, y, move |g, _, y| g * y * (1.0 - y)),
                    Unary::Softplus => acc3(t, live, g, x, y, move |g, x, _| g * sigmoid(x)),
                    Unary::Relu => acc3(t, live, g, x, y, move |g, x, _| if x > 0.0 { g } else { 0.0 }),
                    Unary::LeakyRelu(al) => acc3(t, live, g, x, y, move |g, x, _| if x > 0.0 { g } else { al * g }),
                    Unary::Square => acc3(t, live, g, x, y, move |g, x, _| 2.0 * x * g),
                    Unary::Sqrt => acc3(t, live, g, x, y, move |g, _, y| 0.5 * g / y),
                    Unary::AddScalar(_) => acc3(t, live, g, x, y, move |g, _, _| g),
                    Unary::MulScalar(c) => acc3(t, live, g, x, y, move |g, _, _| c * g),
                }
                t.rows = rows;
                t.cols = cols;
            }
            Elementwise::Binary(f, a, b) => {
                binary_operand(f, Operand::First, a, g, out, (a, b), r);
                binary_operand(f, Operand::Second, b, g, out, (a, b), r);
            }
        }
    }
}

/// Which operand of a binary op a gradient is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Operand {
    First,
    Second,
}

/// Reverse pass of a binary op for operand `k` (`which` of `(a, b)`): `g` is the gradient of
/// the node's value `out`. Inlined twice into [`Elementwise::reverse`], so into the reverse
/// loop: a closure called twice was compiled as a function of its own, and a loop over the two
/// operands kept its array iterator (both measured with callgrind on `1 x 1` values).
#[inline(always)]
fn binary_operand(
    f: Binary,
    which: Operand,
    k: u32,
    g: &Buf,
    out: &Buf,
    (a, b): (u32, u32),
    r: &mut Reverse<'_, '_, '_>,
) {
    if !r.needs[k as usize] {
        return;
    }
    let (xa, xb) = (&r.values[a as usize], &r.values[b as usize]);
    let shape = r.values[k as usize].shape();
    let (t, live) = r.grads.target(k);
    let scratch = &mut *r.scratch;
    match (f, which) {
        (Binary::Add, _) | (Binary::Sub, Operand::First) => reduce_into(t, live, shape, g, 1.0),
        (Binary::Sub, Operand::Second) => reduce_into(t, live, shape, g, -1.0),
        (Binary::Mul, _) => {
            let other = if which == Operand::First { xb } else { xa };
            let s = &mut scratch[0];
            s.reshape(g.rows, g.cols);
            zip_broadcast(s, g, other, move |g, o| g * o);
            reduce_into(t, live, shape, s, 1.0);
        }
        (Binary::Div, Operand::First) => {
            let s = &mut scratch[0];
            s.reshape(g.rows, g.cols);
            zip_broadcast(s, g, xb, move |g, y| g / y);
            reduce_into(t, live, shape, s, 1.0);
        }
        (Binary::Div, Operand::Second) => {
            // d(x/y)/dy = -(x/y)/y = -out / y.
            let [s0, s1, ..] = scratch;
            s0.reshape(g.rows, g.cols);
            zip_broadcast(s0, g, out, move |g, o| -g * o);
            s1.reshape(g.rows, g.cols);
            zip_broadcast(s1, s0, xb, move |v, y| v / y);
            reduce_into(t, live, shape, s1, 1.0);
        }
    }
}
