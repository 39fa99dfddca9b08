//! The reverse pass: one loop over the arena from the loss back to the leaves (operands always
//! precede results), accumulating `d loss / d node` and adding parameter gradients to the store.

use faer::{Accum, Par};

use crate::buf::Buf;
use crate::conv;
use crate::linalg::{cholesky_backward, gaussian_batch_term, gaussian_dense_term, gaussian_p, solve_lower_backward};
use crate::simd::dispatch;
use crate::store::ParamStore;
use crate::tape::{
    Activation, Binary, GradMode, Op, Reduce, Tape, Transpose, Unary, Var, gemm, orient, sigmoid, sum_slice,
};

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
            dense_jobs,
            n_dense_jobs,
            ..
        } = self;
        // Each Gaussian node's buffers for its dense gradient term, handed out once.
        let mut dense_bufs: Vec<Option<&mut [Buf; 4]>> = dense_jobs.iter_mut().map(Some).collect();
        // Dense gradient terms computed concurrently: (parameter, scale, job), and their time.
        let mut pending = Vec::new();
        let dense_time = std::sync::Mutex::new(std::time::Duration::ZERO);
        let mut loop_end = None;
        let deferred = |a: u32| {
            let a = a as usize;
            needs[a] && matches!(ops[a], Op::Param(_)) && values[a].rows >= CONCURRENT_DENSE_MIN_DIM
        };
        let any_deferred =
            *n_dense_jobs > 0 && ops[..n].iter().any(|op| matches!(*op, Op::GaussianLogProb { a, .. } if deferred(a)));
        let mut reverse = || {
            rayon::in_place_scope(|threads| {
                // (start of the current op, its kind) when profiling.
                let mut clock: Option<(std::time::Instant, &'static str)> = None;
                for i in (0..n).rev() {
                    if !grad_live[i] {
                        continue;
                    }
                    if let Some(profile) = profile.as_mut() {
                        let now = std::time::Instant::now();
                        if let Some((start, name)) = clock {
                            profile.add(name, now - start);
                        }
                        clock = Some((now, ops[i].name()));
                    }
                    let (glo, ghi) = grads.split_at_mut(i);
                    let g = &ghi[0];
                    let out = &values[i];
                    // `acc(k)` gives operand k's gradient buffer and whether it already holds a value.
                    macro_rules! target {
                        ($k:expr) => {{
                            let k = $k as usize;
                            let was_live = grad_live[k];
                            grad_live[k] = true;
                            (&mut glo[k], was_live)
                        }};
                    }
                    match ops[i] {
                        Op::Leaf | Op::Detached => {}
                        Op::Param(id) => {
                            let target = store.grad_mut(id);
                            for j in 0..g.cols {
                                add_slice(target.col_as_slice_mut(j), g.col(j));
                            }
                        }
                        Op::Unary(f, a) => {
                            if !needs[a as usize] {
                                continue;
                            }
                            let x = &values[a as usize];
                            let (t, live) = target!(a);
                            let (g, x, y) = (&g.data[..], &x.data[..], &out.data[..]);
                            match f {
                                Unary::Neg => acc3(t, live, g, x, y, move |g, _, _| -g),
                                Unary::Exp => acc3(t, live, g, x, y, move |g, _, y| g * y),
                                Unary::Log => acc3(t, live, g, x, y, move |g, x, _| g / x),
                                Unary::Tanh => acc3(t, live, g, x, y, move |g, _, y| g * (1.0 - y * y)),
                                Unary::Sigmoid => acc3(t, live, g, x, y, move |g, _, y| g * y * (1.0 - y)),
                                Unary::Softplus => acc3(t, live, g, x, y, move |g, x, _| g * sigmoid(x)),
                                Unary::Relu => acc3(t, live, g, x, y, move |g, x, _| if x > 0.0 { g } else { 0.0 }),
                                Unary::LeakyRelu(al) => {
                                    acc3(t, live, g, x, y, move |g, x, _| if x > 0.0 { g } else { al * g })
                                }
                                Unary::Square => acc3(t, live, g, x, y, move |g, x, _| 2.0 * x * g),
                                Unary::Sqrt => acc3(t, live, g, x, y, move |g, _, y| 0.5 * g / y),
                                Unary::AddScalar(_) => acc3(t, live, g, x, y, move |g, _, _| g),
                                Unary::MulScalar(c) => acc3(t, live, g, x, y, move |g, _, _| c * g),
                            }
                            t.rows = values[a as usize].rows;
                            t.cols = values[a as usize].cols;
                        }
                        Op::Binary(f, a, b) => {
                            let (xa, xb) = (&values[a as usize], &values[b as usize]);
                            for (k, first) in [(a, true), (b, false)] {
                                if !needs[k as usize] {
                                    continue;
                                }
                                let shape = values[k as usize].shape();
                                let (t, live) = target!(k);
                                match (f, first) {
                                    (Binary::Add, _) | (Binary::Sub, true) => reduce_into(t, live, shape, g, 1.0),
                                    (Binary::Sub, false) => reduce_into(t, live, shape, g, -1.0),
                                    (Binary::Mul, _) => {
                                        let other = if first { xb } else { xa };
                                        let s = &mut scratch[0];
                                        s.reshape(g.rows, g.cols);
                                        crate::tape::zip_broadcast(s, g, other, move |g, o| g * o);
                                        reduce_into(t, live, shape, s, 1.0);
                                    }
                                    (Binary::Div, true) => {
                                        let s = &mut scratch[0];
                                        s.reshape(g.rows, g.cols);
                                        crate::tape::zip_broadcast(s, g, xb, move |g, y| g / y);
                                        reduce_into(t, live, shape, s, 1.0);
                                    }
                                    (Binary::Div, false) => {
                                        // d(x/y)/dy = -(x/y)/y = -out / y.
                                        let s = &mut scratch[0];
                                        s.reshape(g.rows, g.cols);
                                        crate::tape::zip_broadcast(s, g, out, move |g, o| -g * o);
                                        let [s0, s1, ..] = scratch;
                                        s1.reshape(g.rows, g.cols);
                                        crate::tape::zip_broadcast(s1, s0, xb, move |v, y| v / y);
                                        reduce_into(t, live, shape, &scratch[1], 1.0);
                                    }
                                }
                            }
                        }
                        Op::MatMul(a, b, ta, tb) => {
                            let (xa, xb) = (&values[a as usize], &values[b as usize]);
                            let (oa, ob) = (orient(xa.as_ref(), ta), orient(xb.as_ref(), tb));
                            if needs[a as usize] {
                                let (t, live) = target!(a);
                                t.reshape(xa.rows, xa.cols);
                                let acc = if live { Accum::Add } else { Accum::Replace };
                                match ta {
                                    Transpose::No => gemm(t.as_mut(), acc, g.as_ref(), ob.transpose(), 1.0),
                                    Transpose::Yes => gemm(t.as_mut(), acc, ob, g.as_ref().transpose(), 1.0),
                                }
                            }
                            if needs[b as usize] {
                                let (t, live) = target!(b);
                                t.reshape(xb.rows, xb.cols);
                                let acc = if live { Accum::Add } else { Accum::Replace };
                                match tb {
                                    Transpose::No => gemm(t.as_mut(), acc, oa.transpose(), g.as_ref(), 1.0),
                                    Transpose::Yes => gemm(t.as_mut(), acc, g.as_ref().transpose(), oa, 1.0),
                                }
                            }
                        }
                        Op::Linear(x, w, b, act) => {
                            let (xv, wv) = (&values[x as usize], &values[w as usize]);
                            // d = g * act'(y), the gradient before the activation; the bias gradient
                            // (its column sums) is taken in the same pass.
                            let d = if act == Activation::Identity {
                                g
                            } else {
                                let d = &mut *layer_scratch;
                                d.reshape(g.rows, g.cols);
                                let (gd, yd) = (&g.data[..], &out.data[..]);
                                match act {
                                    Activation::Identity => unreachable!("handled above"),
                                    Activation::Relu => zip_into(d, gd, yd, move |g, y| if y > 0.0 { g } else { 0.0 }),
                                    Activation::LeakyRelu(al) => {
                                        zip_into(d, gd, yd, move |g, y| if y > 0.0 { g } else { al * g })
                                    }
                                    Activation::Tanh => zip_into(d, gd, yd, move |g, y| g * (1.0 - y * y)),
                                }
                                &*layer_scratch
                            };
                            if needs[b as usize] {
                                let (t, live) = target!(b);
                                prepare(t, live, 1, d.cols);
                                for (j, t) in t.data.iter_mut().enumerate() {
                                    *t += sum_slice(d.col(j));
                                }
                            }
                            if needs[x as usize] {
                                let (t, live) = target!(x);
                                t.reshape(xv.rows, xv.cols);
                                let acc = if live { Accum::Add } else { Accum::Replace };
                                gemm(t.as_mut(), acc, d.as_ref(), wv.as_ref().transpose(), 1.0);
                            }
                            if needs[w as usize] {
                                let (t, live) = target!(w);
                                t.reshape(wv.rows, wv.cols);
                                let acc = if live { Accum::Add } else { Accum::Replace };
                                gemm(t.as_mut(), acc, xv.as_ref().transpose(), d.as_ref(), 1.0);
                            }
                        }
                        Op::Reduce(kind, a, scale) => {
                            if !needs[a as usize] {
                                continue;
                            }
                            let (r, c) = values[a as usize].shape();
                            let (t, live) = target!(a);
                            prepare(t, live, r, c);
                            match kind {
                                Reduce::Sum => {
                                    let v = g.data[0] * scale;
                                    t.data.iter_mut().for_each(|t| *t += v);
                                }
                                Reduce::RowSum => {
                                    for j in 0..c {
                                        for (t, &gi) in t.col_mut(j).iter_mut().zip(&g.data) {
                                            *t += scale * gi;
                                        }
                                    }
                                }
                                Reduce::ColSum => {
                                    for j in 0..c {
                                        let v = g.data[j] * scale;
                                        t.col_mut(j).iter_mut().for_each(|t| *t += v);
                                    }
                                }
                            }
                        }
                        Op::SelectCols(a, start) => {
                            if !needs[a as usize] {
                                continue;
                            }
                            let (r, c) = values[a as usize].shape();
                            let (t, live) = target!(a);
                            prepare(t, live, r, c);
                            add_slice(&mut t.data[start * r..start * r + g.data.len()], &g.data);
                        }
                        Op::ConcatCols(a, b) => {
                            let split = values[a as usize].data.len();
                            for (k, range) in [(a, 0..split), (b, split..g.data.len())] {
                                if !needs[k as usize] {
                                    continue;
                                }
                                let (r, c) = values[k as usize].shape();
                                let (t, live) = target!(k);
                                prepare(t, live, r, c);
                                add_slice(&mut t.data, &g.data[range]);
                            }
                        }
                        Op::PermuteCols(a, slot) => {
                            if !needs[a as usize] {
                                continue;
                            }
                            let (r, c) = values[a as usize].shape();
                            let (t, live) = target!(a);
                            prepare(t, live, r, c);
                            for (j, &p) in perms[slot as usize].iter().enumerate() {
                                add_slice(t.col_mut(p), g.col(j));
                            }
                        }
                        Op::Tril(a) => {
                            if !needs[a as usize] {
                                continue;
                            }
                            let (r, c) = values[a as usize].shape();
                            let (t, live) = target!(a);
                            prepare(t, live, r, c);
                            for j in 0..c {
                                add_slice(&mut t.col_mut(j)[j.min(r)..], &g.col(j)[j.min(r)..]);
                            }
                        }
                        Op::Transpose(a) => {
                            if !needs[a as usize] {
                                continue;
                            }
                            let (r, c) = values[a as usize].shape();
                            let (t, live) = target!(a);
                            prepare(t, live, r, c);
                            let mut tm = t.as_mut();
                            tm += g.as_ref().transpose();
                        }
                        Op::Cholesky(a) => {
                            if !needs[a as usize] {
                                continue;
                            }
                            let (r, c) = values[a as usize].shape();
                            cholesky_backward(out, g, &mut scratch[0]);
                            let (t, live) = target!(a);
                            reduce_into(t, live, (r, c), &scratch[0], 1.0);
                        }
                        Op::SolveLower(l, b) => {
                            let need_l = needs[l as usize];
                            if !need_l && !needs[b as usize] {
                                continue;
                            }
                            let [s0, s1, ..] = scratch;
                            solve_lower_backward(&values[l as usize], out, g, s0, need_l.then_some(s1));
                            if needs[b as usize] {
                                let shape = values[b as usize].shape();
                                let (t, live) = target!(b);
                                reduce_into(t, live, shape, &scratch[0], 1.0);
                            }
                            if need_l {
                                let shape = values[l as usize].shape();
                                let (t, live) = target!(l);
                                reduce_into(t, live, shape, &scratch[1], 1.0);
                            }
                        }
                        Op::LogDetCholesky(l) => {
                            if !needs[l as usize] {
                                continue;
                            }
                            let x = &values[l as usize];
                            let (r, c) = x.shape();
                            let (t, live) = target!(l);
                            prepare(t, live, r, c);
                            for k in 0..r {
                                t.data[k + k * r] += 2.0 * g.data[0] / x.data[k + k * r];
                            }
                        }
                        Op::Conv2d { x, w, b, shape, aux: slot } => {
                            let (xv, wv) = (&values[x as usize], &values[w as usize]);
                            // The operands' gradient buffers are moved out, filled together, and put
                            // back (x, w and b are distinct nodes).
                            let mut db = None;
                            let mut dw = None;
                            let mut dx = None;
                            if needs[b as usize] {
                                let (t, live) = target!(b);
                                prepare(t, live, 1, wv.rows);
                                db = Some(std::mem::take(&mut t.data));
                            }
                            if needs[w as usize] {
                                let (t, live) = target!(w);
                                t.reshape(wv.rows, wv.cols);
                                dw =
                                    Some((std::mem::take(&mut t.data), if live { Accum::Add } else { Accum::Replace }));
                            }
                            if needs[x as usize] {
                                let (t, live) = target!(x);
                                prepare(t, live, xv.rows, xv.cols);
                                dx = Some(std::mem::take(&mut t.data));
                            }
                            conv::conv_backward(
                                &shape,
                                xv,
                                wv,
                                &aux[slot as usize],
                                g,
                                &mut scratch[0],
                                db.as_deref_mut(),
                                dw.as_mut().map(|(d, acc)| (d.as_mut_slice(), *acc)),
                                dx.as_deref_mut(),
                            );
                            if let Some(d) = db {
                                glo[b as usize].data = d;
                            }
                            if let Some((d, _)) = dw {
                                glo[w as usize].data = d;
                            }
                            if let Some(d) = dx {
                                glo[x as usize].data = d;
                            }
                        }
                        Op::CenterBlocks(a, blocks) => {
                            if !needs[a as usize] {
                                continue;
                            }
                            let (r, c) = values[a as usize].shape();
                            let centred = &mut scratch[0];
                            centred.reshape(r, c);
                            conv::center_blocks(&g.data, r, blocks, &mut centred.data);
                            let (t, live) = target!(a);
                            reduce_into(t, live, (r, c), centred, 1.0);
                        }
                        Op::GaussianLogProb { z, a, mu, noise_variance, aux: slot, job } => {
                            let slot = slot as usize;
                            let (l, l_inv, wt) = (&aux[slot], &aux[slot + 1], &aux[slot + 2]);
                            let [p, t, batch_term, ..] = scratch;
                            gaussian_p(l, wt, p);
                            let (d, n) = p.shape();
                            if needs[z as usize] {
                                let (t, live) = target!(z);
                                prepare(t, live, n, d);
                                for k in 0..d {
                                    for i in 0..n {
                                        t.data[i + k * n] -= g.data[i] * p.data[k + i * d];
                                    }
                                }
                            }
                            if let Some(m) = mu.filter(|&m| needs[m as usize]) {
                                let (t, live) = target!(m);
                                prepare(t, live, 1, d);
                                for i in 0..n {
                                    for k in 0..d {
                                        t.data[k] += g.data[i] * p.data[k + i * d];
                                    }
                                }
                            }
                            if needs[a as usize] {
                                // dA = tril(P diag(w) P^T A) - (sum_i w_i) tril(S^-1 A - v S^-2 A).
                                let a_value = &values[a as usize];
                                gaussian_batch_term(&g.data, p, a_value, t, batch_term);
                                let scale = -g.data.iter().sum::<f64>();
                                let bufs = dense_bufs[job as usize].take().expect("one reverse pass per Gaussian node");
                                match ops[a as usize] {
                                    // A parameter's gradient goes straight to the store: add the dense
                                    // term there once it is ready, and go on meanwhile.
                                    Op::Param(id) if deferred(a) => {
                                        let took = &dense_time;
                                        // Without the noise term (0.7 GFLOP at d = 1024) one core
                                        // finishes it within the flow's reverse pass; with it (2.8
                                        // GFLOP) it outlasts the flow, so it may fan out once the
                                        // flow is done (fading squares: 107 instead of 115-122 ms
                                        // per step; no gain without the term).
                                        let par = if noise_variance > 0.0 { Par::rayon(0) } else { Par::Seq };
                                        threads.spawn(move |_| {
                                            let start = std::time::Instant::now();
                                            gaussian_dense_term(l, l_inv, a_value, noise_variance, bufs, par);
                                            if let Ok(mut t) = took.lock() {
                                                *t += start.elapsed();
                                            }
                                        });
                                        pending.push((id, scale, job as usize));
                                    }
                                    _ => {
                                        let dense =
                                            gaussian_dense_term(l, l_inv, a_value, noise_variance, bufs, Par::rayon(0));
                                        add_lower(batch_term, dense, scale);
                                    }
                                }
                                let (t, live) = target!(a);
                                reduce_into(t, live, (d, d), batch_term, 1.0);
                            }
                        }
                    }
                }
                if let (Some(profile), Some((start, name))) = (profile.as_mut(), clock) {
                    profile.add(name, start.elapsed());
                }
                loop_end = Some(std::time::Instant::now());
            })
        };
        // With a dense term to overlap, the whole reverse pass runs as a rayon task, so that it
        // and the dense term share the pool's threads (a thread of our own beside the pool
        // oversubscribed the cores: 93 instead of 80 ms per fading-squares step). Without one,
        // it runs on the calling thread as any other code (no hand-over to the pool).
        if any_deferred {
            rayon::scope(|_| reverse());
        } else {
            reverse();
        }
        // The scope has waited for the dense terms: add them to the parameters' gradients.
        if let (Some(profile), Some(end)) = (profile.as_mut(), loop_end.filter(|_| !pending.is_empty())) {
            profile.add("gaussian_log_prob (wait)", end.elapsed());
            profile.add("gaussian_log_prob (concurrent)", dense_time.into_inner().unwrap_or_default());
        }
        for (id, scale, job) in pending {
            let dense = &dense_jobs[job][3];
            let target = store.grad_mut(id);
            for j in 0..dense.cols {
                let col = target.col_as_slice_mut(j);
                col[j..].iter_mut().zip(&dense.col(j)[j..]).for_each(|(t, &x)| *t += scale * x);
            }
        }
    }
}

