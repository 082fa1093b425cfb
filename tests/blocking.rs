//! Blocking work (S10): `spawn_blocking` on a separate, bounded thread pool.
//!
//! Every test runs under a watchdog (no test may hang), and none asserts timing: waits are
//! bounded loops on observable state.

use std::future::Future;
use std::io;
use std::panic::catch_unwind;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use hue::{current_color, Color, Handle, JoinError, JoinHandle, Runtime};

mod common;
use common::{panic_message, runtime, wait_for, wait_until, watchdog};

// ---------------------------------------------------------------------------------------------
// helpers

/// Waits (bounded, from any thread, without a runtime) for a JoinHandle's result.
fn join<T>(mut h: JoinHandle<T>, what: &str) -> Result<T, JoinError> {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    wait_for(&format!("{what} finishes"), || {
        match Pin::new(&mut h).poll(&mut cx) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    })
}

/// A gate that blocked closures wait on; the test opens it one pass at a time.
#[derive(Default)]
struct Gate {
    passes: Mutex<usize>,
    cv: Condvar,
}

impl Gate {
    /// Blocks (at most 20 s, so a broken runtime cannot wedge the process) until a pass is
    /// given; true if one was.
    fn wait(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut p = self.passes.lock().unwrap();
        while *p == 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            p = self.cv.wait_timeout(p, deadline - now).unwrap().0;
        }
        *p -= 1;
        true
    }

    fn give(&self, n: usize) {
        *self.passes.lock().unwrap() += n;
        self.cv.notify_all();
    }
}

// ---------------------------------------------------------------------------------------------
// results and panics

#[test]
fn spawn_blocking_returns_results() {
    let _w = watchdog("spawn_blocking_returns_results");
    let rt = runtime(2);
    let test_thread = thread::current().id();
    // From block_on's future.
    let (v, worker, other_thread) = rt.block_on(async move {
        hue::spawn_blocking(move || {
            (
                6 * 7,
                hue::current_worker(),
                thread::current().id() != test_thread,
            )
        })
        .await
        .unwrap()
    });
    assert_eq!(v, 42);
    assert_eq!(worker, None, "a blocking closure ran on a worker thread");
    assert!(
        other_thread,
        "a blocking closure ran on the caller's thread"
    );

    // Many at once, from tasks of several colors.
    let sum = rt.block_on(async {
        let hs: Vec<JoinHandle<u64>> = (0..64u64)
            .map(|i| {
                hue::spawn_colored(Color::new(i % 5), async move {
                    hue::spawn_blocking(move || {
                        thread::sleep(Duration::from_micros(200));
                        i * i
                    })
                    .await
                    .unwrap()
                })
            })
            .collect();
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, (0..64u64).map(|i| i * i).sum::<u64>());

    // From a plain thread through the Handle; output that is not Copy.
    let handle = rt.handle().clone();
    let h = thread::spawn(move || handle.spawn_blocking(|| vec![String::from("blocking"); 3]))
        .join()
        .unwrap();
    assert_eq!(join(h, "a blocking task").unwrap(), vec!["blocking"; 3]);
}

#[test]
fn spawn_blocking_panic_is_a_join_error() {
    let _w = watchdog("spawn_blocking_panic_is_a_join_error");
    let rt = Runtime::builder()
        .workers(2)
        .max_blocking_threads(2)
        .build()
        .unwrap();
    let hs: Vec<JoinHandle<u32>> = (0..6u32)
        .map(|i| {
            rt.handle().spawn_blocking(move || {
                if i % 2 == 0 {
                    panic!("blocking boom {i}");
                }
                i
            })
        })
        .collect();
    for (i, h) in hs.into_iter().enumerate() {
        let r = join(h, "a blocking task");
        if i % 2 == 0 {
            let err = r.expect_err("a panicking blocking closure returned Ok");
            assert!(err.is_panic(), "{err:?}");
            assert!(!err.is_cancelled());
            assert_eq!(
                panic_message(&*err.into_panic()),
                format!("blocking boom {i}")
            );
        } else {
            assert_eq!(r.unwrap(), i as u32);
        }
    }
    // The pool survives its panics (more panics than threads).
    let h = rt.handle().spawn_blocking(|| 5);
    assert_eq!(rt.block_on(h).unwrap(), 5);
}

#[test]
fn spawn_blocking_outside_a_runtime_panics() {
    let _w = watchdog("spawn_blocking_outside_a_runtime_panics");
    let r = catch_unwind(|| drop(hue::spawn_blocking(|| 1)));
    assert!(r.is_err(), "spawn_blocking outside a runtime did not panic");
}

// ---------------------------------------------------------------------------------------------
// the bound, thread count, keep-alive

#[test]
fn at_most_max_blocking_threads_run_at_once() {
    let _w = watchdog("at_most_max_blocking_threads_run_at_once");
    const BOUND: usize = 2;
    const N: usize = 6;
    let rt = Runtime::builder()
        .workers(2)
        .max_blocking_threads(BOUND)
        .build()
        .unwrap();
    let gate = Arc::new(Gate::default());
    let running = Arc::new(AtomicUsize::new(0));
    let max_running = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let hs: Vec<JoinHandle<(usize, bool)>> = (0..N)
        .map(|i| {
            let (gate, running, max_running, started) = (
                gate.clone(),
                running.clone(),
                max_running.clone(),
                started.clone(),
            );
            rt.handle().spawn_blocking(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                max_running.fetch_max(now, Ordering::SeqCst);
                started.fetch_add(1, Ordering::SeqCst);
                let passed = gate.wait();
                running.fetch_sub(1, Ordering::SeqCst);
                (i, passed)
            })
        })
        .collect();
    for released in 0..N {
        let expect_started = (released + BOUND).min(N);
        wait_until(
            &format!("{expect_started} blocking closures have started"),
            || started.load(Ordering::SeqCst) >= expect_started,
        );
        // Give an unbounded pool the chance to start more (this is not a timing assertion:
        // a correct pool passes whatever the delay).
        thread::sleep(Duration::from_millis(20));
        let now = started.load(Ordering::SeqCst);
        assert_eq!(
            now, expect_started,
            "with max_blocking_threads({BOUND}) and {released} closures released, {now} have \
             started"
        );
        assert!(max_running.load(Ordering::SeqCst) <= BOUND);
        let threads = rt.handle().metrics().blocking_threads();
        assert!(
            threads <= BOUND,
            "metrics().blocking_threads() = {threads} > max_blocking_threads({BOUND})"
        );
        if released == 0 {
            assert_eq!(
                threads, BOUND,
                "{BOUND} closures are running but blocking_threads() = {threads}"
            );
        }
        gate.give(1);
    }
    for (i, h) in hs.into_iter().enumerate() {
        let (j, passed) = join(h, "a gated blocking task").expect("a blocking task failed");
        assert_eq!(j, i);
        assert!(
            passed,
            "blocking closure {i} was never let through its gate"
        );
    }
    let max = max_running.load(Ordering::SeqCst);
    println!("max blocking closures running at once: {max} (bound {BOUND})");
    assert_eq!(
        max, BOUND,
        "the pool did not use its {BOUND} threads in parallel"
    );
}

