//! The `futures` crate's spawning interface on hue: [`HueSpawner`] implements
//! [`futures_task::Spawn`] (re-exported by `futures` as `futures::task::Spawn`), so libraries
//! that take "any spawner" (`impl Spawn`, `SpawnExt::spawn`, `spawn_with_handle`) run their
//! tasks on hue.
//!
//! # Colors
//!
//! A library written against `Spawn` assumes that what it spawns may run in parallel with
//! everything else, as on a thread pool. So by default every future given to a [`HueSpawner`]
//! becomes a task in a color of its own ([`Color::fresh`]). [`HueSpawner::in_color`] makes a
//! spawner that puts all its tasks in one color instead: they then never run in parallel with
//! each other (nor with other tasks of that color), which is how a library's tasks can share
//! color-owned state ([`hue_executor::ColorCell`]) without locks.
//!
//! # Example
//!
//! ```
//! use futures::task::SpawnExt;
//! use hue_compat::futures::HueSpawner;
//!
//! hue_executor::block_on(async {
//!     let spawner = HueSpawner::current();
//!     let sum = spawner.spawn_with_handle(async { 20 + 22 }).unwrap();
//!     assert_eq!(sum.await, 42);
//! });
//! ```

use std::fmt;
use std::future::Future as _;

use futures_task::{FutureObj, Spawn, SpawnError};
use hue_executor::{Color, Handle};

/// A [`Spawn`] implementation that spawns onto a hue runtime: each future in a fresh color by
/// default (see the [module docs](self)), or all in one color after
/// [`in_color`](Self::in_color).
///
/// Cheap to clone; usable from any thread (it holds a [`Handle`]).
///
/// # Shutdown
///
/// After the runtime has shut down, [`Spawn::spawn_obj`] drops the future and returns
/// [`SpawnError::shutdown`]. ([`Spawn::status`] cannot know this in advance and always says
/// `Ok`: hue's `Handle` has no "is shut down" query; `spawn_obj` learns it from the task
/// being cancelled at once.) A task spawned just before shutdown is dropped by the shutdown
/// like any other.
///
/// # Examples
///
/// ```
/// use futures::task::SpawnExt;
/// use hue_compat::futures::HueSpawner;
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// // From outside the runtime, with its handle.
/// let spawner = HueSpawner::new(rt.handle().clone());
/// let (tx, rx) = futures::channel::oneshot::channel();
/// spawner.spawn(async move { tx.send(hue_executor::current_color()).unwrap() }).unwrap();
/// let color = rt.block_on(rx).unwrap();
/// assert_ne!(color, hue_executor::Color::DEFAULT); // a fresh color
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct HueSpawner {
    handle: Handle,
    /// `None`: a fresh color per spawned future.
    color: Option<Color>,
}

impl fmt::Debug for HueSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HueSpawner")
            .field("handle", &self.handle)
            .field(
                "color",
                &match self.color {
                    Some(c) => format!("{c:?}"),
                    None => "fresh".to_owned(),
                },
            )
            .finish()
    }
}

impl HueSpawner {
    /// A spawner for the runtime this thread is in (a worker, inside `block_on`, or its
    /// blocking pool), giving each future a fresh color.
    ///
    /// # Panics
    ///
    /// Outside a hue runtime; see [`try_current`](Self::try_current).
    ///
    /// ```
    /// use futures::task::SpawnExt;
    /// hue_executor::block_on(async {
    ///     let h = hue_compat::futures::HueSpawner::current()
    ///         .spawn_with_handle(async { 7 })
    ///         .unwrap();
    ///     assert_eq!(h.await, 7);
    /// });
    /// ```
    #[track_caller]
    pub fn current() -> HueSpawner {
        HueSpawner::new(Handle::current())
    }

    /// Like [`current`](Self::current), but `None` outside a hue runtime.
    ///
    /// ```
    /// assert!(hue_compat::futures::HueSpawner::try_current().is_none());
    /// hue_executor::block_on(async {
    ///     assert!(hue_compat::futures::HueSpawner::try_current().is_some());
    /// });
    /// ```
    pub fn try_current() -> Option<HueSpawner> {
        Handle::try_current().map(HueSpawner::new)
    }

    /// A spawner for the runtime of `handle`, giving each future a fresh color.
    ///
    /// ```
    /// let rt = hue_executor::Runtime::new()?;
    /// let spawner = hue_compat::futures::HueSpawner::new(rt.handle().clone());
    /// assert_eq!(spawner.color(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(handle: Handle) -> HueSpawner {
        HueSpawner {
            handle,
            color: None,
        }
    }

    /// This spawner, but putting every future it spawns in `color`: those tasks never run in
    /// parallel with each other or with other tasks of `color`.
    ///
    /// ```
    /// use futures::task::SpawnExt;
    /// use hue_executor::Color;
    ///
    /// hue_executor::block_on(async {
    ///     let shard = Color::of(&"shard-0");
    ///     let spawner = hue_compat::futures::HueSpawner::current().in_color(shard);
    ///     let seen = spawner
    ///         .spawn_with_handle(async { hue_executor::current_color() })
    ///         .unwrap();
    ///     assert_eq!(seen.await, shard);
    /// });
    /// ```
    pub fn in_color(mut self, color: Color) -> HueSpawner {
        self.color = Some(color);
        self
    }

    /// The color this spawner gives its tasks, or `None` for a fresh color per task.
    ///
    /// ```
    /// use hue_executor::Color;
    /// let rt = hue_executor::Runtime::new()?;
    /// let s = hue_compat::futures::HueSpawner::new(rt.handle().clone());
    /// assert_eq!(s.clone().in_color(Color::new(3)).color(), Some(Color::new(3)));
    /// assert_eq!(s.color(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn color(&self) -> Option<Color> {
        self.color
    }

    /// The handle of the runtime this spawner spawns onto.
    ///
    /// ```
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// let s = hue_compat::futures::HueSpawner::new(rt.handle().clone());
    /// assert_eq!(s.handle().metrics().workers(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Spawn for HueSpawner {
    fn spawn_obj(&self, future: FutureObj<'static, ()>) -> Result<(), SpawnError> {
        let color = self.color.unwrap_or_else(Color::fresh);
        let mut task = self.handle.spawn_colored(color, future);
        // After shutdown the handle is cancelled at once. A live runtime's task can also be
        // finished already (it ran on another worker): then it completed or panicked, and the
        // spawn itself succeeded. Only a finished task is polled, so the common path costs one
        // load.
        if task.is_finished() {
            let mut cx = std::task::Context::from_waker(futures_task::noop_waker_ref());
            if let std::task::Poll::Ready(Err(e)) = std::pin::Pin::new(&mut task).poll(&mut cx) {
                if e.is_cancelled() {
                    return Err(SpawnError::shutdown());
                }
            }
        }
        // Dropping the JoinHandle detaches the task.
        Ok(())
    }
}
