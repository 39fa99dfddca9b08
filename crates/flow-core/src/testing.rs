//! Identity checks every bijector must pass, written once and run over every implementor:
//! round trips, log-determinants against a numerical Jacobian, forward and inverse
//! log-determinants cancelling, exact zeros for volume-preserving layers, and equal outputs
//! from the recording and no-grad tapes. Used by this crate's tests and by crates that add
//! layers.

use autodiff_lite::{GradMode, ParamStore, Tape};
use faer::{Mat, MatRef};

use crate::Bijector;

/// Tolerances of [`check_bijector`].
#[derive(Debug, Clone, Copy)]
pub struct Tolerances {
    /// Relative round-trip error `|g^-1(g(x)) - x|_max / (1 + |x|_max)`.
    pub round_trip: f64,
    /// Absolute error of `log|det J|` against central differences.
    pub log_det: f64,
    /// Step of the central differences.
    pub fd_step: f64,
    /// For volume-preserving layers: `| |det J| - 1 |` from the numerical Jacobian.
    pub unit_det: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Self { round_trip: 1e-9, log_det: 1e-6, fd_step: 1e-5, unit_det: 1e-9 }
    }
}

/// Run `layer` forward or inverse on a plain matrix, returning output and log-dets.
pub fn apply(
    layer: &dyn Bijector,
    store: &ParamStore,
    x: MatRef<'_, f64>,
    inverse: bool,
    mode: GradMode,
) -> (Mat<f64>, Vec<f64>) {
    let mut tape = Tape::with_mode(mode);
    let v = tape.leaf(x);
    let (out, ld) = if inverse { layer.inverse(&mut tape, store, v) } else { layer.forward(&mut tape, store, v) };
    (tape.value(out).to_owned(), ld.to_vec(&tape, x.nrows()))
}

/// The Jacobian `d g(x) / d x` of one sample (a `1 x D` row) by central differences.
pub fn numerical_jacobian(
    layer: &dyn Bijector,
    store: &ParamStore,
    x: MatRef<'_, f64>,
    inverse: bool,
    step: f64,
) -> Mat<f64> {
    let d = x.ncols();
    let mut jac = Mat::zeros(d, d);
    let mut xp = x.to_owned();
    for k in 0..d {
        let x0 = xp[(0, k)];
        xp[(0, k)] = x0 + step;
        let (fp, _) = apply(layer, store, xp.as_ref(), inverse, GradMode::NoGrad);
        xp[(0, k)] = x0 - step;
        let (fm, _) = apply(layer, store, xp.as_ref(), inverse, GradMode::NoGrad);
        xp[(0, k)] = x0;
        for i in 0..d {
            jac[(i, k)] = (fp[(0, i)] - fm[(0, i)]) / (2.0 * step);
        }
    }
    jac
}

/// `log|det M|` through a partial-pivoting LU factorisation (sums logs: no overflow).
pub fn log_abs_det(m: MatRef<'_, f64>) -> f64 {
    let lu = m.partial_piv_lu();
    let u = lu.U();
    (0..m.nrows()).map(|i| u[(i, i)].abs().ln()).sum()
}

/// Check every identity on the batch `x`; returns a description of the first failure.
///
/// # Errors
/// A message naming the identity that failed and by how much.
pub fn check_bijector(
    layer: &dyn Bijector,
    store: &ParamStore,
    x: MatRef<'_, f64>,
    tol: Tolerances,
) -> Result<(), String> {
    let scale = 1.0 + x.norm_max();
    let (z, ld_fwd) = apply(layer, store, x, false, GradMode::Record);
    let (z_nograd, ld_nograd) = apply(layer, store, x, false, GradMode::NoGrad);
    if z != z_nograd || ld_fwd != ld_nograd {
        return Err("the recording and no-grad tapes give different outputs".into());
    }
    let (x_back, ld_inv) = apply(layer, store, z.as_ref(), true, GradMode::Record);
    let err = (&x_back - x).norm_max() / scale;
    if err > tol.round_trip {
        return Err(format!("inverse(forward(x)) differs from x by {err:e} (relative)"));
    }
    let (x_from_z, _) = apply(layer, store, x, true, GradMode::NoGrad);
    let (z_back, _) = apply(layer, store, x_from_z.as_ref(), false, GradMode::NoGrad);
    let err = (&z_back - x).norm_max() / scale;
    if err > tol.round_trip {
        return Err(format!("forward(inverse(z)) differs from z by {err:e} (relative)"));
    }
    for i in 0..x.nrows() {
        if (ld_fwd[i] + ld_inv[i]).abs() > tol.log_det {
            return Err(format!(
                "row {i}: forward log-det {} and inverse log-det {} do not cancel",
                ld_fwd[i], ld_inv[i]
            ));
        }
        let jac = numerical_jacobian(layer, store, x.subrows(i, 1), false, tol.fd_step);
        let numeric = log_abs_det(jac.as_ref());
        if (numeric - ld_fwd[i]).abs() > tol.log_det {
            return Err(format!("row {i}: reported log-det {} but the numerical Jacobian gives {numeric}", ld_fwd[i]));
        }
        if layer.is_volume_preserving() {
            if ld_fwd[i] != 0.0 || ld_inv[i] != 0.0 {
                return Err(format!("row {i}: volume-preserving layer reports log-det {} / {}", ld_fwd[i], ld_inv[i]));
            }
            if (numeric.exp() - 1.0).abs() > tol.unit_det {
                return Err(format!("row {i}: volume-preserving layer has |det J| = {}", numeric.exp()));
            }
        }
    }
    Ok(())
}
