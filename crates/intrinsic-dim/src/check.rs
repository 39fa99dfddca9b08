//! Input checks and small statistics shared by the estimators.

use faer::MatRef;

use crate::{Estimate, EstimateError, Estimator, KnnGraph};

/// The first non-finite entry of `data`, scanning row by row, as an error.
pub(crate) fn finite(data: MatRef<'_, f64>) -> Result<(), EstimateError> {
    for row in 0..data.nrows() {
        for col in 0..data.ncols() {
            if !data[(row, col)].is_finite() {
                return Err(EstimateError::NonFinite { row, col });
            }
        }
    }
    Ok(())
}

/// At least `needed` rows.
pub(crate) fn samples(data: MatRef<'_, f64>, needed: usize) -> Result<(), EstimateError> {
    if data.nrows() < needed {
        return Err(EstimateError::TooFewSamples { needed, got: data.nrows() });
    }
    Ok(())
}

/// An estimator's answer from a neighbour graph of its own: the graph of `data` with
/// `e.neighbours()` neighbours per point, then [`Estimator::estimate_with_graph`] (the
/// `estimate` of every graph-based estimator).
pub(crate) fn with_own_graph<E: Estimator + ?Sized>(e: &E, data: MatRef<'_, f64>) -> Result<Estimate, EstimateError> {
    let graph = KnnGraph::build(data, e.neighbours())?;
    e.estimate_with_graph(data, &graph)
}

/// A graph for `data` with at least `needed` neighbours per point.
///
/// # Panics
/// If the graph was built for a different number of points than `data` has.
#[track_caller]
pub(crate) fn graph(data: MatRef<'_, f64>, graph: &KnnGraph, needed: usize) -> Result<(), EstimateError> {
    assert_eq!(
        graph.n(),
        data.nrows(),
        "the neighbour graph has {} points but the data has {} rows",
        graph.n(),
        data.nrows()
    );
    if graph.k() < needed {
        return Err(EstimateError::TooFewNeighbours { needed, got: graph.k() });
    }
    Ok(())
}

/// Largest `|x|` of a data set for which [`working_exponent`] leaves the data alone: squared
/// distances up to `4 d 2^500` cannot overflow and differences down to `2^-52` of the
/// largest value square to normal numbers.
const SAFE_MAX: f64 = 1.8092513943330656e75; // 2^250
/// Smallest such `|x|` (`2^-250`).
const SAFE_MIN: f64 = 5.527147875260445e-76;

/// `e = floor(log2 max_ij |x_ij|)` (0 for all-zero data): dividing by `2^e` brings the
/// largest entry into `[1, 2)`.
pub fn magnitude_exponent(data: MatRef<'_, f64>) -> i32 {
    let max = (0..data.ncols())
        .flat_map(|j| (0..data.nrows()).map(move |i| (i, j)))
        .fold(0.0f64, |m, (i, j)| m.max(data[(i, j)].abs()));
    exponent_of(max)
}

/// `floor(log2 v)` for finite `v > 0` (from the bits, exact also for subnormals); 0 for 0.
pub(crate) fn exponent_of(v: f64) -> i32 {
    if v == 0.0 || !v.is_finite() {
        return 0;
    }
    let bits = v.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: value = mantissa 2^-1074, so the exponent is that of the top set bit.
        let mantissa = bits & ((1 << 52) - 1);
        63 - mantissa.leading_zeros() as i32 - 1074
    } else {
        biased - 1023
    }
}

/// The power of two `2^e` that distance computations work in: `e = 0` (the data's own
/// units) when `max |x_ij|` lies in `[2^-250, 2^250]`, otherwise `e = floor(log2 max |x_ij|)`,
/// so that the data divided by `2^e` has its largest entry in `[1, 2)`. Dividing by a power
/// of two is exact (short of subnormal results), and every operation on the scaled data (sums,
/// differences, products, square roots, comparisons) is then the exactly scaled operation on
/// the data: estimates are the same, bit for bit, for data multiplied by any power of two,
/// and no square overflows or underflows whatever the data's scale.
pub(crate) fn working_exponent(data: MatRef<'_, f64>) -> i32 {
    let max = (0..data.ncols())
        .flat_map(|j| (0..data.nrows()).map(move |i| (i, j)))
        .fold(0.0f64, |m, (i, j)| m.max(data[(i, j)].abs()));
    if max == 0.0 || (SAFE_MIN..=SAFE_MAX).contains(&max) { 0 } else { exponent_of(max) }
}

/// `v 2^e`, exact whenever the result is a normal number (the factor is applied in steps that
/// are each representable).
pub fn times_pow2(mut v: f64, mut e: i32) -> f64 {
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        v *= 2f64.powi(step);
        e -= step;
    }
    v
}

/// The median of `values` as NumPy computes it: the middle value for odd length, the mean of
/// the two middle values for even length, NaN for no values (values are ordered by
/// `f64::total_cmp`, so NaNs sort last).
///
/// ```
/// assert_eq!(intrinsic_dim::median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// assert!(intrinsic_dim::median(&[]).is_nan());
/// ```
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        let sum = v[m - 1] + v[m];
        // Halve first only when the sum overflows, so the common case is NumPy's bit for bit.
        if sum.is_finite() { sum / 2.0 } else { v[m - 1] / 2.0 + v[m] / 2.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_matches_numpy_convention() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn exponents_and_exact_scaling() {
        for v in [1.0, 1.5, 3.0, 1e300, f64::MAX, 1e-300, f64::MIN_POSITIVE, 5e-324, 3e-320] {
            let e = exponent_of(v);
            let scaled = times_pow2(v, -e);
            assert!((1.0..2.0).contains(&scaled), "{v}: 2^{e} gives {scaled}");
            assert_eq!(times_pow2(scaled, e), v, "{v}");
        }
        assert_eq!(exponent_of(0.0), 0);
        assert_eq!(median(&[f64::MAX, f64::MAX]), f64::MAX);
        let data = faer::mat![[1e-300, 2.0e-300], [0.0, -3.0e-300]];
        assert_eq!(working_exponent(data.as_ref()), exponent_of(3.0e-300));
        let data = faer::mat![[1e-3, 2.0e10]];
        assert_eq!(working_exponent(data.as_ref()), 0);
    }

    #[test]
    fn finite_names_the_first_bad_entry() {
        let m = faer::mat![[1.0, 2.0], [f64::NAN, 3.0], [4.0, f64::INFINITY]];
        assert_eq!(finite(m.as_ref()), Err(EstimateError::NonFinite { row: 1, col: 0 }));
    }
}
