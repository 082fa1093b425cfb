//! The state a runtime's threads share: the workers' remote ends (deque stealers, inboxes,
//! parkers, counters), the color map, the idle set, the driver, the blocking pool and the
//! settings; and the runtime-wide operations on it: putting a color in a run queue
//! ([`Shared::schedule_color`]), waking a worker to steal ([`Shared::notify_one`]), and
//! installing and driving the driver.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, OnceLock};

use crossbeam_deque::{Injector, Stealer};
use crossbeam_utils::CachePadded;

use super::color_queue::ColorQueue;
use super::colors::ColorMap;
use super::context::context;
use super::membership::TaskColor;
use super::park::{Idle, Parker};
use crate::blocking::BlockingPool;
use crate::driver::Driver;
use crate::metrics::WorkerCounters;
use crate::sync::lock;
use crate::task::Notified;

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
    pub(crate) stealer: Stealer<Runnable>,
    pub(crate) inbox: Injector<Runnable>,
    pub(crate) parker: CachePadded<Parker>,
    /// Written only by the worker.
    pub(crate) metrics: CachePadded<WorkerCounters>,
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
    pub(crate) driver: OnceLock<Arc<dyn Driver>>,
    driver_init: Mutex<()>,
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
    pub(crate) fn new(stealers: Vec<Stealer<Runnable>>, config: Config) -> Shared {
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
                        metrics: CachePadded::new(WorkerCounters::default()),
                        remote_schedules: CachePadded::new(AtomicU64::new(0)),
                    })
                })
                .collect(),
            idle: Idle::new(n),
            driver: match driver {
                Some(driver) => OnceLock::from(driver),
                None => OnceLock::new(),
            },
            driver_init: Mutex::new(()),
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
    pub(crate) fn count_spawn(&self, worker: Option<usize>) {
        match worker {
            Some(w) => WorkerCounters::bump(&self.workers[w].metrics.spawned),
            None => {
                self.foreign_spawned.fetch_add(1, Relaxed);
            }
        }
    }

    /// Counts a completion of a colored task (on worker `worker`, or elsewhere).
    pub(crate) fn count_completion(&self, worker: Option<usize>) {
        match worker {
            Some(w) => WorkerCounters::bump(&self.workers[w].metrics.completed),
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

    /// `queue` went `Idle -> Scheduled` (the caller holds its only handle): put it in a run queue.
    pub(crate) fn schedule_color(&self, queue: Arc<ColorQueue>) {
        let home = queue.home.load(Relaxed);
        self.schedule_to(Runnable::Color(queue), home);
    }

    /// A lone color's task was notified (`lone`): it goes where a queue of its color would,
    /// to its home worker (the last that ran it).
    #[inline]
    pub(crate) fn schedule_lone(&self, task: Notified) {
        // SAFETY: the notification keeps the task alive.
        let home = unsafe { TaskColor::of(task.raw()) }.home();
        self.schedule_to(Runnable::Task(task), home);
    }

    /// Schedules `runnable` the way its kind is scheduled.
    pub(crate) fn schedule(&self, runnable: Runnable) {
        match runnable {
            Runnable::Color(queue) => self.schedule_color(queue),
            Runnable::Task(task) => self.schedule_lone(task),
        }
    }

    /// Puts `runnable` in a run queue: this thread's local deque if it is `home`'s worker, else
    /// `home`'s inbox (unparking it, or another worker to steal).
    pub(crate) fn schedule_to(&self, runnable: Runnable, home: usize) {
        let pushed = context(|ctx| match ctx {
            Some(ctx) => ctx.push_local(self, home, runnable),
            None => Err(runnable),
        });
        match pushed {
            Ok(others_queued) => {
                // Alone in the deque, it runs right after the current poll, on this worker:
                // waking an idle worker would only make it race us for it (tokio's LIFO slot
                // makes the same trade). With others queued, a thief can help.
                if others_queued {
                    self.notify_one();
                }
            }
            Err(runnable) => self.to_inbox(runnable, home),
        }
    }

    fn to_inbox(&self, runnable: Runnable, home: usize) {
        let remote = &self.workers[home];
        remote.inbox.push(runnable);
        remote.remote_schedules.fetch_add(1, Relaxed);
        if !self.unpark_worker(home) {
            // The home is awake (busy, or about to look): let an idle worker steal if it can.
            self.notify_one();
        }
    }
}

/// What run queues hold: a color's queue (its one handle while `Scheduled`), or a lone color's
/// task (its one notification; see `lone`).
pub(crate) enum Runnable {
    Color(Arc<ColorQueue>),
    Task(Notified),
}

impl Drop for Shared {
    fn drop(&mut self) {
        // No thread can be inside this runtime any more (each holds a reference to it).
        crate::color_cell::retire_runtime(self.id);
    }
}

/// The right to drive the driver, held by one thread at a time ([`Shared::try_lock_driver`]);
/// given back on drop.
pub(crate) struct DriverGuard<'a> {
    shared: &'a Shared,
    pub(crate) driver: &'a dyn Driver,
}

impl Drop for DriverGuard<'_> {
    fn drop(&mut self) {
        self.shared.driver_busy.store(false, Release);
    }
}
