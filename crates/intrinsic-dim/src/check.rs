//! Input checks and small statistics shared by the estimators.

use faer::MatRef;

use crate::{EstimateError, KnnGraph};

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
    if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
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
    fn finite_names_the_first_bad_entry() {
        let m = faer::mat![[1.0, 2.0], [f64::NAN, 3.0], [4.0, f64::INFINITY]];
        assert_eq!(finite(m.as_ref()), Err(EstimateError::NonFinite { row: 1, col: 0 }));
    }
}
