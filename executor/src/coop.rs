//! The cooperative budget (S7 inside one task).
//!
//! A color's turn is bounded (a batch of tasks), but one task could still keep its worker
//! forever if every resource it awaits is always ready: a socket with data always waiting,
//! a channel that is never empty. So each poll of a task gets a budget of [`BUDGET`]
//! operations. Resources (hue-reactor's sockets and timers, or your own) call
//! [`poll_proceed`] before doing an operation; once the budget is spent it answers `Pending`
//! after waking the task, which then goes to the back of its color's queue and the worker
//! moves on. The budget is reset before every poll of a task and of `block_on`'s future.
//!
//! Outside a task (a future polled by hand, on a thread with no runtime) the budget is
//! unlimited. The count lives in a thread-local cell: the cost of an operation is one
//! thread-local read and write. The figure 128 is tokio's; hue's batches of 64 tasks a color
//! turn make a task's worst case 128 operations times 64 tasks before another color runs.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Operations a task may do in one poll before a resource makes it yield.
pub const BUDGET: u16 = 128;

/// The value that means "not inside a task: no limit".
const UNLIMITED: u16 = u16::MAX;

thread_local! {
    static LEFT: Cell<u16> = const { Cell::new(UNLIMITED) };
}

/// Gives the coming poll a full budget; returns a guard that restores the previous budget
/// (polls nest: `block_on` on a blocking thread inside a task, a section inside a poll).
pub(crate) fn with_budget() -> ResetGuard {
    let previous = LEFT
        .try_with(|left| left.replace(BUDGET))
        .unwrap_or(UNLIMITED);
    ResetGuard(previous)
}

pub(crate) struct ResetGuard(u16);

impl Drop for ResetGuard {
    fn drop(&mut self) {
        let _ = LEFT.try_with(|left| left.set(self.0));
    }
}

/// Asks for one unit of the running task's budget before an operation.
///
/// `Ready` hands out a [`Progress`]: if the operation then turns out not to be possible (it
/// would block), drop the `Progress` without calling [`Progress::made_progress`] and the unit
/// is given back. `Pending` means the budget is spent: the task has been woken and will run
/// again after the other runnable tasks of its worker had their turn.
///
/// ```
/// use std::future::poll_fn;
/// use std::task::Poll;
///
/// // A resource that is always ready still lets other tasks run.
/// let rt = hue_executor::Runtime::builder().workers(1).build()?;
/// let ops = rt.block_on(async {
///     let mut ops = 0u32;
///     poll_fn(|cx| loop {
///         match hue_executor::coop::poll_proceed(cx) {
///             Poll::Ready(mut progress) => {
///                 progress.made_progress();
///                 ops += 1;
///             }
///             Poll::Pending => return Poll::Ready(()),
///         }
///     })
///     .await;
///     ops
/// });
/// assert_eq!(ops, u32::from(hue_executor::coop::BUDGET));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<Progress> {
    let left = LEFT.try_with(Cell::get).unwrap_or(UNLIMITED);
    match left {
        UNLIMITED => Poll::Ready(Progress { taken: false }),
        0 => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        n => {
            let _ = LEFT.try_with(|l| l.set(n - 1));
            Poll::Ready(Progress { taken: true })
        }
    }
}

/// Whether the running task still has budget left (always `true` outside a task).
///
/// ```
/// assert!(hue_executor::coop::has_budget_remaining());
/// ```
pub fn has_budget_remaining() -> bool {
    LEFT.try_with(Cell::get).unwrap_or(UNLIMITED) != 0
}

/// One unit of budget, handed out by [`poll_proceed`]; given back on drop unless the
/// operation made progress.
#[derive(Debug)]
#[must_use = "drop it after the operation, calling `made_progress` if the operation happened"]
pub struct Progress {
    taken: bool,
}

impl Progress {
    /// The operation happened: keep the unit spent.
    pub fn made_progress(&mut self) {
        self.taken = false;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.taken {
            let _ = LEFT.try_with(|left| {
                let n = left.get();
                if n != UNLIMITED {
                    left.set(n + 1);
                }
            });
        }
    }
}
