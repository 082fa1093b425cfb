//! A spin lock for the color queues' critical sections, which are a handful of pointer moves
//! and never run user code.
//!
//! Why not `std::sync::Mutex`: its unlock is an atomic swap (it must learn whether a thread
//! sleeps on it), so a lock/unlock pair costs two read-modify-writes; here the unlock is a plain
//! release store. A color queue is locked two or three times per turn of its color, so that
//! second read-modify-write would be paid on every turn. Contention is rare (a color is run by
//! one worker; other threads only push wakes), and a waiter that spins for long yields its
//! thread, so a lock holder that was preempted gets the CPU back.
//!
//! Invariant: `value` is accessed only through a [`SpinGuard`], and a `SpinGuard` exists only
//! while `locked` is held by its creator (acquired with `Acquire`, released with `Release`), so
//! accesses are exclusive and each holder sees the previous holder's writes.
//!
//! Under `--cfg loom` the color queues use loom's `Mutex` instead (see [`crate::loom`]), so the
//! models check the protocol built on the lock; this lock itself is not model-checked.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering::*};

/// Spins this many times on a held lock before it starts yielding the thread.
const SPINS_BEFORE_YIELD: u32 = 100;

pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out exclusive access to `value` (module invariant), so sharing the
// lock between threads is sharing a `T` by moving access around: `T: Send` suffices.
unsafe impl<T: Send> Sync for SpinLock<T> {}
// SAFETY: owning the lock is owning a `T`.
unsafe impl<T: Send> Send for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub(crate) const fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0u32;
        loop {
            while self.locked.load(Relaxed) {
                if spins < SPINS_BEFORE_YIELD {
                    std::hint::spin_loop();
                    spins += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Acquire, Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// A held [`SpinLock`]; unlocks on drop.
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

/// Locks `lock` (spinning, then yielding, while another thread holds it).
#[inline]
pub(crate) fn spin_lock<T>(lock: &SpinLock<T>) -> SpinGuard<'_, T> {
    if lock
        .locked
        .compare_exchange_weak(false, true, Acquire, Relaxed)
        .is_err()
    {
        lock.lock_contended();
    }
    SpinGuard { lock }
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock (module invariant).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock (module invariant).
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Release);
    }
}
