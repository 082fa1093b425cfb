//! Integration tests of the runtime's public surface: JoinHandle, JoinError, abort, panics,
//! colors (S5), block_on in color 0 (S1/S5), shutdown (S8), wakers and tokio::sync interop.

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use futures::FutureExt;
use hue::{current_color, Color, Handle, JoinError, JoinHandle, Runtime};
use tokio_test::{assert_pending, assert_ready};

mod common;
use common::{panic_message, runtime, wait_until, watchdog};

// ---------------------------------------------------------------------------------------------
// helpers

/// Counts drops of the futures that own one.
#[derive(Clone, Default)]
struct DropCounter(Arc<AtomicUsize>);

struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl DropCounter {
    fn track(&self) -> Tracked {
        Tracked(self.0.clone())
    }
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A future that never completes (its sender is kept by the caller) and counts its drop.
fn wait_forever(
    drops: &DropCounter,
) -> (
    tokio::sync::oneshot::Sender<()>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let guard = drops.track();
    (tx, async move {
        let _guard = guard;
        // The test keeps the sender alive and never sends; should it go, keep waiting.
        let _ = rx.await;
        std::future::pending::<()>().await
    })
}

/// A waker that counts its wakes.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Sends its waker to a foreign std thread that wakes it later; completes once woken.
struct WokenFrom {
    tx: mpsc::Sender<(Waker, Arc<AtomicBool>)>,
    fired: Option<Arc<AtomicBool>>,
}

impl Future for WokenFrom {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.fired {
            None => {
                let f = Arc::new(AtomicBool::new(false));
                self.tx.send((cx.waker().clone(), f.clone())).unwrap();
                self.fired = Some(f);
                Poll::Pending
            }
            Some(f) if f.load(Ordering::Acquire) => Poll::Ready(()),
            Some(_) => Poll::Pending,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JoinHandle

#[test]
fn join_handle_returns_outputs() {
    let _w = watchdog("join_handle_returns_outputs");
    let rt = runtime(2);
    // From outside the runtime, through the handle.
    let h = rt.handle().spawn(async { String::from("outside") });
    assert_eq!(rt.block_on(h).unwrap(), "outside");
    let h = rt
        .handle()
        .spawn_colored(Color::new(9), async { vec![1u8, 2, 3] });
    assert_eq!(rt.block_on(h).unwrap(), vec![1, 2, 3]);
    // From inside: many tasks, many colors, nested spawns.
    let sum = rt.block_on(async {
        let hs: Vec<JoinHandle<u64>> = (0..200u64)
            .map(|i| {
                hue::spawn_colored(Color::new(i % 7), async move {
                    let inner = hue::spawn(async move { i * 2 });
                    inner.await.unwrap() + 1
                })
            })
            .collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..200u64).map(|i| i * 2 + 1).sum::<u64>());
    // Output that is not Copy/Clone and is moved out exactly once.
    let drops = DropCounter::default();
    let g = drops.track();
    let h = rt.handle().spawn(async move { g });
    let out = rt.block_on(h).unwrap();
    assert_eq!(
        drops.get(),
        0,
        "the output was dropped before it was returned"
    );
    drop(out);
    assert_eq!(drops.get(), 1);
}

#[test]
fn abort_pending_task_cancels_and_drops_future() {
    let _w = watchdog("abort_pending_task_cancels_and_drops_future");
    let rt = runtime(2);
    let drops = DropCounter::default();
    let (tx, fut) = wait_forever(&drops);
    let h = rt.handle().spawn_colored(Color::new(3), fut);
    // Let it start and park on the channel (bounded; not a timing assertion).
    rt.block_on(async {
        for _ in 0..10 {
            hue::yield_now().await;
        }
    });
    assert!(!h.is_finished(), "a task waiting forever is finished");
    h.abort();
    let err = rt.block_on(h).expect_err("aborted task returned Ok");
    assert!(err.is_cancelled(), "aborted task: {err:?} is not cancelled");
    assert!(!err.is_panic(), "aborted task: {err:?} is a panic");
    assert_eq!(
        drops.get(),
        1,
        "aborted task's future was not dropped exactly once"
    );
    assert!(tx.is_closed(), "aborted task's receiver still alive");

    // Abort before it ever ran (it cannot complete on its own either way).
    let (tx2, fut2) = wait_forever(&drops);
    let h = rt.handle().spawn(fut2);
    h.abort();
    h.abort(); // twice is harmless
    let err = rt.block_on(h).expect_err("aborted task returned Ok");
    assert!(err.is_cancelled());
    assert_eq!(drops.get(), 2);
    assert!(tx2.is_closed());

    // try_into_panic on a cancellation gives the error back.
    let (_tx3, fut3) = wait_forever(&drops);
    let h = rt.handle().spawn(fut3);
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    let err = err
        .try_into_panic()
        .expect_err("try_into_panic of a cancellation returned a payload");
    assert!(err.is_cancelled());

    // Abort from inside another task, of another color.
    let (_tx4, fut4) = wait_forever(&drops);
    let h = rt.handle().spawn_colored(Color::new(4), fut4);
    let res = rt.block_on(async move {
        hue::spawn_colored(Color::new(5), async move {
            h.abort();
            h.await
        })
        .await
        .unwrap()
    });
    assert!(res.unwrap_err().is_cancelled());
    assert_eq!(drops.get(), 4);
    // The runtime still works (and color 3 is free again).
    let h = rt.handle().spawn_colored(Color::new(3), async { 33 });
    assert_eq!(rt.block_on(h).unwrap(), 33);
}

#[test]
fn abort_after_completion_is_noop_and_is_finished() {
    let _w = watchdog("abort_after_completion_is_noop_and_is_finished");
    let rt = runtime(2);
    let h = rt.handle().spawn(async { 7 });
    wait_until("the task is finished", || h.is_finished());
    h.abort();
    assert!(h.is_finished());
    assert_eq!(
        rt.block_on(h).unwrap(),
        7,
        "abort after completion changed the result"
    );

    // is_finished goes false -> true when the task completes.
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let h = rt
        .handle()
        .spawn_colored(Color::fresh(), async move { rx.await.unwrap() + 1 });
    assert!(
        !h.is_finished(),
        "task waiting on a channel reported finished"
    );
    tx.send(41).unwrap();
    wait_until("the task is finished", || h.is_finished());
    assert_eq!(rt.block_on(h).unwrap(), 42);
}

#[test]
fn dropping_join_handle_detaches() {
    let _w = watchdog("dropping_join_handle_detaches");
    let rt = runtime(2);
    let drops = DropCounter::default();
    let (done_tx, done_rx) = mpsc::channel();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<u32>();
    let guard = drops.track();
    let h = rt.handle().spawn_colored(Color::new(11), async move {
        let _guard = guard;
        let v = go_rx.await.unwrap();
        done_tx.send(v * 2).unwrap();
    });
    drop(h);
    go_tx.send(21).unwrap();
    let v = done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("detached task did not run to completion");
    assert_eq!(v, 42);
    wait_until("the detached future is dropped", || drops.get() == 1);
    drop(rt);
    assert_eq!(drops.get(), 1, "detached future dropped more than once");
}

// ---------------------------------------------------------------------------------------------
// panics (S8)

#[test]
fn panic_in_task_is_caught_and_runtime_keeps_working() {
    let _w = watchdog("panic_in_task_is_caught_and_runtime_keeps_working");
    let rt = runtime(2);
    let c = Color::new(42);
    let drops = DropCounter::default();
    let guard = drops.track();
    let h = rt.handle().spawn_colored(c, async move {
        let _guard = guard;
        hue::yield_now().await;
        if c.get() == 42 {
            panic!("boom in color 42");
        }
        5u32
    });
    let err = rt.block_on(h).expect_err("panicking task returned Ok");
    assert!(err.is_panic(), "{err:?} is not a panic");
    assert!(!err.is_cancelled());
    assert_eq!(
        drops.get(),
        1,
        "the panicking future was not dropped exactly once"
    );
    let payload = err.into_panic();
    assert_eq!(panic_message(&*payload), "boom in color 42");

    // String payload, via try_into_panic.
    let h = rt
        .handle()
        .spawn(async { std::panic::panic_any(format!("formatted {}", 7)) });
    let err: JoinError = rt.block_on(h).unwrap_err();
    let payload = err.try_into_panic().expect("a panic has a payload");
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "formatted 7");

    // More panics than workers: every worker must survive.
    let hs: Vec<JoinHandle<()>> = (0..16)
        .map(|i| {
            rt.handle()
                .spawn_colored(Color::new(100 + i % 3), async move { panic!("panic {i}") })
        })
        .collect();
    for h in hs {
        assert!(rt.block_on(h).unwrap_err().is_panic());
    }

    // The runtime still runs tasks, including in the color that panicked, with all workers.
    let hs: Vec<JoinHandle<u64>> = (0..100u64)
        .map(|i| {
            let color = if i % 2 == 0 { c } else { Color::new(i) };
            rt.handle().spawn_colored(color, async move {
                hue::yield_now().await;
                i
            })
        })
        .collect();
    let sum: u64 = rt.block_on(async {
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, (0..100).sum::<u64>());
    // A panic in the block_on future propagates to the caller; the runtime stays usable.
    let r = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async { panic!("block_on boom") })
    }));
    assert_eq!(
        panic_message(&*r.expect_err("block_on did not propagate the panic")),
        "block_on boom"
    );
    let h = rt.handle().spawn(async { 1 });
    assert_eq!(
        rt.block_on(h).unwrap(),
        1,
        "runtime unusable after block_on panicked"
    );
    assert_eq!(rt.block_on(async { 2 }), 2);
}

