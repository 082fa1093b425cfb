//! The color map: which color queue serves a color, and which tasks are alive.
//!
//! A color's queue is resolved when a task joins the color (at spawn; later, at recolor), never
//! on a wake: the task keeps a strong pointer to its queue in its header. The map is sharded
//! (by a hash of the color) so spawns into different colors rarely meet on a lock.
//!
//! Each shard also keeps an intrusive list of the live tasks whose color it holds. Shutdown
//! walks these lists to drop every future, including those of tasks no queue and no waker
//! will ever reach (S8). Join and leave take one shard lock each; that is the only lock a
//! spawn takes besides the color queue's.
//!
//! A color's queue stays in the map while it has members (`members > 0`); when the last
//! member leaves, it is removed, and a later task of that color gets a new queue. That cannot
//! break S1: a queue with no members has no runnable task, and the shard lock orders the last
//! member's leaving (after its last poll) before the next join (before its first poll).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering::Relaxed;

use crossbeam_utils::CachePadded;

use super::{ColorQueue, Shared};
use std::sync::{Arc, Mutex};

use super::lock;
use crate::task::RawTask;
use crate::Color;

/// A color's hash: a multiplicative mix of the value, so sequential fresh colors spread.
pub(crate) fn mix(color: Color) -> u64 {
    let v = color.get();
    (v ^ (v >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (v >> 17)
}

/// The map's hasher: colors are hashed by [`mix`] (HashMap's SipHash would be slower and
/// colors are not attacker-chosen keys in any way that matters to a `u64` map).
#[derive(Default)]
pub(crate) struct ColorHasher(u64);

impl Hasher for ColorHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = mix(Color::new(v));
    }
}

pub(crate) struct ColorMap {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
}

struct Shard {
    colors: HashMap<u64, Arc<ColorQueue>, BuildHasherDefault<ColorHasher>>,
    /// Queues of colors that lost their last member, kept for reuse: a task alone in a fresh
    /// color then costs no allocation besides its own once the runtime is warm. A queue is
    /// reused only when no one else holds it (`Arc::get_mut`).
    free: Vec<Arc<ColorQueue>>,
    tasks: MemberList,
    closed: bool,
}

/// Queues kept for reuse per shard.
const FREE_PER_SHARD: usize = 64;

impl Shard {
    /// The queue of `color`, made (or reused) if the color has none.
    fn queue_for(
        &mut self,
        color: Color,
        index: usize,
        shared: &Arc<Shared>,
        spawner: Option<usize>,
    ) -> &Arc<ColorQueue> {
        let Shard { colors, free, .. } = self;
        colors.entry(color.get()).or_insert_with(|| {
            let home = ColorQueue::initial_home(color, shared, spawner);
            while let Some(mut cq) = free.pop() {
                if let Some(q) = Arc::get_mut(&mut cq) {
                    q.reset(color, home);
                    return cq;
                }
            }
            Arc::new(ColorQueue::new(color, index, shared, home))
        })
    }
}

/// Intrusive doubly-linked list through the tasks' member links; guarded by the shard lock.
struct MemberList {
    head: Option<RawTask>,
}

// SAFETY: the raw task pointers are only touched under the shard lock.
unsafe impl Send for MemberList {}

/// The runtime is shut down; nothing can join a color any more.
#[derive(Debug)]
pub(crate) struct Closed;

impl MemberList {
    fn push(&mut self, task: RawTask) {
        let h = task.header();
        // SAFETY: the member links are guarded by the shard lock, which the caller holds.
        unsafe {
            h.member_prev.with_mut(|p| *p = None);
            h.member_next.with_mut(|p| *p = self.head);
            if let Some(old) = self.head {
                old.header().member_prev.with_mut(|p| *p = Some(task));
            }
        }
        self.head = Some(task);
    }

    fn remove(&mut self, task: RawTask) {
        let h = task.header();
        // SAFETY: the member links are guarded by the shard lock, which the caller holds; the
        // task is in this list (it joined this shard and has not left).
        unsafe {
            let prev = h.member_prev.with(|p| *p);
            let next = h.member_next.with(|p| *p);
            match prev {
                Some(prev) => prev.header().member_next.with_mut(|p| *p = next),
                None => {
                    debug_assert_eq!(self.head, Some(task));
                    self.head = next;
                }
            }
            if let Some(next) = next {
                next.header().member_prev.with_mut(|p| *p = prev);
            }
            h.member_prev.with_mut(|p| *p = None);
            h.member_next.with_mut(|p| *p = None);
        }
    }

    fn for_each(&self, mut f: impl FnMut(RawTask)) {
        let mut cur = self.head;
        while let Some(task) = cur {
            f(task);
            // SAFETY: guarded by the shard lock, which the caller holds.
            cur = task.header().member_next.with(|p| unsafe { *p });
        }
    }
}

