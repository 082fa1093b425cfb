//! Scheduler micro-benchmarks: hue against tokio's multi-thread runtime.
//!
//! The workloads mirror tokio's own `benches/rt_multi_threaded.rs`. Both systems get exactly
//! two worker threads, and each runtime is built once for the whole binary, outside every
//! measured closure. In hue every spawned task takes `Color::fresh()`, so no two tasks share a
//! color and hue may run them exactly as much in parallel as tokio does; the only exception is
//! `colored_fifo`, which exists to price serialization.
//!
//! Criterion group = workload, function = system (`hue` or `tokio`), so each result lands in
//! `target/criterion/<group>/<system>/new/estimates.json`.
//!
//! | group               | what one iteration does                                                   |
//! |---------------------|---------------------------------------------------------------------------|
//! | `spawn_many_local`  | inside `block_on`, spawn one task that spawns 10,000 tasks; each task bumps (down) an atomic counter and the last one sends on a `std::sync::mpsc::sync_channel`, which `block_on` waits on. The extra outer task (absent from tokio's bench) makes the 10,000 spawns come from a worker thread, i.e. really local, in both systems. |
//! | `spawn_many_remote` | from the bench thread (not a worker), spawn 10,000 empty tasks via the runtime handle, then `block_on` awaits every `JoinHandle` (tokio's `spawn_many_remote_idle`). |
//! | `yield_many`        | from the bench thread, spawn 200 tasks that each `yield_now()` 1,000 times, then wait for 200 completion messages. |
//! | `ping_pong`         | inside `block_on`, one task spawns 1,000 tasks; each spawns a partner and the two exchange a `tokio::sync::oneshot` ping and pong (oneshot is runtime-independent, so both systems use it). |
//! | `chained_spawn`     | a chain of 1,000 spawns: each task spawns the next, the last signals completion. |
//! | `colored_fifo`      | hue only: `yield_many` again but the 200 tasks share 8 colors (`Color::new(i % 8 + 1)`), so tasks of one color run one after the other. |
//!
//! Reading the numbers: run `python3 benches/ratios.py` after `cargo bench --bench scheduler`.
//! It prints `tokio/hue` = tokio's mean time divided by hue's mean time for each workload:
//! above 1 means hue is faster, below 1 means hue is slower (0.5 = hue takes twice as long).
//! Only ratios from one run on one machine are meaningful; absolute times are not. For
//! `colored_fifo` it prints `colored_fifo / yield_many` for hue: the same work with 8 colors
//! instead of 200. With 8 colors and 2 workers the parallelism available is the same, so the
//! ratio prices per-color bookkeeping: above 1 is what serializing by color costs, below 1
//! means scheduling 8 busy colors is cheaper than 200 one-task colors.

mod common;
use common::{hue_rt, tokio_rt, NUM_WORKERS};

use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use criterion::Criterion;
use hue::Color;
use tokio::sync::oneshot;

/// Tasks spawned by `spawn_many_local` and `spawn_many_remote`.
const NUM_SPAWN: usize = 10_000;
/// `yield_now()` calls per task in `yield_many` and `colored_fifo`.
const NUM_YIELD: usize = 1_000;
/// Tasks in `yield_many` and `colored_fifo`.
const YIELD_TASKS: usize = 200;
/// Rounds in `ping_pong`.
const NUM_PINGS: usize = 1_000;
/// Length of the spawn chain in `chained_spawn`.
const CHAIN: usize = 1_000;
/// Colors used by `colored_fifo`.
const FIFO_COLORS: u64 = 8;

/// Spawns `fut` on the current hue runtime in a color of its own.
fn hue_spawn<F>(fut: F) -> hue::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    hue::spawn_colored(Color::fresh(), fut)
}

