//! Parking: an idle runtime does not spin, and a `Driver` is parked on by one idle worker and
//! unparked by wakes from any thread.
//!
//! Every test runs under a watchdog: a lost wake-up must fail the test, not hang it. None
//! asserts timing. "Does not spin" is judged on what the workers did over a window of idle
//! time: how often they parked, how often the driver was polled, and how much CPU the worker
//! threads used (from /proc). A loaded machine can add noise to a window (a worker the OS
//! kept from parking until the window had begun) but cannot make a spinning runtime look
//! idle, so the property is required of one of a few windows, not of the first (see
//! [`assert_a_quiet_window`]): a runtime that spins dirties every window.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use hue::{Color, Driver, Runtime};

mod common;
use common::{cpu_time_of, wait_threads_asleep, wait_threads_named, watchdog_for};

/// A 2-worker runtime whose worker threads are named `name-<i>`, and their thread ids (empty
/// if /proc cannot be read).
fn runtime_named(name: &str, driver: Option<Arc<dyn Driver>>) -> (Runtime, Vec<u32>) {
    let mut b = Runtime::builder();
    b.workers(2).thread_name(name);
    if let Some(d) = driver {
        b.driver(d);
    }
    let rt = b.build().unwrap();
    let tids = wait_threads_named(name, 2);
    (rt, tids)
}

/// The sum of every worker's park count.
fn parks(rt: &Runtime) -> u64 {
    let m = rt.handle().metrics();
    (0..m.workers()).map(|w| m.worker(w).parks).sum()
}

/// The sum of every worker's driver polls.
fn driver_polls(rt: &Runtime) -> u64 {
    let m = rt.handle().metrics();
    (0..m.workers()).map(|w| m.worker(w).driver_polls).sum()
}

