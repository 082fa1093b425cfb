//! A shim over `std` and `loom`, so the color and task state machines can be model-checked.
//!
//! The task state word, the color queue (its lock and the task links it guards) import their
//! synchronization primitives from here. Under `--cfg loom` they are loom's instrumented types;
//! otherwise the standard ones, and [`crate::spin_lock`] for the color queue. `UnsafeCell` has loom's
//! `with`/`with_mut` shape in both builds. (The rest of the scheduler, which the models do not
//! cover, uses `std` directly.)

#[cfg(loom)]
pub(crate) use loom::sync::{atomic, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic;

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// `std::cell::UnsafeCell` with loom's access API.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }
}

#[cfg(not(loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a mutable raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// The lock of a color queue: under loom, loom's `Mutex`, so the models check the protocol.
#[cfg(loom)]
pub(crate) type QueueLock<T> = Mutex<T>;

/// A held [`QueueLock`].
#[cfg(loom)]
pub(crate) type QueueGuard<'a, T> = MutexGuard<'a, T>;

/// Locks a color queue's lock.
#[cfg(loom)]
pub(crate) fn queue_lock<T>(m: &QueueLock<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap()
}

#[cfg(not(loom))]
pub(crate) use crate::spin_lock::{
    spin_lock as queue_lock, SpinGuard as QueueGuard, SpinLock as QueueLock,
};
