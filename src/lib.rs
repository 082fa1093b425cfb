//! hue: an async runtime with libasync-smp's colors.
//!
//! Every task has a [`Color`]; tasks of one color never run in parallel, tasks of different
//! colors may. State owned by a color needs no lock, and a program still uses every core.
//! The model follows Zeldovich et al., "Multiprocessor Support for Event-Driven Programs"
//! (USENIX ATC 2003); the repository's README.md introduces it, and docs/DESIGN.md in the
//! repository is the design and the full contract (S1-S10).
//!
//! This crate is the facade: it re-exports the executor ([`hue_executor`]) and the reactor
//! ([`hue_reactor`]: [`net`], [`time`], [`signal`]). Every runtime gets the reactor the first
//! time one of its tasks makes a socket or a timer; runtimes that do neither never create it.
//! [`compat`] (the hue-compat crate) runs existing futures, tokio and hyper code on hue; its
//! page is the guide to porting a tokio program.
//!
//! # Features
//!
//! - `tokio` (default): `compat::tokio`, tokio's I/O traits over hue's sockets, and a tokio
//!   context for code that calls tokio's own timers and sockets.
//! - `hyper` (default): `compat::hyper`, hyper's runtime traits over hue; implies `tokio`.
//!
//! `default-features = false` leaves both out, and with them the tokio and hyper dependencies.
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
#![cfg_attr(docsrs, feature(doc_cfg))]

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

// Inlined, so that the porting guide (hue-compat's crate docs) is `hue::compat`'s page, also in
// `cargo doc -p hue --no-deps`.
#[doc(inline)]
pub use hue_compat as compat;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
