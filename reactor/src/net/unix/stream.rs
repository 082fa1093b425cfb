//! [`UnixStream`]: a connected Unix-domain stream socket.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use super::split::{self, ReadHalf, WriteHalf};
use super::split_owned::{self, OwnedReadHalf, OwnedWriteHalf};
use crate::io::{Direction, PollEvented};
use crate::net::stream_io;

/// A connected Unix-domain stream socket, registered with the reactor: futures-io
/// [`AsyncRead`](futures_io::AsyncRead) and [`AsyncWrite`](futures_io::AsyncWrite) (also on
/// `&UnixStream`), `split`, `into_split`, `try_read`/`try_write`, like
/// [`TcpStream`](crate::net::TcpStream).
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use hue_reactor::net::UnixStream;
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let (mut a, mut b) = UnixStream::pair()?;
///     a.write_all(b"over a socketpair").await?;
///     let mut buf = [0; 17];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"over a socketpair");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    io: PollEvented<mio::net::UnixStream>,
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl UnixStream {
    /// Connects to the socket bound at `path`.
    ///
    /// # Errors
    ///
    /// `NotFound` if no socket file is there, `ConnectionRefused` if nobody listens on it,
    /// `WouldBlock` if the listener's backlog is full; an error outside a hue runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::{UnixListener, UnixStream};
    ///
    /// let dir = std::env::temp_dir().join(format!("hue-doc-connect-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     let client = UnixStream::connect(&path).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    ///     # drop(server);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let stream = UnixStream::new(mio::net::UnixStream::connect(path)?)?;
        stream_io::finish_connect(&stream.io, mio::net::UnixStream::take_error, |s| {
            s.peer_addr().map(drop)
        })
        .await?;
        Ok(stream)
    }

    /// A pair of connected, unnamed sockets (`socketpair`).
    ///
    /// # Errors
    ///
    /// The OS error of `socketpair` (`EMFILE`...); an error outside a hue runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, b) = hue_reactor::net::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed() && b.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::new(a)?, UnixStream::new(b)?))
    }

    pub(super) fn new(sys: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
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
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let a = hue_reactor::net::UnixStream::from_std(a)?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::new(mio::net::UnixStream::from_std(stream))
    }

    /// Deregisters the stream and returns it as a std stream, still in non-blocking mode.
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
    /// let (a, _b) = hue_reactor::net::UnixStream::pair()?;
    /// let a: std::os::unix::net::UnixStream = a.into_std()?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.io
            .into_inner()
            .map(std::os::unix::net::UnixStream::from)
    }

    /// The local address (unnamed for a connecting client or a `pair`).
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
    /// let (a, _b) = hue_reactor::net::UnixStream::pair()?;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address (the listener's path, for a client).
    ///
    /// # Errors
    ///
    /// The OS error of `getpeername`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixStream::pair()?;
    /// assert!(a.peer_addr()?.is_unnamed());
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
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixStream::pair()?;
    /// assert!(a.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Shuts down the read, write, or both directions (see
    /// [`TcpStream::shutdown`](crate::net::TcpStream::shutdown)).
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Shutdown;
    /// use futures::io::AsyncReadExt;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, mut b) = hue_reactor::net::UnixStream::pair()?;
    /// a.shutdown(Shutdown::Write)?;
    /// let mut rest = Vec::new();
    /// assert_eq!(b.read_to_end(&mut rest).await?, 0); // EOF
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Waits until the stream is readable (data, EOF or an error waiting).
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
    /// let (a, b) = hue_reactor::net::UnixStream::pair()?;
    /// drop(a);
    /// b.readable().await?; // EOF is readable
    /// let mut buf = [0; 1];
    /// assert_eq!(b.try_read(&mut buf)?, 0);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Direction::Read).await.map(drop)
    }

    /// Waits until the stream is writable.
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
    /// let (a, _b) = hue_reactor::net::UnixStream::pair()?;
    /// a.writable().await?;
    /// assert_eq!(a.try_write(b"x")?, 1);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Direction::Write).await.map(drop)
    }

    /// Polls for read readiness (see [`readable`](Self::readable)).
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
    /// let (a, b) = hue_reactor::net::UnixStream::pair()?;
    /// drop(a);
    /// std::future::poll_fn(|cx| b.poll_read_ready(cx)).await?;
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
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixStream::pair()?;
    /// std::future::poll_fn(|cx| a.poll_write_ready(cx)).await?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(cx, Direction::Write).map_ok(drop)
    }

    /// Reads without waiting (see [`TcpStream::try_read`](crate::net::TcpStream::try_read)).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if nothing is (known to be) waiting, or the read's error.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixStream::pair()?;
    /// let mut buf = [0; 4];
    /// assert_eq!(a.try_read(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::try_read(&self.io, buf)
    }

    /// Like [`try_read`](Self::try_read), into several buffers.
    ///
    /// # Errors
    ///
    /// As `try_read`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IoSliceMut;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, b) = hue_reactor::net::UnixStream::pair()?;
    /// a.writable().await?;
    /// a.try_write(b"abcd")?;
    /// let (mut x, mut y) = ([0; 2], [0; 2]);
    /// let n = loop {
    ///     b.readable().await?;
    ///     match b.try_read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]) {
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         n => break n?,
    ///     }
    /// };
    /// assert_eq!((n, &x, &y), (4, b"ab", b"cd"));
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        stream_io::try_read_vectored(&self.io, bufs)
    }

    /// Writes without waiting (see
    /// [`TcpStream::try_write`](crate::net::TcpStream::try_write)).
    ///
    /// # Errors
    ///
    /// `WouldBlock` if the buffer is (known to be) full, or the write's error.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixStream::pair()?;
    /// a.writable().await?;
    /// assert_eq!(a.try_write(b"hey")?, 3);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        stream_io::try_write(&self.io, buf)
    }

    /// Like [`try_write`](Self::try_write), from several buffers.
    ///
    /// # Errors
    ///
    /// As `try_write`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::IoSlice;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, _b) = hue_reactor::net::UnixStream::pair()?;
    /// a.writable().await?;
    /// assert_eq!(a.try_write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])?, 4);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        stream_io::try_write_vectored(&self.io, bufs)
    }

    /// Splits the stream into halves borrowing it (see
    /// [`TcpStream::split`](crate::net::TcpStream::split), also for the name clash with
    /// `futures::io::AsyncReadExt::split`: write `UnixStream::split(&mut stream)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// use hue_reactor::net::UnixStream;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let (mut rd, mut wr) = UnixStream::split(&mut b);
    /// let echo = futures::io::copy(&mut rd, &mut wr);
    /// let talk = async {
    ///     a.write_all(b"echo").await?;
    ///     let mut buf = [0; 4];
    ///     a.read_exact(&mut buf).await?;
    ///     drop(a);
    ///     Ok::<_, std::io::Error>(buf)
    /// };
    /// let (copied, talked) = futures::join!(echo, talk);
    /// assert_eq!((copied?, &talked?), (4, b"echo"));
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        split::split(self)
    }

    /// Splits the stream into owned halves (see
    /// [`TcpStream::into_split`](crate::net::TcpStream::into_split)): dropping the write half
    /// shuts down writing.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (a, mut b) = hue_reactor::net::UnixStream::pair()?;
    /// let (_rd, mut wr) = a.into_split();
    /// hue_executor::spawn(async move { wr.write_all(b"bye").await }).await.unwrap()?;
    /// let mut got = Vec::new();
    /// b.read_to_end(&mut got).await?;
    /// assert_eq!(got, b"bye");
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

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl TryFrom<std::os::unix::net::UnixStream> for UnixStream {
    type Error = io::Error;

    /// [`UnixStream::from_std`].
    fn try_from(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_std(stream)
    }
}

crate::net::stream_io::stream_traits!(UnixStream, this => this.get_mut());
crate::net::stream_io::stream_traits!(&UnixStream, this => *this.get_mut());
