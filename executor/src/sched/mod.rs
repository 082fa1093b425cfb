//! The colored scheduler: color queues, workers, stealing, parking (DESIGN section 3).
//!
//! # Shape
//!
//! - Each active color has one [`ColorQueue`]: a FIFO of its runnable tasks and a run state
//!   (see [`color_queue`]). A worker's run queue holds *colors*: stealing a color moves one
//!   handle, so S1 holds by construction.
//! - Each color has a **home** worker, first a hash of the color (as in the paper) — except a
//!   [`Color::fresh`] color spawned on a worker, which starts on that worker (see
//!   [`ColorQueue::initial_home`]) — then the last worker that ran it: a stolen color moves
//!   home to the thief, so its state stays in one cache. A color that becomes runnable on its
//!   home worker goes to that worker's local deque; from anywhere else it goes to the home's
//!   inbox, and the home is unparked.
//! - Idle workers steal queued colors (whole colors, never a running one: a running color is in
//!   no queue) from the other workers' deques and inboxes, starting at a random victim, at most
//!   half of the workers searching at once. Whoever queues a color wakes a sleeping worker to
//!   come and steal, unless no one could take it sooner than its worker will: a color queued on
//!   its worker's otherwise empty deque during a poll runs right after that poll (tokio's LIFO
//!   slot makes the same trade; a poll that blocks its thread delays it, which is why blocking
//!   work belongs in `spawn_blocking`). Stealing can be turned off (for experiments).
//! - A color made runnable by tasks *moving into it* (`recolor`, `in_color`) runs next on the
//!   worker that moved them, from a one-color slot ([`Context::next`]), at most
//!   [`NEXT_STREAK`] turns in a row: such tasks are usually entering a short critical
//!   section, and a color left at the back of a deep deque makes every other section for it
//!   queue behind (a convoy).
//! - Fairness (S7): a worker runs at most [`BATCH`] tasks of a color per turn; then, if nothing
//!   else waits on the worker, it takes the color's next batch at once (one lock, no trip
//!   through the deque), else the color goes to the back of the deque. The inbox is looked at
//!   first every [`INBOX_INTERVAL`] turns and the driver polled without blocking every
//!   [`DRIVER_INTERVAL`] turns, counting those continued turns too.
//! - Membership: a color queue lists its live tasks (for shutdown); a task joins at spawn and
//!   leaves when it completes, at the end of its color's turn (see [`release`]). The color map
//!   ([`colors`]) is only touched by threads that spawn into a named or fresh color.
//!
//! # Shutdown (S8)
//!
//! The runtime sets `shutdown`, unparks every worker and joins them (workers stop between
//! colors). Then no color is running, and the shutting-down thread: closes the color map (a
//! spawn from now on yields a cancelled `JoinHandle` at once), closes every color queue (a wake
//! from now on drops its notification), drops the queued notifications, and drops the future
//! of every live task exactly once, one at a time, so S1 still holds. If
//! `shutdown_timeout` gives up on a worker stuck in a poll, the tasks of the color that worker
//! holds are left alone (never dropped under its feet) and leak, as tokio's do.

pub(crate) mod block_on;
pub(crate) mod color_queue;
pub(crate) mod colors;
pub(crate) mod park;
pub(crate) mod worker;

use std::cell::Cell;
use std::future::Future;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;

use crossbeam_deque::{Injector, Stealer};
use crossbeam_utils::CachePadded;

use crate::blocking::BlockingPool;
use crate::driver::Driver;
use crate::task::{JoinHandle, Notified, RawTask};
use crate::Color;
use color_queue::{CqCore, Push};
use colors::ColorMap;
use park::{Idle, Parker};

/// Tasks a worker runs from one color before moving on (S7).
pub(crate) const BATCH: usize = 64;
/// Every this many colors, a worker looks at its inbox before its local deque.
pub(crate) const INBOX_INTERVAL: u32 = 31;
/// Every this many colors, a busy worker polls the driver without blocking.
pub(crate) const DRIVER_INTERVAL: u32 = 61;

/// The queue of one color (see [`color_queue`]), plus what the scheduler keeps about it.
///
/// Padded by a cache line on both sides, so that queues of colors running on different
/// workers never share a line with each other or with a neighbouring allocation: every turn
/// writes the lock and `home`. What a turn or an inline `in_color` section touches (the lock
/// and run state, the color, the home) comes first, in 64 bytes. Padding rather than
/// `align(64)`: aligned, every queue the pools cannot supply goes down the allocator's slow
/// `memalign` path, and `colored_state` at the 10,000 tasks (10,000 fresh colors live
/// at once) measured about 3% slower against tokio (alternating runs: 0.95-1.00 aligned,
/// 0.99-1.02 padded; no difference at 1,000 tasks). Putting the `Arc`'s counts on the same
/// lines as the fields (no front padding) was tried too: no measurable gain, and `yield_many`
/// was a few percent slower.
#[repr(C)]
pub(crate) struct ColorQueue {
    _pad_front: [u8; 64],
    pub(crate) core: CqCore,
    pub(crate) color: Color,
    /// The worker it prefers; moves to whoever runs it.
    pub(crate) home: AtomicUsize,
    /// Tasks (and `block_on` callers) in this color; changed only under the shard lock.
    pub(crate) members: AtomicUsize,
    /// How many of `members` are workers' [`ColorCache`] entries, not tasks (for metrics).
    pub(crate) cached: AtomicUsize,
    /// Index of the map shard the color lives in.
    pub(crate) shard: usize,
    pub(crate) shared: Arc<Shared>,
    _pad_back: [u8; 64],
}

