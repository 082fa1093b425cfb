//! [`ColorCell`]: state owned by a color (S9).
//!
//! # Soundness
//!
//! `with` gives a `&mut T` with no lock and no atomic read-modify-write. Three checks make
//! that sound:
//!
//! 1. **The color.** `with` only proceeds on a thread that is polling a task (or `block_on`'s
//!    future, or an inline `in_color` section) of the cell's color, and by S1 no two such polls
//!    of one runtime run at once, each ordered before the next; a `with` runs to completion
//!    inside one poll (it takes a closure, so no borrow survives an `.await`), and the color
//!    stays taken by the polling thread until the closure returns.
//! 2. **The runtime.** Color numbers are per runtime (two runtimes may both run `Color::new(1)`
//!    at the same time), so a cell belongs to one runtime at a time: the first runtime whose task
//!    uses it. A task of another runtime gets an error ([`WrongColor::is_other_runtime`]) for as
//!    long as that runtime lives; once it has shut down with every worker joined (or its last
//!    handle is gone), no thread can be inside its colors any more, and the next runtime to use
//!    the cell takes it over. Runtime ids are never reused; the registry of live ones is read
//!    only on that slow path, under a lock that orders the old runtime's last accesses before
//!    the new one's first.
//! 3. **Re-entrance.** A `with` inside a `with` on the same cell (on the same thread: by 1 and
//!    2 it cannot be another one) is refused: each thread keeps the cells it is inside on a
//!    stack of its own (linked through the callers' frames), which `with` walks (it is as deep
//!    as the nesting of `with`s, usually empty).
//!
//! So `with` writes nothing to the cell: in a correct program the cell's line stays shared by
//! every core that reads it, and only the value's own lines move. Misuse is an error, never
//! undefined behaviour.

use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Mutex;

use crate::sched;
use crate::sync::lock;
use crate::Color;

/// State that only tasks running in one color may touch, with no lock.
///
/// Tasks of the cell's color reach the value with [`with`](Self::with); other code first moves
/// into the color with [`in_color`](crate::in_color) (or [`recolor`](fn@crate::recolor)). Because
/// tasks of one color never run at once (S1), this is the libasync-smp way of owning state:
/// the critical section is the code that runs in the color.
///
/// `ColorCell<T>` is `Sync` when `T: Send`: share it with an `Arc` or a `static`.
///
/// A cell belongs to one running runtime at a time, the first whose task uses it: color
/// numbers are per runtime, and two runtimes may run the same color at once. Used from another
/// runtime's task it refuses ([`WrongColor::is_other_runtime`]) until the owner has shut down;
/// then the next runtime to use it takes it over (so runtimes made one after another, as
/// `block_on` makes them, share a `static` cell in turn).
///
/// `with` costs a color check and no atomic read-modify-write: the cell's own memory is only
/// read, so on a multi-core machine only the value's cache lines move between cores.
///
/// # Examples
///
/// ```
/// use hue_executor::{in_color, spawn_colored, Color, ColorCell};
/// use std::sync::Arc;
///
/// hue_executor::block_on(async {
///     let shard = Color::new(1);
///     let hits = Arc::new(ColorCell::new(shard, Vec::new()));
///     let mut tasks = Vec::new();
///     for i in 0..4 {
///         let hits = hits.clone();
///         // Tasks of the shard's color touch the cell directly.
///         tasks.push(spawn_colored(shard, async move { hits.with(|v| v.push(i)) }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     // Everyone else goes through the color.
///     let n = in_color(shard, async { hits.with(|v| v.len()) }).await;
///     assert_eq!(n, 4);
///     // From the wrong color: an error, not a data race.
///     assert!(hits.try_with(|v| v.len()).is_err());
/// });
/// ```
pub struct ColorCell<T> {
    color: Color,
    /// The id of the runtime the cell belongs to ([`NO_RUNTIME`] until a task first uses it).
    runtime: AtomicU64,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached by one thread at a time, each ordered after the previous
// one (module docs); so sharing the cell moves `T` between threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for ColorCell<T> {}

/// [`ColorCell::runtime`] before the cell is first used. Runtime ids start at 1.
const NO_RUNTIME: u64 = 0;

/// Ids of the runtimes that may still poll tasks (see the module docs, point 2).
static LIVE_RUNTIMES: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// The last runtime id handed out.
static LAST_RUNTIME_ID: AtomicU64 = AtomicU64::new(NO_RUNTIME);

/// A new runtime's id, registered as live.
pub(crate) fn register_runtime() -> u64 {
    let id = LAST_RUNTIME_ID.fetch_add(1, Relaxed) + 1;
    lock(&LIVE_RUNTIMES).push(id);
    id
}

/// The runtime `id` can no longer poll any task: cells it owned may be taken over.
pub(crate) fn retire_runtime(id: u64) {
    lock(&LIVE_RUNTIMES).retain(|&live| live != id);
}

fn is_live(id: u64) -> bool {
    lock(&LIVE_RUNTIMES).contains(&id)
}

/// One entry of a thread's stack of cells it is inside (module docs, point 3), living in the
/// frame of the `with` that pushed it.
struct Inside {
    cell: *const (),
    outer: *const Inside,
}

thread_local! {
    /// The innermost [`Inside`] of this thread's `with`s.
    static INSIDE: Cell<*const Inside> = const { Cell::new(ptr::null()) };
}

/// Pops this thread's innermost [`Inside`] (also when the closure panics).
struct Leave(*const Inside);

impl Drop for Leave {
    fn drop(&mut self) {
        INSIDE.with(|top| top.set(self.0));
    }
}

/// Whether this thread is inside a `with` on `cell`.
fn is_inside(cell: *const ()) -> bool {
    let mut entry = INSIDE.with(Cell::get);
    while !entry.is_null() {
        // SAFETY: entries live in the frames of this thread's `with`s that have not returned
        // (each is popped before its frame ends, also by unwinding).
        let e = unsafe { &*entry };
        if e.cell == cell {
            return true;
        }
        entry = e.outer;
    }
    false
}

/// Why [`ColorCell::try_with`] refused.
#[derive(Clone, PartialEq, Eq)]
pub struct WrongColor {
    cell: Color,
    current: Option<Color>,
    reentrant: bool,
    other_runtime: bool,
}

impl WrongColor {
    /// The color that owns the cell.
    pub fn cell_color(&self) -> Color {
        self.cell
    }

