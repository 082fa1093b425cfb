//! The task allocation: [`Header`], the per-future vtable, and the untyped handles
//! [`RawTask`] (no ownership) and [`Notified`] (owns the reference of one queued notification).

use std::future::Future;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::Waker;

use super::harness;
use super::state::State;
use super::JoinError;
use crate::loom::UnsafeCell;
use crate::sched::ColorQueue;

/// The untyped part of every task. `#[repr(C)]` and first in [`Cell`], so a pointer to the
/// header is a pointer to the cell.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// Next task in the color queue's FIFO (see the module invariants).
    pub(crate) queue_next: UnsafeCell<Option<RawTask>>,
    /// The color queue this task is a member of: a strong reference made with
    /// `Arc::into_raw`, or null before `join` / after `release`.
    pub(crate) color: UnsafeCell<*const ColorQueue>,
    /// Links in the color-map shard's list of live tasks (for shutdown).
    pub(crate) member_prev: UnsafeCell<Option<RawTask>>,
    pub(crate) member_next: UnsafeCell<Option<RawTask>>,
}

/// Functions that know the future's type.
pub(crate) struct Vtable {
    /// Run one step: transition to running, poll (or cancel), and handle the result.
    pub(crate) run: unsafe fn(NonNull<Header>) -> RunResult,
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
    /// Woken while it ran: put it back at the tail of its color's queue.
    Requeue(Notified),
}

/// The typed allocation.
///
/// Not over-aligned: tokio aligns its cells to 128 bytes against false sharing, but with the
/// system allocator an over-aligned allocation takes the slow `memalign` path, and measured
/// here that doubled the cost of a spawn (`spawn_many_local`, `ping_pong`) for a smaller gain
/// on `yield_many`. Color queues, written on every turn, are the ones aligned.
#[repr(C)]
pub(crate) struct Cell<F: Future> {
    pub(crate) header: Header,
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
    /// Allocates a task for `future`; the state starts with three references (the returned
    /// `JoinHandle`'s, the color membership's and the first notification's).
    pub(crate) fn new<F>(future: F) -> RawTask
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: harness::vtable::<F>(),
                queue_next: UnsafeCell::new(None),
                color: UnsafeCell::new(std::ptr::null()),
                member_prev: UnsafeCell::new(None),
                member_next: UnsafeCell::new(None),
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

    /// The color queue the task is a member of (null if none).
    ///
    /// # Safety
    /// The caller holds the right to schedule or run the task (module invariants).
    pub(crate) unsafe fn color_queue(self) -> *const ColorQueue {
        // SAFETY: by the caller's contract no one writes the field concurrently.
        self.header().color.with(|p| unsafe { *p })
    }

    /// Sets the color queue pointer (see [`color_queue`](Self::color_queue)).
    ///
    /// # Safety
    /// As for `color_queue`, and the caller transfers/accounts the strong reference.
    pub(crate) unsafe fn set_color_queue(self, cq: *const ColorQueue) {
        // SAFETY: by the caller's contract no one reads or writes the field concurrently.
        self.header().color.with_mut(|p| unsafe { *p = cq })
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
    /// The caller owns a reference; no worker may be running the task's color.
    pub(crate) unsafe fn shutdown(self) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }
}

/// A task with the reference of one notification: it is (about to be) queued in its color.
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
}

impl Drop for Notified {
    fn drop(&mut self) {
        // SAFETY: we own the notification's reference.
        unsafe { self.0.drop_ref() }
    }
}