impl ColorQueue {
    /// The home of a color that has no queue yet.
    ///
    /// A color made by [`Color::new`] or [`Color::of`] starts at a hash of its value, as in
    /// the paper: every task of a named color, spawned from anywhere, meets on one worker.
    /// A [`Color::fresh`] color spawned on a worker starts on that worker instead: it has no
    /// state anywhere else, the spawner's cache holds what the new task captured, and running
    /// it there needs no cross-thread wake (this is what tokio's local spawn and LIFO slot
    /// buy; a chain of spawns would otherwise hop between workers half of the time). Idle
    /// workers still steal it, which spreads such colors when they pile up.
    fn initial_home(color: Color, shared: &Shared, spawner: Option<usize>) -> usize {
        match spawner {
            Some(worker) if color.is_fresh() => worker,
            _ => (colors::mix(color) % shared.workers.len() as u64) as usize,
        }
    }

    fn new(color: Color, shard: usize, shared: &Arc<Shared>, home: usize) -> ColorQueue {
        ColorQueue {
            _pad_front: [0; 64],
            _pad_back: [0; 64],
            core: CqCore::new(),
            color,
            shard,
            home: AtomicUsize::new(home),
            members: AtomicUsize::new(0),
            cached: AtomicUsize::new(0),
            shared: shared.clone(),
        }
    }

    /// Readies a pooled queue (of the same shard, unused: `Idle`, empty) for `color`.
    fn reset(&mut self, color: Color, home: usize) {
        debug_assert_eq!(self.core.state(), color_queue::RunState::Idle);
        debug_assert_eq!(*self.members.get_mut(), 0);
        self.color = color;
        *self.home.get_mut() = home;
    }
}

/// A new strong reference to the color queue at `cq`.
///
/// # Safety
/// `cq` came from `Arc::into_raw` (or `Arc::as_ptr`) of a queue that someone keeps alive for
/// the duration of the call.
unsafe fn clone_queue(cq: *const ColorQueue) -> Arc<ColorQueue> {
    // SAFETY: forwarded: the allocation is a live `Arc<ColorQueue>`.
    unsafe {
        Arc::increment_strong_count(cq);
        Arc::from_raw(cq)
    }
}

/// Per-worker counters, written only by their worker (relaxed), read by `metrics()`.
#[derive(Default)]
pub(crate) struct WorkerMetrics {
    pub(crate) polls: AtomicU64,
    pub(crate) colors_run: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) stolen_colors: AtomicU64,
    pub(crate) stolen_tasks: AtomicU64,
    pub(crate) local_schedules: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) driver_polls: AtomicU64,
    pub(crate) long_polls: AtomicU64,
    pub(crate) longest_poll_ns: AtomicU64,
    /// Tasks spawned on this worker, and tasks that completed on it (for `live_tasks`).
    pub(crate) spawned: AtomicU64,
    pub(crate) completed: AtomicU64,
}

impl WorkerMetrics {
    pub(crate) fn bump(counter: &AtomicU64) {
        WorkerMetrics::add(counter, 1);
    }

    /// Adds to a counter that only this worker writes (no read-modify-write needed).
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Relaxed) + n, Relaxed);
    }
}

/// Runtime settings the scheduler needs.
pub(crate) struct Config {
    pub(crate) driver: Option<Arc<dyn Driver>>,
    pub(crate) steal: bool,
    pub(crate) max_blocking_threads: usize,
    pub(crate) blocking_keep_alive: std::time::Duration,
    pub(crate) long_poll_ns: u64,
}

/// The parts of a worker that other threads touch. Each part that one side writes often sits
/// on its own cache lines, so a thread scheduling onto this worker does not miss on the lines
/// the worker writes on every poll (its counters).
pub(crate) struct Remote {
    pub(crate) stealer: Stealer<Arc<ColorQueue>>,
    pub(crate) inbox: Injector<Arc<ColorQueue>>,
    pub(crate) parker: CachePadded<Parker>,
    /// Written only by the worker.
    pub(crate) metrics: CachePadded<WorkerMetrics>,
    /// Remote schedules are counted by the scheduling threads, so they need an atomic add.
    pub(crate) remote_schedules: CachePadded<AtomicU64>,
}

/// State shared by the workers and every handle.
pub(crate) struct Shared {
    /// This runtime's id, unique for the life of the process (see [`crate::color_cell`]).
    pub(crate) id: u64,
    pub(crate) colors: ColorMap,
    pub(crate) workers: Box<[CachePadded<Remote>]>,
    pub(crate) idle: Idle,
    /// Set at build time ([`Builder::driver`](crate::Builder::driver)) or later, once, by
    /// [`Handle::driver_or_try_init`](crate::Handle::driver_or_try_init).
    pub(crate) driver: std::sync::OnceLock<Arc<dyn Driver>>,
    driver_init: std::sync::Mutex<()>,
    driver_busy: AtomicBool,
    pub(crate) shutdown: AtomicBool,
    pub(crate) steal: bool,
    pub(crate) blocking: BlockingPool,
    /// Polls longer than this count as long polls (metrics).
    pub(crate) long_poll_ns: u64,
    /// Tasks spawned, and completed, off the workers (for `live_tasks`).
    pub(crate) foreign_spawned: CachePadded<AtomicU64>,
    pub(crate) foreign_completed: CachePadded<AtomicU64>,
}

