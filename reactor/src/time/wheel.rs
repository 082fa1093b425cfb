//! One shard's hierarchical timer wheel: 6 levels of 64 slots, 1 tick = 1 ms.
//!
//! Level `l` has slots of `64^l` ticks and covers `64^(l+1)` ticks; the top level covers
//! `2^36` ms (about 2.2 years) and is used as a ring for timers further away. A timer due at
//! tick `when` goes to the level of the highest bit in which `when` differs from `elapsed`
//! (the tick the wheel has processed up to), and to the slot of its `when` at that level (as
//! in tokio and in Varghese and Lauck's hierarchical wheels). Processing a slot fires the
//! timers that are due at the slot's first tick and moves the others down to finer levels, so
//! a timer is moved at most 5 times in its life and inserting, cancelling and firing are O(1).
//!
//! All safe Rust: timers live in a slab (a `Vec` of entries and a free list threaded through
//! it); each slot is an intrusive doubly-linked list of slab indices, so a timer is unlinked
//! from its slot in O(1) when it is cancelled. A [`Key`] names an entry by index and
//! generation: the generation changes when the entry is freed, so a stale key is recognised.
//! A fired entry stays in the slab (marked fired, its waker taken) until its owner polls or
//! drops it; freed entries are reused, most recently freed first.

use std::task::{Poll, Waker};

/// Levels of the wheel.
const LEVELS: usize = 6;
/// Bits of a slot index: 64 slots a level.
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
/// The furthest ahead of `elapsed` a timer is placed: just under one turn of the top level.
/// A timer due later is placed at this distance and moved again when its slot comes up.
const MAX_SPAN: u64 = (1 << (SLOT_BITS as usize * LEVELS)) - 1;
/// "No entry" in the intrusive lists and the free list.
const NIL: u32 = u32::MAX;
/// A slab of more entries than this is freed when its last timer goes (after a burst), so a
/// spike of timers does not keep its memory forever; smaller ones are kept for reuse.
const SHRINK_ABOVE: usize = 1 << 16;

/// Names one timer of one wheel: the slab index and the entry's generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

/// Where an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// On the free list.
    Free,
    /// Queued in a slot of a level.
    Queued { level: u8, slot: u8 },
    /// Fired: the waker has been taken (to be woken); the owner has not seen it yet.
    Fired,
}

struct Entry {
    /// The tick the timer is due at (the deadline rounded up to whole ms).
    when: u64,
    waker: Option<Waker>,
    prev: u32,
    /// The next entry in the slot, or the next free entry.
    next: u32,
    generation: u32,
    place: Place,
}

struct Level {
    /// Bit `s` set: slot `s` is not empty.
    occupied: u64,
    heads: [u32; SLOTS],
}

/// What [`Wheel::reset`] did.
#[derive(Debug)]
pub(crate) enum Reset {
    /// The timer is queued for its new tick (with its waker).
    Moved,
    /// The new tick is already due: the entry was freed; wake its waker, if any.
    Due(Option<Waker>),
    /// The timer had already fired (or the key is stale): the entry was freed.
    Gone,
}

