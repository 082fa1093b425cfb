//! A color's queue: the [`ColorQueue`] every member of a color points at, and inside it the
//! [`TaskQueue`], the FIFO of the color's runnable tasks with its run state.
//!
//! A worker's run queue holds *colors*, not tasks. A color queue is in exactly one of three
//! states, changed only under its lock:
//!
//! ```text
//!            push (first task)              popped by a worker
//!   Idle ─────────────────────▶ Scheduled ─────────────────────▶ Running
//!    ▲                              ▲                               │
//!    │        finish_run: empty     │    finish_run: non-empty      │
//!    └──────────────────────────────┴───────────────────────────────┘
//! ```
//!
//! - `Idle`: no runnable task; in no run queue; no one runs it.
//! - `Scheduled`: exactly one handle to it sits in exactly one run queue (a worker's deque,
//!   inbox or next-run slot). Stealing moves that handle: it is still one handle in one queue.
//! - `Running`: exactly one thread (a worker, a `block_on` caller the color was handed to, or
//!   a thread running an inline `in_color` section) owns it and is the only one that may poll
//!   its tasks; it is in no run queue.
//!
//! The only transition into `Scheduled` from `Idle` is `push` returning [`Push::Schedule`], and
//! the caller then puts the single handle in a run queue. The only ways into `Running` are
//! `begin_run` (by the thread that popped the one handle) and `try_acquire` /
//! `acquire_or_enqueue` from `Idle`; the only way out is `finish_turn` / `finish_run`, called by
//! the owner. So at most one thread polls a color at a time: this is S1 by construction. The
//! lock also orders one owner's polls before the next owner's (S1's happens-before), because
//! each owner takes the lock to begin after the previous one released it to finish.
//!
//! FIFO (S3): tasks are appended at the tail when they become runnable and taken from the head;
//! a batch taken by `begin_run` is at most `max` tasks from the head, and what a batch does not
//! run goes back to the head (`put_back_front`).

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use super::colors;
use super::shared::Shared;
use super::task_list::{Batch, MemberList, Released};
use crate::loom::atomic::{AtomicU8, Ordering::Relaxed};
use crate::loom::{queue_lock, QueueGuard, QueueLock};
use crate::task::{Notified, RawTask};
use crate::Color;

/// The queue of one color, shared by its members (see [`Membership`](super::Membership)).
///
/// Padded by a cache line on both sides, so that queues of colors running on different
/// workers never share a line with each other or with a neighbouring allocation: every turn
/// writes the lock and `home`. What a turn or an inline `in_color` section touches (the lock
/// and run state, the color, the home) comes first, in 64 bytes. Padding rather than
/// `align(64)`: an over-aligned allocation takes the system allocator's slower aligned path
/// whenever the map's pools cannot supply a queue, which costs more than it saves when many
/// fresh colors are alive at once (BENCHMARKS.md).
#[repr(C)]
pub(crate) struct ColorQueue {
    _pad_front: [u8; 64],
    /// The runnable tasks, the run state and the member list, under one lock.
    pub(crate) tasks: TaskQueue,
    pub(crate) color: Color,
    /// The worker it prefers; moves to whoever runs it.
    pub(crate) home: AtomicUsize,
    /// Memberships of this color: tasks, `block_on` callers, held colors, cache entries (see
    /// [`Membership`](super::Membership) for how it is counted).
    pub(crate) members: AtomicUsize,
    /// How many of `members` are workers' color-cache entries, not tasks (for metrics).
    pub(crate) cached: AtomicUsize,
    /// Index of the map shard the color lives in.
    pub(crate) shard: usize,
    pub(crate) shared: Arc<Shared>,
    _pad_back: [u8; 64],
}

impl ColorQueue {
    /// The home of a color that has no queue yet.
    ///
    /// A color made by [`Color::new`] or [`Color::of`] starts at a hash of its value, as in
    /// the paper: every task of a named color, spawned from anywhere, meets on one worker.
    /// A [`Color::fresh`] color spawned on a worker starts on that worker instead: it has no
    /// state anywhere else, the spawner's cache holds what the new task captured, and running
    /// it there needs no cross-thread wake (what tokio's local spawn and LIFO slot buy; a chain
    /// of spawns would otherwise hop between workers half of the time). Idle workers still
    /// steal it, which spreads such colors when they pile up.
    pub(crate) fn initial_home(color: Color, shared: &Shared, spawner: Option<usize>) -> usize {
        match spawner {
            Some(worker) if color.is_fresh() => worker,
            _ => (colors::mix(color) % shared.workers.len() as u64) as usize,
        }
    }

