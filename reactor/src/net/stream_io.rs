//! Reads and writes shared by the byte-stream sockets (TCP and Unix streams).
//!
//! Same loop as `PollEvented::poll_io` (wait for readiness, try, clear on `WouldBlock`), plus
//! one rule from edge-triggered readiness: a read that filled less than the buffer drained the
//! socket, and a write that took less than it was given filled it, so the readiness is cleared
//! right away and the next call waits for the next event instead of making a system call that
//! would only say `EAGAIN`. (A newer event in between keeps the readiness: see
//! `ScheduledIo::clear`.)

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
#[cfg(any(feature = "tokio", feature = "hyper"))]
use std::mem::MaybeUninit;
#[cfg(any(feature = "tokio", feature = "hyper"))]
use std::os::fd::AsFd;
use std::task::{ready, Context, Poll};

use crate::io::{Direction, PollEvented};

/// The outcome of one try: done (with the result), or `WouldBlock` (wait again).
fn settle<S: mio::event::Source>(
    io: &PollEvented<S>,
    event: crate::io::ReadyEvent,
    result: io::Result<usize>,
    asked: usize,
) -> Option<io::Result<usize>> {
    match result {
        Ok(n) => {
            if n > 0 && n < asked {
                io.clear_readiness(event);
            }
            Some(Ok(n))
        }
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
            io.clear_readiness(event);
            None
        }
        Err(err) if err.kind() == io::ErrorKind::Interrupted => None,
        Err(err) => Some(Err(err)),
    }
}

