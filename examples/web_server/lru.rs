//! A least-recently-used map with a byte budget: plain, single-threaded data (no lock, no
//! color). The hue server keeps one per cache shard in a `ColorCell`; the tokio + hyper
//! benchmark server keeps the same one behind a mutex per shard.
//!
//! Entries live in a slab (`Vec`) linked into a recency list by index; a `HashMap` finds a
//! key's slot. `get` moves the entry to the front in O(1); `insert` evicts from the back until
//! the new entry fits.

#![allow(dead_code)] // each includer uses a different subset

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const NIL: usize = usize::MAX;

/// FNV-1a: request paths are short, and this map is private to one shard, so a fast
/// non-keyed hash is enough (the keys are also bounded by the 8 KiB request head).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// The FNV-1a hash of `bytes` (used to pick a shard).
pub(crate) fn fnv(bytes: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.write(bytes);
    h.finish()
}

#[derive(Debug)]
struct Slot<V> {
    key: Box<[u8]>,
    value: Option<V>,
    size: usize,
    prev: usize,
    next: usize,
}

/// A map from byte-string keys to values with a total size budget, evicting the least
/// recently used entries first.
#[derive(Debug)]
pub(crate) struct Lru<V> {
    map: HashMap<Box<[u8]>, usize, BuildHasherDefault<Fnv>>,
    slots: Vec<Slot<V>>,
    free: Vec<usize>,
    head: usize,
    tail: usize,
    used: usize,
    budget: usize,
}

impl<V> Lru<V> {
    /// An empty map that holds at most `budget` bytes (as counted by the sizes given to
    /// [`insert`](Self::insert)).
    pub(crate) fn new(budget: usize) -> Lru<V> {
        Lru {
            map: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            used: 0,
            budget,
        }
    }

    /// Bytes in use.
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    /// The budget.
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value for `key`, made the most recently used.
    pub(crate) fn get(&mut self, key: &[u8]) -> Option<&V> {
        let i = *self.map.get(key)?;
        if self.head != i {
            self.unlink(i);
            self.push_front(i);
        }
        self.slots[i].value.as_ref()
    }

    /// Inserts (or replaces) `key` with a value counted as `size` bytes, evicting the least
    /// recently used entries until it fits. Returns `false` (and keeps nothing) if `size` alone
    /// is over the budget.
    pub(crate) fn insert(&mut self, key: &[u8], value: V, size: usize) -> bool {
        self.remove(key);
        if size > self.budget {
            return false;
        }
        while self.used + size > self.budget && self.tail != NIL {
            let victim = self.tail;
            let key = std::mem::take(&mut self.slots[victim].key);
            self.map.remove(&key);
            self.release(victim);
        }
        let key: Box<[u8]> = key.into();
        let slot = Slot {
            key: key.clone(),
            value: Some(value),
            size,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        self.push_front(i);
        self.used += size;
        self.map.insert(key, i);
        true
    }

    /// Removes `key`; whether it was there.
    pub(crate) fn remove(&mut self, key: &[u8]) -> bool {
        match self.map.remove(key) {
            Some(i) => {
                self.release(i);
                true
            }
            None => false,
        }
    }

    /// Unlinks slot `i`, frees it and its bytes.
    fn release(&mut self, i: usize) {
        self.unlink(i);
        self.used -= self.slots[i].size;
        self.slots[i].value = None;
        self.slots[i].key = Box::default();
        self.free.push(i);
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.slots[i].prev, self.slots[i].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next].prev = prev;
        }
        self.slots[i].prev = NIL;
        self.slots[i].next = NIL;
    }

    fn push_front(&mut self, i: usize) {
        self.slots[i].prev = NIL;
        self.slots[i].next = self.head;
        if self.head != NIL {
            self.slots[self.head].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }
}
