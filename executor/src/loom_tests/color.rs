//! Models of the color state machine.

use super::*;

// ---- color state machine ----------------------------------------------------------------------

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