impl ColorMap {
    pub(crate) fn new(workers: usize) -> ColorMap {
        let n = (workers * 16).next_power_of_two().clamp(16, 1024);
        ColorMap {
            shards: (0..n)
                .map(|_| {
                    CachePadded::new(Mutex::new(Shard {
                        colors: HashMap::default(),
                        free: Vec::new(),
                        tasks: MemberList { head: None },
                        closed: false,
                    }))
                })
                .collect(),
        }
    }

    fn shard_index(&self, color: Color) -> usize {
        (mix(color) >> 32) as usize & (self.shards.len() - 1)
    }

    /// Makes `task` (a new task, not yet queued) a member of `color`. Returns its color queue
    /// (the task's header holds a strong reference to it until `release`, see there).
    /// `spawner` is the worker spawning it, if the spawn runs on one of this runtime's workers
    /// (it decides the home of a fresh color; see [`ColorQueue::initial_home`]).
    pub(crate) fn join(
        &self,
        shared: &Arc<Shared>,
        color: Color,
        task: RawTask,
        spawner: Option<usize>,
    ) -> Result<*const ColorQueue, Closed> {
        let index = self.shard_index(color);
        let mut shard = lock(&self.shards[index]);
        if shard.closed {
            return Err(Closed);
        }
        let cq = shard.queue_for(color, index, shared, spawner);
        cq.members.fetch_add(1, Relaxed);
        let ptr = Arc::into_raw(cq.clone());
        shard.tasks.push(task);
        // SAFETY: the task is new and not queued: we hold the right to set its color.
        unsafe { task.set_color_queue(ptr) };
        Ok(ptr)
    }

    /// Makes `task` a member of `cq`'s color; `cq` is the queue of a color that has a member
    /// (the current task), so it is the one in the map.
    pub(crate) fn join_queue(
        &self,
        cq: &ColorQueue,
        task: RawTask,
    ) -> Result<*const ColorQueue, Closed> {
        let mut shard = lock(&self.shards[cq.shard]);
        if shard.closed {
            return Err(Closed);
        }
        let prev = cq.members.fetch_add(1, Relaxed);
        debug_assert!(prev > 0, "joining a color queue that has no members");
        let arc = shard
            .colors
            .get(&cq.color.get())
            .expect("a color with members is in the map");
        debug_assert!(std::ptr::eq(Arc::as_ptr(arc), cq));
        let ptr = Arc::into_raw(arc.clone());
        shard.tasks.push(task);
        // SAFETY: the task is new and not queued: we hold the right to set its color.
        unsafe { task.set_color_queue(ptr) };
        Ok(ptr)
    }

    /// Counts a non-task member (a `block_on` caller) into `color` and returns the queue.
    pub(crate) fn join_foreign(
        &self,
        shared: &Arc<Shared>,
        color: Color,
    ) -> Result<Arc<ColorQueue>, Closed> {
        let index = self.shard_index(color);
        let mut shard = lock(&self.shards[index]);
        if shard.closed {
            return Err(Closed);
        }
        let cq = shard.queue_for(color, index, shared, None);
        cq.members.fetch_add(1, Relaxed);
        Ok(cq.clone())
    }

    /// Removes a member (`task`, or a foreign member if `None`) from `cq`'s color.
    pub(crate) fn leave(&self, cq: &ColorQueue, task: Option<RawTask>) {
        let mut shard = lock(&self.shards[cq.shard]);
        if let Some(task) = task {
            shard.tasks.remove(task);
        }
        let prev = cq.members.fetch_sub(1, Relaxed);
        if prev == 1 && !shard.closed {
            let removed = shard.colors.remove(&cq.color.get());
            if let Some(removed) = removed {
                if shard.free.len() < FREE_PER_SHARD {
                    shard.free.push(removed);
                    return;
                }
                drop(shard);
                // Dropping the map's reference may free the queue: outside the lock.
                drop(removed);
            }
        }
    }

    /// Shutdown, step 1: refuse joins from now on.
    pub(crate) fn close(&self) {
        for shard in self.shards.iter() {
            lock(shard).closed = true;
        }
    }

    /// Every color queue in the map (after `close`, the set no longer changes).
    pub(crate) fn queues(&self) -> Vec<Arc<ColorQueue>> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            out.extend(lock(shard).colors.values().cloned());
        }
        out
    }

    /// Every live task, each with a reference of its own taken for the caller.
    pub(crate) fn tasks(&self) -> Vec<RawTask> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let shard = lock(shard);
            shard.tasks.for_each(|t| {
                t.ref_inc();
                out.push(t);
            });
        }
        out
    }

    /// Shutdown, last step: drop the map's references.
    pub(crate) fn clear(&self) {
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let colors = std::mem::take(&mut shard.colors);
            let free = std::mem::take(&mut shard.free);
            drop(shard);
            drop((colors, free));
        }
    }

    /// Colors with members right now.
    pub(crate) fn active_colors(&self) -> usize {
        self.shards.iter().map(|s| lock(s).colors.len()).sum()
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<ColorMap>();
}
