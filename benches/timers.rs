//! Timer benchmarks (issue 4): hue's sharded timer wheel against tokio's timers.
//!
//! Both systems get exactly two worker threads; each runtime is built once for the whole
//! binary, outside every measured closure (the idle one parks while the other is measured).
//! Criterion group = workload, function = system (`hue` or `tokio`), so each result lands in
//! `target/criterion/<group>/<system>/new/estimates.json`; `python3 benches/timers_ratios.py`
//! prints the table and the ratios.
//!
//! | group         | what one iteration does |
//! |---------------|-------------------------|
//! | `timers`      | A launcher task spawns 100,000 tasks; task `i` sleeps until `start + i * 50 ms / 100,000` (deadlines spread evenly over 0-50 ms from the iteration's start, taken before the launcher is spawned) and then counts down; the last one sends on a channel the bench thread waits on. The time measured is from `start` to that message: 50 ms of waiting plus the overhead of spawning, registering, firing and waking 100,000 timers (the ratio script subtracts the 50 ms). hue's tasks each take `Color::fresh()`, as in the scheduler benchmarks: independent tasks, free to run in parallel, which is what a hue user writes for independent work (tokio: `tokio::spawn`). |
//! | `timer_churn` | Two tasks (one per worker) each create and drop 500,000 `timeout(10 s, YieldOnce)`: the inner future is pending at the first poll (so the timer is registered, in the wheel of the task's worker) and ready at the second (so the timeout completes and its timer is cancelled on drop). 1,000,000 timers registered and cancelled, none fired. hue: `hue::time::timeout`, tasks in fresh colors; tokio: `tokio::time::timeout`. |
//! | `churn_baseline` | The same two loops without the timeouts (500,000 `YieldOnce` per task): what `timer_churn` costs besides the timers, so `timer_churn - churn_baseline` is the price of 1,000,000 timers. |
//!
//! `YieldOnce` is the same tiny future for both systems: the first poll wakes its own task and
//! returns `Pending`, the second returns `Ready`. It stands in for `yield_now()` because
//! tokio's `yield_now` does not wake at once: it defers the wake until the worker next polls
//! its driver, so each yield costs tokio an `epoll_wait` and the benchmark would measure that
//! rather than timers (with `yield_now`, tokio took about 5x hue's time here, nearly all of it
//! in the driver).
//!
//! Each iteration is timed by hand (`iter_custom`, from just before the first spawn to the
//! completion message), so nothing criterion does between iterations is counted.
//! Flat sampling, 10 samples, 1 s warm-up, 5 s measurement per function (8 s for
//! `timer_churn`): the whole binary runs in about a minute. A 60 s timeout on every wait
//! turns a hang into a panic.
//!
//! Reading the numbers: `python3 benches/timers_ratios.py` after `cargo bench --bench
//! timers`. For `timers` it prints each system's overhead (mean time - 50 ms) and
//! `tokio overhead / hue overhead` (the figure that matters: above 1, hue's timers cost
//! less), plus the plain `tokio / hue`. For `timer_churn`, `tokio / hue`, and the same ratio
//! of the timers' own cost (`timer_churn - churn_baseline`). Goal: >= 1.0.

mod common;
use common::{hue_rt, tokio_rt, NUM_WORKERS};

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::AcqRel;
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use hue::Color;

/// `timers`: sleeping tasks per iteration.
const NUM_SLEEPS: u64 = 100_000;
/// `timers`: the deadlines are spread evenly over this span from the iteration's start.
const SPREAD: Duration = Duration::from_millis(50);
/// `timer_churn`: tasks, one per worker.
const CHURN_TASKS: usize = NUM_WORKERS;
/// `timer_churn`: timeouts created and dropped by each task.
const CHURN_PER_TASK: usize = 500_000;
/// `timer_churn`: the timeouts' duration (never reached).
const CHURN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a wait may take before the bench declares a hang.
const HANG_TIMEOUT: Duration = Duration::from_secs(60);

/// Counts tasks down; the last one sends on the channel.
#[derive(Clone)]
struct Countdown {
    left: Arc<AtomicUsize>,
    tx: mpsc::Sender<()>,
}

impl Countdown {
    fn new(n: usize) -> (Countdown, mpsc::Receiver<()>) {
        let (tx, rx) = mpsc::channel();
        let left = Arc::new(AtomicUsize::new(n));
        (Countdown { left, tx }, rx)
    }

    fn done(&self) {
        if self.left.fetch_sub(1, AcqRel) == 1 {
            let _ = self.tx.send(());
        }
    }
}

fn wait(rx: &mpsc::Receiver<()>, what: &str) {
    if rx.recv_timeout(HANG_TIMEOUT).is_err() {
        panic!("{what}: not finished after {HANG_TIMEOUT:?}: hang?");
    }
}

/// The deadline of sleeping task `i` of an iteration that started at `start`.
fn deadline(start: Instant, i: u64) -> Instant {
    start + SPREAD * (i as u32) / (NUM_SLEEPS as u32)
}

