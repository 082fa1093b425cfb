//! The per-thread context: what a thread inside a runtime knows, installed by each worker for
//! its life and by `block_on` while it runs.
//!
//! It is split by owner:
//! - **who the thread is**: the runtime it belongs to ([`ThreadContext::shared`]);
//! - **the current poll** ([`PollState`]): the color being polled on this thread and what the
//!   poll asked for (a move, an inline section), written by whoever polls here (a worker's
//!   turn, `block_on`, an inline `in_color` section);
//! - **the worker** ([`WorkerLocal`], workers only): the local deque, the next-run slot, the
//!   tasks released during a turn and the color cache. Only the worker's own thread touches
//!   them, from its run loop and from inside the polls it makes.
//!
//! Everything is `Cell`s: the context is shared by reference between the run loop and the code
//! a poll runs (wakers, spawns, `in_color`), all on one thread.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::Arc;

use crossbeam_deque::Worker as Deque;

use super::color_cache::ColorCache;
use super::color_queue::ColorQueue;
use super::colors::{Buried, BURY_BATCH};
use super::membership::TaskColor;
use super::section::Move;
use super::shared::{Runnable, Shared};
use super::task_list::Released;
use crate::metrics::WorkerCounters;
use crate::task::RawTask;
use crate::Color;

/// What is being polled on a thread, by color.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Current {
    /// Nothing.
    None,
    /// A task (or `block_on`'s future, or an inline section) of the color of this queue.
    /// Whoever sets it holds a strong reference to the queue and owns the color (`Running`)
    /// until it clears it.
    Queue(*const ColorQueue),
    /// This lone color's task (`lone`); its runner holds the task's `RUNNING`.
    Lone(RawTask),
}

/// At most this many turns in a row run a color from [`WorkerLocal::next`].
pub(crate) const NEXT_STREAK: u32 = 3;

/// What a thread inside a runtime knows (see the module docs).
pub(crate) struct ThreadContext {
    pub(crate) shared: Arc<Shared>,
    /// `shared.id`, kept here so reading it touches no shared line.
    pub(crate) runtime_id: u64,
    pub(crate) poll: PollState,
    /// Set on worker threads.
    pub(crate) worker: Option<WorkerLocal>,
}

/// The poll running on this thread.
pub(crate) struct PollState {
    /// What is being polled on this thread (see [`Current`]).
    pub(crate) current: Cell<Current>,
    /// Where the task being polled asked to move ([`crate::recolor()`]); taken by the runner
    /// after the poll.
    pub(crate) pending_move: Cell<Option<Move>>,
    /// Whether an inline `in_color` section runs on this thread now (see `section`).
    pub(crate) inline: Cell<bool>,
}

impl Default for PollState {
    fn default() -> PollState {
        PollState {
            current: Cell::new(Current::None),
            pending_move: Cell::new(None),
            inline: Cell::new(false),
        }
    }
}

/// What only a worker's own thread touches.
pub(crate) struct WorkerLocal {
    pub(crate) index: usize,
    /// The worker's deque of runnable colors; its stealer is in `Shared::workers`.
    pub(crate) deque: Deque<Runnable>,
    /// Tasks of the running color that completed during this turn (see `release`).
    pub(crate) released: Cell<Released>,
    /// Queues of named colors this worker joined lately (see [`ColorCache`]).
    pub(crate) color_cache: RefCell<ColorCache>,
    /// A color made runnable by tasks moving into it (`recolor`, `in_color`, its way back, a
    /// section that found its color busy); it runs next on this worker (see
    /// [`ThreadContext::schedule_next`]).
    ///
    /// A task moving into a color is usually entering a short critical section, and every
    /// other task wanting that color finds it busy until it has run. Queued at the back of a
    /// deque of hundreds of colors, it would stay `Scheduled` for a whole round of them while
    /// sections of other tasks pile up behind it (a convoy that keeps itself going). Run next,
    /// the color is idle again at once and the next sections run inline.
    pub(crate) next: Cell<Option<Runnable>>,
    /// Turns in a row taken from `next`.
    pub(crate) next_streak: Cell<u32>,
    /// Colors that may have lost their last member here, handed to the map in batches.
    pub(crate) buried: RefCell<Vec<Buried>>,
}

impl WorkerLocal {
    pub(crate) fn new(index: usize, deque: Deque<Runnable>) -> WorkerLocal {
        WorkerLocal {
            index,
            deque,
            released: Cell::default(),
            color_cache: RefCell::default(),
            next: Cell::new(None),
            next_streak: Cell::new(0),
            buried: RefCell::new(Vec::new()),
        }
    }

    /// Hands `buried` to the map, in batches.
    pub(crate) fn bury(&self, shared: &Shared, buried: Buried) {
        let mut list = self.buried.borrow_mut();
        list.push(buried);
        if list.len() >= BURY_BATCH {
            let batch = std::mem::replace(&mut *list, Vec::with_capacity(BURY_BATCH));
            drop(list);
            shared.colors.bury(batch);
        }
    }

    /// Hands what was buried here to the map now (the worker parks or exits).
    pub(crate) fn flush_buried(&self, shared: &Shared) {
        let batch = std::mem::take(&mut *self.buried.borrow_mut());
        shared.colors.bury(batch);
    }

    /// Whether a color waits in [`next`](Self::next).
    pub(crate) fn has_next(&self) -> bool {
        let next = self.next.take();
        let has = next.is_some();
        self.next.set(next);
        has
    }
}