/// One shard's timers.
pub(crate) struct Wheel {
    /// Every timer due at or before this tick has fired.
    elapsed: u64,
    levels: [Level; LEVELS],
    entries: Vec<Entry>,
    /// Head of the free list.
    free: u32,
    /// Entries in use (queued or fired).
    len: usize,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            elapsed: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                heads: [NIL; SLOTS],
            }),
            entries: Vec::new(),
            free: NIL,
            len: 0,
        }
    }

    /// Entries in use (queued or fired but not yet seen by their owner).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Entries allocated in the slab (in use or free).
    #[cfg(test)]
    pub(crate) fn slab_size(&self) -> usize {
        self.entries.len()
    }

    /// Queues a timer due at tick `when` with `waker`. If `when` is already due (not after
    /// `elapsed`), nothing is queued and the waker is handed back.
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> Result<Key, Waker> {
        if when <= self.elapsed {
            return Err(waker);
        }
        let index = self.alloc(when, waker);
        self.link(index, self.elapsed);
        Ok(Key {
            index,
            generation: self.entries[index as usize].generation,
        })
    }

    /// The owner polls its timer: `Ready` if it fired (the entry is freed), else `Pending`
    /// after storing `waker` (unless the stored one would wake the same task).
    pub(crate) fn poll(&mut self, key: Key, waker: &Waker) -> Poll<()> {
        let Some(entry) = self.entry_mut(key) else {
            return Poll::Ready(());
        };
        match entry.place {
            Place::Queued { .. } => {
                match &mut entry.waker {
                    Some(w) if w.will_wake(waker) => {}
                    slot => *slot = Some(waker.clone()),
                }
                Poll::Pending
            }
            Place::Fired | Place::Free => {
                drop(self.release(key.index));
                Poll::Ready(())
            }
        }
    }

    /// Whether the timer has fired (a stale key counts as fired).
    pub(crate) fn is_fired(&self, key: Key) -> bool {
        self.entry(key)
            .is_none_or(|e| !matches!(e.place, Place::Queued { .. }))
    }

    /// Cancels the timer (O(1)) and frees its entry; returns its waker, to be dropped by the
    /// caller after unlocking.
    pub(crate) fn remove(&mut self, key: Key) -> Option<Waker> {
        let entry = self.entry(key)?;
        if let Place::Queued { .. } = entry.place {
            self.unlink(key.index);
        }
        self.release(key.index)
    }

    /// Moves the timer to tick `when`, keeping its waker.
    pub(crate) fn reset(&mut self, key: Key, when: u64) -> Reset {
        let Some(entry) = self.entry(key) else {
            return Reset::Gone;
        };
        if !matches!(entry.place, Place::Queued { .. }) {
            drop(self.release(key.index));
            return Reset::Gone;
        }
        self.unlink(key.index);
        if when <= self.elapsed {
            return Reset::Due(self.release(key.index));
        }
        self.entries[key.index as usize].when = when;
        self.link(key.index, self.elapsed);
        Reset::Moved
    }

    /// The tick at which the next slot is to be processed, if any timer is queued. A timer in
    /// it may turn out to be due later (it is then moved to a finer level): this is a bound
    /// for the driver's wait, never later than the earliest timer.
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|(_, _, deadline)| deadline)
    }

    /// Processes every slot due at or before tick `now`: fires the timers due (pushing their
    /// tick and waker to `fired`, in tick order) and moves the others down. Then `elapsed`
    /// is `now`.
    pub(crate) fn advance(&mut self, now: u64, fired: &mut Vec<(u64, Waker)>) {
        while let Some((level, slot, deadline)) = self.next_slot() {
            if deadline > now {
                break;
            }
            self.process_slot(level, slot, deadline, fired);
            self.elapsed = self.elapsed.max(deadline);
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// The first occupied slot at or after `elapsed`, on the finest level that has one:
    /// `(level, slot, the slot's first tick)`. Timers on finer levels are always due before
    /// those on coarser ones.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for (level, l) in self.levels.iter().enumerate() {
            if l.occupied == 0 {
                continue;
            }
            let shift = SLOT_BITS * level as u32;
            let now_slot = ((self.elapsed >> shift) % SLOTS as u64) as u32;
            // The current slot of a level holds no timer, except on the top level, where it
            // holds timers of the ring's next turn: there, look at it last.
            let from = if level == LEVELS - 1 {
                (now_slot + 1) % SLOTS as u32
            } else {
                now_slot
            };
            let slot = (l.occupied.rotate_right(from).trailing_zeros() + from) as usize % SLOTS;
            let level_range = 1u64 << (shift + SLOT_BITS);
            let level_start = self.elapsed & !(level_range - 1);
            let mut deadline = level_start + ((slot as u64) << shift);
            if deadline <= self.elapsed {
                // Only on the top level, used as a ring: the slot is in its next turn.
                debug_assert_eq!(level, LEVELS - 1);
                deadline += level_range;
            }
            return Some((level, slot, deadline));
        }
        None
    }

    fn process_slot(
        &mut self,
        level: usize,
        slot: usize,
        deadline: u64,
        fired: &mut Vec<(u64, Waker)>,
    ) {
        let l = &mut self.levels[level];
        let mut index = std::mem::replace(&mut l.heads[slot], NIL);
        l.occupied &= !(1 << slot);
        while index != NIL {
            let entry = &mut self.entries[index as usize];
            let next = entry.next;
            if entry.when <= deadline {
                entry.place = Place::Fired;
                entry.prev = NIL;
                entry.next = NIL;
                if let Some(waker) = entry.waker.take() {
                    fired.push((entry.when, waker));
                }
            } else {
                self.link(index, deadline);
            }
            index = next;
        }
    }

    /// Puts entry `index` in the slot for its `when`, seen from tick `base`.
    fn link(&mut self, index: u32, base: u64) {
        let when = self.entries[index as usize].when;
        debug_assert!(when > base);
        let pos = when.min(base.saturating_add(MAX_SPAN));
        let (level, slot) = level_and_slot(base, pos);
        let l = &mut self.levels[level];
        let head = l.heads[slot];
        l.heads[slot] = index;
        l.occupied |= 1 << slot;
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        let entry = &mut self.entries[index as usize];
        entry.prev = NIL;
        entry.next = head;
        entry.place = Place::Queued {
            level: level as u8,
            slot: slot as u8,
        };
    }

    /// Takes queued entry `index` out of its slot's list.
    fn unlink(&mut self, index: u32) {
        let entry = &self.entries[index as usize];
        let (prev, next) = (entry.prev, entry.next);
        let Place::Queued { level, slot } = entry.place else {
            unreachable!("unlinking an entry that is not queued");
        };
        if prev == NIL {
            let l = &mut self.levels[level as usize];
            l.heads[slot as usize] = next;
            if next == NIL {
                l.occupied &= !(1 << slot);
            }
        } else {
            self.entries[prev as usize].next = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
    }

    fn alloc(&mut self, when: u64, waker: Waker) -> u32 {
        self.len += 1;
        if self.free != NIL {
            let index = self.free;
            let entry = &mut self.entries[index as usize];
            self.free = entry.next;
            entry.when = when;
            entry.waker = Some(waker);
            return index;
        }
        let index = u32::try_from(self.entries.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("hue: more than 2^32 - 1 timers in one shard");
        self.entries.push(Entry {
            when,
            waker: Some(waker),
            prev: NIL,
            next: NIL,
            generation: 0,
            place: Place::Free,
        });
        index
    }

    /// Frees entry `index` (unlinked if it was queued), bumping its generation; returns its
    /// waker. The last entry of a large slab frees the whole slab (no key can name a free
    /// entry: every owner forgets its key when its entry is freed).
    fn release(&mut self, index: u32) -> Option<Waker> {
        self.len -= 1;
        let entry = &mut self.entries[index as usize];
        debug_assert!(entry.place != Place::Free);
        entry.generation = entry.generation.wrapping_add(1);
        entry.place = Place::Free;
        entry.prev = NIL;
        entry.next = self.free;
        self.free = index;
        let waker = entry.waker.take();
        if self.len == 0 && self.entries.len() > SHRINK_ABOVE {
            self.entries = Vec::new();
            self.free = NIL;
        }
        waker
    }

    fn entry(&self, key: Key) -> Option<&Entry> {
        self.entries
            .get(key.index as usize)
            .filter(|e| e.generation == key.generation && e.place != Place::Free)
    }

    fn entry_mut(&mut self, key: Key) -> Option<&mut Entry> {
        self.entries
            .get_mut(key.index as usize)
            .filter(|e| e.generation == key.generation && e.place != Place::Free)
    }
}

/// The level and slot of a timer at tick `pos`, seen from tick `base` (`pos > base`,
/// `pos - base <= MAX_SPAN`): the level of the highest bit in which they differ.
fn level_and_slot(base: u64, pos: u64) -> (usize, usize) {
    // At least bit 5 (level 0); at most bit 35 (the top level, used as a ring).
    let masked = ((base ^ pos) | (SLOTS as u64 - 1)).min(MAX_SPAN - 1);
    let significant = 63 - masked.leading_zeros();
    let level = (significant / SLOT_BITS) as usize;
    let slot = ((pos >> (SLOT_BITS * level as u32)) % SLOTS as u64) as usize;
    (level, slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A fresh waker (`_id` only names the timer in the test).
    fn waker(_id: u64) -> Waker {
        Waker::from(Arc::new(Count::default()))
    }

    /// A tiny xorshift PRNG.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn advance(wheel: &mut Wheel, now: u64) -> Vec<u64> {
        let mut fired = Vec::new();
        wheel.advance(now, &mut fired);
        fired.into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn level_and_slot_follow_the_highest_differing_bit() {
        assert_eq!(level_and_slot(0, 1), (0, 1));
        assert_eq!(level_and_slot(0, 63), (0, 63));
        assert_eq!(level_and_slot(0, 64), (1, 1));
        assert_eq!(level_and_slot(0, 4095), (1, 63));
        assert_eq!(level_and_slot(0, 4096), (2, 1));
        assert_eq!(level_and_slot(100, 120), (0, 120 % 64));
        assert_eq!(level_and_slot(0, MAX_SPAN), (5, 63));
        // Crossing a boundary of the top level's span lands on the top level.
        assert_eq!(level_and_slot(MAX_SPAN, MAX_SPAN + 5), (5, 0));
        assert_eq!(level_and_slot(MAX_SPAN - 10, 2 * MAX_SPAN - 20).0, 5);
    }

    #[test]
    fn fires_each_timer_at_its_tick_never_before() {
        let mut wheel = Wheel::new();
        let ticks = [1, 2, 63, 64, 65, 100, 4095, 4096, 4097, 300_000, 20_000_000];
        for &t in &ticks {
            wheel.insert(t, waker(t)).unwrap();
        }
        let mut fired = Vec::new();
        let mut now = 0;
        while wheel.next_expiration().is_some() {
            let next = wheel.next_expiration().unwrap();
            assert!(next > now, "next expiration {next} not after now {now}");
            // One tick before: nothing new fires.
            assert!(advance(&mut wheel, next - 1).is_empty() || next - 1 == now);
            now = next;
            for t in advance(&mut wheel, now) {
                assert_eq!(t, now, "a timer for {t} fired at {now}");
                fired.push(t);
            }
        }
        assert_eq!(fired, ticks);
    }

    #[test]
    fn due_timers_are_refused() {
        let mut wheel = Wheel::new();
        advance(&mut wheel, 10);
        assert!(wheel.insert(10, waker(0)).is_err());
        assert!(wheel.insert(3, waker(0)).is_err());
        assert!(wheel.insert(11, waker(0)).is_ok());
    }

    #[test]
    fn far_timers_go_round_the_top_level_and_never_fire_early() {
        let mut wheel = Wheel::new();
        let far = 5 * MAX_SPAN + 12_345;
        let key = wheel.insert(far, waker(1)).unwrap();
        let mut now = 0;
        let mut hops = 0;
        while let Some(next) = wheel.next_expiration() {
            now = next;
            let fired = advance(&mut wheel, now);
            hops += 1;
            if !fired.is_empty() {
                assert_eq!(fired, [far]);
                break;
            }
            assert!(hops < 100, "timer never fired");
        }
        assert_eq!(now, far);
        assert_eq!(wheel.poll(key, &waker(1)), Poll::Ready(()));
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn the_next_turn_of_the_top_level_comes_last() {
        let mut wheel = Wheel::new();
        // Now is the middle of the top level's slot 0.
        advance(&mut wheel, 1 << 29);
        // Due in the ring's next turn, in the current top slot (0).
        wheel.insert((1 << 36) + (1 << 28), waker(0)).unwrap();
        // Due in this turn, top slot 3.
        wheel.insert(3 << 30, waker(1)).unwrap();
        assert_eq!(wheel.next_expiration(), Some(3 << 30));
        assert_eq!(advance(&mut wheel, 3 << 30), [3 << 30]);
        assert_eq!(
            advance(&mut wheel, (1 << 36) + (1 << 28)),
            [(1 << 36) + (1 << 28)]
        );
    }

    #[test]
    fn a_late_advance_fires_everything_due_in_tick_order() {
        let mut wheel = Wheel::new();
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut whens: Vec<u64> = (0..10_000).map(|_| 1 + rng.next() % 200_000).collect();
        for &w in &whens {
            wheel.insert(w, waker(w)).unwrap();
        }
        let fired = advance(&mut wheel, 150_000);
        whens.sort_unstable();
        let due: Vec<u64> = whens.iter().copied().filter(|&w| w <= 150_000).collect();
        assert_eq!(fired, due);
        let rest = advance(&mut wheel, u64::from(u32::MAX));
        assert_eq!(rest.len() + fired.len(), whens.len());
        assert!(rest.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn cancel_unlinks_in_the_middle_of_a_slot() {
        let mut wheel = Wheel::new();
        let keys: Vec<Key> = (0..5)
            .map(|i| wheel.insert(10, waker(i)).unwrap())
            .collect();
        wheel.remove(keys[2]);
        wheel.remove(keys[0]);
        wheel.remove(keys[4]);
        assert_eq!(wheel.len(), 2);
        assert_eq!(advance(&mut wheel, 10), [10, 10]);
        assert!(wheel.is_fired(keys[1]) && wheel.is_fired(keys[3]));
        // Removing everything empties the slot's occupancy.
        wheel.remove(keys[1]);
        wheel.remove(keys[3]);
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_expiration(), None);
    }

    #[test]
    fn stale_keys_are_recognised() {
        let mut wheel = Wheel::new();
        let old = wheel.insert(5, waker(0)).unwrap();
        wheel.remove(old);
        let new = wheel.insert(7, waker(1)).unwrap();
        assert_eq!(old.index, new.index, "the freed entry is reused");
        assert_ne!(old, new);
        assert!(wheel.remove(old).is_none(), "a stale key frees nothing");
        assert!(wheel.is_fired(old));
        assert!(!wheel.is_fired(new));
        assert_eq!(wheel.len(), 1);
        assert!(matches!(wheel.reset(old, 9), Reset::Gone));
        assert_eq!(advance(&mut wheel, 7), [7]);
    }

    #[test]
    fn poll_stores_a_new_waker_and_fired_entries_are_freed_on_poll() {
        let mut wheel = Wheel::new();
        let a = Arc::new(Count::default());
        let b = Arc::new(Count::default());
        let key = wheel.insert(3, Waker::from(a.clone())).unwrap();
        assert_eq!(wheel.poll(key, &Waker::from(b.clone())), Poll::Pending);
        let mut fired = Vec::new();
        wheel.advance(3, &mut fired);
        assert_eq!(fired.len(), 1);
        for (_, w) in fired {
            w.wake();
        }
        assert_eq!(a.0.load(Ordering::Relaxed), 0);
        assert_eq!(b.0.load(Ordering::Relaxed), 1);
        assert_eq!(
            wheel.len(),
            1,
            "a fired entry stays until its owner sees it"
        );
        assert_eq!(wheel.poll(key, &Waker::from(b)), Poll::Ready(()));
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn reset_moves_keeps_the_waker_or_reports_due() {
        let mut wheel = Wheel::new();
        let key = wheel.insert(100, waker(0)).unwrap();
        assert!(matches!(wheel.reset(key, 5_000), Reset::Moved));
        assert!(advance(&mut wheel, 4_999).is_empty());
        assert!(matches!(wheel.reset(key, 5_001), Reset::Moved));
        assert_eq!(advance(&mut wheel, 5_001), [5_001]);
        // Fired: a reset frees it.
        assert!(matches!(wheel.reset(key, 6_000), Reset::Gone));
        assert_eq!(wheel.len(), 0);
        let key = wheel.insert(6_000, waker(0)).unwrap();
        assert!(matches!(wheel.reset(key, 10), Reset::Due(Some(_))));
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_expiration(), None);
    }

    /// Random inserts, cancels, resets and advances against a simple model.
    #[test]
    fn matches_a_model() {
        let mut wheel = Wheel::new();
        let mut model: BTreeMap<u64, u64> = BTreeMap::new(); // id -> when
        let mut keys: BTreeMap<u64, Key> = BTreeMap::new();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut now = 0u64;
        let mut next_id = 0u64;
        for _ in 0..200_000 {
            match rng.next() % 10 {
                0..=4 => {
                    let span = [70, 5_000, 300_000, 1 << 40][(rng.next() % 4) as usize];
                    let when = now + 1 + rng.next() % span;
                    let id = next_id;
                    next_id += 1;
                    keys.insert(id, wheel.insert(when, waker(id)).unwrap());
                    model.insert(id, when);
                }
                5 | 6 if !keys.is_empty() => {
                    let nth = (rng.next() % keys.len() as u64) as usize;
                    let id = *keys.keys().nth(nth).unwrap();
                    wheel.remove(keys.remove(&id).unwrap());
                    model.remove(&id);
                }
                7 if !keys.is_empty() => {
                    let nth = (rng.next() % keys.len() as u64) as usize;
                    let id = *keys.keys().nth(nth).unwrap();
                    let when = now + 1 + rng.next() % 10_000;
                    assert!(matches!(wheel.reset(keys[&id], when), Reset::Moved));
                    model.insert(id, when);
                }
                _ => {
                    let step = [1, 3, 64, 1_000, 100_000][(rng.next() % 5) as usize];
                    if let Some(next) = wheel.next_expiration() {
                        let earliest = model.values().min().copied().unwrap();
                        assert!(
                            next <= earliest,
                            "bound {next} after the earliest {earliest}"
                        );
                    }
                    now += step;
                    let mut fired = Vec::new();
                    wheel.advance(now, &mut fired);
                    let mut expected: Vec<u64> =
                        model.values().copied().filter(|&w| w <= now).collect();
                    expected.sort_unstable();
                    let got: Vec<u64> = fired.iter().map(|(t, _)| *t).collect();
                    assert_eq!(got, expected, "at {now}");
                    let due: Vec<u64> = model
                        .iter()
                        .filter(|(_, &w)| w <= now)
                        .map(|(&id, _)| id)
                        .collect();
                    for id in due {
                        model.remove(&id);
                        let key = keys.remove(&id).unwrap();
                        assert!(wheel.is_fired(key));
                        assert_eq!(wheel.poll(key, &waker(id)), Poll::Ready(()));
                    }
                }
            }
            assert_eq!(wheel.len(), model.len());
        }
    }

    /// A million pending timers, all but one cancelled, then a million more: the slab is
    /// reused, not grown. When the last one goes, the slab's memory is returned.
    #[test]
    fn a_million_timers_reuse_the_slab() {
        let mut wheel = Wheel::new();
        let w = waker(0);
        let mut rng = Rng(42);
        let mut insert_many = |wheel: &mut Wheel, n: usize| -> Vec<Key> {
            (0..n)
                .map(|_| {
                    wheel
                        .insert(1 + rng.next() % 10_000_000, w.clone())
                        .unwrap()
                })
                .collect()
        };
        let mut keys = insert_many(&mut wheel, 1_000_000);
        assert_eq!(wheel.len(), 1_000_000);
        assert_eq!(wheel.slab_size(), 1_000_000);
        let last = keys.pop().unwrap();
        for key in keys {
            wheel.remove(key);
        }
        assert_eq!(wheel.len(), 1);
        let keys = insert_many(&mut wheel, 999_999);
        assert_eq!(wheel.len(), 1_000_000);
        assert_eq!(wheel.slab_size(), 1_000_000, "freed entries are reused");
        for key in keys {
            wheel.remove(key);
        }
        assert_eq!(wheel.slab_size(), 1_000_000);
        wheel.remove(last);
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.slab_size(), 0, "an empty large slab is freed");
        assert_eq!(wheel.next_expiration(), None);
        // And the wheel works on.
        let key = wheel.insert(5, waker(1)).unwrap();
        assert_eq!(advance(&mut wheel, 5), [5]);
        assert_eq!(wheel.poll(key, &waker(1)), Poll::Ready(()));
    }
}
