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

// ---- task state machine ---------------------------------------------------------------------

#[test]
fn task_wake_while_running() {
    model(|| {
        let (fut, probe) = wakeable(1);
        let (first, mut handle) = spawn_raw(fut);
        let slot = probe.slot.clone();
        let waker_thread = thread::spawn(move || take_waker(&slot).wake());
        // The first poll stores the waker; the wake comes during or after it.
        run_all(Some(first));
        waker_thread.join().unwrap();
        run_all(None);
        assert_eq!(
            probe.polls.load(SeqCst),
            2,
            "woken once: polled exactly twice"
        );
        assert_eq!(probe.drops.load(SeqCst), 1);
        match poll_join(&mut handle, &noop_waker()) {
            Poll::Ready(Ok(2)) => {}
            other => panic!(
                "unexpected {:?}",
                other.map(|r| r.map_err(|e| e.to_string()))
            ),
        }
    });
}

#[test]
fn task_wake_after_completion() {
    model(|| {
        let (fut, probe) = wakeable(0);
        let (first, handle) = spawn_raw(fut);
        // A waker taken from a clone of the JoinHandle's view: make one by polling once with
        // a future that is immediately ready would not store it, so store one explicitly.
        let slot = probe.slot.clone();
        let stored = Arc::new(AtomicBool::new(false));
        let stored2 = stored.clone();
        let t = thread::spawn(move || {
            if let Some(w) = slot.lock().unwrap().take() {
                stored2.store(true, SeqCst);
                w.wake();
            }
        });
        run_all(Some(first));
        t.join().unwrap();
        run_all(None);
        assert_eq!(probe.polls.load(SeqCst), 1);
        assert_eq!(probe.drops.load(SeqCst), 1);
        drop(handle);
        let _ = stored.load(SeqCst);
    });
}

#[test]
fn task_wake_racing_completion() {
    model(|| {
        // Pending once (stores waker), ready on the second poll; a foreign thread wakes twice,
        // the second wake lands after completion in some interleavings.
        let (fut, probe) = wakeable(1);
        let (first, handle) = spawn_raw(fut);
        run_all(Some(first));
        let w = take_waker(&probe.slot);
        let w2 = w.clone();
        let t = thread::spawn(move || {
            w2.wake_by_ref();
            w2.wake();
        });
        w.wake();
        run_all(None);
        t.join().unwrap();
        run_all(None);
        assert_eq!(probe.polls.load(SeqCst), 2);
        assert_eq!(probe.drops.load(SeqCst), 1);
        drop(handle);
    });
}

#[test]
fn task_abort_races_run() {
    model(|| {
        let (fut, probe) = wakeable(usize::MAX);
        let (first, mut handle) = spawn_raw(fut);
        // The abort comes from another thread through a second view of the task: abort only
        // needs `&JoinHandle`, so run the task on the other thread instead.
        let first = SendTask(first.into_raw());
        let runner = thread::spawn(move || {
            // SAFETY: the notification's reference travels with `first`.
            run_all(Some(unsafe { Notified::from_raw(first.0) }));
        });
        handle.abort();
        runner.join().unwrap();
        run_all(None);
        assert_eq!(
            probe.drops.load(SeqCst),
            1,
            "the future is dropped exactly once"
        );
        match poll_join(&mut handle, &noop_waker()) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            Poll::Ready(Ok(_)) => panic!("an aborted, never-ready task produced output"),
            Poll::Pending => panic!("aborted task did not finish"),
        }
    });
}

struct FlagWaker(AtomicBool);

fn flag_waker(flag: &'static FlagWaker) -> Waker {
    fn clone(p: *const ()) -> RawWaker {
        RawWaker::new(p, &VTABLE)
    }
    fn wake(p: *const ()) {
        // SAFETY: `p` is the leaked `FlagWaker`.
        unsafe { &*(p as *const FlagWaker) }.0.store(true, SeqCst);
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, noop);
    // SAFETY: the data pointer is a `'static` FlagWaker.
    unsafe {
        Waker::from_raw(RawWaker::new(
            flag as *const FlagWaker as *const (),
            &VTABLE,
        ))
    }
}