impl Shared {
    pub(crate) fn new(stealers: Vec<Stealer<Arc<ColorQueue>>>, config: Config) -> Shared {
        let Config {
            driver,
            steal,
            max_blocking_threads,
            blocking_keep_alive,
            long_poll_ns,
        } = config;
        let n = stealers.len();
        Shared {
            id: crate::color_cell::register_runtime(),
            colors: ColorMap::new(n),
            workers: stealers
                .into_iter()
                .map(|stealer| {
                    CachePadded::new(Remote {
                        stealer,
                        inbox: Injector::new(),
                        parker: CachePadded::new(Parker::new()),
                        metrics: CachePadded::new(WorkerMetrics::default()),
                        remote_schedules: CachePadded::new(AtomicU64::new(0)),
                    })
                })
                .collect(),
            idle: Idle::new(n),
            driver: match driver {
                Some(driver) => std::sync::OnceLock::from(driver),
                None => std::sync::OnceLock::new(),
            },
            driver_init: std::sync::Mutex::new(()),
            driver_busy: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            steal,
            blocking: BlockingPool::new(max_blocking_threads, blocking_keep_alive),
            long_poll_ns,
            foreign_spawned: CachePadded::new(AtomicU64::new(0)),
            foreign_completed: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// Counts a spawn (on worker `worker`, or elsewhere).
    fn count_spawn(&self, worker: Option<usize>) {
        match worker {
            Some(w) => WorkerMetrics::bump(&self.workers[w].metrics.spawned),
            None => {
                self.foreign_spawned.fetch_add(1, Relaxed);
            }
        }
    }

    /// Counts a completion of a colored task (on worker `worker`, or elsewhere).
    pub(crate) fn count_completion(&self, worker: Option<usize>) {
        match worker {
            Some(w) => WorkerMetrics::bump(&self.workers[w].metrics.completed),
            None => {
                self.foreign_completed.fetch_add(1, Relaxed);
            }
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Acquire)
    }

    /// Tries to become the one thread that drives the driver.
    pub(crate) fn try_lock_driver(&self) -> Option<DriverGuard<'_>> {
        let driver = self.driver.get()?.as_ref();
        if self.driver_busy.swap(true, Acquire) {
            return None;
        }
        Some(DriverGuard {
            shared: self,
            driver,
        })
    }

    pub(crate) fn unpark_worker(&self, index: usize) -> bool {
        self.workers[index]
            .parker
            .unpark(self.driver.get().map(|d| d.as_ref()))
    }

    /// The installed driver, or the one `init` makes, installed now. After installing, every
    /// worker is unparked once, so that an idle one comes back and parks on the driver.
    pub(crate) fn driver_or_try_init(
        &self,
        init: impl FnOnce() -> std::io::Result<Arc<dyn Driver>>,
    ) -> std::io::Result<Arc<dyn Driver>> {
        if let Some(driver) = self.driver.get() {
            return Ok(driver.clone());
        }
        let _init = lock(&self.driver_init);
        if let Some(driver) = self.driver.get() {
            return Ok(driver.clone());
        }
        let driver = init()?;
        let installed = self.driver.get_or_init(|| driver).clone();
        for index in 0..self.workers.len() {
            self.unpark_worker(index);
        }
        Ok(installed)
    }

    /// Work became available somewhere: wake a sleeper to come and steal, if no one searches.
    pub(crate) fn notify_one(&self) {
        if !self.steal {
            return;
        }
        if let Some(worker) = self.idle.notify_one() {
            self.unpark_worker(worker);
        }
    }

    /// `cq` went `Idle -> Scheduled` (the caller holds its only handle): put it in a run queue.
    pub(crate) fn schedule_color(&self, cq: Arc<ColorQueue>) {
        let home = cq.home.load(Relaxed);
        let pushed = context(|ctx| match ctx {
            Some(ctx) => ctx.push_local(self, home, cq),
            None => Err(cq),
        });
        let cq = match pushed {
            Ok(others_queued) => {
                // Alone in the deque, the color runs right after the current poll, on this
                // worker: waking an idle worker would only make it race us for it (tokio's LIFO
                // slot makes the same trade). With others queued, a thief can help.
                if others_queued {
                    self.notify_one();
                }
                return;
            }
            Err(cq) => cq,
        };
        let remote = &self.workers[home];
        remote.inbox.push(cq);
        remote.remote_schedules.fetch_add(1, Relaxed);
        if !self.unpark_worker(home) {
            // The home is awake (busy, or about to look): let an idle worker steal if it can.
            self.notify_one();
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // No thread can be inside this runtime any more (each holds a reference to it).
        crate::color_cell::retire_runtime(self.id);
    }
}

pub(crate) struct DriverGuard<'a> {
    shared: &'a Shared,
    pub(crate) driver: &'a dyn Driver,
}

impl Drop for DriverGuard<'_> {
    fn drop(&mut self) {
        self.shared.driver_busy.store(false, Release);
    }
}

