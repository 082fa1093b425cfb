//! The hand-written `RawWakerVTable`: a waker is a task pointer plus one reference.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::raw::{Header, RawTask};
use super::state::TransitionToNotified;
use super::Notified;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker for the task at `ptr` that borrows the caller's reference instead of owning one.
/// `ManuallyDrop` so that dropping it does not drop a reference; cloning it makes an owning one.
pub(super) fn waker_ref(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(ptr.as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable functions below uphold the RawWaker contract for task pointers.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

fn task(data: *const ()) -> RawTask {
    // SAFETY: wakers are only made from non-null task pointers.
    RawTask::from_raw(unsafe { NonNull::new_unchecked(data as *mut Header) })
}

unsafe fn clone(data: *const ()) -> RawWaker {
    task(data).ref_inc();
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    let raw = task(data);
    match raw.header().state.transition_to_notified_by_val() {
        // SAFETY: the waker's reference became the notification's.
        TransitionToNotified::Submit => unsafe { Notified::from_raw(raw) }.schedule(),
        TransitionToNotified::DoNothing => {}
        // SAFETY: that was the last reference.
        TransitionToNotified::Dealloc => unsafe { (raw.header().vtable.dealloc)(raw.as_ptr()) },
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    let raw = task(data);
    match raw.header().state.transition_to_notified_by_ref() {
        // SAFETY: the transition made a reference for the notification.
        TransitionToNotified::Submit => unsafe { Notified::from_raw(raw) }.schedule(),
        TransitionToNotified::DoNothing | TransitionToNotified::Dealloc => {}
    }
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the waker owned a reference.
    unsafe { task(data).drop_ref() }
}