/// Sums `iters` timed runs of `run` (each returns its own elapsed time).
fn timed(iters: u64, mut run: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| run()).sum()
}

// ---------------------------------------------------------------------------------------------
// timers

fn hue_timers_iter(rt: &hue::Runtime) -> Duration {
    let (countdown, rx) = Countdown::new(NUM_SLEEPS as usize);
    let start = Instant::now();
    rt.handle().spawn_colored(Color::fresh(), async move {
        for i in 0..NUM_SLEEPS {
            let countdown = countdown.clone();
            hue::spawn_colored(Color::fresh(), async move {
                hue::time::sleep_until(deadline(start, i)).await;
                countdown.done();
            });
        }
    });
    wait(&rx, "timers/hue");
    start.elapsed()
}

fn tokio_timers_iter(rt: &tokio::runtime::Runtime) -> Duration {
    let (countdown, rx) = Countdown::new(NUM_SLEEPS as usize);
    let start = Instant::now();
    rt.spawn(async move {
        for i in 0..NUM_SLEEPS {
            let countdown = countdown.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(deadline(start, i).into()).await;
                countdown.done();
            });
        }
    });
    wait(&rx, "timers/tokio");
    start.elapsed()
}

fn timers(c: &mut Criterion, hue: &hue::Runtime, tokio: &tokio::runtime::Runtime) {
    let mut g = c.benchmark_group("timers");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("hue", |b| {
        b.iter_custom(|iters| timed(iters, || hue_timers_iter(hue)))
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| timed(iters, || tokio_timers_iter(tokio)))
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// timer_churn

/// Pending once (after waking its own task), then ready: the same for both systems (see the
/// module docs for why not `yield_now`).
#[derive(Default)]
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// One `timer_churn` loop: `n` timeouts around a `YieldOnce`, with `timeout` the system's.
async fn churn<F, T>(n: usize, timeout: impl Fn(Duration, YieldOnce) -> F)
where
    F: Future<Output = Result<(), T>>,
{
    for _ in 0..n {
        let r = timeout(CHURN_TIMEOUT, YieldOnce::default()).await;
        assert!(r.is_ok());
    }
}

/// One `churn_baseline` loop.
async fn baseline(n: usize) {
    for _ in 0..n {
        YieldOnce::default().await;
    }
}

/// Runs `CHURN_TASKS` tasks made by `task` on hue (fresh colors) and times them.
fn hue_churn_iter<Fut>(rt: &hue::Runtime, what: &str, task: impl Fn() -> Fut) -> Duration
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let (countdown, rx) = Countdown::new(CHURN_TASKS);
    let start = Instant::now();
    for _ in 0..CHURN_TASKS {
        let (countdown, fut) = (countdown.clone(), task());
        rt.handle().spawn_colored(Color::fresh(), async move {
            fut.await;
            countdown.done();
        });
    }
    wait(&rx, what);
    start.elapsed()
}

/// Runs `CHURN_TASKS` tasks made by `task` on tokio and times them.
fn tokio_churn_iter<Fut>(
    rt: &tokio::runtime::Runtime,
    what: &str,
    task: impl Fn() -> Fut,
) -> Duration
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let (countdown, rx) = Countdown::new(CHURN_TASKS);
    let start = Instant::now();
    for _ in 0..CHURN_TASKS {
        let (countdown, fut) = (countdown.clone(), task());
        rt.spawn(async move {
            fut.await;
            countdown.done();
        });
    }
    wait(&rx, what);
    start.elapsed()
}

fn timer_churn(c: &mut Criterion, hue: &hue::Runtime, tokio: &tokio::runtime::Runtime) {
    let mut g = c.benchmark_group("timer_churn");
    g.sampling_mode(SamplingMode::Flat);
    // tokio's iterations take up to about 0.5 s here: room for 10 samples.
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("hue", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                hue_churn_iter(hue, "timer_churn/hue", || {
                    churn(CHURN_PER_TASK, hue::time::timeout)
                })
            })
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                tokio_churn_iter(tokio, "timer_churn/tokio", || {
                    churn(CHURN_PER_TASK, tokio::time::timeout)
                })
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("churn_baseline");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("hue", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                hue_churn_iter(hue, "churn_baseline/hue", || baseline(CHURN_PER_TASK))
            })
        })
    });
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                tokio_churn_iter(tokio, "churn_baseline/tokio", || baseline(CHURN_PER_TASK))
            })
        })
    });
    g.finish();
}

fn main() {
    // Long iterations: few samples, flat sampling. Command-line flags (`--warm-up-time`,
    // `--measurement-time`, `--sample-size`, a name filter) override these defaults.
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();

    let hue = hue_rt(NUM_WORKERS, true, "hue-bench-timers");
    let tokio = tokio_rt();

    timers(&mut c, &hue, &tokio);
    timer_churn(&mut c, &hue, &tokio);

    c.final_summary();
}
