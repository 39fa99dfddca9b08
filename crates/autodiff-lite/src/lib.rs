#![doc = include_str!("../README.md")]
//!
//! # API overview
//!
//! A small define-by-run reverse-mode autodiff tape over dense `f64` matrices, built for
//! training normalizing flows on the CPU.
//!
//! - [`Tape`]: an arena of recorded operations; a [`Var`] is an index into it. Clearing keeps
//!   every buffer, so a steady-state training step allocates (close to) nothing.
//! - [`ParamStore`]: parameter values and gradients, addressed by [`ParamId`] handles and
//!   hierarchical names; models hold handles, the tape reads values as leaves.
//! - [`GradMode::NoGrad`]: the same recording calls compute values only, so a model's math
//!   is written once for training and for inference.
//! - Optimisers ([`Sgd`], [`Adam`] with coupled L2 weight decay or decoupled AdamW) with
//!   PyTorch's update equations, and gradient-norm clipping.
//! - [`check_gradients`]: central finite differences against the tape's reverse pass.
//! - [`Tape::gaussian_log_prob`]: the fused log-density of a [`Gaussian`] with covariance
//!   `A A^T + s^2 I` (`A` lower triangular, possibly singular), one Cholesky factorisation per
//!   batch and a closed-form reverse pass, the factorisation and the dense part of the
//!   gradient optionally overlapping the rest of the graph.
//!
//! Layout: `tape.rs` is the arena, `op.rs` the closed set of op families, `ops/` one module
//! per family (recording and reverse pass), `backward.rs` the reverse loop, `kernels.rs` the
//! loops and products shared by several families.
//!
//! ```
//! use autodiff_lite::{Adam, AdamConfig, Optimizer, ParamStore, Tape};
//!
//! // Fit w to minimise |x w - y|^2.
//! let mut store = ParamStore::new();
//! let w = store.add("w", faer::Mat::zeros(2, 1));
//! let x = faer::mat![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
//! let y = faer::mat![[1.0], [2.0], [3.0]];
//! let mut opt = Adam::new(AdamConfig { lr: 0.1, ..AdamConfig::default() });
//! let mut tape = Tape::new();
//! for _ in 0..300 {
//!     tape.clear();
//!     let (xv, yv, wv) = (tape.leaf(x.as_ref()), tape.leaf(y.as_ref()), tape.param(&store, w));
//!     let pred = tape.matmul(xv, wv);
//!     let err = tape.sub(pred, yv);
//!     let sq = tape.square(err);
//!     let loss = tape.mean(sq);
//!     tape.backward(loss, &mut store);
//!     opt.step(&mut store);
//!     store.zero_grads();
//! }
//! assert!((store.value(w)[(0, 0)] - 1.0).abs() < 1e-3);
//! assert!((store.value(w)[(1, 0)] - 2.0).abs() < 1e-3);
//! ```

mod backward;
mod buf;
mod conv;
mod error;
mod gradcheck;
mod kernels;
mod op;
mod ops;
mod optim;
mod par;
mod profile;
mod simd;
mod store;
mod tape;
mod vmath;

pub use conv::Conv2dShape;
pub use error::TapeError;
/// The dense-matrix crate of every signature here (`MatRef<f64>` values, `Mat<f64>`
/// parameters), re-exported so that users need no dependency of their own on a matching
/// version.
pub use faer;
pub use gradcheck::{GradCheck, check_gradients, check_param_gradients};
pub use kernels::LN_2PI;
pub use ops::gaussian::{Gaussian, NoiseTerm};
pub use ops::product::{Activation, Transpose};
pub use optim::{Adam, AdamConfig, Optimizer, OptimizerState, Sgd, SgdConfig, StateError, WeightDecay};
pub use profile::OpTimes;
pub use store::{ParamError, ParamId, ParamStore};
pub use tape::{GradMode, Tape, Var};

#[cfg(test)]
mod tests;
