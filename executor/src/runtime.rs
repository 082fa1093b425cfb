//! [`Runtime`], its [`Builder`] and [`Handle`].

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_deque::Worker as Deque;

use crate::driver::Driver;
use crate::metrics::RuntimeMetrics;
use crate::sched::shared::Runnable;
use crate::sched::shutdown::{ExitGuard, Exited};
use crate::sched::{self, worker, Shared};
use crate::task::JoinHandle;
use crate::Color;

/// Configures and builds a [`Runtime`].
///
/// # Examples
///
/// ```
/// let rt = hue_executor::Runtime::builder()
///     .workers(2)
///     .thread_name("my-worker")
///     .build()?;
/// assert_eq!(rt.handle().metrics().workers(), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Builder {
    workers: Option<usize>,
    steal: bool,
    thread_name: String,
    driver: Option<Arc<dyn Driver>>,
    max_blocking_threads: usize,
    blocking_keep_alive: Duration,
    long_poll_threshold: Duration,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("workers", &self.workers)
            .field("steal", &self.steal)
            .field("thread_name", &self.thread_name)
            .field("driver", &self.driver.is_some())
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .field("long_poll_threshold", &self.long_poll_threshold)
            .finish()
    }
}

/// The environment variable that sets the default number of workers.
pub const WORKERS_ENV: &str = "HUE_WORKERS";

impl Builder {
    fn new() -> Builder {
        Builder {
            workers: None,
            steal: true,
            thread_name: "hue-worker".into(),
            driver: None,
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            long_poll_threshold: Duration::from_millis(10),
        }
    }

    /// The most threads the [`spawn_blocking`](crate::spawn_blocking) pool runs at once
    /// (default 512); more work waits in a queue. Zero is refused by [`build`](Self::build).
    ///
    /// ```
    /// let rt = hue_executor::Runtime::builder().max_blocking_threads(4).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Self {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking thread waits for work before it exits (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = hue_executor::Runtime::builder()
    ///     .blocking_keep_alive(Duration::from_millis(500))
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn blocking_keep_alive(&mut self, keep_alive: Duration) -> &mut Self {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// Polls that take longer than this count as long polls in the metrics: a task that
    /// blocked its worker (default 10 ms). Measured with a coarse clock (ticks of 1-4 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = hue_executor::Runtime::builder()
    ///     .long_poll_threshold(Duration::from_millis(50))
    ///     .build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn long_poll_threshold(&mut self, threshold: Duration) -> &mut Self {
        self.long_poll_threshold = threshold;
        self
    }

    /// The number of worker threads. Default: the environment variable `HUE_WORKERS` if set,
    /// else the machine's available parallelism. An explicit call wins over the variable.
    /// Zero is refused by [`build`](Self::build) with `InvalidInput`.
    ///
    /// ```
    /// let err = hue_executor::Runtime::builder().workers(0).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn workers(&mut self, n: usize) -> &mut Self {
        self.workers = Some(n);
        self
    }

    /// Whether idle workers steal queued colors from busy ones (default `true`). Turning it
    /// off pins every color to its home worker: for experiments and benchmarks.
    ///
    /// ```
    /// let rt = hue_executor::Runtime::builder().workers(2).steal(false).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn steal(&mut self, enabled: bool) -> &mut Self {
        self.steal = enabled;
        self
    }

    /// The name of the worker threads (each gets `-<index>` appended).
    ///
    /// ```
    /// let rt = hue_executor::Runtime::builder().workers(1).thread_name("shard").build()?;
    /// let name = rt.block_on(async {
    ///     hue_executor::spawn(async { std::thread::current().name().map(String::from) })
    ///         .await
    ///         .unwrap()
    /// });
    /// assert_eq!(name.as_deref(), Some("shard-0"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.thread_name = name.into();
        self
    }

    /// The event source idle workers wait on (see [`Driver`]). Default: none is installed up
    /// front, and idle workers just sleep until a driver is installed with
    /// [`Handle::driver_or_try_init`]. hue's reactor (hue-reactor, in the `hue` crate) installs
    /// itself that way when the runtime first makes a socket or timer.
    ///
    /// See [`Driver`] for an example.
    pub fn driver(&mut self, driver: Arc<dyn Driver>) -> &mut Self {
        self.driver = Some(driver);
        self
    }

    fn worker_count(&self) -> io::Result<usize> {
        let n = match self.workers {
            Some(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "hue: Builder::workers(0): a runtime needs at least one worker",
                ))
            }
            Some(n) => n,
            None => match std::env::var(WORKERS_ENV) {
                Ok(value) => match value.trim().parse::<usize>() {
                    Ok(0) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!(
                                "hue: {WORKERS_ENV}={value:?}: a runtime needs at least one worker"
                            ),
                        ))
                    }
                    Ok(n) => n,
                    Err(_) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("hue: {WORKERS_ENV}={value:?} is not a number of workers"),
                        ))
                    }
                },
                Err(std::env::VarError::NotPresent) => {
                    thread::available_parallelism().map_or(1, |n| n.get())
                }
                Err(std::env::VarError::NotUnicode(value)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("hue: {WORKERS_ENV}={value:?} is not a number of workers"),
                    ))
                }
            },
        };
        if n > 4096 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("hue: {n} workers is more than the 4096 supported"),
            ));
        }
        Ok(n)
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for zero workers or more than 4096 (from [`workers`](Self::workers) or
    /// `HUE_WORKERS`), a `HUE_WORKERS` that is not a number, or zero
    /// [`max_blocking_threads`](Self::max_blocking_threads); the OS error if a thread cannot be
    /// started.
    ///
    /// ```
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        let n = self.worker_count()?;
        if self.max_blocking_threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "hue: Builder::max_blocking_threads(0): the blocking pool needs at least one thread",
            ));
        }
        let deques: Vec<Deque<Runnable>> = (0..n).map(|_| Deque::new_fifo()).collect();
        let shared = Arc::new(Shared::new(
            deques.iter().map(Deque::stealer).collect(),
            sched::Config {
                driver: self.driver.clone(),
                steal: self.steal,
                max_blocking_threads: self.max_blocking_threads,
                blocking_keep_alive: self.blocking_keep_alive,
                long_poll_ns: u64::try_from(self.long_poll_threshold.as_nanos())
                    .unwrap_or(u64::MAX),
            },
        ));
        let exited = Arc::new(Exited::default());
        let mut threads = Vec::with_capacity(n);
        for (index, deque) in deques.into_iter().enumerate() {
            let worker_shared = shared.clone();
            let exit_guard = ExitGuard(exited.clone());
            let spawned = thread::Builder::new()
                .name(format!("{}-{index}", self.thread_name))
                .spawn(move || {
                    let _done = exit_guard;
                    worker::run(index, worker_shared, deque);
                });
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(err) => {
                    let rt = Runtime {
                        handle: Handle { shared },
                        threads,
                        exited,
                    };
                    drop(rt);
                    return Err(err);
                }
            }
        }
        Ok(Runtime {
            handle: Handle { shared },
            threads,
            exited,
        })
    }
}

