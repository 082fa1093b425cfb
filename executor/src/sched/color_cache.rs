//! A worker's small direct-mapped cache of named colors' queues, each entry holding a
//! membership of its own.
//!
//! `in_color(shard, ..)` and `recolor(shard)` name a color whose queue must be found; through
//! the color map that is a shard lock and a hash lookup shared by every worker, and a color
//! whose only members come and go (a shard entered by sections) would lose its last member
//! after every section and be swept and made again. The cache's membership keeps such a queue
//! in the map (a queue with members is the color's one queue: see `colors`), so a hit is one
//! atomic increment on a line the caller is about to touch anyway. Fresh colors are not cached:
//! they are rarely named twice, and holding them would keep their queues from being reused.
//! Entries are given back when evicted and when the worker exits.
//!
//! Only [`ThreadContext::join`] changes the cache, and never during an inline `in_color`
//! section (which may hold a pointer into an entry: see `section`); a debug assertion checks it.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::color_queue::ColorQueue;
use super::colors::{self, Closed};
use super::context::ThreadContext;
use super::membership::{clone_queue, Membership};
use crate::Color;

const COLOR_CACHE_SLOTS: usize = 32;

pub(crate) struct ColorCache {
    slots: [Option<Entry>; COLOR_CACHE_SLOTS],
}

/// A cached color. It keeps its color beside the membership, so a lookup reads no line of the
/// queue (the caller's first touch is then its lock, which it wants exclusive: reading the line
/// first would cost a second trip when another worker last wrote it).
struct Entry {
    color: Color,
    membership: Membership,
}

impl Entry {
    fn new(membership: Membership) -> Entry {
        membership.queue().cached.fetch_add(1, Relaxed);
        Entry {
            color: membership.queue().color,
            membership,
        }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        // Then the membership leaves, as the field drops.
        self.membership.queue().cached.fetch_sub(1, Relaxed);
    }
}

impl Default for ColorCache {
    fn default() -> ColorCache {
        ColorCache {
            slots: std::array::from_fn(|_| None),
        }
    }
}

impl ColorCache {
    fn slot(color: Color) -> usize {
        (colors::mix(color) >> 48) as usize % COLOR_CACHE_SLOTS
    }

    fn get(&self, color: Color) -> Option<&Arc<ColorQueue>> {
        match &self.slots[Self::slot(color)] {
            Some(entry) if entry.color == color => Some(entry.membership.queue()),
            _ => None,
        }
    }

    /// Caches `membership`'s color, giving back the entry it replaces.
    fn insert(&mut self, membership: Membership) {
        let entry = Entry::new(membership);
        let slot = Self::slot(entry.color);
        drop(self.slots[slot].replace(entry));
    }

    /// Gives back every entry (a worker exits).
    pub(crate) fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| drop(slot.take()));
    }
}

impl ThreadContext {
    /// The queue of `color` if this worker's cache holds it (and the runtime is not shutting
    /// down): it stays alive and the map's while the entry stays.
    pub(crate) fn cached(&self, color: Color) -> Option<*const ColorQueue> {
        let worker = self.worker.as_ref()?;
        let cache = worker.color_cache.borrow();
        let queue = cache.get(color)?;
        (!self.shared.colors.is_closed()).then_some(Arc::as_ptr(queue))
    }

    /// Joins `color`, like [`ColorMap::join`](colors::ColorMap::join), but for a named color
    /// on a worker through the worker's cache first.
    pub(crate) fn join(&self, color: Color) -> Result<Membership, Closed> {
        debug_assert!(
            !self.poll.inline.get(),
            "a color was joined through the cache during an inline section"
        );
        let shared = &self.shared;
        let Some(worker) = &self.worker else {
            return shared.colors.join(shared, color, None);
        };
        if color.is_fresh() {
            return shared.colors.join(shared, color, Some(worker.index));
        }
        if let Some(queue) = self.cached(color) {
            // SAFETY: just found in the cache, which we do not change before this.
            return Ok(unsafe { join_cached(queue) });
        }
        // (Shut down: the map refuses the join.)
        let membership = shared.colors.join(shared, color, Some(worker.index))?;
        worker.color_cache.borrow_mut().insert(membership.another());
        Ok(membership)
    }
}

/// Joins the color of a queue found by [`ThreadContext::cached`]: the cache's membership keeps
/// the queue the map's, so no map lookup is needed.
///
/// # Safety
/// `queue` came from `ThreadContext::cached` on this thread, and the cache entry is still there
/// (so the queue is alive).
pub(crate) unsafe fn join_cached(queue: *const ColorQueue) -> Membership {
    // SAFETY: forwarded: the cache entry holds a strong reference.
    Membership::join_member(unsafe { clone_queue(queue) })
}
