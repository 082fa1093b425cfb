//! Membership of a color: what keeps a color's queue the one queue of that color (S1).
//!
//! A color's `members` count says how many holders rely on its [`ColorQueue`] right now: each
//! live task of the color (through the [`TaskColor`] in its header), a `block_on` caller in the
//! color, an `in_color` section's way back ([`HeldColor`](super::section::HeldColor)), a
//! section's inline hold, a move on its way in, and each worker's color-cache entry. While the
//! count is above zero the queue stays in the color map, and every join of the color finds
//! this queue, so two queues of one color never both have members (see `colors`).
//!
//! Every unit of the count is one [`Membership`] value: joining returns one, dropping it
//! leaves. There is no other way to raise or lower the count, so joins and leaves pair up by
//! construction. A membership also holds a strong reference to the queue, so a member can
//! always reach it.

use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64};
use std::sync::Arc;

use super::color_queue::ColorQueue;
use super::colors::Buried;
use super::shared::Shared;
use crate::task::RawTask;
use crate::Color;

/// One unit of a color's `members` count, with a strong reference to its queue. Dropping it
/// leaves the color; if it was the last, the queue is handed to the color map to be swept.
pub(crate) struct Membership {
    queue: ManuallyDrop<Arc<ColorQueue>>,
}

impl Membership {
    /// Counts a member into `queue`, which the color map just found or made for its color.
    /// Only the map calls this, under the shard lock (that is what makes the queue the
    /// color's one queue: see `colors`).
    pub(super) fn join_in_map(queue: &Arc<ColorQueue>) -> Membership {
        queue.members.fetch_add(1, Relaxed);
        Membership {
            queue: ManuallyDrop::new(queue.clone()),
        }
    }

    /// Counts another member into the color of `queue`, a strong reference the membership
    /// takes over, for a caller that is a member of that color already (the task being polled,
    /// or the holder of a membership), so the count is above zero and the queue is the map's:
    /// no map lookup is needed.
    pub(crate) fn join_member(queue: Arc<ColorQueue>) -> Membership {
        let prev = queue.members.fetch_add(1, Relaxed);
        debug_assert!(prev > 0, "joining a color queue that has no members");
        Membership {
            queue: ManuallyDrop::new(queue),
        }
    }

    /// Another membership of the same color.
    pub(crate) fn another(&self) -> Membership {
        Membership::join_member(self.queue().clone())
    }

    pub(crate) fn queue(&self) -> &Arc<ColorQueue> {
        &self.queue
    }

    /// Leaves the color. Returns the queue if this was its last member: the caller hands it
    /// to the color map to be swept ([`ColorMap::bury`](super::colors::ColorMap::bury); a
    /// worker collects such queues and hands them over in batches).
    #[must_use]
    pub(crate) fn leave(self) -> Option<Arc<ColorQueue>> {
        Leaving {
            queue: self.into_queue(),
            count: 1,
        }
        .finish()
    }

    /// The membership as a raw queue pointer (for a task's [`TaskColor`]); see
    /// [`from_raw`](Self::from_raw).
    pub(crate) fn into_raw(self) -> *mut ColorQueue {
        Arc::into_raw(self.into_queue()).cast_mut()
    }

    /// A membership given up with [`into_raw`](Self::into_raw), or counted for a task by a
    /// joiner that flagged it (`lone`), taken back.
    ///
    /// # Safety
    /// `queue` came from `into_raw` (or stands for such a counted membership, with a strong
    /// reference of its own), and is taken back once.
    pub(crate) unsafe fn from_raw(queue: *const ColorQueue) -> Membership {
        Membership {
            // SAFETY: forwarded: a strong reference made by `Arc::into_raw`.
            queue: ManuallyDrop::new(unsafe { Arc::from_raw(queue) }),
        }
    }