#[test]
fn task_join_races_completion() {
    model(|| {
        let (fut, probe) = wakeable(0);
        let (first, mut handle) = spawn_raw(fut);
        let first = SendTask(first.into_raw());
        let runner = thread::spawn(move || {
            // SAFETY: the notification's reference travels with `first`.
            run_all(Some(unsafe { Notified::from_raw(first.0) }));
        });
        let flag: &'static FlagWaker = Box::leak(Box::new(FlagWaker(AtomicBool::new(false))));
        let waker = flag_waker(flag);
        let out = match poll_join(&mut handle, &waker) {
            Poll::Ready(out) => out,
            Poll::Pending => {
                // Registered: completion must wake us.
                while !flag.0.load(SeqCst) {
                    thread::yield_now();
                }
                match poll_join(&mut handle, &waker) {
                    Poll::Ready(out) => out,
                    Poll::Pending => panic!("woken but the output is not ready"),
                }
            }
        };
        assert_eq!(out.unwrap(), 1);
        runner.join().unwrap();
        assert_eq!(probe.drops.load(SeqCst), 1);
    });
}

#[test]
fn task_join_handle_dropped_racing_completion() {
    model(|| {
        let out_drops = Arc::new(AtomicUsize::new(0));
        struct Out(Arc<AtomicUsize>);
        impl Drop for Out {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let d = out_drops.clone();
        let (first, mut handle) = spawn_raw(async move { Out(d) });
        let first = SendTask(first.into_raw());
        let runner = thread::spawn(move || {
            // SAFETY: the notification's reference travels with `first`.
            run_all(Some(unsafe { Notified::from_raw(first.0) }));
        });
        // Register a waker, then drop the handle, racing completion.
        let flag: &'static FlagWaker = Box::leak(Box::new(FlagWaker(AtomicBool::new(false))));
        let _ = poll_join(&mut handle, &flag_waker(flag));
        drop(handle);
        runner.join().unwrap();
        assert_eq!(
            out_drops.load(SeqCst),
            1,
            "the output is dropped exactly once"
        );
    });
}

// ---- color state machine ----------------------------------------------------------------------

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
struct FakeTasks {
    headers: Vec<Box<Header>>,
}

impl FakeTasks {
    fn new(n: usize) -> FakeTasks {
        FakeTasks {
            headers: (0..n)
                .map(|_| Box::new(Header::new(&FAKE_VTABLE)))
                .collect(),
        }
    }
    fn raw(&self, i: usize) -> RawTask {
        RawTask::from_raw(NonNull::from(&*self.headers[i]))
    }
    fn id(&self, t: RawTask) -> usize {
        self.headers
            .iter()
            .position(|h| std::ptr::eq(&**h, t.header()))
            .unwrap()
    }
    fn notified(&self, i: usize) -> Notified {
        // SAFETY: fake headers never reach a real vtable function that frees them (the fake
        // dealloc is a no-op) and are forgotten after use.
        unsafe { Notified::from_raw(self.raw(i)) }
    }
}

struct ColorModel {
    queue: TaskQueue,
    tasks: FakeTasks,
    /// The run queue the color's handle sits in while `Scheduled` (0 or 1 handles).
    run_queue: Mutex<usize>,
    in_flight: AtomicBool,
    ran: Mutex<Vec<usize>>,
}

// SAFETY: the model's raw pointers are only used under the protocols being checked.
unsafe impl Send for ColorModel {}
// SAFETY: as above.
unsafe impl Sync for ColorModel {}

impl ColorModel {
    fn new(n: usize) -> Arc<ColorModel> {
        Arc::new(ColorModel {
            queue: TaskQueue::new(),
            tasks: FakeTasks::new(n),
            run_queue: Mutex::new(0),
            in_flight: AtomicBool::new(false),
            ran: Mutex::new(Vec::new()),
        })
    }

    fn push(&self, i: usize) {
        // A new task: it joins the member list and is queued, in one critical section.
        match self.queue.push_new(self.tasks.notified(i)) {
            Push::Schedule => *self.run_queue.lock().unwrap() += 1,
            Push::Queued => {}
            Push::Closed(n) => {
                n.into_raw();
            }
        }
    }

    /// One worker turn: pop the handle if present, run a batch of at most `max`.
    fn worker_turn(&self, max: usize) -> bool {
        {
            let mut rq = self.run_queue.lock().unwrap();
            if *rq == 0 {
                return false;
            }
            assert_eq!(*rq, 1, "a color is in at most one run queue once");
            *rq -= 1;
        }
        assert!(
            !self.in_flight.swap(true, SeqCst),
            "two owners of one color"
        );
        let mut batch = self.queue.begin_run(max);
        assert!(batch.len() <= max);
        // Every task runs to completion: it leaves the member list at the end of the turn.
        let mut released = Released::default();
        while let Some(t) = batch.pop() {
            self.ran.lock().unwrap().push(self.tasks.id(t));
            released.push(t);
        }
        self.in_flight.store(false, SeqCst);
        match self.queue.finish_turn(None, None, released) {
            Turn::Rescheduled { .. } => *self.run_queue.lock().unwrap() += 1,
            Turn::Idle => {}
            Turn::Continue(_) => unreachable!("no next batch was asked for"),
        }
        true
    }

    fn members(&self) -> usize {
        let mut out = Vec::new();
        self.queue.members_snapshot(&mut out);
        out.len()
    }
}

#[test]
fn color_push_vs_run_vs_steal() {
    model(|| {
        let m = ColorModel::new(3);
        m.push(0);
        let pusher = {
            let m = m.clone();
            thread::spawn(move || {
                m.push(1);
                m.push(2);
            })
        };
        // Two workers race for the handle (the second is a thief).
        let thief = {
            let m = m.clone();
            thread::spawn(move || {
                m.worker_turn(1);
            })
        };
        m.worker_turn(1);
        pusher.join().unwrap();
        thief.join().unwrap();
        while m.worker_turn(1) {}
        assert_eq!(
            *m.ran.lock().unwrap(),
            vec![0, 1, 2],
            "FIFO, each task once"
        );
        assert_eq!(m.queue.state(), RunState::Idle);
        assert_eq!(m.members(), 0, "every completed task left the member list");
    });
}

#[test]
fn color_foreign_acquire_and_handoff() {
    model(|| {
        // Entry 0 is a task, entry 1 a handoff node for the foreign (block_on) thread.
        let m = ColorModel::new(2);
        let handed = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        m.push(0);
        let foreign = {
            let m = m.clone();
            let handed = handed.clone();
            let done = done.clone();
            thread::spawn(move || {
                if !m.queue.acquire_or_enqueue(m.tasks.raw(1)) {
                    while !handed.load(SeqCst) {
                        thread::yield_now();
                    }
                }
                assert!(
                    !m.in_flight.swap(true, SeqCst),
                    "foreign poll overlaps a worker"
                );
                m.ran.lock().unwrap().push(1);
                m.in_flight.store(false, SeqCst);
                if m.queue.finish_run() {
                    *m.run_queue.lock().unwrap() += 1;
                }
                done.store(true, SeqCst);
            })
        };
        // The worker: like `worker_turn`, but hands off when it meets entry 1.
        let run = |m: &ColorModel| -> bool {
            {
                let mut rq = m.run_queue.lock().unwrap();
                if *rq == 0 {
                    return false;
                }
                *rq -= 1;
            }
            assert!(!m.in_flight.swap(true, SeqCst), "two owners of one color");
            let mut batch = m.queue.begin_run(8);
            while let Some(t) = batch.pop() {
                if m.tasks.id(t) == 1 {
                    m.queue.put_back_front(batch, Default::default());
                    m.in_flight.store(false, SeqCst);
                    handed.store(true, SeqCst);
                    return true;
                }
                m.ran.lock().unwrap().push(0);
            }
            m.in_flight.store(false, SeqCst);
            if m.queue.finish_run() {
                *m.run_queue.lock().unwrap() += 1;
            }
            true
        };
        run(&m);
        // Keep serving until the foreign thread is done.
        while !done.load(SeqCst) {
            if !run(&m) {
                thread::yield_now();
            }
        }
        foreign.join().unwrap();
        while run(&m) {}
        let ran = m.ran.lock().unwrap().clone();
        assert_eq!(ran.len(), 2, "each entry ran once: {ran:?}");
    });
}

// ---- lone colors becoming shared --------------------------------------------------------------
//
// The protocol of `sched::lone`, on the real task state word and the real color queue: a
// lone task T (entry 0) with its lone run-queue entry, a worker that runs T (and then T's
// color's queue, once it has one), a joiner that gives the color a queue and puts a new task S
// (entry 1) in it (claiming T if idle, flagging it if running or notified), and a waker of
// T. The map entry and T's `TaskColor` are modelled by a mutex and a flag; what the model
// checks is that T and S are never polled at once, that S runs exactly once, that every wake
// of T that found it idle leads to a poll, and that nothing is left queued.

const T: usize = 0;
const S: usize = 1;

struct LoneModel {
    tasks: FakeTasks,
    queue: TaskQueue,
    /// The color map's entry: `false` while lone, `true` once the color has `queue`.
    shared_entry: Mutex<bool>,
    /// T's `TaskColor`: shared (member of `queue`) or lone.
    t_shared: AtomicBool,
    /// T's lone run-queue entries (0 or 1), and `queue`'s handles in a run queue (0 or 1).
    lone_rq: Mutex<usize>,
    queue_rq: Mutex<usize>,
    /// The worker owns `queue` (it adopted it, or popped its handle).
    in_flight: AtomicBool,
    t_polls: AtomicUsize,
    s_polls: AtomicUsize,
    /// Notifications of T made after its first (wakes, requeues, a claim's).
    t_submits: AtomicUsize,
    /// Wakes of T asked for, and how many of them a poll of T had seen when it began: the
    /// data a real waker hands its task, under the future's own lock.
    t_wakes: Mutex<(usize, usize)>,
    joined: AtomicBool,
}

// SAFETY: the model's raw pointers are only used under the protocols being checked.
unsafe impl Send for LoneModel {}
// SAFETY: as above.
unsafe impl Sync for LoneModel {}

impl LoneModel {
    fn new() -> Arc<LoneModel> {
        Arc::new(LoneModel {
            tasks: FakeTasks::new(2),
            queue: TaskQueue::new(),
            shared_entry: Mutex::new(false),
            t_shared: AtomicBool::new(false),
            // T was spawned: its first notification sits in a run queue.
            lone_rq: Mutex::new(1),
            queue_rq: Mutex::new(0),
            in_flight: AtomicBool::new(false),
            t_polls: AtomicUsize::new(0),
            s_polls: AtomicUsize::new(0),
            t_submits: AtomicUsize::new(0),
            t_wakes: Mutex::new((0, 0)),
            joined: AtomicBool::new(false),
        })
    }

    fn state(&self, i: usize) -> &crate::task::state::State {
        &self.tasks.headers[i].state
    }

    fn poll(&self, counter: &AtomicUsize) {
        assert!(
            !self.in_flight.swap(true, SeqCst),
            "two polls of one color at once"
        );
        counter.fetch_add(1, SeqCst);
        self.in_flight.store(false, SeqCst);
    }

    /// Pushes a notified task into the color's queue (`sched::push_into`).
    fn push_into(&self, i: usize) {
        match self.queue.push(self.tasks.notified(i)) {
            Push::Schedule => *self.queue_rq.lock().unwrap() += 1,
            Push::Queued => {}
            Push::Closed(n) => {
                n.into_raw();
            }
        }
    }

    /// A poll of T: it sees every wake asked for before it began.
    fn poll_t(&self) {
        {
            let mut wakes = self.t_wakes.lock().unwrap();
            wakes.1 = wakes.0;
        }
        self.poll(&self.t_polls);
    }

    /// The waker of T (`sched::schedule`).
    fn wake_t(&self) {
        use crate::task::state::TransitionToNotified;
        self.t_wakes.lock().unwrap().0 += 1;
        if self.state(T).transition_to_notified_by_ref() == TransitionToNotified::Submit {
            self.t_submits.fetch_add(1, SeqCst);
            if self.t_shared.load(SeqCst) {
                self.push_into(T);
            } else {
                *self.lone_rq.lock().unwrap() += 1;
            }
        }
    }

    /// The joiner (`Shard::queue_of` + `take_in`, then S joins the queue).
    fn join(&self) {
        use crate::task::Claim;
        let mut entry = self.shared_entry.lock().unwrap();
        assert!(!*entry);
        match self.state(T).try_claim() {
            Claim::Complete => unreachable!("T never completes in this model"),
            Claim::Claimed => {
                self.queue.add_member(self.tasks.raw(T));
                self.t_shared.store(true, SeqCst);
                if self.state(T).release_claim() {
                    // The claim's reference became a notification.
                    self.t_submits.fetch_add(1, SeqCst);
                    self.push_into(T);
                }
            }
            Claim::Flagged => {
                self.queue.await_runner();
                self.queue.add_member(self.tasks.raw(T));
            }
        }
        *entry = true;
        drop(entry);
        match self.queue.push_new(self.tasks.notified(S)) {
            Push::Schedule => *self.queue_rq.lock().unwrap() += 1,
            Push::Queued => {}
            Push::Closed(_) => unreachable!(),
        }
        self.joined.store(true, SeqCst);
    }

    /// T's runner adopts the queue the joiner left (`lone::adopt_queue`).
    fn adopt(&self) {
        assert!(
            *self.shared_entry.lock().unwrap(),
            "a flagged task's color has a queue"
        );
        self.queue.adopt();
        self.t_shared.store(true, SeqCst);
        self.state(T).clear_rebind();
    }

    /// Runs T from its lone entry (`Worker::run_lone` over `harness::run`). Returns whether
    /// the worker now owns the queue, and T's notification if it must be requeued there.
    fn run_lone(&self) -> (bool, bool) {
        use crate::task::state::{TransitionToIdle, TransitionToRunning};
        assert!(
            !self.t_shared.load(SeqCst),
            "a lone entry of a shared task was popped"
        );
        match self.state(T).transition_to_running() {
            TransitionToRunning::Success => {}
            other => panic!("T could not run: {other:?}"),
        }
        self.poll_t();
        let mut owns = false;
        loop {
            match self.state(T).transition_to_idle() {
                TransitionToIdle::Rebind => {
                    self.adopt();
                    owns = true;
                }
                TransitionToIdle::Ok => return (owns, false),
                TransitionToIdle::OkNotified => {
                    self.t_submits.fetch_add(1, SeqCst);
                    return (owns, true);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// One run of a worker: the lone entry, or the queue's handle. `false`: nothing to run.
    fn worker_turn(&self) -> bool {
        let lone = {
            let mut rq = self.lone_rq.lock().unwrap();
            let some = *rq > 0;
            if some {
                *rq -= 1;
            }
            some
        };
        if lone {
            let (owns, requeue) = self.run_lone();
            if owns {
                self.finish(requeue.then_some(T));
            } else if requeue {
                // Still lone: the notification goes back to the run queue (it may have been
                // flagged meanwhile; whoever pops it adopts).
                if self.t_shared.load(SeqCst) {
                    self.push_into(T);
                } else {
                    *self.lone_rq.lock().unwrap() += 1;
                }
            }
            return true;
        }
        let queued = {
            let mut rq = self.queue_rq.lock().unwrap();
            let some = *rq > 0;
            if some {
                *rq -= 1;
            }
            some
        };
        if !queued {
            return false;
        }
        let mut batch = self.queue.begin_run(8);
        let mut requeue = None;
        while let Some(task) = batch.pop() {
            let i = self.tasks.id(task);
            if i == S {
                self.poll(&self.s_polls);
                continue;
            }
            use crate::task::state::{TransitionToIdle, TransitionToRunning};
            assert_eq!(
                self.state(T).transition_to_running(),
                TransitionToRunning::Success
            );
            self.poll_t();
            match self.state(T).transition_to_idle() {
                TransitionToIdle::Ok => {}
                TransitionToIdle::OkNotified => {
                    self.t_submits.fetch_add(1, SeqCst);
                    requeue = Some(T);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        self.finish(requeue);
        true
    }

    /// Ends a turn of the queue the worker owns (requeueing T if it was woken).
    fn finish(&self, requeue: Option<usize>) {
        let requeue = requeue.map(|i| self.tasks.notified(i));
        match self.queue.finish_turn(requeue, None, Released::default()) {
            Turn::Rescheduled { .. } => *self.queue_rq.lock().unwrap() += 1,
            Turn::Idle => {}
            Turn::Continue(_) => unreachable!(),
        }
    }
}

fn lone_model(wakes: usize) {
    model(move || {
        let m = LoneModel::new();
        let joiner = {
            let m = m.clone();
            thread::spawn(move || m.join())
        };
        let waker = {
            let m = m.clone();
            thread::spawn(move || {
                for _ in 0..wakes {
                    m.wake_t();
                }
            })
        };
        // The worker runs until the joiner is done and nothing is left.
        loop {
            if !m.worker_turn() {
                if m.joined.load(SeqCst) && *m.lone_rq.lock().unwrap() == 0 {
                    break;
                }
                thread::yield_now();
            }
        }
        joiner.join().unwrap();
        waker.join().unwrap();
        while m.worker_turn() {}
        assert_eq!(m.s_polls.load(SeqCst), 1, "S runs exactly once");
        assert_eq!(
            m.t_polls.load(SeqCst),
            1 + m.t_submits.load(SeqCst),
            "every notification of T led to one poll"
        );
        let (wakes, seen) = *m.t_wakes.lock().unwrap();
        assert_eq!(seen, wakes, "a wake of T was lost: no poll began after it");
        assert!(
            m.t_shared.load(SeqCst),
            "T ends as a member of its color's queue"
        );
        assert_eq!(m.queue.state(), RunState::Idle);
        assert!(!m.state(T).load().is_rebind(), "a flag was left behind");
        // The fake tasks' references are never freed; forget the queue's member list.
        let mut members = Vec::new();
        m.queue.members_snapshot(&mut members);
        assert_eq!(members.len(), 2, "T and S are members");
    });
}

#[test]
fn lone_color_joined_while_running_or_queued() {
    // No wake besides the spawn's: the joiner finds T notified (queued) or running, and
    // flags it, or idle after its poll, and claims it.
    lone_model(0);
}

#[test]
fn lone_color_joined_racing_a_wake() {
    // A wake races the joiner's claim or flag: it must not be lost, nor run T twice at once.
    lone_model(1);
}
