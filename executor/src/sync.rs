//! Small synchronization helpers shared by hue's crates (the reactor uses them too). Not part
//! of the runtime's API.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, ignoring poisoning.
///
/// For the runtime's own locks, under which no user code runs: a poisoned one can only come
/// from a bug in hue that already panicked, and refusing the lock from then on would turn that
/// one panic into a panic on every thread that touches the runtime.
///
/// ```
/// use std::sync::Mutex;
/// let m = Mutex::new(1);
/// *hue_executor::sync::lock(&m) += 1;
/// assert_eq!(*hue_executor::sync::lock(&m), 2);
/// ```
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
