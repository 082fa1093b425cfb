//! The per-future vtable functions: run (poll or cancel), complete, join-handle support,
//! shutdown. Everything here follows the rules in [`super::state`].

use std::future::Future;
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use super::raw::{Cell, Header, RawTask, RunResult, Stage, Vtable};
use super::state::{TransitionToIdle, TransitionToRunning};
use super::waker::waker_ref;
use super::{JoinError, Notified, Schedule};

/// The vtable of tasks running `F`, scheduled by `S`.
pub(super) fn vtable<F, S>() -> &'static Vtable
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    &Vtable {
        run: run::<F, S>,
        schedule: S::schedule,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle: drop_join_handle::<F, S>,
        shutdown: shutdown::<F, S>,
    }
}

/// The typed cell behind a header pointer.
///
/// # Safety
/// `ptr` points at a live `Cell<F, S>` (the vtable made for `F` and `S` is the only caller).
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: `Cell` is `repr(C)` with the header first; the caller guarantees the types.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

unsafe fn run<F: Future, S: Schedule>(ptr: NonNull<Header>) -> RunResult {
    // SAFETY: the vtable for `F` and `S` calls us only with a `Cell<F, S>`.
    let cell = unsafe { cell::<F, S>(ptr) };
    let raw = RawTask::from_raw(ptr);
    match cell.head.header.state.transition_to_running() {
        TransitionToRunning::Success => {}
        TransitionToRunning::Cancelled => {
            // SAFETY: we hold RUNNING.
            unsafe { cancel_and_complete(cell, raw) };
            return RunResult::Done;
        }
        TransitionToRunning::Failed => return RunResult::Done,
        TransitionToRunning::Dealloc => {
            // SAFETY: that was the last reference.
            unsafe { dealloc::<F, S>(ptr) };
            return RunResult::Done;
        }
    }

    let waker = waker_ref(ptr);
    let mut cx = Context::from_waker(&waker);
    let _budget = crate::coop::with_budget();
    let polled = panic::catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: we hold RUNNING, so the stage is ours; the future never moves (it lives in
            // the heap cell until it is dropped in place).
            match unsafe { &mut *stage } {
                // SAFETY: as above: pinned in the heap cell until dropped in place.
                Stage::Running(future) => unsafe { Pin::new_unchecked(future) }.poll(&mut cx),
                _ => unreachable!("a running task's stage holds its future"),
            }
        })
    }));

    match polled {
        Ok(Poll::Ready(output)) => {
            // SAFETY: we hold RUNNING.
            unsafe { complete(cell, raw, Ok(output)) };
            RunResult::Done
        }
        Err(payload) => {
            // SAFETY: we hold RUNNING.
            let err = unsafe { drop_future(cell) }.unwrap_or(JoinError::panic(payload));
            // SAFETY: we hold RUNNING.
            unsafe { complete(cell, raw, Err(err)) };
            RunResult::Done
        }
        Ok(Poll::Pending) => loop {
            match cell.head.header.state.transition_to_idle() {
                TransitionToIdle::Ok => return RunResult::Done,
                TransitionToIdle::OkNotified => {
                    // SAFETY: the runner's reference became the notification's.
                    return RunResult::Requeue(unsafe { Notified::from_raw(raw) });
                }
                TransitionToIdle::OkDealloc => {
                    // SAFETY: that was the last reference.
                    unsafe { dealloc::<F, S>(ptr) };
                    return RunResult::Done;
                }
                TransitionToIdle::Cancelled => {
                    // SAFETY: still RUNNING.
                    unsafe { cancel_and_complete(cell, raw) };
                    return RunResult::Done;
                }
                // Still RUNNING: the scheduler's part is ours to update.
                TransitionToIdle::Rebind => S::rebind(raw),
            }
        },
    }
}

/// Drops the future in place. Returns the error to report if its `Drop` panicked.
///
/// # Safety
/// The caller holds RUNNING.
unsafe fn drop_future<F: Future, S: Schedule>(cell: &Cell<F, S>) -> Option<JoinError> {
    panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: we hold RUNNING. If the old value's `Drop` panics, the assignment still
        // stores `Consumed` on the unwind path, so nothing is dropped twice.
        cell.stage
            .with_mut(|stage| unsafe { *stage = Stage::Consumed });
    }))
    .err()
    .map(JoinError::panic)
}

/// # Safety
/// The caller holds RUNNING.
unsafe fn cancel_and_complete<F: Future, S: Schedule>(cell: &Cell<F, S>, raw: RawTask) {
    // SAFETY: forwarded.
    let err = unsafe { drop_future(cell) }.unwrap_or_else(JoinError::cancelled);
    // SAFETY: forwarded.
    unsafe { complete(cell, raw, Err(err)) };
}

