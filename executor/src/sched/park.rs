//! Parking idle workers, and choosing whom to wake.
//!
//! A worker with nothing to run parks: on the [`Driver`] if it wins the driver's try-lock (the
//! paper's "select callback", run by one idle worker at a time), otherwise on its own condvar.
//! A [`Parker`] holds a token, so an `unpark` that comes before the `park` is not lost.
//!
//! [`Idle`] counts searching (stealing) and sleeping workers. Whoever makes work available
//! calls [`Idle::notify_one`]: if nobody is searching and someone sleeps, one sleeper is woken
//! to come and steal (S2). A worker goes to sleep only after registering as a sleeper and then
//! re-checking the queues, and a notifier checks for sleepers only after a `SeqCst` fence that
//! follows its push; so either the notifier sees the sleeper or the sleeper sees the work.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Condvar, Mutex};

use crate::driver::Driver;
use crate::sync::lock;

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

pub(crate) struct Parker {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// Blocks until `unpark` (or a spurious return of the driver). `driver` is given if the
    /// caller holds the driver lock: then it parks on the driver.
    pub(crate) fn park(&self, driver: Option<&dyn Driver>) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        match driver {
            Some(driver) => {
                if self
                    .state
                    .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
                    .is_err()
                {
                    // Notified in between.
                    self.state.swap(EMPTY, SeqCst);
                    return;
                }
                driver.park(None);
                self.state.swap(EMPTY, SeqCst);
            }
            None => {
                let mut guard = lock(&self.mutex);
                if self
                    .state
                    .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
                    .is_err()
                {
                    self.state.swap(EMPTY, SeqCst);
                    return;
                }
                loop {
                    guard = self.condvar.wait(guard).unwrap_or_else(|e| e.into_inner());
                    if self
                        .state
                        .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                        .is_ok()
                    {
                        return;
                    }
                }
            }
        }
    }

    /// Makes the current or next `park` return. Returns whether the worker was parked.
    pub(crate) fn unpark(&self, driver: Option<&dyn Driver>) -> bool {
        // A token is already pending: nothing to do (and no write to a line the worker reads).
        if self.state.load(SeqCst) == NOTIFIED {
            return false;
        }
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => false,
            PARKED_CONDVAR => {
                // Taking the lock orders this notify after the parker's wait began.
                drop(lock(&self.mutex));
                self.condvar.notify_one();
                true
            }
            PARKED_DRIVER => {
                if let Some(driver) = driver {
                    driver.unpark();
                }
                true
            }
            actual => unreachable!("bad parker state {actual}"),
        }
    }
}

pub(crate) struct Idle {
    num_workers: usize,
    num_searching: AtomicUsize,
    num_sleeping: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        Idle {
            num_workers,
            num_searching: AtomicUsize::new(0),
            num_sleeping: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
        }
    }

    /// Work was made available. Returns the worker to unpark, if one should come and look;
    /// that worker is counted as searching from now on.
    pub(crate) fn notify_one(&self) -> Option<usize> {
        std::sync::atomic::fence(SeqCst);
        if self.num_searching.load(SeqCst) != 0 || self.num_sleeping.load(SeqCst) == 0 {
            return None;
        }
        let mut sleepers = lock(&self.sleepers);
        if self.num_searching.load(SeqCst) != 0 {
            return None;
        }
        let worker = sleepers.pop()?;
        self.num_sleeping.fetch_sub(1, SeqCst);
        self.num_searching.fetch_add(1, SeqCst);
        Some(worker)
    }

    /// At most half of the workers (at least one) search at once.
    pub(crate) fn try_start_searching(&self) -> bool {
        let n = self.num_searching.load(SeqCst);
        if 2 * n >= self.num_workers.max(2) {
            return false;
        }
        self.num_searching.fetch_add(1, SeqCst);
        true
    }

    /// Returns whether the caller was the last searcher.
    pub(crate) fn stop_searching(&self) -> bool {
        self.num_searching.fetch_sub(1, SeqCst) == 1
    }

    /// A cheap hint: someone sleeps and no one searches, so `notify_one` would wake someone.
    pub(crate) fn may_notify(&self) -> bool {
        self.num_sleeping.load(Relaxed) != 0 && self.num_searching.load(Relaxed) == 0
    }

    pub(crate) fn num_searching(&self) -> usize {
        self.num_searching.load(SeqCst)
    }

    pub(crate) fn register_sleeper(&self, worker: usize) {
        let mut sleepers = lock(&self.sleepers);
        sleepers.push(worker);
        self.num_sleeping.fetch_add(1, SeqCst);
    }

    /// Returns `true` if the worker was still registered (it woke by itself or by a direct
    /// unpark); `false` if a notifier took it off the list, which counted it as searching.
    pub(crate) fn unregister_sleeper(&self, worker: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        if let Some(pos) = sleepers.iter().position(|&w| w == worker) {
            sleepers.swap_remove(pos);
            self.num_sleeping.fetch_sub(1, SeqCst);
            true
        } else {
            false
        }
    }
}
