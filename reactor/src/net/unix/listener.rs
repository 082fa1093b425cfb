//! [`UnixListener`]: a Unix-domain socket accepting connections.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{ready, Context, Poll};

use super::UnixStream;
use crate::io::{Direction, PollEvented};

/// A Unix-domain socket listening for connections, registered with the reactor.
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use hue_reactor::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("hue-doc-unix-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("echo.sock");
/// # let _ = std::fs::remove_file(&path);
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let listener = UnixListener::bind(&path)?;
///     hue_executor::spawn(async move {
///         let (conn, _) = listener.accept().await?;
///         let (mut rd, mut wr) = conn.into_split();
///         futures::io::copy(&mut rd, &mut wr).await
///     });
///     let mut client = UnixStream::connect(&path).await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     client.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     Ok::<(), std::io::Error>(())
/// })?;
/// std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl UnixListener {
    /// Binds a listener at `path`, creating the socket file (which must not exist yet).
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the file exists, `NotFound` if its directory does not, other OS errors;
    /// an error outside a hue runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("hue-doc-bind-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = hue_reactor::net::UnixListener::bind(&path)?;
    ///     let again = hue_reactor::net::UnixListener::bind(&path).unwrap_err();
    ///     assert_eq!(again.kind(), std::io::ErrorKind::AddrInUse);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::new(mio::net::UnixListener::bind(path)?)
    }

    fn new(sys: mio::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
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
    /// let dir = std::env::temp_dir().join(format!("hue-doc-ustd-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// # let _ = std::fs::remove_file(dir.join("sock"));
    /// let std_listener = std::os::unix::net::UnixListener::bind(dir.join("sock"))?;
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = hue_reactor::net::UnixListener::from_std(std_listener)?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::new(mio::net::UnixListener::from_std(listener))
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
    /// let dir = std::env::temp_dir().join(format!("hue-doc-uinto-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// # let _ = std::fs::remove_file(dir.join("sock"));
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// let std_listener = rt.block_on(async {
    ///     hue_reactor::net::UnixListener::bind(dir.join("sock"))?.into_std()
    /// })?;
    /// assert!(std_listener.local_addr()?.as_pathname().is_some());
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        self.io
            .into_inner()
            .map(std::os::unix::net::UnixListener::from)
    }

    /// Waits for a connection and accepts it.
    ///
    /// # Errors
    ///
    /// The OS error of `accept` (see [`TcpListener::accept`](crate::net::TcpListener::accept)
    /// for `EMFILE`).
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::{UnixListener, UnixStream};
    ///
    /// let dir = std::env::temp_dir().join(format!("hue-doc-accept-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     let _client = UnixStream::connect(&path).await?;
    ///     let (conn, peer) = listener.accept().await?;
    ///     assert!(peer.is_unnamed()); // the client did not bind a path
    ///     assert_eq!(conn.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls an [`accept`](Self::accept).
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::{UnixListener, UnixStream};
    ///
    /// let dir = std::env::temp_dir().join(format!("hue-doc-paccept-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = UnixListener::bind(&path)?;
    ///     let _client = UnixStream::connect(&path).await?;
    ///     let (_conn, _) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (sys, peer) = ready!(self.io.poll_io(cx, Direction::Read, |l| l.accept()))?;
        Poll::Ready(UnixStream::new(sys).map(|stream| (stream, peer)))
    }

    /// The address (path) the listener is bound to.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("hue-doc-uaddr-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = hue_reactor::net::UnixListener::bind(&path)?;
    ///     assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl TryFrom<std::os::unix::net::UnixListener> for UnixListener {
    type Error = io::Error;

    /// [`UnixListener::from_std`].
    fn try_from(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_std(listener)
    }
}
