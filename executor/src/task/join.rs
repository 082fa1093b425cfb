//! [`JoinHandle`]: await a task's output, abort it, or detach it by dropping the handle.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::raw::RawTask;
use super::state::TransitionToNotified;
use super::{JoinError, Notified};

/// An owned permission to await a task's output (as tokio's `JoinHandle`).
///
/// Awaiting it gives `Ok(output)`, or a [`JoinError`] if the task panicked or was cancelled.
/// Dropping it detaches the task: it keeps running and its output is dropped.
///
/// # Examples
///
/// ```
/// let sum = hue_executor::block_on(async {
///     let a = hue_executor::spawn(async { 1 });
///     let b = hue_executor::spawn_colored(hue_executor::Color::fresh(), async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves `T` out by value on the awaiting thread; `T: Send` is required.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort` and `is_finished`, which touch atomics.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` is a task whose output type is `T`, and the caller hands over the handle's
    /// reference and join interest.
    pub(crate) unsafe fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancels the task: its future is dropped (inside its color) before it is polled again,
    /// and awaiting the handle gives a cancelled [`JoinError`]. A task that already finished
    /// keeps its output. A task being polled right now is cancelled when that poll returns.
    ///
    /// ```
    /// # hue_executor::block_on(async {
    /// let task = hue_executor::spawn(std::future::pending::<()>());
    /// task.abort();
    /// assert!(task.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn abort(&self) {
        if self.raw.header().state.transition_to_notified_and_cancel()
            == TransitionToNotified::Submit
        {
            // SAFETY: the transition made a reference for the notification.
            unsafe { Notified::from_raw(self.raw) }.schedule();
        }
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    ///
    /// ```
    /// # hue_executor::block_on(async {
    /// let task = hue_executor::spawn(async {});
    /// while !task.is_finished() {
    ///     hue_executor::yield_now().await;
    /// }
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: we own a reference; `out` has the type the task's vtable writes (`T` is the
        // task's output type, by construction in `JoinHandle::new`).
        unsafe {
            (self.raw.header().vtable.try_read_output)(
                self.raw.as_ptr(),
                &mut out as *mut _ as *mut (),
                cx.waker(),
            )
        };
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: the handle's reference and join interest are given up here, once.
        unsafe { (self.raw.header().vtable.drop_join_handle)(self.raw.as_ptr()) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}
