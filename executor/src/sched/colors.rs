//! The color map: what serves a color: its queue, or the one task that holds it alone.
//!
//! A color with one member, a task, has no queue: the map's entry is the task itself (a
//! *lone* color, see `lone` for how it becomes shared). A color with more members, or one
//! that anything but a task holds (a `block_on` caller, a section, a cache entry), has a
//! [`ColorQueue`]. A color is resolved when a task joins it (at spawn; later, at recolor),
//! never on a wake: the task keeps its [`TaskColor`](super::membership::TaskColor) beside its
//! header. A task spawned in the current task's color (plain `spawn`) does not look at the map
//! at all.
//!
//! The map is sharded by a hash of the color. Only joining threads (spawners) take a shard's
//! lock; workers never do on their hot paths. When a color loses its last member (`members`
//! drops to 0, counted atomically wherever the last member leaves; or its lone task
//! completes), its entry is not removed from the map there: it is *buried* instead. Workers collect such queues in a local batch and
//! hand over whole batches; a joiner that sees a buried batch sweeps it (removes from the map
//! those entries that still have no members). So completing a task costs no shard lock, and a
//! spawner and a worker do not bounce a lock and hash-table lines between them for every fresh
//! color: the map's lines stay with the threads that spawn.
//!
//! # One queue per color (S1)
//!
//! A queue is created only under the shard lock, when the map has no queue for the color (if a
//! live lone task holds the color, it joins the new queue in the same critical section), and
//! removed only under that lock when its `members` is 0. A lone entry is made only under the
//! shard lock when the map has nothing for the color, and replaced only under it. `members` is raised under the shard
//! lock (joining through the map: [`Membership::join_in_map`]), or by the holder of a
//! membership of the color (a running task spawning in its own color:
//! [`Membership::join_member`]), which holds it above 0 while it does. So a queue with members is always
//! the one in the map, and two queues of one color never both have members. The last member's
//! decrement (after its last poll, with `Release`) happens-before the sweep's load (`Acquire`),
//! which happens-before the next join through the shard lock, and so before the first poll of
//! the color's next queue.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};

use crossbeam_utils::CachePadded;

use super::color_queue::ColorQueue;
use super::membership::{clone_queue, Membership};
use super::shared::Shared;
use crate::sync::lock;
use crate::task::RawTask;
use crate::Color;

/// A color's hash: a multiplicative mix of the value, so sequential fresh colors spread.
pub(crate) fn mix(color: Color) -> u64 {
    let v = color.get();
    (v ^ (v >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (v >> 17)
}

/// The map's hasher: colors are hashed by [`mix`] (HashMap's SipHash would be slower, and a
/// `u64` key chosen by the program itself is no denial-of-service vector).
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

/// What the map holds for a color.
pub(crate) enum Entry {
    /// The one task of a lone color.
    Lone(LoneTask),
    /// The color's queue.
    Shared(Arc<ColorQueue>),
}

/// An [`Entry`] seen in the map.
#[derive(Clone, Copy)]
pub(crate) enum EntryRef<'a> {
    Lone(RawTask),
    Shared(&'a ColorQueue),
}

impl EntryRef<'_> {
    /// The queue of a shared entry, with a strong reference of the caller's.
    pub(crate) fn queue(self) -> Option<Arc<ColorQueue>> {
        match self {
            // SAFETY: the map's entry holds a strong reference for as long as this borrow.
            EntryRef::Shared(queue) => Some(unsafe { clone_queue(queue) }),
            EntryRef::Lone(_) => None,
        }
    }
}

/// An [`Entry`] packed into one word: the map holds one per active color, so its size is a
/// large part of what a lone color costs. A task pointer with the low bit set (a lone task),
/// or a queue pointer from `Arc::into_raw` (tasks and queues are 8-aligned).
struct Packed(NonNull<()>);

const LONE_BIT: usize = 1;

// SAFETY: a `Packed` owns what it packs, a `LoneTask` or an `Arc<ColorQueue>`, both `Send`.
unsafe impl Send for Packed {}

impl Packed {
    fn new(entry: Entry) -> Packed {
        Packed(match entry {
            Entry::Lone(lone) => lone
                .into_raw()
                .as_ptr()
                .cast::<()>()
                .map_addr(|a| a | LONE_BIT),
            Entry::Shared(queue) => {
                // SAFETY: `Arc::into_raw` is never null.
                unsafe { NonNull::new_unchecked(Arc::into_raw(queue).cast_mut().cast()) }
            }
        })
    }

    fn get(&self) -> EntryRef<'_> {
        if self.0.addr().get() & LONE_BIT != 0 {
            let task = self.0.as_ptr().map_addr(|a| a & !LONE_BIT).cast();
            // SAFETY: a task pointer with its low bit set, so not null once cleared.
            EntryRef::Lone(RawTask::from_raw(unsafe { NonNull::new_unchecked(task) }))
        } else {
            // SAFETY: the packed `Arc` keeps the queue alive while `self` is borrowed.
            EntryRef::Shared(unsafe { self.0.cast::<ColorQueue>().as_ref() })
        }
    }

    fn into_entry(self) -> Entry {
        let this = std::mem::ManuallyDrop::new(self);
        match this.get() {
            // SAFETY: the packed entry owned the task's scheduler reference, handed on here.
            EntryRef::Lone(task) => Entry::Lone(unsafe { LoneTask::new(task) }),
            // SAFETY: made by `Arc::into_raw` in `new`, taken back once (`this` is forgotten).
            EntryRef::Shared(queue) => Entry::Shared(unsafe { Arc::from_raw(queue) }),
        }
    }
}

