//! Recoloring (S6) and color-owned state (S9): `hue::recolor`, `hue::in_color`, `ColorCell`.
//!
//! Every test runs under a watchdog (no test may hang), and none asserts timing.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use hue::{current_color, in_color, recolor, Color, ColorCell, JoinHandle, WrongColor};

mod common;
use common::{panic_message, runtime, wait_until, watchdog};

// ---------------------------------------------------------------------------------------------
// helpers

fn spin(n: u64) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}

/// Counts the polls of the future it wraps.
struct PollCount<F> {
    polls: Arc<AtomicUsize>,
    inner: Pin<Box<F>>,
}

fn poll_count<F: Future>(polls: &Arc<AtomicUsize>, inner: F) -> PollCount<F> {
    PollCount {
        polls: polls.clone(),
        inner: Box::pin(inner),
    }
}

impl<F: Future> Future for PollCount<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// In-flight flags per color: a poll (or the drop of an aborted future) of color c sets c's
/// flag for its duration; finding it set means two of c were running at once (S1).
#[derive(Default)]
struct Exclusion {
    busy: Mutex<HashMap<Color, Arc<AtomicBool>>>,
    violations: AtomicUsize,
    messages: Mutex<Vec<String>>,
    polls: AtomicU64,
}

impl Exclusion {
    fn flag(&self, c: Color) -> Arc<AtomicBool> {
        self.busy.lock().unwrap().entry(c).or_default().clone()
    }

    fn fail(&self, msg: String) {
        self.violations.fetch_add(1, Ordering::SeqCst);
        let mut m = self.messages.lock().unwrap();
        if m.len() < 10 {
            m.push(msg);
        }
    }

    /// Runs `f` as one exclusive stretch of the current color.
    fn run<R>(&self, what: &str, f: impl FnOnce() -> R) -> R {
        let c = current_color();
        let flag = self.flag(c);
        if flag.swap(true, Ordering::Relaxed) {
            self.fail(format!(
                "S1 violated: {what} in {c} while another task of {c} was running"
            ));
        }
        self.polls.fetch_add(1, Ordering::Relaxed);
        spin(200);
        let r = f();
        spin(200);
        flag.store(false, Ordering::Relaxed);
        r
    }

    fn check(&self) {
        let n = self.violations.load(Ordering::SeqCst);
        assert!(
            n == 0,
            "{n} S1 violations:\n{}",
            self.messages.lock().unwrap().join("\n")
        );
    }
}

/// Wraps a future: every poll is checked against the in-flight flag of the color it runs in
/// (the current color at poll start).
struct Excl<F> {
    ex: Arc<Exclusion>,
    inner: Pin<Box<F>>,
}

fn excl<F: Future>(ex: &Arc<Exclusion>, inner: F) -> Excl<F> {
    Excl {
        ex: ex.clone(),
        inner: Box::pin(inner),
    }
}

impl<F: Future> Future for Excl<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let ex = self.ex.clone();
        ex.run("a poll", || self.inner.as_mut().poll(cx))
    }
}

/// Records the current color when dropped (checked under S1 like a poll).
struct DropProbe {
    ex: Arc<Exclusion>,
    seen: Arc<Mutex<Vec<Color>>>,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        let c = self.ex.run("a drop", current_color);
        self.seen.lock().unwrap().push(c);
    }
}

// ---------------------------------------------------------------------------------------------
// recolor

