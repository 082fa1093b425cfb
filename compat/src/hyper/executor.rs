//! [`HueExecutor`]: hyper's `Executor` over hue's tasks.

use std::fmt;
use std::future::Future;

use hue_executor::{Color, Handle};

/// Which color a [`HueExecutor`] gives the futures it spawns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coloring {
    /// A color of its own for every future ([`Color::fresh`]).
    Fresh,
    /// The color of the task that asks hyper to spawn (hue's [`spawn`](hue_executor::spawn)).
    Inherit,
    /// One color for all.
    Fixed(Color),
}

/// hyper's [`Executor`](hyper::rt::Executor) over hue: every future hyper hands it (an
/// HTTP/2 server's per-request future, an HTTP/2 connection's background work, a stream's
/// body pump, a pooled client connection) is spawned as a hue task.
///
/// **Colors.** [`HueExecutor::new`] (also the [`Default`]) spawns each future in a
/// [fresh color](Color::fresh), so it may run in parallel with everything else. That is the
/// right default: hyper's futures share no state but what they synchronize themselves
/// (channels, atomics, locks), and hyper assumes they run in parallel as on tokio's
/// multi-threaded runtime. [`HueExecutor::in_color`] spawns them all in one color you pick
/// (one HTTP/2 connection and its streams kept on one worker, or serialized with state that
/// color owns); [`HueExecutor::inherit`] gives them the color of the task in which hyper
/// spawns them, usually the connection's task.
///
/// **Where it works.** The executor spawns on the hue runtime of the calling thread (hyper
/// calls it from the connection future, which runs in a hue task). [`HueExecutor::on`] binds it
/// to a runtime's [`Handle`] instead, so it also works from threads outside the runtime.
///
/// The spawned tasks are detached: hyper keeps track of them itself.
///
/// # Examples
///
/// An HTTP/2 client connection whose background work runs in a task of its own:
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Empty, Full};
/// use hue_compat::hyper::{HueExecutor, HueIo};
/// use hue_reactor::net::{TcpListener, TcpStream};
/// use hyper::service::service_fn;
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     hue_executor::spawn(async move {
///         let (stream, _) = listener.accept().await.unwrap();
///         let service = service_fn(|_req| async {
///             Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from("h2!"))))
///         });
///         hyper::server::conn::http2::Builder::new(HueExecutor::new())
///             .serve_connection(HueIo::new(stream), service)
///             .await
///             .unwrap();
///     });
///
///     let stream = TcpStream::connect(addr).await?;
///     let (mut sender, conn) =
///         hyper::client::conn::http2::handshake(HueExecutor::new(), HueIo::new(stream))
///             .await
///             .unwrap();
///     hue_executor::spawn_colored(hue_executor::Color::fresh(), conn);
///     let req = hyper::Request::get("/").body(Empty::<Bytes>::new()).unwrap();
///     let res = sender.send_request(req).await.unwrap();
///     assert_eq!(res.version(), hyper::Version::HTTP_2);
///     let body = res.into_body().collect().await.unwrap().to_bytes();
///     assert_eq!(&body[..], b"h2!");
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct HueExecutor {
    coloring: Coloring,
    handle: Option<Handle>,
}

impl HueExecutor {
    /// An executor that spawns every future in a fresh color of its own (the default).
    ///
    /// ```
    /// use hue_compat::hyper::HueExecutor;
    /// use hyper::rt::Executor;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let (tx, rx) = futures::channel::oneshot::channel();
    ///     HueExecutor::new().execute(async move {
    ///         let _ = tx.send(hue_executor::current_color());
    ///     });
    ///     // Not the spawner's color (color 0 here): a color of its own.
    ///     assert_ne!(rx.await.unwrap(), hue_executor::Color::DEFAULT);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> HueExecutor {
        HueExecutor {
            coloring: Coloring::Fresh,
            handle: None,
        }
    }

    /// An executor that spawns every future in `color`.
    ///
    /// Futures of one color never run in parallel (S1): hyper's background work for an
    /// HTTP/2 connection then runs one piece at a time, in the order it became runnable.
    ///
    /// ```
    /// use hue_compat::hyper::HueExecutor;
    /// use hue_executor::Color;
    /// use hyper::rt::Executor;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let color = Color::of(&"http2-conns");
    ///     let (tx, rx) = futures::channel::oneshot::channel();
    ///     HueExecutor::in_color(color).execute(async move {
    ///         let _ = tx.send(hue_executor::current_color());
    ///     });
    ///     assert_eq!(rx.await.unwrap(), color);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn in_color(color: Color) -> HueExecutor {
        HueExecutor {
            coloring: Coloring::Fixed(color),
            handle: None,
        }
    }

    /// An executor that spawns every future in the color of the task that calls
    /// [`execute`](hyper::rt::Executor::execute) (hue's [`spawn`](hue_executor::spawn)); for
    /// hyper, usually the task that polls the connection.
    ///
    /// ```
    /// use hue_compat::hyper::HueExecutor;
    /// use hue_executor::Color;
    /// use hyper::rt::Executor;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let color = Color::new(7);
    ///     let seen = hue_executor::spawn_colored(color, async {
    ///         let (tx, rx) = futures::channel::oneshot::channel();
    ///         HueExecutor::inherit().execute(async move {
    ///             let _ = tx.send(hue_executor::current_color());
    ///         });
    ///         rx.await.unwrap()
    ///     });
    ///     assert_eq!(seen.await.unwrap(), color);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn inherit() -> HueExecutor {
        HueExecutor {
            coloring: Coloring::Inherit,
            handle: None,
        }
    }

    /// This executor, spawning on the runtime of `handle` rather than on the runtime of the
    /// calling thread, so that it works from any thread.
    ///
    /// ```
    /// use hue_compat::hyper::HueExecutor;
    /// use hyper::rt::Executor;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// let exec = HueExecutor::new().on(rt.handle().clone());
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// // Outside the runtime: spawned on `rt` all the same.
    /// exec.execute(async move { tx.send(42).unwrap() });
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on(mut self, handle: Handle) -> HueExecutor {
        self.handle = Some(handle);
        self
    }

    /// The color this executor gives the next future, or `None` when that is the spawning
    /// task's color ([`inherit`](HueExecutor::inherit)). Every call of a
    /// [`new`](HueExecutor::new) executor answers another fresh color.
    fn color(&self) -> Option<Color> {
        match self.coloring {
            Coloring::Fresh => Some(Color::fresh()),
            Coloring::Fixed(color) => Some(color),
            Coloring::Inherit => None,
        }
    }
}

impl Default for HueExecutor {
    /// [`HueExecutor::new`]: a fresh color for every future.
    fn default() -> HueExecutor {
        HueExecutor::new()
    }
}

impl fmt::Debug for HueExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("HueExecutor");
        match self.coloring {
            Coloring::Fresh => d.field("color", &"fresh"),
            Coloring::Inherit => d.field("color", &"inherit"),
            Coloring::Fixed(c) => d.field("color", &c),
        };
        d.field("bound_to_handle", &self.handle.is_some()).finish()
    }
}

impl<Fut> hyper::rt::Executor<Fut> for HueExecutor
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    /// Spawns `fut` as a detached hue task.
    ///
    /// # Panics
    ///
    /// Outside a hue runtime, unless the executor was bound to one with
    /// [`on`](HueExecutor::on).
    #[track_caller]
    fn execute(&self, fut: Fut) {
        let color = self.color();
        let _detached = match (&self.handle, color) {
            (Some(h), Some(c)) => h.spawn_colored(c, fut),
            (Some(h), None) => h.spawn(fut),
            (None, Some(c)) => hue_executor::spawn_colored(c, fut),
            (None, None) => hue_executor::spawn(fut),
        };
    }
}