impl Drop for Packed {
    fn drop(&mut self) {
        // SAFETY: `self` is not used after this: the entry is read out once and dropped.
        drop(unsafe { std::ptr::read(self) }.into_entry());
    }
}

/// A shard's colors: `u64` keys to packed entries.
#[derive(Default)]
pub(crate) struct Colors(HashMap<u64, Packed, BuildHasherDefault<ColorHasher>>);

impl Colors {
    pub(crate) fn get(&self, key: u64) -> Option<EntryRef<'_>> {
        self.0.get(&key).map(Packed::get)
    }

    pub(crate) fn insert(&mut self, key: u64, entry: Entry) -> Option<Entry> {
        self.0
            .insert(key, Packed::new(entry))
            .map(Packed::into_entry)
    }

    pub(crate) fn remove(&mut self, key: u64) -> Option<Entry> {
        self.0.remove(&key).map(Packed::into_entry)
    }

    fn values(&self) -> impl Iterator<Item = EntryRef<'_>> {
        self.0.values().map(Packed::get)
    }
}

/// A lone color's task, with the task's scheduler reference (one of the three a task starts
/// with; a shared task's is held by its color's member list instead).
pub(crate) struct LoneTask(RawTask);

impl LoneTask {
    /// # Safety
    /// The caller hands over the scheduler reference of `task`.
    pub(crate) unsafe fn new(task: RawTask) -> LoneTask {
        LoneTask(task)
    }

    pub(crate) fn task(&self) -> RawTask {
        self.0
    }

    /// Gives up the entry, keeping the reference: the caller hands it on (to a queue's member
    /// list, or to a new entry).
    pub(crate) fn into_raw(self) -> RawTask {
        std::mem::ManuallyDrop::new(self).0
    }
}

impl Drop for LoneTask {
    fn drop(&mut self) {
        // SAFETY: the entry owned the reference.
        unsafe { self.0.drop_ref() };
    }
}

/// A color that may have lost its last member, handed to the map to be swept.
pub(crate) enum Buried {
    /// A queue whose `members` reached 0.
    Queue(Arc<ColorQueue>),
    /// A lone color whose task completed.
    Lone(Color),
}

pub(crate) struct ColorMap {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    /// Batches of colors that lost their last member, to be swept from the map by joiners.
    buried: CachePadded<Mutex<Vec<Vec<Buried>>>>,
    /// `buried.len()`, readable without the lock.
    buried_batches: CachePadded<AtomicUsize>,
    /// Set by `close`: buried colors are dropped at once from then on (the map is about to be
    /// cleared, and a queue kept here would keep the runtime's shared state alive in a cycle).
    closed: AtomicBool,
}

pub(crate) struct Shard {
    pub(crate) index: usize,
    pub(crate) colors: Colors,
    /// Queues of colors swept from the map, kept for reuse: a color that becomes shared then
    /// costs no allocation once the runtime is warm. A queue is reused only when no one else
    /// holds it (`Arc::get_mut`).
    free: Vec<Arc<ColorQueue>>,
    closed: bool,
}

/// Queues kept for reuse per shard.
const FREE_PER_SHARD: usize = 64;
/// A worker hands over its buried colors in batches of this many.
pub(crate) const BURY_BATCH: usize = 64;