#[test]
fn join_error_display_debug_and_io_error() {
    let _w = watchdog("join_error_display_debug_and_io_error");
    fn assert_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    let rt = runtime(2);
    let drops = DropCounter::default();

    let (_tx, fut) = wait_forever(&drops);
    let h = rt.handle().spawn(fut);
    h.abort();
    let cancelled = rt.block_on(h).unwrap_err();
    assert_error(&cancelled);
    let text = cancelled.to_string();
    assert!(
        text.to_lowercase().contains("cancel"),
        "Display of a cancelled JoinError does not say so: {text:?}"
    );
    assert!(!format!("{cancelled:?}").is_empty());
    let io_err = io::Error::from(cancelled);
    assert!(
        io_err.to_string().to_lowercase().contains("cancel"),
        "io::Error from a cancelled JoinError: {io_err}"
    );

    let h = rt.handle().spawn(async { panic!("display me") });
    let panicked = rt.block_on(h).unwrap_err();
    let text = panicked.to_string();
    assert!(
        text.to_lowercase().contains("panic"),
        "Display of a panicked JoinError does not say so: {text:?}"
    );
    assert!(!format!("{panicked:?}").is_empty());
    let io_err: io::Error = panicked.into();
    assert!(
        io_err.to_string().to_lowercase().contains("panic"),
        "io::Error from a panicked JoinError: {io_err}"
    );
    // The `?` conversion compiles in io::Result code.
    fn via_question_mark(e: JoinError) -> io::Result<()> {
        Err(e)?;
        Ok(())
    }
    let h = rt.handle().spawn(async { panic!("again") });
    assert!(via_question_mark(rt.block_on(h).unwrap_err()).is_err());
}

