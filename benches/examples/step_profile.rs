//! Where the time of an image training step goes, phase by phase (issue 19, item 5):
//! `manifold_prior::profile_steps` on the trainer's own step, for the fading-squares model
//! (batch 100, `1024 x 1024` prior) and the MNIST-scale image model (batch 64, `784 x 784`
//! prior, `mflow_benches::image784_model`).
//!
//! ```sh
//! cargo run --release -p mflow-benches --example step_profile -- [STEPS]
//! ```
//!
//! Prints one tab-separated row per model: the per-phase medians in milliseconds over
//! `STEPS` steps (default 20) after one warm-up step. The prior's factorisation and dense
//! term run on their own rayon tasks, concurrently with the flow's forward and reverse
//! passes, so the phases do not add up to the total.

use std::process::ExitCode;

use datasets::Manifold;
use faer::Mat;
use manifold_prior::{SpreadNoise, StepProfile, TrainConfig, paper_fading_squares, profile_steps};
use mflow_benches::{image784_batch, image784_model, image784_train_config};
use rand_chacha::ChaCha8Rng;

/// Steps profiled when the command line does not say.
const DEFAULT_STEPS: usize = 20;

fn fading_squares(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
    Manifold::FadingSquares.sample_with_params(n, rng).0
}

fn image784(n: usize, rng: &mut ChaCha8Rng) -> Mat<f64> {
    image784_batch(n, rng)
}

type Error = Box<dyn std::error::Error>;

fn profile_fading_squares(steps: usize) -> Result<StepProfile, Error> {
    let mut model = paper_fading_squares(0, SpreadNoise::ConstShift)?;
    Ok(profile_steps(&mut model, &mut fading_squares, &TrainConfig::paper_fading_squares(), steps)?)
}

fn profile_image784(steps: usize) -> Result<StepProfile, Error> {
    let mut model = image784_model(0)?;
    Ok(profile_steps(&mut model, &mut image784, &image784_train_config(), steps)?)
}

fn row(name: &str, p: &StepProfile) -> String {
    let values = [
        p.flow_forward_ms,
        p.prior_factor_ms,
        p.prior_forward_ms,
        p.flow_backward_ms,
        p.prior_backward_ms,
        p.prior_dense_term_ms,
        p.optimizer_ms,
        p.total_ms,
    ];
    let cells: Vec<String> = values.iter().map(|v| format!("{v:.2}")).collect();
    format!("{name}\t{}\t{}", p.steps, cells.join("\t"))
}

fn main() -> ExitCode {
    let steps = match std::env::args().nth(1).map(|s| s.parse::<usize>()) {
        None => DEFAULT_STEPS,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: step_profile [STEPS] (a positive number of steps, default {DEFAULT_STEPS})");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "model\tsteps\tflow_forward_ms\tprior_factor_ms\tprior_forward_ms\tflow_backward_ms\t\
         prior_backward_ms\tprior_dense_term_ms\toptimizer_ms\ttotal_ms"
    );
    let fading = profile_fading_squares(steps);
    let image = profile_image784(steps);
    for (name, result) in [("fading_squares", fading), ("image784", image)] {
        match result {
            Ok(p) => println!("{}", row(name, &p)),
            Err(e) => {
                eprintln!("step_profile: {name}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
