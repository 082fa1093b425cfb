//! The task lifecycle: one allocation per task, a state word, a hand-written waker, the
//! `JoinHandle`. Scheduling policy (colors, workers) lives in [`crate::sched`]; this module only
//! calls it through three functions: `sched::schedule` (a task was notified), `sched::release`
//! (a task finished: leave its color) and the run loop calling [`RawTask::run`].
//!
//! # Memory layout
//!
//! A task is one `Cell<F>` on the heap (`#[repr(C)]`, header first, so a `NonNull<Header>` is
//! also a pointer to the cell):
//!
//! ```text
//! Header { state, vtable, queue_next, color, member links }   48 bytes
//! stage: Running(F) | Finished(Result<F::Output, JoinError>) | Consumed
//! join_waker: Option<Waker>
//! ```
//!
//! # Invariants (who may touch what)
//!
//! - `state`: atomics only; see [`state`] for the bits and the transition rules.
//! - `stage`: the holder of `RUNNING` (a worker inside the task's color, or the shutdown path
//!   once no worker runs); after `COMPLETE`, the `JoinHandle` if it was interested at
//!   completion, else the completer. So a future is only ever polled or dropped inside its
//!   color's exclusion, which is what S1 needs for `Drop` code too.
//! - `join_waker`: see [`state`] (`JOIN_WAKER`).
//! - `queue_next`: owned by the color queue's lock while the task is queued there, or by the
//!   worker's private batch after the worker took it out under that lock.
//! - `color`: a strong reference to the task's color queue (its membership), from `join` to
//!   `release` (or, for tasks completed by shutdown, to deallocation). Read or written by the
//!   thread that holds the right to schedule or run the task (see [`state`]).
//! - member links: guarded by the lock of the color-map shard that the task's color lives in.
//!
//! A task is freed when its reference count reaches zero, which can only happen after it
//! completed (the color membership holds a reference until `release`).

pub(crate) mod error;
mod harness;
mod join;
pub(crate) mod raw;
pub(crate) mod state;
mod waker;

pub use error::JoinError;
pub use join::JoinHandle;
pub(crate) use raw::{Notified, RawTask, RunResult};