fn spawn_many_local(c: &mut Criterion, hue: &hue::Runtime, tokio: &tokio::runtime::Runtime) {
    let mut g = c.benchmark_group("spawn_many_local");
    let (tx, rx) = mpsc::sync_channel::<()>(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    g.bench_function("hue", |b| {
        b.iter(|| {
            rem.store(NUM_SPAWN, Relaxed);
            let (tx, rem) = (tx.clone(), rem.clone());
            hue.block_on(async {
                hue_spawn(async move {
                    for _ in 0..NUM_SPAWN {
                        let tx = tx.clone();
                        let rem = rem.clone();
                        hue_spawn(async move {
                            if 1 == rem.fetch_sub(1, Relaxed) {
                                tx.send(()).unwrap();
                            }
                        });
                    }
                });
                rx.recv().unwrap();
            });
        })
    });

    g.bench_function("tokio", |b| {
        b.iter(|| {
            rem.store(NUM_SPAWN, Relaxed);
            let (tx, rem) = (tx.clone(), rem.clone());
            tokio.block_on(async {
                tokio::spawn(async move {
                    for _ in 0..NUM_SPAWN {
                        let tx = tx.clone();
                        let rem = rem.clone();
                        tokio::spawn(async move {
                            if 1 == rem.fetch_sub(1, Relaxed) {
                                tx.send(()).unwrap();
                            }
                        });
                    }
                });
                rx.recv().unwrap();
            });
        })
    });
    g.finish();
}

fn spawn_many_remote(c: &mut Criterion, hue: &hue::Runtime, tokio: &tokio::runtime::Runtime) {
    let mut g = c.benchmark_group("spawn_many_remote");

    let hue_handle = hue.handle();
    let mut hue_handles = Vec::with_capacity(NUM_SPAWN);
    g.bench_function("hue", |b| {
        b.iter(|| {
            for _ in 0..NUM_SPAWN {
                hue_handles.push(hue_handle.spawn_colored(Color::fresh(), async {}));
            }
            hue.block_on(async {
                for handle in hue_handles.drain(..) {
                    handle.await.unwrap();
                }
            });
        })
    });

    let tokio_handle = tokio.handle();
    let mut tokio_handles = Vec::with_capacity(NUM_SPAWN);
    g.bench_function("tokio", |b| {
        b.iter(|| {
            for _ in 0..NUM_SPAWN {
                tokio_handles.push(tokio_handle.spawn(async {}));
            }
            tokio.block_on(async {
                for handle in tokio_handles.drain(..) {
                    handle.await.unwrap();
                }
            });
        })
    });
    g.finish();
}

/// hue's `yield_many`: 200 tasks x 1,000 yields, spawned from the bench thread, the color of
/// task `i` given by `color(i)`.
fn hue_yield_many(hue: &hue::Runtime, color: impl Fn(usize) -> Color) {
    let (tx, rx) = mpsc::sync_channel::<()>(YIELD_TASKS);
    for i in 0..YIELD_TASKS {
        let tx = tx.clone();
        hue.handle().spawn_colored(color(i), async move {
            for _ in 0..NUM_YIELD {
                hue::yield_now().await;
            }
            tx.send(()).unwrap();
        });
    }
    for _ in 0..YIELD_TASKS {
        rx.recv().unwrap();
    }
}

fn yield_many(c: &mut Criterion, hue: &hue::Runtime, tokio: &tokio::runtime::Runtime) {
    let mut g = c.benchmark_group("yield_many");

    g.bench_function("hue", |b| {
        b.iter(|| hue_yield_many(hue, |_| Color::fresh()))
    });

    let (tx, rx) = mpsc::sync_channel::<()>(YIELD_TASKS);
    g.bench_function("tokio", |b| {
        b.iter(|| {
            for _ in 0..YIELD_TASKS {
                let tx = tx.clone();
                tokio.spawn(async move {
                    for _ in 0..NUM_YIELD {
                        tokio::task::yield_now().await;
                    }
                    tx.send(()).unwrap();
                });
            }
            for _ in 0..YIELD_TASKS {
                rx.recv().unwrap();
            }
        })
    });
    g.finish();
}

fn colored_fifo(c: &mut Criterion, hue: &hue::Runtime) {
    let mut g = c.benchmark_group("colored_fifo");
    g.bench_function("hue", |b| {
        b.iter(|| hue_yield_many(hue, |i| Color::new(i as u64 % FIFO_COLORS + 1)))
    });
    g.finish();
}

fn ping_pong(c: &mut Criterion, hue: &hue::Runtime, tokio: &tokio::runtime::Runtime) {
    let mut g = c.benchmark_group("ping_pong");
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1000);
    let rem = Arc::new(AtomicUsize::new(0));

    g.bench_function("hue", |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            let rem = rem.clone();
            rem.store(NUM_PINGS, Relaxed);

            hue.block_on(async {
                hue_spawn(async move {
                    for _ in 0..NUM_PINGS {
                        let rem = rem.clone();
                        let done_tx = done_tx.clone();

                        hue_spawn(async move {
                            let (tx1, rx1) = oneshot::channel::<()>();
                            let (tx2, rx2) = oneshot::channel::<()>();

                            hue_spawn(async move {
                                rx1.await.unwrap();
                                tx2.send(()).unwrap();
                            });

                            tx1.send(()).unwrap();
                            rx2.await.unwrap();

                            if 1 == rem.fetch_sub(1, Relaxed) {
                                done_tx.send(()).unwrap();
                            }
                        });
                    }
                });

                done_rx.recv().unwrap();
            });
        })
    });

    g.bench_function("tokio", |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            let rem = rem.clone();
            rem.store(NUM_PINGS, Relaxed);

            tokio.block_on(async {
                tokio::spawn(async move {
                    for _ in 0..NUM_PINGS {
                        let rem = rem.clone();
                        let done_tx = done_tx.clone();

                        tokio::spawn(async move {
                            let (tx1, rx1) = oneshot::channel::<()>();
                            let (tx2, rx2) = oneshot::channel::<()>();

                            tokio::spawn(async move {
                                rx1.await.unwrap();
                                tx2.send(()).unwrap();
                            });

                            tx1.send(()).unwrap();
                            rx2.await.unwrap();

                            if 1 == rem.fetch_sub(1, Relaxed) {
                                done_tx.send(()).unwrap();
                            }
                        });
                    }
                });

                done_rx.recv().unwrap();
            });
        })
    });
    g.finish();
}

