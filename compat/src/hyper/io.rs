//! [`HueIo`]: hyper's `Read`/`Write` over futures-io's `AsyncRead`/`AsyncWrite` (hue's
//! sockets), and back.

use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use pin_project_lite::pin_project;

pin_project! {
    /// An I/O object seen through the other ecosystem's traits: hyper's
    /// [`Read`](hyper::rt::Read)/[`Write`](hyper::rt::Write) for anything implementing
    /// futures-io's [`AsyncRead`]/[`AsyncWrite`] (TLS streams from the futures ecosystem, a
    /// `futures::io::Cursor`), and futures-io's traits for anything implementing hyper's (an
    /// upgraded connection, [`hyper::upgrade::Upgraded`]). hue's own [`TcpStream`] and
    /// [`UnixStream`] need no wrapper: they implement hyper's traits themselves, reading into
    /// hyper's buffer with no zeroing (see [`crate::hyper`]).
    ///
    /// **Reads.** hyper lends a buffer that may be uninitialized; futures-io reads into
    /// `&mut [u8]`. `HueIo` zeroes a span of hyper's buffer
    /// ([`ReadBufCursor::initialize_unfilled_to`]), reads into it, and marks the bytes read as
    /// filled. hyper lends 8 KiB or more at every read and forgets between reads that it was
    /// initialized, so zeroing all of it would cost a memset of 8 KiB for a 100-byte request;
    /// the span is therefore sized by the reads so far: it starts at 4 KiB, doubles when a read
    /// fills it (bulk transfers quickly read all hyper offers), and halves, down to 1 KiB, when
    /// a read uses less than a quarter of it. Marking the bytes filled is the one `unsafe` block
    /// of this module, and it rests on one invariant: **the `n` bytes marked filled lie in the initialized prefix of the unfilled
    /// region**, which holds because `n` is checked against the length of the slice
    /// `initialize_unfilled_to` returned (an `AsyncRead` answering more than the buffer's
    /// length is an error, never a claim about uninitialized memory).
    ///
    /// **Vectored writes.** hyper writes a response's head and body with one vectored write
    /// when the transport says it supports them. [`HueIo::new`] says so (hue's sockets do
    /// `writev`); for a transport whose `poll_write_vectored` is futures-io's default (one
    /// buffer per call) use [`HueIo::with_vectored_writes`]`(io, false)`, and hyper flattens
    /// head and body into one buffer instead. Either is correct; it is a matter of speed.
    ///
    /// [`TcpStream`]: hue_reactor::net::TcpStream
    /// [`UnixStream`]: hue_reactor::net::UnixStream
    /// [`ReadBufCursor::initialize_unfilled_to`]: hyper::rt::ReadBufCursor::initialize_unfilled_to
    ///
    /// # Examples
    ///
    /// One HTTP/1.1 request, served and made with hyper over hue's TCP:
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::{BodyExt, Full};
    /// use hue_compat::hyper::HueIo;
    /// use hue_reactor::net::{TcpListener, TcpStream};
    /// use hyper::service::service_fn;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     hue_executor::spawn(async move {
    ///         let (stream, _) = listener.accept().await.unwrap();
    ///         let echo = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
    ///             let body = req.into_body().collect().await?.to_bytes();
    ///             Ok::<_, hyper::Error>(hyper::Response::new(Full::new(body)))
    ///         });
    ///         hyper::server::conn::http1::Builder::new()
    ///             .serve_connection(HueIo::new(stream), echo)
    ///             .await
    ///             .unwrap();
    ///     });
    ///
    ///     let io = HueIo::new(TcpStream::connect(addr).await?);
    ///     let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
    ///     hue_executor::spawn(conn);
    ///     let req = hyper::Request::post("/echo").body(Full::new(Bytes::from("ping"))).unwrap();
    ///     let res = sender.send_request(req).await.unwrap();
    ///     let body = res.into_body().collect().await.unwrap().to_bytes();
    ///     assert_eq!(&body[..], b"ping");
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[derive(Debug)]
    pub struct HueIo<T> {
        #[pin]
        inner: T,
        vectored: bool,
        // How many bytes of hyper's buffer the next read zeroes and offers.
        read_span: usize,
    }
}