#[test]
fn recolor_returns_the_color_left_and_moves_the_task() {
    let _w = watchdog("recolor_returns_the_color_left_and_moves_the_task");
    let rt = runtime(2);
    let (a, b, c) = (Color::new(101), Color::new(102), Color::new(103));
    let h = rt.handle().spawn_colored(a, async move {
        let mut seen = vec![current_color()];
        let left = recolor(b).await;
        seen.push(left);
        seen.push(current_color());
        // A task spawned now inherits the color the task is in (S5).
        let child = hue::spawn(async { current_color() }).await.unwrap();
        seen.push(child);
        hue::yield_now().await;
        seen.push(current_color());
        let left = recolor(c).await;
        seen.push(left);
        seen.push(current_color());
        let left = recolor(a).await;
        seen.push(left);
        seen.push(current_color());
        seen
    });
    assert_eq!(
        rt.block_on(h).unwrap(),
        vec![a, a, b, b, b, b, c, c, a],
        "colors seen: [start, left, now, child, after yield, left, now, left, now]"
    );

    // Fresh colors and color 0 are colors like any other.
    let f = Color::fresh();
    let h = rt.handle().spawn_colored(f, async move {
        let l1 = recolor(Color::DEFAULT).await;
        let now = current_color();
        let l2 = recolor(f).await;
        (l1, now, l2, current_color())
    });
    assert_eq!(
        rt.block_on(h).unwrap(),
        (f, Color::DEFAULT, Color::DEFAULT, f)
    );

    // The task's result does not depend on where it ended: it may finish in another color.
    let h = rt.handle().spawn_colored(a, async move {
        recolor(c).await;
        current_color()
    });
    assert_eq!(rt.block_on(h).unwrap(), c);
    // ... and that color is free afterwards.
    let h = rt
        .handle()
        .spawn_colored(c, async { current_color().get() });
    assert_eq!(rt.block_on(h).unwrap(), 103);
}

#[test]
fn recolor_in_block_on_future() {
    let _w = watchdog("recolor_in_block_on_future");
    let rt = runtime(2);
    let c = Color::new(111);
    let seen = rt.block_on(async move {
        let start = current_color();
        let left = recolor(c).await;
        let now = current_color();
        let child = hue::spawn(async { current_color() }).await.unwrap();
        let back = recolor(Color::DEFAULT).await;
        (start, left, now, child, back, current_color())
    });
    assert_eq!(
        seen,
        (Color::DEFAULT, Color::DEFAULT, c, c, c, Color::DEFAULT)
    );

    // block_on's future may return while recolored: the color is released.
    let v = rt.block_on(async move {
        recolor(c).await;
        current_color()
    });
    assert_eq!(v, c);
    let h = rt.handle().spawn_colored(c, async { 5 });
    assert_eq!(rt.block_on(h).unwrap(), 5);
    assert_eq!(current_color(), Color::DEFAULT);
}

#[test]
fn recolor_to_the_current_color_does_not_yield() {
    let _w = watchdog("recolor_to_the_current_color_does_not_yield");
    let rt = runtime(2);
    let a = Color::new(121);
    let b = Color::new(122);

    let polls = Arc::new(AtomicUsize::new(0));
    let h = rt.handle().spawn_colored(
        a,
        poll_count(&polls, async move {
            let l1 = recolor(a).await;
            let l2 = recolor(current_color()).await;
            let v = in_color(a, async { current_color() }).await;
            (l1, l2, v)
        }),
    );
    assert_eq!(rt.block_on(h).unwrap(), (a, a, a));
    assert_eq!(
        polls.load(Ordering::SeqCst),
        1,
        "recolor/in_color to the color the task is already in yielded"
    );

    // The same directly: a Recolor to the current color is Ready at its first poll.
    let h = rt.handle().spawn_colored(a, async move {
        let mut r = std::pin::pin!(recolor(a));
        futures::poll!(r.as_mut())
    });
    match rt.block_on(h).unwrap() {
        Poll::Ready(left) => assert_eq!(left, a),
        Poll::Pending => panic!("recolor to the current color returned Pending"),
    }

    // Contrast: moving to another color queues the task in that color, so it is polled again.
    let polls = Arc::new(AtomicUsize::new(0));
    let h = rt.handle().spawn_colored(
        a,
        poll_count(&polls, async move {
            recolor(b).await;
            current_color()
        }),
    );
    assert_eq!(rt.block_on(h).unwrap(), b);
    assert!(
        polls.load(Ordering::SeqCst) >= 2,
        "recolor to another color did not go through the other color's queue"
    );

    // In block_on's future too.
    let polls = Arc::new(AtomicUsize::new(0));
    let v = rt.block_on(poll_count(&polls, async {
        let l = recolor(Color::DEFAULT).await;
        let v = in_color(Color::DEFAULT, async { 9 }).await;
        (l, v)
    }));
    assert_eq!(v, (Color::DEFAULT, 9));
    assert_eq!(polls.load(Ordering::SeqCst), 1);
}

