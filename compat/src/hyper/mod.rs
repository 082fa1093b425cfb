//! hyper on hue: hyper 1's runtime traits ([`hyper::rt`]) implemented over hue's tasks,
//! timers and sockets, so hyper's HTTP/1 and HTTP/2 servers and clients run on hue with no
//! tokio runtime.
//!
//! | adapter | hyper trait | what it is for |
//! |---|---|---|
//! | [`HueExecutor`] | [`Executor`](hyper::rt::Executor) | spawning hyper's background futures: HTTP/2 connections' work (server and client), hyper-util's pooled client connections, its `auto` server builder |
//! | [`HueTimer`], [`HueSleep`] | [`Timer`](hyper::rt::Timer), [`Sleep`](hyper::rt::Sleep) | hyper's timeouts: HTTP/1 `header_read_timeout`, HTTP/2 keep-alive, pool idle timeouts |
//! | [`HueIo`] | [`Read`](hyper::rt::Read), [`Write`](hyper::rt::Write) | any other futures-io `AsyncRead`/`AsyncWrite` as hyper's transport; and hyper's I/O (an upgraded connection) as futures-io |
//!
//! hue's stream sockets (`TcpStream`, `UnixStream`, their references and halves) implement
//! hyper's `Read`/`Write` themselves (hue-reactor's `hyper` feature, which this one turns
//! on): hand them to hyper as they are, with no `TokioIo` or `HueIo` in between; reads go into
//! hyper's uninitialized buffer with no zeroing.
//!
//! # Colors
//!
//! hyper knows nothing of colors. What runs where:
//!
//! - **A connection** runs in the task you poll it in. Serving each accepted connection in a
//!   task of a [fresh color](hue_executor::Color::fresh) (`spawn_colored(Color::fresh(),
//!   conn)`) lets connections run in parallel on every worker; serving them all in one color
//!   gives a single-threaded event loop, as in libasync-smp's unmodified programs.
//! - **hyper's spawned futures** go to [`HueExecutor`]. Its default ([`HueExecutor::new`])
//!   gives each of them a fresh color, because hyper assumes they may run in parallel (it
//!   synchronizes them itself). [`HueExecutor::in_color`] puts them all in one color of your
//!   choice, [`HueExecutor::inherit`] in the color of the task that spawns them (the
//!   connection's).
//! - **The service** (`service_fn`) is called in the connection's task. Over HTTP/1 the
//!   future it returns runs there too, in the connection's color, one request after the
//!   other. Over HTTP/2 hyper hands each request's future (with its response body) to the
//!   executor: with [`HueExecutor::new`] every request of a connection runs in a fresh
//!   color, in parallel with the others; with [`HueExecutor::in_color`]`(c)` they all run in
//!   `c`. A handler that needs state owned by a color uses
//!   [`in_color`](hue_executor::in_color) for that stretch, or a
//!   [`ColorCell`](hue_executor::ColorCell) in that color.
//!
//! # Runtime
//!
//! Connections must be polled inside a hue runtime: [`HueTimer`] makes hue timers, and hue's
//! sockets belong to the runtime they were made in. [`HueExecutor`] spawns on the runtime of
//! the calling thread unless bound to one with [`HueExecutor::on`].
//!
//! # Safety
//!
//! One `unsafe` block, in [`HueIo`]'s `hyper::rt::Read`: after reading `n` bytes into the
//! part of hyper's buffer that
//! [`initialize_unfilled_to`](hyper::rt::ReadBufCursor::initialize_unfilled_to) initialized, it marks them filled with `ReadBufCursor::advance(n)`. The invariant:
//! `n` never exceeds the length of that initialized slice (checked at run time; a reader
//! claiming more is an `InvalidData` error).
//!
//! # Example
//!
//! A server answering HTTP/1.1 and HTTP/2 on one port (hyper-util's `auto` builder over
//! [`HueExecutor`]), and hyper's HTTP/1.1 and HTTP/2 clients asking it once each:
//!
//! ```
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Empty, Full};
//! use hue_compat::hyper::{HueExecutor, HueIo, HueTimer};
//! use hue_executor::{spawn_colored, Color};
//! use hue_reactor::net::{TcpListener, TcpStream};
//! use hyper::{service::service_fn, Request, Response, Version};
//!
//! let rt = hue_executor::Runtime::builder().workers(2).build()?;
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     spawn_colored(Color::fresh(), async move {
//!         loop {
//!             let Ok((stream, _)) = listener.accept().await else { continue };
//!             // One fresh color per connection: connections run in parallel.
//!             spawn_colored(Color::fresh(), async move {
//!                 let service = service_fn(|req: Request<hyper::body::Incoming>| async move {
//!                     let text = format!("Hello, {:?}!", req.version());
//!                     Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(text))))
//!                 });
//!                 let mut builder =
//!                     hyper_util::server::conn::auto::Builder::new(HueExecutor::new());
//!                 builder.http1().timer(HueTimer);
//!                 builder.http2().timer(HueTimer);
//!                 let _ = builder.serve_connection(HueIo::new(stream), service).await;
//!             });
//!         }
//!     });
//!
//!     // HTTP/1.1: the connection future runs in a task of its own.
//!     let io = HueIo::new(TcpStream::connect(addr).await?);
//!     let (mut h1, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
//!     spawn_colored(Color::fresh(), conn);
//!     let res = h1.send_request(Request::get("/").body(Empty::<Bytes>::new()).unwrap());
//!     let body = res.await.unwrap().into_body().collect().await.unwrap().to_bytes();
//!     assert_eq!(&body[..], b"Hello, HTTP/1.1!");
//!
//!     // HTTP/2 (prior knowledge), its background work spawned by HueExecutor.
//!     let io = HueIo::new(TcpStream::connect(addr).await?);
//!     let (mut h2, conn) = hyper::client::conn::http2::Builder::new(HueExecutor::new())
//!         .timer(HueTimer)
//!         .handshake(io)
//!         .await
//!         .unwrap();
//!     spawn_colored(Color::fresh(), conn);
//!     let req = Request::get("http://localhost/").body(Empty::<Bytes>::new()).unwrap();
//!     let res = h2.send_request(req).await.unwrap();
//!     assert_eq!(res.version(), Version::HTTP_2);
//!     let body = res.into_body().collect().await.unwrap().to_bytes();
//!     assert_eq!(&body[..], b"Hello, HTTP/2.0!");
//!     Ok::<_, std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod executor;
mod io;
mod timer;

pub use executor::HueExecutor;
pub use io::HueIo;
pub use timer::{HueSleep, HueTimer};
