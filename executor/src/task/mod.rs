//! The task lifecycle: one allocation per task, a state word, a hand-written waker, the
//! `JoinHandle`. It knows nothing about colors or workers: it reaches its scheduler only
//! through the [`Schedule`] trait, whose functions sit in every task's vtable (as tokio's
//! `task::Schedule`, or async-task's schedule function). The scheduler in turn drives tasks
//! with [`RawTask::run`] and the handles below.
//!
//! # Memory layout
//!
//! A task is one `Cell<F, S>` on the heap (`#[repr(C)]`, header first, so a `NonNull<Header>` is
//! also a pointer to the cell):
//!
//! ```text
//! Header { state, vtable, queue_next, list_prev, list_next }   40 bytes
//! scheduler: S          the scheduler's part (hue's: the task's color, 24 bytes)
//! stage: Running(F) | Finished(Result<F::Output, JoinError>) | Consumed
//! join_waker: Option<Waker>
//! ```
//!
//! # Invariants (who may touch what)
//!
//! - `state`: atomics only; see [`state`] for the bits and the transition rules.
//! - `stage`: the holder of `RUNNING` (the scheduler's runner, or its shutdown path once
//!   nothing runs the task); after `COMPLETE`, the `JoinHandle` if it was interested at
//!   completion, else the completer. hue's scheduler gives out `RUNNING` only inside the
//!   task's color, so a future is only ever polled or dropped inside its color's exclusion,
//!   which is what S1 needs for `Drop` code too.
//! - `join_waker`: see [`state`] (`JOIN_WAKER`).
//! - `scheduler`: the scheduler's own type, shared by reference; it states its own rules (hue's
//!   `TaskColor`: changed only by the holder of `RUNNING`, or of the task's one notification,
//!   or of a claim). Dropped with the allocation.
//! - `queue_next`: owned by whoever holds the task in a run queue (hue: the color queue's
//!   lock while the task is queued there, or the worker's private batch after it took the task
//!   out under that lock).
//! - `list_prev`, `list_next`: owned by the scheduler's list of live tasks (hue: the member
//!   list of the task's color, under that color queue's lock).
//!
//! A task is freed when its reference count reaches zero, which can only happen after it
//! completed: the scheduler holds one of the three references a task starts with, and gives
//! it up when [`Schedule::release`] says so or later.

pub(crate) mod error;
mod harness;
mod join;
pub(crate) mod raw;
pub(crate) mod state;
mod waker;

pub use error::JoinError;
pub use join::JoinHandle;
pub(crate) use raw::{Header, Notified, RawTask, RunResult, Vtable};
pub(crate) use state::Claim;

/// What the task lifecycle needs from a scheduler. Every task stores a value of the
/// implementing type (its scheduler's part, see the module docs), and the lifecycle calls
/// back through these functions.
pub(crate) trait Schedule: Send + Sized + 'static {
    /// A waker or `JoinHandle::abort` notified the idle task: queue it. `task` owns the
    /// notification's reference.
    fn schedule(task: Notified);

    /// The task completed (its output is stored and `COMPLETE` is set), on the thread that
    /// completed it. Returns `true` if the completer drops the scheduler's reference together
    /// with its own; `false` if the scheduler keeps it and drops it later with
    /// [`RawTask::drop_ref`].
    fn release(task: RawTask) -> bool;

    /// `REBIND` is set (the scheduler flagged the task with [`RawTask::try_claim`] while it
    /// was running or notified): the caller holds `RUNNING` (or just completed the task) and
    /// must update the task's scheduler part as the flag asked, then
    /// [`RawTask::clear_rebind`]. Called before the task's runner gives up `RUNNING`.
    fn rebind(task: RawTask);
}