// ---------------------------------------------------------------------------------------------
// colors (S5)

#[test]
fn spawn_inherits_color_and_default_outside_tasks() {
    let _w = watchdog("spawn_inherits_color_and_default_outside_tasks");
    assert_eq!(current_color(), Color::DEFAULT, "outside any runtime");
    assert_eq!(hue::current_worker(), None, "test thread is no worker");
    assert!(
        Handle::try_current().is_none(),
        "Handle::try_current() outside a runtime"
    );
    let rt = runtime(3);
    assert_eq!(current_color(), Color::DEFAULT, "outside any task");

    let (in_block_on, spawned_from_block_on, worker_in_block_on) = rt.block_on(async {
        let here = current_color();
        let child = hue::spawn(async { current_color() }).await.unwrap();
        (here, child, hue::current_worker())
    });
    assert_eq!(
        in_block_on,
        Color::DEFAULT,
        "current_color() inside block_on"
    );
    assert_eq!(spawned_from_block_on, Color::DEFAULT, "spawn from block_on");
    assert_eq!(
        worker_in_block_on, None,
        "block_on runs on the calling thread"
    );

    let c = Color::new(0xC0FFEE);
    let h = rt.handle().spawn_colored(c, async move {
        let outer = current_color();
        let worker = hue::current_worker();
        let child = hue::spawn(async { current_color() });
        let via_handle = Handle::current().spawn(async { current_color() });
        let grandchild = hue::spawn(async { hue::spawn(async { current_color() }).await.unwrap() });
        let explicit = hue::spawn_colored(Color::new(5), async {
            (
                current_color(),
                hue::spawn(async { current_color() }).await.unwrap(),
            )
        });
        (
            outer,
            worker,
            child.await.unwrap(),
            via_handle.await.unwrap(),
            grandchild.await.unwrap(),
            explicit.await.unwrap(),
        )
    });
    let (outer, worker, child, via_handle, grandchild, explicit) = rt.block_on(h).unwrap();
    assert_eq!(
        outer, c,
        "current_color() in a task spawned with spawn_colored"
    );
    assert!(
        matches!(worker, Some(w) if w < 3),
        "current_worker() in a task: {worker:?}"
    );
    assert_eq!(child, c, "hue::spawn must inherit the color");
    assert_eq!(
        via_handle, c,
        "Handle::spawn inside a task must inherit the color"
    );
    assert_eq!(grandchild, c, "color must be inherited transitively");
    assert_eq!(explicit, (Color::new(5), Color::new(5)));

    // Handle::spawn from a foreign thread: color 0.
    let h = rt.handle().spawn(async { current_color() });
    assert_eq!(rt.block_on(h).unwrap(), Color::DEFAULT);
    assert_eq!(current_color(), Color::DEFAULT, "after block_on");

    // spawn outside of a runtime is a programming error.
    let r = catch_unwind(|| {
        drop(hue::spawn(async {}));
    });
    assert!(r.is_err(), "hue::spawn outside a runtime did not panic");
    assert!(
        catch_unwind(Handle::current).is_err(),
        "Handle::current() outside a runtime"
    );
}