#[test]
fn idle_blocking_threads_retire_after_keep_alive() {
    let _w = watchdog("idle_blocking_threads_retire_after_keep_alive");
    let rt = Runtime::builder()
        .workers(2)
        .blocking_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    for round in 0..2 {
        // Three closures that wait for each other: three threads at once.
        let barrier = Arc::new(std::sync::Barrier::new(3));
        let at_barrier = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Gate::default());
        let hs: Vec<JoinHandle<bool>> = (0..3)
            .map(|_| {
                let (barrier, at_barrier, gate) =
                    (barrier.clone(), at_barrier.clone(), gate.clone());
                rt.handle().spawn_blocking(move || {
                    barrier.wait();
                    at_barrier.fetch_add(1, Ordering::SeqCst);
                    gate.wait()
                })
            })
            .collect();
        wait_until("three blocking closures run at once", || {
            at_barrier.load(Ordering::SeqCst) == 3
        });
        let threads = rt.handle().metrics().blocking_threads();
        assert!(
            threads >= 3,
            "round {round}: 3 blocking closures are running but blocking_threads() = {threads}"
        );
        gate.give(3);
        for h in hs {
            assert!(join(h, "a blocking task").unwrap());
        }
        // Idle threads retire after the keep-alive.
        wait_until("idle blocking threads have retired", || {
            rt.handle().metrics().blocking_threads() == 0
        });
    }
    // The pool starts threads again after they all retired.
    let h = rt.handle().spawn_blocking(|| 8);
    assert_eq!(rt.block_on(h).unwrap(), 8);
}

