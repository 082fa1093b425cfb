//! The color map: which color queue serves a color.
//!
//! A color's queue is resolved when a task joins the color (at spawn; later, at recolor), never
//! on a wake: the task keeps its [`Membership`] (a strong reference to the queue) beside its
//! header. A task spawned in the current task's color (plain `spawn`) does not look at the map
//! at all.
//!
//! The map is sharded by a hash of the color. Only joining threads (spawners) take a shard's
//! lock; workers never do on their hot paths. When a color loses its last member (`members`
//! drops to 0, counted atomically wherever the last member leaves), its queue is not removed
//! from the map there: it is *buried* instead. Workers collect such queues in a local batch and
//! hand over whole batches; a joiner that sees a buried batch sweeps it (removes from the map
//! those entries that still have no members). So completing a task costs no shard lock, and a
//! spawner and a worker do not bounce a lock and hash-table lines between them for every fresh
//! color: the map's lines stay with the threads that spawn.
//!
//! # One queue per color (S1)
//!
//! A queue is created only under the shard lock when the map has none for the color, and
//! removed only under that lock when its `members` is 0. `members` is raised under the shard
//! lock (joining through the map: [`Membership::join_in_map`]), or by the holder of a
//! membership of the color (a running task spawning in its own color:
//! [`Membership::join_member`]), which holds it above 0 while it does. So a queue with members is always
//! the one in the map, and two queues of one color never both have members. The last member's
//! decrement (after its last poll, with `Release`) happens-before the sweep's load (`Acquire`),
//! which happens-before the next join through the shard lock, and so before the first poll of
//! the color's next queue.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};

use crossbeam_utils::CachePadded;

use super::color_queue::ColorQueue;
use super::membership::Membership;
use super::shared::Shared;
use crate::sync::lock;
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

pub(crate) struct ColorMap {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    /// Batches of queues whose `members` reached 0, to be swept from the map by joiners.
    buried: CachePadded<Mutex<Vec<Vec<Arc<ColorQueue>>>>>,
    /// `buried.len()`, readable without the lock.
    buried_batches: CachePadded<AtomicUsize>,
    /// Set by `close`: buried queues are dropped at once from then on (the map is about to be
    /// cleared, and a queue kept here would keep the runtime's shared state alive in a cycle).
    closed: AtomicBool,
}

struct Shard {
    colors: HashMap<u64, Arc<ColorQueue>, BuildHasherDefault<ColorHasher>>,
    /// Queues of colors swept from the map, kept for reuse: a task alone in a fresh color then
    /// costs no allocation besides its own once the runtime is warm. A queue is reused only
    /// when no one else holds it (`Arc::get_mut`).
    free: Vec<Arc<ColorQueue>>,
    closed: bool,
}

/// Queues kept for reuse per shard.
const FREE_PER_SHARD: usize = 64;
/// A worker hands over its buried queues in batches of this many.
pub(crate) const BURY_BATCH: usize = 64;

/// The runtime is shut down; nothing can join a color any more.
#[derive(Debug)]
pub(crate) struct Closed;

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
            while let Some(mut queue) = free.pop() {
                if let Some(q) = Arc::get_mut(&mut queue) {
                    q.reset(color, home);
                    return queue;
                }
            }
            Arc::new(ColorQueue::new(color, index, shared, home))
        })
    }

    /// Removes `queue` from the map if it is still the color's queue and has no members.
    fn sweep_one(&mut self, queue: Arc<ColorQueue>) {
        if self.closed || queue.members.load(Acquire) != 0 {
            return;
        }
        let current = self.colors.get(&queue.color.get());
        if !current.is_some_and(|c| Arc::ptr_eq(c, &queue)) {
            return;
        }
        let removed = self.colors.remove(&queue.color.get());
        drop(queue);
        if let Some(removed) = removed {
            if self.free.len() < FREE_PER_SHARD {
                self.free.push(removed);
            }
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

    /// Hands over queues whose color lost its last member (see the module docs).
    pub(crate) fn bury(&self, batch: Vec<Arc<ColorQueue>>) {
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
        for queue in batch.into_iter().flatten() {
            let mut shard = lock(&self.shards[queue.shard]);
            shard.sweep_one(queue);
        }
    }

    /// Joins `color`: a membership of its queue (made if the color has none). `spawner` is
    /// the worker joining, if the caller runs on one of this runtime's workers (it decides the
    /// home of a fresh color; see [`ColorQueue::initial_home`]).
    pub(crate) fn join(
        &self,
        shared: &Arc<Shared>,
        color: Color,
        spawner: Option<usize>,
    ) -> Result<Membership, Closed> {
        if self.buried_batches.load(Relaxed) > 0 {
            self.sweep();
        }
        let index = self.shard_index(color);
        let mut shard = lock(&self.shards[index]);
        if shard.closed {
            return Err(Closed);
        }
        let queue = shard.queue_for(color, index, shared, spawner);
        Ok(Membership::join_in_map(queue))
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

    /// Every color queue in the map (after `close`, the set no longer changes).
    pub(crate) fn queues(&self) -> Vec<Arc<ColorQueue>> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            out.extend(lock(shard).colors.values().cloned());
        }
        out
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
                    .filter(|queue| queue.members.load(Relaxed) > queue.cached.load(Relaxed))
                    .count()
            })
            .sum()
    }
}
