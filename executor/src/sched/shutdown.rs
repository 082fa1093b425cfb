//! Shutting a runtime down (S8): every task's future is dropped exactly once, one at a time
//! and never while its color runs elsewhere, and the workers are joined.
//!
//! The steps, numbered where [`shutdown`] does them:
//!
//! 1. Set `shutdown` (once: a second call returns at once) and wake every worker and the
//!    driver. Workers stop between colors: no new turn starts.
//! 2. Wait for the workers to exit, at most `timeout` if one is given. A worker stuck in a
//!    poll for longer is detached, and so is the caller's own worker when a task drops the
//!    runtime (it cannot be waited for from inside its poll).
//! 3. Close the color map: a spawn from now on yields a cancelled `JoinHandle` at once, and
//!    buried queues are dropped rather than kept.
//! 4. Close every color queue (a wake from now on drops its notification) and drop the queued
//!    notifications.
//! 5. Drop the future of every live task, one at a time, so S1 still holds. The tasks of a
//!    color still `Running` (its worker is stuck, or is the caller's) are left alone, never
//!    dropped under their owner's feet; they leak, as tokio's do. A lone color's task is
//!    dropped unless it is running (`RawTask::shutdown` takes it only when idle).
//! 6. Empty the inboxes and clear the color map, which breaks the cycle between the queues
//!    and the shared state they point at.
//! 7. Shut the blocking pool: queued closures are cancelled; running ones are waited for
//!    (until the same deadline, if any; then their threads are left to finish on their own).
//! 8. If every worker was joined, no thread can be inside this runtime's colors any more:
//!    retire its id, so `ColorCell`s it owned may go to another runtime.
//! 9. Shut the driver down, so sources and timers that outlive their tasks (moved out of the
//!    runtime) do not wait for a driver nobody will run again.

use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::block_on::is_handoff;
use super::color_queue::RunState;
use super::context::context;
use super::shared::Shared;
use crate::sync::lock;
use crate::task::Notified;

/// Counts exited workers, so shutdown can wait for them with a timeout.
#[derive(Default)]
pub(crate) struct Exited {
    count: Mutex<usize>,
    cv: Condvar,
}

/// Held by a worker thread for its life: counts it as exited when dropped (also by panic).
pub(crate) struct ExitGuard(pub(crate) Arc<Exited>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        *lock(&self.0.count) += 1;
        self.0.cv.notify_all();
    }
}

/// Shuts `shared`'s runtime down (the steps are in the module docs). `threads` are its worker
/// threads; they are joined, or detached if they do not exit in time.
pub(crate) fn shutdown(
    shared: &Arc<Shared>,
    threads: &mut Vec<thread::JoinHandle<()>>,
    exited: &Exited,
    timeout: Option<Duration>,
) {
    // 1. Stop the workers.
    if shared.shutdown.swap(true, SeqCst) {
        return;
    }
    for i in 0..shared.workers.len() {
        shared.unpark_worker(i);
    }
    if let Some(driver) = shared.driver.get() {
        driver.unpark();
    }

    // 2. Wait for them.
    let on_own_worker = context(|ctx| ctx.is_some_and(|c| c.worker_of(shared).is_some()));
    let n = threads.len() - usize::from(on_own_worker);
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut count = lock(&exited.count);
    while *count < n {
        match deadline {
            None => count = exited.cv.wait(count).unwrap_or_else(|e| e.into_inner()),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                count = exited
                    .cv
                    .wait_timeout(count, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
    }
    let all_exited = *count == n && !on_own_worker;
    drop(count);
    if all_exited {
        for t in threads.drain(..) {
            let _ = t.join();
        }
    } else {
        threads.clear(); // detach the stuck ones
    }
    // No worker runs a color now, except stuck ones (and the caller's), whose colors are
    // `Running`.

    // 3. No more joins.
    shared.colors.close();

    // 4. No more wakes; drop the queued ones.
    let (queues, lone) = shared.colors.entries();
    for queue in &queues {
        let mut queued = queue.tasks.close();
        while let Some(task) = queued.pop() {
            if !is_handoff(task) {
                // SAFETY: the queue owned the entry's notification reference.
                drop(unsafe { Notified::from_raw(task) });
            }
        }
    }

    // 5. Drop every live task's future, but those of a color that still runs.
    let mut members = Vec::new();
    for queue in &queues {
        queue.tasks.members_snapshot(&mut members);
        // A color not `Running` now never runs again: its queue is closed. One `Running` for
        // a lone task's runner that has not adopted it yet (`lone`) runs only if that task
        // runs: its worker is stuck in it.
        let running = queue.tasks.state() == RunState::Running
            && (!queue.tasks.is_awaiting() || members.iter().any(|t| t.is_running()));
        for task in members.drain(..) {
            if running {
                // SAFETY: the reference `members_snapshot` took for us.
                unsafe { task.drop_ref() };
            } else {
                // SAFETY: that reference is consumed; no thread runs this color.
                unsafe { task.shutdown() };
            }
        }
    }
    for task in lone {
        // A lone color runs exactly when its task does; `shutdown` leaves a running task
        // alone (its worker is stuck in it).
        // SAFETY: `entries` took the reference we give up here.
        unsafe { task.shutdown() };
    }

    // 6. Empty the inboxes, clear the map.
    for w in shared.workers.iter() {
        while !w.inbox.is_empty() {
            let _ = w.inbox.steal();
        }
    }
    shared.colors.clear();

    // 7. The blocking pool.
    shared.blocking.shutdown(deadline);

    // 8. Color cells may move on.
    if all_exited {
        crate::color_cell::retire_runtime(shared.id);
    }

    // 9. The driver.
    if let Some(driver) = shared.driver.get() {
        driver.shutdown();
    }
}
