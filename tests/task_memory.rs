//! Memory cost of spawning a task: bytes and allocations made by the spawn call itself.
//!
//! A counting `#[global_allocator]` wraps `std::alloc::System`. It counts only while the
//! calling thread's `MEASURING` flag is set, so allocations made by other threads (other
//! workers, the test harness, the thread blocked in `block_on`) never pollute the figures,
//! and the flag is set only around the spawn call itself: the spawned task's execution, its
//! completion and the dropping of its `JoinHandle` are not counted.
//!
//! Method, identical for every system: a runtime with ONE worker (so no sibling worker can be
//! woken or steal, and the spawning task and the spawned task share that thread); a task
//! running on that worker spawns `async {}` and awaits it, `WARM_UP` times unmeasured (so
//! lazily created thread-locals, queue buffers and caches already exist), then `MEASURED`
//! times with only the spawn call counted. Awaiting each child before the next spawn keeps
//! the run queue at its steady-state length, so amortized queue growth is not charged to
//! spawn; a second, informational figure ("batch") spawns `MEASURED` tasks back to back to
//! show what a burst costs including queue growth.
//!
//! A second method measures **live** tasks, the cost of a server's parked connections: 200,000
//! tasks, each polled once and then parked forever, in a runtime with 2 workers; the figure is
//! the net heap growth over the spawns and first polls, on every thread, divided by the tasks
//! (the vector of `JoinHandle`s is allocated beforehand and not counted). Each case runs in a
//! process of its own (this test binary, run again with `HUE_LIVE_CASE` set), so no case
//! inherits another's warm tables. The spawn time is printed, not asserted.
//!
//! Run with `cargo test -p hue --test task_memory -- --nocapture` to see the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hue::Color;

/// Counts allocations made by threads whose `MEASURING` flag is set.
struct Counting;

/// Bytes requested (`layout.size()`, or the new size for `realloc`) while measuring.
static BYTES: AtomicU64 = AtomicU64::new(0);
/// Number of `alloc`/`alloc_zeroed`/`realloc` calls while measuring.
static ALLOCS: AtomicU64 = AtomicU64::new(0);
/// The counters are global, so only one measurement may run at a time (tests run in parallel).
static MEASURE_LOCK: Mutex<()> = Mutex::new(());
/// Live-task measurement: net bytes and allocations on every thread while `COUNT_ALL` is set.
static NET: AtomicI64 = AtomicI64::new(0);
static NET_ALLOCS: AtomicU64 = AtomicU64::new(0);
static COUNT_ALL: AtomicBool = AtomicBool::new(false);