#[test]
fn recolor_outside_a_runtime_panics() {
    let _w = watchdog("recolor_outside_a_runtime_panics");
    let r = catch_unwind(|| futures::executor::block_on(recolor(Color::new(5))));
    assert!(
        r.is_err(),
        "recolor outside a hue runtime did not panic (it returned {:?})",
        r.ok()
    );
}

// ---------------------------------------------------------------------------------------------
// in_color

#[test]
fn in_color_runs_the_section_in_the_color_and_moves_back() {
    let _w = watchdog("in_color_runs_the_section_in_the_color_and_moves_back");
    let rt = runtime(2);
    let (a, b, c) = (Color::new(201), Color::new(202), Color::new(203));
    let h = rt.handle().spawn_colored(a, async move {
        let mut seen = vec![current_color()];
        let out = in_color(b, async {
            let mut inner = vec![current_color()];
            hue::yield_now().await;
            inner.push(current_color());
            // Nested.
            let deeper = in_color(c, async {
                let x = current_color();
                hue::yield_now().await;
                (x, current_color())
            })
            .await;
            inner.push(deeper.0);
            inner.push(deeper.1);
            inner.push(current_color());
            // Nested, back into the outer color.
            let outer = in_color(a, async { current_color() }).await;
            inner.push(outer);
            inner.push(current_color());
            inner
        })
        .await;
        seen.extend(out);
        seen.push(current_color());
        seen
    });
    assert_eq!(
        rt.block_on(h).unwrap(),
        vec![a, b, b, c, c, b, a, b, a],
        "colors seen: [start, in b, after yield, in c, in c after yield, back in b, in a, \
         back in b, after the section]"
    );

    // in_color's output is the section's output, moved out once.
    let h = rt.handle().spawn_colored(a, async move {
        in_color(b, async { String::from("from b") }).await
    });
    assert_eq!(rt.block_on(h).unwrap(), "from b");
}

#[test]
fn in_color_inside_block_on() {
    let _w = watchdog("in_color_inside_block_on");
    let rt = runtime(2);
    let c = Color::new(211);
    let cell0 = Arc::new(ColorCell::new(Color::DEFAULT, 0u32));
    let cellc = Arc::new(ColorCell::new(c, 0u32));
    let (c0, cc) = (cell0.clone(), cellc.clone());
    let seen = rt.block_on(async move {
        let before = current_color();
        // A color-0 cell works in block_on's future.
        c0.with(|v| *v += 1);
        let inside = in_color(c, async {
            let x = current_color();
            cc.with(|v| *v += 10);
            hue::yield_now().await;
            cc.with(|v| *v += 10);
            // The color-0 cell is out of reach in the section.
            let err = c0
                .try_with(|_| ())
                .expect_err("color-0 cell usable in another color");
            assert_eq!(err.current_color(), Some(c));
            x
        })
        .await;
        c0.with(|v| *v += 1);
        (before, inside, current_color())
    });
    assert_eq!(seen, (Color::DEFAULT, c, Color::DEFAULT));
    let h = rt
        .handle()
        .spawn_colored(c, async move { cellc.with(|v| *v) });
    assert_eq!(rt.block_on(h).unwrap(), 20);
    let h = rt.handle().spawn(async move { cell0.with(|v| *v) });
    assert_eq!(rt.block_on(h).unwrap(), 2);
}

#[test]
fn block_on_future_keeps_exclusion_while_moving_between_colors() {
    let _w = watchdog("block_on_future_keeps_exclusion_while_moving_between_colors");
    let rt = runtime(3);
    let ex = Arc::new(Exclusion::default());
    let c = Color::new(221);
    let stop = Arc::new(AtomicBool::new(false));
    // Busy tasks in color 0 and in c, always runnable.
    let mut hs = Vec::new();
    for i in 0..6u64 {
        let color = if i % 2 == 0 { Color::DEFAULT } else { c };
        let stop = stop.clone();
        hs.push(rt.handle().spawn_colored(
            color,
            excl(&ex, async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    hue::yield_now().await;
                    n += 1;
                }
                n
            }),
        ));
    }
    let stop2 = stop.clone();
    rt.block_on(excl(&ex, async move {
        for _ in 0..100 {
            assert_eq!(current_color(), Color::DEFAULT);
            hue::yield_now().await;
            in_color(c, async {
                assert_eq!(current_color(), c);
                hue::yield_now().await;
            })
            .await;
        }
        stop2.store(true, Ordering::Relaxed);
    }));
    for h in hs {
        rt.block_on(h).unwrap();
    }
    ex.check();
}

