//! Stress test of lone colors (a color whose only member is a task has no queue) and of their
//! becoming shared, under load: S1 and S4 must hold through every transition.
//!
//! Every poll of every task, and of every `in_color` section, marks its color in flight for
//! the length of the poll (`swap(true)` must find `false`: two polls of one color at once
//! fail the test), and counts the poll in that color's `ColorCell`, which also checks at run
//! time that the poll runs in the cell's color. Meanwhile:
//!
//! - owners: tasks alone in fresh or named colors, woken by themselves, by foreign threads
//!   (sometimes while they are being polled) and by each other; some spawn children into
//!   their own color (the color becomes shared from inside its poll), some move out of their
//!   color and back (`in_color` into a busy color, `recolor`), some finish early;
//! - joiners, tasks and foreign threads, join the owners' colors while the owners are
//!   running, notified, idle or finishing: spawns into the color, `in_color` sections,
//!   `recolor` there and back;
//! - aborts hit owners and joiners at random moments.
//!
//! At the end every task must have finished (no lost wake-up), every future must have been
//! dropped exactly once, and no color may have been polled twice at once.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use hue::{current_color, in_color, recolor, Color, ColorCell, JoinHandle, Runtime};

mod common;
use common::watchdog_for;

const WORKERS: usize = 2;

fn rounds() -> usize {
    if cfg!(debug_assertions) {
        6
    } else {
        30
    }
}

const OWNERS: usize = 96;
const JOINERS: usize = 64;
const FOREIGN: usize = 2;

/// splitmix64, a deterministic source of choices.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What the test knows about one color.
struct Slot {
    in_flight: AtomicBool,
    polls: ColorCell<u64>,
}

#[derive(Default)]
struct Shared {
    slots: Mutex<HashMap<u64, Arc<Slot>>>,
    overlaps: AtomicUsize,
    live_futures: AtomicUsize,
    dropped_twice: AtomicUsize,
    /// Wakers of owners, for foreign threads to wake.
    wakers: Mutex<Vec<Option<Waker>>>,
    /// The owners' colors, for joiners to find.
    colors: Mutex<Vec<Color>>,
    stop: AtomicBool,
}

impl Shared {
    fn slot(&self, color: Color) -> Arc<Slot> {
        self.slots
            .lock()
            .unwrap()
            .entry(color.get())
            .or_insert_with(|| {
                Arc::new(Slot {
                    in_flight: AtomicBool::new(false),
                    polls: ColorCell::new(color, 0),
                })
            })
            .clone()
    }
}

/// Marks the color it is polled in as in flight for the length of each poll.
struct Excl<F> {
    shared: Arc<Shared>,
    inner: Pin<Box<F>>,
    dropped: Arc<AtomicBool>,
}

fn excl<F: Future>(shared: &Arc<Shared>, inner: F) -> Excl<F> {
    shared.live_futures.fetch_add(1, SeqCst);
    Excl {
        shared: shared.clone(),
        inner: Box::pin(inner),
        dropped: Arc::new(AtomicBool::new(false)),
    }
}

thread_local! {
    /// Colors this thread has marked in flight, innermost last: a section polled in the color
    /// its task is in already (the task moved there) is part of the same poll.
    static MARKED: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl<F: Future> Future for Excl<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let color = current_color();
        let nested = MARKED.with(|m| m.borrow().contains(&color.get()));
        if nested {
            return self.inner.as_mut().poll(cx);
        }
        let slot = self.shared.slot(color);
        if slot.in_flight.swap(true, SeqCst) {
            self.shared.overlaps.fetch_add(1, SeqCst);
        }
        MARKED.with(|m| m.borrow_mut().push(color.get()));
        slot.polls.with(|n| *n += 1);
        let out = self.inner.as_mut().poll(cx);
        MARKED.with(|m| m.borrow_mut().pop());
        slot.in_flight.store(false, SeqCst);
        out
    }
}

impl<F> Drop for Excl<F> {
    fn drop(&mut self) {
        if self.dropped.swap(true, SeqCst) {
            self.shared.dropped_twice.fetch_add(1, SeqCst);
        }
        self.shared.live_futures.fetch_sub(1, SeqCst);
    }
}

/// Pending once, having published its waker for foreign threads (or woken itself).
struct Nap {
    shared: Arc<Shared>,
    index: usize,
    napped: bool,
}