/// What a thread inside a runtime knows: set by workers for their life and by `block_on`
/// while it runs.
pub(crate) struct Context {
    pub(crate) shared: Arc<Shared>,
    /// `shared.id`, kept here so reading it touches no shared line.
    pub(crate) runtime_id: u64,
    /// The worker's index and its local deque, on worker threads.
    pub(crate) worker: Option<(usize, *const crossbeam_deque::Worker<Arc<ColorQueue>>)>,
    /// The color queue whose task (or `block_on` future) is being polled on this thread.
    pub(crate) current: Cell<*const ColorQueue>,
    /// Tasks of `current` that completed during this turn (workers only; see `release`).
    pub(crate) released: Cell<color_queue::Released>,
    /// Where the task being polled asked to move ([`crate::recolor`]); taken by the runner
    /// after the poll.
    pub(crate) pending_recolor: Cell<Option<Move>>,
    /// Whether an inline `in_color` section runs on this thread now (see [`Inline`]).
    pub(crate) inline: Cell<bool>,
    /// Workers only: queues of named colors this worker joined lately (see [`ColorCache`]).
    pub(crate) color_cache: std::cell::RefCell<ColorCache>,
    /// Workers only: a color made runnable by tasks moving into it (`recolor`, `in_color`, its
    /// way back, a section that found its color busy); it runs next on this worker (see
    /// [`Context::schedule_next`]).
    ///
    /// Why: a task moving into a color is usually entering a short critical section, and
    /// every other task wanting that color finds it busy until it has run. Queued at the back
    /// of a deque of hundreds of colors, it stayed `Scheduled` for a whole round of them, and
    /// sections of other tasks piled up behind it (a convoy that then kept itself going:
    /// `colored_state` had 10-30% of its sections queued that way). Run next, the color is
    /// idle again at once and the next sections run inline.
    pub(crate) next: Cell<Option<Arc<ColorQueue>>>,
    /// Workers only: turns in a row taken from `next`.
    pub(crate) next_streak: Cell<u32>,
}

/// At most this many turns in a row run a color from [`Context::next`].
pub(crate) const NEXT_STREAK: u32 = 3;

impl Context {
    /// A fresh context for a thread entering `shared`: a worker's (with its index and local
    /// deque) or `block_on`'s (`worker: None`). Nothing is polled in it yet.
    pub(crate) fn new(
        shared: Arc<Shared>,
        worker: Option<(usize, *const crossbeam_deque::Worker<Arc<ColorQueue>>)>,
    ) -> Context {
        Context {
            runtime_id: shared.id,
            shared,
            worker,
            current: Cell::new(ptr::null()),
            released: Cell::default(),
            pending_recolor: Cell::new(None),
            inline: Cell::new(false),
            color_cache: Default::default(),
            next: Cell::new(None),
            next_streak: Cell::new(0),
        }
    }

    /// Schedules `cq`, which went `Idle -> Scheduled` because tasks moved into it (see
    /// [`Context::next`]): on a worker of its runtime, it runs right after the current turn,
    /// unless [`NEXT_STREAK`] turns in a row came that way already. The newest such color wins
    /// the slot; one it displaces goes to the back of the deque (tokio's LIFO slot does the
    /// same). Elsewhere it is scheduled like any color.
    pub(crate) fn schedule_next(&self, cq: Arc<ColorQueue>) {
        let here =
            self.worker.is_some() && ptr::eq(Arc::as_ptr(&self.shared), Arc::as_ptr(&cq.shared));
        if !here {
            let shared = cq.shared.clone();
            shared.schedule_color(cq);
        } else if self.next_streak.get() >= NEXT_STREAK {
            self.shared.schedule_color(cq);
        } else if let Some(older) = self.next.replace(Some(cq)) {
            self.shared.schedule_color(older);
        }
    }

    /// Whether a color waits in [`Context::next`].
    pub(crate) fn has_next(&self) -> bool {
        let next = self.next.take();
        let has = next.is_some();
        self.next.set(next);
        has
    }

    /// The queue of `color` if this worker's [`ColorCache`] holds it (and the runtime is not
    /// shutting down): it stays alive and the map's while the entry stays.
    fn cached(&self, color: Color) -> Option<*const ColorQueue> {
        self.worker?;
        let cache = self.color_cache.borrow();
        let cq = cache.get(color)?;
        (!self.shared.colors.is_closed()).then_some(Arc::as_ptr(cq))
    }

    /// Counts a new member into `color` and returns its queue, like [`ColorMap::join`], but
    /// for a named color on a worker through the worker's [`ColorCache`] first.
    pub(crate) fn join(&self, color: Color) -> Result<Arc<ColorQueue>, colors::Closed> {
        let shared = &self.shared;
        let Some((index, _)) = self.worker else {
            return shared.colors.join(shared, color, None);
        };
        if color.is_fresh() {
            return shared.colors.join(shared, color, Some(index));
        }
        if let Some(cq) = self.cached(color) {
            // SAFETY: just found in the cache, which we do not change before this.
            return Ok(unsafe { join_cached(cq) });
        }
        // (Shut down: the map refuses the join.)
        let cq = shared.colors.join(shared, color, Some(index))?;
        ColorMap::join_queue(&cq);
        cq.cached.fetch_add(1, Relaxed);
        if let Some(evicted) = self.color_cache.borrow_mut().insert(cq.clone()) {
            ColorCache::give_back(evicted);
        }
        Ok(cq)
    }
}

/// Counts a new member into a queue found by [`Context::cached`] and returns a reference to
/// it: the cache's membership keeps the queue the map's, so no map lookup is needed.
///
/// # Safety
/// `cq` came from `Context::cached` on this thread, and the cache entry is still there (so the
/// queue is alive).
unsafe fn join_cached(cq: *const ColorQueue) -> Arc<ColorQueue> {
    // SAFETY: forwarded: the cache entry holds a strong reference.
    let cq = unsafe { clone_queue(cq) };
    ColorMap::join_queue(&cq);
    cq
}

