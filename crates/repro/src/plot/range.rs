//! Axis ranges from data: quantiles, a robust range, the extent of the positive values and
//! the range of a log axis; and thinning of the points drawn.

/// The `q`-quantile (0..=1) of the finite values, by linear interpolation; `None` if there
/// are none.
pub fn quantile(values: impl IntoIterator<Item = f64>, q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let t = pos - lo as f64;
    Some(v[lo] * (1.0 - t) + v[hi] * t)
}

/// A robust range `[lo, hi]` of the finite values: the `q` and `1 - q` quantiles widened by
/// `pad` of the width on each side; `None` if there are no finite values.
pub fn robust_range(values: impl IntoIterator<Item = f64>, q: f64, pad: f64) -> Option<(f64, f64)> {
    let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    let lo = quantile(v.iter().copied(), q)?;
    let hi = quantile(v.iter().copied(), 1.0 - q)?;
    let w = (hi - lo).max(1e-12);
    Some((lo - pad * w, hi + pad * w))
}

/// `(min, max)` of the finite positive values (what a log axis can show); `(inf, -inf)` when
/// there are none.
pub fn positive_extent(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    values
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// The range of a log axis showing `[lo, hi]` with a margin: `(lo / factor, hi * factor)` when
/// both are finite and `hi > lo`, else `fallback`.
pub fn log_range(lo: f64, hi: f64, factor: f64, fallback: (f64, f64)) -> (f64, f64) {
    if lo.is_finite() && hi.is_finite() && hi > lo { (lo / factor, hi * factor) } else { fallback }
}

/// Evenly thin `n` indices to at most `max` (every k-th), keeping the plots light; the CSVs
/// keep every point.
pub fn thin(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let step = n.div_ceil(max.max(1)).max(1);
    (0..n).step_by(step)
}
