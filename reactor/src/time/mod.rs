//! Time: [`sleep`], [`timeout`] and [`interval`], over a sharded hierarchical timer wheel.
//!
//! ```
//! use std::time::Duration;
//! use hue_reactor::time::{sleep, timeout, Instant};
//!
//! let rt = hue_executor::Runtime::builder().workers(2).build()?;
//! rt.block_on(async {
//!     let start = Instant::now();
//!     sleep(Duration::from_millis(10)).await;
//!     assert!(start.elapsed() >= Duration::from_millis(10));
//!
//!     let slow = sleep(Duration::from_secs(60));
//!     assert!(timeout(Duration::from_millis(5), slow).await.is_err());
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The API is tokio's (`tokio::time`): the same names, the same semantics, including
//! [`MissedTickBehavior`] and the cooperative budget. Timers work in any task, in `block_on`
//! and on `spawn_blocking` threads; they need a hue runtime (the first timer installs the
//! runtime's [`Reactor`](crate::Reactor)), and [`sleep`] panics outside one, as tokio's does.
//!
//! # The wheel
//!
//! Time is counted in **ticks of 1 ms** since the reactor started. Timers live in a
//! hierarchical timing wheel (Varghese and Lauck; the shape of tokio's): 6 levels of 64 slots,
//! level `l` with slots of `64^l` ms, so the wheel spans `2^36` ms (about 2.2 years; a timer
//! further away goes round the top level until it is due). A timer goes to the level of the
//! highest bit in which its tick differs from the wheel's current tick, so inserting it is a
//! few bit operations; when its slot comes up it fires or moves down to a finer level (at most
//! 5 moves in its life). Finding the next deadline is a rotate and a count of trailing zeros
//! per level on a 64-bit occupancy mask.
//!
//! The wheel is 100% safe Rust: its timers live in a slab (a `Vec` of entries with a free
//! list) and each slot is an intrusive doubly-linked list of slab indices. A [`Sleep`] holds
//! its entry's index and generation (a stale index is recognised by its generation).
//!
//! # Sharded
//!
//! There is one wheel per CPU (as many as `available_parallelism`), each behind its own
//! mutex. A timer goes into the wheel of the worker that first polls it (`current_worker() %
//! shards`; threads that are not workers use shard 0) and stays there. So workers inserting
//! and cancelling timers at the same time take different locks, and each lock is held for a
//! few dozen nanoseconds; the driver takes each shard's lock once per turn to find the next
//! deadline and once to fire what is due (timers fired in one turn from several shards are
//! woken in deadline order).
//!
//! # The driver
//!
//! The reactor's wait (`epoll_wait`) is bounded by the earliest slot of all shards, rounded
//! **up** to whole milliseconds. The reactor notes until which tick it sleeps; a timer
//! inserted with an earlier tick interrupts its wait (one `eventfd` write) so the new deadline
//! is honoured. A busy worker also turns the driver without waiting every few dozen color
//! turns, so timers fire even when no worker is idle.
//!
//! # Never early
//!
//! A deadline becomes a tick by rounding **up** to the next whole millisecond, and a timer
//! fires only when the driver processes a `now` whose tick, rounded **down**, has reached it.
//! So when a [`Sleep`] completes, `Instant::now() >= deadline`, always. It may be late: by up
//! to about a millisecond of rounding plus the time until a worker turns the driver (at once
//! on an idle runtime; a worker stuck in a long poll delays it, as in any runtime).
//!
//! # Lazy registration, cancel on drop
//!
//! Creating a [`Sleep`] (or a [`Timeout`], or an [`Interval`]) costs no lock: the timer is
//! inserted into a wheel on its **first poll**, so a `timeout` whose future is ready at once
//! never touches the wheel. A `Sleep` whose deadline is already behind the wheel is ready at
//! its first poll without being inserted. Later polls only compare wakers (and store the new
//! one if the task moved). Dropping a `Sleep` cancels its timer in **O(1)** (it unlinks its
//! entry by index); a fired entry stays in the slab, its waker taken, until the `Sleep` sees
//! it (then it is freed). Freed entries are reused, so a program that keeps a million timers
//! pending and drops them keeps the same memory for the next million.
//!
//! # Cost model
//!
//! - `sleep`/`timeout`: one `Instant::now()` and one `Arc` clone of the reactor.
//! - First poll that registers: one uncontended lock of the current worker's shard, one
//!   waker clone, a few bit operations; plus one `eventfd` write if the driver sleeps past
//!   the new deadline.
//! - Later polls: a lock and a `will_wake` comparison. Drop of a registered timer: a lock
//!   and an O(1) unlink. Firing: O(1) per timer, plus at most 5 moves between levels.
//! - Memory: 40 bytes per timer in the slab, reused; a slab of more than 65,536 entries is
//!   freed when its last timer goes, so a burst does not keep its memory. 1.6 KiB of slot
//!   heads per shard.
//! - The cooperative budget: a ready `Sleep` spends one unit of its task's budget, and a
//!   `Sleep` polled with the budget spent yields (it is woken and returns `Pending`).
//!
//! # Instant
//!
//! [`Instant`] is `std::time::Instant`, re-exported: hue has no paused or mocked clock (yet),
//! so there is no reason for a type of its own, and deadlines from other code can be used
//! directly.

