//! Parking: an idle runtime does not spin, and a `Driver` is parked on by one idle worker and
//! unparked by wakes from any thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use hue::{Color, Driver, Runtime};

/// Aborts the process if the test does not finish in time: a lost wake-up must fail the test,
/// not hang it.
fn watchdog(limit: Duration) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("WATCHDOG: no progress in {limit:?} (a lost wake-up?): aborting");
            std::process::abort();
        }
    });
    tx
}

/// The sum of every worker's park count.
fn parks(rt: &Runtime) -> u64 {
    let m = rt.handle().metrics();
    (0..m.workers()).map(|w| m.worker(w).parks).sum()
}

/// Waits until the workers' park counts stop changing, i.e. every worker is asleep.
fn settle(rt: &Runtime) -> u64 {
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

#[test]
fn idle_runtime_does_not_spin() {
    let _watchdog = watchdog(Duration::from_secs(30));
    let rt = Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        for _ in 0..100 {
            hue::spawn_colored(Color::fresh(), async {}).await.unwrap();
        }
    });
    let before = settle(&rt);
    // A spinning worker would go around its loop, and park again, many times in 300 ms.
    thread::sleep(Duration::from_millis(300));
    let after = parks(&rt);
    assert_eq!(
        before,
        after,
        "workers woke up {} times while the runtime was idle",
        after - before
    );
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
    let _watchdog = watchdog(Duration::from_secs(30));
    let driver = Arc::new(CountingDriver::default());
    let rt = Runtime::builder()
        .workers(2)
        .driver(driver.clone())
        .build()
        .unwrap();
    settle(&rt);
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
    let _watchdog = watchdog(Duration::from_secs(30));
    let rt = Runtime::builder().workers(2).build().unwrap();
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
    let before = settle(&rt);
    let polls_before: u64 = {
        let m = rt.handle().metrics();
        (0..m.workers()).map(|w| m.worker(w).driver_polls).sum()
    };
    thread::sleep(Duration::from_millis(300));
    assert_eq!(before, parks(&rt), "workers woke while nothing happened");
    let m = rt.handle().metrics();
    let polls_after: u64 = (0..m.workers()).map(|w| m.worker(w).driver_polls).sum();
    assert_eq!(polls_before, polls_after, "the driver spun while idle");
    // SAFETY: raise has no memory-safety preconditions.
    assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
    assert_eq!(rt.block_on(waiter).unwrap(), Some(()));
    assert!(!sleeper.is_finished(), "an hour's sleep fired early");
    sleeper.abort();
}
