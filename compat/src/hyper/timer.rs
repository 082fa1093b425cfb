//! [`HueTimer`] and [`HueSleep`]: hyper's `Timer` over hue's timer wheel.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hue_reactor::time::Sleep;

/// hyper's [`Timer`](hyper::rt::Timer) over [`hue_reactor::time`]: the timeouts hyper
/// keeps (HTTP/1 `header_read_timeout`, HTTP/2 keep-alive pings, client pool idle timeouts)
/// become hue timers, with hue's 1 ms resolution; a timer never fires early.
///
/// Give it to hyper's builders with `.timer(HueTimer)`. hyper's `Instant` and hue's are both
/// [`std::time::Instant`], so deadlines pass through unchanged.
///
/// # Panics
///
/// hyper makes its timers from the connection future: that future must be polled inside a
/// hue runtime (in a hue task or [`block_on`](hue_executor::Runtime::block_on)), like every
/// hue timer ([`hue_reactor::time::sleep`]).
///
/// # Examples
///
/// An HTTP/1 server that closes connections which send no request header in time:
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use futures::AsyncReadExt;
/// use http_body_util::Full;
/// use hue_compat::hyper::{HueIo, HueTimer};
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
///             Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from("hi"))))
///         });
///         let _ = hyper::server::conn::http1::Builder::new()
///             .timer(HueTimer)
///             .header_read_timeout(Duration::from_millis(50))
///             .serve_connection(HueIo::new(stream), service)
///             .await;
///     });
///
///     // Connect and send nothing: the server gives up on us.
///     let mut client = TcpStream::connect(addr).await?;
///     let mut answer = Vec::new();
///     client.read_to_end(&mut answer).await?;
///     let answer = String::from_utf8_lossy(&answer);
///     assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
///     Ok::<_, std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HueTimer;

impl hyper::rt::Timer for HueTimer {
    /// A [`HueSleep`] completing after `duration`.
    #[track_caller]
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HueSleep::new(hue_reactor::time::sleep(duration)))
    }

    /// A [`HueSleep`] completing at `deadline`.
    #[track_caller]
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HueSleep::new(hue_reactor::time::sleep_until(deadline)))
    }

    /// Moves a [`HueSleep`]'s deadline in place (its timer keeps its slot and waker); any
    /// other `Sleep` is replaced by a new one.
    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HueSleep>() {
            Some(hue_sleep) => hue_sleep.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A hue [`Sleep`] as hyper's [`Sleep`](hyper::rt::Sleep) (`Send + Sync + Future<Output =
/// ()>`): what [`HueTimer`] hands hyper.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use hue_compat::hyper::HueSleep;
/// use hue_reactor::time::{sleep, Instant};
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let start = Instant::now();
///     HueSleep::new(sleep(Duration::from_millis(5))).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct HueSleep {
    inner: Sleep,
}

impl HueSleep {
    /// Wraps a hue `Sleep`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_compat::hyper::HueSleep;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let s = HueSleep::new(hue_reactor::time::sleep(Duration::from_millis(1)));
    ///     let boxed: std::pin::Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(s);
    ///     boxed.await;
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(inner: Sleep) -> HueSleep {
        HueSleep { inner }
    }

    /// The instant at which this sleep completes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_compat::hyper::HueSleep;
    /// use hue_reactor::time::{sleep_until, Instant};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let at = Instant::now() + Duration::from_millis(2);
    ///     assert_eq!(HueSleep::new(sleep_until(at)).deadline(), at);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn deadline(&self) -> Instant {
        self.inner.deadline()
    }

    /// Moves the deadline to `deadline` (see [`Sleep::reset`]).
    ///
    /// ```
    /// use std::pin::Pin;
    /// use std::time::Duration;
    /// use hue_compat::hyper::HueSleep;
    /// use hue_reactor::time::{sleep, Instant};
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let mut s = HueSleep::new(sleep(Duration::from_secs(3600)));
    ///     let soon = Instant::now() + Duration::from_millis(3);
    ///     Pin::new(&mut s).reset(soon);
    ///     s.await;
    ///     assert!(Instant::now() >= soon);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        Pin::new(&mut self.get_mut().inner).reset(deadline);
    }

    /// The hue `Sleep` inside.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hue_compat::hyper::HueSleep;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let s = HueSleep::new(hue_reactor::time::sleep(Duration::from_millis(1)));
    ///     s.into_inner().await;
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_inner(self) -> Sleep {
        self.inner
    }
}

impl From<Sleep> for HueSleep {
    fn from(inner: Sleep) -> HueSleep {
        HueSleep::new(inner)
    }
}

impl Future for HueSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

impl hyper::rt::Sleep for HueSleep {}
