//! Timers (stub: replaced by the timer wheel).

use std::task::Waker;
use std::time::{Duration, Instant};

/// The reactor's timers.
pub(crate) struct Timers {}

impl Timers {
    pub(crate) fn new(_shards: usize) -> Timers {
        Timers {}
    }

    /// Before a wait: the wait's bound, `timeout` shortened to the next deadline.
    pub(crate) fn before_park(&self, _now: Instant, timeout: Option<Duration>) -> Option<Duration> {
        timeout
    }

    /// After a wait: fires due timers, pushing their wakers to `wake`.
    pub(crate) fn after_park(&self, _now: Instant, _wake: &mut Vec<Waker>) {}
}
