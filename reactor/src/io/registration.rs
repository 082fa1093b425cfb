//! A source registered with the reactor: the glue every socket type is built on.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use mio::Interest;

use super::scheduled_io::{Direction, ReadyEvent, ScheduledIo};
use crate::driver::Reactor;

/// A mio source plus its registration: deregistered when dropped.
///
/// Operations follow mio's edge-triggered contract: wait until the direction is ready, try
/// the operation, and on `WouldBlock` clear the readiness and wait again. Every wait that
/// finds readiness spends one unit of the task's cooperative budget (S7).
pub(crate) struct PollEvented<S: mio::event::Source> {
    io: Option<S>,
    reactor: Arc<Reactor>,
    shared: Arc<ScheduledIo>,
    token: usize,
}

impl<S: mio::event::Source + fmt::Debug> fmt::Debug for PollEvented<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollEvented").field("io", &self.io).finish()
    }
}

impl<S: mio::event::Source> PollEvented<S> {
    /// Registers `io` for reading and writing with the current runtime's reactor.
    pub(crate) fn new(io: S) -> io::Result<PollEvented<S>> {
        PollEvented::with_interest(io, Interest::READABLE | Interest::WRITABLE)
    }

    pub(crate) fn with_interest(mut io: S, interest: Interest) -> io::Result<PollEvented<S>> {
        let reactor = Reactor::current()?;
        let (shared, token) = reactor.register(&mut io, interest)?;
        Ok(PollEvented {
            io: Some(io),
            reactor,
            shared,
            token,
        })
    }

    /// The source.
    pub(crate) fn get_ref(&self) -> &S {
        self.io.as_ref().expect("the source is present until drop")
    }

    /// Deregisters and returns the source (for `into_std`).
    pub(crate) fn into_inner(mut self) -> io::Result<S> {
        let mut io = self.io.take().expect("the source is present until drop");
        self.reactor.deregister(&mut io, self.token)?;
        Ok(io)
    }

    /// Waits until `dir` is ready (spending budget when it is).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        let mut progress = ready!(hue_executor::coop::poll_proceed(cx));
        let event = ready!(self.shared.poll_ready(cx, dir));
        if event.is_shutdown() {
            return Poll::Ready(Err(shut_down()));
        }
        progress.made_progress();
        Poll::Ready(Ok(event))
    }

    /// Clears readiness after a `WouldBlock` (see `ScheduledIo::clear`).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        self.shared.clear(event);
    }

    /// Runs `op` when `dir` is ready, until it does not return `WouldBlock`.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let event = ready!(self.poll_ready(cx, dir))?;
            match op(self.get_ref()) {
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    self.clear_readiness(event);
                }
                result => return Poll::Ready(result),
            }
        }
    }

    /// Runs `op` once if `dir` looks ready; `WouldBlock` (and cleared readiness) if not.
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        op: impl FnOnce(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let Some(event) = self.shared.ready(dir) else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        if event.is_shutdown() {
            return Err(shut_down());
        }
        match op(self.get_ref()) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.clear_readiness(event);
                Err(err)
            }
            result => result,
        }
    }

    /// Waits until `dir` is ready (for `readable()` / `writable()`).
    pub(crate) async fn ready(&self, dir: Direction) -> io::Result<ReadyEvent> {
        std::future::poll_fn(|cx| self.poll_ready(cx, dir)).await
    }
}

impl<S: mio::event::Source> Drop for PollEvented<S> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            // Deregistering an fd that is about to close cannot usefully fail; the slot is
            // freed either way, so a queued event for it wakes nothing.
            let _ = self.reactor.deregister(&mut io, self.token);
        }
    }
}

/// The error of every operation on a source whose runtime has shut down.
fn shut_down() -> io::Error {
    io::Error::other(
        "hue: the runtime this socket was registered with has shut down, so nothing drives it \
         any more; make sockets in the runtime that uses them",
    )
}
