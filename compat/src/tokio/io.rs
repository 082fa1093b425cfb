//! [`Compat`]: tokio's I/O traits over futures-io types, and the reverse.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;
use tokio::io::ReadBuf;

pin_project! {
    /// An I/O object seen through the other ecosystem's traits, the same shape as
    /// `tokio_util::compat::Compat`:
    ///
    /// | `T` implements | `Compat<T>` implements |
    /// |---|---|
    /// | futures-io `AsyncRead` | `tokio::io::AsyncRead` |
    /// | futures-io `AsyncWrite` | `tokio::io::AsyncWrite` |
    /// | futures-io `AsyncBufRead` | `tokio::io::AsyncBufRead` |
    /// | `tokio::io::AsyncRead` | futures-io `AsyncRead` |
    /// | `tokio::io::AsyncWrite` | futures-io `AsyncWrite` |
    /// | `tokio::io::AsyncBufRead` | futures-io `AsyncBufRead` |
    ///
    /// Make one with [`Compat::new`] or the extension methods
    /// ([`FuturesAsyncReadCompatExt::compat`] for a hue socket,
    /// [`TokioAsyncReadCompatExt::compat`] for a tokio type, and their `compat_write`
    /// counterparts for write-only types).
    ///
    /// The adapter adds no buffering and passes every count through as is: a read or write that
    /// moves fewer bytes than asked for stays partial, `Pending` stays `Pending` (with the
    /// inner type's waker registration), errors pass unchanged. `poll_shutdown` (tokio) and
    /// `poll_close` (futures) map to each other; vectored writes are forwarded as vectored
    /// writes. A tokio read fills the `ReadBuf`'s uninitialised tail with zeros the first
    /// time it is handed to the futures side (futures-io reads into `&mut [u8]`, which must be
    /// initialised), as `tokio_util::compat` does.
    ///
    /// # Examples
    ///
    /// A hue `TcpStream` with tokio's `AsyncReadExt`/`AsyncWriteExt`:
    ///
    /// ```
    /// use hue_compat::tokio::FuturesAsyncReadCompatExt;
    /// use hue_reactor::net::{TcpListener, TcpStream};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// hue_executor::block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let server = hue_compat::spawn(async move {
    ///         let (stream, _) = listener.accept().await?;
    ///         let mut stream = stream.compat(); // tokio's traits from here on
    ///         let mut buf = [0u8; 5];
    ///         stream.read_exact(&mut buf).await?;
    ///         stream.write_all(&buf).await?;
    ///         std::io::Result::Ok(())
    ///     });
    ///     let mut client = TcpStream::connect(addr).await?.compat();
    ///     client.write_all(b"hello").await?;
    ///     let mut echo = String::new();
    ///     client.read_to_string(&mut echo).await?;
    ///     assert_eq!(echo, "hello");
    ///     server.await.unwrap()
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Compat<T> {
        #[pin]
        inner: T,
    }
}

impl<T> Compat<T> {
    /// Wraps `inner`; which traits the wrapper has depends on `inner`'s (see [`Compat`]).
    ///
    /// ```
    /// use hue_compat::tokio::Compat;
    /// use tokio::io::AsyncReadExt;
    ///
    /// hue_executor::block_on(async {
    ///     // `&[u8]` implements futures-io's AsyncRead.
    ///     let mut r = Compat::new(&b"abc"[..]);
    ///     let mut s = String::new();
    ///     r.read_to_string(&mut s).await.unwrap();
    ///     assert_eq!(s, "abc");
    /// });
    /// ```
    pub fn new(inner: T) -> Compat<T> {
        Compat { inner }
    }

    /// The wrapped object.
    ///
    /// ```
    /// let c = hue_compat::tokio::Compat::new(5);
    /// assert_eq!(*c.get_ref(), 5);
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped object, mutably. Reading or writing it directly while also using the
    /// wrapper is fine: the wrapper keeps no state.
    ///
    /// ```
    /// let mut c = hue_compat::tokio::Compat::new(5);
    /// *c.get_mut() += 1;
    /// assert_eq!(c.into_inner(), 6);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped object, pinned.
    ///
    /// ```
    /// let mut c = Box::pin(hue_compat::tokio::Compat::new(5));
    /// assert_eq!(*c.as_mut().get_pin_mut(), 5);
    /// ```
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().inner
    }

    /// Unwraps the object.
    ///
    /// ```
    /// let c = hue_compat::tokio::Compat::new(String::from("x"));
    /// assert_eq!(c.into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

// futures-io -> tokio.

impl<T: futures_io::AsyncRead> tokio::io::AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(self
            .project()
            .inner
            .poll_read(cx, buf.initialize_unfilled()))?;
        // A misbehaving reader claiming more than it was given would make `advance` panic
        // with an unclear message; say what went wrong instead.
        assert!(
            n <= buf.remaining(),
            "futures-io AsyncRead::poll_read returned {n} for a buffer of {}",
            buf.remaining()
        );
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: futures_io::AsyncWrite> tokio::io::AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    /// `true`: futures-io cannot say whether a writer's vectored write is native; hue's
    /// sockets' are (`writev`), and a non-native one still writes the first buffer correctly.
    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}

impl<T: futures_io::AsyncBufRead> tokio::io::AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt)
    }
}

// tokio -> futures-io.

impl<T: tokio::io::AsyncRead> futures_io::AsyncRead for Compat<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = ReadBuf::new(buf);
        ready!(self.project().inner.poll_read(cx, &mut read_buf))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

impl<T: tokio::io::AsyncWrite> futures_io::AsyncWrite for Compat<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

