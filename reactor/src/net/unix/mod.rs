//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] (with the halves of its splits) and
//! [`UnixDatagram`].
//!
//! They behave like their TCP and UDP counterparts (see [`crate::net`]); addresses are paths
//! (or unnamed, for the sockets of [`UnixStream::pair`]) and are returned as std's
//! [`SocketAddr`](std::os::unix::net::SocketAddr). Binding a path creates the socket file;
//! nothing removes it when the socket is dropped (remove it yourself, as with std).

mod datagram;
mod listener;
mod split;
mod split_owned;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::UnixListener;
pub use split::{ReadHalf, WriteHalf};
pub use split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::UnixStream;