    /// The color of the task that asked; `None` if it was not inside any task.
    pub fn current_color(&self) -> Option<Color> {
        self.current
    }

    /// Whether the color was right but the cell was already borrowed (a `with` inside a `with`).
    pub fn is_reentrant(&self) -> bool {
        self.reentrant
    }

    /// Whether the color was right but the cell belongs to another runtime, still running (a
    /// cell is used by one runtime at a time; see the [`ColorCell`] docs).
    ///
    /// ```
    /// use hue_executor::{Color, ColorCell, Runtime};
    /// use std::sync::Arc;
    ///
    /// let cell = Arc::new(ColorCell::new(Color::DEFAULT, 0));
    /// let first = Runtime::new()?;
    /// first.block_on(async { cell.with(|v| *v += 1) });
    /// let second = Runtime::new()?;
    /// let err = second.block_on(async { cell.try_with(|v| *v) }).unwrap_err();
    /// assert!(err.is_other_runtime());
    /// drop(first); // shut down: the cell is free for the next runtime that uses it
    /// assert_eq!(second.block_on(async { cell.with(|v| *v) }), 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_other_runtime(&self) -> bool {
        self.other_runtime
    }
}

impl fmt::Display for WrongColor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.other_runtime {
            return write!(
                f,
                "ColorCell of {} belongs to another runtime, which is still running: a cell is \
                 used by one runtime at a time",
                self.cell
            );
        }
        match (self.reentrant, self.current) {
            (true, _) => write!(
                f,
                "ColorCell of {} is already borrowed: a `with` inside a `with` on the same cell",
                self.cell
            ),
            (false, Some(current)) => write!(
                f,
                "ColorCell of {} used from a task in {}: only tasks of {} may touch it \
                 (use in_color({0:?}, ..) to get there)",
                self.cell, current, self.cell
            ),
            (false, None) => write!(
                f,
                "ColorCell of {} used outside any hue task: only tasks of {} may touch it",
                self.cell, self.cell
            ),
        }
    }
}

impl fmt::Debug for WrongColor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrongColor")
            .field("cell", &self.cell)
            .field("current", &self.current)
            .field("reentrant", &self.reentrant)
            .field("other_runtime", &self.other_runtime)
            .finish()
    }
}

impl std::error::Error for WrongColor {}

