//! [`ColorCell`]: state owned by a color (S9).
//!
//! # Soundness
//!
//! `with` gives a `&mut T` with no lock. Two things make that sound:
//!
//! 1. A borrow flag (an `AtomicBool` taken with `swap(true, Acquire)` and released with a
//!    `Release` store) guards the value: at most one `&mut T` exists at a time, from any thread,
//!    and each borrower sees the previous one's writes. This alone would be a try-lock.
//! 2. The color check is what makes the flag never contended in a correct program: `with` only
//!    proceeds on a thread that is polling a task (or `block_on`'s future) of the cell's color,
//!    and by S1 no two such polls run at once; a `with` runs to completion inside one poll (it
//!    takes a closure, so no borrow survives an `.await`). So the only way to find the flag
//!    taken is re-entrance (a `with` inside a `with` on the same cell), which is refused, or two
//!    runtimes using the same color number with one cell, which is refused the same way instead
//!    of racing.
//!
//! So the cost of `with` is one uncontended atomic swap and one store, and misuse is an error,
//! never undefined behaviour.

use std::cell::UnsafeCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering::*};

use crate::sched;
use crate::Color;

/// State that only tasks running in one color may touch, with no lock.
///
/// Tasks of the cell's color reach the value with [`with`](Self::with); other code first moves
/// into the color with [`in_color`](crate::in_color) (or [`recolor`](crate::recolor)). Because
/// tasks of one color never run at once (S1), this is the libasync-smp way of owning state:
/// the critical section is the code that runs in the color.
///
/// `ColorCell<T>` is `Sync` when `T: Send`: share it with an `Arc` or a `static`.
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
    borrowed: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through the borrow flag (module docs), which hands out one
// `&mut T` at a time and orders the borrowers; so sharing the cell moves `T` between threads,
// which `T: Send` allows.
unsafe impl<T: Send> Sync for ColorCell<T> {}

/// Why [`ColorCell::try_with`] refused.
#[derive(Clone, PartialEq, Eq)]
pub struct WrongColor {
    cell: Color,
    current: Option<Color>,
    reentrant: bool,
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
}

impl fmt::Display for WrongColor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
            .finish()
    }
}

impl std::error::Error for WrongColor {}

/// Releases the borrow flag, also when the closure panics.
struct Borrow<'a>(&'a AtomicBool);

impl Drop for Borrow<'_> {
    fn drop(&mut self) {
        self.0.store(false, Release);
    }
}

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
            borrowed: AtomicBool::new(false),
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
    /// or if the cell is already borrowed (re-entrance).
    ///
    /// ```
    /// # use hue_executor::{Color, ColorCell};
    /// let cell = ColorCell::new(Color::new(1), 5);
    /// let err = cell.try_with(|v| *v).unwrap_err(); // not inside any task
    /// assert_eq!(err.current_color(), None);
    /// ```
    pub fn try_with<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R, WrongColor> {
        let current = sched::running_color();
        if current != Some(self.color) {
            return Err(WrongColor {
                cell: self.color,
                current,
                reentrant: false,
            });
        }
        if self.borrowed.swap(true, Acquire) {
            return Err(WrongColor {
                cell: self.color,
                current,
                reentrant: true,
            });
        }
        let _borrow = Borrow(&self.borrowed);
        // SAFETY: we hold the borrow flag, so this is the only reference to the value until
        // `_borrow` releases it (module docs).
        Ok(f(unsafe { &mut *self.value.get() }))
    }

    /// Runs `f` with the value. The current task must be in the cell's color.
    ///
    /// # Panics
    ///
    /// From another color or outside any task (the message names both colors), and on a
    /// re-entrant `with` on the same cell. See [`try_with`](Self::try_with).
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