#[test]
fn in_color_restores_the_color_after_a_panic() {
    let _w = watchdog("in_color_restores_the_color_after_a_panic");
    let rt = runtime(2);
    let (a, b) = (Color::new(231), Color::new(232));
    let h = rt.handle().spawn_colored(a, async move {
        let where_panicked = Arc::new(Mutex::new(None));
        let wp = where_panicked.clone();
        let r = AssertUnwindSafe(in_color(b, async move {
            hue::yield_now().await;
            *wp.lock().unwrap() = Some(current_color());
            if current_color() == b {
                panic!("boom in the section");
            }
            1u8
        }))
        .catch_unwind()
        .await;
        let after = current_color();
        let payload = r.expect_err("the section's panic did not reach catch_unwind");
        let msg = panic_message(&*payload);
        let in_section = *where_panicked.lock().unwrap();
        // The task goes on working, in its color.
        hue::yield_now().await;
        (in_section, after, msg, current_color())
    });
    let (in_section, after, msg, later) = rt.block_on(h).unwrap();
    assert_eq!(in_section, Some(b), "the section did not run in its color");
    assert_eq!(
        after, a,
        "after a panic in in_color, the task is not back in its color"
    );
    assert_eq!(msg, "boom in the section");
    assert_eq!(later, a);
    // Color b is free.
    let h = rt.handle().spawn_colored(b, async { current_color() });
    assert_eq!(rt.block_on(h).unwrap(), b);

    // Panicking in the first poll of the section (no await before), nested one level.
    let h = rt.handle().spawn_colored(a, async move {
        let r = AssertUnwindSafe(in_color(b, async move {
            in_color(Color::new(233), async { panic!("deep") }).await
        }))
        .catch_unwind()
        .await;
        (r.is_err(), current_color())
    });
    assert_eq!(rt.block_on(h).unwrap(), (true, a));

    // In block_on's future.
    let after = rt.block_on(async move {
        let r = AssertUnwindSafe(in_color(b, async { panic!("block_on section") }))
            .catch_unwind()
            .await;
        assert!(r.is_err());
        current_color()
    });
    assert_eq!(after, Color::DEFAULT);

    // Not caught: the task fails with the panic, and both colors stay usable.
    let h = rt.handle().spawn_colored(a, async move {
        in_color(b, async { panic!("uncaught in section") }).await
    });
    let err: hue::JoinError = rt.block_on(h).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(panic_message(&*err.into_panic()), "uncaught in section");
    for color in [a, b] {
        let h = rt.handle().spawn_colored(color, async { current_color() });
        assert_eq!(rt.block_on(h).unwrap(), color);
    }
}

