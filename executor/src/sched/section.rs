//! Everything of an `in_color` section and of a move between colors (S6), on the scheduler's
//! side. [`crate::recolor`](mod@crate::recolor) holds the futures; this file holds what they ask the scheduler.
//!
//! # Moving (`recolor`, the slow path of `in_color`)
//!
//! A move is a yield: the task asks for it ([`request_move`]: a [`Move`] left in the thread's
//! [`PollState`](super::context::PollState)), wakes itself and returns `Pending`; after the poll its runner takes the
//! request and moves the task: it leaves its color's member list and membership, joins the
//! target ([`Move::join`]), and is queued at the back of the target like any task that became
//! runnable (`Worker::move_task`; `block_on` simply takes the new color for its next poll). So
//! the next poll runs inside the new color's exclusion (S1) and in its FIFO order (S3). A color
//! made runnable by a move runs next on the mover's worker (the next-run slot).
//!
//! `in_color` keeps the way back: before it leaves, it takes a [`HeldColor`], a membership of
//! the color it is in, so that color keeps its queue and the return needs no map lookup.
//!
//! # Inline sections (the fast path of `in_color`)
//!
//! When the section's color is idle, the thread polling a task takes that color the way a
//! worker takes a color for a turn (`Idle -> Running` under its lock), polls the section inside
//! the current poll, and gives it back ([`Inline`]), without moving the task through two
//! queues. [`enter_section`] decides:
//!
//! 1. not in a task: [`Enter::Outside`]; already in the color: [`Enter::Here`];
//! 2. an inline section runs on this thread already: [`Enter::Move`] (sections do not nest
//!    inline);
//! 3. find the color's queue: in the worker's color cache, else join it through the map;
//! 4. try to take it: idle -> [`Enter::Inline`]; queued tasks (or closed) -> the move, with the
//!    membership taken ([`Enter::Busy`]); running a poll elsewhere with nothing queued -> yield
//!    and try again ([`Enter::Retry`], at most [`INLINE_RETRIES`] times), then wait up to
//!    [`INLINE_PATIENCE`] for it, then the move.
//!
//! S1 holds for the section's color: it is `Running`, owned by this thread, while the section
//! is polled, exactly as during a worker's turn. S3 holds: the color was idle, so no task was
//! waiting in it to be overtaken. The poll holds two colors for that moment (its own and the
//! section's), but it never waits long for a color while holding another (at most
//! [`INLINE_PATIENCE`], and sections do not nest inline), so this cannot deadlock. If the
//! section does not finish in that one poll, the color is given back and the task moves into
//! it the ordinary way.

use std::ptr;
use std::sync::Arc;

use super::color_cache::join_cached;
use super::color_queue::ColorQueue;
use super::colors::Closed;
use super::context::{context, Current, ThreadContext};
use super::membership::{clone_queue, Membership, TaskColor};
use crate::Color;

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
/// [`TaskQueue::acquire_patiently`](super::color_queue::TaskQueue::acquire_patiently)).
///
/// Why wait at all: a short critical section that finds its color busy would otherwise move
/// the task into the color's queue and back, two trips through run queues that cost more than
/// the section; and once tasks queue in a color, every later section finds it busy too.
/// Waiting about as long as such a section takes keeps colors idle between sections and
/// sections inline, the way an adaptive mutex spins before it sleeps. It never reorders a
/// color's tasks: it gives up as soon as any task is queued in the color. The cost is the spin
/// itself when the owner's poll is long.
const INLINE_PATIENCE: std::time::Duration = std::time::Duration::from_micros(4);

/// A move a task asked for (S6).
pub(crate) enum Move {
    /// To a color, found through the color map (or the worker's cache).
    Color(Color),
    /// To a color joined already (a section that found its color busy, or the way back to a
    /// [`HeldColor`]).
    Joined(Membership),
}

impl Move {
    /// Whether this move leaves `queue` at all.
    pub(crate) fn leaves(&self, queue: &ColorQueue) -> bool {
        match self {
            Move::Color(color) => *color != queue.color,
            Move::Joined(to) => !ptr::eq(Arc::as_ptr(to.queue()), queue),
        }
    }

    /// Whether this move leaves the lone color `color` at all.
    pub(crate) fn leaves_lone(&self, color: Color) -> bool {
        match self {
            Move::Color(to) => *to != color,
            // A joined color has a queue, and a lone one has none.
            Move::Joined(_) => true,
        }
    }

    /// The membership of the target (`Err`: the runtime shut down).
    pub(crate) fn join(self, ctx: &ThreadContext) -> Result<Membership, Closed> {
        match self {
            Move::Color(color) => ctx.join(color),
            Move::Joined(to) => Ok(to),
        }
    }
}

/// A color a task left but will come back to (`in_color`'s origin).
#[derive(Debug)]
pub(crate) enum HeldColor {
    /// A shared color: a membership, so the color keeps its queue (it is not swept from the
    /// map) and the way back needs no map lookup.
    Member(Membership),
    /// A lone color (`lone`): nothing is held. The task leaves it empty, and the way back
    /// joins it like any move (alone again, unless others joined it meanwhile); holding it
    /// would give it a queue.
    Lone(Color),
}

impl HeldColor {
    pub(crate) fn color(&self) -> Color {
        match self {
            HeldColor::Member(membership) => membership.queue().color,
            HeldColor::Lone(color) => *color,
        }
    }
}

