//! The `HUE_WORKERS` environment variable. One single test: environment variables are
//! process-global, so every case runs in sequence in this one function.
//!
//! Decision checked here: an explicit `Builder::workers(n)` wins over `HUE_WORKERS` (as
//! tokio's `worker_threads` wins over `TOKIO_WORKER_THREADS`); the variable is then not read,
//! so even a malformed value does not make such a build fail.

use std::io;
use std::thread;

use hue::{Color, Runtime};

mod common;
use common::watchdog;

const VAR: &str = "HUE_WORKERS";

fn expect_invalid(value: &str) {
    std::env::set_var(VAR, value);
    let err = Runtime::builder()
        .build()
        .err()
        .unwrap_or_else(|| panic!("{VAR}={value:?} built a runtime"));
    assert_eq!(
        err.kind(),
        io::ErrorKind::InvalidInput,
        "{VAR}={value:?}: wrong error kind: {err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(VAR),
        "{VAR}={value:?}: message does not name {VAR}: {msg:?}"
    );
    assert!(
        msg.contains(value),
        "{VAR}={value:?}: message does not quote the value: {msg:?}"
    );
    let err = Runtime::new()
        .err()
        .unwrap_or_else(|| panic!("Runtime::new() with {VAR}={value:?} built a runtime"));
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

fn workers_of(rt: &Runtime) -> usize {
    rt.handle().metrics().workers()
}

/// The runtime really runs tasks on that many distinct workers (bounded).
fn assert_runs(rt: &Runtime, workers: usize) {
    let seen = rt.block_on(async {
        let hs: Vec<_> = (0..64)
            .map(|_| hue::spawn_colored(Color::fresh(), async { hue::current_worker() }))
            .collect();
        let mut seen = Vec::new();
        for h in hs {
            seen.push(h.await.unwrap());
        }
        seen
    });
    for w in seen {
        assert!(
            matches!(w, Some(w) if w < workers),
            "current_worker() = {w:?} with {workers} workers"
        );
    }
}

#[test]
fn hue_workers_env_var() {
    let _w = watchdog("hue_workers_env_var");

    // Unset: available_parallelism.
    std::env::remove_var(VAR);
    let default = thread::available_parallelism().map_or(1, |n| n.get());
    let rt = Runtime::builder().build().expect("default build");
    assert_eq!(workers_of(&rt), default, "default worker count");
    drop(rt);

    // Malformed values.
    expect_invalid("0");
    expect_invalid("abc");
    expect_invalid("-1");
    expect_invalid("2x");

    // A valid value, through the builder and through Runtime::new().
    std::env::set_var(VAR, "3");
    let rt = Runtime::builder().build().expect("HUE_WORKERS=3");
    assert_eq!(workers_of(&rt), 3, "HUE_WORKERS=3");
    assert_runs(&rt, 3);
    drop(rt);
    let rt = Runtime::new().expect("Runtime::new() with HUE_WORKERS=3");
    assert_eq!(workers_of(&rt), 3, "Runtime::new() with HUE_WORKERS=3");
    drop(rt);

    // Explicit workers(n) wins over the variable.
    let rt = Runtime::builder().workers(2).build().expect("workers(2)");
    assert_eq!(workers_of(&rt), 2, "explicit workers(2) with HUE_WORKERS=3");
    assert_runs(&rt, 2);
    drop(rt);
    std::env::set_var(VAR, "abc");
    let rt = Runtime::builder()
        .workers(2)
        .build()
        .expect("explicit workers(2) must not read a malformed HUE_WORKERS");
    assert_eq!(workers_of(&rt), 2);
    drop(rt);
    // ...and workers(0) is still rejected, naming `workers`.
    std::env::set_var(VAR, "3");
    let err = Runtime::builder()
        .workers(0)
        .build()
        .expect_err("workers(0) built a runtime");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("workers"), "{err}");

    std::env::remove_var(VAR);
}
