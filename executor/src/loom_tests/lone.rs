//! A model of a lone color becoming shared.

use super::*;

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
