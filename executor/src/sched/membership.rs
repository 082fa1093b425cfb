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
use std::sync::atomic::Ordering::{AcqRel, Relaxed};
use std::sync::Arc;

use super::color_queue::ColorQueue;

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
            shared.colors.bury(vec![last]);
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

/// The scheduler's part of every task (see `task`): the color the task is a member of.
/// `None` before the task joined (a spawn that found the runtime shut down) and after it was
/// cancelled without running.
pub(crate) struct TaskColor(pub(crate) Option<Membership>);

impl TaskColor {
    /// The queue of the task's color (null if it has none).
    ///
    /// # Safety
    /// The caller holds the right to schedule or run `task` (see `task`), a task of this
    /// scheduler; the queue stays alive while the task keeps its membership.
    pub(crate) unsafe fn queue_of(task: crate::task::RawTask) -> *const ColorQueue {
        // SAFETY: forwarded.
        unsafe {
            task.with_scheduler(|c: &mut TaskColor| {
                c.0.as_ref().map_or(ptr::null(), |m| Arc::as_ptr(m.queue()))
            })
        }
    }

    /// Replaces the task's membership, returning the one it had.
    ///
    /// # Safety
    /// As for [`queue_of`](Self::queue_of).
    pub(crate) unsafe fn replace(
        task: crate::task::RawTask,
        membership: Option<Membership>,
    ) -> Option<Membership> {
        // SAFETY: forwarded.
        unsafe { task.with_scheduler(|c: &mut TaskColor| std::mem::replace(&mut c.0, membership)) }
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
