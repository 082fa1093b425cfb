//! The task allocation: [`Header`], the per-future vtable, and the untyped handles
//! [`RawTask`] (no ownership) and [`Notified`] (owns the reference of one queued notification).

use std::future::Future;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::Waker;

use super::harness;
use super::state::{Claim, State};
use super::{JoinError, Schedule};
use crate::loom::UnsafeCell;

/// The untyped part of every task. `#[repr(C)]` and first in [`Cell`], so a pointer to the
/// header is a pointer to the cell.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// Next task in the run queue the task sits in (see the module invariants).
    pub(crate) queue_next: UnsafeCell<Option<RawTask>>,
    /// Links in the scheduler's list of live tasks (for shutdown; see the module invariants).
    pub(crate) list_prev: UnsafeCell<Option<RawTask>>,
    pub(crate) list_next: UnsafeCell<Option<RawTask>>,
}

impl Header {
    /// A header with a new task's state and no links. Every task starts with one; a scheduler
    /// also uses it for entries it queues like tasks but that are not tasks (`block_on`'s
    /// handoff node), with a vtable of its own that it never lets the task layer call.
    pub(crate) fn new(vtable: &'static Vtable) -> Header {
        Header {
            state: State::new(),
            vtable,
            queue_next: UnsafeCell::new(None),
            list_prev: UnsafeCell::new(None),
            list_next: UnsafeCell::new(None),
        }
    }
}

/// Functions that know the future's type.
pub(crate) struct Vtable {
    /// Run one step: transition to running, poll (or cancel), and handle the result.
    pub(crate) run: unsafe fn(NonNull<Header>) -> RunResult,
    /// The task was notified while idle: give it to its scheduler ([`Schedule::schedule`]).
    pub(crate) schedule: fn(Notified),
    /// Free the allocation.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// `JoinHandle::poll`: write `Poll::Ready(output)` to `dst` (a
    /// `*mut Poll<Result<T, JoinError>>`) if the output is ready, else register the waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// The `JoinHandle` was dropped.
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    /// Shutdown: drop the future if idle, complete with a cancelled error.
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
}

/// What became of a task after [`RawTask::run`].
#[must_use]
pub(crate) enum RunResult {
    /// Nothing more to do (pending and not woken, finished, or freed).
    Done,
    /// Woken while it ran: the runner queues it again (the runner's reference became the
    /// notification's).
    Requeue(Notified),
}

/// The header and the scheduler's part of a task: the same for every future, so the scheduler
/// reaches its part through a header pointer without knowing the future's type.
#[repr(C)]
pub(crate) struct Head<S> {
    pub(crate) header: Header,
    /// The scheduler's per-task value (hue's: the color the task is a member of). Shared by
    /// reference: its type makes its own rules for who may change what (see the module
    /// invariants).
    pub(crate) scheduler: S,
}

/// The typed allocation.
///
/// Not over-aligned: tokio aligns its cells to 128 bytes against false sharing, but with the
/// system allocator an over-aligned allocation takes the slow `memalign` path, which costs
/// more on every spawn than the false sharing it avoids (BENCHMARKS.md). The color queues,
/// written on every turn, are the ones kept on lines of their own.
#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) head: Head<S>,
    pub(crate) stage: UnsafeCell<Stage<F>>,
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
}

pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// A task pointer without ownership. Copy; the holder must own a reference some other way.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// SAFETY: a task's shared parts are synchronized by its state word and the locks named in the
// module docs; the future itself is `Send` (required by `spawn`).
unsafe impl Send for RawTask {}
// SAFETY: as above.
unsafe impl Sync for RawTask {}

impl RawTask {
    /// Allocates a task for `future`, with `scheduler` as the scheduler's part; the state
    /// starts with three references (the returned `JoinHandle`'s, the scheduler's and the
    /// first notification's).
    pub(crate) fn new<F, S>(future: F, scheduler: S) -> RawTask
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
        S: Schedule,
    {
        let cell = Box::new(Cell {
            head: Head {
                header: Header::new(harness::vtable::<F, S>()),
                scheduler,
            },
            stage: UnsafeCell::new(Stage::Running(future)),
            join_waker: UnsafeCell::new(None),
        });
        let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
        RawTask { ptr }
    }

