//! [`TcpStream::split`]: two halves borrowing one stream.

use super::TcpStream;

/// The read half of a [`TcpStream`] borrowed by [`TcpStream::split`]: implements
/// [`AsyncRead`](futures_io::AsyncRead); the stream's other methods (`peek`, `readable`, `peer_addr`...) are
/// reached through [`AsRef<TcpStream>`].
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
/// let (mut rd, _wr) = TcpStream::split(&mut server);
/// client.write_all(b"hi").await?;
/// let mut buf = [0; 2];
/// rd.read_exact(&mut buf).await?;
/// assert_eq!(rd.as_ref().peer_addr()?, client.local_addr()?);
/// # Ok::<(), std::io::Error>(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a [`TcpStream`] borrowed by [`TcpStream::split`]: implements
/// [`AsyncWrite`](futures_io::AsyncWrite) (`poll_close` shuts down the write direction); the stream's other methods
/// are reached through [`AsRef<TcpStream>`].
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
/// let (_rd, mut wr) = TcpStream::split(&mut server);
/// wr.write_all(b"bye").await?;
/// wr.close().await?; // shutdown(Write): the client reads EOF after "bye"
/// let mut got = Vec::new();
/// client.read_to_end(&mut got).await?;
/// assert_eq!(got, b"bye");
/// # Ok::<(), std::io::Error>(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

pub(super) fn split(stream: &mut TcpStream) -> (ReadHalf<'_>, WriteHalf<'_>) {
    (ReadHalf(stream), WriteHalf(stream))
}

impl AsRef<TcpStream> for ReadHalf<'_> {
    fn as_ref(&self) -> &TcpStream {
        self.0
    }
}

impl AsRef<TcpStream> for WriteHalf<'_> {
    fn as_ref(&self) -> &TcpStream {
        self.0
    }
}

crate::net::stream_io::stream_read_trait!(ReadHalf<'_>, this => this.0);

crate::net::stream_io::stream_write_trait!(WriteHalf<'_>, this => this.0);
