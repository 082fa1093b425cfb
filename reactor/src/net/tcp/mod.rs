//! TCP: [`TcpListener`], [`TcpStream`], the [`TcpSocket`] builder, and the halves of a split
//! stream.
//!
//! - [`TcpStream::split`] borrows the stream: [`ReadHalf`] and [`WriteHalf`] are two
//!   references, for two futures of one task (or `join!`ed) that read and write at once.
//! - [`TcpStream::into_split`] gives [`OwnedReadHalf`] and [`OwnedWriteHalf`], which share the
//!   stream through an `Arc` and can move to different tasks (of different colors, too).
//!   Dropping the write half shuts down the write direction (the peer reads EOF), like closing
//!   it; [`OwnedWriteHalf::reunite`] puts the halves back together.
//!
//! Reading and writing at once is safe: the reactor keeps separate waiters per direction. Two
//! tasks reading the same stream at once is allowed (both are woken) but the bytes go to
//! whoever reads first.

mod listener;
mod socket;
mod split;
mod split_owned;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use split::{ReadHalf, WriteHalf};
pub use split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::TcpStream;