impl<T> HueIo<T> {
    /// Wraps `inner`, telling hyper that it supports vectored writes (hue's sockets do).
    ///
    /// ```
    /// use hue_compat::hyper::HueIo;
    /// use hyper::rt::Write;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let listener = hue_reactor::net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let stream = hue_reactor::net::TcpStream::connect(listener.local_addr()?).await?;
    ///     let io = HueIo::new(stream);
    ///     assert!(io.is_write_vectored());
    ///     Ok::<_, std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: T) -> HueIo<T> {
        HueIo::with_vectored_writes(inner, true)
    }

    /// Wraps `inner`, telling hyper whether it supports vectored writes: pass `false` when
    /// its `poll_write_vectored` writes one buffer at a time (futures-io's default).
    ///
    /// ```
    /// use hue_compat::hyper::HueIo;
    /// use hyper::rt::Write;
    ///
    /// // A Vec behind futures' Cursor writes one buffer per vectored write.
    /// let io = HueIo::with_vectored_writes(futures::io::Cursor::new(Vec::<u8>::new()), false);
    /// assert!(!io.is_write_vectored());
    /// ```
    pub fn with_vectored_writes(inner: T, vectored: bool) -> HueIo<T> {
        HueIo {
            inner,
            vectored,
            read_span: READ_SPAN_START,
        }
    }

    /// The wrapped I/O object.
    ///
    /// ```
    /// use hue_compat::hyper::HueIo;
    ///
    /// let io = HueIo::new(futures::io::Cursor::new(vec![1u8, 2, 3]));
    /// assert_eq!(io.inner().get_ref(), &[1, 2, 3]);
    /// ```
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped I/O object, mutably.
    ///
    /// ```
    /// use hue_compat::hyper::HueIo;
    ///
    /// let mut io = HueIo::new(futures::io::Cursor::new(vec![1u8, 2, 3]));
    /// io.inner_mut().get_mut().push(4);
    /// assert_eq!(io.inner().get_ref(), &[1, 2, 3, 4]);
    /// ```
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The wrapped I/O object, pinned.
    ///
    /// ```
    /// use std::pin::pin;
    /// use hue_compat::hyper::HueIo;
    ///
    /// let mut io = pin!(HueIo::new(futures::io::Cursor::new(vec![7u8])));
    /// assert_eq!(io.as_mut().inner_pin_mut().get_ref(), &[7]);
    /// ```
    pub fn inner_pin_mut(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().inner
    }

    /// Unwraps the I/O object.
    ///
    /// ```
    /// use hue_compat::hyper::HueIo;
    ///
    /// let io = HueIo::new(futures::io::Cursor::new(vec![1u8]));
    /// assert_eq!(io.into_inner().into_inner(), vec![1]);
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> From<T> for HueIo<T> {
    /// [`HueIo::new`].
    fn from(inner: T) -> HueIo<T> {
        HueIo::new(inner)
    }
}

/// The first read's span (see [`HueIo`]'s docs on reads).
const READ_SPAN_START: usize = 4 * 1024;
/// The smallest span.
const READ_SPAN_MIN: usize = 1024;

fn too_long(n: usize, len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("AsyncRead::poll_read returned {n} for a buffer of {len} bytes"),
    )
}

impl<T: AsyncRead> hyper::rt::Read for HueIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let remaining = buf.remaining();
        let dst = buf.initialize_unfilled_to(remaining.min(*this.read_span));
        let len = dst.len();
        let n = ready!(this.inner.poll_read(cx, dst))?;
        if n > len {
            return Poll::Ready(Err(too_long(n, len)));
        }
        if n == len && len < remaining {
            *this.read_span = this.read_span.saturating_mul(2);
        } else if n < len / 4 {
            *this.read_span = (*this.read_span / 2).max(READ_SPAN_MIN);
        }
        // SAFETY: `initialize_unfilled_to` initialized the first `len` bytes of the unfilled
        // region (the module's invariant), and `n <= len` was checked above, so every byte
        // `advance` marks filled is initialized.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> hyper::rt::Write for HueIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    /// futures-io's `poll_close`: flushes, then shuts the write side down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }
}

impl<T: hyper::rt::Read> AsyncRead for HueIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = hyper::rt::ReadBuf::new(buf);
        ready!(self.project().inner.poll_read(cx, read_buf.unfilled()))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        // hyper's Read has no vectored form: read into the first non-empty buffer.
        match bufs.iter_mut().find(|b| !b.is_empty()) {
            Some(buf) => AsyncRead::poll_read(self, cx, buf),
            None => Poll::Ready(Ok(0)),
        }
    }
}

impl<T: hyper::rt::Write> AsyncWrite for HueIo<T> {
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
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    /// hyper's `poll_shutdown`.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}
