//! [`Sleep`]: a future that completes at a deadline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use hue_executor::coop;

use super::wheel::{Key, Reset};
use super::{Instant, Registered};
use crate::driver::Reactor;

/// How far "forever" is: deadlines are clamped to about 30 years from now (tokio's choice;
/// further ones overflow `Instant` on some platforms).
pub(super) const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);

/// Waits until `duration` has elapsed.
///
/// Equivalent to `sleep_until(Instant::now() + duration)`; durations longer than about 30
/// years are clamped to that. The timer has a resolution of 1 ms and never completes early:
/// when the `Sleep` completes, `Instant::now() >= deadline` (see the [module
/// docs](crate::time)). A zero duration completes at the first poll.
///
/// The `Sleep` is registered with the reactor on its first poll, and cancelled when dropped.
///
/// # Panics
///
/// Outside a hue runtime (a task, `block_on`, or a `spawn_blocking` thread), or if the
/// runtime's driver is not hue's reactor. Like tokio's, `rt.block_on(sleep(d))` panics (the
/// call runs before `block_on` enters the runtime) while `rt.block_on(async { sleep(d).await
/// })` works.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hue_reactor::time::{sleep, Instant};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    sleep_from(Instant::now(), duration)
}

/// A `Sleep` until `now + duration` (clamped to about 30 years), `now` being the clock's
/// current reading: the deadline is past only if `duration` is zero, so the first poll need
/// not read the clock again.
#[track_caller]
pub(super) fn sleep_from(now: Instant, duration: Duration) -> Sleep {
    let state = if duration.is_zero() {
        State::Elapsed
    } else {
        State::Idle { check_now: false }
    };
    Sleep::new(now + duration.min(FAR), state)
}

/// Waits until `deadline`.
///
/// Completes at the first poll if `deadline` has already passed; otherwise never before it
/// (1 ms resolution, see the [module docs](crate::time)).
///
/// # Panics
///
/// Outside a hue runtime, like [`sleep`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hue_reactor::time::{sleep_until, Instant};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(15);
///     sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(deadline, State::Idle { check_now: true })
}

/// Where a [`Sleep`]'s timer is.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Not in a wheel (never polled, or reset). `check_now`: the deadline may be past,
    /// compare it with the clock before registering.
    Idle { check_now: bool },
    /// In the wheel of `shard`.
    Registered { shard: usize, key: Key },
    /// Completed.
    Elapsed,
}

/// The future returned by [`sleep`] and [`sleep_until`]: completes at its deadline.
///
/// Its timer is registered on the first poll (creating a `Sleep` takes no lock) and
/// cancelled, in O(1), when it is dropped. Unlike tokio's, hue's `Sleep` is `Unpin` (its timer
/// is named by an index, not by its address), so it can be polled through `&mut` without
/// pinning; [`reset`](Sleep::reset) still takes `Pin<&mut Self>` as tokio's does, so code
/// written for tokio works unchanged.
///
/// # Examples
///
/// A deadline that moves (an idle timeout reset by activity):
///
/// ```
/// use std::pin::Pin;
/// use std::time::Duration;
/// use hue_reactor::time::{sleep, Instant};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let mut idle = sleep(Duration::from_secs(60));
///     let deadline = Instant::now() + Duration::from_millis(10);
///     Pin::new(&mut idle).reset(deadline);
///     (&mut idle).await;
///     assert!(idle.is_elapsed());
///     assert!(Instant::now() >= deadline);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    deadline: Instant,
    state: State,
    reactor: Arc<Reactor>,
}

impl Sleep {
    #[track_caller]
    fn new(deadline: Instant, state: State) -> Sleep {
        Sleep {
            deadline,
            state,
            reactor: Reactor::current_or_panic(),
        }
    }