/// A colored runtime: worker threads that run tasks, never two of one color at once.
///
/// Dropping it shuts it down: every task's future is dropped exactly once (in no particular
/// order, one at a time) and the workers are joined.
///
/// # Examples
///
/// ```
/// use hue_executor::{Color, Runtime};
///
/// let rt = Runtime::builder().workers(2).build()?;
/// let total = rt.block_on(async {
///     let shard = Color::of(&"counter");
///     let tasks: Vec<_> = (0..10)
///         .map(|i| hue_executor::spawn_colored(shard, async move { i }))
///         .collect();
///     let mut sum = 0;
///     for t in tasks {
///         sum += t.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(total, 45);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<thread::JoinHandle<()>>,
    exited: Arc<Exited>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime with the default settings (see [`Builder`]).
    ///
    /// ```
    /// let rt = hue_executor::Runtime::new()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] with the default settings.
    ///
    /// ```
    /// let rt = hue_executor::Runtime::builder().workers(1).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs `future` on the current thread until it completes, in color 0.
    ///
    /// The future counts as a color-0 task for S1: it is never polled while a color-0 task is,
    /// and tasks it spawns without a color are color 0. It need not be `Send` or `'static`.
    ///
    /// # Panics
    ///
    /// If called on a worker thread or inside another `block_on` (it would block a thread that
    /// drives tasks), and if `future` panics (the panic resumes here).
    ///
    /// ```
    /// let rt = hue_executor::Runtime::new()?;
    /// let local = String::from("borrowed");
    /// let len = rt.block_on(async { local.len() });
    /// assert_eq!(len, 8);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if sched::in_runtime() {
            panic!("{}", sched::NESTED_RUNTIME);
        }
        sched::block_on::block_on(&self.handle.shared, future)
    }

    /// A handle to spawn tasks from any thread.
    ///
    /// ```
    /// let rt = hue_executor::Runtime::new()?;
    /// let task = rt.handle().spawn(async { 5 });
    /// assert_eq!(rt.block_on(task).unwrap(), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Shuts down, waiting at most `timeout` for the workers to stop: every task's future is
    /// dropped exactly once, except those of a color whose worker is stuck in a poll longer
    /// than `timeout` (those leak, with the thread).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = hue_executor::Runtime::new()?;
    /// rt.handle().spawn(std::future::pending::<()>());
    /// rt.shutdown_timeout(Duration::from_secs(1));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        sched::shutdown::shutdown(
            &self.handle.shared,
            &mut self.threads,
            &self.exited,
            timeout,
        );
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

