//! A small define-by-run reverse-mode autodiff tape over dense `f64` matrices.
