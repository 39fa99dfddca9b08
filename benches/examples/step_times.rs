//! Per-step wall times of the benchmarked training steps, measured the way the reference
//! scripts of `benches/peers/` measure theirs: `STEPS / 10` warm-up steps, then `STEPS`
//! steps timed one by one, and the median of those times. Criterion instead times samples of
//! many iterations, so on a loaded machine its figure includes every time the process was
//! descheduled, where a per-step median of short steps mostly does not; `compare.py` records
//! both for the project so the ratio can also be read with the same method on both sides.
//!
//! ```sh
//! cargo run --release -p mflow-benches --example step_times -- WORKLOAD [STEPS]
//! ```
//!
//! `WORKLOAD` is one of `toy` (`autodiff/realnvp_toy_step`), `fig1`
//! (`autodiff/spread_fig1_step`), `fading_squares` (`fading_squares/train_step`) or
//! `image784` (`image784/train_step`): the model, optimiser and batch size of the criterion
//! benchmark of that name. Prints one JSON line: `{"workload", "median_ms", "min_ms", "max_ms", "n_timed"}`.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use datasets::Manifold;
use manifold_prior::{SpreadNoise, TrainConfig, TrainStep, paper_fading_squares};
use mflow_benches::{IMAGE784_BATCH, image784_batch, image784_model, image784_train_config, rng};

#[allow(dead_code)]
#[path = "../benches/autodiff_bench.rs"]
mod autodiff_bench;

use autodiff_bench::FlowStep;

/// Time `step` as the references do; returns the sorted step times in milliseconds.
fn time_steps(steps: usize, mut step: impl FnMut() -> f64) -> Vec<f64> {
    for _ in 0..(steps / 10).max(1) {
        black_box(step());
    }
    let mut times: Vec<f64> = (0..steps)
        .map(|_| {
            let start = Instant::now();
            black_box(step());
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

type Error = Box<dyn std::error::Error>;

fn measure(workload: &str, steps: Option<usize>) -> Result<Vec<f64>, Error> {
    Ok(match workload {
        "toy" => {
            let mut s = FlowStep::realnvp_toy();
            time_steps(steps.unwrap_or(2000), || s.step())
        }
        "fig1" => {
            let mut s = FlowStep::spread_fig1();
            time_steps(steps.unwrap_or(2000), || s.step())
        }
        "fading_squares" => {
            let mut model = paper_fading_squares(0, SpreadNoise::ConstShift)?;
            let images = Manifold::FadingSquares.sample_with_params(100, &mut rng(8)).0;
            let mut step = TrainStep::new(&TrainConfig::paper_fading_squares());
            let mut noise = rng(9);
            let mut failure = None;
            let times = time_steps(steps.unwrap_or(20), || match step.run(&mut model, images.as_ref(), &mut noise) {
                Ok(outcome) => outcome.loss,
                Err(e) => {
                    failure.get_or_insert(e);
                    f64::NAN
                }
            });
            if let Some(e) = failure {
                return Err(e.into());
            }
            times
        }
        "image784" => {
            let mut model = image784_model(0)?;
            let images = image784_batch(IMAGE784_BATCH, &mut rng(19));
            let mut step = TrainStep::new(&image784_train_config());
            let mut noise = rng(20);
            let mut failure = None;
            let times = time_steps(steps.unwrap_or(30), || match step.run(&mut model, images.as_ref(), &mut noise) {
                Ok(outcome) => outcome.loss,
                Err(e) => {
                    failure.get_or_insert(e);
                    f64::NAN
                }
            });
            if let Some(e) = failure {
                return Err(e.into());
            }
            times
        }
        other => return Err(format!("unknown workload {other:?}: toy, fig1, fading_squares or image784").into()),
    })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(workload) = args.next() else {
        eprintln!("usage: step_times toy|fig1|fading_squares|image784 [STEPS]");
        return ExitCode::FAILURE;
    };
    let steps = match args.next().map(|s| s.parse::<usize>()) {
        None => None,
        Some(Ok(n)) if n > 0 => Some(n),
        Some(_) => {
            eprintln!("step_times: STEPS must be a positive number");
            return ExitCode::FAILURE;
        }
    };
    match measure(&workload, steps) {
        Ok(times) => {
            let n = times.len();
            let median = if n % 2 == 1 { times[n / 2] } else { 0.5 * (times[n / 2 - 1] + times[n / 2]) };
            println!(
                "{{\"workload\": \"{workload}\", \"median_ms\": {median}, \"min_ms\": {}, \"max_ms\": {}, \"n_timed\": {n}}}",
                times[0],
                times[n - 1]
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("step_times: {workload}: {e}");
            ExitCode::FAILURE
        }
    }
}
