//! [`RuntimeMetrics`]: what the scheduler did, for tests, benchmarks and tuning.

use std::sync::atomic::Ordering::Relaxed;

use crate::sched::Shared;

/// Counters of one worker (see [`RuntimeMetrics::worker`]). All counts since the runtime
/// started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerMetrics {
    /// Task polls (each `Future::poll` of a task, including the poll that drops an aborted one).
    pub polls: u64,
    /// Turns: times this worker took a color and ran a batch of its tasks.
    pub colors_run: u64,
    /// Successful steals by this worker as the thief (each takes one or more whole colors).
    pub steals: u64,
    /// Colors this worker took by stealing (a steal may move several queued colors).
    pub stolen_colors: u64,
    /// Colors made runnable on this worker's own thread and queued on its local deque.
    pub local_schedules: u64,
    /// Colors made runnable elsewhere and sent to this worker's inbox (it was their home).
    pub remote_schedules: u64,
    /// Times this worker went to sleep for lack of work.
    pub parks: u64,
    /// Times this worker polled the driver (blocking when idle, or the periodic non-blocking
    /// check).
    pub driver_polls: u64,
}

/// A snapshot of a runtime's counters ([`Handle::metrics`](crate::Handle::metrics)).
///
/// # Examples
///
/// ```
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     for _ in 0..10 {
///         hue_executor::spawn_colored(hue_executor::Color::fresh(), async {}).await.unwrap();
///     }
/// });
/// let m = rt.handle().metrics();
/// assert_eq!(m.workers(), 2);
/// assert!(m.polls() >= 10);
/// println!("{m:?}");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RuntimeMetrics {
    workers: Vec<WorkerMetrics>,
    active_colors: usize,
}

impl RuntimeMetrics {
    pub(crate) fn snapshot(shared: &Shared) -> RuntimeMetrics {
        RuntimeMetrics {
            workers: shared
                .workers
                .iter()
                .map(|w| {
                    let m = &w.metrics;
                    WorkerMetrics {
                        polls: m.polls.load(Relaxed),
                        colors_run: m.colors_run.load(Relaxed),
                        steals: m.steals.load(Relaxed),
                        stolen_colors: m.stolen_colors.load(Relaxed),
                        local_schedules: m.local_schedules.load(Relaxed),
                        remote_schedules: w.remote_schedules.load(Relaxed),
                        parks: m.parks.load(Relaxed),
                        driver_polls: m.driver_polls.load(Relaxed),
                    }
                })
                .collect(),
            active_colors: shared.colors.active_colors(),
        }
    }

    /// The number of worker threads.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Counters of worker `index` (`0..workers()`).
    ///
    /// # Panics
    ///
    /// If `index >= workers()`.
    pub fn worker(&self, index: usize) -> &WorkerMetrics {
        &self.workers[index]
    }

    /// Task polls, all workers.
    pub fn polls(&self) -> u64 {
        self.workers.iter().map(|w| w.polls).sum()
    }

    /// Successful steals, all workers.
    pub fn steals(&self) -> u64 {
        self.workers.iter().map(|w| w.steals).sum()
    }

    /// Task polls by worker `index`.
    pub fn worker_polls(&self, index: usize) -> u64 {
        self.workers[index].polls
    }

    /// Successful steals by worker `index` as the thief.
    pub fn worker_steals(&self, index: usize) -> u64 {
        self.workers[index].steals
    }

    /// Colors that have live tasks (or a `block_on` caller) right now.
    pub fn active_colors(&self) -> usize {
        self.active_colors
    }
}
