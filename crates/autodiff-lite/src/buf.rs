//! Dense column-major buffers owned by the tape: reused across steps so that a steady-state
//! training step allocates (close to) nothing.

use faer::{MatMut, MatRef};

/// A contiguous column-major `rows x cols` matrix whose allocation is kept when it is reshaped.
#[derive(Debug, Clone, Default)]
pub(crate) struct Buf {
    pub(crate) data: Vec<f64>,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
}

impl Buf {
    /// Reshape to `rows x cols`, keeping the allocation; contents are unspecified.
    #[inline]
    pub(crate) fn reshape(&mut self, rows: usize, cols: usize) {
        let len = rows * cols;
        if self.data.len() != len {
            self.data.resize(len, 0.0);
        }
        self.rows = rows;
        self.cols = cols;
    }

    /// Reshape to `rows x cols` and fill with zeros.
    #[inline]
    pub(crate) fn reshape_zeroed(&mut self, rows: usize, cols: usize) {
        self.reshape(rows, cols);
        self.data.fill(0.0);
    }

    #[inline]
    pub(crate) fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    #[inline]
    pub(crate) fn as_ref(&self) -> MatRef<'_, f64> {
        MatRef::from_column_major_slice(&self.data, self.rows, self.cols)
    }

    #[inline]
    pub(crate) fn as_mut(&mut self) -> MatMut<'_, f64> {
        MatMut::from_column_major_slice_mut(&mut self.data, self.rows, self.cols)
    }

    /// Copy a faer view into this buffer (reshaping it).
    pub(crate) fn copy_from(&mut self, m: MatRef<'_, f64>) {
        let r = m.nrows();
        self.reshape(r, m.ncols());
        for j in 0..m.ncols() {
            let col = &mut self.data[j * r..(j + 1) * r];
            match m.col(j).try_as_col_major() {
                // Contiguous columns (every owned faer matrix): a memcpy per column.
                Some(c) => col.copy_from_slice(c.as_slice()),
                None => col.iter_mut().enumerate().for_each(|(i, x)| *x = m[(i, j)]),
            }
        }
    }

    /// Column `j` as a slice.
    #[inline]
    pub(crate) fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    /// Column `j` as a mutable slice.
    #[inline]
    pub(crate) fn col_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[j * self.rows..(j + 1) * self.rows]
    }
}
