//! The colored scheduler: color queues, workers, stealing, parking (docs/DESIGN.md, sections
//! 3-6, tells the same story from further away).
//!
//! # Shape
//!
//! - Each active color has one [`ColorQueue`]: a FIFO of its runnable tasks and a run state
//!   (see [`color_queue`]). A worker's run queue holds *colors*: stealing a color moves one
//!   handle, so S1 holds by construction.
//! - Each color has a **home** worker, first a hash of the color (as in the paper) — except a
//!   [`Color::fresh`] color spawned on a worker, which starts on that worker (see
//!   [`ColorQueue::initial_home`]) — then the last worker that ran it: a stolen color moves
//!   home to the thief, so its state stays in one cache. A color that becomes runnable on its
//!   home worker goes to that worker's local deque; from anywhere else it goes to the home's
//!   inbox, and the home is unparked ([`Shared::schedule_color`]).
//! - Idle workers steal queued colors (whole colors, never a running one: a running color is in
//!   no queue) from the other workers' deques and inboxes, starting at a random victim, at most
//!   half of the workers searching at once. Whoever queues a color wakes a sleeping worker to
//!   come and steal, unless no one could take it sooner than its worker will: a color queued on
//!   its worker's otherwise empty deque during a poll runs right after that poll (tokio's LIFO
//!   slot makes the same trade; a poll that blocks its thread delays it, which is why blocking
//!   work belongs in `spawn_blocking`). Stealing can be turned off (for experiments).
//! - A color made runnable by tasks *moving into it* (`recolor`, `in_color`) runs next on the
//!   worker that moved them, from a one-color slot ([`WorkerLocal::next`](context::WorkerLocal::next)), at most
//!   [`NEXT_STREAK`](context::NEXT_STREAK) turns in a row: such tasks are usually entering a
//!   short critical section, and a color left at the back of a deep deque makes every other
//!   section for it queue behind (a convoy).
//! - Fairness (S7): a worker runs at most [`BATCH`] tasks of a color per turn; then, if nothing
//!   else waits on the worker, it takes the color's next batch at once (one lock, no trip
//!   through the deque), else the color goes to the back of the deque. The inbox is looked at
//!   first every [`INBOX_INTERVAL`] turns and the driver polled without blocking every
//!   [`DRIVER_INTERVAL`] turns, counting those continued turns too.
//! - Membership ([`membership`]): a color's queue counts its members and lists its live tasks
//!   (for shutdown); a task joins at spawn ([`spawn`]) and leaves when it completes, at the
//!   end of its color's turn ([`release`]). The color map ([`colors`]) is only touched by
//!   threads that join a named or fresh color.
//!
//! # Rooms
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | this overview, the constants, spawn, schedule (the waker path), release |
//! | [`color_queue`] | the color queue and its run state machine |
//! | [`task_list`] | the intrusive lists a color keeps its tasks in |
//! | [`membership`] | [`Membership`], the one way a color's member count changes; the task's color |
//! | [`colors`] | the color map: which queue serves a color |
//! | [`shared`] | the runtime-wide state: run-queue targets, notify, the driver |
//! | [`context`](mod@context) | the per-thread context: the current poll, the worker's local part |
//! | [`color_cache`] | a worker's cache of named colors |
//! | [`section`] | `in_color` sections and moves between colors |
//! | [`worker`] | the worker loop: find a color, run a turn, steal, park |
//! | [`park`] | parking idle workers and choosing whom to wake |
//! | [`block_on`] | running a future on the caller's thread inside color 0 |
//! | [`shutdown`] | the shutdown protocol, in numbered steps |

pub(crate) mod block_on;
pub(crate) mod color_cache;
pub(crate) mod color_queue;
pub(crate) mod colors;
pub(crate) mod context;
pub(crate) mod membership;
pub(crate) mod park;
pub(crate) mod section;
pub(crate) mod shared;
pub(crate) mod shutdown;
pub(crate) mod task_list;
pub(crate) mod worker;

use std::future::Future;
use std::sync::Arc;

use crate::task::{JoinHandle, Notified, RawTask, Schedule};
use crate::Color;
use color_queue::{ColorQueue, Push};
use context::context;
use membership::{clone_queue, Membership, TaskColor};

pub(crate) use context::{
    current_color, current_worker, in_runtime, running_color_and_runtime, NESTED_RUNTIME,
};
pub(crate) use shared::{Config, Shared};

/// Tasks a worker runs from one color before moving on (S7).
pub(crate) const BATCH: usize = 64;
/// Every this many colors, a worker looks at its inbox before its local deque.
pub(crate) const INBOX_INTERVAL: u32 = 31;
/// Every this many colors, a busy worker polls the driver without blocking.
pub(crate) const DRIVER_INTERVAL: u32 = 61;

/// The task layer reaches the scheduler here (see [`crate::task`]): every hue task carries a
/// [`TaskColor`].
impl Schedule for TaskColor {
    fn schedule(task: Notified) {
        schedule(task)
    }

    fn release(task: RawTask) -> bool {
        release(task)
    }
}