#[test]
fn abort_inside_in_color_releases_the_color() {
    let _w = watchdog("abort_inside_in_color_releases_the_color");
    let rt = runtime(3);
    let ex = Arc::new(Exclusion::default());
    let (a, b) = (Color::new(241), Color::new(242));
    let cell = Arc::new(ColorCell::new(b, 0u64));
    let expected = Arc::new(AtomicU64::new(0));
    let dropped_in = Arc::new(Mutex::new(Vec::new()));

    // Victim 1: pending forever inside the section.
    let (entered_tx, entered_rx) = mpsc::channel::<u8>();
    let (ex1, cell1, exp1, d1, tx1) = (
        ex.clone(),
        cell.clone(),
        expected.clone(),
        dropped_in.clone(),
        entered_tx.clone(),
    );
    let v1 = rt.handle().spawn_colored(
        a,
        excl(&ex, async move {
            in_color(b, async move {
                let _probe = DropProbe { ex: ex1, seen: d1 };
                cell1.with(|v| *v += 1);
                exp1.fetch_add(1, Ordering::SeqCst);
                tx1.send(1).unwrap();
                futures::future::pending::<()>().await
            })
            .await
        }),
    );
    // Victim 2: always runnable inside the section (yields in a loop, touching the cell).
    let (ex2, cell2, exp2, d2, tx2) = (
        ex.clone(),
        cell.clone(),
        expected.clone(),
        dropped_in.clone(),
        entered_tx,
    );
    let v2 = rt.handle().spawn_colored(
        a,
        excl(&ex, async move {
            in_color(b, async move {
                let _probe = DropProbe { ex: ex2, seen: d2 };
                tx2.send(2).unwrap();
                loop {
                    cell2.with(|v| *v += 1);
                    exp2.fetch_add(1, Ordering::SeqCst);
                    hue::yield_now().await;
                }
            })
            .await
        }),
    );
    // Neighbours in b and in a, running while the victims are inside and aborted.
    let stop = Arc::new(AtomicBool::new(false));
    let mut neighbours: Vec<JoinHandle<u64>> = Vec::new();
    for i in 0..4 {
        let color = if i % 2 == 0 { b } else { a };
        let (stop, cell, exp) = (stop.clone(), cell.clone(), expected.clone());
        neighbours.push(rt.handle().spawn_colored(
            color,
            excl(&ex, async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    if current_color() == b {
                        cell.with(|v| *v += 1);
                        exp.fetch_add(1, Ordering::SeqCst);
                    }
                    hue::yield_now().await;
                    n += 1;
                }
                n
            }),
        ));
    }
    let mut entered = vec![
        entered_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("victim did not enter its section"),
        entered_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("victim did not enter its section"),
    ];
    entered.sort_unstable();
    assert_eq!(entered, vec![1, 2]);
    v1.abort();
    v2.abort();
    for v in [v1, v2] {
        let err = rt
            .block_on(v)
            .expect_err("a task aborted inside in_color returned Ok");
        assert!(err.is_cancelled(), "{err:?}");
    }
    wait_until("both victims' futures are dropped", || {
        dropped_in.lock().unwrap().len() == 2
    });
    assert_eq!(
        *dropped_in.lock().unwrap(),
        vec![b, b],
        "a task aborted inside in_color(b) must be dropped in b"
    );
    // b is free: a new task of b runs, and touches the cell.
    let (cell3, exp3) = (cell.clone(), expected.clone());
    let h = rt.handle().spawn_colored(
        b,
        excl(&ex, async move {
            cell3.with(|v| *v += 100);
            exp3.fetch_add(100, Ordering::SeqCst);
            current_color()
        }),
    );
    assert_eq!(rt.block_on(h).unwrap(), b);
    // A task of a runs too (the victims' home color holds nothing).
    let h = rt
        .handle()
        .spawn_colored(a, excl(&ex, async { current_color() }));
    assert_eq!(rt.block_on(h).unwrap(), a);
    stop.store(true, Ordering::Relaxed);
    for h in neighbours {
        rt.block_on(h).expect("a neighbour task failed");
    }
    let h = rt
        .handle()
        .spawn_colored(b, async move { cell.with(|v| *v) });
    assert_eq!(rt.block_on(h).unwrap(), expected.load(Ordering::SeqCst));
    ex.check();
    assert!(ex.polls.load(Ordering::Relaxed) > 0);
}

// ---------------------------------------------------------------------------------------------
// ColorCell

static STATIC_CELL: ColorCell<u64> = ColorCell::new(Color::new(301), 0);

#[test]
fn color_cell_is_send_and_sync_for_send_values() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_error<E: std::error::Error + Send + Sync + Clone + std::fmt::Debug + 'static>() {}
    assert_send_sync::<ColorCell<u64>>();
    assert_send_sync::<ColorCell<Vec<String>>>();
    // Like a Mutex: T: Send is enough, T need not be Sync (only one color touches it).
    assert_send_sync::<ColorCell<Cell<u32>>>();
    assert_send_sync::<ColorCell<std::cell::RefCell<Vec<u8>>>>();
    assert_send_sync::<Arc<ColorCell<Cell<u32>>>>();
    assert_error::<WrongColor>();
}