#[test]
fn max_blocking_threads_zero_is_invalid_input() {
    let _w = watchdog("max_blocking_threads_zero_is_invalid_input");
    let err = match Runtime::builder()
        .workers(1)
        .max_blocking_threads(0)
        .build()
    {
        Ok(_) => panic!("max_blocking_threads(0) built a runtime"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(!err.to_string().is_empty());
    // One thread is a valid pool.
    let rt = Runtime::builder()
        .workers(1)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let h = rt.handle().spawn_blocking(|| 1);
    assert_eq!(rt.block_on(h).unwrap(), 1);
}

// ---------------------------------------------------------------------------------------------
// abort, shutdown

#[test]
fn abort_before_start_cancels_and_never_runs() {
    let _w = watchdog("abort_before_start_cancels_and_never_runs");
    let rt = Runtime::builder()
        .workers(2)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let gate = Arc::new(Gate::default());
    let (started_tx, started_rx) = mpsc::channel();
    let g = gate.clone();
    let busy = rt.handle().spawn_blocking(move || {
        started_tx.send(()).unwrap();
        g.wait();
        "busy done"
    });
    started_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the first blocking closure did not start");
    // The pool's only thread is busy: this one is queued.
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let queued = rt.handle().spawn_blocking(move || {
        r.store(true, Ordering::SeqCst);
        1
    });
    queued.abort();
    // abort() while running has no effect.
    busy.abort();
    gate.give(1);
    assert_eq!(
        join(busy, "the running blocking task").expect("abort() of a running closure took effect"),
        "busy done"
    );
    let err = join(queued, "the aborted blocking task")
        .expect_err("a blocking task aborted before it started returned Ok");
    assert!(err.is_cancelled(), "{err:?}");
    // The pool goes on; the aborted closure never runs.
    let h = rt.handle().spawn_blocking(|| 2);
    assert_eq!(join(h, "a blocking task").unwrap(), 2);
    drop(rt);
    assert!(
        !ran.load(Ordering::SeqCst),
        "a blocking closure aborted before it started ran"
    );
}

#[test]
fn shutdown_timeout_returns_with_a_blocked_closure() {
    let _w = watchdog("shutdown_timeout_returns_with_a_blocked_closure");
    let rt = Runtime::builder()
        .workers(2)
        .max_blocking_threads(1)
        .build()
        .unwrap();
    let (never_tx, never_rx) = mpsc::channel::<()>();
    let (started_tx, started_rx) = mpsc::channel();
    let blocked = rt.handle().spawn_blocking(move || {
        started_tx.send(()).unwrap();
        // Blocked until the test ends (bounded so the process can exit cleanly).
        let _ = never_rx.recv_timeout(Duration::from_secs(30));
    });
    started_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the blocking closure did not start");
    // Queued behind it (the pool has one thread): cancelled at shutdown, never run.
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let queued = rt
        .handle()
        .spawn_blocking(move || r.store(true, Ordering::SeqCst));
    rt.shutdown_timeout(Duration::from_millis(100));
    let err = join(queued, "the queued blocking task after shutdown")
        .expect_err("a queued blocking task returned Ok after shutdown");
    assert!(err.is_cancelled(), "{err:?}");
    // Unblock the detached closure; the queued one still never runs.
    drop(never_tx);
    drop(blocked);
    thread::sleep(Duration::from_millis(20));
    assert!(
        !ran.load(Ordering::SeqCst),
        "a queued blocking closure ran after shutdown"
    );
}

#[test]
fn dropping_the_runtime_waits_for_running_blocking_closures() {
    let _w = watchdog("dropping_the_runtime_waits_for_running_blocking_closures");
    let rt = runtime(2);
    let done = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(Gate::default());
    let (started_tx, started_rx) = mpsc::channel();
    let (d, g) = (done.clone(), gate.clone());
    let _h = rt.handle().spawn_blocking(move || {
        started_tx.send(()).unwrap();
        g.wait();
        d.store(true, Ordering::SeqCst);
    });
    started_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the blocking closure did not start");
    let opener = {
        let gate = gate.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            gate.give(1);
        })
    };
    drop(rt);
    assert!(
        done.load(Ordering::SeqCst),
        "dropping the runtime returned before its running blocking closure finished"
    );
    opener.join().unwrap();
}

// ---------------------------------------------------------------------------------------------
// the context inside a blocking closure

#[test]
fn inside_spawn_blocking_spawn_works_in_the_default_color() {
    let _w = watchdog("inside_spawn_blocking_spawn_works_in_the_default_color");
    let rt = Arc::new(runtime(2));
    let rt2 = rt.clone();
    // Called from a task of a non-default color: the closure has no color of its own.
    let h = rt.handle().spawn_colored(Color::new(77), async move {
        hue::spawn_blocking(move || {
            let own = current_color();
            let h = hue::spawn(async { (current_color(), hue::current_worker().is_some()) });
            let handle = Handle::current();
            let h2 = handle.spawn(async { current_color() });
            let spawned = futures::executor::block_on(h).unwrap();
            let spawned2 = futures::executor::block_on(h2).unwrap();
            // Runtime::block_on works here too (its future is color 0).
            let via_block_on = rt2.block_on(async {
                let c = current_color();
                let inner = hue::spawn_colored(Color::new(78), async { current_color() })
                    .await
                    .unwrap();
                (c, inner)
            });
            drop(rt2);
            (
                own,
                spawned,
                spawned2,
                via_block_on,
                Handle::try_current().is_some(),
            )
        })
        .await
        .unwrap()
    });
    let (own, spawned, spawned2, via_block_on, has_handle) = rt.block_on(h).unwrap();
    assert_eq!(own, Color::DEFAULT, "current_color() inside spawn_blocking");
    assert_eq!(
        spawned,
        (Color::DEFAULT, true),
        "hue::spawn from a blocking closure: (color, ran on a worker)"
    );
    assert_eq!(spawned2, Color::DEFAULT);
    assert_eq!(via_block_on, (Color::DEFAULT, Color::new(78)));
    assert!(
        has_handle,
        "Handle::try_current() is None inside spawn_blocking"
    );
    // Handle::spawn_blocking from inside a task works the same.
    let h = rt.handle().spawn_colored(Color::new(79), async {
        Handle::current()
            .spawn_blocking(current_color)
            .await
            .unwrap()
    });
    assert_eq!(rt.block_on(h).unwrap(), Color::DEFAULT);
    let rt = Arc::try_unwrap(rt).unwrap_or_else(|_| panic!("runtime still shared"));
    drop(rt);
}