/// A worker's small direct-mapped cache of named colors' queues, each held with a membership
/// of its own.
///
/// `in_color(shard, ..)` and `recolor(shard)` name a color whose queue must be found; through
/// the color map that is a shard lock and a hash lookup shared by every worker, and a color
/// whose only members come and go (a shard entered by sections) would lose its last member
/// after every section and be swept and made again. The cache's membership keeps such a queue
/// in the map (a queue with members is the color's one queue: see `colors`), so a hit is one
/// atomic increment on a line the caller is about to touch anyway. Fresh colors are not cached:
/// they are rarely named twice, and holding them would keep their queues from being reused.
/// Entries are given back when evicted and when the worker exits.
pub(crate) struct ColorCache {
    /// Each entry keeps its color beside the queue, so a lookup reads no line of the queue
    /// (the caller's first touch is then its lock, which it wants exclusive: reading the line
    /// first would cost a second trip when another worker last wrote it).
    slots: [Option<(Color, Arc<ColorQueue>)>; COLOR_CACHE_SLOTS],
}

const COLOR_CACHE_SLOTS: usize = 32;

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
            Some((c, cq)) if *c == color => Some(cq),
            _ => None,
        }
    }

    /// Caches `cq` (with the membership the caller counted for it); returns the entry it
    /// replaces, whose membership the caller must give back.
    fn insert(&mut self, cq: Arc<ColorQueue>) -> Option<Arc<ColorQueue>> {
        self.slots[Self::slot(cq.color)]
            .replace((cq.color, cq))
            .map(|(_, cq)| cq)
    }

    fn give_back(cq: Arc<ColorQueue>) {
        cq.cached.fetch_sub(1, Relaxed);
        cq.shared.colors.leave_now(&cq, 1);
    }

    /// Gives back every entry's membership (a worker exits).
    pub(crate) fn clear(&mut self) {
        self.slots
            .iter_mut()
            .filter_map(Option::take)
            .for_each(|(_, cq)| ColorCache::give_back(cq));
    }
}

/// A color taken for an `in_color` section run *inside the current poll* (the fast path of
/// `in_color`): when the section's color is idle, the thread polling a task takes that color
/// the way a worker takes a color for a turn (`Idle -> Running` under its lock), polls the
/// section there, and gives it back, without moving the task through two queues.
///
/// S1 holds for the section's color: it is `Running`, owned by this thread, while the section
/// is polled, exactly as during a worker's turn. S3 holds: the color was idle, so no task was
/// waiting in it to be overtaken. The poll holds two colors for that moment (its own and the
/// section's), but it never waits for a color for long while holding another (it waits at most
/// [`INLINE_PATIENCE`] for a busy one, and sections do not nest inline), so this cannot
/// deadlock. If the section does not finish in that one poll, the color is given back and the
/// task moves into it the ordinary way.
pub(crate) struct Inline {
    cq: InlineQueue,
    prev: *const ColorQueue,
    /// The context of the thread polling the section. An `Inline` lives inside one poll on
    /// that thread (it is never stored in a future), and the context stays installed for
    /// longer than any poll.
    ctx: *const Context,
}

/// How an [`Inline`] section holds its color's queue.
enum InlineQueue {
    /// Found in this worker's [`ColorCache`], whose entry holds a membership and a reference:
    /// nothing to count. The entry stays while the section runs: only [`Context::join`]
    /// changes the cache, and it is not called inside an inline section (the runner calls it
    /// after the poll; `enter_section` returns before it when a section is already inline).
    Cached(*const ColorQueue),
    /// Joined for the section: a membership and a reference of our own, given back at the end.
    Joined(Arc<ColorQueue>),
}

impl InlineQueue {
    fn get(&self) -> &ColorQueue {
        match self {
            // SAFETY: the cache entry keeps the queue alive for the section (see above).
            InlineQueue::Cached(cq) => unsafe { &**cq },
            InlineQueue::Joined(cq) => cq,
        }
    }
}

/// How many times `in_color` yields and tries again when its color is running a poll on
/// another worker with no task queued behind it ([`Enter::Retry`]), before it waits for it.
///
/// A short critical section (a few microseconds of work on color-owned state) that finds its
/// color busy is usually free to run a moment later. Yielding lets this worker run other tasks
/// in that moment instead of spinning (the task is woken at once, so it comes back after the
/// work already queued here), and the section is usually inline when it does. It never
/// reorders the color's tasks: the task is not queued in the color, and a color with tasks
/// queued is not retried (the task queues behind them).
pub(crate) const INLINE_RETRIES: u8 = 2;

/// How long `in_color` then waits for a color that is running a poll on another worker with no
/// task queued behind it, before it queues the task there instead (see
/// [`CqCore::acquire_patiently`](color_queue::CqCore::acquire_patiently)).
///
/// Why wait at all: a short critical section that finds its color busy would otherwise move
/// the task into the color's queue and back, two trips through run queues that cost more than
/// the section; and once tasks queue in a color, every later section finds it busy too.
/// Waiting about as long as such a section takes keeps colors idle between sections and
/// sections inline, the way an adaptive mutex spins before it sleeps. It never reorders a
/// color's tasks: it gives up as soon as any task is queued in the color. The cost is the spin
/// itself when the owner's poll is long.
const INLINE_PATIENCE: std::time::Duration = std::time::Duration::from_micros(4);

/// How an `in_color(color, ..)` section starts ([`enter_section`]).
pub(crate) enum Enter {
    /// Not inside a task (nor `block_on`'s future).
    Outside,
    /// The task is in `color` already: just poll.
    Here,
    /// `color` is taken for an inline section (see [`Inline`]).
    Inline(Inline),
    /// `color` stayed busy: the move into it was asked for, with the membership taken.
    Busy,
    /// Not inline (a section runs inline already): the caller asks for the move.
    Move,
    /// `color` runs a poll elsewhere, with nothing queued: yield and try again (see
    /// [`INLINE_RETRIES`]). Nothing was taken.
    Retry,
}