#[test]
fn color_cell_with_in_its_color() {
    let _w = watchdog("color_cell_with_in_its_color");
    let rt = runtime(3);
    let c = Color::new(311);
    let cell = Arc::new(ColorCell::new(c, Vec::<u32>::new()));
    assert_eq!(cell.color(), c);
    let hs: Vec<JoinHandle<()>> = (0..50u32)
        .map(|i| {
            let cell = cell.clone();
            rt.handle().spawn_colored(c, async move {
                cell.with(|v| v.push(i));
                hue::yield_now().await;
                let r = cell.try_with(|v| {
                    v.push(1000 + i);
                    v.len()
                });
                assert!(
                    r.is_ok(),
                    "try_with in the cell's color failed: {:?}",
                    r.err()
                );
            })
        })
        .collect();
    for h in hs {
        rt.block_on(h).unwrap();
    }
    // A const-constructed static cell, used from its color.
    let hs: Vec<JoinHandle<u64>> = (0..20u64)
        .map(|i| {
            rt.handle().spawn_colored(STATIC_CELL.color(), async move {
                STATIC_CELL.with(|v| {
                    *v += i;
                    *v
                })
            })
        })
        .collect();
    for h in hs {
        rt.block_on(h).unwrap();
    }
    let total = rt.block_on(in_color(Color::new(301), async {
        STATIC_CELL.with(|v| *v)
    }));
    assert_eq!(total, (0..20).sum::<u64>());
    drop(rt);
    let mut cell = Arc::try_unwrap(cell).unwrap_or_else(|_| panic!("cell still shared"));
    assert_eq!(cell.get_mut().len(), 100);
    cell.get_mut().push(7);
    let mut v = cell.into_inner();
    v.sort_unstable();
    assert_eq!(&v[..3], &[0, 1, 2]);
    assert_eq!(v.len(), 101);
}

#[test]
fn color_cell_from_the_wrong_color_panics_naming_both_colors() {
    let _w = watchdog("color_cell_from_the_wrong_color_panics_naming_both_colors");
    let rt = runtime(2);
    let (mine, other) = (Color::new(7001), Color::new(7002));
    let cell = Arc::new(ColorCell::new(mine, 5u32));
    let ran = Arc::new(AtomicBool::new(false));
    let (c2, r2) = (cell.clone(), ran.clone());
    let h = rt.handle().spawn_colored(other, async move {
        c2.with(|v| {
            r2.store(true, Ordering::SeqCst);
            *v += 1;
        })
    });
    let err = rt
        .block_on(h)
        .expect_err("ColorCell::with from the wrong color returned");
    assert!(err.is_panic(), "{err:?}");
    let msg = panic_message(&*err.into_panic());
    for c in [mine, other] {
        assert!(
            msg.contains(&format!("{c}")),
            "the panic message of with() from the wrong color does not name {c}: {msg:?}"
        );
    }
    assert!(
        !ran.load(Ordering::SeqCst),
        "the closure ran in the wrong color"
    );

    // try_with reports the same as an error.
    let c3 = cell.clone();
    let h = rt.handle().spawn_colored(other, async move {
        let ran = Cell::new(false);
        let r = c3.try_with(|_| ran.set(true));
        (r, ran.get())
    });
    let (r, ran) = rt.block_on(h).unwrap();
    assert!(!ran);
    let e = r.expect_err("try_with from the wrong color returned Ok");
    assert_eq!(e.cell_color(), mine);
    assert_eq!(e.current_color(), Some(other));
    assert!(!e.is_reentrant());
    let text = e.to_string();
    assert!(
        text.contains(&format!("{mine}")) && text.contains(&format!("{other}")),
        "WrongColor's Display does not name both colors: {text:?}"
    );
    assert!(!format!("{e:?}").is_empty());
    let e2 = e.clone();
    assert_eq!(e2.cell_color(), mine);

    // In a section of another color, the cell of the task's own color is out of reach.
    let c4 = cell.clone();
    let h = rt.handle().spawn_colored(mine, async move {
        let inside = in_color(other, async {
            c4.try_with(|v| *v).map_err(|e| e.current_color())
        })
        .await;
        let after = c4.try_with(|v| *v).ok();
        (inside, after)
    });
    assert_eq!(rt.block_on(h).unwrap(), (Err(Some(other)), Some(5)));
}