/// The runtime is shut down; nothing can join a color any more.
#[derive(Debug)]
pub(crate) struct Closed;

/// How a task joined a color ([`ColorMap::join_task`]).
#[must_use]
pub(crate) enum TaskJoin {
    /// Alone: the map's entry is the task (it took the task's scheduler reference).
    Lone,
    /// A member of the color's queue.
    Member(Membership),
}

impl Shard {
    /// A queue for `color`, not yet in the map: reused from the pool, or new.
    pub(crate) fn new_queue(
        &mut self,
        color: Color,
        shared: &Arc<Shared>,
        spawner: Option<usize>,
    ) -> Arc<ColorQueue> {
        let home = ColorQueue::initial_home(color, shared, spawner);
        while let Some(mut queue) = self.free.pop() {
            if let Some(q) = Arc::get_mut(&mut queue) {
                q.reset(color, home);
                return queue;
            }
        }
        Arc::new(ColorQueue::new(color, self.index, shared, home))
    }

    /// Sweeps one buried color: removes its entry if the color still has no member. A lone
    /// entry removed this way is returned, to be dropped after the shard lock.
    #[must_use]
    fn sweep_one(&mut self, buried: Buried) -> Option<LoneTask> {
        if self.closed {
            return None;
        }
        match buried {
            Buried::Queue(queue) => {
                if queue.members.load(Acquire) != 0 {
                    return None;
                }
                let key = queue.color.get();
                let current = self.colors.get(key);
                if !matches!(current, Some(EntryRef::Shared(q)) if ptr::eq(q, Arc::as_ptr(&queue)))
                {
                    return None;
                }
                drop(queue);
                if let Some(Entry::Shared(removed)) = self.colors.remove(key) {
                    if self.free.len() < FREE_PER_SHARD {
                        self.free.push(removed);
                    }
                }
                None
            }
            Buried::Lone(color) => {
                let key = color.get();
                let done = matches!(
                    self.colors.get(key),
                    Some(EntryRef::Lone(task)) if task.is_complete()
                );
                if !done {
                    return None;
                }
                match self.colors.remove(key) {
                    Some(Entry::Lone(lone)) => Some(lone),
                    _ => None,
                }
            }
        }
    }
}

impl ColorMap {
    pub(crate) fn new(workers: usize) -> ColorMap {
        let n = (workers * 16).next_power_of_two().clamp(16, 1024);
        ColorMap {
            shards: (0..n)
                .map(|index| {
                    CachePadded::new(Mutex::new(Shard {
                        index,
                        colors: Colors::default(),
                        free: Vec::new(),
                        closed: false,
                    }))
                })
                .collect(),
            buried: CachePadded::new(Mutex::new(Vec::new())),
            buried_batches: CachePadded::new(AtomicUsize::new(0)),
            closed: AtomicBool::new(false),
        }
    }

    fn shard_index(&self, color: Color) -> usize {
        (mix(color) >> 32) as usize & (self.shards.len() - 1)
    }