    fn into_queue(self) -> Arc<ColorQueue> {
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the reference is moved out once.
        unsafe { ManuallyDrop::take(&mut this.queue) }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        // SAFETY: `drop` runs once and `self.queue` is not used after it.
        let queue = unsafe { ManuallyDrop::take(&mut self.queue) };
        if let Some(last) = (Leaving { queue, count: 1 }).finish() {
            let shared = last.shared.clone();
            shared.colors.bury(vec![Buried::Queue(last)]);
        }
    }
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Membership")
            .field(&self.queue.color)
            .finish()
    }
}

/// Memberships of one color leaving together, counted out with one atomic subtraction (the
/// tasks that completed during a turn).
pub(crate) struct Leaving {
    queue: Arc<ColorQueue>,
    count: usize,
}

impl Leaving {
    pub(crate) fn new(queue: Arc<ColorQueue>) -> Leaving {
        Leaving { queue, count: 0 }
    }

    /// Adds a membership of this color to those leaving.
    pub(crate) fn add(&mut self, membership: Membership) {
        debug_assert!(ptr::eq(
            Arc::as_ptr(membership.queue()),
            Arc::as_ptr(&self.queue)
        ));
        drop(membership.into_queue());
        self.count += 1;
    }

    /// Counts them out. Returns the queue if they were the color's last members (see
    /// [`Membership::leave`]).
    #[must_use]
    pub(crate) fn finish(self) -> Option<Arc<ColorQueue>> {
        if self.count == 0 {
            return None;
        }
        // `AcqRel`: the last members' polls happen-before the sweep that sees zero.
        let prev = self.queue.members.fetch_sub(self.count, AcqRel);
        debug_assert!(prev >= self.count);
        (prev == self.count).then_some(self.queue)
    }
}

/// The scheduler's part of every task (see `task`): its color, and how it is held.
///
/// - **Lone**: the task is its color's only member and the color has no queue: the color map
///   holds the task itself, the task's run-queue entries are the task (see `lone`), and the
///   task holds its runtime (a strong reference, to schedule itself with) and its home worker.
/// - **Shared**: the task holds a [`Membership`] of its color's queue.
/// - **Unjoined**: the task never joined a color (a spawn that found the runtime shut down).
///
/// Who may change it: the holder of the task's `RUNNING` (its runner, or a joiner that claimed
/// it: `lone`), or of its one notification while it is notified and not running. Those are
/// never two threads at once (a claim is only taken when no notification exists, and no
/// notification is made while `RUNNING` is held). The fields are atomics so that anyone
/// holding a reference may read them, and the holders' writes are ordered with their reads.
pub(crate) struct TaskColor {
    color: AtomicU64,
    /// A lone color's home worker, as a queue's `home` (see `ColorQueue::home`): where it is
    /// woken from other threads; moves to whoever runs it.
    home: AtomicU32,
    /// A membership of the color's queue ([`Membership::into_raw`]); or, with [`LONE_TAG`]
    /// set, the runtime of a lone task (`Arc::into_raw` of its `Shared`); or null: unjoined.
    ptr: AtomicPtr<()>,
}

/// The low bit of [`TaskColor::ptr`] for a lone task (both `Arc` kinds are 8-aligned).
const LONE_TAG: usize = 1;

/// How a task joins a color, for [`TaskColor::set`].
pub(crate) enum Joined {
    /// Alone, in the runtime given.
    Lone(Arc<Shared>),
    /// A member of the color's queue.
    Member(Membership),
}

/// How a task holds its color, from [`TaskColor::held`]: pointers valid while the task keeps
/// that color (which only the holders named in the type's docs can change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Held {
    Unjoined,
    Lone(Color, *const Shared),
    Shared(*const ColorQueue),
}

