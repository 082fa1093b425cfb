//! [`TcpStream`]: a connected TCP socket.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};
use std::time::Duration;

use super::split::{self, ReadHalf, WriteHalf};
use super::split_owned::{self, OwnedReadHalf, OwnedWriteHalf};
use crate::io::{Direction, PollEvented};
use crate::net::addr::{each_addr, resolve, ToSocketAddrs};
use crate::net::stream_io;

/// A TCP connection, registered with the reactor.
///
/// Read and write it through futures-io's [`AsyncRead`](futures_io::AsyncRead) and
/// [`AsyncWrite`](futures_io::AsyncWrite) (implemented for `TcpStream` and for `&TcpStream`,
/// so two tasks can share one), or with [`readable`](Self::readable) +
/// [`try_read`](Self::try_read). Closing the write direction:
/// [`shutdown`](Self::shutdown) or `AsyncWrite::poll_close`. Dropping the stream closes it.
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use hue_reactor::net::{TcpListener, TcpStream};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = hue_executor::spawn(async move {
///         let (mut conn, _) = listener.accept().await?;
///         let mut buf = [0; 5];
///         conn.read_exact(&mut buf).await?;
///         conn.write_all(&buf).await?;
///         Ok::<(), std::io::Error>(())
///     });
///     let mut stream = TcpStream::connect(addr).await?;
///     stream.write_all(b"hello").await?;
///     let mut echo = [0; 5];
///     stream.read_exact(&mut echo).await?;
///     assert_eq!(&echo, b"hello");
///     server.await.unwrap()
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    pub(super) io: PollEvented<mio::net::TcpStream>,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl TcpStream {
    /// Connects to `addr`; with several addresses (a name that resolves to more than one),
    /// tries each in turn and returns the first connection, or the last error.
    ///
    /// The connect is non-blocking: the task waits (without blocking its worker) until the
    /// handshake ends, then reports the socket's error, if any.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` if nothing listens at the address, `InvalidInput` if `addr` is not
    /// an address, the resolver's error for a name that does not resolve, an error outside a
    /// hue runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::{TcpListener, TcpStream};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let port = listener.local_addr()?.port();
    ///     let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    ///     assert_eq!(stream.peer_addr()?.port(), port);
    ///
    ///     drop(listener); // nothing listens there any more
    ///     let err = TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let addrs = resolve(addr).await?;
        each_addr(addrs, TcpStream::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let sys = mio::net::TcpStream::connect(addr)?;
        TcpStream::connect_mio(sys).await
    }

    /// Registers a socket whose non-blocking connect is in progress and waits for its end.
    pub(crate) async fn connect_mio(sys: mio::net::TcpStream) -> io::Result<TcpStream> {
        let stream = TcpStream::new(sys)?;
        stream_io::finish_connect(&stream.io, mio::net::TcpStream::take_error, |s| {
            s.peer_addr().map(drop)
        })
        .await?;
        Ok(stream)
    }

    /// Registers a connected (or connecting) non-blocking socket.
    pub(crate) fn new(sys: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(sys)?,
        })
    }

    /// Wraps a connected std stream, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If the mode cannot be set or the socket cannot be registered (outside a hue runtime).
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::{TcpListener, TcpStream};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    ///     let stream = TcpStream::from_std(std_stream)?;
    ///     assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::new(mio::net::TcpStream::from_std(stream))
    }

    /// Deregisters the stream and returns it as a std stream, still in non-blocking mode
    /// (call `set_nonblocking(false)` to make it blocking).
    ///
    /// # Errors
    ///
    /// If deregistering fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::{TcpListener, TcpStream};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = TcpStream::connect(listener.local_addr()?).await?;
    ///     let std_stream = stream.into_std()?;
    ///     std_stream.set_nonblocking(false)?;
    ///     assert_eq!(std_stream.peer_addr()?, listener.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.io.into_inner().map(std::net::TcpStream::from)
    }

    /// The local address of the connection.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// assert!(stream.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone, or another OS error of `getpeername`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
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
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// assert!(stream.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Sets `TCP_NODELAY`: when `true`, small writes are sent at once instead of being
    /// coalesced (Nagle's algorithm off). Request/response protocols usually want it.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// stream.set_nodelay(true)?;
    /// assert!(stream.nodelay()?);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// assert!(!stream.nodelay()?); // the OS default
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `SO_LINGER`. `Some(Duration::ZERO)` makes dropping the stream reset the connection
    /// (the peer sees `ConnectionReset`) instead of closing it gracefully.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// stream.set_linger(Some(Duration::ZERO))?;
    /// assert_eq!(stream.linger()?, Some(Duration::ZERO));
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket2::SockRef::from(self).set_linger(linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.linger()?, None); // the OS default
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        socket2::SockRef::from(self).linger()
    }

    /// Sets the IP time-to-live of outgoing packets.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// stream.set_ttl(42)?;
    /// assert_eq!(stream.ttl()?, 42);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing packets.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// assert!(stream.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Shuts down the read, write, or both directions (at once: no waiting).
    ///
    /// After `shutdown(Shutdown::Write)` the peer reads EOF once it has read everything sent
    /// before, and can still write back (a half-close). `AsyncWrite::poll_close` does the same.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is already gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Shutdown;
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// use hue_reactor::net::{TcpListener, TcpStream};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (mut server, _) = listener.accept().await?;
    ///     client.write_all(b"last words").await?;
    ///     client.shutdown(Shutdown::Write)?;
    ///     let mut got = Vec::new();
    ///     server.read_to_end(&mut got).await?; // ends: EOF
    ///     assert_eq!(got, b"last words");
    ///     server.write_all(b"ack").await?; // the other direction still works
    ///     let mut ack = [0; 3];
    ///     client.read_exact(&mut ack).await?;
    ///     assert_eq!(&ack, b"ack");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Waits until the stream is readable: data, EOF, or an error is waiting. Then
    /// [`try_read`](Self::try_read) (which may still say `WouldBlock`: readiness can be
    /// spurious).
    ///
    /// # Errors
    ///
    /// None today; kept for errors of the reactor.
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
    ///     let (server, _) = listener.accept().await?;
    ///     client.writable().await?;
    ///     client.try_write(b"ping")?;
    ///     let mut buf = [0; 16];
    ///     let n = loop {
    ///         server.readable().await?;
    ///         match server.try_read(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"ping");
    ///     Ok(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Direction::Read).await.map(drop)
    }

    /// Waits until the stream is writable (or an error is waiting). Then
    /// [`try_write`](Self::try_write).
    ///
    /// # Errors
    ///
    /// None today; kept for errors of the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// stream.writable().await?;
    /// assert_eq!(stream.try_write(b"hi")?, 2);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Direction::Write).await.map(drop)
    }

    /// Polls for read readiness (see [`readable`](Self::readable)): `Ready` when the reactor
    /// saw the stream readable, else the waker is stored and `Pending` returned.
    ///
    /// # Errors
    ///
    /// None today; kept for errors of the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// drop(client); // EOF: readable
    /// poll_fn(|cx| server.poll_read_ready(cx)).await?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Read).map_ok(drop)
    }

    /// Polls for write readiness (see [`writable`](Self::writable)).
    ///
    /// # Errors
    ///
    /// None today; kept for errors of the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// poll_fn(|cx| stream.poll_write_ready(cx)).await?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Reads without waiting: the bytes read (0 at EOF), or `WouldBlock` if nothing is
    /// waiting (or the reactor has not seen the stream readable yet: await
    /// [`readable`](Self::readable) first).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the read's error (`ConnectionReset`...).
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// // Nothing was sent: no data, no waiting.
    /// let err = stream.try_read(&mut buf).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::try_read(&self.io, buf)
    }

    /// Like [`try_read`](Self::try_read), into several buffers (`readv`).
    ///
    /// # Errors
    ///
    /// As `try_read`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IoSliceMut;
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// client.writable().await?;
    /// client.try_write(b"headbody")?;
    /// let (mut head, mut body) = ([0; 4], [0; 4]);
    /// let n = loop {
    ///     server.readable().await?;
    ///     let mut bufs = [IoSliceMut::new(&mut head), IoSliceMut::new(&mut body)];
    ///     match server.try_read_vectored(&mut bufs) {
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         n => break n?,
    ///     }
    /// };
    /// assert_eq!(n, 8);
    /// assert_eq!((&head, &body), (b"head", b"body"));
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        stream_io::try_read_vectored(&self.io, bufs)
    }

    /// Writes without waiting: the bytes written, or `WouldBlock` if the socket's buffer is
    /// full (or the reactor has not seen it writable yet: await [`writable`](Self::writable)).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or the write's error (`BrokenPipe`, `ConnectionReset`...).
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// stream.writable().await?;
    /// assert_eq!(stream.try_write(b"hello")?, 5);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        stream_io::try_write(&self.io, buf)
    }

    /// Like [`try_write`](Self::try_write), from several buffers (`writev`).
    ///
    /// # Errors
    ///
    /// As `try_write`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IoSlice;
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let stream = TcpStream::connect(listener.local_addr()?).await?;
    /// stream.writable().await?;
    /// let n = stream.try_write_vectored(&[IoSlice::new(b"head"), IoSlice::new(b"body")])?;
    /// assert_eq!(n, 8);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        stream_io::try_write_vectored(&self.io, bufs)
    }

    /// Reads bytes without removing them from the socket: the next read returns them again.
    /// Waits until something (or EOF) is there.
    ///
    /// # Errors
    ///
    /// The read's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (mut server, _) = listener.accept().await?;
    /// client.write_all(b"GET /").await?;
    /// let mut first = [0; 3];
    /// let n = server.peek(&mut first).await?;
    /// assert_eq!(&first[..n], &b"GET"[..n]);
    /// let mut all = [0; 5];
    /// server.read_exact(&mut all).await?; // still there
    /// assert_eq!(&all, b"GET /");
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Polls a [`peek`](Self::peek).
    ///
    /// # Errors
    ///
    /// The read's error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use futures::io::AsyncWriteExt;
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// client.write_all(b"x").await?;
    /// let mut buf = [0; 1];
    /// assert_eq!(poll_fn(|cx| server.poll_peek(cx, &mut buf)).await?, 1);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.peek(buf))
    }

    /// Splits the stream into a read half and a write half that borrow it, to read and write
    /// at once from one task (for example with `join!`). No allocation, no locking. For halves
    /// that move to other tasks, see [`into_split`](Self::into_split).
    ///
    /// **Name clash:** with `futures::io::AsyncReadExt` in scope, `stream.split()` calls that
    /// trait's `split` (it takes the stream by value, which method lookup tries first, and
    /// returns halves behind a lock). Write `TcpStream::split(&mut stream)` (or
    /// `(&mut stream).split()`) to get these.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (mut server, _) = listener.accept().await?;
    /// let (mut rd, mut wr) = TcpStream::split(&mut server);
    /// let echo = futures::io::copy(&mut rd, &mut wr); // server echoes
    /// let talk = async {
    ///     client.write_all(b"ping").await?;
    ///     let mut buf = [0; 4];
    ///     client.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"ping");
    ///     drop(client);
    ///     Ok::<(), std::io::Error>(())
    /// };
    /// let (copied, talked) = futures::join!(echo, talk);
    /// talked?;
    /// assert_eq!(copied?, 4);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Splits the stream into owned halves that share it (an `Arc`), for two tasks, of any
    /// colors. Dropping the write half shuts down the write direction;
    /// [`OwnedWriteHalf::reunite`] gives the stream back.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// use hue_executor::Color;
    /// # use hue_reactor::net::{TcpListener, TcpStream};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// let (mut rd, mut wr) = client.into_split();
    /// let writer = hue_executor::spawn_colored(Color::fresh(), async move {
    ///     wr.write_all(b"one way").await?;
    ///     Ok::<_, std::io::Error>(wr) // dropping it would send EOF
    /// });
    /// let mut server = server;
    /// let mut buf = [0; 7];
    /// server.read_exact(&mut buf).await?;
    /// server.write_all(b"back").await?;
    /// let mut back = [0; 4];
    /// rd.read_exact(&mut back).await?;
    /// let wr = writer.await.unwrap()?;
    /// let stream = rd.reunite(wr).unwrap();
    /// assert_eq!((&buf, &back), (b"one way", b"back"));
    /// # drop(stream);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned::split_owned(self)
    }

    pub(super) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        stream_io::poll_read(&self.io, cx, buf)
    }

    #[cfg(any(feature = "tokio", feature = "hyper"))]
    pub(super) fn poll_read_uninit_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        stream_io::poll_read_uninit(&self.io, cx, buf)
    }

    pub(super) fn poll_read_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        stream_io::poll_read_vectored(&self.io, cx, bufs)
    }

    pub(super) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        stream_io::poll_write(&self.io, cx, buf)
    }

    pub(super) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        stream_io::poll_write_vectored(&self.io, cx, bufs)
    }

    pub(super) fn shutdown_write(&self) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    /// [`TcpStream::from_std`].
    fn try_from(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(stream)
    }
}

crate::net::stream_io::stream_traits!(TcpStream, this => this.get_mut());
crate::net::stream_io::stream_traits!(&TcpStream, this => *this.get_mut());