mod interval;
mod sleep;
mod timeout;
mod wheel;

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};

use hue_executor::sync::lock;
use std::task::Waker;
use std::time::Duration;

pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
/// The clock of hue's timers: `std::time::Instant`, re-exported. hue has no paused or mocked
/// clock yet, so it needs no type of its own.
pub use std::time::Instant;
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

use wheel::{Key, Reset, Wheel};

/// "The driver is not asleep": nothing to interrupt.
const AWAKE: u64 = 0;
/// "The driver sleeps until an event or `unpark`".
const FOREVER: u64 = u64::MAX;

/// A shard's wheel on cache lines of its own.
#[repr(align(128))]
struct Shard(Mutex<Wheel>);

/// The reactor's timers: one wheel per shard, and the driver's side of them.
pub(crate) struct Timers {
    /// Tick 0.
    start: Instant,
    shards: Box<[Shard]>,
    /// The tick until which the driver sleeps ([`AWAKE`] when it is not waiting): a timer
    /// inserted for an earlier tick interrupts the wait.
    parked_until: AtomicU64,
    /// The driver's scratch for the timers it fires (only the driver thread takes it).
    fired: Mutex<Vec<(u64, Waker)>>,
    /// Set by [`shutdown`](Timers::shutdown): polling a pending timer panics from then on.
    shut_down: std::sync::atomic::AtomicBool,
}

/// What registering a timer did.
pub(crate) enum Registered {
    /// Queued; `unpark`: the driver must be interrupted to see it in time.
    Queued { key: Key, unpark: bool },
    /// The deadline is already behind the wheel: complete now.
    Due,
}

impl Timers {
    pub(crate) fn new(shards: usize) -> Timers {
        Timers {
            start: Instant::now(),
            shards: (0..shards.max(1))
                .map(|_| Shard(Mutex::new(Wheel::new())))
                .collect(),
            parked_until: AtomicU64::new(AWAKE),
            fired: Mutex::new(Vec::new()),
            shut_down: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The tick of `deadline`, rounded up (a timer never fires before its deadline).
    fn tick_ceil(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.start);
        d.as_secs() * 1_000 + u64::from(d.subsec_nanos()).div_ceil(1_000_000)
    }

    /// The tick of `now`, rounded down (the last tick that has fully begun).
    fn tick_floor(&self, now: Instant) -> u64 {
        let d = now.saturating_duration_since(self.start);
        d.as_secs() * 1_000 + u64::from(d.subsec_millis())
    }

    /// The shard for a timer first polled on this thread.
    fn current_shard(&self) -> usize {
        match self.shards.len() {
            1 => 0,
            n => hue_executor::current_worker().unwrap_or(0) % n,
        }
    }

    fn wheel(&self, shard: usize) -> MutexGuard<'_, Wheel> {
        lock(&self.shards[shard].0)
    }