#[test]
fn colors_fresh_of_and_conversions() {
    assert_eq!(Color::DEFAULT.get(), 0);
    assert_eq!(Color::default(), Color::DEFAULT);
    assert_eq!(Color::new(17).get(), 17);
    assert_eq!(Color::from(17u64), Color::new(17));

    let fresh: Vec<Color> = thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| s.spawn(|| (0..5000).map(|_| Color::fresh()).collect::<Vec<_>>()))
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let set: HashSet<Color> = fresh.iter().copied().collect();
    assert_eq!(
        set.len(),
        fresh.len(),
        "Color::fresh() returned a duplicate"
    );
    assert!(
        !set.contains(&Color::DEFAULT),
        "Color::fresh() returned color 0"
    );

    let a = Color::of("user:alice");
    assert_eq!(a, Color::of("user:alice"), "Color::of is not stable");
    assert_eq!(a, Color::of(&String::from("user:alice")));
    assert_eq!(Color::of(&(1u32, "x")), Color::of(&(1u32, "x")));
    let other_thread = thread::spawn(|| Color::of("user:alice")).join().unwrap();
    assert_eq!(a, other_thread, "Color::of differs across threads");
    // Keys map to colors exactly (no small pool of slots, which would make unrelated colors wait for each other).
    let keyed: HashSet<Color> = (0..1000).map(|i| Color::of(&format!("key-{i}"))).collect();
    assert_eq!(
        keyed.len(),
        1000,
        "Color::of collides on 1000 distinct keys"
    );
}

// ---------------------------------------------------------------------------------------------
// block_on runs in color 0 and counts for S1

/// Wraps a future: sets a shared in-flight flag for the whole of each poll.
struct Exclusive<F> {
    flag: Arc<AtomicBool>,
    plain: Arc<AtomicU64>,
    polls: Arc<AtomicU64>,
    overlaps: Arc<AtomicUsize>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Exclusive<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if self.flag.swap(true, Ordering::Relaxed) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        if current_color() != Color::DEFAULT {
            self.overlaps.fetch_add(1000, Ordering::SeqCst);
        }
        let seen = self.plain.load(Ordering::Relaxed);
        if self.polls.fetch_add(1, Ordering::Relaxed) != seen {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        self.plain.store(seen + 1, Ordering::Relaxed);
        for _ in 0..200 {
            std::hint::spin_loop();
        }
        let out = self.inner.as_mut().poll(cx);
        for _ in 0..200 {
            std::hint::spin_loop();
        }
        self.flag.store(false, Ordering::Relaxed);
        out
    }
}

#[test]
fn block_on_future_excludes_color_0_tasks() {
    let _w = watchdog("block_on_future_excludes_color_0_tasks");
    let rt = runtime(4);
    let flag = Arc::new(AtomicBool::new(false));
    let plain = Arc::new(AtomicU64::new(0));
    let polls = Arc::new(AtomicU64::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let wrap = {
        let (flag, plain, polls, overlaps) =
            (flag.clone(), plain.clone(), polls.clone(), overlaps.clone());
        move |inner: Pin<Box<dyn Future<Output = u64> + Send>>| Exclusive {
            flag: flag.clone(),
            plain: plain.clone(),
            polls: polls.clone(),
            overlaps: overlaps.clone(),
            inner: Box::pin(inner),
        }
    };
    let task = |i: u64| -> Pin<Box<dyn Future<Output = u64> + Send>> {
        Box::pin(async move {
            for _ in 0..5 {
                hue::yield_now().await;
            }
            i
        })
    };
    // Some color-0 tasks are already queued when block_on starts (spawned from this thread).
    let early: Vec<JoinHandle<u64>> = (0..100)
        .map(|i| rt.handle().spawn_colored(Color::DEFAULT, wrap(task(i))))
        .collect();
    let wrap2 = wrap.clone();
    let main = async move {
        let mut sum = 0;
        let late: Vec<JoinHandle<u64>> = (100..300).map(|i| hue::spawn(wrap2(task(i)))).collect();
        for _ in 0..50 {
            hue::yield_now().await;
        }
        for h in early.into_iter().chain(late) {
            sum += h.await.unwrap();
            hue::yield_now().await;
        }
        sum
    };
    let sum = rt.block_on(wrap(Box::pin(main)));
    assert_eq!(sum, (0..300).sum::<u64>());
    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "the block_on future and color-0 tasks were polled at the same time (or out of color 0)"
    );
    assert!(polls.load(Ordering::SeqCst) >= 300 * 6);
}

