//! Lone colors: a color whose only member is a task has no queue, and becomes shared when a
//! second member arrives.
//!
//! Most colors have one task: a connection in `Color::fresh()`, a named color with one
//! member. Such a color costs only its map entry, which holds the task itself
//! ([`Entry::Lone`]); the task's `TaskColor` says "lone", and its run-queue entries are the task
//! ([`Runnable::Task`](super::shared::Runnable)). S1 then comes from the task's own state
//! word: one thread at a time holds its `RUNNING`. A lone task is woken, stolen and run without
//! any color queue, lock or membership count.
//!
//! # Becoming shared
//!
//! A second member (a spawn into the color, a task moving in, a section, a `block_on` caller,
//! a cache entry) needs a queue. Who makes it depends on who is joining:
//!
//! - **The lone task itself, in its poll** (it spawns a child into its own color):
//!   [`share_current`]. Its runner holds `RUNNING`, so it makes the queue, `Running` and owned
//!   by itself, puts the task in it, and from then on the poll is a turn of that queue (the
//!   worker finishes it as such after the poll).
//! - **Anyone else** (under the color's shard lock, [`Shard::queue_of`]): a new queue replaces
//!   the lone entry, and the task must join it. Its state word decides how
//!   ([`RawTask::try_claim`], one atomic read-modify-write):
//!   - *complete*: the entry was stale; the queue starts empty.
//!   - *idle* (not running, not notified): the joiner **claims** it: takes `RUNNING` and a
//!     reference, makes it a member of the queue, and gives them back. No notification exists
//!     meanwhile (wakes that come see `RUNNING` and only set `NOTIFIED`), so no one else reads
//!     the task's color; if a wake came, the claim's reference becomes its notification and
//!     the task is queued in the new queue.
//!   - *running or notified*: the joiner **flags** it (`REBIND`) and leaves the queue `Running`
//!     **on behalf of the task's runner** ([`TaskQueue::await_runner`](super::color_queue::TaskQueue::await_runner)),
//!     with the task on its member list and its membership counted. Whoever holds or next takes
//!     the task's `RUNNING` (its runner; a worker popping its lone run-queue entry; the thread
//!     that holds its one notification and moves it) adopts the queue before giving `RUNNING`
//!     up ([`rebind`], which the task layer calls; [`share_current`]; [`leave_lone`]) and ends
//!     that turn like any owner.
//!
//! Why S1 holds: until the task's runner adopts the queue, the queue is `Running` and nothing
//! else is polled in it, while the task may still be polled as lone; after adoption the task
//! is a member, and its polls are the queue's turns. A claimed task is not polled while
//! claimed (the claim is `RUNNING`). A lone run-queue entry exists only while its task is
//! notified, and a notified task is flagged, never claimed, so a popped lone entry's task is
//! always still lone.
//!
//! Why nothing is lost: a flagged task is running or notified, so a runner will come and adopt
//! (at shutdown, a queue still awaiting its runner is handled in `shutdown`); a claimed task's
//! wakes during the claim come back as the claim's notification.
//!
//! A shared color does not become lone again; it loses its queue the usual way, when its last
//! member leaves and the queue is swept.

use std::sync::Arc;

use super::color_queue::ColorQueue;
use super::colors::{Entry, EntryRef, LoneTask, Shard};
use super::context::{context, Current, ThreadContext};
use super::membership::{Held, Joined, Membership, TaskColor};
use super::shared::Shared;
use crate::task::{Claim, Notified, RawTask};
use crate::Color;

/// What [`Shard::queue_of`] found or made.
pub(crate) struct QueueOf {
    pub(crate) queue: Arc<ColorQueue>,
    /// A claimed task woken during the claim: queue it in `queue` (after the shard lock).
    pub(crate) notified: Option<Notified>,
    /// A stale lone entry (its task completed): drop it after the shard lock.
    pub(crate) stale: Option<LoneTask>,
}

impl QueueOf {
    /// After the shard lock: queues the claimed task's notification, drops the stale entry.
    pub(crate) fn finish(self) {
        if let Some(task) = self.notified {
            super::push_into(&self.queue, task);
        }
        drop(self.stale);
    }
}

impl Shard {
    /// The queue of `color`, made if the color has none; if a live lone task held the color,
    /// it becomes a member of the new queue (the module docs). Called under the shard lock.
    pub(crate) fn queue_of(
        &mut self,
        color: Color,
        shared: &Arc<Shared>,
        spawner: Option<usize>,
    ) -> QueueOf {
        let key = color.get();
        if let Some(queue) = self.colors.get(key).and_then(EntryRef::queue) {
            return QueueOf {
                queue,
                notified: None,
                stale: None,
            };
        }
        let queue = self.new_queue(color, shared, spawner);
        let old = self.colors.insert(key, Entry::Shared(queue.clone()));
        let (notified, stale) = match old {
            Some(Entry::Lone(lone)) => take_in(&queue, lone),
            _ => (None, None),
        };
        QueueOf {
            queue,
            notified,
            stale,
        }
    }
}

/// Makes the task of `lone` a member of `queue`, the new queue of its color (the module docs:
/// claim or flag). Returns a notification to queue, or the entry if it was stale.
fn take_in(queue: &Arc<ColorQueue>, lone: LoneTask) -> (Option<Notified>, Option<LoneTask>) {
    let task = lone.task();
    match task.try_claim() {
        Claim::Complete => (None, Some(lone)),
        Claim::Claimed => {
            // The entry's reference goes to the member list.
            let task = lone.into_raw();
            queue.tasks.add_member(task);
            let membership = Membership::join_in_map(queue);
            // SAFETY: the claim is the right to change the task's color; the task is alive
            // (the member list's reference).
            let old = unsafe { TaskColor::of(task).set(queue.color, Joined::Member(membership)) };
            debug_assert!(
                matches!(old, Some(Joined::Lone(_))),
                "a lone task held a membership"
            );
            // SAFETY: we hold the claim and give it up here.
            (unsafe { task.release_claim() }, None)
        }
        Claim::Flagged => {
            let task = lone.into_raw();
            queue.tasks.await_runner();
            queue.tasks.add_member(task);
            // The runner's membership, counted now, taken back by whoever adopts the queue.
            let _counted = Membership::join_in_map(queue).into_raw();
            (None, None)
        }
    }
}