    /// The instant at which this `Sleep` completes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::{sleep_until, Instant};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let deadline = Instant::now() + Duration::from_millis(3);
    ///     assert_eq!(sleep_until(deadline).deadline(), deadline);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether this `Sleep` has completed: it returned `Ready`, or its timer has fired and it
    /// will return `Ready` at its next poll. A `Sleep` never polled has no timer yet and
    /// answers `false`, as tokio's does.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::sleep;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut s = sleep(Duration::from_millis(2));
    ///     assert!(!s.is_elapsed());
    ///     (&mut s).await;
    ///     assert!(s.is_elapsed());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_elapsed(&self) -> bool {
        match self.state {
            State::Elapsed => true,
            State::Idle { .. } => false,
            State::Registered { shard, key } => self.reactor.timers.is_fired(shard, key),
        }
    }

    /// Moves the deadline to `deadline`, whether or not this `Sleep` has completed; a
    /// completed `Sleep` becomes pending again (if `deadline` is in the future).
    ///
    /// A registered timer is moved in place and keeps the waker of its last poll, so the
    /// task is woken at the new deadline even if it does not poll the `Sleep` again first.
    ///
    /// ```
    /// use std::pin::Pin;
    /// use std::time::Duration;
    /// use hue_reactor::time::{sleep, Instant};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut s = sleep(Duration::from_millis(1));
    ///     (&mut s).await;
    ///     let again = Instant::now() + Duration::from_millis(5);
    ///     Pin::new(&mut s).reset(again);
    ///     assert!(!s.is_elapsed());
    ///     s.await;
    ///     assert!(Instant::now() >= again);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.deadline = deadline;
        this.state = match this.state {
            State::Registered { shard, key } => {
                let (reset, unpark) = this.reactor.timers.reset(shard, key, deadline);
                match reset {
                    Reset::Moved => {
                        if unpark {
                            this.reactor.unpark();
                        }
                        State::Registered { shard, key }
                    }
                    Reset::Due(waker) => {
                        if let Some(waker) = waker {
                            waker.wake();
                        }
                        State::Elapsed
                    }
                    Reset::Gone => State::Idle { check_now: true },
                }
            }
            State::Idle { .. } | State::Elapsed => State::Idle { check_now: true },
        };
    }

    /// Sets a new deadline and drops the timer; the next poll registers it (for [`Interval`],
    /// which polls right after).
    ///
    /// [`Interval`]: super::Interval
    pub(super) fn reset_lazily(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
        self.state = State::Idle { check_now: true };
    }

    /// Polls without the cooperative budget.
    pub(super) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !matches!(self.state, State::Elapsed) && self.reactor.timers.is_shut_down() {
            panic!(
                "hue: a timer was polled after its runtime shut down (nothing drives it any \
                 more); make timers in the runtime that awaits them"
            );
        }
        match self.state {
            State::Elapsed => Poll::Ready(()),
            State::Registered { shard, key } => {
                ready!(self.reactor.timers.poll(shard, key, cx.waker()));
                self.state = State::Elapsed;
                Poll::Ready(())
            }
            State::Idle { check_now } => {
                if check_now && Instant::now() >= self.deadline {
                    self.state = State::Elapsed;
                    return Poll::Ready(());
                }
                match self.reactor.timers.register(self.deadline, cx.waker()) {
                    (shard, Registered::Queued { key, unpark }) => {
                        self.state = State::Registered { shard, key };
                        if unpark {
                            self.reactor.unpark();
                        }
                        Poll::Pending
                    }
                    (_, Registered::Due) => {
                        self.state = State::Elapsed;
                        Poll::Ready(())
                    }
                }
            }
        }
    }

    fn cancel(&mut self) {
        if let State::Registered { shard, key } = self.state {
            self.state = State::Idle { check_now: true };
            self.reactor.timers.remove(shard, key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut progress = ready!(coop::poll_proceed(cx));
        let ready = self.get_mut().poll_elapsed(cx);
        if ready.is_ready() {
            progress.made_progress();
        }
        ready
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle { .. } => "unregistered",
            State::Registered { .. } => "registered",
            State::Elapsed => "elapsed",
        };
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("state", &state)
            .finish()
    }
}