    /// Queues a timer for `deadline` in the current thread's shard.
    fn register(&self, deadline: Instant, waker: &Waker) -> (usize, Registered) {
        let shard = self.current_shard();
        let when = self.tick_ceil(deadline);
        let waker = waker.clone();
        let mut wheel = self.wheel(shard);
        let result = wheel.insert(when, waker);
        drop(wheel);
        match result {
            Ok(key) => {
                let unpark = when < self.parked_until.load(SeqCst);
                (shard, Registered::Queued { key, unpark })
            }
            Err(_waker) => (shard, Registered::Due),
        }
    }

    /// The owner polls its timer (see [`Wheel::poll`]).
    fn poll(&self, shard: usize, key: Key, waker: &Waker) -> std::task::Poll<()> {
        self.wheel(shard).poll(key, waker)
    }

    fn is_fired(&self, shard: usize, key: Key) -> bool {
        self.wheel(shard).is_fired(key)
    }

    /// Cancels a timer (its waker is dropped after unlocking).
    fn remove(&self, shard: usize, key: Key) {
        let waker = self.wheel(shard).remove(key);
        drop(waker);
    }

    /// Moves a timer to `deadline`. Returns the wheel's answer and whether the driver must be
    /// interrupted.
    fn reset(&self, shard: usize, key: Key, deadline: Instant) -> (Reset, bool) {
        let when = self.tick_ceil(deadline);
        let reset = self.wheel(shard).reset(key, when);
        let unpark = matches!(reset, Reset::Moved) && when < self.parked_until.load(SeqCst);
        (reset, unpark)
    }

    /// Before a wait: `timeout` shortened to the next timer's tick (rounded up to whole ms).
    /// Notes until when the driver sleeps, so an earlier timer inserted meanwhile unparks it.
    pub(crate) fn before_park(&self, now: Instant, timeout: Option<Duration>) -> Option<Duration> {
        // First the bound without timers, then the scan: a timer inserted into a shard after
        // the scan has looked at it sees this value (the shard's lock orders them) and
        // unparks the driver if it is due earlier; one inserted before is seen by the scan.
        let requested = match timeout {
            None => FOREVER,
            Some(d) => now.checked_add(d).map_or(FOREVER, |t| self.tick_floor(t)),
        };
        self.parked_until.store(requested, SeqCst);
        let next = self
            .shards
            .iter()
            .filter_map(|s| lock(&s.0).next_expiration())
            .min();
        let Some(next) = next else {
            return timeout;
        };
        if next < requested {
            self.parked_until.store(next, SeqCst);
        }
        // Sleep until tick `next` has begun: whole milliseconds, rounded up.
        let until = self.start + Duration::from_millis(next);
        let wait = until.saturating_duration_since(now);
        let millis = wait.as_secs() * 1_000 + u64::from(wait.subsec_nanos()).div_ceil(1_000_000);
        let wait = Duration::from_millis(millis);
        Some(timeout.map_or(wait, |t| t.min(wait)))
    }

