//! hue-reactor: the I/O and timer driver of hue.
//!
//! This crate will hold the [`Driver`] implementation over mio that an
//! idle worker runs (libasync-smp's select callback), timers, and sockets. It is filled by the
//! reactor issue; for now it only re-exports the seam it will implement.

pub use hue_executor::Driver;
