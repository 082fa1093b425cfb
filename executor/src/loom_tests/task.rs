//! Models of the task state machine.

use super::*;

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