#[test]
fn block_on_inside_task_or_block_on_panics() {
    let _w = watchdog("block_on_inside_task_or_block_on_panics");
    let rt = runtime(2);
    let rt2 = Arc::new(runtime(1));

    // Another runtime's block_on, on a worker of this one, caught inside the task.
    let rt2c = rt2.clone();
    let h = rt.handle().spawn(async move {
        let r = catch_unwind(AssertUnwindSafe(|| rt2c.block_on(async { 1 })));
        drop(rt2c);
        r.map_err(|p| panic_message(&*p))
    });
    let msg = rt
        .block_on(h)
        .unwrap()
        .expect_err("Runtime::block_on on a worker thread did not panic");
    let lower = msg.to_lowercase();
    assert!(
        lower.contains("block_on") || lower.contains("runtime"),
        "unhelpful panic message: {msg:?}"
    );
    wait_until("the task released its Arc<Runtime>", || {
        Arc::strong_count(&rt2) == 1
    });
    drop(rt2);

    // The free function inside a task: the task ends with a panic JoinError.
    let h = rt.handle().spawn_colored(Color::new(8), async {
        hue::block_on(async { 1 });
    });
    let err = rt
        .block_on(h)
        .expect_err("hue::block_on inside a task did not panic");
    assert!(err.is_panic(), "{err:?}");
    let msg = panic_message(&*err.into_panic());
    let lower = msg.to_lowercase();
    assert!(
        lower.contains("block_on") || lower.contains("runtime"),
        "unhelpful panic message: {msg:?}"
    );

    // Nested block_on on the same runtime.
    let nested =
        rt.block_on(async { catch_unwind(AssertUnwindSafe(|| rt.block_on(async { 1 }))).is_err() });
    assert!(nested, "block_on inside block_on did not panic");

    // Everything still works, color 8 and color 0 included.
    let h = rt.handle().spawn_colored(Color::new(8), async { 8 });
    assert_eq!(rt.block_on(h).unwrap(), 8);
    let h = rt.handle().spawn(async { 0 });
    assert_eq!(rt.block_on(h).unwrap(), 0);
}

#[test]
fn free_block_on_runs_a_runtime() {
    let _w = watchdog("free_block_on_runs_a_runtime");
    let v = hue::block_on(async {
        let a = hue::spawn(async { 20 });
        let b = hue::spawn_colored(Color::fresh(), async { 22 });
        (current_color(), a.await.unwrap() + b.await.unwrap())
    });
    assert_eq!(v, (Color::DEFAULT, 42));
    assert!(Handle::try_current().is_none());
}

// ---------------------------------------------------------------------------------------------
// builder

#[test]
fn builder_rejects_zero_workers_and_sets_options() {
    let err = Runtime::builder()
        .workers(0)
        .build()
        .expect_err("workers(0) built a runtime");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string().contains("workers"),
        "error message does not name `workers`: {err}"
    );

    let _w = watchdog("builder_rejects_zero_workers_and_sets_options");
    let rt = Runtime::builder()
        .workers(3)
        .thread_name("hue-test-pool")
        .build()
        .unwrap();
    assert_eq!(rt.handle().metrics().workers(), 3);
    let names: Vec<(Option<String>, Option<usize>)> = rt.block_on(async {
        let hs: Vec<_> = (0..30)
            .map(|_| {
                hue::spawn_colored(Color::fresh(), async {
                    (
                        thread::current().name().map(str::to_owned),
                        hue::current_worker(),
                    )
                })
            })
            .collect();
        let mut v = Vec::new();
        for h in hs {
            v.push(h.await.unwrap());
        }
        v
    });
    for (name, worker) in names {
        let name = name.expect("worker thread has no name");
        assert!(
            name.starts_with("hue-test-pool"),
            "worker thread name {name:?}"
        );
        assert!(
            matches!(worker, Some(w) if w < 3),
            "current_worker() = {worker:?}"
        );
    }
    // Counters are final once the workers have been joined.
    let handle = rt.handle().clone();
    drop(rt);
    assert!(handle.metrics().polls() >= 30, "{:?}", handle.metrics());

    // Stealing off: everything still runs and nothing is stolen.
    let rt = Runtime::builder().workers(2).steal(false).build().unwrap();
    let hs: Vec<JoinHandle<u64>> = (0..200u64)
        .map(|i| {
            rt.handle().spawn_colored(Color::new(i % 13), async move {
                for _ in 0..3 {
                    hue::yield_now().await;
                }
                i
            })
        })
        .collect();
    let sum = rt.block_on(async {
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, (0..200).sum::<u64>());
    assert_eq!(
        rt.handle().metrics().steals(),
        0,
        "steal(false) but colors were stolen"
    );
}