impl ThreadContext {
    /// A fresh context for a thread entering `shared`: a worker's or `block_on`'s
    /// (`worker: None`). Nothing is polled in it yet.
    pub(crate) fn new(shared: Arc<Shared>, worker: Option<WorkerLocal>) -> ThreadContext {
        ThreadContext {
            runtime_id: shared.id,
            shared,
            poll: PollState::default(),
            worker,
        }
    }

    /// This thread's worker, if it is one of `shared`'s workers.
    pub(crate) fn worker_of(&self, shared: &Shared) -> Option<&WorkerLocal> {
        self.worker
            .as_ref()
            .filter(|_| ptr::eq(Arc::as_ptr(&self.shared), shared))
    }

    /// Pushes to this thread's local deque if it is `home`'s worker of `shared`. `Ok(true)`
    /// if other colors were already queued there.
    pub(crate) fn push_local(
        &self,
        shared: &Shared,
        home: usize,
        runnable: Runnable,
    ) -> Result<bool, Runnable> {
        match self.worker_of(shared) {
            Some(worker) if worker.index == home => {
                worker.deque.push(runnable);
                WorkerCounters::bump(&shared.workers[home].metrics.local_schedules);
                Ok(worker.deque.len() > 1)
            }
            _ => Err(runnable),
        }
    }

    /// The color being polled on this thread, if any.
    pub(crate) fn current_color(&self) -> Option<Color> {
        match self.poll.current.get() {
            Current::None => None,
            // SAFETY: `Current::Queue` is set only while the color queue is running on this
            // thread, by a holder of a strong reference to it.
            Current::Queue(queue) => Some(unsafe { &*queue }.color),
            // SAFETY: the task is being polled here, so it is alive.
            Current::Lone(task) => Some(unsafe { TaskColor::of(task) }.color()),
        }
    }

    /// Schedules `queue`, which went `Idle -> Scheduled` because tasks moved into it (see
    /// [`WorkerLocal::next`]): on a worker of its runtime, it runs right after the current
    /// turn, unless [`NEXT_STREAK`] turns in a row came that way already. The newest such color
    /// wins the slot; one it displaces goes to the back of the deque (tokio's LIFO slot does
    /// the same). Elsewhere it is scheduled like any color.
    pub(crate) fn schedule_next(&self, queue: Arc<ColorQueue>) {
        let Some(worker) = self.worker_of(&queue.shared) else {
            let shared = queue.shared.clone();
            shared.schedule_color(queue);
            return;
        };
        self.next_or_schedule(worker, Runnable::Color(queue));
    }

    /// [`schedule_next`](Self::schedule_next) for a lone color's task that moved into its
    /// color, on a worker of its runtime.
    pub(crate) fn schedule_next_lone(&self, task: crate::task::Notified) {
        match &self.worker {
            Some(worker) => self.next_or_schedule(worker, Runnable::Task(task)),
            None => self.shared.schedule(Runnable::Task(task)),
        }
    }

    fn next_or_schedule(&self, worker: &WorkerLocal, runnable: Runnable) {
        if worker.next_streak.get() >= NEXT_STREAK {
            self.shared.schedule(runnable);
        } else if let Some(older) = worker.next.replace(Some(runnable)) {
            self.shared.schedule(older);
        }
    }
}

thread_local! {
    static CONTEXT: Cell<*const ThreadContext> = const { Cell::new(ptr::null()) };
}

/// Runs `f` with this thread's context, if any.
pub(crate) fn context<R>(f: impl FnOnce(Option<&ThreadContext>) -> R) -> R {
    let ctx = CONTEXT.try_with(|c| c.get()).unwrap_or(ptr::null());
    // SAFETY: a non-null context pointer is valid while it is installed (see `enter`).
    f((!ctx.is_null()).then(|| unsafe { &*ctx }))
}

/// Installs `ctx` as this thread's context until the guard drops. Panics if one is installed.
pub(crate) fn enter(ctx: &ThreadContext) -> EnterGuard {
    CONTEXT.with(|c| {
        assert!(c.get().is_null(), "{}", NESTED_RUNTIME);
        c.set(ctx);
    });
    EnterGuard(())
}

pub(crate) const NESTED_RUNTIME: &str = "cannot block_on from inside a hue runtime: this thread \
     is a worker or is already inside block_on, and blocking it would stall the tasks it \
     drives. Use `.await` instead, or move the blocking call to another thread";

/// Clears the context on drop. The context outlives the guard (the caller keeps both in one
/// frame, the context first).
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

/// The color of the task being polled on this thread, [`Color::DEFAULT`] if none is.
pub(crate) fn current_color() -> Color {
    running_color().unwrap_or(Color::DEFAULT)
}

/// The color of the task (or `block_on` future) being polled on this thread; `None` if none is.
pub(crate) fn running_color() -> Option<Color> {
    context(|ctx| ctx.and_then(ThreadContext::current_color))
}

/// [`running_color`], with the id of the runtime it runs in.
pub(crate) fn running_color_and_runtime() -> Option<(Color, u64)> {
    context(|ctx| {
        let ctx = ctx?;
        Some((ctx.current_color()?, ctx.runtime_id))
    })
}

/// The index of this thread's worker, if it is a worker.
pub(crate) fn current_worker() -> Option<usize> {
    context(|ctx| ctx?.worker.as_ref().map(|w| w.index))
}
