//! Helpers shared by the integration tests: a watchdog (no test may hang), a runtime builder,
//! bounded waits, panic messages, a loopback TCP pair, the open-files limit.

#![allow(dead_code)] // each test binary uses a different subset

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use hue::Runtime;

/// Aborts the process if the guarded test does not finish in time (no test may hang).
pub(crate) struct Watchdog(Option<mpsc::Sender<()>>);

/// A watchdog of 60 s for the test `what`.
pub(crate) fn watchdog(what: &'static str) -> Watchdog {
    watchdog_for(what, Duration::from_secs(60))
}

/// A watchdog of `limit` for the test `what`.
pub(crate) fn watchdog_for(what: &'static str, limit: Duration) -> Watchdog {
    let (tx, rx) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
            eprintln!("WATCHDOG: test `{what}` did not finish within {limit:?}: aborting (hang)");
            std::process::abort();
        }
    });
    Watchdog(Some(tx))
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// A runtime with `workers` workers.
pub(crate) fn runtime(workers: usize) -> Runtime {
    Runtime::builder()
        .workers(workers)
        .build()
        .expect("failed to build runtime")
}

/// Spins (bounded) until `cond` holds; panics with `what` after 10 s.
pub(crate) fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    wait_for(what, || cond().then_some(()))
}

/// Spins (bounded) until `f` returns `Some`, and returns its value; panics with `what` after
/// 10 s. Checks every millisecond, sleeping in between.
pub(crate) fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// The text of a panic payload (`&str` or `String`), for asserting on panic messages.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("<non-string panic payload>")
    }
}

/// A connected TCP pair over loopback through `listener`: (client, server side).
pub(crate) async fn tcp_pair(
    listener: &hue::net::TcpListener,
) -> (hue::net::TcpStream, hue::net::TcpStream) {
    let client = hue::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// A connected TCP pair over loopback through a listener of its own on `127.0.0.1:0`
/// (closed once the pair is connected): (client, server side).
pub(crate) async fn loopback_tcp_pair() -> (hue::net::TcpStream, hue::net::TcpStream) {
    let listener = hue::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    tcp_pair(&listener).await
}

/// Raises the soft limit on open files to `want`, or to the hard limit if that is lower;
/// returns the soft limit now in force.
pub(crate) fn raise_fd_limit(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    let target = want.min(lim.rlim_max);
    if lim.rlim_cur < target {
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; raising the soft limit up to the hard one is
        // always allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return raised.rlim_cur;
        }
    }
    lim.rlim_cur
}

