//! [`spawn_blocking`]: a separate, bounded pool of threads for work that blocks (S10).
//!
//! Workers must never block (the paper's rule: callbacks must not block): a blocked worker
//! stalls every color queued on it. Blocking calls (file I/O, CPU-heavy functions, foreign
//! libraries) go to this pool instead. A blocking task is an ordinary task (one allocation, a
//! `JoinHandle`, panics become `JoinError`s) whose future calls the closure on its first poll;
//! it has no color, and runs on a pool thread.
//!
//! The pool starts threads on demand up to `max_blocking_threads` (default 512, as tokio);
//! beyond that, work waits in a FIFO queue. An idle thread retires after `blocking_keep_alive`
//! (default 10 s). At shutdown, queued closures that have not started are cancelled (their
//! handles give a cancelled `JoinError`); running ones cannot be interrupted: dropping the
//! runtime waits for them, `shutdown_timeout` waits at most its timeout and then leaves them
//! running on detached threads.
//!
//! On a pool thread there is no current color; [`Handle::current`] and so `spawn` work (tasks
//! spawned there are color 0), and so does `Runtime::block_on`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Condvar, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use crate::sync::lock;
use crate::task::{JoinHandle, Notified, RawTask, Schedule};
use crate::Handle;

/// Runs `f` on the runtime's blocking thread pool and returns a handle to its result.
///
/// Use it for anything that blocks the thread: workers must not block (S10). `abort` before
/// `f` started cancels it; once started, `f` runs to the end.
///
/// # Panics
///
/// Outside a hue runtime (use [`Handle::spawn_blocking`] there).
///
/// # Examples
///
/// ```
/// hue_executor::block_on(async {
///     let n = hue_executor::spawn_blocking(|| {
///         std::thread::sleep(std::time::Duration::from_millis(10)); // would stall a worker
///         21 * 2
///     })
///     .await
///     .unwrap();
///     assert_eq!(n, 42);
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    Handle::current().spawn_blocking(f)
}

thread_local! {
    /// The runtime of the blocking pool this thread belongs to.
    static BLOCKING_HANDLE: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// The handle of the runtime whose blocking pool runs this thread, if any.
pub(crate) fn blocking_handle() -> Option<Handle> {
    BLOCKING_HANDLE
        .try_with(|h| h.borrow().clone())
        .ok()
        .flatten()
}

/// The future of a blocking task: calls the closure on its only poll.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("a blocking task is polled once");
        Poll::Ready(f())
    }
}

pub(crate) struct BlockingPool {
    inner: Mutex<Inner>,
    /// Idle threads wait here for work; shutdown waits here for threads to exit.
    cv: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    /// Blocking tasks queued or running.
    live: AtomicUsize,
}

struct Inner {
    queue: VecDeque<Notified>,
    threads: usize,
    idle: usize,
    shutdown: bool,
    next_id: usize,
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("max_threads", &self.max_threads)
            .finish_non_exhaustive()
    }
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                shutdown: false,
                next_id: 0,
            }),
            cv: Condvar::new(),
            max_threads,
            keep_alive,
            live: AtomicUsize::new(0),
        }
    }

    /// Threads in the pool now (busy and idle).
    pub(crate) fn threads(&self) -> usize {
        lock(&self.inner).threads
    }

    /// Blocking tasks queued or running.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Relaxed)
    }

    pub(crate) fn spawn<F, R>(&self, handle: &Handle, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let raw = RawTask::new(BlockingTask(Some(f)), NoColor);
        // SAFETY: the task is new; its output type is `R`; the handle takes its reference.
        let join = unsafe { JoinHandle::new(raw) };
        let mut inner = lock(&self.inner);
        if inner.shutdown {
            drop(inner);
            // SAFETY: the shutdown path consumes the first notification's reference.
            unsafe { raw.shutdown() };
            return join;
        }
        // SAFETY: the first notification's reference.
        inner.queue.push_back(unsafe { Notified::from_raw(raw) });
        self.live.fetch_add(1, Relaxed);
        if inner.idle > 0 {
            self.cv.notify_one();
            return join;
        }
        if inner.threads >= self.max_threads {
            return join; // queued: the next free thread takes it
        }
        inner.threads += 1;
        inner.next_id += 1;
        let id = inner.next_id;
        drop(inner);
        let thread_handle = handle.clone();
        let spawned = thread::Builder::new()
            .name(format!("hue-blocking-{id}"))
            .spawn(move || {
                let shared = thread_handle.shared.clone();
                BLOCKING_HANDLE.with(|h| *h.borrow_mut() = Some(thread_handle));
                shared.blocking.run_thread();
                BLOCKING_HANDLE.with(|h| h.borrow_mut().take());
            });
        if spawned.is_err() {
            let mut inner = lock(&self.inner);
            inner.threads -= 1;
            if inner.threads == 0 {
                // No thread will ever take the queued work: cancel it rather than hang.
                let queued: Vec<Notified> = inner.queue.drain(..).collect();
                drop(inner);
                for task in queued {
                    self.live.fetch_sub(1, Relaxed);
                    // SAFETY: the queue owned the notification's reference; shutdown consumes it.
                    unsafe { task.into_raw().shutdown() };
                }
            }
        }
        join
    }

    fn run_thread(&self) {
        let mut inner = lock(&self.inner);
        loop {
            if let Some(task) = inner.queue.pop_front() {
                drop(inner);
                let _ = RawTask::run(task);
                self.live.fetch_sub(1, Relaxed);
                inner = lock(&self.inner);
                continue;
            }
            if inner.shutdown {
                break;
            }
            inner.idle += 1;
            let deadline = Instant::now() + self.keep_alive;
            let mut timed_out = false;
            while inner.queue.is_empty() && !inner.shutdown {
                let now = Instant::now();
                if now >= deadline {
                    timed_out = true;
                    break;
                }
                inner = self
                    .cv
                    .wait_timeout(inner, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            inner.idle -= 1;
            if timed_out && inner.queue.is_empty() {
                break;
            }
        }
        inner.threads -= 1;
        drop(inner);
        self.cv.notify_all();
    }

    /// Cancels queued work, wakes idle threads and waits (until `deadline`, if any) for the
    /// threads to exit. Returns whether they all did.
    pub(crate) fn shutdown(&self, deadline: Option<Instant>) -> bool {
        let mut inner = lock(&self.inner);
        inner.shutdown = true;
        let queued: Vec<Notified> = inner.queue.drain(..).collect();
        drop(inner);
        self.cv.notify_all();
        for task in queued {
            self.live.fetch_sub(1, Relaxed);
            // SAFETY: the queue owned the notification's reference; shutdown consumes it.
            unsafe { task.into_raw().shutdown() };
        }
        let mut inner = lock(&self.inner);
        while inner.threads > 0 {
            match deadline {
                None => inner = self.cv.wait(inner).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    inner = self
                        .cv
                        .wait_timeout(inner, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
        true
    }
}

/// The scheduler of blocking tasks: they join no color, and this pool runs them. A blocking
/// task is queued once, at spawn, and never woken (its future finishes in its one poll).
struct NoColor;

impl Schedule for NoColor {
    fn schedule(task: crate::task::Notified) {
        // Only `abort` could notify an idle task, and a blocking task is never idle: it is
        // queued (notified) until its one poll, which completes it.
        debug_assert!(false, "a blocking task was notified");
        drop(task);
    }

    fn release(_: RawTask) -> bool {
        // Nothing to leave: completion drops the scheduler's reference with the runner's.
        true
    }

    fn rebind(_: RawTask) {
        unreachable!("a blocking task is never flagged: it has no color");
    }
}