/// Stores the output, marks the task complete, tells the `JoinHandle`, releases the task from
/// its scheduler and drops the runner's reference (and the scheduler's, if it gives it up now).
///
/// # Safety
/// The caller holds RUNNING and one reference (the runner's), which this consumes.
unsafe fn complete<F: Future, S: Schedule>(
    cell: &Cell<F, S>,
    raw: RawTask,
    output: Result<F::Output, JoinError>,
) {
    // SAFETY: we hold RUNNING; the future is gone (`Consumed`) or finished, so this drops
    // nothing that can panic except a previous output, of which there is none.
    cell.stage
        .with_mut(|stage| unsafe { *stage = Stage::Finished(output) });
    let snapshot = cell.head.header.state.transition_to_complete();
    if snapshot.is_rebind() {
        // Set before completion; nothing sets it now. The completer acts for the runner.
        S::rebind(raw);
    }
    let _ = panic::catch_unwind(AssertUnwindSafe(|| {
        if !snapshot.is_join_interested() {
            // No one will read the output: drop it here, still inside the task's color.
            // SAFETY: without join interest at completion the output is ours.
            cell.stage
                .with_mut(|stage| unsafe { *stage = Stage::Consumed });
        } else if snapshot.is_join_waker_set() {
            // SAFETY: JOIN_WAKER is set, so the handle does not write the slot.
            cell.join_waker.with(|w| {
                // SAFETY: as above.
                if let Some(w) = unsafe { &*w } {
                    w.wake_by_ref()
                }
            });
            let after = cell.head.header.state.unset_waker_after_complete();
            if !after.is_join_interested() {
                // SAFETY: the handle is gone and the bit is clear: the slot is ours.
                cell.join_waker.with_mut(|w| unsafe { *w = None });
            }
        }
    }));
    // The scheduler's reference goes now, or later from the scheduler (hue's: at the end of
    // the color's turn).
    let last = if S::release(raw) {
        cell.head.header.state.ref_dec_twice()
    } else {
        cell.head.header.state.ref_dec()
    };
    if last {
        // SAFETY: those were the last references.
        unsafe { dealloc::<F, S>(raw.as_ptr()) };
    }
}

unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: `ptr` came from `Box::leak` of a `Cell<F, S>` in `RawTask::new`, and this is the
    // last reference.
    let cell = unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) };
    // Dropping an unread output can panic; the task is gone either way. The scheduler's part
    // goes with the rest (hue's can still hold the task's color: see `sched::release`).
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(cell)));
}

unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    // SAFETY: the vtable for `F` and `S` calls us only with a `Cell<F, S>`.
    let cell = unsafe { cell::<F, S>(ptr) };
    if can_read_output(cell, waker) {
        // SAFETY: COMPLETE and the handle was interested at completion: the stage is ours.
        let stage = cell
            .stage
            .with_mut(|stage| unsafe { mem::replace(&mut *stage, Stage::Consumed) });
        let output = match stage {
            Stage::Finished(output) => output,
            _ => panic!("JoinHandle polled after it returned its output"),
        };
        // SAFETY: `JoinHandle<T>` passes a `*mut Poll<Result<T, JoinError>>` with
        // `T = F::Output` (it was made by `spawn` for this `F`).
        unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(output) };
    }
}

/// Whether the output is ready; if not, make sure `waker` is the registered join waker.
fn can_read_output<F: Future, S: Schedule>(cell: &Cell<F, S>, waker: &Waker) -> bool {
    let state = &cell.head.header.state;
    let snapshot = state.load();
    if snapshot.is_complete() {
        return true;
    }
    let res = if snapshot.is_join_waker_set() {
        // SAFETY: with JOIN_WAKER set the runtime only reads the slot; so do we.
        let same = cell
            .join_waker
            .with(|w| unsafe { &*w }.as_ref().is_some_and(|w| w.will_wake(waker)));
        if same {
            return false;
        }
        state
            .unset_join_waker()
            .and_then(|_| set_join_waker(cell, waker))
    } else {
        set_join_waker(cell, waker)
    };
    match res {
        Ok(_) => false,
        Err(snapshot) => {
            debug_assert!(snapshot.is_complete());
            true
        }
    }
}

fn set_join_waker<F: Future, S: Schedule>(
    cell: &Cell<F, S>,
    waker: &Waker,
) -> Result<super::state::Snapshot, super::state::Snapshot> {
    // SAFETY: JOIN_WAKER is clear, so the slot is the handle's to write.
    cell.join_waker
        .with_mut(|w| unsafe { *w = Some(waker.clone()) });
    let res = cell.head.header.state.set_join_waker();
    if res.is_err() {
        // SAFETY: the bit was not set, so the slot is still ours.
        cell.join_waker.with_mut(|w| unsafe { *w = None });
    }
    res
}

unsafe fn drop_join_handle<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable for `F` and `S` calls us only with a `Cell<F, S>`.
    let cell = unsafe { cell::<F, S>(ptr) };
    let (prev, next) = cell.head.header.state.transition_to_join_handle_dropped();
    if prev.is_complete() {
        // The output is ours; its `Drop` may panic, which must not tear the runtime.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: interested at completion, so the stage is the handle's.
            cell.stage
                .with_mut(|stage| unsafe { *stage = Stage::Consumed });
        }));
    }
    if !next.is_join_waker_set() {
        // SAFETY: the bit is clear and the handle is going away: no one else uses the slot.
        cell.join_waker.with_mut(|w| unsafe { *w = None });
    }
    // SAFETY: the handle's reference.
    unsafe { RawTask::from_raw(ptr).drop_ref() };
}

/// Consumes one reference of the caller's, used as the runner's if the task was idle.
unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable for `F` and `S` calls us only with a `Cell<F, S>`.
    let cell = unsafe { cell::<F, S>(ptr) };
    let raw = RawTask::from_raw(ptr);
    if cell.head.header.state.transition_to_shutdown() {
        // SAFETY: we took RUNNING; the caller's reference is the runner's.
        unsafe { cancel_and_complete(cell, raw) };
    } else {
        // SAFETY: the caller's reference.
        unsafe { raw.drop_ref() };
    }
}
