//! A gradient checker: the tape's reverse pass against central finite differences.

use faer::Mat;

use crate::store::ParamStore;
use crate::tape::{GradMode, Tape, Var};

/// The outcome of a gradient check.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheck {
    /// Norm-wise relative error per checked matrix:
    /// `|g_tape - g_fd| / max(|g_tape|, |g_fd|, 1e-12)` (Frobenius norms).
    pub rel_errors: Vec<f64>,
    /// Gradients from the reverse pass, one per checked matrix.
    pub analytic: Vec<Mat<f64>>,
    /// Gradients from central differences, one per checked matrix.
    pub numeric: Vec<Mat<f64>>,
}

impl GradCheck {
    /// The largest relative error over all checked matrices.
    pub fn max_rel_error(&self) -> f64 {
        self.rel_errors.iter().copied().fold(0.0, f64::max)
    }
}

/// Check `d f / d inputs` of a scalar function recorded by `f(tape, input_vars)` against
/// central differences with step `eps`: `(f(x + eps e_k) - f(x - eps e_k)) / (2 eps)`.
///
/// ```
/// let x = faer::mat![[0.3, -1.2], [2.0, 0.5]];
/// let check = autodiff_lite::check_gradients(&[x], 1e-6, |t, v| {
///     let e = t.exp(v[0]);
///     t.sum(e)
/// });
/// assert!(check.max_rel_error() < 1e-8);
/// ```
pub fn check_gradients(inputs: &[Mat<f64>], eps: f64, f: impl Fn(&mut Tape, &[Var]) -> Var) -> GradCheck {
    let mut store = ParamStore::new();
    let mut tape = Tape::new();
    let vars: Vec<Var> = inputs.iter().map(|x| tape.input(x.as_ref())).collect();
    let loss = f(&mut tape, &vars);
    tape.backward(loss, &mut store);
    let analytic: Vec<Mat<f64>> = vars
        .iter()
        .zip(inputs)
        .map(|(&v, x)| tape.grad(v).map_or_else(|| Mat::zeros(x.nrows(), x.ncols()), |g| g.to_owned()))
        .collect();
    let mut eval_tape = Tape::with_mode(GradMode::NoGrad);
    let mut point: Vec<Mat<f64>> = inputs.to_vec();
    let mut eval = |point: &[Mat<f64>]| {
        eval_tape.clear();
        let vars: Vec<Var> = point.iter().map(|x| eval_tape.leaf(x.as_ref())).collect();
        let out = f(&mut eval_tape, &vars);
        eval_tape.scalar(out)
    };
    let mut numeric = Vec::with_capacity(inputs.len());
    for k in 0..inputs.len() {
        let (r, c) = (inputs[k].nrows(), inputs[k].ncols());
        let mut g = Mat::zeros(r, c);
        for j in 0..c {
            for i in 0..r {
                let x0 = point[k][(i, j)];
                point[k][(i, j)] = x0 + eps;
                let fp = eval(&point);
                point[k][(i, j)] = x0 - eps;
                let fm = eval(&point);
                point[k][(i, j)] = x0;
                g[(i, j)] = (fp - fm) / (2.0 * eps);
            }
        }
        numeric.push(g);
    }
    finish(analytic, numeric)
}

/// Check `d f / d p` for every parameter of `store` of a scalar function recorded by
/// `f(tape, store)` (which reads parameters with [`Tape::param`]) against central differences.
/// The store's gradients are overwritten.
pub fn check_param_gradients(store: &mut ParamStore, eps: f64, f: impl Fn(&mut Tape, &ParamStore) -> Var) -> GradCheck {
    store.zero_grads();
    let mut tape = Tape::new();
    let loss = f(&mut tape, store);
    tape.backward(loss, store);
    let ids: Vec<_> = store.ids().collect();
    let analytic: Vec<Mat<f64>> = ids.iter().map(|&id| store.grad(id).to_owned()).collect();
    let mut eval_tape = Tape::with_mode(GradMode::NoGrad);
    let mut numeric = Vec::with_capacity(ids.len());
    for &id in &ids {
        let (r, c) = (store.value(id).nrows(), store.value(id).ncols());
        let mut g = Mat::zeros(r, c);
        for j in 0..c {
            for i in 0..r {
                let x0 = store.value(id)[(i, j)];
                let mut at = |x: f64, store: &mut ParamStore| {
                    store.value_mut(id)[(i, j)] = x;
                    eval_tape.clear();
                    let out = f(&mut eval_tape, store);
                    eval_tape.scalar(out)
                };
                let fp = at(x0 + eps, store);
                let fm = at(x0 - eps, store);
                store.value_mut(id)[(i, j)] = x0;
                g[(i, j)] = (fp - fm) / (2.0 * eps);
            }
        }
        numeric.push(g);
    }
    finish(analytic, numeric)
}

fn finish(analytic: Vec<Mat<f64>>, numeric: Vec<Mat<f64>>) -> GradCheck {
    let rel_errors = analytic
        .iter()
        .zip(&numeric)
        .map(|(a, n)| {
            let diff = (a - n).norm_l2();
            diff / a.norm_l2().max(n.norm_l2()).max(1e-12)
        })
        .collect();
    GradCheck { rel_errors, analytic, numeric }
}
