//! Awaiting Unix signals: Ctrl-C, SIGTERM, SIGHUP, and others (libasync's `sigcb`).
//!
//! Servers use it to shut down gracefully:
//!
//! ```no_run
//! # let rt = hue_executor::Runtime::new()?;
//! # rt.block_on(async {
//! hue_reactor::signal::ctrl_c().await?;
//! println!("Ctrl-C: shutting down");
//! # Ok::<(), std::io::Error>(())
//! # })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How it works
//!
//! Each [`Signal`] is a self-pipe: a Unix socket pair whose write end is handed to
//! `signal-hook` (the handler writes one byte to it, which is async-signal-safe) and whose read
//! end is registered with the reactor like any socket. So delivering a signal wakes every
//! listener for it, in whatever color its task runs, and no thread is added. Deliveries that
//! arrive before `recv` are kept (one pending notification at least; several deliveries may
//! coalesce into one, as with the signals themselves).
//!
//! Once a listener for a signal has existed, the signal's default action (for SIGINT and
//! SIGTERM: terminating the process) is not restored when the listener is dropped: the
//! signal is then ignored. tokio behaves the same way; signal-hook cannot restore it safely.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::task::{Context, Poll};

use mio::Interest;
use signal_hook::low_level::{pipe, unregister};
use signal_hook::SigId;

use crate::io::{Direction, PollEvented};

/// A kind of signal (a signal number), with names for the common ones.
///
/// ```
/// use hue_reactor::signal::SignalKind;
/// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGHUP), SignalKind::hangup());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(libc::c_int);

impl SignalKind {
    /// A signal by number.
    pub const fn from_raw(signum: libc::c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal's number.
    pub const fn as_raw_value(&self) -> libc::c_int {
        self.0
    }

    /// SIGINT (Ctrl-C at a terminal).
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// SIGTERM (a polite request to stop: `kill`, systemd, Kubernetes).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// SIGHUP (the terminal went away; by convention also "reload your configuration").
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// SIGQUIT.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// SIGUSR1.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// SIGUSR2.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }
}

/// A listener for one kind of signal: [`recv`](Signal::recv) completes once per delivery
/// (deliveries that come close together may count once).
///
/// ```
/// use hue_reactor::signal::{signal, SignalKind};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let mut usr1 = signal(SignalKind::user_defined1())?;
///     signal_hook::low_level::raise(libc::SIGUSR1)?;
///     assert_eq!(usr1.recv().await, Some(()));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Signal {
    kind: SignalKind,
    pipe: PollEvented<mio::net::UnixStream>,
    id: SigId,
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}

/// Starts listening for `kind` (from now on, its deliveries are noticed).
///
/// # Errors
///
/// `InvalidInput` for a signal that cannot be caught or must not be (SIGKILL, SIGSTOP, SIGILL,
/// SIGFPE, SIGSEGV) or is not a signal number; an error outside a hue runtime; the OS error if
/// the pipe cannot be made.
///
/// ```
/// use hue_reactor::signal::{signal, SignalKind};
///
/// let rt = hue_executor::Runtime::new()?;
/// rt.block_on(async {
///     let err = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
///     assert!(signal(SignalKind::hangup()).is_ok());
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let signum = kind.as_raw_value();
    if signum <= 0 || signum >= libc::SIGRTMAX() || signal_hook::consts::FORBIDDEN.contains(&signum)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("hue: signal {signum} cannot be listened for (forbidden or not a signal)"),
        ));
    }
    let (read, write) = StdUnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    let pipe =
        PollEvented::with_interest(mio::net::UnixStream::from_std(read), Interest::READABLE)?;
    let id = pipe::register(signum, write)?;
    Ok(Signal { kind, pipe, id })
}

impl Signal {
    /// Waits for the next delivery. Always `Some(())` (the `Option` matches tokio's API, where
    /// `None` would mean no more signals can arrive).
    ///
    /// Cancel safe: dropping the future loses no delivery.
    ///
    /// See [`Signal`] for an example.
    pub async fn recv(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next delivery (see [`recv`](Self::recv)).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use hue_reactor::signal::{signal, SignalKind};
    ///
    /// let rt = hue_executor::Runtime::new()?;
    /// rt.block_on(async {
    ///     let mut usr2 = signal(SignalKind::user_defined2())?;
    ///     signal_hook::low_level::raise(libc::SIGUSR2)?;
    ///     poll_fn(|cx| usr2.poll_recv(cx)).await;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let mut buf = [0u8; 32];
        // Drain every byte written so far: one `recv` per batch of deliveries.
        match self
            .pipe
            .poll_io(cx, Direction::Read, |mut s| Read::read(&mut s, &mut buf))
        {
            Poll::Ready(Ok(_)) => {
                while let Ok(n) = self
                    .pipe
                    .try_io(Direction::Read, |mut s| Read::read(&mut s, &mut buf))
                {
                    if n < buf.len() {
                        break;
                    }
                }
                Poll::Ready(Some(()))
            }
            // The write end lives as long as the registration; errors are not expected, and
            // a stream that can no longer deliver is what `None` means.
            Poll::Ready(Err(_)) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The kind of signal this listener receives.
    ///
    /// ```
    /// use hue_reactor::signal::{signal, SignalKind};
    /// let rt = hue_executor::Runtime::new()?;
    /// rt.block_on(async {
    ///     assert_eq!(signal(SignalKind::hangup()).unwrap().kind(), SignalKind::hangup());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        // Removes the handler's action and closes the write end.
        unregister(self.id);
    }
}

/// Waits for the next Ctrl-C (SIGINT).
///
/// Listening starts at the first poll; a Ctrl-C before that is not seen (make a
/// [`signal`]`(SignalKind::interrupt())` early if that matters). From then on, SIGINT no
/// longer terminates the process by itself.
///
/// # Errors
///
/// As [`signal`].
///
/// ```no_run
/// let rt = hue_executor::Runtime::new()?;
/// rt.block_on(async {
///     hue_reactor::signal::ctrl_c().await?;
///     println!("bye");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut sigint = signal(SignalKind::interrupt())?;
    sigint.recv().await;
    Ok(())
}
