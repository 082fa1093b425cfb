//! [`TcpListener`]: a TCP socket accepting connections.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{ready, Context, Poll};

use super::{TcpSocket, TcpStream};
use crate::io::{Direction, PollEvented};
use crate::net::addr::{each_addr, resolve, ToSocketAddrs};

/// The backlog of [`TcpListener::bind`] (the kernel caps it at `net.core.somaxconn`).
pub(super) const DEFAULT_BACKLOG: u32 = 1024;

/// A TCP socket listening for connections, registered with the reactor.
///
/// # Examples
///
/// An echo server, one color per connection:
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use hue_executor::Color;
/// use hue_reactor::net::{TcpListener, TcpStream};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     hue_executor::spawn(async move {
///         loop {
///             let Ok((conn, _peer)) = listener.accept().await else { continue };
///             hue_executor::spawn_colored(Color::fresh(), async move {
///                 let (mut rd, mut wr) = conn.into_split();
///                 let _ = futures::io::copy(&mut rd, &mut wr).await;
///             });
///         }
///     });
///     let mut client = TcpStream::connect(addr).await?;
///     client.write_all(b"hello").await?;
///     let mut buf = [0; 5];
///     client.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl TcpListener {
    /// Binds a listener to `addr` (port 0: any free port) with `SO_REUSEADDR` and a backlog of
    /// 1024 (capped by the kernel's `somaxconn`). With several addresses, tries each in turn
    /// and returns the first that binds, or the last error. For `SO_REUSEPORT`, other options
    /// or another backlog, use [`TcpSocket`].
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, `PermissionDenied` from the OS; `InvalidInput` if
    /// `addr` is not an address; an error outside a hue runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::TcpListener;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     assert_ne!(listener.local_addr()?.port(), 0);
    ///     let taken = TcpListener::bind(listener.local_addr()?).await.unwrap_err();
    ///     assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let addrs = resolve(addr).await?;
        each_addr(addrs, |addr| async move { TcpListener::bind_addr(addr) }).await
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
        let socket = TcpSocket::new_for(addr)?;
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(DEFAULT_BACKLOG)
    }

    /// Registers a listening non-blocking socket.
    pub(super) fn new(sys: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: PollEvented::with_interest(sys, mio::Interest::READABLE)?,
        })
    }

    /// Wraps a std listener, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If the mode cannot be set or the socket cannot be registered (outside a hue runtime).
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::TcpListener;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    ///     let listener = TcpListener::from_std(std_listener)?;
    ///     assert!(listener.local_addr()?.ip().is_loopback());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::new(mio::net::TcpListener::from_std(listener))
    }

    /// Deregisters the listener and returns it as a std listener, still in non-blocking mode.
    ///
    /// # Errors
    ///
    /// If deregistering fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let listener = hue_reactor::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let std_listener = listener.into_std()?;
    /// assert_eq!(std_listener.local_addr()?, addr);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.io.into_inner().map(std::net::TcpListener::from)
    }

    /// Waits for a connection and accepts it: the stream (registered, non-blocking) and the
    /// peer's address.
    ///
    /// # Errors
    ///
    /// The OS error of `accept`. Most are about one connection (`ConnectionAborted`: the
    /// peer gave up) or temporary (`EMFILE`/`ENFILE`: out of file descriptors, the connection
    /// stays queued): a server should log them and accept again, after a short pause for the
    /// temporary ones, since the listener stays ready and the next call retries at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::{TcpListener, TcpStream};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (conn, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.local_addr()?);
    ///     assert_eq!(conn.peer_addr()?, peer);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls an [`accept`](Self::accept): `Pending` (waker stored) until a connection waits.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use hue_reactor::net::{TcpListener, TcpStream};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let _client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (_conn, _peer) = poll_fn(|cx| listener.poll_accept(cx)).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (sys, peer) = ready!(self.io.poll_io(cx, Direction::Read, |l| l.accept()))?;
        Poll::Ready(TcpStream::new(sys).map(|stream| (stream, peer)))
    }

    /// The address the listener is bound to (with the port chosen, after binding port 0).
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let listener = hue_reactor::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// assert!(addr.ip().is_loopback() && addr.port() != 0);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets the IP time-to-live of the listener's packets (and of accepted sockets).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let listener = hue_reactor::net::TcpListener::bind("127.0.0.1:0").await?;
    /// listener.set_ttl(100)?;
    /// assert_eq!(listener.ttl()?, 100);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of the listener's packets.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let listener = hue_reactor::net::TcpListener::bind("127.0.0.1:0").await?;
    /// assert!(listener.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    /// [`TcpListener::from_std`].
    fn try_from(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
    }
}
