//! The page cache: shards owned by colors, no lock anywhere.
//!
//! The cache is split into `shards` shards. Shard `i` is an [`Lru`] of file entries held in a
//! `ColorCell` of the color `Color::new(SHARD_COLOR_BASE + i)`: only a task running in that
//! color can touch it, one at a time (S1), so the shard needs no `Mutex`. A path's shard is
//! chosen by its hash. A lookup or an insert is a critical section run in the shard's color:
//!
//! ```text
//! in_color(shard, async { cell.with(|lru| answer(lru.get(path))) }).await
//! ```
//!
//! When the shard's color is idle (the common case), `in_color` runs the section inline in the
//! connection's poll, with no hop through a queue; when another worker is in that shard, the
//! connection's task queues in the shard's color and comes back after (see `hue::in_color`).
//!
//! Each shard has `budget / shards` bytes. An entry is the file's body plus its precomputed
//! entity headers (`Content-Type`, `Content-Length`, `Last-Modified`), shared by every response
//! through an `Arc`. Misses are read on the blocking pool by the caller
//! ([`crate::files::load`]) and inserted here. Entries older than the revalidation age are
//! treated as misses, so a changed file is seen within that time.

#![allow(dead_code)] // the tests use a different subset than the example

use std::sync::Arc;
use std::time::{Duration, Instant};

use hue::{in_color, Color, ColorCell};

use crate::lru::{fnv, Lru};

/// The colors of the shards: `SHARD_COLOR_BASE + i` ("web\0" in ASCII, far from small colors
/// other code may use).
pub(crate) const SHARD_COLOR_BASE: u64 = 0x7765_6200_0000_0000;

/// Bytes counted for an entry on top of its body, headers and key (the map slot, the `Arc`).
const ENTRY_OVERHEAD: usize = 128;

/// A cached file: what a `200` needs.
#[derive(Debug)]
pub(crate) struct Entry {
    /// `Content-Type`, `Content-Length` and `Last-Modified` lines, each ending in CRLF.
    pub(crate) head: Box<[u8]>,
    /// The file's bytes.
    pub(crate) body: Box<[u8]>,
    /// Modification time, seconds since the epoch (for `If-Modified-Since`).
    pub(crate) modified: Option<u64>,
    /// When it was read.
    pub(crate) loaded: Instant,
}

/// The sharded, colored page cache.
#[derive(Debug)]
pub(crate) struct Cache {
    shards: Box<[ColorCell<Lru<Arc<Entry>>>]>,
    per_shard: usize,
    max_age: Duration,
}

impl Cache {
    /// A cache of `budget` bytes split into `shards` shards (at least one), whose entries are
    /// re-read after `max_age`.
    pub(crate) fn new(budget: usize, shards: usize, max_age: Duration) -> Cache {
        let shards = shards.max(1);
        let per_shard = budget / shards;
        Cache {
            shards: (0..shards)
                .map(|i| {
                    ColorCell::new(Color::new(SHARD_COLOR_BASE + i as u64), Lru::new(per_shard))
                })
                .collect(),
            per_shard,
            max_age,
        }
    }

    /// The largest body a shard can keep (about its budget).
    pub(crate) fn max_entry(&self) -> usize {
        self.per_shard.saturating_sub(ENTRY_OVERHEAD + 512)
    }

    /// Number of shards.
    pub(crate) fn shards(&self) -> usize {
        self.shards.len()
    }

    /// The shard of `key`.
    fn shard(&self, key: &[u8]) -> &ColorCell<Lru<Arc<Entry>>> {
        &self.shards[(fnv(key) % self.shards.len() as u64) as usize]
    }

    /// The color owning `key`'s shard.
    pub(crate) fn color_of(&self, key: &[u8]) -> Color {
        self.shard(key).color()
    }

    /// The entry for `key` if it is cached and younger than the revalidation age (`now` is the
    /// caller's clock reading). Runs in the shard's color.
    pub(crate) async fn get(&self, key: &[u8], now: Instant) -> Option<Arc<Entry>> {
        self.with_entry(key, now, |e| e.cloned()).await
    }

    /// Runs `f` on the entry for `key` (`None` if it is not cached or older than the
    /// revalidation age), in the shard's color: `f` reads the entry where it lives, without
    /// taking a reference to it. `f` must be short: the shard's other users wait for it.
    pub(crate) async fn with_entry<R>(
        &self,
        key: &[u8],
        now: Instant,
        f: impl FnOnce(Option<&Arc<Entry>>) -> R,
    ) -> R {
        let cell = self.shard(key);
        let max_age = self.max_age;
        in_color(cell.color(), async {
            cell.with(|lru| {
                f(lru
                    .get(key)
                    .filter(|e| now.saturating_duration_since(e.loaded) < max_age))
            })
        })
        .await
    }

    /// Caches `entry` under `key` (replacing an older one), evicting least recently used
    /// entries of the shard to make room; an entry bigger than a shard's budget is not kept.
    /// Runs in the shard's color.
    pub(crate) async fn insert(&self, key: &[u8], entry: Arc<Entry>) {
        let cell = self.shard(key);
        let size = entry.body.len() + entry.head.len() + key.len() + ENTRY_OVERHEAD;
        in_color(cell.color(), async {
            cell.with(|lru| lru.insert(key, entry, size));
        })
        .await;
    }

    /// Entries and bytes in use over all shards (each shard read in its color).
    pub(crate) async fn usage(&self) -> (usize, usize) {
        let mut entries = 0;
        let mut bytes = 0;
        for cell in self.shards.iter() {
            let (n, b) = in_color(cell.color(), async {
                cell.with(|lru| (lru.len(), lru.used()))
            })
            .await;
            entries += n;
            bytes += b;
        }
        (entries, bytes)
    }
}
