//! tokio on hue (feature `tokio`): tokio's I/O traits over hue's sockets, and a tokio context
//! for code that calls tokio's own timers and sockets.
//!
//! | you have | you want | use |
//! |---|---|---|
//! | a hue socket (futures-io `AsyncRead`/`AsyncWrite`) | tokio's `AsyncRead`/`AsyncWrite` (for `tokio::io::*Ext`, `BufReader`, `copy`, `tokio_util::codec::Framed`, hyper-util's `TokioIo`, ...) | [`FuturesAsyncReadCompatExt::compat`] (→ [`Compat`]) |
//! | a tokio I/O type (`tokio::net::TcpStream`, a `tokio_test` mock, a `DuplexStream`) | futures-io's traits | [`TokioAsyncReadCompatExt::compat`] (→ [`Compat`]) |
//! | code that calls `tokio::time::sleep`, `tokio::net::*::connect`, `tokio::spawn` inside | it not to panic "there is no reactor running" on hue | [`TokioContextExt::with_tokio`] (→ [`TokioContext`]) |
//!
//! The I/O adapter has the names and shape of `tokio_util::compat` (a `Compat<T>` that works
//! in both directions, with `compat()`/`compat_write()` extension methods), so code that
//! already uses it changes only its `use` line. hue's sockets are futures-io types, which is why
//! the method that makes them tokio I/O comes from [`FuturesAsyncReadCompatExt`].
//!
//! What needs neither: tokio's runtime-independent parts work on hue as they are:
//! `tokio::sync` (`mpsc`, `oneshot`, `Mutex`, `RwLock`, `Notify`, `broadcast`, `watch`,
//! `Semaphore`), `tokio::select!`/`join!`/`try_join!` (tokio's `macros` feature), and the
//! `tokio::io` helpers over a [`Compat`] (`AsyncReadExt`, `AsyncWriteExt`, `BufReader`,
//! `BufWriter`, `copy`, `split`, `duplex`).
//!
//! # Example
//!
//! Lines over a hue `TcpStream` with `tokio_util::codec`:
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! use hue_compat::tokio::FuturesAsyncReadCompatExt;
//! use hue_reactor::net::{TcpListener, TcpStream};
//! use tokio_util::codec::{Framed, LinesCodec};
//!
//! hue_executor::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = hue_compat::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let mut lines = Framed::new(stream.compat(), LinesCodec::new());
//!         while let Some(line) = lines.next().await {
//!             lines.send(line.unwrap().to_uppercase()).await.unwrap();
//!         }
//!     });
//!     let mut client = Framed::new(TcpStream::connect(addr).await?.compat(), LinesCodec::new());
//!     client.send("hello").await.unwrap();
//!     assert_eq!(client.next().await.unwrap().unwrap(), "HELLO");
//!     drop(client);
//!     server.await.unwrap();
//!     std::io::Result::Ok(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod context;
mod io;

pub use context::{tokio_handle, TokioContext, TokioContextExt};
pub use io::{
    Compat, FuturesAsyncReadCompatExt, FuturesAsyncWriteCompatExt, TokioAsyncReadCompatExt,
    TokioAsyncWriteCompatExt,
};
