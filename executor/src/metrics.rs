//! [`RuntimeMetrics`]: what the scheduler did, for tests, benchmarks and tuning.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crate::sched::Shared;
use std::sync::atomic::AtomicU64;

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
    /// Colors this worker stole and then ran (a steal may take several queued colors; one
    /// stolen back before it ran here did not move and is not counted). A stolen color's home
    /// moves to the thief.
    pub stolen_colors: u64,
    /// Tasks that moved with those colors: the tasks queued in a stolen color when this worker
    /// first ran it (up to one batch, 64).
    pub stolen_tasks: u64,
    /// Colors made runnable on this worker's own thread and queued on its local deque.
    pub local_schedules: u64,
    /// Colors made runnable elsewhere and sent to this worker's inbox (it was their home).
    pub remote_schedules: u64,
    /// Times this worker went to sleep for lack of work.
    pub parks: u64,
    /// Times this worker polled the driver (blocking when idle, or the periodic non-blocking
    /// check).
    pub driver_polls: u64,
    /// Polls that took longer than the long-poll threshold (default 10 ms): a task that blocked
    /// its worker, holding up every color queued behind it. Wall time: a worker thread that the
    /// OS preempted in the middle of a poll (on a loaded machine) counts too.
    pub long_polls: u64,
    /// The longest poll so far, rounded to the coarse clock's tick (1-4 ms; see
    /// `Builder::long_poll_threshold`).
    pub longest_poll: Duration,
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
    live_tasks: usize,
    blocking_threads: usize,
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
                        stolen_tasks: m.stolen_tasks.load(Relaxed),
                        local_schedules: m.local_schedules.load(Relaxed),
                        remote_schedules: w.remote_schedules.load(Relaxed),
                        parks: m.parks.load(Relaxed),
                        driver_polls: m.driver_polls.load(Relaxed),
                        long_polls: m.long_polls.load(Relaxed),
                        longest_poll: Duration::from_nanos(m.longest_poll_ns.load(Relaxed)),
                    }
                })
                .collect(),
            active_colors: shared.colors.active_colors(),
            live_tasks: live_tasks(shared),
            blocking_threads: shared.blocking.threads(),
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

    /// Colors with members right now: live tasks, a `block_on` caller, or a task inside
    /// [`in_color`](crate::in_color) that will come back (it keeps its color for the way back,
    /// so a task inside `in_color` makes two colors active).
    pub fn active_colors(&self) -> usize {
        self.active_colors
    }

    /// Tasks spawned and not yet finished (completed, panicked or cancelled), including
    /// blocking tasks queued or running. Counted per worker without synchronization, so a
    /// snapshot taken while tasks come and go may be off by the few in flight.
    pub fn live_tasks(&self) -> usize {
        self.live_tasks
    }

    /// Threads in the blocking pool now, busy or idle.
    pub fn blocking_threads(&self) -> usize {
        self.blocking_threads
    }

    /// Long polls (see [`WorkerMetrics::long_polls`]), all workers.
    pub fn long_polls(&self) -> u64 {
        self.workers.iter().map(|w| w.long_polls).sum()
    }
}

fn live_tasks(shared: &Shared) -> usize {
    let mut spawned = shared.foreign_spawned.load(Relaxed);
    let mut completed = shared.foreign_completed.load(Relaxed);
    for w in shared.workers.iter() {
        spawned += w.metrics.spawned.load(Relaxed);
        completed += w.metrics.completed.load(Relaxed);
    }
    (spawned.saturating_sub(completed) as usize) + shared.blocking.live()
}

/// Per-worker counters, written only by their worker (relaxed), read by `metrics()`.
#[derive(Default)]
pub(crate) struct WorkerCounters {
    pub(crate) polls: AtomicU64,
    pub(crate) colors_run: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) stolen_colors: AtomicU64,
    pub(crate) stolen_tasks: AtomicU64,
    pub(crate) local_schedules: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) driver_polls: AtomicU64,
    pub(crate) long_polls: AtomicU64,
    pub(crate) longest_poll_ns: AtomicU64,
    /// Tasks spawned on this worker, and tasks that completed on it (for `live_tasks`).
    pub(crate) spawned: AtomicU64,
    pub(crate) completed: AtomicU64,
}

impl WorkerCounters {
    pub(crate) fn bump(counter: &AtomicU64) {
        WorkerCounters::add(counter, 1);
    }

    /// Adds to a counter that only this worker writes (no read-modify-write needed).
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Relaxed) + n, Relaxed);
    }
}