impl<T: tokio::io::AsyncBufRead> futures_io::AsyncBufRead for Compat<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt)
    }
}

/// `.compat()` on a futures-io reader (a hue socket): gives tokio's I/O traits.
///
/// ```
/// use hue_compat::tokio::FuturesAsyncReadCompatExt;
/// use tokio::io::AsyncReadExt;
///
/// hue_executor::block_on(async {
///     let mut s = String::new();
///     (&b"hi"[..]).compat().read_to_string(&mut s).await.unwrap();
///     assert_eq!(s, "hi");
/// });
/// ```
pub trait FuturesAsyncReadCompatExt: futures_io::AsyncRead {
    /// Wraps `self` in a [`Compat`], which implements `tokio::io::AsyncRead` (and
    /// `tokio::io::AsyncWrite` too if `self` is a futures-io writer).
    ///
    /// ```
    /// use hue_compat::tokio::FuturesAsyncReadCompatExt;
    /// use tokio::io::AsyncReadExt;
    ///
    /// hue_executor::block_on(async {
    ///     let mut r = (&b"xyz"[..]).compat();
    ///     assert_eq!(r.read_u8().await.unwrap(), b'x');
    /// });
    /// ```
    fn compat(self) -> Compat<Self>
    where
        Self: Sized,
    {
        Compat::new(self)
    }
}

impl<T: futures_io::AsyncRead + ?Sized> FuturesAsyncReadCompatExt for T {}

/// `.compat_write()` on a futures-io writer: gives tokio's `AsyncWrite`.
///
/// ```
/// use hue_compat::tokio::FuturesAsyncWriteCompatExt;
/// use tokio::io::AsyncWriteExt;
///
/// hue_executor::block_on(async {
///     let mut w = futures::io::Cursor::new(Vec::new()).compat_write();
///     w.write_all(b"ok").await.unwrap();
///     assert_eq!(w.into_inner().into_inner(), b"ok");
/// });
/// ```
pub trait FuturesAsyncWriteCompatExt: futures_io::AsyncWrite {
    /// Wraps `self` in a [`Compat`], which implements `tokio::io::AsyncWrite`.
    ///
    /// ```
    /// use hue_compat::tokio::FuturesAsyncWriteCompatExt;
    /// use tokio::io::AsyncWriteExt;
    ///
    /// hue_executor::block_on(async {
    ///     let mut w = futures::io::sink().compat_write();
    ///     assert_eq!(w.write(b"abc").await.unwrap(), 3);
    /// });
    /// ```
    fn compat_write(self) -> Compat<Self>
    where
        Self: Sized,
    {
        Compat::new(self)
    }
}

impl<T: futures_io::AsyncWrite + ?Sized> FuturesAsyncWriteCompatExt for T {}

/// `.compat()` on a tokio reader: gives futures-io's traits (for code written against
/// `futures::io`, such as hue's own helpers).
///
/// ```
/// use futures::io::AsyncReadExt;
/// use hue_compat::tokio::TokioAsyncReadCompatExt;
///
/// hue_executor::block_on(async {
///     let mut s = String::new();
///     // `&[u8]` implements tokio's AsyncRead too; pick tokio's explicitly.
///     let r: &[u8] = b"hi";
///     TokioAsyncReadCompatExt::compat(r).read_to_string(&mut s).await.unwrap();
///     assert_eq!(s, "hi");
/// });
/// ```
pub trait TokioAsyncReadCompatExt: tokio::io::AsyncRead {
    /// Wraps `self` in a [`Compat`], which implements futures-io's `AsyncRead` (and
    /// `AsyncWrite` too if `self` is a tokio writer).
    ///
    /// ```
    /// use futures::io::AsyncReadExt;
    /// use hue_compat::tokio::TokioAsyncReadCompatExt;
    ///
    /// hue_executor::block_on(async {
    ///     let mut mock = tokio_test::io::Builder::new().read(b"data").build().compat();
    ///     let mut buf = Vec::new();
    ///     mock.read_to_end(&mut buf).await.unwrap();
    ///     assert_eq!(buf, b"data");
    /// });
    /// ```
    fn compat(self) -> Compat<Self>
    where
        Self: Sized,
    {
        Compat::new(self)
    }
}

impl<T: tokio::io::AsyncRead + ?Sized> TokioAsyncReadCompatExt for T {}

/// `.compat_write()` on a tokio writer: gives futures-io's `AsyncWrite`.
///
/// ```
/// use futures::io::AsyncWriteExt;
/// use hue_compat::tokio::TokioAsyncWriteCompatExt;
///
/// hue_executor::block_on(async {
///     let mut w = tokio::io::sink().compat_write();
///     w.write_all(b"gone").await.unwrap();
///     w.close().await.unwrap();
/// });
/// ```
pub trait TokioAsyncWriteCompatExt: tokio::io::AsyncWrite {
    /// Wraps `self` in a [`Compat`], which implements futures-io's `AsyncWrite`.
    ///
    /// ```
    /// use futures::io::AsyncWriteExt;
    /// use hue_compat::tokio::TokioAsyncWriteCompatExt;
    ///
    /// hue_executor::block_on(async {
    ///     let mut mock = tokio_test::io::Builder::new().write(b"sent").build().compat_write();
    ///     mock.write_all(b"sent").await.unwrap();
    /// });
    /// ```
    fn compat_write(self) -> Compat<Self>
    where
        Self: Sized,
    {
        Compat::new(self)
    }
}

impl<T: tokio::io::AsyncWrite + ?Sized> TokioAsyncWriteCompatExt for T {}
