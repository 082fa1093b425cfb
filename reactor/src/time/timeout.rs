//! [`timeout`]: a future with a deadline.

use std::error::Error;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hue_executor::coop;

use super::sleep::{sleep_from, sleep_until, Sleep};
use super::Instant;

/// Runs `future` with a time limit: its output, or [`Elapsed`] if `duration` passes first
/// (then `future` is dropped when the `Timeout` is).
///
/// The future is polled first, so one that is ready at its first poll completes even with a
/// zero duration, and never touches the timer wheel (the timer is registered lazily, only
/// when the future is pending). Durations beyond about 30 years are clamped to that.
///
/// If `future` spends its task's whole cooperative budget, the deadline is still checked (as
/// in tokio), so a future that is always ready cannot keep a timeout from firing.
///
/// # Panics
///
/// Outside a hue runtime (see [`sleep`](super::sleep)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hue_reactor::time::{sleep, timeout};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     assert_eq!(timeout(Duration::from_secs(5), async { 7 }).await, Ok(7));
///     let late = timeout(Duration::from_millis(5), sleep(Duration::from_secs(60))).await;
///     assert!(late.is_err());
///     // `Elapsed` converts into an io::Error of kind TimedOut.
///     let err: std::io::Error = late.unwrap_err().into();
///     assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        delay: sleep_from(Instant::now(), duration),
    }
}

/// Runs `future` until `deadline`: its output, or [`Elapsed`] if `deadline` passes first.
///
/// Like [`timeout`] with a deadline instead of a duration.
///
/// # Panics
///
/// Outside a hue runtime (see [`sleep`](super::sleep)).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hue_reactor::time::{sleep, timeout_at, Instant};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(10);
///     let r = timeout_at(deadline, sleep(Duration::from_secs(60))).await;
///     assert!(r.is_err());
///     assert!(Instant::now() >= deadline);
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        delay: sleep_until(deadline),
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::timeout;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let t = timeout(Duration::from_secs(1), async { "done" });
    ///     assert_eq!(t.await, Ok("done"));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        value: F,
        delay: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::timeout;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let t = timeout(Duration::from_secs(1), std::future::ready(3));
    ///     assert_eq!(t.get_ref().clone().await, 3);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// The wrapped future, mutably.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::timeout;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut t = timeout(Duration::from_secs(1), std::future::ready(3));
    ///     *t.get_mut() = std::future::ready(4);
    ///     assert_eq!(t.await, Ok(4));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.value
    }

    /// The wrapped future; the timer is dropped (cancelled).
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_reactor::time::timeout;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let t = timeout(Duration::from_millis(1), async { 5 });
    ///     assert_eq!(t.into_inner().await, 5);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let had_budget = coop::has_budget_remaining();
        if let Poll::Ready(v) = this.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let delay = if had_budget && !coop::has_budget_remaining() {
            // The future spent the budget: check the deadline anyway (tokio's rule), or a
            // future that is always ready would never time out.
            this.delay.poll_elapsed(cx)
        } else {
            Pin::new(this.delay).poll(cx)
        };
        delay.map(|()| Err(Elapsed(())))
    }
}

/// The error of a [`Timeout`] whose deadline passed first.
///
/// Converts into an [`io::Error`] of kind [`TimedOut`](io::ErrorKind::TimedOut).
///
/// ```
/// use std::time::Duration;
/// use hue_reactor::time::{sleep, timeout, Elapsed};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// let err: Elapsed = rt.block_on(async {
///     timeout(Duration::from_millis(1), sleep(Duration::from_secs(9))).await.unwrap_err()
/// });
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(err: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, err)
    }
}
