//! Networking: TCP, UDP and Unix sockets driven by hue's reactor.
//!
//! | type | what |
//! |---|---|
//! | [`TcpListener`] | `bind`, `accept` |
//! | [`TcpStream`] | `connect`, futures-io [`AsyncRead`]/[`AsyncWrite`] (and tokio's and hyper's with the `tokio` and `hyper` features), `split`, `into_split`, `try_read`/`try_write`, `readable`/`writable`, `peek`, `shutdown`, `set_nodelay` |
//! | [`TcpSocket`] | a socket builder: `SO_REUSEADDR`, `SO_REUSEPORT` (N-copy servers), buffer sizes, backlog, then `listen` or `connect` |
//! | [`UdpSocket`] | `bind`, `connect`, `send`/`recv`, `send_to`/`recv_from` |
//! | [`UnixListener`], [`UnixStream`], [`UnixDatagram`] | the same over Unix-domain sockets |
//!
//! Every socket is registered with the reactor of the runtime it is made in (installing the
//! reactor if the runtime has none yet); making one outside a hue runtime is an error. The
//! sockets know nothing of colors: a task of any color may use any socket, and a socket may be
//! shared between colors (`&TcpStream` implements `AsyncRead` and `AsyncWrite`; the halves of
//! [`TcpStream::into_split`] go to different tasks).
//!
//! # How operations wait
//!
//! Readiness is edge-triggered (mio's contract). An operation such as a read first waits until
//! the socket is ready in its direction, then tries the system call; on `WouldBlock` it clears
//! the readiness and waits again. A read (or write) that moves fewer bytes than asked for also
//! clears the readiness: the socket's buffer was drained (or filled), so the next call waits
//! for the next event instead of paying for a system call that would fail with `EAGAIN`.
//!
//! **Fairness (S7).** Every wait that finds its socket ready spends one unit of the task's
//! cooperative budget ([`hue_executor::coop`], 128 per poll). A task reading a socket that
//! always has data therefore returns `Pending` (after waking itself) every 128 operations, and
//! the other tasks of its worker get their turn.
//!
//! # tokio's and hyper's traits
//!
//! With the `tokio` feature, [`TcpStream`], [`UnixStream`], `&TcpStream`, `&UnixStream` and
//! their halves implement `tokio::io::AsyncRead`/`AsyncWrite` themselves, so `BufReader`,
//! `tokio::io::copy` and `tokio_util::codec::Framed` take them as they are; with the `hyper`
//! feature they implement `hyper::rt::Read`/`Write`, so hyper serves them directly. Reads go
//! into the callers' uninitialized buffers with no zeroing, as tokio's own sockets do. (Import
//! one ecosystem's extension traits at a time: with both futures' and tokio's `AsyncReadExt`
//! in scope, `stream.read(..)` is ambiguous.)
//!
//! The `try_*` methods never wait: they return `WouldBlock` unless the reactor has seen the
//! socket ready (use them after `readable()`/`writable()`).
//!
//! # Addresses
//!
//! Methods that take an address take any [`ToSocketAddrs`]: a `SocketAddr`, `(IpAddr, u16)`,
//! `(&str, u16)`, `"host:port"`, a `String`, or a slice of `SocketAddr`s. IP literals are parsed
//! on the spot; a host name is resolved with the system resolver on the blocking pool
//! ([`hue_executor::spawn_blocking`]), so a worker never blocks on DNS. An input that is not an
//! address (no port, a port out of range, an empty host) is an
//! [`InvalidInput`](std::io::ErrorKind::InvalidInput) error whose message quotes it. When a
//! name resolves to several addresses, `bind` and `connect` try them in order and return the
//! first success, or the last error.
//!
//! # Errors worth knowing
//!
//! - `connect` to a port with no listener: [`ConnectionRefused`](std::io::ErrorKind::ConnectionRefused).
//! - A peer that resets the connection: reads fail with
//!   [`ConnectionReset`](std::io::ErrorKind::ConnectionReset), writes with `ConnectionReset`
//!   or [`BrokenPipe`](std::io::ErrorKind::BrokenPipe) (which one depends on whether the reset
//!   arrived before the write). Writes never raise `SIGPIPE`.
//! - `accept` when the process is out of file descriptors (`EMFILE`/`ENFILE`): the error is
//!   returned and the pending connection stays in the backlog; the listener stays ready, so
//!   the next `accept` tries again at once. A server loop should back off (sleep a little)
//!   before retrying, or it spins through its budget until descriptors are freed.
//!
//! # Shutdown
//!
//! Dropping the runtime drops every task, and with them their sockets: a socket deregisters
//! and closes when dropped, whatever it was waiting for.
//!
//! A socket belongs to the reactor of the runtime it was made in. Tasks of another runtime may
//! use it while that runtime lives; once it is dropped nobody drives its reactor, so every
//! operation on a socket that outlived it (returned from `block_on`, say) fails with an error
//! saying so, including waits that were pending at the time, instead of waiting forever.
//!
//! [`AsyncRead`]: futures_io::AsyncRead
//! [`AsyncWrite`]: futures_io::AsyncWrite

mod addr;
#[cfg(any(feature = "tokio", feature = "hyper"))]
mod ecosystem;
mod stream_io;
pub mod tcp;
mod udp;
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