/// A notified task goes into its color's queue (the waker path, and requeue after a poll).
pub(crate) fn schedule(task: Notified) {
    // SAFETY: holding a notification is the right to read the task's color; its membership
    // keeps the queue alive while the task has one.
    let queue = unsafe { TaskColor::queue_of(task.raw()) };
    debug_assert!(!queue.is_null(), "a notified task is a member of a color");
    // SAFETY: see above.
    let queue_ref = unsafe { &*queue };
    match queue_ref.tasks.push(task) {
        Push::Queued => {}
        Push::Schedule => {
            // SAFETY: the queue is alive (see above); this makes the run queue's own handle.
            queue_ref
                .shared
                .schedule_color(unsafe { clone_queue(queue) });
        }
        Push::Closed(task) => drop(task),
    }
}

/// A task finished: it leaves its color. Returns whether the caller may drop the task's
/// reference held for its color's member list now (with the runner's).
///
/// On a worker, during its color's turn (the usual case), leaving is deferred to the end of
/// the turn (`Worker::retire`), which takes the color queue's lock anyway: the task joins the
/// turn's [`Released`](task_list::Released) list, keeping its membership and that reference
/// until then.
///
/// Elsewhere (the shutdown path) it leaves the member list at once but keeps its membership
/// until it is freed: there a task can complete without running (the shutdown path takes it
/// while idle) while another thread that just notified it is about to push it into its queue,
/// so the queue must outlive the task. Outside shutdown a notified task cannot complete before
/// it was pushed and run.
pub(crate) fn release(task: RawTask) -> bool {
    // SAFETY: called by the task's runner (or the shutdown path holding RUNNING).
    let queue = unsafe { TaskColor::queue_of(task) };
    if queue.is_null() {
        return true; // never joined (spawned after shutdown)
    }
    // SAFETY: the task's membership is still held.
    let queue_ref = unsafe { &*queue };
    let shared = &*queue_ref.shared;
    let (deferred, worker) = context(|ctx| {
        let Some(ctx) = ctx else {
            return (false, None);
        };
        match ctx.worker_of(shared) {
            Some(worker) if ctx.poll.current.get() == queue => {
                let mut released = worker.released.get();
                released.push(task);
                worker.released.set(released);
                (true, Some(worker.index))
            }
            worker => (false, worker.map(|w| w.index)),
        }
    });
    shared.count_completion(worker);
    if !deferred {
        queue_ref.tasks.remove_member(task);
    }
    !deferred
}

/// Spawns `future` on `shared` in `color` (`None`: the current task's color if it runs on
/// this runtime, else [`Color::DEFAULT`]).
pub(crate) fn spawn<F>(
    shared: &Arc<Shared>,
    color: Option<Color>,
    future: F,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (joined, spawner) = context(|ctx| {
        let ctx = ctx.filter(|ctx| Arc::ptr_eq(&ctx.shared, shared));
        let spawner = ctx.and_then(|ctx| ctx.worker.as_ref().map(|w| w.index));
        let joined = match (color, ctx.and_then(|ctx| ctx.current_queue())) {
            (Some(color), _) => shared.colors.join(shared, color, spawner),
            (None, Some(current)) => {
                // SAFETY: the running color's owner holds a strong reference to it.
                Ok(Membership::join_member(unsafe { clone_queue(current) }))
            }
            (None, None) => shared.colors.join(shared, Color::DEFAULT, spawner),
        };
        (joined, spawner)
    });
    let raw = RawTask::new(future, TaskColor(joined.ok()));
    // SAFETY: the task is new; its output type is `F::Output`; the handle takes its reference.
    let handle = unsafe { JoinHandle::new(raw) };
    // SAFETY: the task is new and not queued: we hold the right to read its color.
    if unsafe { TaskColor::queue_of(raw) }.is_null() {
        // Shut down: the map refused the join.
        // SAFETY: the shutdown path consumes the first notification's reference.
        unsafe { raw.shutdown() };
        return handle;
    }
    shared.count_spawn(spawner);
    // SAFETY: the first notification's reference (from the initial state).
    if let Some(queue) = enter_queue(unsafe { Notified::from_raw(raw) }, spawner, false) {
        shared.schedule_color(queue);
    }
    handle
}

/// Queues a task that just joined the color its membership names (spawned, or moved in by its
/// runner): it becomes a member and is runnable at the back of the queue. If the runtime shut
/// down in between, the membership is given back and the task cancelled here (counted as
/// completed on `worker`). Returns the color queue if it went `Idle -> Scheduled`: the caller
/// must put it in a run queue.
#[must_use]
pub(crate) fn enter_queue(
    task: Notified,
    worker: Option<usize>,
    moved: bool,
) -> Option<Arc<ColorQueue>> {
    // SAFETY: holding the notification is the right to read the task's color; the membership
    // keeps the queue alive while the task is not complete.
    let queue_ptr = unsafe { TaskColor::queue_of(task.raw()) };
    // SAFETY: as above.
    let queue = unsafe { &*queue_ptr };
    let pushed = if moved {
        queue.tasks.push_moved(task)
    } else {
        queue.tasks.push_new(task)
    };
    match pushed {
        Push::Queued => None,
        // SAFETY: as above; this makes the run queue's own handle.
        Push::Schedule => Some(unsafe { clone_queue(queue_ptr) }),
        Push::Closed(task) => {
            let raw = task.into_raw();
            // SAFETY: not queued: we still hold the right to change its color.
            let membership = unsafe { TaskColor::replace(raw, None) };
            let shared = queue.shared.clone();
            drop(membership);
            shared.count_completion(worker);
            // SAFETY: the shutdown path consumes the notification's reference.
            unsafe { raw.shutdown() };
            None
        }
    }
}