/// Below this dimension the dense term of a Gaussian node's `dA` is computed in line (a
/// thread is not worth it).
const CONCURRENT_DENSE_MIN_DIM: usize = 128;

/// `dst += scale tril(src)` on the lower triangle.
fn add_lower(dst: &mut Buf, src: &Buf, scale: f64) {
    for j in 0..src.cols {
        let (d, s) = (&mut dst.col_mut(j)[j..], &src.col(j)[j..]);
        d.iter_mut().zip(s).for_each(|(d, &s)| *d += scale * s);
    }
}

/// Make `t` an `r x c` gradient buffer ready for `+=`: zeroed unless it is already live.
#[inline]
fn prepare(t: &mut Buf, live: bool, r: usize, c: usize) {
    if !live {
        t.reshape_zeroed(r, c);
    }
}

#[inline(always)]
fn add_slice(t: &mut [f64], s: &[f64]) {
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

/// `t (=|+=) f(g, x, y)` elementwise over equal-length slices (for unary ops).
#[inline(always)]
fn acc3(t: &mut Buf, live: bool, g: &[f64], x: &[f64], y: &[f64], f: impl Fn(f64, f64, f64) -> f64) {
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
        t.data.resize(g.len(), 0.0);
        for (((t, &g), &x), &y) in t.data.iter_mut().zip(g).zip(x).zip(y) {
            *t = f(g, x, y);
        }
    }
}

/// `d = f(g, y)` elementwise over equal-length slices.
#[inline(always)]
fn zip_into(d: &mut Buf, g: &[f64], y: &[f64], f: impl Fn(f64, f64) -> f64) {
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

/// `t (=|+=) scale * src`, summing `src` over the dimensions where `t`'s shape is 1
/// (the reverse of broadcasting).
fn reduce_into(t: &mut Buf, live: bool, shape: (usize, usize), src: &Buf, scale: f64) {
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