    pub(crate) fn new(color: Color, shard: usize, shared: &Arc<Shared>, home: usize) -> ColorQueue {
        ColorQueue {
            _pad_front: [0; 64],
            _pad_back: [0; 64],
            tasks: TaskQueue::new(),
            color,
            shard,
            home: AtomicUsize::new(home),
            members: AtomicUsize::new(0),
            cached: AtomicUsize::new(0),
            shared: shared.clone(),
        }
    }

    /// Readies a pooled queue (of the same shard, unused: `Idle`, empty) for `color`.
    pub(crate) fn reset(&mut self, color: Color, home: usize) {
        debug_assert_eq!(self.tasks.state(), RunState::Idle);
        debug_assert_eq!(*self.members.get_mut(), 0);
        self.color = color;
        *self.home.get_mut() = home;
    }
}

/// Rounds of [`TaskQueue::acquire_patiently`]'s wait between two looks at the clock.
const PATIENT_SPINS: u32 = 64;

/// How a turn ended ([`TaskQueue::finish_turn`]).
#[must_use]
#[derive(Debug)]
pub(crate) enum Turn {
    /// Still `Running`: run this batch next.
    Continue(Batch),
    /// `Scheduled`: tasks wait; put the color in a run queue. `moved_in`: some of them moved
    /// into the color (a [`TaskQueue::push_moved`]) since the turn began.
    Rescheduled { moved_in: bool },
    /// `Idle`: no task waits.
    Idle,
}

/// The run state of a color.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunState {
    Idle,
    Scheduled,
    Running,
}

/// What the caller of [`TaskQueue::push`] must do.
#[must_use]
#[derive(Debug)]
pub(crate) enum Push {
    /// The task is queued; someone else runs or will run the color.
    Queued,
    /// The color went from `Idle` to `Scheduled`: put it in a run queue.
    Schedule,
    /// The runtime is shut down: the task was not queued (drop the notification).
    Closed(Notified),
}

/// The locked core of a color queue: the color's runnable tasks in order, its run state (the
/// diagram in the module docs) and its member list.
pub(crate) struct TaskQueue {
    inner: QueueLock<Inner>,
    /// What the state was when the lock was last released ([`Inner::hint`]), for
    /// [`acquire_patiently`](Self::acquire_patiently) to wait on by reading, without
    /// taking the lock (and the line) from the owner. Advisory only: every decision is made
    /// again under the lock.
    hint: AtomicU8,
}

/// [`TaskQueue::hint`] values.
const HINT_IDLE: u8 = 0;
const HINT_RUNNING_EMPTY: u8 = 1;
const HINT_OTHER: u8 = 2;

/// The queue's lock held; publishes the hint when released.
struct Locked<'a> {
    hint: &'a AtomicU8,
    inner: QueueGuard<'a, Inner>,
}

impl std::ops::Deref for Locked<'_> {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        &mut self.inner
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // Still under the lock (the guard field drops after this).
        self.hint.store(self.inner.hint(), Relaxed);
    }
}

struct Inner {
    /// The runnable tasks, in the order they became runnable.
    run: Batch,
    state: RunState,
    closed: bool,
    /// Every live task of this color (runnable or not), for shutdown.
    members: MemberList,
    /// A task moved in ([`TaskQueue::push_moved`]) since the current turn began.
    moved_in: bool,
    /// `Running` on behalf of a lone task's runner, which has not taken the queue yet (see
    /// `lone`): set by [`TaskQueue::await_runner`], cleared by [`TaskQueue::adopt`].
    awaiting: bool,
}

// SAFETY: the raw task pointers inside are owned by the queue and only touched under the lock.
unsafe impl Send for Inner {}

impl Inner {
    fn hint(&self) -> u8 {
        match self.state {
            _ if self.closed => HINT_OTHER,
            RunState::Idle => HINT_IDLE,
            RunState::Running if self.run.is_empty() => HINT_RUNNING_EMPTY,
            _ => HINT_OTHER,
        }
    }
}

