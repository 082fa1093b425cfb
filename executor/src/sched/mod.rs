//! The colored scheduler: color queues, workers, stealing, parking (docs/DESIGN.md, sections
//! 3-6, tells the same story from further away).
//!
//! # Shape
//!
//! - Each active color has one [`ColorQueue`]: a FIFO of its runnable tasks and a run state
//!   (see [`color_queue`]). A worker's run queue holds *colors*: stealing a color moves one
//!   handle, so S1 holds by construction. A color whose only member is a task is *lone* and
//!   has no queue: the task stands for its color in the map and in run queues, and its own
//!   state word gives S1; a second member gives the color a queue ([`lone`]).
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
//! | [`colors`] | the color map: what serves a color (its queue, or its lone task) |
//! | [`lone`] | colors with one task and no queue, and how they become shared |
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
pub(crate) mod lone;
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
use colors::{Buried, TaskJoin};
use context::{context, Current};
use membership::{clone_queue, Held, Joined, Membership, TaskColor};
use shared::Runnable;

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

    fn rebind(task: RawTask) {
        lone::rebind(task)
    }
}

/// A notified task goes into its color's queue, or, lone, into a run queue (the waker path,
/// and requeue after a poll).
#[inline]
pub(crate) fn schedule(task: Notified) {
    // SAFETY: the notification keeps the task alive.
    let part = unsafe { TaskColor::of(task.raw()) };
    match part.held() {
        // SAFETY: while we hold the notification no one changes the task's color, whose
        // membership keeps the queue alive.
        Held::Shared(queue) => push_into(unsafe { &*queue }, task),
        // SAFETY: as above; the lone task holds its runtime.
        Held::Lone(_, shared) => unsafe { &*shared }.schedule_lone(task),
        Held::Unjoined => unreachable!("a notified task is in a color"),
    }
}

/// Pushes a notified task at the tail of `queue`, scheduling the color if it was idle.
#[inline]
pub(crate) fn push_into(queue: &ColorQueue, task: Notified) {
    match queue.tasks.push(task) {
        Push::Queued => {}
        Push::Schedule => {
            // SAFETY: the caller keeps the queue alive; this makes the run queue's own handle.
            queue.shared.schedule_color(unsafe { clone_queue(queue) });
        }
        Push::Closed(task) => drop(task),
    }
}