thread_local! {
    // `const` initialisation and no destructor: reading it never allocates, so it is safe to
    // touch from inside the allocator.
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

fn note(bytes: usize) {
    if MEASURING.try_with(Cell::get).unwrap_or(false) {
        BYTES.fetch_add(bytes as u64, Relaxed);
        ALLOCS.fetch_add(1, Relaxed);
    }
}

/// `added` bytes more (or fewer) in use, `allocs` allocation calls, for the live measurement.
fn note_net(added: isize, allocs: u64) {
    if COUNT_ALL.load(Relaxed) {
        NET.fetch_add(added as i64, Relaxed);
        NET_ALLOCS.fetch_add(allocs, Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is upheld by `System`; the counting touches only atomics and a
// const-initialised thread-local, neither of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        note_net(layout.size() as isize, 1);
        // SAFETY: forwarded verbatim; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        note_net(layout.size() as isize, 1);
        // SAFETY: forwarded verbatim; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        note_net(new_size as isize - layout.size() as isize, 1);
        // SAFETY: forwarded verbatim; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_net(-(layout.size() as isize), 0);
        // SAFETY: forwarded verbatim; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM_UP: u64 = 1_000;
const MEASURED: u64 = 1_000;

/// What the measured spawn calls allocated, in total.
#[derive(Clone, Copy, Debug, Default)]
struct Cost {
    bytes: u64,
    allocs: u64,
    spawns: u64,
}

impl Cost {
    fn bytes_per_spawn(self) -> f64 {
        self.bytes as f64 / self.spawns as f64
    }
    fn allocs_per_spawn(self) -> f64 {
        self.allocs as f64 / self.spawns as f64
    }
    fn print(self, what: &str) {
        println!(
            "{what:<52} {:>7.1} bytes/task  {:>5.2} allocations/task  ({} bytes, {} allocations, {} spawns)",
            self.bytes_per_spawn(),
            self.allocs_per_spawn(),
            self.bytes,
            self.allocs,
            self.spawns,
        );
    }
}

/// Runs `f` with this thread's allocations counted and adds them to `cost`.
fn counted<R>(cost: &mut Cost, f: impl FnOnce() -> R) -> R {
    let (b0, a0) = (BYTES.load(Relaxed), ALLOCS.load(Relaxed));
    MEASURING.with(|m| m.set(true));
    let r = f();
    MEASURING.with(|m| m.set(false));
    cost.bytes += BYTES.load(Relaxed) - b0;
    cost.allocs += ALLOCS.load(Relaxed) - a0;
    cost.spawns += 1;
    r
}

/// Measures `spawn` (called on a worker, inside a task): `WARM_UP` unmeasured spawn+await
/// rounds, then `MEASURED` rounds with only the spawn call counted (steady state), then a
/// burst of `MEASURED` spawns back to back (batch) awaited afterwards.
///
/// `spawn` returns the child's handle as a future resolving once the child completed.
async fn measure<H, S>(mut spawn: S) -> (Cost, Cost)
where
    S: FnMut() -> H,
    H: Future,
{
    for _ in 0..WARM_UP {
        spawn().await;
    }
    let mut steady = Cost::default();
    for _ in 0..MEASURED {
        let h = counted(&mut steady, &mut spawn);
        h.await;
    }
    // A warm-up burst first so the run queue already had room for MEASURED tasks once.
    let burst: Vec<H> = (0..MEASURED).map(|_| spawn()).collect();
    for h in burst {
        h.await;
    }
    let mut batch = Cost::default();
    let mut burst = Vec::with_capacity(MEASURED as usize);
    for _ in 0..MEASURED {
        burst.push(counted(&mut batch, &mut spawn));
    }
    for h in burst {
        h.await;
    }
    (steady, batch)
}

fn hue_rt() -> hue::Runtime {
    hue::Runtime::builder().workers(1).build().unwrap()
}

/// Runs `measure` inside a hue task (of a fresh color) on a 1-worker hue runtime.
fn on_hue_worker<S, H>(spawn: S) -> (Cost, Cost)
where
    S: FnMut() -> H + Send + 'static,
    H: Future + Send + 'static,
{
    let rt = hue_rt();
    let guard = MEASURE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let costs = rt.block_on(async {
        rt.handle()
            .spawn_colored(Color::fresh(), async move {
                assert!(
                    hue::current_worker().is_some(),
                    "measurement must run on a worker"
                );
                measure(spawn).await
            })
            .await
            .unwrap()
    });
    drop(guard);
    costs
}

fn hue_spawn_inherited() -> (Cost, Cost) {
    on_hue_worker(|| {
        let h = hue::spawn(async {});
        async move { h.await.unwrap() }
    })
}

fn hue_spawn_fresh_color() -> (Cost, Cost) {
    on_hue_worker(|| {
        // `Color::fresh()` is counted too: it is part of what users write to get a new color.
        let h = hue::spawn_colored(Color::fresh(), async {});
        async move { h.await.unwrap() }
    })
}

fn tokio_spawn() -> (Cost, Cost) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let guard = MEASURE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let costs = rt.block_on(async {
        rt.spawn(measure(|| {
            let h = tokio::spawn(async {});
            async move { h.await.unwrap() }
        }))
        .await
        .unwrap()
    });
    drop(guard);
    costs
}

#[test]
fn hue_spawn_inherited_color_costs_one_small_allocation() {
    let (steady, batch) = hue_spawn_inherited();
    steady.print("hue  spawn(async {}) [inherited color]");
    batch.print("hue  spawn(async {}) [inherited color] batch");
    assert!(
        steady.bytes_per_spawn() <= 128.0,
        "hue spawn(async {{}}) requests {:.1} bytes per task, want <= 128",
        steady.bytes_per_spawn()
    );
    assert_eq!(
        steady.allocs,
        steady.spawns,
        "hue spawn(async {{}}) makes {:.2} allocations per task, want exactly 1",
        steady.allocs_per_spawn()
    );
}

#[test]
fn hue_spawn_colored_fresh_cost() {
    let (steady, batch) = hue_spawn_fresh_color();
    steady.print("hue  spawn_colored(Color::fresh(), async {})");
    batch.print("hue  spawn_colored(Color::fresh(), async {}) batch");
    // A task alone in a fresh color needs no color queue, only an entry in the color map
    // (the map's tables are warm here: completed colors are swept as new ones come). The
    // bound leaves a little room for a table that grows, and fails if every fresh color paid
    // for a queue or for an allocation of its own.
    assert!(
        steady.bytes_per_spawn() <= 128.0,
        "hue spawn_colored(Color::fresh(), async {{}}) requests {:.1} bytes per task, want <= 128",
        steady.bytes_per_spawn()
    );
    assert!(
        steady.allocs_per_spawn() <= 1.05,
        "hue spawn_colored(Color::fresh(), async {{}}) makes {:.3} allocations per task, want <= 1.05",
        steady.allocs_per_spawn()
    );
}

/// tokio's figure for `spawn(async {})`, and hue's checked against it, measured side by side
/// by the same method in one process: hue keeps its promise (one allocation of at most 128
/// bytes, the bounds of the hue tests above) and its task is no bigger than tokio's (the
/// comparison BENCHMARKS.md reports).
///
/// Catches a hue task that grew (a field added to the header or the join state, a second
/// allocation per spawn, a fresh color paying for its queue every time) past its bound or past
/// tokio's.
#[test]
fn tokio_spawn_cost() {
    let (tokio, tokio_batch) = tokio_spawn();
    let (inherited, _) = hue_spawn_inherited();
    let (fresh, _) = hue_spawn_fresh_color();
    tokio.print("tokio tokio::spawn(async {})");
    tokio_batch.print("tokio tokio::spawn(async {}) batch");
    inherited.print("hue  spawn(async {}) [inherited color]");
    fresh.print("hue  spawn_colored(Color::fresh(), async {})");
    assert!(
        tokio.allocs >= tokio.spawns,
        "a task needs at least one allocation"
    );
    // What the hue tests above promise.
    assert!(
        inherited.bytes_per_spawn() <= 128.0 && fresh.bytes_per_spawn() <= 128.0,
        "hue requests {:.1} (inherited color) and {:.1} (fresh color) bytes per task, want <= 128",
        inherited.bytes_per_spawn(),
        fresh.bytes_per_spawn()
    );
    assert_eq!(
        inherited.allocs,
        inherited.spawns,
        "hue spawn(async {{}}) makes {:.2} allocations per task, want exactly 1",
        inherited.allocs_per_spawn()
    );
    // Against tokio: no more bytes, and no more allocations (a fresh color's map table may
    // grow: the same 5% as above).
    for (what, hue) in [("inherited color", inherited), ("fresh color", fresh)] {
        assert!(
            hue.bytes_per_spawn() <= tokio.bytes_per_spawn(),
            "a hue task ({what}) requests {:.1} bytes, tokio's {:.1}",
            hue.bytes_per_spawn(),
            tokio.bytes_per_spawn()
        );
    }
    assert!(
        inherited.allocs_per_spawn() <= tokio.allocs_per_spawn()
            && fresh.allocs_per_spawn() <= tokio.allocs_per_spawn() + 0.05,
        "hue makes {:.3} (inherited color) and {:.3} (fresh color) allocations per task, \
         tokio {:.3}",
        inherited.allocs_per_spawn(),
        fresh.allocs_per_spawn(),
        tokio.allocs_per_spawn()
    );
}

// ---------------------------------------------------------------------------------------------
// Live tasks

/// Live tasks per case.
const LIVE: usize = 200_000;
/// The environment variable that makes this binary measure one live case and print it.
const LIVE_ENV: &str = "HUE_LIVE_CASE";

/// Tasks that have been polled once.
static POLLED: AtomicUsize = AtomicUsize::new(0);

/// A task that counts its first poll and then waits forever.
async fn parked() {
    POLLED.fetch_add(1, Relaxed);
    std::future::pending::<()>().await
}

/// The live cases: (case name, system, description).
const LIVE_CASES: &[(&str, &str, &str)] = &[
    ("tokio", "tokio", "tokio::spawn(pending)"),
    ("hue_inherited", "hue", "spawn(pending) [inherited color]"),
    ("hue_fresh", "hue", "spawn_colored(Color::fresh(), pending)"),
    (
        "hue_named_each",
        "hue",
        "spawn_colored(Color::new(i), pending) [one task per named color]",
    ),
    (
        "hue_named_64",
        "hue",
        "spawn_colored(Color::new(i % 64), pending) [64 named colors]",
    ),
];

/// What one live case measured.
#[derive(Clone, Copy, Debug)]
struct Live {
    bytes: i64,
    allocs: u64,
    spawn: Duration,
}

impl Live {
    fn bytes_per_task(self) -> f64 {
        self.bytes as f64 / LIVE as f64
    }
}

/// Waits (bounded, without asserting time) until every task was polled once.
fn wait_polled() {
    let deadline = Instant::now() + Duration::from_secs(600);
    while POLLED.load(Relaxed) < LIVE {
        assert!(Instant::now() < deadline, "the tasks were not all polled");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Measures `case` in this process.
fn measure_live(case: &str) -> Live {
    let start = |handles_len: usize| {
        assert_eq!(handles_len, 0);
        NET.store(0, Relaxed);
        NET_ALLOCS.store(0, Relaxed);
        COUNT_ALL.store(true, Relaxed);
        Instant::now()
    };
    let stop = |t: Instant| {
        let spawn = t.elapsed();
        wait_polled();
        COUNT_ALL.store(false, Relaxed);
        Live {
            bytes: NET.load(Relaxed),
            allocs: NET_ALLOCS.load(Relaxed),
            spawn,
        }
    };
    if case == "tokio" {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let mut handles = Vec::with_capacity(LIVE);
        rt.block_on(async {
            // Warm: the runtime's threads and queues exist before counting.
            tokio::spawn(async {}).await.unwrap();
            let t = start(handles.len());
            for _ in 0..LIVE {
                handles.push(tokio::spawn(parked()));
            }
            let live = stop(t);
            std::mem::forget(handles);
            live
        })
    } else {
        let rt = hue::Runtime::builder().workers(2).build().unwrap();
        let mut handles = Vec::with_capacity(LIVE);
        rt.block_on(async {
            hue::spawn_colored(Color::fresh(), async {}).await.unwrap();
            // The reactor (for the timer below) is installed before counting.
            hue::time::sleep(Duration::from_millis(1)).await;
            let t = start(handles.len());
            for i in 0..LIVE as u64 {
                handles.push(match case {
                    "hue_inherited" => hue::spawn(parked()),
                    "hue_fresh" => hue::spawn_colored(Color::fresh(), parked()),
                    "hue_named_each" => hue::spawn_colored(Color::new(i + 1), parked()),
                    "hue_named_64" => hue::spawn_colored(Color::new(i % 64 + 1), parked()),
                    other => panic!("unknown live case {other}"),
                });
            }
            // Wait asynchronously: `block_on`'s future is color 0, and so are the tasks of
            // the inherited case, which run only between its polls.
            let deadline = Instant::now() + Duration::from_secs(600);
            while POLLED.load(Relaxed) < LIVE {
                assert!(Instant::now() < deadline, "the tasks were not all polled");
                hue::time::sleep(Duration::from_millis(5)).await;
            }
            let live = stop(t);
            std::mem::forget(handles);
            live
        })
    }
}

/// The child side: with `HUE_LIVE_CASE` set, measures that case and prints one line (the
/// runtime and its parked tasks are leaked: the process ends here). Without it, does nothing.
#[test]
fn live_case_child() {
    let Ok(case) = std::env::var(LIVE_ENV) else {
        return;
    };
    let (_, system, what) = LIVE_CASES
        .iter()
        .find(|(name, ..)| *name == case)
        .expect("a known live case");
    let live = measure_live(&case);
    println!(
        "LIVE {case} {} {} {}",
        live.bytes,
        live.allocs,
        live.spawn.as_nanos()
    );
    println!(
        "{system:<5} live: {what:<62} {:>7.1} bytes/task  {:>5.2} allocations/task  ({} bytes, \
         {} allocations, {LIVE} spawns)  spawn {:.0} ns/task",
        live.bytes_per_task(),
        live.allocs as f64 / LIVE as f64,
        live.bytes,
        live.allocs,
        live.spawn.as_nanos() as f64 / LIVE as f64,
    );
    std::process::exit(0);
}

/// Runs one live case in a process of its own and reads its figures.
fn run_live(case: &str) -> Live {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "live_case_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(LIVE_ENV, case)
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for line in stdout.lines().filter(|l| l.contains("live: ")) {
        println!("{}", line.trim_start_matches("test live_case_child ... "));
    }
    let line = stdout
        .lines()
        .find_map(|l| l.split("LIVE ").nth(1))
        .unwrap_or_else(|| {
            panic!(
                "live case {case} printed no figures: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f[0], case);
    Live {
        bytes: f[1].parse().unwrap(),
        allocs: f[2].parse().unwrap(),
        spawn: Duration::from_nanos(f[3].parse().unwrap()),
    }
}

/// A live task alone in its color (fresh, or one task per named color) costs no more heap
/// than a tokio task: the color has no queue and no membership count, only the map's entry,
/// which holds the task. Catches a lone color that pays for a queue (about 350 bytes a task)
/// or a map entry that grew.
#[test]
fn live_tasks_alone_in_their_colors_cost_no_more_than_tokio_tasks() {
    let figures: Vec<(&str, Live)> = LIVE_CASES
        .iter()
        .map(|(case, ..)| (*case, run_live(case)))
        .collect();
    let of = |case: &str| figures.iter().find(|(c, _)| *c == case).unwrap().1;
    let tokio = of("tokio").bytes_per_task();
    for case in [
        "hue_fresh",
        "hue_named_each",
        "hue_inherited",
        "hue_named_64",
    ] {
        let hue = of(case).bytes_per_task();
        assert!(
            hue <= 128.0 && hue <= tokio,
            "a live hue task ({case}) costs {hue:.1} bytes, want <= 128 and <= tokio's {tokio:.1}"
        );
    }
}
