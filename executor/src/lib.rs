//! hue-executor: the colored task scheduler of [hue].
//!
//! Every task has a [`Color`]. Tasks of one color are never polled at the same time; tasks of
//! different colors may be, on different worker threads. This is the concurrency model of
//! libasync-smp ("Multiprocessor Support for Event-Driven Programs", Zeldovich et al., USENIX
//! ATC 2003) for async/await: state that only tasks of one color touch needs no lock, and a
//! program with no colors at all (everything in color 0) behaves like a single-threaded event
//! loop.
//!
//! # Guarantees
//!
//! - **S1 Exclusion.** No two tasks of one color are polled at once, and each poll of a color
//!   happens-before the next one (plain memory written in one is visible in the next).
//! - **S2 Parallelism.** Different colors run in parallel; idle workers steal runnable colors.
//! - **S3 Order.** Within a color, tasks run in the order they became runnable.
//! - **S4 No lost wake-ups.** A wake during a poll makes the task run again after that poll.
//! - **S5 Default color.** [`spawn`] inherits the current task's color (0 outside tasks);
//!   [`Runtime::block_on`]'s future is color 0 and counts for S1.
//! - **S6 Recoloring.** [`recolor()`] moves the running task to another color; [`in_color`] runs
//!   a future in a color and moves back: a critical section is code run in the owning color.
//! - **S7 Fairness.** A worker runs a bounded batch of one color, then moves on.
//! - **S8 Failure.** A panic in a poll becomes a [`JoinError`]; dropping the runtime drops every
//!   task's future exactly once.
//! - **S9 Color-owned state.** [`ColorCell`] holds state only tasks of its color may touch,
//!   with no lock; misuse is a clear error.
//! - **S10 Blocking work.** [`spawn_blocking`] runs blocking calls on a separate, bounded pool.
//!
//! # Example
//!
//! ```
//! use hue_executor::{Color, Runtime};
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::sync::Arc;
//!
//! let rt = Runtime::builder().workers(2).build()?;
//! rt.block_on(async {
//!     let busy = Arc::new(AtomicBool::new(false));
//!     let shard = Color::of(&"shard-1");
//!     let mut tasks = Vec::new();
//!     for _ in 0..100 {
//!         let busy = busy.clone();
//!         tasks.push(hue_executor::spawn_colored(shard, async move {
//!             // No other task of `shard` is inside a poll right now.
//!             assert!(!busy.swap(true, Ordering::SeqCst));
//!             busy.store(false, Ordering::SeqCst);
//!         }));
//!     }
//!     for t in tasks {
//!         t.await.unwrap();
//!     }
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Layout
//!
//! - `task`: the task lifecycle (one allocation, a state word, a hand-written waker, the
//!   [`JoinHandle`]); it knows nothing about colors or workers and reaches the scheduler
//!   through one trait, whose functions sit in each task's vtable.
//! - `sched`: policy: color queues, memberships, the color map, workers, stealing, parking,
//!   `block_on`, `in_color` sections, shutdown.
//! - [`Driver`]: the seam a reactor implements.
//!
//! docs/DESIGN.md in the repository describes the design as built.
//!
//! [hue]: ../hue/index.html

mod blocking;
mod clock;
mod color;
mod color_cell;
pub mod coop;
mod driver;
mod loom;
mod metrics;
mod recolor;
mod runtime;
mod sched;
#[cfg(not(loom))]
mod spin_lock;
#[doc(hidden)]
pub mod sync;
mod task;
mod yield_now;

#[cfg(all(test, loom))]
mod loom_tests;

use std::future::Future;

pub use blocking::spawn_blocking;
pub use color::Color;
pub use color_cell::{ColorCell, WrongColor};
pub use driver::{current_driver, Driver};
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use recolor::{in_color, recolor, InColor, Recolor};
pub use runtime::{Builder, Handle, Runtime, WORKERS_ENV};
pub use task::{JoinError, JoinHandle};
pub use yield_now::{yield_now, YieldNow};

/// Spawns a task in the current task's color (S5): color 0 when called from
/// [`Runtime::block_on`]'s future or from a color-0 task.
///
/// # Panics
///
/// Outside a hue runtime (use [`Handle::spawn`] there).
///
/// # Examples
///
/// ```
/// use hue_executor::{current_color, spawn, spawn_colored, Color};
///
/// hue_executor::block_on(async {
///     let c = Color::new(3);
///     let inner = spawn_colored(c, async {
///         // A child inherits its parent's color.
///         spawn(async { current_color() }).await.unwrap()
///     });
///     assert_eq!(inner.await.unwrap(), c);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Handle::current().spawn(future)
}

/// Spawns a task in `color`.
///
/// # Panics
///
/// Outside a hue runtime (use [`Handle::spawn_colored`] there).
///
/// # Examples
///
/// ```
/// use hue_executor::{spawn_colored, Color};
///
/// hue_executor::block_on(async {
///     // Tasks in fresh colors may run in parallel with everything.
///     let a = spawn_colored(Color::fresh(), async { 1 });
///     let b = spawn_colored(Color::fresh(), async { 2 });
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// });
/// ```
#[track_caller]
pub fn spawn_colored<F>(color: Color, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Handle::current().spawn_colored(color, future)
}

/// The color of the task being polled on this thread; [`Color::DEFAULT`] outside any task,
/// and inside [`Runtime::block_on`]'s future.
///
/// # Examples
///
/// ```
/// use hue_executor::{current_color, Color};
///
/// assert_eq!(current_color(), Color::DEFAULT);
/// hue_executor::block_on(async {
///     let c = Color::new(5);
///     let seen = hue_executor::spawn_colored(c, async { current_color() }).await.unwrap();
///     assert_eq!(seen, c);
/// });
/// ```
pub fn current_color() -> Color {
    sched::current_color()
}

/// The index of the worker thread this is (`0..workers`), or `None` off the workers
/// (including inside `block_on`).
///
/// # Examples
///
/// ```
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// assert_eq!(hue_executor::current_worker(), None);
/// let w = rt.block_on(async { hue_executor::spawn(async { hue_executor::current_worker() }).await });
/// assert!(w.unwrap().unwrap() < 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn current_worker() -> Option<usize> {
    sched::current_worker()
}

/// Runs `future` to completion on a new runtime with the default settings, then shuts that
/// runtime down (dropping any tasks still alive).
///
/// # Panics
///
/// If the runtime cannot be built (e.g. `HUE_WORKERS` is not a number: the message says so),
/// if called inside a runtime, or if `future` panics.
///
/// # Examples
///
/// ```
/// let v = hue_executor::block_on(async { hue_executor::spawn(async { 40 + 2 }).await.unwrap() });
/// assert_eq!(v, 42);
/// ```
#[track_caller]
pub fn block_on<F: Future>(future: F) -> F::Output {
    if sched::in_runtime() {
        panic!("{}", sched::NESTED_RUNTIME);
    }
    let rt = match Runtime::new() {
        Ok(rt) => rt,
        Err(err) => panic!("hue::block_on: cannot build the runtime: {err}"),
    };
    rt.block_on(future)
}
