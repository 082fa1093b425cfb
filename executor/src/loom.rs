//! A shim over `std` and `loom`, so the color and task state machines can be model-checked.
//!
//! The task state word, the color queue (its lock and the task links it guards) import their
//! synchronization primitives from here. Under `--cfg loom` they are loom's instrumented types;
//! otherwise the standard ones, and a spin lock for the color queue. `UnsafeCell` has loom's
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
pub(crate) use spin::{queue_lock, QueueLock, SpinGuard as QueueGuard};

/// A spin lock for the color queues' critical sections, which are a handful of pointer moves
/// and never run user code.
///
/// Why not `std::sync::Mutex`: its unlock is an atomic swap (it must learn whether a thread
/// sleeps on it), so a lock/unlock pair costs two read-modify-writes; here the unlock is a plain
/// release store. A color queue is locked two or three times per turn of its color, and that
/// second RMW showed up as the top of the `yield_many` profile. Contention is rare (a color is
/// run by one worker; other threads only push wakes), and a waiter that spins for long yields
/// its thread, so a lock holder that was preempted gets the CPU back.
///
/// Invariant: `value` is accessed only through a `SpinGuard`, and a `SpinGuard` exists only
/// while `locked` is held by its creator (acquired with `Acquire`, released with `Release`), so
/// accesses are exclusive and each holder sees the previous holder's writes.
#[cfg(not(loom))]
mod spin {
    use std::cell::UnsafeCell;
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::{AtomicBool, Ordering::*};

    pub(crate) struct QueueLock<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock hands out exclusive access to `value` (module invariant), so sharing the
    // lock between threads is sharing a `T` by moving access around: `T: Send` suffices.
    unsafe impl<T: Send> Sync for QueueLock<T> {}
    // SAFETY: owning the lock is owning a `T`.
    unsafe impl<T: Send> Send for QueueLock<T> {}

    impl<T> QueueLock<T> {
        pub(crate) const fn new(value: T) -> QueueLock<T> {
            QueueLock {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        #[cold]
        fn lock_contended(&self) {
            let mut spins = 0u32;
            loop {
                while self.locked.load(Relaxed) {
                    if spins < 100 {
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

    pub(crate) struct SpinGuard<'a, T> {
        lock: &'a QueueLock<T>,
    }

    /// Locks `lock` (spinning, then yielding, while another thread holds it).
    #[inline]
    pub(crate) fn queue_lock<T>(lock: &QueueLock<T>) -> SpinGuard<'_, T> {
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
}
