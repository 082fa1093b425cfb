//! A cheap clock for the long-poll metrics.
//!
//! Every poll is timed, so the clock must cost next to nothing: on Linux this is
//! `CLOCK_MONOTONIC_COARSE` (a vDSO read of the last tick, several times cheaper than
//! `Instant::now`), whose resolution is the kernel tick (1-4 ms). That is plenty to see a
//! poll that blocked its worker for 10 ms or more, which is what the metric is for; it cannot
//! time short polls, and the figures it gives are rounded to ticks.

/// Nanoseconds on a monotonic clock with tick resolution.
#[cfg(target_os = "linux")]
pub(crate) fn coarse_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC_COARSE exists on every Linux
    // since 2.6.32 and the call cannot fail with valid arguments.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Nanoseconds on a monotonic clock.
#[cfg(not(target_os = "linux"))]
pub(crate) fn coarse_now_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}