impl<T> ColorCell<T> {
    /// A cell owned by `color`.
    ///
    /// ```
    /// # use hue_executor::{Color, ColorCell};
    /// static COUNTER: ColorCell<u64> = ColorCell::new(Color::new(3), 0);
    /// assert_eq!(COUNTER.color(), Color::new(3));
    /// ```
    pub const fn new(color: Color, value: T) -> ColorCell<T> {
        ColorCell {
            color,
            runtime: AtomicU64::new(NO_RUNTIME),
            value: UnsafeCell::new(value),
        }
    }

    /// The color that owns the cell.
    ///
    /// ```
    /// # use hue_executor::{Color, ColorCell};
    /// assert_eq!(ColorCell::new(Color::new(2), ()).color(), Color::new(2));
    /// ```
    pub fn color(&self) -> Color {
        self.color
    }

    /// Runs `f` with the value, if the current task is in the cell's color.
    ///
    /// # Errors
    ///
    /// [`WrongColor`] if the current task is in another color, if there is no current task,
    /// if the cell is already borrowed (re-entrance), or if it belongs to another runtime that
    /// still runs.
    ///
    /// ```
    /// # use hue_executor::{Color, ColorCell};
    /// let cell = ColorCell::new(Color::new(1), 5);
    /// let err = cell.try_with(|v| *v).unwrap_err(); // not inside any task
    /// assert_eq!(err.current_color(), None);
    /// ```
    pub fn try_with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, WrongColor> {
        let error = |current, reentrant, other_runtime| WrongColor {
            cell: self.color,
            current,
            reentrant,
            other_runtime,
        };
        let running = sched::running_color_and_runtime();
        let Some((current, runtime)) = running.filter(|(c, _)| *c == self.color) else {
            return Err(error(running.map(|(c, _)| c), false, false));
        };
        if self.runtime.load(Acquire) != runtime && !self.take_over(runtime) {
            return Err(error(Some(current), false, true));
        }
        let cell = self as *const Self as *const ();
        if is_inside(cell) {
            return Err(error(Some(current), true, false));
        }
        let inside = Inside {
            cell,
            outer: INSIDE.with(Cell::get),
        };
        INSIDE.with(|top| top.set(&inside));
        let _leave = Leave(inside.outer);
        // SAFETY: this thread polls a task of the cell's color in the runtime the cell belongs
        // to, and is not already inside a `with` on it: this is the only reference to the value
        // until the closure returns (module docs).
        Ok(f(unsafe { &mut *self.value.get() }))
    }

    /// The cell is not (yet) `runtime`'s: takes it if no live runtime owns it.
    #[cold]
    fn take_over(&self, runtime: u64) -> bool {
        let mut owner = self.runtime.load(Acquire);
        loop {
            if owner == runtime {
                return true;
            }
            // A dead runtime stays dead (ids are never reused), so the check cannot go stale;
            // the registry's lock orders its last accesses before ours.
            if owner != NO_RUNTIME && is_live(owner) {
                return false;
            }
            match self
                .runtime
                .compare_exchange(owner, runtime, AcqRel, Acquire)
            {
                Ok(_) => return true,
                Err(now) => owner = now,
            }
        }
    }

    /// Runs `f` with the value. The current task must be in the cell's color.
    ///
    /// # Panics
    ///
    /// From another color or outside any task (the message names both colors), on a
    /// re-entrant `with` on the same cell, and from a task of a runtime other than the running
    /// one the cell belongs to. See [`try_with`](Self::try_with).
    ///
    /// ```
    /// # use hue_executor::{spawn_colored, Color, ColorCell};
    /// # use std::sync::Arc;
    /// hue_executor::block_on(async {
    ///     let c = Color::new(4);
    ///     let cell = Arc::new(ColorCell::new(c, 1));
    ///     let cell2 = cell.clone();
    ///     let v = spawn_colored(c, async move { cell2.with(|v| { *v += 1; *v }) }).await;
    ///     assert_eq!(v.unwrap(), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(err) => panic!("{err}"),
        }
    }

    /// The value, through exclusive access to the cell (no color check needed).
    ///
    /// ```
    /// # use hue_executor::{Color, ColorCell};
    /// let mut cell = ColorCell::new(Color::new(1), 5);
    /// *cell.get_mut() += 1;
    /// assert_eq!(cell.into_inner(), 6);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value.
    ///
    /// ```
    /// # use hue_executor::{Color, ColorCell};
    /// assert_eq!(ColorCell::new(Color::new(1), "x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T> fmt::Debug for ColorCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ColorCell")
            .field("color", &self.color)
            .finish_non_exhaustive()
    }
}