#[test]
fn color_cell_outside_any_task() {
    let _w = watchdog("color_cell_outside_any_task");
    let c = Color::new(321);
    let cell = ColorCell::new(c, 1u8);
    // A plain thread (no runtime at all).
    let e = cell
        .try_with(|v| *v)
        .expect_err("try_with outside any task returned Ok");
    assert_eq!(e.current_color(), None);
    assert_eq!(e.cell_color(), c);
    assert!(!e.is_reentrant());
    let r = catch_unwind(AssertUnwindSafe(|| cell.with(|v| *v)));
    let msg = panic_message(&*r.expect_err("with() outside any task did not panic"));
    let lower = msg.to_lowercase();
    assert!(
        msg.contains(&format!("{c}")) && (lower.contains("task") || lower.contains("runtime")),
        "with() outside any task: the message should name the cell's color and say there is no \
         task: {msg:?}"
    );

    // A thread of a program with a runtime, but not a task of it; also a color-0 cell.
    let rt = runtime(2);
    let zero = ColorCell::new(Color::DEFAULT, 0u8);
    let e = zero
        .try_with(|_| ())
        .expect_err("color-0 cell usable outside any task");
    assert_eq!(e.current_color(), None);
    // A spawn_blocking thread has no current color either.
    let h = rt.handle().spawn_blocking(move || {
        let r = zero.try_with(|_| ()).map_err(|e| e.current_color());
        (r, current_color())
    });
    assert_eq!(rt.block_on(h).unwrap(), (Err(None), Color::DEFAULT));
}

#[test]
fn color_cell_refuses_reentrant_use() {
    let _w = watchdog("color_cell_refuses_reentrant_use");
    let rt = runtime(2);
    let c = Color::new(331);
    let cell = Arc::new(ColorCell::new(c, 10u32));
    let other = Arc::new(ColorCell::new(c, 20u32));
    let (cell2, other2) = (cell.clone(), other.clone());
    let h = rt.handle().spawn_colored(c, async move {
        let inner_err = cell2.with(|v| {
            *v += 1;
            // The same cell again: refused.
            let e = cell2
                .try_with(|w| *w += 100)
                .expect_err("re-entrant try_with returned Ok");
            // Another cell of the same color: fine.
            let o = other2.with(|w| {
                *w += 1;
                *w
            });
            // with() re-entrantly panics.
            let p = catch_unwind(AssertUnwindSafe(|| cell2.with(|w| *w += 1000)));
            (e, o, p.is_err())
        });
        // The borrow ended: the cell works again.
        let after = cell2.with(|v| *v);
        // A panic inside with() releases the borrow too.
        let p = catch_unwind(AssertUnwindSafe(|| {
            cell2.with(|_| panic!("panic while borrowed"))
        }));
        let after_panic = cell2.try_with(|v| *v).map_err(|e| e.is_reentrant());
        (inner_err, after, p.is_err(), after_panic)
    });
    let ((e, o, nested_panicked), after, panicked, after_panic) = rt.block_on(h).unwrap();
    assert!(e.is_reentrant(), "re-entrant try_with error: {e:?}");
    assert_eq!(e.cell_color(), c);
    assert_eq!(e.current_color(), Some(c));
    assert_eq!(o, 21);
    assert!(nested_panicked, "re-entrant with() did not panic");
    assert_eq!(after, 11, "a refused re-entrant closure changed the value");
    assert!(panicked);
    assert_eq!(
        after_panic,
        Ok(11),
        "a panic inside with() left the cell borrowed"
    );
}

