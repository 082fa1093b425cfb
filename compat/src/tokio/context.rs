//! [`TokioContext`]: run code that calls tokio's own timers and sockets on hue.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// The name of the thread that drives the global tokio runtime.
const THREAD_NAME: &str = "hue-compat-tokio";

/// The global runtime's handle, once [`global`] has started it.
static HANDLE: OnceLock<tokio::runtime::Handle> = OnceLock::new();

/// The process-wide tokio runtime [`TokioContext`] enters: a current-thread runtime with its
/// I/O and time drivers, driven by a thread that blocks on a future that never completes (so
/// the runtime parks in its driver, waking timers and sockets, for the life of the process).
fn global() -> &'static tokio::runtime::Handle {
    HANDLE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name(THREAD_NAME)
            .build()
            .unwrap_or_else(|e| panic!("hue-compat: cannot build the tokio runtime: {e}"));
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))
            .unwrap_or_else(|e| panic!("hue-compat: cannot start the tokio driver thread: {e}"));
        handle
    })
}

/// The handle of the process-wide tokio runtime that [`TokioContext`] enters (started on the
/// first call). Useful to build tokio objects outside a [`TokioContext`]
/// (`handle.enter()`), or to `spawn` work that must run on tokio itself: such tasks run on
/// the one tokio thread, not on hue's workers.
///
/// ```
/// let handle = hue_compat::tokio::tokio_handle();
/// let _guard = handle.enter();
/// // tokio's timers work on this thread while the guard lives.
/// let _sleep = tokio::time::sleep(std::time::Duration::from_millis(1));
/// ```
pub fn tokio_handle() -> tokio::runtime::Handle {
    global().clone()
}

pin_project! {
    /// A future (or, by the same wrapping, a whole task) that runs inside a tokio runtime
    /// context, so code that calls tokio's own timers, sockets or `spawn` works on hue, in the
    /// manner of smol-rs' `async-compat`.
    ///
    /// Without it, `tokio::time::sleep` or `tokio::net::TcpStream::connect` called in a hue
    /// task panics with "there is no reactor running, must be called from the context of a
    /// Tokio 1.x runtime" (the task ends with a panic [`JoinError`](hue_executor::JoinError)).
    /// `TokioContext` holds a [`tokio::runtime::Handle::enter`] guard of a global tokio
    /// runtime around each poll of the inner future (and around its drop), so those calls
    /// find a runtime; the tokio objects they make register with that runtime's timer and I/O
    /// drivers, which a background thread drives.
    ///
    /// Make one with [`TokioContext::new`] or [`TokioContextExt::with_tokio`].
    ///
    /// # Cost
    ///
    /// - **One extra thread** for the whole process (named `hue-compat-tokio`), started on first
    ///   use, with a current-thread tokio runtime that blocks forever in its driver. It is
    ///   never shut down.
    /// - **Wake-ups cross threads.** A tokio timer or socket becomes ready in tokio's driver, on
    ///   that thread, which calls the hue task's waker: the task is queued in its color on hue
    ///   as with any cross-thread wake. Latency and throughput are those of tokio's
    ///   current-thread driver plus one hand-off; hue's own `hue::time` and `hue::net` are
    ///   cheaper (their readiness is seen by the hue worker that drives hue's reactor).
    /// - **A guard per poll**: entering and leaving the context sets a thread-local, a few
    ///   nanoseconds per poll.
    ///
    /// Only the code inside the wrapper needs it; hue's own sockets and timers, and tokio's
    /// runtime-independent parts (`tokio::sync`, `tokio::select!`, `tokio::io` utilities),
    /// work without it. Tasks that the inner code starts with `tokio::spawn` run on the tokio
    /// thread, not on hue: port those to `hue_compat::spawn`.
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_compat::tokio::TokioContextExt;
    /// use std::time::Duration;
    ///
    /// // A library function written for tokio.
    /// async fn backoff() -> u32 {
    ///     tokio::time::sleep(Duration::from_millis(5)).await;
    ///     7
    /// }
    ///
    /// hue_executor::block_on(async {
    ///     assert_eq!(backoff().with_tokio().await, 7);
    /// });
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct TokioContext<F> {
        #[pin]
        inner: Option<F>,
    }

    impl<F> PinnedDrop for TokioContext<F> {
        fn drop(this: Pin<&mut Self>) {
            // tokio objects inside may want the context to drop cleanly. If the global runtime
            // was never started, no poll ran in it: do not start it just to drop.
            let _guard = HANDLE.get().map(|h| h.enter());
            this.project().inner.set(None);
        }
    }
}

impl<F> TokioContext<F> {
    /// Wraps `future` so every poll of it runs inside the global tokio runtime's context.
    ///
    /// ```
    /// use hue_compat::tokio::TokioContext;
    ///
    /// hue_executor::block_on(async {
    ///     let t = TokioContext::new(async {
    ///         tokio::time::timeout(std::time::Duration::from_secs(5), async { 1 }).await
    ///     });
    ///     assert_eq!(t.await, Ok(1));
    /// });
    /// ```
    pub fn new(future: F) -> TokioContext<F> {
        TokioContext {
            inner: Some(future),
        }
    }

    /// The wrapped future.
    ///
    /// ```
    /// let t = hue_compat::tokio::TokioContext::new(std::future::ready(3));
    /// assert!(t.get_ref().is_some());
    /// ```
    pub fn get_ref(&self) -> Option<&F> {
        self.inner.as_ref()
    }
}

impl<F: Future> Future for TokioContext<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _guard = global().enter();
        self.project()
            .inner
            .as_pin_mut()
            .expect("TokioContext polled after it was dropped")
            .poll(cx)
    }
}

/// `.with_tokio()` on any future: [`TokioContext::new`] as a method.
///
/// ```
/// use hue_compat::tokio::TokioContextExt;
///
/// hue_executor::block_on(async {
///     let v = async { tokio::task::yield_now().await; 5 }.with_tokio().await;
///     assert_eq!(v, 5);
/// });
/// ```
pub trait TokioContextExt: Future + Sized {
    /// Wraps `self` in a [`TokioContext`]: tokio's timers and sockets work inside it.
    ///
    /// ```
    /// use hue_compat::tokio::TokioContextExt;
    /// use std::time::Duration;
    ///
    /// hue_executor::block_on(async {
    ///     let task = hue_compat::spawn(
    ///         async { tokio::time::sleep(Duration::from_millis(1)).await }.with_tokio(),
    ///     );
    ///     task.await.unwrap();
    /// });
    /// ```
    fn with_tokio(self) -> TokioContext<Self> {
        TokioContext::new(self)
    }
}

impl<F: Future> TokioContextExt for F {}
