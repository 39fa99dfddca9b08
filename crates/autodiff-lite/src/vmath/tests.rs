//! Accuracy of the vectorisable functions against the standard library's, in ulp (units in
//! the last place), over dense sweeps and random arguments across each function's range.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{exp, expm1, log1p, tanh};

/// The distance in representable doubles between `a` and `b` (0 when both are the same NaN
/// class or the same infinity; `u64::MAX` when only one is NaN).
fn ulps(a: f64, b: f64) -> u64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() { 0 } else { u64::MAX };
    }
    let key = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 { i64::MIN - bits } else { bits }
    };
    key(a).abs_diff(key(b))
}

/// Arguments: an even sweep of `lo..hi`, a geometric sweep of magnitudes from `1e-300` to
/// `max(|lo|, |hi|)` of both signs (clipped to the range), and uniform random draws.
fn arguments(lo: f64, hi: f64) -> Vec<f64> {
    let mut xs = Vec::new();
    let n = 200_000;
    xs.extend((0..=n).map(|i| lo + (hi - lo) * i as f64 / n as f64));
    let top = lo.abs().max(hi.abs());
    let m = 20_000;
    for i in 0..=m {
        let mag = (1e-300f64.ln() + (top.ln() - 1e-300f64.ln()) * i as f64 / m as f64).exp();
        xs.extend([mag, -mag].into_iter().filter(|x| (lo..=hi).contains(x)));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    xs.extend((0..200_000).map(|_| rng.random_range(lo..hi)));
    xs
}

/// The largest ulp distance between `f` and `reference` over `xs`, with its argument.
/// Printed with `--nocapture`: the measured bounds quoted in the module documentation.
fn worst(xs: &[f64], f: impl Fn(f64) -> f64, reference: impl Fn(f64) -> f64) -> (u64, f64) {
    let (u, x) = xs.iter().map(|&x| (ulps(f(x), reference(x)), x)).max_by_key(|&(u, _)| u).unwrap_or((0, 0.0));
    let rel = xs
        .iter()
        .filter(|x| reference(**x).is_normal())
        .map(|&x| ((f(x) - reference(x)) / reference(x)).abs())
        .fold(0.0, f64::max);
    eprintln!("worst: {u} ulp at x = {x:e}; largest relative error {rel:.2e}");
    (u, x)
}

#[test]
fn exp_is_within_1_ulp_of_std() {
    let (u, x) = worst(&arguments(-745.0, 709.7), exp, f64::exp);
    assert!(u <= 1, "exp: {u} ulp at x = {x:e}: {} vs {}", exp(x), x.exp());
}

#[test]
fn expm1_is_within_2_ulp_of_std() {
    let (u, x) = worst(&arguments(-50.0, 709.7), expm1, f64::exp_m1);
    assert!(u <= 2, "expm1: {u} ulp at x = {x:e}: {} vs {}", expm1(x), x.exp_m1());
    let (u, x) = worst(&arguments(-1.0, 1.0), expm1, f64::exp_m1);
    assert!(u <= 2, "expm1 near 0: {u} ulp at x = {x:e}");
}

#[test]
fn tanh_is_within_3_ulp_of_std() {
    let (u, x) = worst(&arguments(-25.0, 25.0), tanh, f64::tanh);
    assert!(u <= 3, "tanh: {u} ulp at x = {x:e}: {} vs {}", tanh(x), x.tanh());
    let (u, x) = worst(&arguments(-1.0, 1.0), tanh, f64::tanh);
    assert!(u <= 3, "tanh near 0: {u} ulp at x = {x:e}");
}

#[test]
fn log1p_is_within_2_ulp_of_std() {
    let (u, x) = worst(&arguments(-0.999_999, 1e6), log1p, f64::ln_1p);
    assert!(u <= 2, "log1p: {u} ulp at x = {x:e}: {} vs {}", log1p(x), x.ln_1p());
    let (u, x) = worst(&arguments(-1.0 + 1e-15, 1.0), log1p, f64::ln_1p);
    assert!(u <= 2, "log1p near 0: {u} ulp at x = {x:e}");
    let (u, x) = worst(&arguments(1e6, 1e300), log1p, f64::ln_1p);
    assert!(u <= 2, "log1p of large x: {u} ulp at x = {x:e}");
}

#[test]
fn special_values_match_std() {
    let specials = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        5e-324,
        -5e-324,
        709.78,
        709.79,
        710.0,
        1e300,
        -744.0,
        -745.2,
        -746.0,
        -1e300,
        -1.0,
        -2.0,
        f64::MAX,
        f64::MIN,
    ];
    type Pair = (&'static str, fn(f64) -> f64, fn(f64) -> f64);
    let pairs: [Pair; 4] = [
        ("exp", exp, f64::exp),
        ("expm1", expm1, f64::exp_m1),
        ("tanh", tanh, f64::tanh),
        ("log1p", log1p, f64::ln_1p),
    ];
    for (name, f, reference) in pairs {
        for x in specials {
            let (a, b) = (f(x), reference(x));
            let same = (a.is_nan() && b.is_nan()) || (a == b && a.is_sign_negative() == b.is_sign_negative());
            // Finite non-special results may differ by the stated rounding.
            assert!(
                same || (a.is_finite() && b.is_finite() && ulps(a, b) <= 3),
                "{name}({x:e}) = {a:e}, std gives {b:e}"
            );
        }
    }
}

#[test]
fn dispatched_loop_matches_scalar_calls() {
    // The SIMD-compiled loop must compute the same bits as one call at a time.
    let xs = arguments(-30.0, 30.0);
    let mut out = vec![0.0; xs.len()];
    crate::kernels::map(&mut out, &xs, tanh);
    assert!(out.iter().zip(&xs).all(|(&o, &x)| o.to_bits() == tanh(x).to_bits()));
    crate::kernels::map(&mut out, &xs, exp);
    assert!(out.iter().zip(&xs).all(|(&o, &x)| o.to_bits() == exp(x).to_bits()));
}