    pub(crate) fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn as_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `RawTask` is only made for a live task whose holder owns a reference, so
        // the allocation outlives this borrow.
        unsafe { self.ptr.as_ref() }
    }

    /// Runs one step of the task (see [`Vtable::run`]). Consumes the notification's reference.
    pub(crate) fn run(notified: Notified) -> RunResult {
        let raw = notified.into_raw();
        // SAFETY: the notification's reference keeps the task alive; `run` consumes it.
        unsafe { (raw.header().vtable.run)(raw.ptr) }
    }

    /// The scheduler's part of the task.
    ///
    /// # Safety
    /// The task was made by [`RawTask::new`] with scheduler type `S`, and the caller keeps it
    /// alive (owns a reference) for `'a`.
    pub(crate) unsafe fn scheduler<'a, S>(self) -> &'a S {
        // SAFETY: `Cell` is `repr(C)` with its `Head<S>` first, so the header pointer is also a
        // pointer to the head (the caller guarantees `S` and the lifetime).
        &unsafe { self.ptr.cast::<Head<S>>().as_ref() }.scheduler
    }

    /// Claims the task for its scheduler, or flags it (see [`State::try_claim`]).
    pub(crate) fn try_claim(self) -> Claim {
        self.header().state.try_claim()
    }

    /// Gives back a claim; `Some` if the task was notified meanwhile (see
    /// [`State::release_claim`]).
    ///
    /// # Safety
    /// The caller holds the claim ([`Claim::Claimed`]) and gives it up.
    pub(crate) unsafe fn release_claim(self) -> Option<Notified> {
        // SAFETY: on `true` the claim's reference became the notification's.
        self.header()
            .state
            .release_claim()
            .then(|| unsafe { Notified::from_raw(self) })
    }

    /// Whether the task has completed.
    pub(crate) fn is_complete(self) -> bool {
        self.header().state.load().is_complete()
    }

    /// Whether the task is being run (or claimed) right now.
    pub(crate) fn is_running(self) -> bool {
        self.header().state.load().is_running()
    }

    /// `Schedule::rebind` did its work.
    pub(crate) fn clear_rebind(self) {
        self.header().state.clear_rebind();
    }

    pub(crate) fn ref_inc(self) {
        self.header().state.ref_inc();
    }

    /// Drops a reference, freeing the task if it was the last.
    ///
    /// # Safety
    /// The caller owns the reference being dropped and does not use the task afterwards
    /// unless it owns another.
    pub(crate) unsafe fn drop_ref(self) {
        if self.header().state.ref_dec() {
            // SAFETY: that was the last reference.
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }

    /// Drops the future if the task is idle and completes it as cancelled (shutdown path).
    ///
    /// # Safety
    /// The caller owns a reference and has its scheduler's leave to drop the future now if
    /// the task is idle (hue's: no thread runs the task's color).
    pub(crate) unsafe fn shutdown(self) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }
}

/// A task with the reference of one notification: it is (about to be) queued by its scheduler.
/// Dropping it drops that reference.
#[derive(Debug)]
pub(crate) struct Notified(RawTask);

impl Notified {
    /// Takes ownership of a notification reference held as a raw pointer.
    ///
    /// # Safety
    /// The caller owns one notification reference of `raw`, which it hands over.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Notified {
        Notified(raw)
    }

    /// Gives up ownership (e.g. to link the task into an intrusive queue).
    pub(crate) fn into_raw(self) -> RawTask {
        let this = ManuallyDrop::new(self);
        this.0
    }

    pub(crate) fn raw(&self) -> RawTask {
        self.0
    }

    /// Gives the task to its scheduler ([`Schedule::schedule`]).
    pub(crate) fn schedule(self) {
        (self.0.header().vtable.schedule)(self)
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        // SAFETY: we own the notification's reference.
        unsafe { self.0.drop_ref() }
    }
}