/// A cheap, cloneable reference to a [`Runtime`], usable from any thread.
///
/// # Examples
///
/// ```
/// let rt = hue_executor::Runtime::new()?;
/// let handle = rt.handle().clone();
/// let task = std::thread::spawn(move || handle.spawn(async { 3 }))
///     .join()
///     .unwrap();
/// assert_eq!(rt.block_on(task).unwrap(), 3);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.shared.workers.len())
            .finish_non_exhaustive()
    }
}

impl Handle {
    /// The handle of the runtime this thread is in (a worker, inside `block_on`, or a thread of
    /// its blocking pool).
    ///
    /// # Panics
    ///
    /// Outside a runtime; see [`try_current`](Self::try_current).
    ///
    /// ```
    /// let rt = hue_executor::Runtime::new()?;
    /// rt.block_on(async {
    ///     let h = hue_executor::Handle::current();
    ///     h.spawn(async {}).await.unwrap();
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().expect(NO_RUNTIME)
    }

    /// The handle of the runtime this thread is in, if any.
    ///
    /// ```
    /// assert!(hue_executor::Handle::try_current().is_none());
    /// ```
    pub fn try_current() -> Option<Handle> {
        sched::context::context(|ctx| {
            ctx.map(|ctx| Handle {
                shared: ctx.shared.clone(),
            })
        })
        .or_else(crate::blocking::blocking_handle)
    }

    /// Runs `f` on the runtime's blocking thread pool (see
    /// [`spawn_blocking`](crate::spawn_blocking)). Callable from any thread.
    ///
    /// ```
    /// let rt = hue_executor::Runtime::new()?;
    /// let h = rt.handle().spawn_blocking(|| std::fs::metadata("/").is_ok());
    /// assert!(rt.block_on(h).unwrap());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.shared.blocking.spawn(self, f)
    }

    /// Spawns a task. Its color is the current task's if called from a task of this runtime
    /// (or its `block_on`), else [`Color::DEFAULT`] (S5). After shutdown the returned handle
    /// resolves at once to a cancelled [`JoinError`](crate::JoinError).
    ///
    /// ```
    /// let rt = hue_executor::Runtime::new()?;
    /// let t = rt.handle().spawn(async { hue_executor::current_color() });
    /// assert_eq!(rt.block_on(t).unwrap(), hue_executor::Color::DEFAULT);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        sched::spawn(&self.shared, None, future)
    }

    /// Spawns a task in `color`.
    ///
    /// ```
    /// use hue_executor::Color;
    /// let rt = hue_executor::Runtime::new()?;
    /// let c = Color::new(9);
    /// let t = rt.handle().spawn_colored(c, async { hue_executor::current_color() });
    /// assert_eq!(rt.block_on(t).unwrap(), c);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn spawn_colored<F>(&self, color: Color, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        sched::spawn(&self.shared, Some(color), future)
    }

    /// The runtime's [`Driver`], if one is installed (by [`Builder::driver`] or
    /// [`driver_or_try_init`](Self::driver_or_try_init)).
    ///
    /// ```
    /// let rt = hue_executor::Runtime::new()?;
    /// assert!(rt.handle().driver().is_none());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn driver(&self) -> Option<&Arc<dyn Driver>> {
        self.shared.driver.get()
    }

    /// The runtime's [`Driver`], installing the one `init` makes if there is none yet.
    ///
    /// This is how a reactor joins a runtime built without one: the first socket or timer
    /// installs it, and from then on an idle worker parks on it. `init` runs at most once per
    /// runtime (concurrent callers wait for it); if it fails, nothing is installed and the
    /// error is returned.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use hue_executor::{Driver, Runtime};
    ///
    /// struct Nap;
    /// impl Driver for Nap {
    ///     fn park(&self, timeout: Option<Duration>) {
    ///         std::thread::sleep(timeout.unwrap_or(Duration::from_millis(1)));
    ///     }
    ///     fn unpark(&self) {}
    /// }
    ///
    /// let rt = Runtime::new()?;
    /// let driver = rt.handle().driver_or_try_init(|| Ok(Arc::new(Nap)))?;
    /// assert!(Arc::ptr_eq(&driver, rt.handle().driver().unwrap()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The error `init` returns.
    pub fn driver_or_try_init(
        &self,
        init: impl FnOnce() -> io::Result<Arc<dyn Driver>>,
    ) -> io::Result<Arc<dyn Driver>> {
        self.shared.driver_or_try_init(init)
    }

    /// A snapshot of the runtime's counters.
    ///
    /// ```
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async { hue_executor::spawn(async {}).await.unwrap() });
    /// let m = rt.handle().metrics();
    /// assert_eq!(m.workers(), 2);
    /// assert!(m.polls() >= 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics::snapshot(&self.shared)
    }
}

pub(crate) const NO_RUNTIME: &str =
    "this function must be called from inside a hue runtime (a task, or Runtime::block_on)";