/// Waits until every worker is asleep: each worker thread sleeps in the kernel (when /proc can
/// tell: a worker the OS preempted before it parked is runnable, not sleeping) and the
/// workers' park counts stop changing. Returns the park count.
fn settle(rt: &Runtime, workers: &[u32]) -> u64 {
    wait_threads_asleep(
        "every worker thread sleeps (one that never does is spinning)",
        workers,
    );
    let mut last = parks(rt);
    for _ in 0..500 {
        thread::sleep(Duration::from_millis(20));
        let now = parks(rt);
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("workers never settled: parks kept changing ({last})");
}

/// How long one idle window lasts.
const WINDOW: Duration = Duration::from_millis(300);
/// Idle windows tried before concluding that the runtime spins.
const WINDOWS: usize = 5;
/// CPU time the workers may use in a quiet window: 1% of it. A parked worker uses none; one
/// that spins uses its share of a CPU, tens of milliseconds even with a few other processes
/// hogging every core.
const QUIET_CPU: Duration = Duration::from_millis(3);

/// What the workers of an idle runtime did over one window.
#[derive(Debug)]
struct Window {
    /// Parks: each is a worker that woke up and went back to sleep.
    parks: u64,
    /// Times a worker returned from parking on the driver.
    driver_polls: u64,
    /// CPU time the worker threads used (`None`: /proc cannot tell).
    cpu: Option<Duration>,
}

impl Window {
    fn is_quiet(&self) -> bool {
        self.parks == 0 && self.driver_polls == 0 && self.cpu.is_none_or(|c| c <= QUIET_CPU)
    }
}

/// Watches the idle runtime over up to [`WINDOWS`] windows of [`WINDOW`], each after
/// [`settle`], until one is quiet: no worker woke, the driver was not polled, the worker
/// threads used (almost) no CPU. Panics with every window seen if none is.
///
/// Catches a worker that never parks and loops looking for work (its CPU time; its park count
/// alone would not move), a worker that parks with a short timeout or is woken for nothing
/// (its park count), and a driver polled in a loop (the driver polls). A spinning runtime
/// shows in every window; a correct one, once asleep, leaves a window clean however loaded
/// the machine is.
fn assert_a_quiet_window(rt: &Runtime, workers: &[u32], what: &str) {
    let mut seen = Vec::new();
    for _ in 0..WINDOWS {
        let parks_before = settle(rt, workers);
        let polls_before = driver_polls(rt);
        let cpu_before = cpu_time_of(workers);
        thread::sleep(WINDOW);
        let cpu_after = cpu_time_of(workers);
        let window = Window {
            parks: parks(rt) - parks_before,
            driver_polls: driver_polls(rt) - polls_before,
            cpu: cpu_before.zip(cpu_after).map(|(b, a)| a.saturating_sub(b)),
        };
        println!("{what}: idle window {}: {window:?}", seen.len());
        if window.is_quiet() {
            return;
        }
        seen.push(window);
    }
    panic!("{what}: no quiet window of {WINDOW:?} in {WINDOWS}: {seen:?}");
}

#[test]
fn idle_runtime_does_not_spin() {
    let _watchdog = watchdog_for("idle_runtime_does_not_spin", Duration::from_secs(60));
    let (rt, workers) = runtime_named("park-idle", None);
    rt.block_on(async {
        for _ in 0..100 {
            hue::spawn_colored(Color::fresh(), async {}).await.unwrap();
        }
    });
    // A spinning worker would go around its loop (and park again, or burn CPU) in every
    // window.
    assert_a_quiet_window(&rt, &workers, "idle runtime");
    // And it still works.
    assert_eq!(
        rt.block_on(async { hue::spawn(async { 5 }).await.unwrap() }),
        5
    );
}

/// A driver that counts its calls and sleeps on a condvar.
#[derive(Default)]
struct CountingDriver {
    woken: Mutex<bool>,
    cv: Condvar,
    parks: AtomicUsize,
    unparks: AtomicUsize,
}

impl Driver for CountingDriver {
    fn park(&self, timeout: Option<Duration>) {
        self.parks.fetch_add(1, Ordering::SeqCst);
        let mut woken = self.woken.lock().unwrap();
        if !*woken {
            woken = match timeout {
                Some(d) => self.cv.wait_timeout(woken, d).unwrap().0,
                None => self.cv.wait(woken).unwrap(),
            };
        }
        *woken = false;
    }

    fn unpark(&self) {
        self.unparks.fetch_add(1, Ordering::SeqCst);
        *self.woken.lock().unwrap() = true;
        self.cv.notify_one();
    }
}

#[test]
fn an_idle_worker_drives_the_driver_and_wakes_reach_it() {
    let _watchdog = watchdog_for(
        "an_idle_worker_drives_the_driver_and_wakes_reach_it",
        Duration::from_secs(30),
    );
    let driver = Arc::new(CountingDriver::default());
    let (rt, workers) = runtime_named("park-drv", Some(driver.clone()));
    settle(&rt, &workers);
    assert!(
        driver.parks.load(Ordering::SeqCst) >= 1,
        "no idle worker parked on the driver"
    );

    // Tasks woken from a foreign thread while every worker sleeps (one of them in the
    // driver): each wake must reach a worker.
    let (tx, rx) = mpsc::channel::<std::task::Waker>();
    let done = Arc::new(AtomicUsize::new(0));
    let waker_thread = thread::spawn(move || {
        for w in rx {
            thread::sleep(Duration::from_millis(2));
            w.wake();
        }
    });
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let tx = tx.clone();
            let done = done.clone();
            tasks.push(hue::spawn_colored(Color::fresh(), async move {
                let mut sent = false;
                std::future::poll_fn(|cx| {
                    if sent {
                        return std::task::Poll::Ready(());
                    }
                    sent = true;
                    tx.send(cx.waker().clone()).unwrap();
                    std::task::Poll::Pending
                })
                .await;
                done.fetch_add(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    drop(tx);
    waker_thread.join().unwrap();
    assert_eq!(done.load(Ordering::SeqCst), 20);
    assert!(
        driver.unparks.load(Ordering::SeqCst) >= 1,
        "wakes never unparked the worker sleeping in the driver"
    );
    drop(rt);
}

/// The reactor, installed by the first source, is what an idle worker parks on; with a source
/// registered, a far timer pending and their tasks waiting, the runtime stays asleep until
/// the event, which wakes it.
#[test]
fn idle_runtime_with_the_reactor_sleeps_until_an_event() {
    let _watchdog = watchdog_for(
        "idle_runtime_with_the_reactor_sleeps_until_an_event",
        Duration::from_secs(60),
    );
    let (rt, workers) = runtime_named("park-rx", None);
    assert!(rt.handle().driver().is_none(), "no reactor before any I/O");
    let mut usr2 = rt
        .block_on(async { hue::signal::signal(hue::signal::SignalKind::user_defined2()) })
        .unwrap();
    assert!(
        rt.handle().driver().is_some(),
        "the first source installs the reactor"
    );
    let waiter = rt.handle().spawn(async move { usr2.recv().await });
    // A timer pending far in the future: the driver's wait is bounded by it, not woken by it.
    let sleeper = rt
        .handle()
        .spawn(async { hue::time::sleep(Duration::from_secs(3600)).await });
    // Workers that woke while nothing happened, or a driver that spun, show in every window.
    assert_a_quiet_window(&rt, &workers, "idle runtime with the reactor");
    // SAFETY: raise has no memory-safety preconditions.
    assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
    assert_eq!(rt.block_on(waiter).unwrap(), Some(()));
    assert!(!sleeper.is_finished(), "an hour's sleep fired early");
    sleeper.abort();
}
