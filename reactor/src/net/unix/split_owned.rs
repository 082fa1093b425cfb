//! [`UnixStream::into_split`]: two owned halves sharing one stream.

use std::error::Error;
use std::fmt;
use std::net::Shutdown;
use std::sync::Arc;

use super::UnixStream;

/// The read half of a [`UnixStream`] from [`UnixStream::into_split`]: implements
/// [`AsyncRead`](futures_io::AsyncRead), can move to another task (of any color); the stream's other methods are
/// reached through [`AsRef<UnixStream>`].
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// # use hue_reactor::net::UnixStream;
/// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// # rt.block_on(async {
/// let (mut client, server) = UnixStream::pair()?;
/// let (mut rd, _wr) = server.into_split();
/// let reader = hue_executor::spawn(async move {
///     let mut buf = [0; 4];
///     rd.read_exact(&mut buf).await.map(|_| buf)
/// });
/// client.write_all(b"data").await?;
/// assert_eq!(&reader.await.unwrap()?, b"data");
/// # Ok::<(), std::io::Error>(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<UnixStream>,
}

/// The write half of a [`UnixStream`] from [`UnixStream::into_split`]: implements
/// [`AsyncWrite`](futures_io::AsyncWrite), can move to another task (of any color).
///
/// Dropping it shuts down the write direction of the stream (the peer reads EOF), as
/// `poll_close` does; [`forget`](Self::forget) drops it without that. The stream's other
/// methods are reached through [`AsRef<UnixStream>`].
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// # use hue_reactor::net::UnixStream;
/// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// # rt.block_on(async {
/// let (mut client, server) = UnixStream::pair()?;
/// let (_rd, mut wr) = server.into_split();
/// hue_executor::spawn(async move { wr.write_all(b"done").await }).await.unwrap()?;
/// let mut got = Vec::new();
/// client.read_to_end(&mut got).await?; // EOF: the dropped write half shut down writing
/// assert_eq!(got, b"done");
/// # Ok::<(), std::io::Error>(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<UnixStream>,
    shutdown_on_drop: bool,
}

/// The halves given to `reunite` came from different streams; both are given back.
///
/// # Examples
///
/// ```
/// # use hue_reactor::net::UnixStream;
/// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// # rt.block_on(async {
/// let (a, b) = UnixStream::pair()?;
/// let (a_rd, _a_wr) = a.into_split();
/// let (_b_rd, b_wr) = b.into_split();
/// let err = a_rd.reunite(b_wr).unwrap_err();
/// let (a_rd, b_wr) = (err.0, err.1); // nothing lost
/// # drop((a_rd, b_wr));
/// # Ok::<(), std::io::Error>(()) })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same UnixStream")
    }
}

impl Error for ReuniteError {}

pub(super) fn split_owned(stream: UnixStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let inner = Arc::new(stream);
    (
        OwnedReadHalf {
            inner: inner.clone(),
        },
        OwnedWriteHalf {
            inner,
            shutdown_on_drop: true,
        },
    )
}

fn reunite(read: OwnedReadHalf, mut write: OwnedWriteHalf) -> Result<UnixStream, ReuniteError> {
    if !Arc::ptr_eq(&read.inner, &write.inner) {
        return Err(ReuniteError(read, write));
    }
    write.shutdown_on_drop = false;
    drop(write);
    Ok(Arc::try_unwrap(read.inner)
        .unwrap_or_else(|_| unreachable!("the two halves hold the only references")))
}

impl OwnedReadHalf {
    /// Puts the stream back together, if `other` is its write half; else both halves are
    /// returned in the error.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] if the halves are from different streams.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UnixStream;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (stream, _peer) = UnixStream::pair()?;
    /// let (rd, wr) = stream.into_split();
    /// let stream: UnixStream = rd.reunite(wr).unwrap();
    /// # drop(stream);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<UnixStream, ReuniteError> {
        reunite(self, other)
    }
}

impl OwnedWriteHalf {
    /// Puts the stream back together, if `other` is its read half (see
    /// [`OwnedReadHalf::reunite`]).
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] if the halves are from different streams.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UnixStream;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (stream, _peer) = UnixStream::pair()?;
    /// let (rd, wr) = stream.into_split();
    /// let stream = wr.reunite(rd).unwrap();
    /// # drop(stream);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reunite(self, other: OwnedReadHalf) -> Result<UnixStream, ReuniteError> {
        reunite(other, self)
    }

    /// Drops the write half without shutting down the write direction: the stream stays
    /// open for writing until the read half is dropped too.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UnixStream;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let (stream, _peer) = UnixStream::pair()?;
    /// let (rd, wr) = stream.into_split();
    /// wr.forget(); // no EOF for the peer yet
    /// # drop(rd);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may be gone already (`NotConnected`): nothing to report from a drop.
            let _ = self.inner.shutdown(Shutdown::Write);
        }
    }
}

impl AsRef<UnixStream> for OwnedReadHalf {
    fn as_ref(&self) -> &UnixStream {
        &self.inner
    }
}

impl AsRef<UnixStream> for OwnedWriteHalf {
    fn as_ref(&self) -> &UnixStream {
        &self.inner
    }
}

crate::net::stream_io::stream_read_trait!(OwnedReadHalf, this => this.inner);

crate::net::stream_io::stream_write_trait!(OwnedWriteHalf, this => this.inner);