/// Holds the color being polled on this thread (see [`HeldColor`]); `None` outside any task.
pub(crate) fn hold_current_color() -> Option<HeldColor> {
    context(|ctx| match ctx?.poll.current.get() {
        Current::None => None,
        Current::Queue(queue) => {
            // SAFETY: `current` is set while its owner holds a strong reference; the color
            // has a member (the task being polled), so joining it needs no map lookup.
            let queue = unsafe { clone_queue(queue) };
            Some(HeldColor::Member(Membership::join_member(queue)))
        }
        // SAFETY: the task is being polled here: alive.
        Current::Lone(task) => Some(HeldColor::Lone(unsafe { TaskColor::of(task) }.color())),
    })
}

/// Asks the runner to move the task being polled to `color` after this poll. Returns the color
/// it is in, or `None` outside any task.
pub(crate) fn request_recolor(color: Color) -> Option<Color> {
    request_move(Move::Color(color))
}

/// Asks the runner to move the task being polled back to a held color after this poll.
pub(crate) fn request_return(held: &HeldColor) -> Option<Color> {
    request_move(match held {
        HeldColor::Member(membership) => Move::Joined(membership.another()),
        HeldColor::Lone(color) => Move::Color(*color),
    })
}

fn request_move(to: Move) -> Option<Color> {
    context(|ctx| {
        let ctx = ctx?;
        let current = ctx.current_color()?;
        ctx.poll.pending_move.set(Some(to));
        Some(current)
    })
}

/// A color taken for an `in_color` section run inside the current poll (see the module docs).
/// Dropping it gives the color back (and schedules it, next on this worker, if tasks arrived
/// in it meanwhile).
pub(crate) struct Inline {
    queue: InlineQueue,
    /// The color the poll was in before the section.
    prev: Current,
    /// The context of the thread polling the section. An `Inline` lives inside one poll on
    /// that thread (it is never stored in a future), and the context stays installed for
    /// longer than any poll.
    ctx: *const ThreadContext,
}

/// How an [`Inline`] section holds its color's queue.
enum InlineQueue {
    /// Found in this worker's color cache, whose entry holds a membership and a reference:
    /// nothing to count. The entry stays while the section runs: only
    /// [`ThreadContext::join`] changes the cache, and it is not called inside an inline section
    /// (the runner calls it after the poll; `enter_section` returns before it when a section is
    /// already inline); `join` asserts it in debug builds.
    Cached(*const ColorQueue),
    /// Joined for the section, given back at its end.
    Joined(Membership),
}

impl InlineQueue {
    fn get(&self) -> &ColorQueue {
        match self {
            // SAFETY: the cache entry keeps the queue alive for the section (see above).
            InlineQueue::Cached(queue) => unsafe { &**queue },
            InlineQueue::Joined(membership) => membership.queue(),
        }
    }

    /// A membership of the color, for the task to move in with.
    fn into_membership(self) -> Membership {
        match self {
            InlineQueue::Joined(membership) => membership,
            // SAFETY: found in the cache by `enter_section`, which changed nothing since.
            InlineQueue::Cached(queue) => unsafe { join_cached(queue) },
        }
    }
}

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

/// Starts an `in_color(color, ..)` section (the steps are in the module docs). `may_retry`:
/// the section may still yield and try again rather than wait.
///
/// `#[inline]` so that it is compiled into `InColor::poll` (generic, so built in the caller's
/// crate): called across crates, its `Enter` comes back through memory written in pieces and
/// read whole, a store-forwarding stall on every section.
#[inline]
pub(crate) fn enter_section(color: Color, may_retry: bool) -> Enter {
    context(|ctx| {
        // 1. Where the task is.
        let Some(ctx) = ctx else {
            return Enter::Outside;
        };
        let Some(current) = ctx.current_color() else {
            return Enter::Outside;
        };
        if current == color {
            return Enter::Here;
        }
        // 2. No nesting inline.
        if ctx.poll.inline.get() {
            return Enter::Move;
        }
        // 3. The color's queue. Joined when not cached, so the queue is the map's while we use
        // it (a spawn inside the section joins it).
        let queue = match ctx.cached(color) {
            Some(queue) => InlineQueue::Cached(queue),
            None => match ctx.join(color) {
                Ok(membership) => InlineQueue::Joined(membership),
                Err(_) => return Enter::Move,
            },
        };
        // 4. Take it.
        let acquired = match queue.get().tasks.try_acquire() {
            Some(acquired) => acquired,
            // Dropping `queue` gives back a membership taken for the section.
            None if may_retry => return Enter::Retry,
            None => queue.get().tasks.acquire_patiently(INLINE_PATIENCE),
        };
        if !acquired {
            // Busy: the task will move in, with a membership of its own there.
            ctx.poll
                .pending_move
                .set(Some(Move::Joined(queue.into_membership())));
            return Enter::Busy;
        }
        let prev = ctx.poll.current.replace(Current::Queue(queue.get()));
        ctx.poll.inline.set(true);
        Enter::Inline(Inline { queue, prev, ctx })
    })
}

impl Drop for Inline {
    fn drop(&mut self) {
        // SAFETY: the context outlives the poll this section runs in (see `Inline::ctx`).
        let ctx = unsafe { &*self.ctx };
        ctx.poll.current.set(self.prev);
        ctx.poll.inline.set(false);
        let queue = self.queue.get();
        if queue.tasks.finish_run() {
            // SAFETY: `queue` is alive (see `InlineQueue`); this makes the run queue's handle.
            ctx.schedule_next(unsafe { clone_queue(queue) });
        }
        // A joined membership is given back as the field drops.
    }
}
