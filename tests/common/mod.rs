//! Helpers shared by the integration tests: a watchdog (no test may hang), a runtime builder,
//! bounded waits, panic messages, a loopback TCP pair, the open-files limit, and what the
//! kernel says about this process's threads (to measure an idle runtime's workers rather than
//! the wall clock).

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

// ---------------------------------------------------------------------------------------------
// this process's threads, as the kernel sees them (Linux /proc; `None` or empty elsewhere)

/// The ids of this process's threads whose name starts with `prefix` (e.g. the workers of a
/// runtime built with `.thread_name(prefix)`). Names are cut to 15 bytes by the kernel, so
/// keep `prefix` shorter than that. Empty if /proc cannot be read.
pub(crate) fn threads_named(prefix: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut tids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|tid| {
            std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
                .is_ok_and(|name| name.trim_end().starts_with(prefix))
        })
        .collect();
    tids.sort_unstable();
    tids
}

/// The ids of the `n` threads named `prefix*` (see [`threads_named`]), waiting (bounded) until
/// all of them have started and taken their name; empty if /proc cannot be read.
pub(crate) fn wait_threads_named(prefix: &str, n: usize) -> Vec<u32> {
    if std::fs::read_dir("/proc/self/task").is_err() {
        return Vec::new();
    }
    wait_for(&format!("{n} threads named {prefix}* exist"), || {
        let tids = threads_named(prefix);
        (tids.len() == n).then_some(tids)
    })
}

/// The fields of `/proc/self/task/<tid>/stat` after the command name (field 3, the state, is
/// the first), or `None` if the thread is gone or /proc cannot be read.
fn thread_stat_fields(tid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The name (field 2) is in parentheses and may hold spaces or parentheses: the fields
    // after it start after the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(String::from).collect())
}

/// The scheduling state of a thread: `'R'` running or runnable, `'S'` sleeping (in a futex,
/// `epoll_wait`...), `'D'` uninterruptible, and so on; `None` if it cannot be read.
pub(crate) fn thread_state(tid: u32) -> Option<char> {
    thread_stat_fields(tid)?.first()?.chars().next()
}

/// The CPU time a thread has used so far: exact, from `/proc/self/task/<tid>/schedstat` when
/// the kernel keeps scheduler statistics, else user + system time from `stat` (in clock
/// ticks, usually 10 ms); `None` if neither can be read.
pub(crate) fn thread_cpu_time(tid: u32) -> Option<Duration> {
    if let Ok(s) = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")) {
        if let Some(ns) = s.split_whitespace().next().and_then(|f| f.parse().ok()) {
            return Some(Duration::from_nanos(ns));
        }
    }
    let fields = thread_stat_fields(tid)?;
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the state.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| Duration::from_nanos(ticks * 1_000_000_000 / hz as u64))
}

/// The total CPU time used so far by the threads `tids`; `None` if any cannot be read.
pub(crate) fn cpu_time_of(tids: &[u32]) -> Option<Duration> {
    tids.iter().map(|&tid| thread_cpu_time(tid)).sum()
}

/// Waits (bounded, 10 s, like [`wait_until`]) until every thread of `tids` sleeps in the
/// kernel, seen on two looks 5 ms apart. For a runtime's workers with no work left this means
/// they are parked: a worker preempted before it parks is runnable (`R`), not sleeping. True
/// once they sleep; false at once if /proc cannot tell (no threads, or not Linux).
pub(crate) fn wait_threads_asleep(what: &str, tids: &[u32]) -> bool {
    let asleep = || tids.iter().all(|&tid| thread_state(tid) == Some('S'));
    if tids.is_empty() || tids.iter().any(|&tid| thread_state(tid).is_none()) {
        return false;
    }
    wait_until(what, || {
        asleep() && {
            thread::sleep(Duration::from_millis(5));
            asleep()
        }
    });
    true
}