    /// The shard of `color`, locked, after sweeping a buried batch if one waits. `Err` once
    /// the map is closed.
    pub(crate) fn shard(&self, color: Color) -> Result<MutexGuard<'_, Shard>, Closed> {
        if self.buried_batches.load(Relaxed) > 0 {
            self.sweep();
        }
        let shard = lock(&self.shards[self.shard_index(color)]);
        if shard.closed {
            return Err(Closed);
        }
        Ok(shard)
    }

    /// The shard of `color`, locked, even if the map is closed (for a runner that must finish
    /// what a joiner started: `lone`).
    pub(crate) fn shard_even_closed(&self, color: Color) -> MutexGuard<'_, Shard> {
        lock(&self.shards[self.shard_index(color)])
    }

    /// Hands over colors that may have lost their last member (see the module docs).
    pub(crate) fn bury(&self, batch: Vec<Buried>) {
        if batch.is_empty() {
            return;
        }
        let mut buried = lock(&self.buried);
        if self.closed.load(Relaxed) {
            drop(buried);
            drop(batch);
            return;
        }
        buried.push(batch);
        self.buried_batches.store(buried.len(), Release);
    }

    /// Sweeps one buried batch, if there is one.
    fn sweep(&self) {
        let batch = {
            let mut buried = lock(&self.buried);
            let batch = buried.pop();
            self.buried_batches.store(buried.len(), Release);
            batch
        };
        for buried in batch.into_iter().flatten() {
            let index = match &buried {
                Buried::Queue(queue) => queue.shard,
                Buried::Lone(color) => self.shard_index(*color),
            };
            let stale = lock(&self.shards[index]).sweep_one(buried);
            // After the shard lock: the task's memory may go with it.
            drop(stale);
        }
    }

    /// Joins `color` with a membership of its queue, for anything but a task entering it
    /// alone (a `block_on` caller, a section, a cache entry, a task joining the color of the
    /// task it runs in): made if the color has none; if a lone task holds the color, the
    /// color becomes shared (`lone`). `spawner` is the worker joining, if the caller runs on one
    /// of this runtime's workers (it decides the home of a new queue; see
    /// [`ColorQueue::initial_home`]).
    pub(crate) fn join(
        &self,
        shared: &Arc<Shared>,
        color: Color,
        spawner: Option<usize>,
    ) -> Result<Membership, Closed> {
        let mut shard = self.shard(color)?;
        let found = shard.queue_of(color, shared, spawner);
        let membership = Membership::join_in_map(&found.queue);
        drop(shard);
        found.finish();
        Ok(membership)
    }

    /// Joins `color` for `task`, a task entering it (spawned, or moved in by its runner): alone
    /// if the color has no member, else as a member of its queue (made shared if a lone task
    /// holds it). The caller records the outcome in the task's `TaskColor`.
    ///
    /// # Safety
    /// The caller hands over `task`'s scheduler reference, which the entry keeps on
    /// [`TaskJoin::Lone`] (on `Member` it goes to the queue's member list when the task is
    /// queued there).
    pub(crate) unsafe fn join_task(
        &self,
        shared: &Arc<Shared>,
        color: Color,
        spawner: Option<usize>,
        task: RawTask,
    ) -> Result<TaskJoin, Closed> {
        let mut shard = self.shard(color)?;
        let key = color.get();
        let dead = match shard.colors.get(key) {
            None => true,
            Some(EntryRef::Lone(task)) => task.is_complete(),
            Some(EntryRef::Shared(_)) => false,
        };
        if dead {
            // SAFETY: forwarded: the entry takes the reference.
            let old = shard
                .colors
                .insert(key, Entry::Lone(unsafe { LoneTask::new(task) }));
            drop(shard);
            drop(old);
            return Ok(TaskJoin::Lone);
        }
        let found = shard.queue_of(color, shared, spawner);
        let membership = Membership::join_in_map(&found.queue);
        drop(shard);
        found.finish();
        Ok(TaskJoin::Member(membership))
    }

    /// Whether the map refuses joins (the runtime is shutting down).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Shutdown: refuse joins from now on (see `shutdown`).
    pub(crate) fn close(&self) {
        // Under the `buried` lock, so no batch is added after `clear` took them.
        {
            let _buried = lock(&self.buried);
            self.closed.store(true, Relaxed);
        }
        for shard in self.shards.iter() {
            lock(shard).closed = true;
        }
    }

    /// Every color queue in the map, and every lone color's task with a reference taken for
    /// the caller (after `close`, the set no longer changes).
    pub(crate) fn entries(&self) -> (Vec<Arc<ColorQueue>>, Vec<RawTask>) {
        let (mut queues, mut lone) = (Vec::new(), Vec::new());
        for shard in self.shards.iter() {
            for entry in lock(shard).colors.values() {
                match entry {
                    EntryRef::Shared(_) => queues.extend(entry.queue()),
                    EntryRef::Lone(task) => {
                        task.ref_inc();
                        lone.push(task);
                    }
                }
            }
        }
        (queues, lone)
    }

    /// Shutdown: drop the map's references (see `shutdown`).
    pub(crate) fn clear(&self) {
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let colors = std::mem::take(&mut shard.colors);
            let free = std::mem::take(&mut shard.free);
            drop(shard);
            drop((colors, free));
        }
        let buried = std::mem::take(&mut *lock(&self.buried));
        drop(buried);
    }

    /// Colors with members right now (besides workers' cache entries).
    pub(crate) fn active_colors(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                lock(s)
                    .colors
                    .values()
                    .filter(|entry| match entry {
                        EntryRef::Lone(task) => !task.is_complete(),
                        EntryRef::Shared(queue) => {
                            queue.members.load(Relaxed) > queue.cached.load(Relaxed)
                        }
                    })
                    .count()
            })
            .sum()
    }
}
