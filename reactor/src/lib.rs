//! hue-reactor: the I/O and timer driver of hue.
//!
//! - [`Reactor`]: the [`Driver`] over mio that an idle worker runs (libasync-smp's select
//!   callback). A runtime gets one the first time it makes a socket or a timer.
//! - [`net`]: TCP, UDP and Unix sockets with futures-io `AsyncRead`/`AsyncWrite`.
//! - [`time`]: `sleep`, `timeout`, `interval` over a hierarchical timer wheel (1 ms).
//! - [`signal`]: awaiting Ctrl-C, SIGTERM, SIGHUP.
//!
//! The reactor knows no colors: it stores and wakes `std::task::Waker`s, and the executor
//! puts the woken tasks in their colors' queues.
//!
//! `unsafe` code only where tokio's and hyper's read traits demand it (reads into
//! uninitialized buffers, `net::ecosystem`, with the `tokio` and `hyper` features): mio,
//! socket2 and signal-hook hold the system calls, and the timer wheel and the source table
//! link their entries by index.

#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod driver;
mod io;
pub mod net;
pub mod signal;
pub mod time;

pub use driver::Reactor;
pub use hue_executor::Driver;
