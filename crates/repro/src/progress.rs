//! Progress bars for training loops: shown on an interactive terminal, hidden under `--quiet`,
//! when stderr is not a terminal, or when the `CI` environment variable is set.
//!
//! ```
//! use repro::progress::{self, Verbosity};
//! let bar = progress::bar(100, "spread seed 0", Verbosity::Quiet);
//! for _ in 0..100 {
//!     bar.inc(1);
//! }
//! bar.finish_and_clear();
//! ```
//!
//! Several trainings in parallel share one [`MultiProgress`] from [`multi`] and add a bar each
//! with [`add_bar`]. A training run drives its bar through a [`BarObserver`], which receives
//! the trainer's events (the library itself never prints).

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use manifold_prior::{TrainEvent, TrainObserver};

/// Whether the run shows progress bars and chatter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    /// Progress bars (when on a terminal) and the final summary table.
    #[default]
    Normal,
    /// No progress bars; one summary line per experiment.
    Quiet,
}

/// True when progress bars should be drawn: not quiet, stderr is a terminal and `CI` is unset.
pub fn enabled(verbosity: Verbosity) -> bool {
    verbosity == Verbosity::Normal && std::env::var_os("CI").is_none() && std::io::stderr().is_terminal()
}

/// The style of every bar: label, bar, position, rate, ETA and a free message (e.g. the loss).
pub fn style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:>18.bold} [{bar:32.cyan/blue}] {pos:>6}/{len:6} {per_sec:>11} eta {eta:>3}  {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

/// A progress bar of `len` steps labelled `label`, hidden unless [`enabled`].
pub fn bar(len: u64, label: &str, verbosity: Verbosity) -> ProgressBar {
    let bar = if enabled(verbosity) { ProgressBar::new(len) } else { ProgressBar::hidden() };
    bar.set_length(len);
    bar.set_style(style());
    bar.set_prefix(label.to_owned());
    bar
}

/// A container for several bars drawn together (parallel seeds), hidden unless [`enabled`].
pub fn multi(verbosity: Verbosity) -> MultiProgress {
    if enabled(verbosity) {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    }
}

/// Add a bar of `len` steps labelled `label` to `multi` (hidden when `multi` is hidden).
pub fn add_bar(multi: &MultiProgress, len: u64, label: &str) -> ProgressBar {
    let bar = multi.add(ProgressBar::new(len));
    bar.set_style(style());
    bar.set_prefix(label.to_owned());
    bar
}

/// A training observer that moves a progress bar: its length is the run's steps, its position
/// the steps done, its message the loss, updated every `every` steps (and at the last).
#[derive(Debug, Clone)]
pub struct BarObserver {
    bar: ProgressBar,
    every: usize,
    steps: usize,
}

impl BarObserver {
    /// Drive `bar`, updating it every `every` steps.
    pub fn new(bar: ProgressBar, every: usize) -> Self {
        Self { bar, every: every.max(1), steps: 0 }
    }
}

impl<M: ?Sized> TrainObserver<M> for BarObserver {
    fn on_event(&mut self, event: &TrainEvent<'_>, _model: &M) {
        match *event {
            TrainEvent::Started { done, steps } => {
                self.steps = steps;
                self.bar.set_length(steps as u64);
                self.bar.set_position(done as u64);
            }
            TrainEvent::Step { step, loss } if step % self.every == 0 || step == self.steps => {
                self.bar.set_position(step as u64);
                self.bar.set_message(format!("{loss:.4}"));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_bars_are_hidden_and_count() {
        assert!(!enabled(Verbosity::Quiet));
        let b = bar(10, "x", Verbosity::Quiet);
        assert!(b.is_hidden());
        b.inc(3);
        assert_eq!(b.position(), 3);
        assert_eq!(b.length(), Some(10));
        let m = multi(Verbosity::Quiet);
        let b = add_bar(&m, 5, "seed 0");
        assert!(b.is_hidden());
    }

    #[test]
    fn the_bar_observer_follows_the_steps() {
        let b = bar(1, "x", Verbosity::Quiet);
        let mut observer = BarObserver::new(b.clone(), 10);
        let model = ();
        observer.on_event(&TrainEvent::Started { done: 5, steps: 25 }, &model);
        assert_eq!((b.position(), b.length()), (5, Some(25)));
        for step in 6..=25 {
            observer.on_event(&TrainEvent::Step { step, loss: 0.5 }, &model);
        }
        assert_eq!(b.position(), 25);
        assert_eq!(b.message(), "0.5000");
    }
}
