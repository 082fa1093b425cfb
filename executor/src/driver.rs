//! The seam between the executor and a reactor.
//!
//! The executor knows no sockets and no timers. A reactor (hue-reactor) implements [`Driver`]
//! and is installed with [`Builder::driver`](crate::Builder::driver). The executor then calls
//! it in two places, both from worker threads:
//!
//! - **Parking.** A worker with nothing to run tries a lock shared by all workers; the winner
//!   calls `park(None)` instead of sleeping on its condvar. It is libasync-smp's `select()`
//!   callback: an otherwise idle worker runs it. While it waits, the driver may wake tasks
//!   (with their `Waker`s), which puts them in their colors' queues, and the executor unparks
//!   workers for them. One idle worker at a time drives; the others sleep on their condvars.
//! - **Maintenance.** A busy worker calls `park(Some(Duration::ZERO))` every few dozen colors
//!   it runs (when no one else holds the driver), so I/O is polled even when no worker is
//!   idle (S7).
//!
//! `unpark` must make a current `park`, or else the next one, return promptly, from any thread.
//! A `park` may return early (spuriously); the executor copes.
//!
//! The contract for implementors:
//! - `park` must not run tasks or poll futures itself: it only wakes `Waker`s.
//! - `park(Some(d))` waits at most `d`; `park(None)` waits until an event or `unpark`. A driver
//!   with timers bounds its own wait by its next deadline.
//! - Both methods may be called from any worker thread; `park` is never called by two threads
//!   at once.

use std::fmt;
use std::time::Duration;

/// An event source an idle worker waits on: I/O readiness and timers (see the module docs).
///
/// # Examples
///
/// A driver that only sleeps (what the runtime does when none is installed):
///
/// ```
/// use std::sync::{Arc, Condvar, Mutex};
/// use std::time::Duration;
/// use hue_executor::{Driver, Runtime};
///
/// #[derive(Default)]
/// struct Sleeper { woken: Mutex<bool>, cv: Condvar }
///
/// impl Driver for Sleeper {
///     fn park(&self, timeout: Option<Duration>) {
///         let mut woken = self.woken.lock().unwrap();
///         if !*woken {
///             woken = match timeout {
///                 Some(d) => self.cv.wait_timeout(woken, d).unwrap().0,
///                 None => self.cv.wait(woken).unwrap(),
///             };
///         }
///         *woken = false;
///     }
///     fn unpark(&self) {
///         *self.woken.lock().unwrap() = true;
///         self.cv.notify_one();
///     }
/// }
///
/// let rt = Runtime::builder().workers(2).driver(Arc::new(Sleeper::default())).build()?;
/// assert_eq!(rt.block_on(async { hue_executor::spawn(async { 7 }).await.unwrap() }), 7);
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait Driver: Send + Sync + 'static {
    /// Waits for events for at most `timeout` (`None`: until [`unpark`](Driver::unpark)),
    /// waking the tasks whose events fired.
    fn park(&self, timeout: Option<Duration>);

    /// Makes a current or the next `park` return promptly. Callable from any thread.
    fn unpark(&self);
}

impl fmt::Debug for dyn Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Driver")
    }
}
