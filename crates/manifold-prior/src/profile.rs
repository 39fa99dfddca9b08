//! Where the time of a training step goes: flow forward and backward, the prior (one Cholesky
//! of the spread covariance and its reverse pass) forward and backward, and the optimiser.

use std::time::{Duration, Instant};

use autodiff_lite::Tape;
use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::model::{Model, SpreadFlow};
use crate::trainer::{TrainConfig, TrainError, make_optimizer, update_ema};

/// Median wall time per training step of each phase, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepProfile {
    /// Steps measured (after one warm-up step).
    pub steps: usize,
    /// Recording the flow `g(x)` and the noise on the tape, while another thread factorises
    /// the spread covariance (wall time until both are done).
    pub flow_forward_ms: f64,
    /// Of which the factorisation of `A A^T + s^2 I` (its Cholesky factor and inverse), on
    /// its own thread.
    pub prior_factor_ms: f64,
    /// The rest of the prior's log-density: the triangular solve of the batch.
    pub prior_forward_ms: f64,
    /// The reverse pass through the flow (everything but the prior's op), while another
    /// thread computes the dense term of `dA`, including any wait for it at the end.
    pub flow_backward_ms: f64,
    /// The prior op's reverse pass on the main thread (`S^-1 Y^T`, the batch term of `dA`).
    pub prior_backward_ms: f64,
    /// Of the prior's reverse pass, the dense term of `dA` (`tril(S^-1 A)`), on its own thread.
    pub prior_dense_term_ms: f64,
    /// The optimiser update, the zeroing of the gradients and the EMA of the prior.
    pub optimizer_ms: f64,
    /// Median of the whole step (not the sum of the phase medians).
    pub total_ms: f64,
}

/// Train `model` for `steps + 1` steps on batches from `generate` exactly as [`crate::train`]
/// does (same optimiser, weight decay, EMA), timing every phase of every step but the first;
/// returns the per-phase medians. The model is updated, so profile a copy or the start of a run.
///
/// # Errors
/// [`TrainError`] if the prior cannot be evaluated or training diverges.
pub fn profile_spread_steps(
    model: &mut SpreadFlow,
    generate: &mut dyn FnMut(usize, &mut ChaCha8Rng) -> Mat<f64>,
    config: &TrainConfig,
    steps: usize,
) -> Result<StepProfile, TrainError> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut optimizer = make_optimizer(config);
    let tracked = model.tracked_params();
    let mut tape = Tape::new();
    let mut samples: [Vec<f64>; 8] = Default::default();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for step in 0..=steps {
        let raw = generate(config.batch_size, &mut rng);
        let batch = model.scaler.transform(raw.as_ref());
        tape.clear();
        tape.set_profiling(true);
        let t0 = Instant::now();
        let latent = model.record_latent(&mut tape, batch.as_ref(), &mut rng);
        let factor_time = latent.factor_time;
        let t1 = Instant::now();
        let loss = model.record_prior_loss(&mut tape, latent)?;
        let t2 = Instant::now();
        let value = tape.scalar(loss);
        if !value.is_finite() {
            return Err(TrainError::Diverged { step, what: "loss", last_finite_loss: None });
        }
        tape.backward(loss, &mut model.store);
        let t3 = Instant::now();
        optimizer.step(&mut model.store);
        model.store.zero_grads();
        update_ema(model, &tracked, config.ema_decay);
        let t4 = Instant::now();
        if step == 0 {
            continue;
        }
        let op_time = |name: &str| tape.profile().map_or(Duration::ZERO, |p| p.get(name));
        let prior_backward = op_time("gaussian_log_prob");
        let dense_term = op_time("gaussian_log_prob (concurrent)");
        if std::env::var_os("MFLOW_PROFILE_OPS").is_some() {
            eprintln!("reverse pass by op: {:?}", tape.profile().map(|p| p.sorted()));
        }
        let backward = t3 - t2;
        let phases = [
            ms(t1 - t0),
            ms(factor_time),
            ms(t2 - t1),
            ms(backward.saturating_sub(prior_backward)),
            ms(prior_backward),
            ms(dense_term),
            ms(t4 - t3),
            ms(t4 - t0),
        ];
        for (sample, value) in samples.iter_mut().zip(phases) {
            sample.push(value);
        }
    }
    tape.set_profiling(false);
    let [
        flow_forward_ms,
        prior_factor_ms,
        prior_forward_ms,
        flow_backward_ms,
        prior_backward_ms,
        prior_dense_term_ms,
        optimizer_ms,
        total_ms,
    ] = samples.map(|mut v| median(&mut v));
    Ok(StepProfile {
        steps,
        flow_forward_ms,
        prior_factor_ms,
        prior_forward_ms,
        flow_backward_ms,
        prior_backward_ms,
        prior_dense_term_ms,
        optimizer_ms,
        total_ms,
    })
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { 0.5 * (v[m - 1] + v[m]) }
}
