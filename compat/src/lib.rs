//! hue-compat: run existing async code on hue, and a guide to porting tokio programs.
//!
//! (The facade crate re-exports this crate as `hue::compat`; the examples below use the
//! facade's paths.)
//!
//! | module | what |
//! |---|---|
//! | [`spawn`] | `tokio::spawn`'s semantics on hue: every task in a fresh color |
//! | [`futures`] | [`HueSpawner`](futures::HueSpawner): `futures::task::Spawn` on hue |
//! | [`tokio`][m-tokio] (feature `tokio`) | hue's stream sockets implement tokio's `AsyncRead`/`AsyncWrite` themselves; [`Compat`][t-Compat] gives other futures-io types tokio's traits (and the reverse); [`TokioContext`][t-TokioContext]: code that calls tokio's own timers and sockets runs on hue |
//! | [`hyper`][m-hyper] (feature `hyper`) | hyper's `rt::{Executor, Timer}` over hue; hue's stream sockets implement `rt::Read`/`rt::Write` themselves, [`HueIo`](crate::hyper::HueIo) adapts other futures-io types |
//!
//! # Colors in ported code
//!
//! tokio runs every spawned task on a thread pool: a tokio program assumes that what it spawns
//! may run in parallel with everything else. hue's [`spawn`](hue_executor::spawn) instead gives
//! the new task **its parent's color** (S5): called from `main`'s `block_on` (color 0), every
//! `hue::spawn` puts the task in color 0, so a server that spawned one task per connection
//! would serve its connections one at a time, on one core — correct, but not parallel.
//!
//! So the shims here that stand in for tokio's or futures' spawning — [`spawn`] and
//! [`HueSpawner`](futures::HueSpawner) — give each task a **fresh color**
//! ([`Color::fresh`](hue_executor::Color::fresh)): a color no one else uses, so the task may run
//! in parallel with every other, as on tokio. Code being ported keeps tokio's semantics by
//! replacing `tokio::spawn` with `hue::compat::spawn`; code that wants colors' exclusion
//! uses `hue::spawn_colored(color, ..)`, or `hue::spawn` inside a colored task.
//!
//! # Porting from tokio
//!
//! | tokio | hue | notes |
//! |---|---|---|
//! | `#[tokio::main] async fn main()` | `fn main() { hue::block_on(async { .. }) }` | or `Runtime::builder().workers(n).build()?.block_on(..)`; the `block_on` future runs in color 0 |
//! | `tokio::spawn(fut)` | `hue::compat::spawn(fut)` | a fresh color: parallel, as on tokio. `hue::spawn` **inherits** the caller's color (see above) |
//! | `tokio::runtime::Handle::current().spawn(fut)` | `hue::Handle::current().spawn_colored(Color::fresh(), fut)` | `Handle::spawn` also inherits the color when called from a task |
//! | `tokio::task::spawn_blocking(f)` | `hue::spawn_blocking(f)` | a separate bounded pool (512 threads), as tokio's |
//! | `tokio::task::yield_now()` | `hue::yield_now()` | goes to the back of the task's color |
//! | `tokio::task::JoinHandle`, `JoinError` | `hue::JoinHandle`, `hue::JoinError` | `await`, `abort()`, `is_finished()`; `is_panic()`, `is_cancelled()`, `into_panic()`. Dropping a handle detaches the task |
//! | `tokio::task::LocalSet`, `spawn_local` | a color: `hue::spawn_colored(c, ..)` | tasks of one color never run in parallel, so a `LocalSet`'s "one at a time" holds; but they must be `Send` (a color may move between workers): `Rc`/`RefCell` become `Arc`/[`ColorCell`](hue_executor::ColorCell) |
//! | `tokio::time::{sleep, sleep_until, timeout, interval, Instant}` | `hue::time::{sleep, sleep_until, timeout, interval, Instant}` | same shapes (`Elapsed`, `MissedTickBehavior`, `Sleep::reset`) |
//! | `tokio::net::{TcpListener, TcpStream, UdpSocket, Unix*}` | `hue::net::{..}` (same names) | hue's stream sockets implement tokio's `AsyncRead`/`AsyncWrite` (feature `tokio`, on by default in `hue`) and futures-io's; use one ecosystem's extension traits per module |
//! | `tokio::io::{AsyncRead, AsyncWrite}` on sockets, `AsyncReadExt`, `BufReader`, `copy`, `tokio_util::codec::Framed` | unchanged on hue's `TcpStream`, `UnixStream` and their halves | reads go into uninitialized buffers, as on tokio. For other futures-io types, `.compat()` ([`FuturesAsyncReadCompatExt`][t-FuturesAsyncReadCompatExt]), `tokio_util::compat`'s shape |
//! | hyper-util's `TokioIo::new(stream)` | the stream itself | hue's stream sockets implement hyper's `rt::Read`/`rt::Write` (feature `hyper`) |
//! | `tokio::select!`, `join!`, `try_join!` | unchanged | keep `tokio` as a dependency with the `macros` feature; the branches may be hue futures (`hue::time::sleep`, hue sockets) |
//! | `tokio::sync::{mpsc, oneshot, Mutex, RwLock, Notify, broadcast, watch, Semaphore}` | unchanged | runtime-independent: they work across colors and workers |
//! | `tokio::signal::ctrl_c()` | `hue::signal::ctrl_c()` | also `signal(SignalKind::terminate())` |
//! | a library that calls `tokio::time`/`tokio::net` inside | `fut.with_tokio()` ([`TokioContextExt`][t-TokioContextExt]) | runs it in a global tokio context: costs an extra thread and a cross-thread wake per event; see [`TokioContext`][t-TokioContext] |
//! | a library that takes a `futures::task::Spawn` | [`HueSpawner::current()`](futures::HueSpawner::current) | fresh colors by default, `.in_color(c)` for one color |
//!
//! **What stays**: the async code itself, `tokio::sync`, `tokio::select!`, tokio's I/O
//! helpers on hue's sockets, futures' combinators, `Send + 'static` bounds on spawned
//! futures. **What changes**: the runtime entry point, `tokio::spawn` (to
//! `hue::compat::spawn`), the `use` lines of `time` and `net`, `TokioIo` (dropped), and
//! `LocalSet` (to a color).
//!
//! ## A ported program
//!
//! ```
//! # mod hue { pub use hue_executor::*; pub use hue_reactor::{net, time}; pub mod compat { pub use hue_compat::*; } }
//! use std::time::Duration;
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! // Was: #[tokio::main] async fn main() -> std::io::Result<()> {
//! # #[cfg(feature = "tokio")]
//! fn main() -> std::io::Result<()> {
//!     hue::block_on(async {
//!         // Was: tokio::net::TcpListener::bind
//!         let listener = hue::net::TcpListener::bind("127.0.0.1:0").await?;
//!         let addr = listener.local_addr()?;
//!         // Was: tokio::spawn (one task per connection, in parallel)
//!         let server = hue::compat::spawn(async move {
//!             let (stream, _) = listener.accept().await?;
//!             hue::compat::spawn(async move {
//!                 // Unchanged: hue's stream implements tokio's I/O traits.
//!                 let mut stream = BufReader::new(stream);
//!                 let mut line = String::new();
//!                 while stream.read_line(&mut line).await? != 0 {
//!                     stream.get_mut().write_all(line.as_bytes()).await?;
//!                     line.clear();
//!                 }
//!                 std::io::Result::Ok(())
//!             })
//!             .await?
//!         });
//!         let mut client = hue::net::TcpStream::connect(addr).await?;
//!         client.write_all(b"ping\n").await?;
//!         let mut reply = String::new();
//!         let mut reader = BufReader::new(&mut client);
//!         // Was: tokio::time::timeout; tokio::select! works too.
//!         hue::time::timeout(Duration::from_secs(5), reader.read_line(&mut reply))
//!             .await
//!             .expect("no echo")?;
//!         assert_eq!(reply, "ping\n");
//!         drop(client);
//!         server.await?
//!     })
//! }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```
//!
//! ## Where colors then buy lock-free state
//!
//! Once a program runs, shared state guarded by locks can move into a color. Before, as on
//! tokio:
//!
//! ```
//! # mod hue { pub use hue_executor::*; pub mod compat { pub use hue_compat::*; } }
//! use std::collections::HashMap;
//! use std::sync::{Arc, Mutex};
//!
//! hue::block_on(async {
//!     let hits: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
//!     let tasks: Vec<_> = (0..8)
//!         .map(|i| {
//!             let hits = hits.clone();
//!             hue::compat::spawn(async move {
//!                 *hits.lock().unwrap().entry(format!("/page/{}", i % 2)).or_default() += 1;
//!             })
//!         })
//!         .collect();
//!     for t in tasks {
//!         t.await.unwrap();
//!     }
//!     assert_eq!(hits.lock().unwrap()["/page/0"], 4);
//! });
//! ```
//!
//! After: the map belongs to a color; whoever touches it runs that stretch of code in the
//! color (`in_color`), and gets `&mut` with no lock — the exclusion comes from S1:
//!
//! ```
//! # mod hue { pub use hue_executor::*; pub mod compat { pub use hue_compat::*; } }
//! use hue::{in_color, Color, ColorCell};
//! use std::collections::HashMap;
//! use std::sync::Arc;
//!
//! hue::block_on(async {
//!     let stats = Color::of(&"stats");
//!     let hits = Arc::new(ColorCell::new(stats, HashMap::<String, u64>::new()));
//!     let tasks: Vec<_> = (0..8)
//!         .map(|i| {
//!             let hits = hits.clone();
//!             hue::compat::spawn(async move {
//!                 // The rest of the task runs in its own fresh color, in parallel.
//!                 in_color(stats, async {
//!                     hits.with(|m| *m.entry(format!("/page/{}", i % 2)).or_default() += 1)
//!                 })
//!                 .await;
//!             })
//!         })
//!         .collect();
//!     for t in tasks {
//!         t.await.unwrap();
//!     }
//!     let n = in_color(stats, async { hits.with(|m| m["/page/0"]) }).await;
//!     assert_eq!(n, 4);
//! });
//! ```
//!
//! Code that only ever touches the state from tasks of its color (say, one color per shard,
//! its tasks spawned with `hue::spawn_colored(shard, ..)`) needs not even the `in_color`.
//!
//! # Features
//!
//! - `tokio`: the [`tokio`][m-tokio] module (tokio's I/O traits over hue's sockets, and
//!   [`TokioContext`][t-TokioContext]); adds a dependency on tokio (features `rt`, `time`,
//!   `net`, `io-util`).
//! - `hyper`: the [`hyper`][m-hyper] module (hyper's runtime traits over hue); implies `tokio`,
//!   adds a dependency on hyper (features `client`, `server`, `http1`, `http2`).
//!
//! Both are off by default in this crate and **on by default in the facade** (`hue`'s own
//! `tokio` and `hyper` features turn them on), so `hue::compat::tokio` and
//! `hue::compat::hyper` are there for a plain `hue` dependency; `hue` with
//! `default-features = false` leaves them, and the tokio and hyper dependencies, out.
//! Without a feature its module is absent, and the links to it above lead here.
//!
#![cfg_attr(
    feature = "tokio",
    doc = "[m-tokio]: crate::tokio