// ---------------------------------------------------------------------------------------------
// shutdown (S8)

struct Parked {
    wakers: Arc<Mutex<Vec<Waker>>>,
}

impl Future for Parked {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.wakers.lock().unwrap().push(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn dropping_runtime_drops_every_future_once() {
    let _w = watchdog("dropping_runtime_drops_every_future_once");
    let rt = runtime(2);
    let drops = DropCounter::default();
    let started = Arc::new(AtomicUsize::new(0));
    let wakers = Arc::new(Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    let mut n = 0;
    // Waiting on channels whose senders are held.
    for i in 0..60u64 {
        let (tx, fut) = wait_forever(&drops);
        senders.push(tx);
        let started = started.clone();
        drop(rt.handle().spawn_colored(Color::new(i % 5), async move {
            started.fetch_add(1, Ordering::SeqCst);
            fut.await
        }));
        n += 1;
    }
    // Always runnable (yield forever).
    for i in 0..20u64 {
        let g = drops.track();
        let started = started.clone();
        drop(rt.handle().spawn_colored(Color::new(i % 3), async move {
            let _g = g;
            started.fetch_add(1, Ordering::SeqCst);
            loop {
                hue::yield_now().await;
            }
        }));
        n += 1;
    }
    // Parked with their wakers held by the test (woken after shutdown).
    for _ in 0..20 {
        let g = drops.track();
        let started = started.clone();
        let wakers = wakers.clone();
        drop(rt.handle().spawn_colored(Color::fresh(), async move {
            let _g = g;
            started.fetch_add(1, Ordering::SeqCst);
            Parked { wakers }.await
        }));
        n += 1;
    }
    // Pending forever, their JoinHandles kept by the test.
    let mut kept = Vec::new();
    for _ in 0..20 {
        let g = drops.track();
        kept.push(rt.handle().spawn(async move {
            let _g = g;
            futures::future::pending::<()>().await
        }));
        n += 1;
    }
    let first = 100;
    wait_until("the first tasks have started", || {
        started.load(Ordering::SeqCst) == first
    });
    assert_eq!(drops.get(), 0);
    drop(rt);
    assert_eq!(
        drops.get(),
        n,
        "dropping the runtime did not drop every future exactly once"
    );
    for tx in &senders {
        assert!(tx.is_closed());
    }
    // Wakers outliving the runtime are harmless.
    for w in wakers.lock().unwrap().drain(..) {
        let w2 = w.clone();
        w.wake_by_ref();
        w.wake();
        w2.wake();
    }
    // JoinHandles of tasks dropped at shutdown resolve to a cancellation.
    for h in kept {
        let r = h
            .now_or_never()
            .expect("JoinHandle of a task dropped at shutdown is still pending");
        assert!(r.unwrap_err().is_cancelled());
    }
    assert_eq!(drops.get(), n);
}

#[test]
fn shutdown_timeout_returns_with_waiting_and_blocked_tasks() {
    let _w = watchdog("shutdown_timeout_returns_with_waiting_and_blocked_tasks");
    // A task that waits forever.
    let rt = runtime(2);
    let drops = DropCounter::default();
    let (_tx, fut) = wait_forever(&drops);
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    let _h = rt.handle().spawn(async move {
        s.store(true, Ordering::SeqCst);
        fut.await
    });
    wait_until("the task has started", || started.load(Ordering::SeqCst));
    rt.shutdown_timeout(Duration::from_millis(100));
    assert_eq!(
        drops.get(),
        1,
        "shutdown_timeout did not drop the waiting future"
    );

    // A task that blocks its worker thread (a bug in user code): shutdown_timeout still returns.
    let rt = runtime(2);
    let (unblock_tx, unblock_rx) = mpsc::channel::<()>();
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let _h = rt.handle().spawn_colored(Color::new(1), async move {
        entered_tx.send(()).unwrap();
        let _ = unblock_rx.recv_timeout(Duration::from_secs(20));
    });
    entered_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("blocking task did not start");
    rt.shutdown_timeout(Duration::from_millis(100));
    let _ = unblock_tx.send(());
}

#[test]
fn spawn_after_shutdown_is_cancelled_and_drops_future() {
    let _w = watchdog("spawn_after_shutdown_is_cancelled_and_drops_future");
    let rt = runtime(2);
    let handle = rt.handle().clone();
    drop(rt);
    let drops = DropCounter::default();
    let g = drops.track();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = handle.spawn(async move {
        let _g = g;
        r.store(true, Ordering::SeqCst);
    });
    assert_eq!(
        drops.get(),
        1,
        "spawn after shutdown did not drop the future at once"
    );
    assert!(
        h.is_finished(),
        "JoinHandle of a task spawned after shutdown is not finished"
    );
    let err = h
        .now_or_never()
        .expect("JoinHandle of a task spawned after shutdown is pending")
        .expect_err("task spawned after shutdown returned Ok");
    assert!(err.is_cancelled(), "{err:?}");

    let g = drops.track();
    let h = handle.spawn_colored(Color::new(3), async move {
        let _g = g;
    });
    assert_eq!(drops.get(), 2);
    let err = futures::executor::block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    assert!(
        !ran.load(Ordering::SeqCst),
        "a task spawned after shutdown ran"
    );
    // The runtime is still reachable through the handle for metrics.
    let _ = handle.metrics().workers();
}

// ---------------------------------------------------------------------------------------------
// wakers

#[test]
fn join_handle_waker_is_woken_once_on_completion() {
    let _w = watchdog("join_handle_waker_is_woken_once_on_completion");
    let rt = runtime(2);
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let h = rt
        .handle()
        .spawn_colored(Color::new(6), async move { rx.await.unwrap() * 3 });
    let mut mock = tokio_test::task::spawn(h);
    assert_pending!(mock.poll());
    assert_pending!(mock.poll());
    assert!(
        !mock.is_woken(),
        "JoinHandle woken before the task completed"
    );
    tx.send(14).unwrap();
    wait_until("the JoinHandle's waker is woken", || mock.is_woken());
    let v = assert_ready!(mock.poll());
    assert_eq!(v.unwrap(), 42);

    // Exactly one wake, and only the most recent waker is needed.
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let mut h = rt.handle().spawn(async move { rx.await.unwrap() });
    let first = Arc::new(CountingWaker::default());
    let second = Arc::new(CountingWaker::default());
    let w1 = Waker::from(first.clone());
    let w2 = Waker::from(second.clone());
    assert!(Pin::new(&mut h)
        .poll(&mut Context::from_waker(&w1))
        .is_pending());
    assert!(Pin::new(&mut h)
        .poll(&mut Context::from_waker(&w2))
        .is_pending());
    tx.send(5).unwrap();
    wait_until("the latest JoinHandle waker is woken", || {
        second.0.load(Ordering::SeqCst) > 0
    });
    match Pin::new(&mut h).poll(&mut Context::from_waker(&w2)) {
        Poll::Ready(Ok(5)) => {}
        Poll::Ready(other) => panic!("unexpected result {other:?}"),
        Poll::Pending => panic!("JoinHandle woken but still pending"),
    }
    drop(rt);
    assert_eq!(
        second.0.load(Ordering::SeqCst),
        1,
        "JoinHandle waker woken more than once"
    );
}

#[test]
fn wakes_from_foreign_threads() {
    let _w = watchdog("wakes_from_foreign_threads");
    let rt = runtime(2);
    let (tx, rx) = mpsc::channel::<(Waker, Arc<AtomicBool>)>();
    let waker_thread = thread::spawn(move || {
        let mut n = 0u32;
        while let Ok((w, fired)) = rx.recv() {
            n += 1;
            if n % 7 == 0 {
                thread::sleep(Duration::from_micros(50));
            }
            fired.store(true, Ordering::Release);
            // Extra clones and by-ref wakes: still exactly one more poll at least.
            let w2 = w.clone();
            w.wake_by_ref();
            w2.wake();
            drop(w);
        }
        n
    });
    let hs: Vec<JoinHandle<u32>> = (0..300u32)
        .map(|i| {
            let tx = tx.clone();
            rt.handle()
                .spawn_colored(Color::new(u64::from(i % 10)), async move {
                    for _ in 0..5 {
                        WokenFrom {
                            tx: tx.clone(),
                            fired: None,
                        }
                        .await;
                    }
                    i
                })
        })
        .collect();
    drop(tx);
    let sum = rt.block_on(async {
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    assert_eq!(sum, (0..300).sum::<u32>());

    // Waking a finished task is a no-op: it is never polled again.
    let polled_after_ready = Arc::new(AtomicBool::new(false));
    let stash: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    struct Once {
        done: bool,
        stash: Arc<Mutex<Option<Waker>>>,
        flag: Arc<AtomicBool>,
    }
    impl Future for Once {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.done {
                self.flag.store(true, Ordering::SeqCst);
                return Poll::Pending;
            }
            self.done = true;
            *self.stash.lock().unwrap() = Some(cx.waker().clone());
            Poll::Ready(())
        }
    }
    let h = rt.handle().spawn(Once {
        done: false,
        stash: stash.clone(),
        flag: polled_after_ready.clone(),
    });
    rt.block_on(h).unwrap();
    let w = stash.lock().unwrap().take().unwrap();
    thread::spawn(move || {
        w.wake_by_ref();
        w.wake();
    })
    .join()
    .unwrap();
    // Give the runtime a chance to (wrongly) poll it: run a few rounds of other work.
    let h = rt.handle().spawn(async {
        for _ in 0..20 {
            hue::yield_now().await;
        }
    });
    rt.block_on(h).unwrap();
    drop(rt);
    assert!(
        !polled_after_ready.load(Ordering::SeqCst),
        "a finished task was polled again after a wake"
    );
    assert_eq!(waker_thread.join().unwrap(), 300 * 5);
}

#[test]
fn tokio_sync_channels_between_colors() {
    let _w = watchdog("tokio_sync_channels_between_colors");
    let rt = runtime(4);
    let total = rt.block_on(async {
        // Bounded mpsc (capacity 1): producers in 4 colors block on a consumer in a 5th color.
        let (tx, mut rx) =
            tokio::sync::mpsc::channel::<(u64, tokio::sync::oneshot::Sender<u64>)>(1);
        let consumer = hue::spawn_colored(Color::new(500), async move {
            let mut total = 0;
            while let Some((v, reply)) = rx.recv().await {
                total += v;
                reply.send(v * 10).unwrap();
            }
            total
        });
        let producers: Vec<JoinHandle<u64>> = (0..4u64)
            .map(|p| {
                let tx = tx.clone();
                hue::spawn_colored(Color::new(501 + p), async move {
                    let mut acc = 0;
                    for i in 0..100u64 {
                        let (otx, orx) = tokio::sync::oneshot::channel();
                        let v = p * 1000 + i;
                        tx.send((v, otx)).await.unwrap();
                        let back = orx.await.unwrap();
                        assert_eq!(back, v * 10);
                        assert_eq!(current_color(), Color::new(501 + p));
                        acc += v;
                    }
                    acc
                })
            })
            .collect();
        drop(tx);
        let mut sent = 0;
        for p in producers {
            sent += p.await.unwrap();
        }
        let received = consumer.await.unwrap();
        assert_eq!(sent, received);
        // Unbounded mpsc + watch, block_on future as the consumer.
        let (utx, mut urx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let (go_tx, go_rx) = tokio::sync::watch::channel(false);
        for i in 0..50u64 {
            let utx = utx.clone();
            let mut go = go_rx.clone();
            drop(hue::spawn_colored(Color::fresh(), async move {
                go.wait_for(|v| *v).await.unwrap();
                utx.send(i).unwrap();
            }));
        }
        drop(utx);
        for _ in 0..10 {
            hue::yield_now().await;
        }
        let starter = hue::spawn_colored(Color::fresh(), async move {
            go_tx.send(true).unwrap();
        });
        let mut got = 0;
        while let Some(v) = urx.recv().await {
            got += v;
        }
        starter.await.unwrap();
        assert_eq!(got, (0..50).sum::<u64>());
        received
    });
    assert_eq!(
        total,
        (0..4u64)
            .map(|p| (0..100).map(|i| p * 1000 + i).sum::<u64>())
            .sum::<u64>()
    );
}

#[test]
fn a_task_may_drop_its_own_runtime() {
    let _w = watchdog("a_task_may_drop_its_own_runtime");
    let rt = runtime(2);
    let dropped = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<Runtime>>> = Arc::new(Mutex::new(None));
    let (tx, rx) = mpsc::channel();
    let handle = rt.handle().clone();
    *slot.lock().unwrap() = Some(rt);
    let (slot2, dropped2) = (slot.clone(), dropped.clone());
    // The task drops the runtime it runs on: shutdown must not wait for the worker that is
    // inside this very poll (it would wait forever).
    drop(handle.spawn_colored(Color::fresh(), async move {
        let rt = slot2.lock().unwrap().take().expect("runtime stored");
        drop(rt);
        dropped2.store(true, Ordering::SeqCst);
        tx.send(()).unwrap();
    }));
    rx.recv_timeout(Duration::from_secs(20))
        .expect("dropping the runtime from its own task hung");
    assert!(dropped.load(Ordering::SeqCst));
    // The runtime is shut down: spawning resolves to a cancelled error at once.
    let err = futures::executor::block_on(handle.spawn(async {})).unwrap_err();
    assert!(err.is_cancelled());
}