impl TaskColor {
    /// A task's part before it joins a color.
    pub(crate) fn new() -> TaskColor {
        TaskColor {
            color: AtomicU64::new(0),
            home: AtomicU32::new(0),
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The part of `task`.
    ///
    /// # Safety
    /// `task` is a hue task (made with a `TaskColor`), and the caller keeps it alive for `'a`.
    pub(crate) unsafe fn of<'a>(task: RawTask) -> &'a TaskColor {
        // SAFETY: forwarded.
        unsafe { task.scheduler::<TaskColor>() }
    }

    /// A lone task's home worker.
    #[inline]
    pub(crate) fn home(&self) -> usize {
        self.home.load(Relaxed) as usize
    }

    /// Sets a lone task's home (its runner, or its spawner before it is queued); returns the
    /// one it had.
    #[inline]
    pub(crate) fn set_home(&self, home: usize) -> usize {
        self.home.swap(home as u32, Relaxed) as usize
    }

    /// The task's color.
    pub(crate) fn color(&self) -> Color {
        Color::new(self.color.load(Relaxed))
    }

    /// How the task holds its color.
    #[inline]
    pub(crate) fn held(&self) -> Held {
        let p = self.ptr.load(Acquire);
        if p.is_null() {
            Held::Unjoined
        } else if p as usize & LONE_TAG != 0 {
            Held::Lone(self.color(), p.map_addr(|a| a & !LONE_TAG).cast())
        } else {
            Held::Shared(p.cast())
        }
    }

    /// Whether the task is a member of `queue`'s color.
    #[inline]
    pub(crate) fn is_in(&self, queue: *const ColorQueue) -> bool {
        // A shared task's pointer is its queue's, untagged.
        ptr::eq(self.ptr.load(Acquire).cast_const().cast(), queue)
    }

    /// Puts the task in `color`, as `joined` says. Returns what it held before.
    ///
    /// # Safety
    /// The caller holds the right to change the task's color (see the type's docs).
    pub(crate) unsafe fn set(&self, color: Color, joined: Joined) -> Option<Joined> {
        let new = match joined {
            Joined::Lone(shared) => Arc::into_raw(shared)
                .cast_mut()
                .cast::<()>()
                .map_addr(|a| a | LONE_TAG),
            Joined::Member(membership) => {
                debug_assert_eq!(membership.queue().color, color);
                membership.into_raw().cast()
            }
        };
        self.color.store(color.get(), Relaxed);
        // SAFETY: forwarded: the old value is the task's, given back once.
        unsafe { Self::restore(self.ptr.swap(new, AcqRel)) }
    }

    /// Takes the task out of its color (it completed, or is freed): what it held.
    ///
    /// # Safety
    /// As for [`set`](Self::set).
    pub(crate) unsafe fn take(&self) -> Option<Joined> {
        // SAFETY: as in `set`.
        unsafe { Self::restore(self.ptr.swap(ptr::null_mut(), AcqRel)) }
    }

    /// # Safety
    /// `p` was stored by `set` and is taken back once.
    unsafe fn restore(p: *mut ()) -> Option<Joined> {
        if p.is_null() {
            None
        } else if p as usize & LONE_TAG != 0 {
            let shared = p.map_addr(|a| a & !LONE_TAG).cast::<Shared>();
            // SAFETY: made by `Arc::into_raw` in `set`.
            Some(Joined::Lone(unsafe { Arc::from_raw(shared) }))
        } else {
            // SAFETY: made by `Membership::into_raw` in `set`.
            Some(Joined::Member(unsafe { Membership::from_raw(p.cast()) }))
        }
    }
}

impl Default for TaskColor {
    fn default() -> TaskColor {
        TaskColor::new()
    }
}

impl Drop for TaskColor {
    fn drop(&mut self) {
        // SAFETY: the task is being freed: no one else touches its part any more.
        drop(unsafe { self.take() });
    }
}

impl Joined {
    /// The membership, if the task was shared.
    pub(crate) fn membership(self) -> Option<Membership> {
        match self {
            Joined::Member(membership) => Some(membership),
            Joined::Lone(_) => None,
        }
    }
}

/// A new strong reference to the color queue at `queue`.
///
/// # Safety
/// `queue` points at the queue of an `Arc<ColorQueue>` that someone keeps alive for the
/// duration of the call.
pub(crate) unsafe fn clone_queue(queue: *const ColorQueue) -> Arc<ColorQueue> {
    // SAFETY: forwarded: the allocation is a live `Arc<ColorQueue>`.
    unsafe {
        Arc::increment_strong_count(queue);
        Arc::from_raw(queue)
    }
}
