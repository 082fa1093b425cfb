//! `block_on`: running a future on the caller's thread *inside color 0* (S5: it counts for S1),
//! or in whatever color it moves to with `recolor`/`in_color` (S6).
//!
//! The caller's future is not `Send` and may borrow the caller's stack, so it cannot become a
//! task. Instead the caller's thread takes color 0 the way a worker does, for the length of
//! each poll:
//!
//! - If color 0 is `Idle`, it becomes `Running` for the caller at once.
//! - Otherwise a **handoff node** (a [`Header`] with [`HANDOFF_VTABLE`]) is queued at the tail of
//!   color 0 like a task that became runnable. The worker running color 0 that reaches the node
//!   puts the rest of its batch back at the head, and hands the color over (it stays
//!   `Running`); the caller polls, then finishes the turn like a worker would (`finish_run`,
//!   scheduling color 0 again if tasks arrived meanwhile).
//!
//! So the future's polls are ordered with every color-0 task's polls by the color queue's lock,
//! and FIFO (S3) holds for it too. The node lives in the caller's `block_on` frame (boxed, so
//! it does not move) and is only queued while the caller waits for exactly this handoff.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::pin;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use super::context::{enter, Current, ThreadContext};
use super::shared::Shared;
use crate::task::{Header, Notified, RawTask, RunResult, Vtable};
use crate::Color;

/// A handoff node: never run, polled, freed or referenced through the task vtable.
static HANDOFF_VTABLE: Vtable = Vtable {
    run: not_a_task_run,
    schedule: not_a_task_schedule,
    dealloc: not_a_task,
    try_read_output: not_a_task_read,
    drop_join_handle: not_a_task,
    shutdown: not_a_task,
};

unsafe fn not_a_task_run(_: NonNull<Header>) -> RunResult {
    unreachable!("a block_on handoff node was run as a task")
}
fn not_a_task_schedule(_: Notified) {
    unreachable!("a block_on handoff node was scheduled as a task")
}
unsafe fn not_a_task(_: NonNull<Header>) {
    unreachable!("a block_on handoff node was used as a task")
}
unsafe fn not_a_task_read(_: NonNull<Header>, _: *mut (), _: &Waker) {
    unreachable!("a block_on handoff node was used as a task")
}

#[repr(C)]
struct HandoffNode {
    header: Header,
    handed: AtomicBool,
    thread: Thread,
}

/// Whether a queue entry is a handoff node rather than a task.
pub(crate) fn is_handoff(task: RawTask) -> bool {
    ptr::eq(task.header().vtable, &HANDOFF_VTABLE)
}

/// Gives the color to the `block_on` caller waiting on `node`.
///
/// # Safety
/// `node` is a handoff node just taken from the color's queue by the color's owner, who gives
/// up the color with this call.
pub(crate) unsafe fn hand_off(node: RawTask) {
    // SAFETY: handoff nodes are `HandoffNode`s (repr(C), header first); the caller waits for
    // `handed`, so the node is alive until we set it.
    let node = unsafe { node.as_ptr().cast::<HandoffNode>().as_ref() };
    // Clone first: once `handed` is set the caller may return and free the node.
    let thread = node.thread.clone();
    node.handed.store(true, Release);
    thread.unpark();
}

struct ThreadWaker {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.notified.swap(true, Release) {
            self.thread.unpark();
        }
    }
}

/// Runs `future` to completion on this thread, in color 0 of `shared`.
pub(crate) fn block_on<F: Future>(shared: &Arc<Shared>, future: F) -> F::Output {
    let ctx = ThreadContext::new(shared.clone(), None);
    let _enter = enter(&ctx);
    // The color the future is in; left when `block_on` ends, also by panic.
    let mut membership = shared
        .colors
        .join(shared, Color::DEFAULT, None)
        .expect("block_on on a runtime that is shut down");
    let node = Box::new(HandoffNode {
        header: Header::new(&HANDOFF_VTABLE),
        handed: AtomicBool::new(false),
        thread: thread::current(),
    });
    let node_task = RawTask::from_raw(NonNull::from(&node.header));
    let thread_waker = Arc::new(ThreadWaker {
        thread: thread::current(),
        notified: AtomicBool::new(true),
    });
    let waker = Waker::from(thread_waker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);

    loop {
        while !thread_waker.notified.swap(false, Acquire) {
            thread::park();
        }
        let queue = membership.queue().clone();
        // Take the color: at once if idle, else wait in line for a worker to hand it over.
        if !queue.tasks.acquire_or_enqueue(node_task) {
            while !node.handed.load(Acquire) {
                thread::park();
            }
            node.handed.store(false, Relaxed);
        }
        ctx.poll.current.set(Current::Queue(Arc::as_ptr(&queue)));
        let polled = {
            let _budget = crate::coop::with_budget();
            panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)))
        };
        ctx.poll.current.set(Current::None);
        let recolor = ctx.poll.pending_move.take();
        if queue.tasks.finish_run() {
            shared.schedule_color(queue.clone());
        }
        match polled {
            Ok(Poll::Ready(output)) => return output,
            Ok(Poll::Pending) => {
                // The future asked to move (S6): take the new color next time.
                match recolor {
                    Some(to) if to.leaves(&queue) => {
                        membership = to
                            .join(&ctx)
                            .expect("block_on on a runtime that is shut down");
                    }
                    _ => {}
                }
            }
            Err(payload) => panic::resume_unwind(payload),
        }
    }
}