/// The task layer's `Schedule::rebind` for hue: `task`, flagged by a joiner while lone, is run
/// or completed by this thread, which holds its `RUNNING`: it adopts the queue the joiner left
/// for it. If this thread was running the task as lone, the rest of the run is a turn of that
/// queue.
pub(crate) fn rebind(task: RawTask) {
    // SAFETY: the caller holds `RUNNING`: the task is alive, and its color is ours to change.
    let part = unsafe { TaskColor::of(task) };
    let Held::Lone(color, shared) = part.held() else {
        unreachable!("a flagged task is lone until it adopts its color's queue");
    };
    // SAFETY: the lone task holds its runtime (a strong reference) until `adopt_queue` below.
    let shared = unsafe { &*shared };
    let queue = shared
        .colors
        .shard_even_closed(color)
        .colors
        .get(color.get())
        .and_then(EntryRef::queue)
        .expect("a flagged task's color has a queue");
    context(|ctx| adopt_queue(task, &queue, ctx));
}

fn adopt_queue(task: RawTask, queue: &Arc<ColorQueue>, ctx: Option<&ThreadContext>) {
    // SAFETY: the caller keeps the task alive.
    let part = unsafe { TaskColor::of(task) };
    queue.tasks.adopt();
    // SAFETY: the joiner counted this membership for the runner (`take_in`), with a strong
    // reference of its own; taken back once, here.
    let membership = unsafe { Membership::from_raw(Arc::as_ptr(queue)) };
    // SAFETY: the caller holds the right to change the task's color.
    let old = unsafe { part.set(queue.color, Joined::Member(membership)) };
    debug_assert!(
        matches!(old, Some(Joined::Lone(_))),
        "a flagged task held a membership"
    );
    task.clear_rebind();
    if let Some(ctx) = ctx {
        if ctx.poll.current.get() == Current::Lone(task) {
            ctx.poll.current.set(Current::Queue(Arc::as_ptr(queue)));
        }
    }
}

/// The lone task being polled on this thread gets a second member of its color (it spawns
/// into it): its color gets a queue, `Running` and owned by this thread, which becomes the
/// current color; the worker ends the run as a turn of it. If a joiner flagged the task
/// meanwhile, its queue is adopted instead. `Err`: the runtime shut down.
pub(crate) fn share_current(
    ctx: &ThreadContext,
    task: RawTask,
) -> Result<Arc<ColorQueue>, super::colors::Closed> {
    // SAFETY: the task is being polled: alive, and this thread holds its `RUNNING`.
    let part = unsafe { TaskColor::of(task) };
    let color = part.color();
    let shared = &ctx.shared;
    let spawner = ctx.worker.as_ref().map(|w| w.index);
    let mut shard = shared.colors.shard(color)?;
    let key = color.get();
    let queue = match shard.colors.remove(key) {
        Some(Entry::Lone(lone)) => {
            debug_assert_eq!(lone.task(), task);
            let queue = shard.new_queue(color, shared, spawner);
            let taken = queue.tasks.try_acquire();
            debug_assert_eq!(taken, Some(true), "a new queue is idle");
            // The entry's reference goes to the member list.
            queue.tasks.add_member(lone.into_raw());
            shard.colors.insert(key, Entry::Shared(queue.clone()));
            drop(shard);
            let membership = Membership::join_in_map(&queue);
            // SAFETY: this thread holds the task's `RUNNING`.
            let old = unsafe { part.set(color, Joined::Member(membership)) };
            debug_assert!(matches!(old, Some(Joined::Lone(_))));
            queue
        }
        Some(Entry::Shared(queue)) => {
            shard.colors.insert(key, Entry::Shared(queue.clone()));
            drop(shard);
            adopt_queue(task, &queue, None);
            queue
        }
        None => unreachable!("a lone task's color is in the map"),
    };
    ctx.poll.current.set(Current::Queue(Arc::as_ptr(&queue)));
    Ok(queue)
}

/// How a lone task left its color ([`leave_lone`]).
pub(crate) enum LeftLone {
    /// The entry is gone; its reference to the task is the caller's to hand on.
    Left(LoneTask),
    /// A joiner had flagged the task: the caller adopted the color's queue (it owns it,
    /// `Running`, and must end that turn), and the task is a member of it.
    Shared(Arc<ColorQueue>),
}

/// The lone `task` leaves its color (its runner moves it; the caller holds its one
/// notification).
pub(crate) fn leave_lone(shared: &Shared, task: RawTask) -> LeftLone {
    // SAFETY: the caller holds a notification: the task is alive.
    let color = unsafe { TaskColor::of(task) }.color();
    let mut shard = shared.colors.shard_even_closed(color);
    let key = color.get();
    match shard.colors.remove(key) {
        Some(Entry::Lone(lone)) => {
            debug_assert_eq!(lone.task(), task);
            LeftLone::Left(lone)
        }
        Some(Entry::Shared(queue)) => {
            shard.colors.insert(key, Entry::Shared(queue.clone()));
            drop(shard);
            adopt_queue(task, &queue, None);
            LeftLone::Shared(queue)
        }
        None => unreachable!("a lone task's color is in the map"),
    }
}