/// A task finished: it leaves its color. Returns whether the caller may drop the task's
/// scheduler reference now (with the runner's).
///
/// A lone task's color is buried (`colors`): its entry, which holds the scheduler
/// reference, is swept later. A shared task, on a worker during its color's turn (the usual
/// case), leaves at the end of the turn (`Worker::retire`), which takes the color queue's lock
/// anyway: it joins the turn's [`Released`](task_list::Released) list, keeping its membership
/// and the member list's reference until then.
///
/// Elsewhere (the shutdown path) a shared task leaves the member list at once but keeps its
/// membership until it is freed: there a task can complete without running (the shutdown path
/// takes it while idle) while another thread that just notified it is about to push it into
/// its queue, so the queue must outlive the task. Outside shutdown a notified task cannot
/// complete before it was pushed and run.
pub(crate) fn release(task: RawTask) -> bool {
    // SAFETY: called by the task's runner (or the shutdown path holding RUNNING).
    let part = unsafe { TaskColor::of(task) };
    let queue = match part.held() {
        Held::Unjoined => return true,
        Held::Lone(color, shared) => {
            // SAFETY: the lone task holds its runtime.
            let shared = unsafe { &*shared };
            let worker = context(|ctx| {
                let worker = ctx?.worker_of(shared)?;
                worker.bury(shared, Buried::Lone(color));
                Some(worker.index)
            });
            if worker.is_none() {
                shared.colors.bury(vec![Buried::Lone(color)]);
            }
            shared.count_completion(worker);
            return false;
        }
        Held::Shared(queue) => queue,
    };
    // SAFETY: the task's membership is still held.
    let queue_ref = unsafe { &*queue };
    let shared = &*queue_ref.shared;
    let (deferred, worker) = context(|ctx| {
        let Some(ctx) = ctx else {
            return (false, None);
        };
        match ctx.worker_of(shared) {
            Some(worker) if ctx.poll.current.get() == Current::Queue(queue) => {
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
    let raw = RawTask::new(future, TaskColor::new());
    // SAFETY: the task is new; its output type is `F::Output`; the handle takes its reference.
    let handle = unsafe { JoinHandle::new(raw) };
    let (joined, spawner) = context(|ctx| {
        let ctx = ctx.filter(|ctx| Arc::ptr_eq(&ctx.shared, shared));
        let spawner = ctx.and_then(|ctx| ctx.worker.as_ref().map(|w| w.index));
        let current = ctx.map_or(Current::None, |ctx| ctx.poll.current.get());
        let joined = match (color, current) {
            (None, Current::Queue(queue)) => {
                // SAFETY: the running color's owner holds a strong reference to it.
                let membership = Membership::join_member(unsafe { clone_queue(queue) });
                Ok((membership.queue().color, TaskJoin::Member(membership)))
            }
            (None, Current::Lone(task)) => {
                // The running lone task's color gets a second member: it needs a queue.
                let ctx = ctx.expect("a lone task runs on a worker");
                lone::share_current(ctx, task).map(|queue| {
                    (
                        queue.color,
                        TaskJoin::Member(Membership::join_member(queue)),
                    )
                })
            }
            (color, _) => {
                let color = color.unwrap_or(Color::DEFAULT);
                // SAFETY: the task's scheduler reference goes to the map on `Lone`.
                unsafe { shared.colors.join_task(shared, color, spawner, raw) }
                    .map(|joined| (color, joined))
            }
        };
        (joined, spawner)
    });
    let Ok((color, joined)) = joined else {
        // SAFETY: the shutdown path consumes the first notification's reference.
        unsafe { raw.shutdown() };
        return handle;
    };
    let joined = match joined {
        TaskJoin::Lone => {
            // A lone color starts where a queue of it would: see `initial_home`.
            let home = ColorQueue::initial_home(color, shared, spawner);
            // SAFETY: the task is new and not queued: we hold its one notification.
            unsafe { TaskColor::of(raw) }.set_home(home);
            Joined::Lone(shared.clone())
        }
        TaskJoin::Member(membership) => Joined::Member(membership),
    };
    // SAFETY: the task is new and not queued: we hold its one notification.
    let old = unsafe { TaskColor::of(raw).set(color, joined) };
    debug_assert!(old.is_none());
    shared.count_spawn(spawner);
    // SAFETY: the first notification's reference (from the initial state).
    let task = unsafe { Notified::from_raw(raw) };
    if let Some(runnable) = enter(task, spawner, false) {
        match runnable {
            Runnable::Color(queue) => shared.schedule_color(queue),
            Runnable::Task(task) => shared.schedule_lone(task),
        }
    }
    handle
}

/// A task that just joined the color its `TaskColor` names (spawned, or moved in by its
/// runner) enters it. Shared: it becomes a member of the queue and is runnable at its back;
/// the queue is returned if it went `Idle -> Scheduled`, and the caller puts it in a run
/// queue. Lone: the task itself is returned for the caller to put in a run queue. If the
/// runtime shut down in between, the task is cancelled here (counted as completed on `worker`)
/// and nothing is returned.
#[must_use]
pub(crate) fn enter(task: Notified, worker: Option<usize>, moved: bool) -> Option<Runnable> {
    // SAFETY: the notification keeps the task alive and its color ours to read.
    let part = unsafe { TaskColor::of(task.raw()) };
    let queue_ptr = match part.held() {
        Held::Shared(queue) => queue,
        Held::Lone(..) => return Some(Runnable::Task(task)),
        Held::Unjoined => unreachable!("entering no color"),
    };
    // SAFETY: the membership keeps the queue alive while the task holds it.
    let queue = unsafe { &*queue_ptr };
    let pushed = if moved {
        queue.tasks.push_moved(task)
    } else {
        queue.tasks.push_new(task)
    };
    match pushed {
        Push::Queued => None,
        // SAFETY: as above; this makes the run queue's own handle.
        Push::Schedule => Some(Runnable::Color(unsafe { clone_queue(queue_ptr) })),
        Push::Closed(task) => {
            let raw = task.into_raw();
            let shared = queue.shared.clone();
            // SAFETY: not queued: we still hold the right to change its color.
            drop(unsafe { part.take() });
            shared.count_completion(worker);
            // SAFETY: the shutdown path consumes the notification's reference.
            unsafe { raw.shutdown() };
            None
        }
    }
}
