//! tokio on hue (feature `tokio`): tokio's I/O traits over futures-io types, and a tokio
//! context for code that calls tokio's own timers and sockets.
//!
//! With this feature hue's stream sockets (`TcpStream`, `UnixStream`, their references and
//! halves) implement tokio's `AsyncRead`/`AsyncWrite` themselves (hue-reactor's `tokio`
//! feature, which this one turns on): `tokio::io::*Ext`, `BufReader`, `copy` and
//! `tokio_util::codec::Framed` take them as they are, and reads go into tokio's uninitialized
//! buffers with no zeroing. The adapter below is for everything else.
//!
//! | you have | you want | use |
//! |---|---|---|
//! | a hue stream socket | tokio's `AsyncRead`/`AsyncWrite` | nothing: it has them |
//! | another futures-io `AsyncRead`/`AsyncWrite` (a futures-rustls stream, a `futures::io::Cursor`) | tokio's `AsyncRead`/`AsyncWrite` | [`FuturesAsyncReadCompatExt::compat`] (→ [`Compat`]) |
//! | a tokio I/O type (`tokio::net::TcpStream`, a `tokio_test` mock, a `DuplexStream`) | futures-io's traits | [`TokioAsyncReadCompatExt::compat`] (→ [`Compat`]) |
//! | code that calls `tokio::time::sleep`, `tokio::net::*::connect`, `tokio::spawn` inside | it not to panic "there is no reactor running" on hue | [`TokioContextExt::with_tokio`] (→ [`TokioContext`]) |
//!
//! The I/O adapter has the names and shape of `tokio_util::compat` (a `Compat<T>` that works
//! in both directions, with `compat()`/`compat_write()` extension methods), so code that
//! already uses it changes only its `use` line.
//!
//! What needs neither: tokio's runtime-independent parts work on hue as they are:
//! `tokio::sync` (`mpsc`, `oneshot`, `Mutex`, `RwLock`, `Notify`, `broadcast`, `watch`,
//! `Semaphore`), `tokio::select!`/`join!`/`try_join!` (tokio's `macros` feature), and the
//! `tokio::io` helpers over hue's sockets or a [`Compat`] (`AsyncReadExt`, `AsyncWriteExt`, `BufReader`,
//! `BufWriter`, `copy`, `split`, `duplex`).
//!
//! # Example
//!
//! Lines over a hue `TcpStream` with `tokio_util::codec`, no adapter:
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! use hue_reactor::net::{TcpListener, TcpStream};
//! use tokio_util::codec::{Framed, LinesCodec};
//!
//! hue_executor::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = hue_compat::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let mut lines = Framed::new(stream, LinesCodec::new());
//!         while let Some(line) = lines.next().await {
//!             lines.send(line.unwrap().to_uppercase()).await.unwrap();
//!         }
//!     });
//!     let mut client = Framed::new(TcpStream::connect(addr).await?, LinesCodec::new());
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
