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
//! A runtime built without a driver gets one later if a reactor asks for it
//! ([`Handle::driver_or_try_init`](crate::Handle::driver_or_try_init)): hue-reactor installs
//! itself when the first socket or timer is made, so runtimes that never do I/O never pay for
//! an epoll instance, and every runtime gets I/O without extra setup. A reactor finds its own
//! type again with [`current_driver`] and `Arc::downcast` (a `Driver` is `Any`).
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

use std::any::Any;
use std::fmt;
use std::sync::Arc;
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
pub trait Driver: Any + Send + Sync {
    /// Waits for events for at most `timeout` (`None`: until [`unpark`](Driver::unpark)),
    /// waking the tasks whose events fired.
    fn park(&self, timeout: Option<Duration>);

    /// Makes a current or the next `park` return promptly. Callable from any thread.
    fn unpark(&self);

    /// The runtime has shut down: its workers are gone and no one will call `park` again.
    /// Whatever still waits on this driver (a socket or timer moved out of the runtime before
    /// it shut down) should be woken and fail, rather than wait forever. Called once, after
    /// every task was dropped. The default does nothing.
    fn shutdown(&self) {}
}

impl fmt::Debug for dyn Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Driver")
    }
}

/// The driver of the runtime this thread is in (a worker, inside `block_on`, or a blocking-pool
/// thread), if the runtime has one. Cheaper than `Handle::try_current()?.driver()`: it clones
/// only the driver's `Arc`.
///
/// ```
/// assert!(hue_executor::current_driver().is_none());
/// let rt = hue_executor::Runtime::new()?;
/// assert!(rt.block_on(async { hue_executor::current_driver() }).is_none());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn current_driver() -> Option<Arc<dyn Driver>> {
    crate::sched::context::context(|ctx| match ctx {
        Some(ctx) => ctx.shared.driver.get().cloned(),
        None => crate::Handle::try_current().and_then(|h| h.driver().cloned()),
    })
}
