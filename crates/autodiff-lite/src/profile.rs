//! Wall time of the reverse pass (and of concurrent work) by kind of operation, collected when
//! [`crate::Tape::set_profiling`] is on.

use std::time::Duration;

/// Wall time by kind of operation (see [`crate::Tape::set_profiling`]), summed over every
/// [`crate::Tape::backward`] since profiling was switched on. Besides the op kinds of the
/// reverse pass (`"gaussian_log_prob"`, `"conv2d"`, `"linear"`, ...) it holds the forward
/// computation of the Gaussian op ([`OpTimes::GAUSSIAN_FORWARD`]) and the kinds of concurrent
/// work: [`OpTimes::CONCURRENT_FACTORIZATION`] (a covariance factorised while the
/// graph was being recorded), [`OpTimes::CONCURRENT_GRADIENTS`] (gradient contributions
/// computed beside the reverse pass) and [`OpTimes::CONCURRENT_GRADIENTS_WAIT`] (how long the
/// reverse pass waited for them at its end).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpTimes {
    entries: Vec<(&'static str, Duration)>,
}

impl OpTimes {
    /// Time spent in the forward computation of [`crate::Tape::gaussian_log_prob`] (after the
    /// factorisation of its covariance).
    pub const GAUSSIAN_FORWARD: &'static str = "gaussian_log_prob (forward)";
    /// Time spent factorising covariances on another task during the recording.
    pub const CONCURRENT_FACTORIZATION: &'static str = "factorization (concurrent)";
    /// Time spent computing gradient contributions on other tasks during the reverse pass.
    pub const CONCURRENT_GRADIENTS: &'static str = "gradients (concurrent)";
    /// Time the reverse pass waited at its end for the concurrent gradient contributions.
    pub const CONCURRENT_GRADIENTS_WAIT: &'static str = "gradients (concurrent, wait)";

    pub(crate) fn add(&mut self, name: &'static str, t: Duration) {
        match self.entries.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += t,
            None => self.entries.push((name, t)),
        }
    }

    /// The time spent in ops of kind `name` (`"gaussian_log_prob"`, `"conv2d"`, `"linear"`,
    /// `"unary"`, ... or one of the concurrent kinds), zero if none ran.
    pub fn get(&self, name: &str) -> Duration {
        self.entries.iter().find(|(n, _)| *n == name).map_or(Duration::ZERO, |(_, t)| *t)
    }

    /// The total over all kinds.
    pub fn total(&self) -> Duration {
        self.entries.iter().map(|(_, t)| *t).sum()
    }

    /// `(kind, time)` pairs, longest first.
    pub fn sorted(&self) -> Vec<(&'static str, Duration)> {
        let mut v = self.entries.clone();
        v.sort_by_key(|e| std::cmp::Reverse(e.1));
        v
    }
}