/// Starts an `in_color(color, ..)` section: takes `color` inline if this thread polls a task
/// (not already inside an inline section) and `color` is idle. If it runs a poll elsewhere
/// with no task queued, returns [`Enter::Retry`] if `may_retry`, else waits up to
/// [`INLINE_PATIENCE`] for it. If it stays busy, asks for the ordinary move instead (with the
/// membership already taken).
///
/// `#[inline]` so that it is compiled into `InColor::poll` (generic, so built in the caller's
/// crate): called across crates, its `Enter` came back through memory written in pieces and
/// read whole, a store-forwarding stall. Inlined, an uncontended section (`in_color` +
/// `ColorCell::with` on one worker) went from 47-57 ns to 35-37 ns.
#[inline]
pub(crate) fn enter_section(color: Color, may_retry: bool) -> Enter {
    context(|ctx| {
        let Some(ctx) = ctx else {
            return Enter::Outside;
        };
        let Some(current) = ctx.current_queue() else {
            return Enter::Outside;
        };
        if current.color == color {
            return Enter::Here;
        }
        if ctx.inline.get() {
            return Enter::Move;
        }
        let cq = match ctx.cached(color) {
            Some(cq) => InlineQueue::Cached(cq),
            // A membership for the section, so the queue is the map's while we use it (a
            // spawn inside the section joins it).
            None => match ctx.join(color) {
                Ok(cq) => InlineQueue::Joined(cq),
                Err(_) => return Enter::Move,
            },
        };
        let acquired = match cq.get().core.try_acquire() {
            Some(acquired) => acquired,
            None if may_retry => {
                // Give back the membership taken for the section.
                if let InlineQueue::Joined(cq) = &cq {
                    cq.shared.colors.leave_now(cq, 1);
                }
                return Enter::Retry;
            }
            None => cq.get().core.acquire_patiently(INLINE_PATIENCE),
        };
        if !acquired {
            // Busy: the task will move in, with a membership of its own there.
            let joined = match cq {
                InlineQueue::Joined(cq) => cq,
                // SAFETY: found in the cache above, which nothing changed since.
                InlineQueue::Cached(cq) => unsafe { join_cached(cq) },
            };
            ctx.pending_recolor
                .set(Some(Move::Joined(Joined(Some(joined)))));
            return Enter::Busy;
        }
        let prev = ctx.current.replace(cq.get());
        ctx.inline.set(true);
        Enter::Inline(Inline { cq, prev, ctx })
    })
}

impl Drop for Inline {
    fn drop(&mut self) {
        // SAFETY: the context outlives the poll this section runs in (see `Inline::ctx`).
        let ctx = unsafe { &*self.ctx };
        ctx.current.set(self.prev);
        ctx.inline.set(false);
        let cq = self.cq.get();
        if cq.core.finish_run() {
            // SAFETY: `cq` is alive (see `InlineQueue`); this makes the run queue's handle.
            ctx.schedule_next(unsafe { clone_queue(cq) });
        }
        if let InlineQueue::Joined(cq) = &self.cq {
            cq.shared.colors.leave_now(cq, 1);
        }
    }
}

/// A move a task asked for (S6).
pub(crate) enum Move {
    /// To a color, found through the color map.
    Color(Color),
    /// Back to a color whose queue the task holds (see [`HeldColor`]): no map lookup.
    Queue(Arc<ColorQueue>),
    /// To a queue joined already: the membership for the task is counted.
    Joined(Joined),
}

/// A membership taken for a move; given back if the move does not happen (the request is
/// dropped: the task completed, or asked for another move in the same poll).
pub(crate) struct Joined(Option<Arc<ColorQueue>>);

impl Joined {
    fn queue(&self) -> &Arc<ColorQueue> {
        self.0.as_ref().expect("a joined move holds its queue")
    }

    fn take(mut self) -> Arc<ColorQueue> {
        self.0.take().expect("a joined move holds its queue")
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        if let Some(cq) = self.0.take() {
            cq.shared.colors.leave_now(&cq, 1);
        }
    }
}

impl Move {
    /// Whether this move leaves `cq` at all.
    pub(crate) fn leaves(&self, cq: &ColorQueue) -> bool {
        match self {
            Move::Color(color) => *color != cq.color,
            Move::Queue(to) => !ptr::eq(Arc::as_ptr(to), cq),
            Move::Joined(to) => !ptr::eq(Arc::as_ptr(to.queue()), cq),
        }
    }

    /// The queue to move to, with the task's membership counted in it (`Err`: shut down).
    pub(crate) fn join(self, ctx: &Context) -> Result<Arc<ColorQueue>, colors::Closed> {
        match self {
            Move::Color(color) => ctx.join(color),
            Move::Queue(to) => {
                // Held by the task (`HeldColor`), so it has members and is the map's queue.
                ColorMap::join_queue(&to);
                Ok(to)
            }
            Move::Joined(to) => Ok(to.take()),
        }
    }
}

/// A color a task left but will come back to (`in_color`'s origin): an extra membership, so
/// the color keeps its queue (it is not swept from the map) and the way back needs no map
/// lookup.
pub(crate) struct HeldColor(Arc<ColorQueue>);

impl HeldColor {
    pub(crate) fn color(&self) -> Color {
        self.0.color
    }
}

impl Drop for HeldColor {
    fn drop(&mut self) {
        self.0.shared.colors.leave_now(&self.0, 1);
    }
}

impl std::fmt::Debug for HeldColor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("HeldColor").field(&self.0.color).finish()
    }
}