#[test]
fn color_cell_refuses_reentrance_below_other_borrows() {
    let _w = watchdog("color_cell_refuses_reentrance_below_other_borrows");
    let rt = runtime(1);
    let c = Color::new(332);
    let cells: Arc<Vec<ColorCell<u32>>> = Arc::new((0..3).map(|_| ColorCell::new(c, 0)).collect());
    let cells2 = cells.clone();
    let h = rt.handle().spawn_colored(c, async move {
        let (a, b, third) = (&cells2[0], &cells2[1], &cells2[2]);
        // a, then b, then a again two levels down: refused; the third cell is fine.
        a.with(|_| {
            b.with(|_| {
                let again = a.try_with(|_| ()).map_err(|e| e.is_reentrant());
                let other = third.try_with(|v| *v += 1).is_ok();
                (again, other)
            })
        })
    });
    assert_eq!(rt.block_on(h).unwrap(), (Err(true), true));
    // Every borrow ended: all three work again, from another task.
    let cells3 = cells.clone();
    let total = rt
        .block_on(rt.handle().spawn_colored(c, async move {
            cells3.iter().map(|cell| cell.with(|v| *v)).sum::<u32>()
        }))
        .unwrap();
    assert_eq!(total, 1);
}

#[test]
fn color_cell_belongs_to_one_running_runtime_at_a_time() {
    let _w = watchdog("color_cell_belongs_to_one_running_runtime_at_a_time");
    let c = Color::new(333);
    let cell = Arc::new(ColorCell::new(c, 0u64));
    let bump = |rt: &hue::Runtime| {
        let cell = cell.clone();
        rt.block_on(rt.handle().spawn_colored(c, async move {
            cell.try_with(|v| {
                *v += 1;
                *v
            })
        }))
        .unwrap()
    };
    let first = runtime(2);
    let second = runtime(2);
    assert_eq!(bump(&first), Ok(1));
    // The same color number in another runtime, while the first one runs: refused (the two
    // could poll that color at the same time).
    let err = bump(&second).expect_err("a second running runtime used the cell");
    assert!(err.is_other_runtime(), "{err:?}");
    assert!(!err.is_reentrant());
    assert_eq!((err.cell_color(), err.current_color()), (c, Some(c)));
    let text = err.to_string();
    assert!(text.contains("another runtime"), "{text:?}");
    assert_eq!(bump(&first), Ok(2), "the owner lost the cell");
    // Once the first runtime has shut down, the second one takes the cell over, with its value.
    drop(first);
    assert_eq!(bump(&second), Ok(3));
    drop(second);
    // Runtimes used one after another (as `hue::block_on` makes them) share it in turn.
    for expected in 4..7 {
        let cell = cell.clone();
        let v = hue::block_on(async move {
            in_color(c, async {
                cell.with(|v| {
                    *v += 1;
                    *v
                })
            })
            .await
        });
        assert_eq!(v, expected);
    }
}

#[test]
fn tasks_moving_between_colors_do_not_starve_the_others() {
    // A color made runnable by a task moving into it runs next on its worker, but only a few
    // turns in a row: a task that does nothing but move (here, between two colors, forever)
    // must leave the worker to the others. Without that bound this test hangs.
    let _w = watchdog("tasks_moving_between_colors_do_not_starve_the_others");
    let rt = runtime(1);
    let stop = Arc::new(AtomicBool::new(false));
    let mover = {
        let stop = stop.clone();
        rt.handle().spawn_colored(Color::fresh(), async move {
            let (x, y) = (Color::fresh(), Color::fresh());
            let mut moves = 0u64;
            while !stop.load(Ordering::Relaxed) {
                recolor(x).await;
                recolor(y).await;
                moves += 2;
            }
            moves
        })
    };
    let progress = Arc::new(AtomicU64::new(0));
    let others: Vec<_> = (0..4)
        .map(|_| {
            let progress = progress.clone();
            rt.handle().spawn_colored(Color::fresh(), async move {
                for _ in 0..100 {
                    progress.fetch_add(1, Ordering::Relaxed);
                    hue::yield_now().await;
                }
            })
        })
        .collect();
    for task in others {
        rt.block_on(task).unwrap();
    }
    assert_eq!(progress.load(Ordering::Relaxed), 400);
    stop.store(true, Ordering::Relaxed);
    assert!(rt.block_on(mover).unwrap() > 0, "the mover never ran");
}
