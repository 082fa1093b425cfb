//! Runtime construction shared by the Criterion benchmarks (each bench includes this module
//! with `mod common;`). Every comparison uses the same number of workers for both systems.

#![allow(dead_code)] // each bench uses a different subset

/// Worker threads of every two-system comparison (the machine has 2 cores).
pub(crate) const NUM_WORKERS: usize = 2;

/// A hue runtime with `workers` workers named `name-<index>`, stealing on or off.
pub(crate) fn hue_rt(workers: usize, steal: bool, name: &str) -> hue::Runtime {
    hue::Runtime::builder()
        .workers(workers)
        .steal(steal)
        .thread_name(name)
        .build()
        .unwrap()
}

/// tokio's multi-thread runtime with [`NUM_WORKERS`] workers, timers and I/O enabled.
pub(crate) fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(NUM_WORKERS)
        .enable_all()
        .build()
        .unwrap()
}