/// Holds the color being polled on this thread (see [`HeldColor`]); `None` outside any task.
pub(crate) fn hold_current_color() -> Option<HeldColor> {
    context(|ctx| {
        let cq = ctx?.current.get();
        if cq.is_null() {
            return None;
        }
        // SAFETY: `current` is set while its owner holds a strong reference; the color has a
        // member (the task being polled), so counting one more needs no map lookup.
        let arc = unsafe { clone_queue(cq) };
        ColorMap::join_queue(&arc);
        Some(HeldColor(arc))
    })
}

impl Context {
    /// Pushes to this thread's local deque if it is `home`'s worker of `shared`. `Ok(true)`
    /// if other colors were already queued there.
    fn push_local(
        &self,
        shared: &Shared,
        home: usize,
        cq: Arc<ColorQueue>,
    ) -> Result<bool, Arc<ColorQueue>> {
        match self.worker {
            Some((index, local)) if index == home && ptr::eq(Arc::as_ptr(&self.shared), shared) => {
                // SAFETY: `local` points at the deque of the worker running this thread, which
                // outlives the context (the worker clears the context before it drops).
                let local = unsafe { &*local };
                local.push(cq);
                WorkerMetrics::bump(&shared.workers[index].metrics.local_schedules);
                Ok(local.len() > 1)
            }
            _ => Err(cq),
        }
    }

    pub(crate) fn current_queue(&self) -> Option<&ColorQueue> {
        let cq = self.current.get();
        // SAFETY: `current` is set only while the color queue is running on this thread, by a
        // holder of a strong reference to it.
        (!cq.is_null()).then(|| unsafe { &*cq })
    }
}

thread_local! {
    static CONTEXT: Cell<*const Context> = const { Cell::new(ptr::null()) };
}

/// Locks a scheduler mutex (not model-checked), ignoring poisoning: no user code runs under
/// these locks, so a poisoned one can only come from a bug that already panicked.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` with this thread's context, if any.
pub(crate) fn context<R>(f: impl FnOnce(Option<&Context>) -> R) -> R {
    let ctx = CONTEXT.try_with(|c| c.get()).unwrap_or(ptr::null());
    // SAFETY: a non-null context pointer is valid while it is installed (see `enter`).
    f((!ctx.is_null()).then(|| unsafe { &*ctx }))
}

/// Installs `ctx` as this thread's context until the guard drops. Panics if one is installed.
pub(crate) fn enter(ctx: &Context) -> EnterGuard {
    CONTEXT.with(|c| {
        assert!(c.get().is_null(), "{}", NESTED_RUNTIME);
        c.set(ctx);
    });
    EnterGuard(())
}

pub(crate) const NESTED_RUNTIME: &str = "cannot block_on from inside a hue runtime: this thread \
     is a worker or is already inside block_on, and blocking it would stall the tasks it \
     drives. Use `.await` instead, or move the blocking call to another thread";

/// Clears the context on drop.
pub(crate) struct EnterGuard(());

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|c| c.set(ptr::null()));
    }
}

/// Whether this thread is inside a runtime (a worker, or inside `block_on`).
pub(crate) fn in_runtime() -> bool {
    context(|ctx| ctx.is_some())
}

/// A notified task goes into its color's queue (the waker path, and requeue after a poll).
pub(crate) fn schedule(task: Notified) {
    // SAFETY: holding a notification is the right to schedule the task; the membership's
    // strong reference keeps the queue alive while the task is.
    let cq = unsafe { task.raw().color_queue() };
    #[cfg(loom)]
    if cq.is_null() {
        // Task-state models run tasks outside any color; they collect notifications here.
        crate::loom_tests::notified(task);
        return;
    }
    debug_assert!(!cq.is_null(), "a notified task is a member of a color");
    // SAFETY: see above.
    let cq_ref = unsafe { &*cq };
    match cq_ref.core.push(task) {
        Push::Queued => {}
        Push::Schedule => {
            // SAFETY: the queue is alive (see above); this makes the run queue's own handle.
            cq_ref.shared.schedule_color(unsafe { clone_queue(cq) });
        }
        Push::Closed(task) => drop(task),
    }
}

/// A task finished: it leaves its color. Returns whether the caller may drop the membership's
/// reference now (with the runner's).
///
/// On a worker, during its color's turn (the usual case), leaving is deferred to the end of
/// the turn ([`color_queue::Released`]), which takes the color queue's lock anyway; the task
/// keeps its membership reference until then. Elsewhere (shutdown) it leaves at once.
///
/// The task also gives up its reference to the color queue, so the queue can be reused as
/// soon as the color has no members. During shutdown that reference is kept until the task is
/// freed instead: there, a task can complete without running (the shutdown path takes it while
/// idle) while another thread that just notified it is about to push it into its queue, so the
/// queue must outlive the task. Outside shutdown a notified task cannot complete before it was
/// pushed and run.
pub(crate) fn release(task: RawTask) -> bool {
    // SAFETY: called by the task's runner (or the shutdown path holding RUNNING).
    let cq = unsafe { task.color_queue() };
    if cq.is_null() {
        return true; // never joined (spawned after shutdown, or a blocking task)
    }
    // SAFETY: the header's strong reference is still held.
    let cq_ref = unsafe { &*cq };
    let (deferred, worker) = context(|ctx| match ctx {
        Some(ctx) if ctx.worker.is_some() && ctx.current.get() == cq => {
            let mut released = ctx.released.get();
            released.push(task);
            ctx.released.set(released);
            (true, ctx.worker.map(|(index, _)| index))
        }
        Some(ctx) if ptr::eq(Arc::as_ptr(&ctx.shared), Arc::as_ptr(&cq_ref.shared)) => {
            (false, ctx.worker.map(|(index, _)| index))
        }
        _ => (false, None),
    });
    cq_ref.shared.count_completion(worker);
    if !deferred {
        cq_ref.core.remove_member(task);
        // SAFETY: as above; this makes a reference of our own for `leave`.
        cq_ref
            .shared
            .colors
            .leave_now(&unsafe { clone_queue(cq) }, 1);
    }
    if deferred || !cq_ref.shared.is_shutdown() {
        // SAFETY: we are the runner; no one else reads the field of a completed task.
        unsafe { task.set_color_queue(ptr::null()) };
        // SAFETY: the header's reference, made by `Arc::into_raw` at spawn.
        drop(unsafe { Arc::from_raw(cq) });
    }
    !deferred
}