impl Future for Nap {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.napped {
            return Poll::Ready(());
        }
        self.napped = true;
        if self.index % 3 == 0 {
            cx.waker().wake_by_ref();
        } else {
            self.shared.wakers.lock().unwrap()[self.index] = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

fn nap(shared: &Arc<Shared>, index: usize) -> Nap {
    Nap {
        shared: shared.clone(),
        index,
        napped: false,
    }
}

/// A busy color that owners' sections go through, so some of them take the slow path.
fn hub() -> Color {
    Color::of(&"lone-colors-hub")
}

async fn owner(shared: Arc<Shared>, index: usize, round: u64) {
    let seed = mix(round << 32 | index as u64);
    let steps = 4 + seed % 8;
    for step in 0..steps {
        let choice = mix(seed ^ step) % 8;
        match choice {
            0 | 1 => nap(&shared, index).await,
            2 => hue::yield_now().await,
            3 => {
                // A child in the owner's own color: the color becomes shared from inside.
                let child = hue::spawn(excl(&shared, async {
                    hue::yield_now().await;
                }));
                let _ = child.await;
            }
            4 => {
                // Out to a busy color and back.
                in_color(
                    hub(),
                    excl(&shared, async {
                        hue::yield_now().await;
                    }),
                )
                .await;
            }
            5 => {
                let home = current_color();
                let away = Color::fresh();
                recolor(away).await;
                hue::yield_now().await;
                recolor(home).await;
            }
            6 => thread::yield_now(),
            _ => {
                if seed % 17 == 0 {
                    return;
                }
                hue::yield_now().await;
            }
        }
    }
}

async fn joiner(shared: Arc<Shared>, index: usize, round: u64) {
    let seed = mix(round << 40 | (index as u64) << 8 | 1);
    for step in 0..6u64 {
        let target = {
            let colors = shared.colors.lock().unwrap();
            if colors.is_empty() {
                return;
            }
            colors[(mix(seed ^ step) % colors.len() as u64) as usize]
        };
        match mix(seed ^ step ^ 0xff) % 4 {
            0 => {
                let t = hue::spawn_colored(
                    target,
                    excl(&shared, async {
                        hue::yield_now().await;
                    }),
                );
                if step % 2 == 0 {
                    let _ = t.await;
                }
            }
            1 => {
                in_color(
                    target,
                    excl(&shared, async {
                        hue::yield_now().await;
                    }),
                )
                .await;
            }
            2 => {
                let home = current_color();
                recolor(target).await;
                hue::yield_now().await;
                recolor(home).await;
            }
            _ => hue::yield_now().await,
        }
    }
}

fn one_round(rt: &Runtime, shared: &Arc<Shared>, round: u64) {
    *shared.wakers.lock().unwrap() = vec![None; OWNERS];
    shared.colors.lock().unwrap().clear();
    shared.stop.store(false, SeqCst);
    let handle = rt.handle().clone();
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    for index in 0..OWNERS {
        let color = if index % 4 == 0 {
            Color::of(&("lone-owner", round, index))
        } else {
            Color::fresh()
        };
        shared.colors.lock().unwrap().push(color);
        tasks.push(handle.spawn_colored(color, excl(shared, owner(shared.clone(), index, round))));
    }
    let foreign: Vec<_> = (0..FOREIGN)
        .map(|f| {
            let shared = shared.clone();
            let handle = handle.clone();
            thread::spawn(move || {
                let mut spawned = Vec::new();
                let mut i = f as u64;
                while !shared.stop.load(SeqCst) {
                    i = mix(i);
                    if let Some(w) =
                        shared.wakers.lock().unwrap()[(i % OWNERS as u64) as usize].take()
                    {
                        w.wake();
                    }
                    if i % 5 == 0 {
                        let colors = shared.colors.lock().unwrap();
                        let target = colors[(i % colors.len() as u64) as usize];
                        drop(colors);
                        spawned.push(handle.spawn_colored(
                            target,
                            excl(&shared, async {
                                hue::yield_now().await;
                            }),
                        ));
                    }
                    thread::yield_now();
                }
                spawned
            })
        })
        .collect();
    for index in 0..JOINERS {
        let color = Color::fresh();
        tasks.push(handle.spawn_colored(color, excl(shared, joiner(shared.clone(), index, round))));
    }
    for (i, task) in tasks.iter().enumerate() {
        if mix(round ^ i as u64) % 23 == 0 {
            task.abort();
        }
    }
    rt.block_on(async {
        for task in tasks {
            match task.await {
                Ok(()) => {}
                Err(err) => assert!(err.is_cancelled(), "a task panicked: {err}"),
            }
        }
    });
    shared.stop.store(true, SeqCst);
    for thread in foreign {
        let spawned = thread.join().unwrap();
        rt.block_on(async {
            for task in spawned {
                let _ = task.await;
            }
        });
    }
    // Wake whoever still naps (aborted owners leave wakers behind).
    for w in shared.wakers.lock().unwrap().iter_mut() {
        drop(w.take());
    }
}

#[test]
fn lone_colors_keep_exclusion_while_becoming_shared() {
    let _w = watchdog_for(
        "lone_colors_keep_exclusion_while_becoming_shared",
        Duration::from_secs(240),
    );
    let shared = Arc::new(Shared::default());
    let rt = Runtime::builder().workers(WORKERS).build().unwrap();
    for round in 0..rounds() as u64 {
        one_round(&rt, &shared, round);
        assert_eq!(
            shared.overlaps.load(SeqCst),
            0,
            "two polls of one color at once"
        );
    }
    drop(rt);
    assert_eq!(
        shared.dropped_twice.load(SeqCst),
        0,
        "a future dropped twice"
    );
    assert_eq!(
        shared.live_futures.load(SeqCst),
        0,
        "a future never dropped"
    );
}

#[test]
fn a_lone_color_found_by_name_becomes_shared_and_keeps_order() {
    // A task alone in a named color is running; others spawn into the color by name from
    // outside. They must not run before the owner's current poll ends, and they run in the
    // order they were spawned (S3).
    let _w = watchdog_for(
        "a_lone_color_found_by_name_becomes_shared_and_keeps_order",
        Duration::from_secs(60),
    );
    let rt = Runtime::builder().workers(2).build().unwrap();
    let color = Color::of(&"lone-by-name");
    let inside = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let order = Arc::new(Mutex::new(Vec::new()));
    let owner = {
        let (inside, release) = (inside.clone(), release.clone());
        rt.handle().spawn_colored(color, async move {
            inside.store(true, SeqCst);
            while !release.load(SeqCst) {
                std::hint::spin_loop();
            }
            inside.store(false, SeqCst);
        })
    };
    while !inside.load(SeqCst) {
        thread::yield_now();
    }
    let joiners: Vec<_> = (0..8)
        .map(|i| {
            let (inside, order) = (inside.clone(), order.clone());
            rt.handle().spawn_colored(color, async move {
                assert!(!inside.load(SeqCst), "a joiner ran during the owner's poll");
                order.lock().unwrap().push(i);
            })
        })
        .collect();
    release.store(true, SeqCst);
    rt.block_on(async {
        owner.await.unwrap();
        for j in joiners {
            j.await.unwrap();
        }
    });
    assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
}

#[test]
fn a_lone_task_counts_in_the_polls_of_its_color() {
    // The same polls, counted by the color's cell, whether the color is lone or shared.
    let _w = watchdog_for(
        "a_lone_task_counts_in_the_polls_of_its_color",
        Duration::from_secs(30),
    );
    let rt = Runtime::builder().workers(2).build().unwrap();
    let polls = Arc::new(AtomicU64::new(0));
    let color = Color::fresh();
    let cell = Arc::new(ColorCell::new(color, 0u64));
    let t = {
        let (cell, polls) = (cell.clone(), polls.clone());
        rt.handle().spawn_colored(color, async move {
            for _ in 0..10 {
                cell.with(|n| *n += 1);
                polls.fetch_add(1, SeqCst);
                hue::yield_now().await;
            }
            // Now a second member: the color gets a queue while this task runs.
            let c = cell.clone();
            hue::spawn(async move { c.with(|n| *n += 100) })
                .await
                .unwrap();
            cell.with(|n| *n)
        })
    };
    let n = rt.block_on(t).unwrap();
    assert_eq!(n, 110);
    assert_eq!(polls.load(SeqCst), 10);
}
