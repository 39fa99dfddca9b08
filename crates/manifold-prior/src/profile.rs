//! Where the time of a training step goes: the flow's forward and reverse passes, the prior's
//! (the Gaussian op, its concurrent factorisation and concurrent gradient term), and the
//! optimiser, measured on the trainer's own step ([`TrainStep`]).

use std::time::Duration;

use autodiff_lite::OpTimes;
use faer::Mat;
use intrinsic_dim::median;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::trainer::{TrainConfig, TrainError, TrainStep};

/// Median wall time per training step of each phase, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepProfile {
    /// Steps measured (after one warm-up step).
    pub steps: usize,
    /// Recording the flow `g(x)` and the noise on the tape, while another task factorises
    /// the spread covariance (wall time until both are done).
    pub flow_forward_ms: f64,
    /// Of which the factorisation of `A A^T + s^2 I` (its Cholesky factor and inverse), on
    /// its own task.
    pub prior_factor_ms: f64,
    /// The rest of the prior's log-density: the triangular solve of the batch.
    pub prior_forward_ms: f64,
    /// The reverse pass through the flow (everything but the prior's op), while another
    /// task computes the dense term of `dA`, including any wait for it at the end.
    pub flow_backward_ms: f64,
    /// The prior op's reverse pass on the main thread (`S^-1 Y^T`, the batch term of `dA`).
    pub prior_backward_ms: f64,
    /// Of the prior's reverse pass, the dense term of `dA` (`tril(S^-1 A)`), on its own task.
    pub prior_dense_term_ms: f64,
    /// The optimiser update, the zeroing of the gradients and the moving average.
    pub optimizer_ms: f64,
    /// Median of the whole step (not the sum of the phase medians).
    pub total_ms: f64,
}

/// Train `model` for `steps + 1` steps on batches from `generate` with the trainer's step
/// ([`TrainStep`]: same optimiser, weight decay, checks, clipping and moving average as
/// [`crate::train`]), timing every phase of every step but the first; returns the per-phase
/// medians. The model is updated, so profile a copy or the start of a run.
///
/// # Errors
/// [`TrainError`] if the prior cannot be evaluated or training diverges.
pub fn profile_steps<M: Model>(
    model: &mut M,
    generate: &mut dyn FnMut(usize, &mut ChaCha8Rng) -> Mat<f64>,
    config: &TrainConfig,
    steps: usize,
) -> Result<StepProfile, TrainError> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut step = TrainStep::new(config);
    let mut samples: [Vec<f64>; 8] = Default::default();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for k in 0..=steps {
        let batch = generate(config.batch_size, &mut rng);
        step.tape_mut().set_profiling(true);
        let outcome = step.run(model, batch.as_ref(), &mut rng)?;
        if k == 0 {
            continue;
        }
        let times = step.tape_mut().profile().cloned().unwrap_or_default();
        let prior_forward = times.get(OpTimes::GAUSSIAN_FORWARD);
        let prior_backward = times.get("gaussian_log_prob");
        let phases = [
            ms(outcome.forward.saturating_sub(prior_forward)),
            ms(times.get(OpTimes::CONCURRENT_FACTORIZATION)),
            ms(prior_forward),
            ms(outcome.backward.saturating_sub(prior_backward)),
            ms(prior_backward),
            ms(times.get(OpTimes::CONCURRENT_GRADIENTS)),
            ms(outcome.update),
            ms(outcome.forward + outcome.backward + outcome.update),
        ];
        for (sample, value) in samples.iter_mut().zip(phases) {
            sample.push(value);
        }
    }
    step.tape_mut().set_profiling(false);
    let phase = |k: usize| median(&samples[k]);
    Ok(StepProfile {
        steps,
        flow_forward_ms: phase(0),
        prior_factor_ms: phase(1),
        prior_forward_ms: phase(2),
        flow_backward_ms: phase(3),
        prior_backward_ms: phase(4),
        prior_dense_term_ms: phase(5),
        optimizer_ms: phase(6),
        total_ms: phase(7),
    })
}
