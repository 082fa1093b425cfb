//! Model checks (run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p
//! hue-executor --release --lib loom`).
//!
//! - The **task state machine**: wake while running, wake after completion, abort racing a
//!   run, the `JoinHandle` racing completion (waker registration and drop).
//! - The **color state machine**: pushes from another thread racing two workers that pop the
//!   color from a shared run queue (a steal is exactly that: another worker popping the
//!   handle), with exclusion and FIFO asserted; and a `block_on`-style foreign thread taking
//!   the color through `acquire_or_enqueue` and the handoff.
//! - **Lone colors becoming shared** (`sched::lone`): a joiner giving a lone task's color a
//!   queue (claiming the task while idle, flagging it while running or notified) races the
//!   task's runner (which adopts a flagged task's queue) and a waker; exclusion between the
//!   lone task and the new member, no lost wake-up, no flag left behind.

mod color;
mod lone;
mod task;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};
use loom::thread;

use crate::sched::color_queue::{Push, RunState, TaskQueue, Turn};
use crate::sched::task_list::Released;
use crate::task::{Header, JoinError, JoinHandle, Notified, RawTask, RunResult, Schedule, Vtable};

// ---- a place for notifications of tasks that are in no color -------------------------------

struct SendTask(RawTask);
// SAFETY: test-only carrier of a task pointer between model threads.
unsafe impl Send for SendTask {}

// Loom runs all threads of a model on the test's OS thread, so a thread-local is per model
// (and tests running in parallel do not share it).
std::thread_local! {
    static NOTIFIED: RefCell<Vec<SendTask>> = const { RefCell::new(Vec::new()) };
}

/// The scheduler of the task-state models: it runs tasks outside any color and collects their
/// notifications here.
struct Collect;

impl Schedule for Collect {
    fn schedule(task: Notified) {
        NOTIFIED.with(|n| n.borrow_mut().push(SendTask(task.into_raw())));
    }

    fn release(_: RawTask) -> bool {
        true
    }

    fn rebind(_: RawTask) {
        unreachable!("the task-state models flag no task");
    }
}

fn take_notified() -> Option<Notified> {
    let t = NOTIFIED.with(|n| n.borrow_mut().pop())?;
    // SAFETY: `notified` stored the notification's reference.
    Some(unsafe { Notified::from_raw(t.0) })
}

/// Runs a notified task, and whatever it or others notified, until nothing is left.
fn run_all(first: Option<Notified>) {
    let mut next = first;
    loop {
        let task = match next.take() {
            Some(t) => t,
            None => match take_notified() {
                Some(t) => t,
                None => return,
            },
        };
        if let RunResult::Requeue(again) = RawTask::run(task) {
            next = Some(again);
        }
    }
}

fn spawn_raw<F>(future: F) -> (Notified, JoinHandle<F::Output>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let raw = RawTask::new(future, Collect);
    // SAFETY: the initial state holds the handle's reference and the first notification's;
    // the scheduler's reference is dropped by `complete` (`Collect::release` says so).
    unsafe { (Notified::from_raw(raw), JoinHandle::new(raw)) }
}

fn noop_waker() -> Waker {
    fn clone(_: *const ()) -> RawWaker {
        RawWaker::new(std::ptr::null(), &VTABLE)
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: every function is a no-op.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

fn poll_join<T>(handle: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
    Pin::new(handle).poll(&mut Context::from_waker(waker))
}

/// A future that is pending until woken `wakes` times, keeping its waker where others see it.
struct Wakeable {
    slot: Arc<Mutex<Option<Waker>>>,
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
    ready_after: usize,
}

impl Future for Wakeable {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let n = self.polls.fetch_add(1, SeqCst) + 1;
        if n > self.ready_after {
            return Poll::Ready(n);
        }
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Wakeable {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

struct Probe {
    slot: Arc<Mutex<Option<Waker>>>,
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

fn wakeable(ready_after: usize) -> (Wakeable, Probe) {
    let probe = Probe {
        slot: Arc::new(Mutex::new(None)),
        polls: Arc::new(AtomicUsize::new(0)),
        drops: Arc::new(AtomicUsize::new(0)),
    };
    let fut = Wakeable {
        slot: probe.slot.clone(),
        polls: probe.polls.clone(),
        drops: probe.drops.clone(),
        ready_after,
    };
    (fut, probe)
}

/// Spins (with loom yields) until the future published its waker, then takes it.
fn take_waker(slot: &Mutex<Option<Waker>>) -> Waker {
    loop {
        if let Some(w) = slot.lock().unwrap().take() {
            return w;
        }
        thread::yield_now();
    }
}

std::thread_local! {
    static ITERATIONS: Cell<usize> = const { Cell::new(0) };
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(move || {
        f();
        assert!(
            NOTIFIED.with(|n| n.borrow().is_empty()),
            "a notification was left behind"
        );
        ITERATIONS.with(|i| i.set(i.get() + 1));
    });
    ITERATIONS.with(|i| {
        eprintln!("loom: {} interleavings checked", i.get());
        i.set(0);
    });
}

// ---- queue entries that are only headers ------------------------------------------------------

static FAKE_VTABLE: Vtable = Vtable {
    run: fake_run,
    schedule: fake_schedule,
    dealloc: fake_dealloc,
    try_read_output: fake_read,
    drop_join_handle: fake_dealloc,
    shutdown: fake_dealloc,
};
unsafe fn fake_run(_: NonNull<Header>) -> RunResult {
    unreachable!()
}
fn fake_schedule(_: Notified) {
    unreachable!()
}
unsafe fn fake_dealloc(_: NonNull<Header>) {}
unsafe fn fake_read(_: NonNull<Header>, _: *mut (), _: &Waker) {}

/// A queue entry that is only a header, with an id (its index in `FakeTasks`).
pub(super) struct FakeTasks {
    pub(super) headers: Vec<Box<Header>>,
}

impl FakeTasks {
    pub(super) fn new(n: usize) -> FakeTasks {
        FakeTasks {
            headers: (0..n)
                .map(|_| Box::new(Header::new(&FAKE_VTABLE)))
                .collect(),
        }
    }
    pub(super) fn raw(&self, i: usize) -> RawTask {
        RawTask::from_raw(NonNull::from(&*self.headers[i]))
    }
    pub(super) fn id(&self, t: RawTask) -> usize {
        self.headers
            .iter()
            .position(|h| std::ptr::eq(&**h, t.header()))
            .unwrap()
    }
    pub(super) fn notified(&self, i: usize) -> Notified {
        // SAFETY: fake headers never reach a real vtable function that frees them (the fake
        // dealloc is a no-op) and are forgotten after use.
        unsafe { Notified::from_raw(self.raw(i)) }
    }
}