/// Spawns `future` on `shared` in `color` (`None`: the current task's color if it runs on
/// this runtime, else [`Color::DEFAULT`]).
pub(crate) fn spawn<F>(
    shared: &Arc<Shared>,
    color: Option<Color>,
    future: F,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let raw = RawTask::new(future);
    // SAFETY: the task is new; its output type is `F::Output`; the handle takes its reference.
    let handle = unsafe { JoinHandle::new(raw) };
    let (joined, spawner) = context(|ctx| {
        let ctx = ctx.filter(|ctx| ptr::eq(Arc::as_ptr(&ctx.shared), Arc::as_ptr(shared)));
        let spawner = ctx.and_then(|ctx| ctx.worker.map(|(index, _)| index));
        let joined = match (color, ctx.and_then(Context::current_queue)) {
            (Some(color), _) => shared.colors.join(shared, color, spawner),
            (None, Some(cq)) => {
                ColorMap::join_queue(cq);
                // SAFETY: the running color's owner holds a strong reference to it.
                Ok(unsafe { clone_queue(cq) })
            }
            (None, None) => shared.colors.join(shared, Color::DEFAULT, spawner),
        };
        (joined, spawner)
    });
    let Ok(cq) = joined else {
        // SAFETY: the shutdown path consumes the first notification's reference.
        unsafe { raw.shutdown() };
        return handle;
    };
    // SAFETY: the task is new and not queued: we hold the right to set its color. The header
    // takes the reference we made.
    unsafe { raw.set_color_queue(Arc::into_raw(cq)) };
    shared.count_spawn(spawner);
    // SAFETY: the first notification's reference (from the initial state).
    if let Some(cq) = enter_queue(unsafe { Notified::from_raw(raw) }, spawner, false) {
        shared.schedule_color(cq);
    }
    handle
}

/// Queues a task that just joined the color queue its header points at (spawned, or moved
/// in by its runner): it becomes a member and is runnable at the back of the queue. If the
/// runtime shut down in between, the membership is undone and the task cancelled here
/// (counted as completed on `worker`). Returns the color queue if it went `Idle ->
/// Scheduled`: the caller must put it in a run queue.
#[must_use]
pub(crate) fn enter_queue(
    task: Notified,
    worker: Option<usize>,
    moved: bool,
) -> Option<Arc<ColorQueue>> {
    // SAFETY: holding the notification is the right to read the task's color; the header's
    // reference keeps the queue alive while the task is not complete.
    let cq_ptr = unsafe { task.raw().color_queue() };
    // SAFETY: as above.
    let cq = unsafe { &*cq_ptr };
    let pushed = if moved {
        cq.core.push_moved(task)
    } else {
        cq.core.push_new(task)
    };
    match pushed {
        Push::Queued => None,
        // SAFETY: as above; this makes the run queue's own handle.
        Push::Schedule => Some(unsafe { clone_queue(cq_ptr) }),
        Push::Closed(task) => {
            let raw = task.into_raw();
            // SAFETY: not queued: we still hold the right to set its color; this gives back
            // the header's reference.
            let arc = unsafe {
                raw.set_color_queue(ptr::null());
                Arc::from_raw(cq_ptr)
            };
            arc.shared.colors.leave_now(&arc, 1);
            arc.shared.count_completion(worker);
            // SAFETY: the shutdown path consumes the notification's reference.
            unsafe { raw.shutdown() };
            None
        }
    }
}

/// The color of the task being polled on this thread.
pub(crate) fn current_color() -> Color {
    running_color().unwrap_or(Color::DEFAULT)
}

/// The color of the task (or `block_on` future) being polled on this thread; `None` if none is.
pub(crate) fn running_color() -> Option<Color> {
    context(|ctx| ctx.and_then(Context::current_queue).map(|cq| cq.color))
}

/// [`running_color`], with the id of the runtime it runs in.
pub(crate) fn running_color_and_runtime() -> Option<(Color, u64)> {
    context(|ctx| {
        let ctx = ctx?;
        Some((ctx.current_queue()?.color, ctx.runtime_id))
    })
}

/// Asks the runner to move the task being polled to `color` after this poll. Returns the color
/// it is in, or `None` outside any task.
pub(crate) fn request_recolor(color: Color) -> Option<Color> {
    request_move(Move::Color(color))
}

/// Asks the runner to move the task being polled back to a held color after this poll.
pub(crate) fn request_return(held: &HeldColor) -> Option<Color> {
    request_move(Move::Queue(held.0.clone()))
}

fn request_move(to: Move) -> Option<Color> {
    context(|ctx| {
        let ctx = ctx?;
        let current = ctx.current_queue()?.color;
        ctx.pending_recolor.set(Some(to));
        Some(current)
    })
}