pub(crate) fn poll_read<S>(
    io: &PollEvented<S>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>>
where
    S: mio::event::Source,
    for<'a> &'a S: Read,
{
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    loop {
        let event = ready!(io.poll_ready(cx, Direction::Read))?;
        let result = io.get_ref().read(buf);
        if let Some(result) = settle(io, event, result, buf.len()) {
            return Poll::Ready(result);
        }
    }
}

#[cfg(any(feature = "tokio", feature = "hyper"))]
/// [`poll_read`] into memory that may be uninitialized (`recv(2)` writes it, nothing reads
/// it): the read behind tokio's and hyper's read traits, which lend such buffers.
pub(crate) fn poll_read_uninit<S>(
    io: &PollEvented<S>,
    cx: &mut Context<'_>,
    buf: &mut [MaybeUninit<u8>],
) -> Poll<io::Result<usize>>
where
    S: mio::event::Source + AsFd,
{
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    loop {
        let event = ready!(io.poll_ready(cx, Direction::Read))?;
        let result = socket2::SockRef::from(io.get_ref()).recv(buf);
        if let Some(result) = settle(io, event, result, buf.len()) {
            return Poll::Ready(result);
        }
    }
}

pub(crate) fn poll_read_vectored<S>(
    io: &PollEvented<S>,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
) -> Poll<io::Result<usize>>
where
    S: mio::event::Source,
    for<'a> &'a S: Read,
{
    let asked: usize = bufs.iter().map(|b| b.len()).sum();
    if asked == 0 {
        return Poll::Ready(Ok(0));
    }
    loop {
        let event = ready!(io.poll_ready(cx, Direction::Read))?;
        let result = io.get_ref().read_vectored(bufs);
        if let Some(result) = settle(io, event, result, asked) {
            return Poll::Ready(result);
        }
    }
}

pub(crate) fn poll_write<S>(
    io: &PollEvented<S>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>>
where
    S: mio::event::Source,
    for<'a> &'a S: Write,
{
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    loop {
        let event = ready!(io.poll_ready(cx, Direction::Write))?;
        let result = io.get_ref().write(buf);
        if let Some(result) = settle(io, event, result, buf.len()) {
            return Poll::Ready(result);
        }
    }
}

pub(crate) fn poll_write_vectored<S>(
    io: &PollEvented<S>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>>
where
    S: mio::event::Source,
    for<'a> &'a S: Write,
{
    let asked: usize = bufs.iter().map(|b| b.len()).sum();
    if asked == 0 {
        return Poll::Ready(Ok(0));
    }
    loop {
        let event = ready!(io.poll_ready(cx, Direction::Write))?;
        let result = io.get_ref().write_vectored(bufs);
        if let Some(result) = settle(io, event, result, asked) {
            return Poll::Ready(result);
        }
    }
}

/// `try_read`: one read if the socket looks readable, `WouldBlock` otherwise.
pub(crate) fn try_read<S>(io: &PollEvented<S>, buf: &mut [u8]) -> io::Result<usize>
where
    S: mio::event::Source,
    for<'a> &'a S: Read,
{
    io.try_io(Direction::Read, |mut s| s.read(buf))
}

pub(crate) fn try_read_vectored<S>(
    io: &PollEvented<S>,
    bufs: &mut [IoSliceMut<'_>],
) -> io::Result<usize>
where
    S: mio::event::Source,
    for<'a> &'a S: Read,
{
    io.try_io(Direction::Read, |mut s| s.read_vectored(bufs))
}

pub(crate) fn try_write<S>(io: &PollEvented<S>, buf: &[u8]) -> io::Result<usize>
where
    S: mio::event::Source,
    for<'a> &'a S: Write,
{
    io.try_io(Direction::Write, |mut s| s.write(buf))
}

pub(crate) fn try_write_vectored<S>(io: &PollEvented<S>, bufs: &[IoSlice<'_>]) -> io::Result<usize>
where
    S: mio::event::Source,
    for<'a> &'a S: Write,
{
    io.try_io(Direction::Write, |mut s| s.write_vectored(bufs))
}

/// Waits until a non-blocking `connect` finished: writable, then the socket's pending error
/// (`ECONNREFUSED`...) or, if none, a check that it is connected (a spurious writable event
/// before the handshake ended is waited through).
pub(crate) async fn finish_connect<S>(
    io: &PollEvented<S>,
    take_error: impl Fn(&S) -> io::Result<Option<io::Error>>,
    is_connected: impl Fn(&S) -> io::Result<()>,
) -> io::Result<()>
where
    S: mio::event::Source,
{
    loop {
        let event = io.ready(Direction::Write).await?;
        if let Some(err) = take_error(io.get_ref())? {
            return Err(err);
        }
        match is_connected(io.get_ref()) {
            Ok(()) => return Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotConnected && !event.is_write_closed() => {
                io.clear_readiness(event);
            }
            Err(err) => return Err(err),
        }
    }
}

/// Implements futures-io's `AsyncRead` for `$ty`, and with the `tokio` and `hyper` features
/// tokio's `AsyncRead` and hyper's `rt::Read`, given how to get the stream (with its
/// `poll_*_priv` methods) from `$this: Pin<&mut $ty>`. Used by the streams and their read
/// halves.
macro_rules! stream_read_trait {
    ($ty:ty, $this:ident => $get:expr) => {
        impl ::futures_io::AsyncRead for $ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut [u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = self;
                $get.poll_read_priv(cx, buf)
            }

            fn poll_read_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &mut [::std::io::IoSliceMut<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = self;
                $get.poll_read_vectored_priv(cx, bufs)
            }
        }

        #[cfg(feature = "tokio")]
        impl ::tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &mut ::tokio::io::ReadBuf<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $this = self;
                let stream = &$get;
                $crate::net::ecosystem::tokio_read(buf, |dst| stream.poll_read_uninit_priv(cx, dst))
            }
        }

        #[cfg(feature = "hyper")]
        impl ::hyper::rt::Read for $ty {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: ::hyper::rt::ReadBufCursor<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $this = self;
                let stream = &$get;
                $crate::net::ecosystem::hyper_read(buf, |dst| stream.poll_read_uninit_priv(cx, dst))
            }
        }
    };
}

/// Implements futures-io's `AsyncWrite` for `$ty`, and with the `tokio` and `hyper` features
/// tokio's `AsyncWrite` and hyper's `rt::Write` (see [`stream_read_trait`]); closing
/// (`poll_close`, `poll_shutdown`) shuts down the write direction. Used by the streams and
/// their write halves.
macro_rules! stream_write_trait {
    ($ty:ty, $this:ident => $get:expr) => {
        impl ::futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = self;
                $get.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = self;
                $get.poll_write_vectored_priv(cx, bufs)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                // Writes go straight to the socket: nothing is buffered here.
                ::std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $this = self;
                $get.shutdown_write()
            }
        }

        #[cfg(feature = "tokio")]
        impl ::tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = self;
                $get.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = self;
                $get.poll_write_vectored_priv(cx, bufs)
            }

            /// `writev(2)`.
            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready(Ok(()))
            }

            /// Shuts down the write direction.
            fn poll_shutdown(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $this = self;
                $get.shutdown_write()
            }
        }

        #[cfg(feature = "hyper")]
        impl ::hyper::rt::Write for $ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = self;
                $get.poll_write_priv(cx, buf)
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = self;
                $get.poll_write_vectored_priv(cx, bufs)
            }

            /// `writev(2)`: hyper writes a response's head and body in one call.
            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::task::Poll::Ready(Ok(()))
            }

            /// Shuts down the write direction.
            fn poll_shutdown(
                self: ::std::pin::Pin<&mut Self>,
                _cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $this = self;
                $get.shutdown_write()
            }
        }
    };
}

/// Both futures-io traits for a stream type (see [`stream_read_trait`]).
macro_rules! stream_traits {
    ($ty:ty, $this:ident => $get:expr) => {
        $crate::net::stream_io::stream_read_trait!($ty, $this => $get);
        $crate::net::stream_io::stream_write_trait!($ty, $this => $get);
    };
}

pub(crate) use {stream_read_trait, stream_traits, stream_write_trait};