[t-Compat]: crate::tokio::Compat
[t-TokioContext]: crate::tokio::TokioContext
[t-TokioContextExt]: crate::tokio::TokioContextExt
[t-FuturesAsyncReadCompatExt]: crate::tokio::FuturesAsyncReadCompatExt"
)]
#![cfg_attr(
    not(feature = "tokio"),
    doc = "[m-tokio]: #features
[t-Compat]: #features
[t-TokioContext]: #features
[t-TokioContextExt]: #features
[t-FuturesAsyncReadCompatExt]: #features"
)]
#![cfg_attr(feature = "hyper", doc = "[m-hyper]: crate::hyper")]
#![cfg_attr(not(feature = "hyper"), doc = "[m-hyper]: #features")]
//!
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod futures;
#[cfg(feature = "hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "hyper")))]
pub mod hyper;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;

use std::future::Future;

use hue_executor::{Color, JoinHandle};

/// Spawns a task in a fresh color: `tokio::spawn`'s semantics (the task may run in parallel
/// with every other) on hue. The drop-in replacement for `tokio::spawn` in ported code.
///
/// Unlike [`hue_executor::spawn`], which gives the task its parent's color, this gives it
/// [`Color::fresh()`]. Tasks that *it* spawns with `hue::spawn` inherit that fresh color (so
/// they never run in parallel with it); spawn them with this function too for tokio's
/// semantics all the way down.
///
/// # Panics
///
/// Outside a hue runtime (use `Handle::spawn_colored(Color::fresh(), ..)` there).
///
/// # Examples
///
/// ```
/// use hue_executor::{current_color, Color};
///
/// hue_executor::block_on(async {
///     let a = hue_compat::spawn(async { current_color() });
///     let b = hue_compat::spawn(async { current_color() });
///     let (a, b) = (a.await.unwrap(), b.await.unwrap());
///     assert_ne!(a, b);
///     assert_ne!(a, Color::DEFAULT);
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    hue_executor::spawn_colored(Color::fresh(), future)
}