    /// The runtime shut down: no driver will fire timers any more. Every pending timer's task
    /// is woken, and polling a pending timer panics with a message saying why (a timer that
    /// outlived its runtime would otherwise wait forever; tokio panics the same way).
    pub(crate) fn shutdown(&self) {
        self.shut_down.store(true, SeqCst);
        let mut wakers = Vec::new();
        for shard in self.shards.iter() {
            lock(&shard.0).advance(u64::MAX, &mut wakers);
        }
        wakers.into_iter().for_each(|(_, waker)| waker.wake());
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// After a wait: fires every due timer, pushing the wakers to `wake` (in deadline order),
    /// and notes that the driver is awake.
    pub(crate) fn after_park(&self, now: Instant, wake: &mut Vec<Waker>) {
        self.parked_until.store(AWAKE, SeqCst);
        let now = self.tick_floor(now);
        let mut fired = lock(&self.fired);
        let mut shards_fired = 0;
        for shard in self.shards.iter() {
            let before = fired.len();
            lock(&shard.0).advance(now, &mut fired);
            shards_fired += usize::from(fired.len() > before);
        }
        if shards_fired > 1 {
            // Each shard's timers are in tick order; merge them (a stable sort keeps ties in
            // shard order).
            fired.sort_by_key(|&(when, _)| when);
        }
        wake.extend(fired.drain(..).map(|(_, waker)| waker));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Noop;

    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn ticks_round_deadlines_up_and_now_down() {
        let timers = Timers::new(2);
        let t = timers.start + Duration::from_micros(2_500);
        assert_eq!(timers.tick_ceil(t), 3);
        assert_eq!(timers.tick_floor(t), 2);
        let exact = timers.start + Duration::from_millis(7);
        assert_eq!(timers.tick_ceil(exact), 7);
        assert_eq!(timers.tick_floor(exact), 7);
        let before = timers.start.checked_sub(Duration::from_secs(1));
        if let Some(before) = before {
            assert_eq!(timers.tick_ceil(before), 0);
        }
    }

    #[test]
    fn the_wait_is_bounded_by_the_next_timer_rounded_up() {
        let timers = Timers::new(2);
        let waker = Waker::from(Arc::new(Noop));
        let deadline = timers.start + Duration::from_micros(10_300);
        let (_, reg) = timers.register(deadline, &waker);
        let Registered::Queued { unpark, .. } = reg else {
            panic!("not queued");
        };
        assert!(!unpark, "the driver is awake: no unpark needed");
        let now = timers.start + Duration::from_micros(4_200);
        // Tick 11 begins at 11 ms: 6.8 ms away, rounded up to 7 ms.
        assert_eq!(
            timers.before_park(now, None),
            Some(Duration::from_millis(7))
        );
        assert_eq!(timers.parked_until.load(SeqCst), 11);
        assert_eq!(
            timers.before_park(now, Some(Duration::from_millis(2))),
            Some(Duration::from_millis(2))
        );
        assert_eq!(timers.parked_until.load(SeqCst), 6);
        // An earlier timer must interrupt the wait; a later one need not.
        let (_, reg) = timers.register(timers.start + Duration::from_millis(5), &waker);
        assert!(matches!(reg, Registered::Queued { unpark: true, .. }));
        let (_, reg) = timers.register(timers.start + Duration::from_millis(50), &waker);
        assert!(matches!(reg, Registered::Queued { unpark: false, .. }));

        let mut wake = Vec::new();
        timers.after_park(timers.start + Duration::from_micros(10_999), &mut wake);
        assert_eq!(wake.len(), 1, "only the 5 ms timer is due at 10.999 ms");
        assert_eq!(timers.parked_until.load(SeqCst), AWAKE);
        timers.after_park(timers.start + Duration::from_millis(11), &mut wake);
        assert_eq!(wake.len(), 2);
    }

    /// A waker that records its id when woken.
    struct Record(u64, Arc<std::sync::Mutex<Vec<u64>>>);

    impl Wake for Record {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    #[test]
    fn timers_of_several_shards_fire_in_deadline_order() {
        let timers = Timers::new(3);
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        for (shard, ms) in [(0, 30), (1, 10), (2, 20), (0, 15), (1, 25), (2, 12)] {
            let waker = Waker::from(Arc::new(Record(ms, log.clone())));
            let when = timers.tick_ceil(timers.start + Duration::from_millis(ms));
            timers.wheel(shard).insert(when, waker).unwrap();
        }
        let mut wake = Vec::new();
        timers.after_park(timers.start + Duration::from_millis(100), &mut wake);
        for waker in wake {
            waker.wake();
        }
        assert_eq!(*log.lock().unwrap(), [10, 12, 15, 20, 25, 30]);
    }
}