impl TaskQueue {
    pub(crate) fn new() -> TaskQueue {
        TaskQueue {
            inner: QueueLock::new(Inner {
                run: Batch::default(),
                state: RunState::Idle,
                closed: false,
                members: MemberList::new(),
                moved_in: false,
                awaiting: false,
            }),
            hint: AtomicU8::new(HINT_IDLE),
        }
    }

    fn lock(&self) -> Locked<'_> {
        Locked {
            hint: &self.hint,
            inner: queue_lock(&self.inner),
        }
    }

    /// A new task joins the color: it becomes a member and is queued (it is runnable at once).
    /// On `Closed` it is neither.
    pub(crate) fn push_new(&self, task: Notified) -> Push {
        self.enqueue(task, true, false)
    }

    /// A task moved here from another color joins it, like [`push_new`](Self::push_new).
    pub(crate) fn push_moved(&self, task: Notified) -> Push {
        self.enqueue(task, true, true)
    }

    /// Removes a completed task from the member list (when it did not complete during its
    /// color's turn on a worker, e.g. at shutdown).
    pub(crate) fn remove_member(&self, task: RawTask) {
        self.lock().members.remove(task);
    }

    /// Makes `task`, which held the color alone until now, a member (not queued: it is
    /// running, notified elsewhere, or idle). See `lone`.
    pub(crate) fn add_member(&self, task: RawTask) {
        self.lock().members.push(task);
    }

    /// A new queue, `Idle`, becomes `Running` on behalf of the runner of the lone task that
    /// held the color until now; that runner takes it with [`adopt`](Self::adopt). See `lone`.
    pub(crate) fn await_runner(&self) {
        let mut inner = self.lock();
        debug_assert_eq!(inner.state, RunState::Idle);
        inner.state = RunState::Running;
        inner.awaiting = true;
    }

    /// The lone task's runner takes the queue [`await_runner`](Self::await_runner) left it:
    /// it owns the color (`Running`) from now on.
    pub(crate) fn adopt(&self) {
        let mut inner = self.lock();
        debug_assert!(inner.awaiting && inner.state == RunState::Running);
        inner.awaiting = false;
    }

    /// Whether the queue is `Running` only on behalf of a lone task's runner that has not
    /// taken it yet (shutdown).
    pub(crate) fn is_awaiting(&self) -> bool {
        self.lock().awaiting
    }

    /// Every member, each with a reference taken for the caller (shutdown).
    pub(crate) fn members_snapshot(&self, out: &mut Vec<RawTask>) {
        self.lock().members.snapshot(out);
    }

    /// Appends a runnable task (it became runnable now: S3).
    pub(crate) fn push(&self, task: Notified) -> Push {
        self.enqueue(task, false, false)
    }

    /// Appends `task` (making it a member first if `new`); `Idle -> Scheduled` if it was idle.
    fn enqueue(&self, task: Notified, new: bool, moved: bool) -> Push {
        let mut inner = self.lock();
        if inner.closed {
            return Push::Closed(task);
        }
        inner.moved_in |= moved;
        if new {
            inner.members.push(task.raw());
        }
        inner.run.push_back(task.into_raw());
        if inner.state == RunState::Idle {
            inner.state = RunState::Scheduled;
            Push::Schedule
        } else {
            Push::Queued
        }
    }

    /// The caller popped this color from a run queue (so it is `Scheduled`) and now owns it:
    /// `Running`, with up to `max` tasks from the head.
    pub(crate) fn begin_run(&self, max: usize) -> Batch {
        let mut inner = self.lock();
        debug_assert_eq!(inner.state, RunState::Scheduled);
        inner.state = RunState::Running;
        inner.moved_in = false;
        inner.run.take_front(max)
    }

    /// The owner gives back the tasks it did not run, at the head, in order; the `released`
    /// tasks leave the member list.
    pub(crate) fn put_back_front(&self, batch: Batch, released: Released) {
        let mut inner = self.lock();
        debug_assert_eq!(inner.state, RunState::Running);
        released.for_each(|t| inner.members.remove(t));
        inner.run.prepend(batch);
    }

    /// The owner is done with a batch: queue `requeue` (a task of this color woken during the
    /// batch's last poll) at the tail, then either keep the color and take the next batch of
    /// at most `next` tasks (if `next` is given and tasks wait), or end the turn as
    /// [`finish_run`](Self::finish_run) does. One lock for all of it.
    ///
    /// The `released` tasks leave the member list here.
    pub(crate) fn finish_turn(
        &self,
        requeue: Option<Notified>,
        next: Option<usize>,
        released: Released,
    ) -> Turn {
        let mut inner = self.lock();
        debug_assert_eq!(inner.state, RunState::Running);
        released.for_each(|t| inner.members.remove(t));
        if let Some(task) = requeue {
            if inner.closed {
                drop(inner);
                drop(task);
                return self.finish_turn(None, None, Released::default());
            }
            inner.run.push_back(task.into_raw());
        }
        if inner.run.is_empty() || inner.closed {
            inner.state = RunState::Idle;
            return Turn::Idle;
        }
        let moved_in = std::mem::replace(&mut inner.moved_in, false);
        match next {
            Some(max) => Turn::Continue(inner.run.take_front(max)),
            None => {
                inner.state = RunState::Scheduled;
                Turn::Rescheduled { moved_in }
            }
        }
    }

    /// The owner is done with this turn. Returns `true` if tasks are waiting: the color is
    /// `Scheduled` again and the caller must put it in a run queue; `false`: `Idle`.
    #[must_use]
    pub(crate) fn finish_run(&self) -> bool {
        matches!(
            self.finish_turn(None, None, Released::default()),
            Turn::Rescheduled { .. }
        )
    }

    /// A thread outside the workers (a `block_on` caller) wants to run in this color. `true`:
    /// it was `Idle` and the caller now owns it (`Running`). `false`: `node` was queued at the
    /// tail like a task; the owner that reaches it hands the color over.
    #[must_use]
    pub(crate) fn acquire_or_enqueue(&self, node: RawTask) -> bool {
        let mut inner = self.lock();
        if inner.state == RunState::Idle {
            debug_assert!(inner.run.is_empty());
            inner.state = RunState::Running;
            true
        } else {
            inner.run.push_back(node);
            false
        }
    }

    /// Takes the color if it is `Idle`: `Some(true)`, and it is `Running`, owned by the
    /// caller, who ends with [`finish_run`](Self::finish_run). `Some(false)` if tasks wait in
    /// it (they go first: S3), if it is `Scheduled`, or if it is closed. `None` if it is
    /// `Running` with nothing queued: its owner is inside one poll and nobody waits behind it
    /// (see [`acquire_patiently`](Self::acquire_patiently)).
    #[inline]
    pub(crate) fn try_acquire(&self) -> Option<bool> {
        let mut inner = self.lock();
        match inner.state {
            _ if inner.closed => Some(false),
            RunState::Idle => {
                debug_assert!(inner.run.is_empty());
                inner.state = RunState::Running;
                Some(true)
            }
            RunState::Running if inner.run.is_empty() => None,
            _ => Some(false),
        }
    }

    /// [`try_acquire`](Self::try_acquire), and while that says `None`, keeps trying for at
    /// most `patience`: an adaptive mutex's brief spin, for `in_color`. It waits by reading
    /// [`hint`](Self::hint), so the owner keeps its line, and looks at the clock only every
    /// [`PATIENT_SPINS`] rounds. `true`: taken.
    #[cold]
    #[inline(never)]
    pub(crate) fn acquire_patiently(&self, patience: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + patience;
        loop {
            for _ in 0..PATIENT_SPINS {
                match self.hint.load(Relaxed) {
                    HINT_RUNNING_EMPTY => std::hint::spin_loop(),
                    HINT_IDLE => break,
                    _ => return false,
                }
            }
            if let Some(acquired) = self.try_acquire() {
                return acquired;
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// Shutdown: refuse further pushes and take every queued entry.
    pub(crate) fn close(&self) -> Batch {
        let mut inner = self.lock();
        inner.closed = true;
        std::mem::take(&mut inner.run)
    }

    pub(crate) fn state(&self) -> RunState {
        self.lock().state
    }
}
