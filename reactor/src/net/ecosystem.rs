//! The read side of tokio's and hyper's I/O traits on hue's stream sockets (the `tokio` and
//! `hyper` features; the write side needs nothing of its own).
//!
//! Both ecosystems lend a read buffer that may be uninitialized, and both make the reader
//! promise, with `unsafe`, what it did to that memory. This module is the only place in the
//! crate with `unsafe` code, and it rests on one invariant: **the `read` closure given to
//! [`tokio_read`] or [`hyper_read`] only writes initialized bytes, from the start of the slice
//! it is lent, and returns how many it wrote.** The closures the socket types pass are
//! `recv(2)` on the socket (`stream_io::poll_read_uninit`), which the kernel fills from the
//! start and never de-initializes; the count is checked against the slice's length anyway, so
//! a wrong count is a panic, never a claim about uninitialized memory. So no byte is zeroed
//! before a read, as with tokio's own sockets.

#![allow(unsafe_code)]

use std::io;
use std::mem::MaybeUninit;
use std::task::{ready, Poll};

/// tokio's `AsyncRead::poll_read` over `read` (see the module's invariant).
#[cfg(feature = "tokio")]
pub(crate) fn tokio_read(
    buf: &mut tokio::io::ReadBuf<'_>,
    read: impl FnOnce(&mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    // SAFETY: `read` only writes initialized bytes (the module's invariant), so nothing in
    // the unfilled region is de-initialized.
    let unfilled = unsafe { buf.unfilled_mut() };
    let len = unfilled.len();
    let n = ready!(read(unfilled))?;
    assert!(n <= len, "a read of {len} bytes returned {n}");
    // SAFETY: `read` initialized the first `n` bytes of the unfilled region (the invariant;
    // `n <= len` checked above).
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// hyper's `rt::Read::poll_read` over `read` (see the module's invariant).
#[cfg(feature = "hyper")]
pub(crate) fn hyper_read(
    mut buf: hyper::rt::ReadBufCursor<'_>,
    read: impl FnOnce(&mut [MaybeUninit<u8>]) -> Poll<io::Result<usize>>,
) -> Poll<io::Result<()>> {
    // SAFETY: `read` only writes initialized bytes (the module's invariant), so nothing in
    // the cursor's region is de-initialized.
    let unfilled = unsafe { buf.as_mut() };
    let len = unfilled.len();
    let n = ready!(read(unfilled))?;
    assert!(n <= len, "a read of {len} bytes returned {n}");
    // SAFETY: `read` initialized the first `n` bytes of the region (the invariant; `n <= len`
    // checked above), which is what `advance` asks.
    unsafe { buf.advance(n) };
    Poll::Ready(Ok(()))
}
