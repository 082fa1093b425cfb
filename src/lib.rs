//! hue: an async runtime with libasync-smp's colors.
//!
//! Every task has a [`Color`]; tasks of one color never run in parallel, tasks of different
//! colors may. State owned by a color needs no lock, and a program still uses every core.
//! See the [README](https://example.invalid/hue) and `DESIGN.md` for the model (it follows
//! Zeldovich et al., "Multiprocessor Support for Event-Driven Programs", USENIX ATC 2003).
//!
//! This crate is the facade: it re-exports the executor ([`hue_executor`]) and the reactor
//! ([`hue_reactor`]: [`net`], [`time`], [`signal`]). Every runtime gets the reactor the first
//! time one of its tasks makes a socket or a timer; runtimes that do neither never create it.
//!
//! # Example
//!
//! ```
//! use hue::{Color, Runtime};
//!
//! let rt = Runtime::builder().workers(2).build()?;
//! let n = rt.block_on(async {
//!     let a = hue::spawn_colored(Color::fresh(), async { 20 });
//!     let b = hue::spawn_colored(Color::fresh(), async { 22 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(n, 42);
//! # Ok::<(), std::io::Error>(())
//! ```

#![forbid(unsafe_code)]

#[doc(inline)]
pub use hue_executor::{
    block_on, current_color, current_worker, in_color, recolor, spawn, spawn_blocking,
    spawn_colored, yield_now, Builder, Color, ColorCell, Driver, Handle, InColor, JoinError,
    JoinHandle, Recolor, Runtime, RuntimeMetrics, WorkerMetrics, WrongColor, YieldNow, WORKERS_ENV,
};

#[doc(inline)]
pub use hue_executor::coop;

#[doc(inline)]
pub use hue_reactor::{net, signal, time, Reactor};

/// Running existing async code on hue: futures' `Spawn`, tokio's I/O traits and context
/// (feature `tokio`), hyper's runtime traits (feature `hyper`). See [`hue_compat`].
pub use hue_compat as compat;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
