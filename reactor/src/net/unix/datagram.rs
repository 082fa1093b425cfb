//! [`UnixDatagram`]: datagrams over a Unix-domain socket.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use crate::io::{Direction, PollEvented};

/// A Unix-domain datagram socket, registered with the reactor (the Unix counterpart of
/// [`UdpSocket`](crate::net::UdpSocket); datagrams are reliable and ordered here).
///
/// # Examples
///
/// ```
/// use hue_reactor::net::UnixDatagram;
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"one").await?;
///     a.send(b"two").await?;
///     let mut buf = [0; 8];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one");
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"two");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    io: PollEvented<mio::net::UnixDatagram>,
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl UnixDatagram {
    /// A socket bound at `path` (the file must not exist yet).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the file exists, other OS errors; an error outside a hue runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::UnixDatagram;
    ///
    /// let dir = std::env::temp_dir().join(format!("hue-doc-dgram-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// # let _ = std::fs::remove_file(dir.join("server"));
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let server = UnixDatagram::bind(dir.join("server"))?;
    ///     let client = UnixDatagram::unbound()?;
    ///     client.send_to(b"hello", dir.join("server")).await?;
    ///     let mut buf = [0; 8];
    ///     let (n, from) = server.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hello");
    ///     assert!(from.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::new(mio::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address (it can send, and receive replies only if connected).
    ///
    /// # Errors
    ///
    /// The OS error of `socket`; an error outside a hue runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UnixDatagram::unbound()?;
    /// assert!(socket.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::new(mio::net::UnixDatagram::unbound()?)
    }

    /// A pair of connected, unnamed sockets.
    ///
    /// # Errors
    ///
    /// The OS error of `socketpair`; an error outside a hue runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, b) = hue_reactor::net::UnixDatagram::pair()?;
    /// b.send(b"x").await?;
    /// let mut buf = [0; 1];
    /// assert_eq!(a.recv(&mut buf).await?, 1);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::new(a)?, UnixDatagram::new(b)?))
    }

    fn new(sys: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new(sys)?,
        })
    }

    /// Wraps a std socket, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If the mode cannot be set or the socket cannot be registered (outside a hue runtime).
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let std_socket = std::os::unix::net::UnixDatagram::unbound()?;
    /// let socket = hue_reactor::net::UnixDatagram::from_std(std_socket)?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::new(mio::net::UnixDatagram::from_std(socket))
    }

    /// Deregisters the socket and returns it as a std socket, still in non-blocking mode.
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
    /// let socket = hue_reactor::net::UnixDatagram::unbound()?;
    /// let std_socket: std::os::unix::net::UnixDatagram = socket.into_std()?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.io
            .into_inner()
            .map(std::os::unix::net::UnixDatagram::from)
    }

    /// Connects the socket to the socket at `path`: [`send`](Self::send) goes there and only
    /// its datagrams are received.
    ///
    /// # Errors
    ///
    /// `NotFound` or `ConnectionRefused` if no socket is bound there.
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::UnixDatagram;
    ///
    /// let dir = std::env::temp_dir().join(format!("hue-doc-dconn-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// # let _ = std::fs::remove_file(dir.join("server"));
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let server = UnixDatagram::bind(dir.join("server"))?;
    ///     let client = UnixDatagram::unbound()?;
    ///     client.connect(dir.join("server"))?;
    ///     client.send(b"hi").await?;
    ///     let mut buf = [0; 2];
    ///     assert_eq!(server.recv(&mut buf).await?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// The address the socket is bound to (unnamed if unbound).
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
    /// let (a, _b) = hue_reactor::net::UnixDatagram::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UnixDatagram::unbound()?;
    /// assert_eq!(socket.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sends `buf` as one datagram to the connected peer; waits while the peer's queue is full.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the socket is not connected; other OS errors of `send`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixDatagram::pair()?;
    /// assert_eq!(a.send(b"msg").await?, 3);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls a [`send`](Self::send).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixDatagram::pair()?;
    /// std::future::poll_fn(|cx| a.poll_send(cx, b"x")).await?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |s| s.send(buf))
    }

    /// Sends without waiting; `WouldBlock` if the socket is not (known to be) writable.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixDatagram::pair()?;
    /// a.writable().await?;
    /// assert_eq!(a.try_send(b"x")?, 1);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Receives one datagram (the rest of a longer one is dropped); waits until one arrives.
    ///
    /// # Errors
    ///
    /// OS errors of `recv`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, b) = hue_reactor::net::UnixDatagram::pair()?;
    /// a.send(b"abc").await?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.recv(&mut buf).await?, 3);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Polls a [`recv`](Self::recv).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, b) = hue_reactor::net::UnixDatagram::pair()?;
    /// a.send(b"abc").await?;
    /// let mut buf = [0; 8];
    /// assert_eq!(std::future::poll_fn(|cx| b.poll_recv(cx, &mut buf)).await?, 3);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))
    }

    /// Receives without waiting; `WouldBlock` if no datagram is (known to be) waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixDatagram::pair()?;
    /// let mut buf = [0; 8];
    /// assert_eq!(a.try_recv(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Sends `buf` as one datagram to the socket bound at `path`.
    ///
    /// # Errors
    ///
    /// `NotFound` or `ConnectionRefused` if no socket is bound there; other OS errors.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UnixDatagram::unbound()?;
    /// let err = socket.send_to(b"x", "/nonexistent/hue.sock").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        std::future::poll_fn(|cx| {
            self.io
                .poll_io(cx, Direction::Write, |s| s.send_to(buf, path))
        })
        .await
    }

    /// Receives one datagram and the address of its sender; waits until one arrives.
    ///
    /// # Errors
    ///
    /// OS errors of `recvfrom`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, b) = hue_reactor::net::UnixDatagram::pair()?;
    /// a.send(b"who").await?;
    /// let mut buf = [0; 8];
    /// let (n, from) = b.recv_from(&mut buf).await?;
    /// assert_eq!(n, 3);
    /// assert!(from.is_unnamed());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))).await
    }

    /// Waits until a datagram (or an error) is waiting.
    ///
    /// # Errors
    ///
    /// None today; kept for errors of the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, b) = hue_reactor::net::UnixDatagram::pair()?;
    /// a.send(b"x").await?;
    /// b.readable().await?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Direction::Read).await.map(drop)
    }

    /// Waits until the socket can send.
    ///
    /// # Errors
    ///
    /// None today; kept for errors of the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixDatagram::pair()?;
    /// a.writable().await?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Direction::Write).await.map(drop)
    }

    /// Shuts down the read, write, or both directions.
    ///
    /// # Errors
    ///
    /// The OS error of `shutdown`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixDatagram::pair()?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// assert!(a.send(b"x").await.is_err()); // EPIPE
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UnixDatagram::unbound()?;
    /// assert!(socket.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl TryFrom<std::os::unix::net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    /// [`UnixDatagram::from_std`].
    fn try_from(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(socket)
    }
}
