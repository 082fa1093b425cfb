//! [`UnixStream::split`]: two halves borrowing one stream.

use super::UnixStream;

/// The read half of a [`UnixStream`] borrowed by [`UnixStream::split`]: implements
/// [`AsyncRead`](futures_io::AsyncRead); the stream's other methods (`peek`, `readable`, `peer_addr`...) are
/// reached through [`AsRef<UnixStream>`].
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// # use hue_reactor::net::UnixStream;
/// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// # rt.block_on(async {
/// let (mut client, mut server) = UnixStream::pair()?;
/// let (mut rd, _wr) = UnixStream::split(&mut server);
/// client.write_all(b"hi").await?;
/// let mut buf = [0; 2];
/// rd.read_exact(&mut buf).await?;
/// assert!(rd.as_ref().peer_addr()?.is_unnamed());
/// # Ok::<(), std::io::Error>(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a UnixStream);

/// The write half of a [`UnixStream`] borrowed by [`UnixStream::split`]: implements
/// [`AsyncWrite`](futures_io::AsyncWrite) (`poll_close` shuts down the write direction); the stream's other methods
/// are reached through [`AsRef<UnixStream>`].
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// # use hue_reactor::net::UnixStream;
/// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// # rt.block_on(async {
/// let (mut client, mut server) = UnixStream::pair()?;
/// let (_rd, mut wr) = UnixStream::split(&mut server);
/// wr.write_all(b"bye").await?;
/// wr.close().await?; // shutdown(Write): the client reads EOF after "bye"
/// let mut got = Vec::new();
/// client.read_to_end(&mut got).await?;
/// assert_eq!(got, b"bye");
/// # Ok::<(), std::io::Error>(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a UnixStream);

pub(super) fn split(stream: &mut UnixStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf(stream), WriteHalf(stream))
}

impl AsRef<UnixStream> for ReadHalf<'_> {
    fn as_ref(&self) -> &UnixStream {
        self.0
    }
}

impl AsRef<UnixStream> for WriteHalf<'_> {
    fn as_ref(&self) -> &UnixStream {
        self.0
    }
}

crate::net::stream_io::stream_read_trait!(ReadHalf<'_>, this => this.0);

crate::net::stream_io::stream_write_trait!(WriteHalf<'_>, this => this.0);
