//! Kernels shared by the forward and reverse passes of several ops: elementwise loops over
//! buffers, products (dense and triangular) with size-based parallelism, and in-place
//! triangular helpers. They read and write [`Buf`]s and slices only; nothing here knows the
//! tape.

use faer::linalg::matmul::triangular::{BlockStructure, matmul as triangular_matmul};
use faer::{Accum, MatMut, MatRef, Par};

use crate::buf::Buf;
use crate::simd::dispatch;
use crate::vmath;

/// `ln(2 pi)`, the constant of every Gaussian log-density.
pub const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// Products with at least this many multiply-adds may use rayon; smaller ones stay on the
/// calling thread so that tiny ops pay no thread overhead.
const PAR_MATMUL_FLOPS: usize = 1 << 22;

/// `1 / (1 + e^-x)`, as `e / (1 + e)` with `e = e^-|x|` for negative `x` (no overflow), with
/// the vectorisable [`vmath::exp`].
#[inline(always)]
pub(crate) fn sigmoid(x: f64) -> f64 {
    let e = vmath::exp(-x.abs());
    if x >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) }
}

/// `ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|)`, with the vectorisable [`vmath`] functions.
#[inline(always)]
pub(crate) fn softplus(x: f64) -> f64 {
    let l = vmath::log1p(vmath::exp(-x.abs()));
    if x > 0.0 { x + l } else { l }
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

/// `o = f(x)` elementwise over equal-length slices.
#[inline(always)]
pub(crate) fn map(o: &mut [f64], x: &[f64], f: impl Fn(f64) -> f64) {
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

/// `t += s` elementwise.
#[inline(always)]
pub(crate) fn add_slice(t: &mut [f64], s: &[f64]) {
    dispatch(
        t.len(),
        #[inline(always)]
        move || {
            for (t, &s) in t.iter_mut().zip(s) {
                *t += s;
            }
        },
    )
}

/// `t (=|+=) f(g, x, y)` elementwise over equal-length slices (the reverse pass of a function
/// of one operand `x` with output `y` and upstream gradient `g`).
#[inline(always)]
pub(crate) fn acc3(t: &mut Buf, live: bool, g: &[f64], x: &[f64], y: &[f64], f: impl Fn(f64, f64, f64) -> f64) {
    dispatch(
        g.len(),
        #[inline(always)]
        move || acc3_kernel(t, live, g, x, y, f),
    )
}

#[inline(always)]
fn acc3_kernel(t: &mut Buf, live: bool, g: &[f64], x: &[f64], y: &[f64], f: impl Fn(f64, f64, f64) -> f64) {
    if live {
        for (((t, &g), &x), &y) in t.data.iter_mut().zip(g).zip(x).zip(y) {
            *t += f(g, x, y);
        }
    } else {
        // A reused buffer has the length already: skip the call to `resize` (a measurable part
        // of the reverse pass of an op on `1 x 1` values).
        if t.data.len() != g.len() {
            t.data.resize(g.len(), 0.0);
        }
        for (((t, &g), &x), &y) in t.data.iter_mut().zip(g).zip(x).zip(y) {
            *t = f(g, x, y);
        }
    }
}

/// `d = f(g, y)` elementwise over equal-length slices.
#[inline(always)]
pub(crate) fn zip_into(d: &mut Buf, g: &[f64], y: &[f64], f: impl Fn(f64, f64) -> f64) {
    dispatch(
        g.len(),
        #[inline(always)]
        move || {
            for ((d, &g), &y) in d.data.iter_mut().zip(g).zip(y) {
                *d = f(g, y);
            }
        },
    )
}

/// Make `t` an `r x c` gradient buffer ready for `+=`: zeroed unless it is already live.
#[inline]
pub(crate) fn prepare(t: &mut Buf, live: bool, r: usize, c: usize) {
    if !live {
        t.reshape_zeroed(r, c);
    }
}

/// `t (=|+=) scale * src`, summing `src` over the dimensions where `t`'s shape is 1
/// (the reverse of broadcasting).
pub(crate) fn reduce_into(t: &mut Buf, live: bool, shape: (usize, usize), src: &Buf, scale: f64) {
    dispatch(
        src.data.len(),
        #[inline(always)]
        move || reduce_into_kernel(t, live, shape, src, scale),
    )
}

#[inline(always)]
fn reduce_into_kernel(t: &mut Buf, live: bool, (r, c): (usize, usize), src: &Buf, scale: f64) {
    if (r, c) == src.shape() {
        if live {
            t.data.iter_mut().zip(&src.data).for_each(|(t, &s)| *t += scale * s);
        } else {
            t.reshape(r, c);
            t.data.iter_mut().zip(&src.data).for_each(|(t, &s)| *t = scale * s);
        }
        return;
    }
    prepare(t, live, r, c);
    for j in 0..src.cols {
        let tc = if c == 1 { 0 } else { j };
        let col = src.col(j);
        if r == 1 {
            t.data[tc] += scale * sum_slice(col);
        } else {
            t.col_mut(tc).iter_mut().zip(col).for_each(|(t, &s)| *t += scale * s);
        }
    }
}

/// Parallelism for an operation of about `flops` multiply-adds.
pub(crate) fn par_for(flops: usize) -> Par {
    if flops >= PAR_MATMUL_FLOPS && crate::par::threads() > 1 { crate::par::all() } else { Par::Seq }
}

/// `Par::Seq` stays sequential; otherwise rayon when `flops` is large (as [`par_for`]).
pub(crate) fn capped(par: Par, flops: usize) -> Par {
    if matches!(par, Par::Seq) { par } else { par_for(flops) }
}

/// `dst (=|+=) alpha x y`, with rayon only for large products.
pub(crate) fn gemm(dst: MatMut<'_, f64>, accum: Accum, x: MatRef<'_, f64>, y: MatRef<'_, f64>, alpha: f64) {
    let flops = x.nrows() * x.ncols() * y.ncols();
    faer::linalg::matmul::matmul(dst, accum, x, y, alpha, par_for(flops));
}

/// A rectangular operand of [`tri_product`].
pub(crate) const FULL: BlockStructure = BlockStructure::Rectangular;
/// A lower-triangular operand (diagonal included) of [`tri_product`].
pub(crate) const LOWER: BlockStructure = BlockStructure::TriangularLower;
/// An upper-triangular operand (diagonal included) of [`tri_product`].
pub(crate) const UPPER: BlockStructure = BlockStructure::TriangularUpper;

/// `dst (=|+=) alpha lhs rhs` where each of the three matrices is read or written only on
/// the triangle its [`BlockStructure`] names (faer skips the blocks known to be zero), with
/// the parallelism given (`Par::Seq`: on the calling thread only; otherwise rayon for large
/// products, as [`gemm`]).
pub(crate) fn tri_product(
    (dst, dst_structure): (MatMut<'_, f64>, BlockStructure),
    accum: Accum,
    (lhs, lhs_structure): (MatRef<'_, f64>, BlockStructure),
    (rhs, rhs_structure): (MatRef<'_, f64>, BlockStructure),
    alpha: f64,
    par: Par,
) {
    let par = capped(par, lhs.nrows() * lhs.ncols() * rhs.ncols());
    triangular_matmul(dst, dst_structure, accum, lhs, lhs_structure, rhs, rhs_structure, alpha, par);
}

/// Zero the strict upper triangle.
pub(crate) fn zero_above_diagonal(o: &mut Buf) {
    let r = o.rows;
    for j in 1..o.cols {
        let top = j.min(r);
        o.data[j * r..j * r + top].fill(0.0);
    }
}

/// Transpose a square buffer in place.
pub(crate) fn transpose_in_place(m: &mut Buf) {
    let n = m.rows;
    for j in 0..n {
        for i in (j + 1)..n {
            m.data.swap(i + j * n, j + i * n);
        }
    }
}

/// `dst += scale tril(src)` on the lower triangle.
pub(crate) fn add_lower(dst: &mut Buf, src: &Buf, scale: f64) {
    for j in 0..src.cols {
        let (d, s) = (&mut dst.col_mut(j)[j..], &src.col(j)[j..]);
        d.iter_mut().zip(s).for_each(|(d, &s)| *d += scale * s);
    }
}

/// The squared Frobenius norm of the lower triangle.
pub(crate) fn squared_norm_lower(m: &Buf) -> f64 {
    (0..m.cols).map(|j| m.col(j)[j..].iter().map(|x| x * x).sum::<f64>()).sum()
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

/// `out = L^-1` for a lower-triangular `L`, with a zero strict upper triangle.
pub(crate) fn invert_lower_into(l: &Buf, out: &mut Buf, par: Par) {
    let d = l.rows;
    out.reshape(d, d);
    faer::linalg::triangular_inverse::invert_lower_triangular(out.as_mut(), l.as_ref(), par);
    zero_above_diagonal(out);
}