fn chained_spawn(c: &mut Criterion, hue: &hue::Runtime, tokio: &tokio::runtime::Runtime) {
    fn hue_iter(done_tx: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            hue_spawn(async move {
                hue_iter(done_tx, n - 1);
            });
        }
    }

    fn tokio_iter(done_tx: mpsc::SyncSender<()>, n: usize) {
        if n == 0 {
            done_tx.send(()).unwrap();
        } else {
            tokio::spawn(async move {
                tokio_iter(done_tx, n - 1);
            });
        }
    }

    let mut g = c.benchmark_group("chained_spawn");
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1000);

    g.bench_function("hue", |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            hue.block_on(async {
                hue_spawn(async move {
                    hue_iter(done_tx, CHAIN);
                });
                done_rx.recv().unwrap();
            });
        })
    });

    g.bench_function("tokio", |b| {
        b.iter(|| {
            let done_tx = done_tx.clone();
            tokio.block_on(async {
                tokio::spawn(async move {
                    tokio_iter(done_tx, CHAIN);
                });
                done_rx.recv().unwrap();
            });
        })
    });
    g.finish();
}

fn main() {
    // Modest defaults so the whole binary finishes in a few minutes on 2 cores; command-line
    // flags (`--warm-up-time`, `--measurement-time`, `--sample-size`, a name filter) override.
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    // One runtime per system for the whole binary; idle workers of one park while the other
    // is measured.
    let hue = hue_rt(NUM_WORKERS, true, "hue-bench-worker");
    let tokio = tokio_rt();

    spawn_many_local(&mut c, &hue, &tokio);
    spawn_many_remote(&mut c, &hue, &tokio);
    yield_many(&mut c, &hue, &tokio);
    ping_pong(&mut c, &hue, &tokio);
    chained_spawn(&mut c, &hue, &tokio);
    colored_fifo(&mut c, &hue);

    c.final_summary();
}
