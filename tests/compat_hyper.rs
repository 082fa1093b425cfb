//! hyper on hue (`hue::compat::hyper`): HTTP/1 and HTTP/2 servers and clients, keep-alive,
//! malformed requests, hyper's timer and executor, and `HueIo` in both directions.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::{AsyncReadExt, AsyncWriteExt};
use http_body_util::{BodyExt, Empty, Full};
use hue::compat::hyper::{HueExecutor, HueIo, HueSleep, HueTimer};
use hue::net::{TcpListener, TcpStream};
use hue::{spawn_colored, Color, ColorCell};
use hyper::body::Incoming;
use hyper::rt::{Executor, Timer};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Version};

type Body = Full<Bytes>;

/// Echoes the request's method, path and body: `"POST /x: <body>"`.
async fn echo(req: Request<Incoming>) -> Result<Response<Body>, hyper::Error> {
    let head = format!("{} {}: ", req.method(), req.uri().path());
    let body = req.into_body().collect().await?.to_bytes();
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    Ok(Response::new(Full::new(Bytes::from(out))))
}

/// Accepts connections forever, serving each in a fresh color with `serve`; counts them.
fn spawn_server<F, Fut>(listener: TcpListener, accepted: Arc<AtomicUsize>, serve: F)
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    spawn_colored(Color::fresh(), async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            accepted.fetch_add(1, Ordering::SeqCst);
            spawn_colored(Color::fresh(), serve(stream));
        }
    });
}

async fn serve_http1(stream: TcpStream) {
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(HueTimer)
        .serve_connection(HueIo::new(stream), service_fn(echo))
        .await;
}

async fn body_text(res: Response<Incoming>) -> String {
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

fn post(path: &str, body: &'static str) -> Request<Body> {
    Request::post(format!("http://localhost{path}"))
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

#[test]
fn http1_request_with_body_and_keep_alive() {
    let _w = common::watchdog("http1_request_with_body_and_keep_alive");
    let rt = common::runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        spawn_server(listener, accepted.clone(), serve_http1);

        let io = HueIo::new(TcpStream::connect(addr).await.unwrap());
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        let conn = spawn_colored(Color::fresh(), conn);
        for i in 0..5 {
            sender.ready().await.unwrap();
            let res = sender
                .send_request(post(&format!("/r{i}"), "some body"))
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.version(), Version::HTTP_11);
            assert_eq!(body_text(res).await, format!("POST /r{i}: some body"));
        }
        // Five requests, one connection (keep-alive).
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        drop(sender);
        conn.await.unwrap().unwrap();
    });
}

#[test]
fn http1_large_bodies_both_ways() {
    let _w = common::watchdog("http1_large_bodies_both_ways");
    let rt = common::runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn_server(listener, Arc::new(AtomicUsize::new(0)), serve_http1);

        let io = HueIo::new(TcpStream::connect(addr).await.unwrap());
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        spawn_colored(Color::fresh(), conn);
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let req = Request::put("/big")
            .body(Full::new(Bytes::from(big.clone())))
            .unwrap();
        let res = sender.send_request(req).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..9], b"PUT /big:");
        assert!(body[10..] == big[..], "the 3 MB body came back changed");
    });
}

#[test]
fn http1_malformed_request_gets_400() {
    let _w = common::watchdog("http1_malformed_request_gets_400");
    let rt = common::runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn_server(listener, Arc::new(AtomicUsize::new(0)), serve_http1);

        for garbage in [
            &b"GARBAGE\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        ] {
            let mut raw = TcpStream::connect(addr).await.unwrap();
            raw.write_all(garbage).await.unwrap();
            let mut answer = Vec::new();
            raw.read_to_end(&mut answer).await.unwrap();
            let answer = String::from_utf8_lossy(&answer);
            assert!(answer.starts_with("HTTP/1.1 400"), "answer: {answer:?}");
        }

        // The server still serves well-formed requests.
        let io = HueIo::new(TcpStream::connect(addr).await.unwrap());
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        spawn_colored(Color::fresh(), conn);
        let res = sender.send_request(post("/ok", "fine")).await.unwrap();
        assert_eq!(body_text(res).await, "POST /ok: fine");
    });
}

#[test]
fn http1_header_read_timeout_uses_hue_timer() {
    let _w = common::watchdog("http1_header_read_timeout_uses_hue_timer");
    let rt = common::runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let closed = Arc::new(AtomicUsize::new(0));
        let closed2 = closed.clone();
        spawn_server(listener, Arc::new(AtomicUsize::new(0)), move |stream| {
            let closed = closed2.clone();
            async move {
                let result = hyper::server::conn::http1::Builder::new()
                    .timer(HueTimer)
                    .header_read_timeout(Duration::from_millis(100))
                    .serve_connection(HueIo::new(stream), service_fn(echo))
                    .await;
                // hyper reports the timeout as an error.
                assert!(result.is_err(), "{result:?}");
                closed.fetch_add(1, Ordering::SeqCst);
            }
        });

        // A client that sends nothing, and one that sends half a header.
        for prefix in [&b""[..], b"GET / HTTP/1.1\r\nHo"] {
            let mut raw = TcpStream::connect(addr).await.unwrap();
            raw.write_all(prefix).await.unwrap();
            let mut answer = Vec::new();
            // EOF (or a 408) well within the watchdog: the timer fired.
            let _ = raw.read_to_end(&mut answer).await;
            let answer = String::from_utf8_lossy(&answer);
            assert!(
                answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
                "{answer:?}"
            );
        }
        common::wait_until("both connections were closed", || {
            closed.load(Ordering::SeqCst) == 2
        });
    });
}

/// An executor that counts what it spawns and records the colors the spawned futures run in.
#[derive(Clone, Debug)]
struct Recording {
    inner: HueExecutor,
    spawned: Arc<AtomicUsize>,
    colors: Arc<Mutex<Vec<Color>>>,
}

impl Recording {
    fn new(inner: HueExecutor) -> Recording {
        Recording {
            inner,
            spawned: Arc::new(AtomicUsize::new(0)),
            colors: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl<F> Executor<F> for Recording
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        self.spawned.fetch_add(1, Ordering::SeqCst);
        let colors = self.colors.clone();
        self.inner.execute(async move {
            colors.lock().unwrap().push(hue::current_color());
            fut.await
        });
    }
}

async fn http2_client(
    addr: std::net::SocketAddr,
    exec: Recording,
) -> hyper::client::conn::http2::SendRequest<Body> {
    let io = HueIo::new(TcpStream::connect(addr).await.unwrap());
    let (sender, conn) = hyper::client::conn::http2::Builder::new(exec)
        .timer(HueTimer)
        .handshake(io)
        .await
        .unwrap();
    spawn_colored(Color::fresh(), conn);
    sender
}

#[test]
fn http2_server_and_client_use_the_executor() {
    let _w = common::watchdog("http2_server_and_client_use_the_executor");
    let rt = common::runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let server_exec = Recording::new(HueExecutor::new());
        let exec = server_exec.clone();
        spawn_server(listener, accepted.clone(), move |stream| {
            let exec = exec.clone();
            async move {
                let _ = hyper::server::conn::http2::Builder::new(exec)
                    .timer(HueTimer)
                    .serve_connection(HueIo::new(stream), service_fn(echo))
                    .await;
            }
        });

        let client_exec = Recording::new(HueExecutor::new());
        let sender = http2_client(addr, client_exec.clone()).await;
        // Twenty concurrent requests multiplexed on one connection.
        let requests: Vec<_> = (0..20)
            .map(|i| {
                let mut sender = sender.clone();
                spawn_colored(Color::fresh(), async move {
                    let res = sender
                        .send_request(post(&format!("/s{i}"), "h2 body"))
                        .await
                        .unwrap();
                    assert_eq!(res.version(), Version::HTTP_2);
                    assert_eq!(res.status(), StatusCode::OK);
                    assert_eq!(body_text(res).await, format!("POST /s{i}: h2 body"));
                })
            })
            .collect();
        for r in requests {
            r.await.unwrap();
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        // The server spawned a task per stream; the client its connection's background work.
        assert!(server_exec.spawned.load(Ordering::SeqCst) >= 20);
        assert!(client_exec.spawned.load(Ordering::SeqCst) >= 1);
        // Each in a fresh color: none in the spawner's, all different.
        let colors = server_exec.colors.lock().unwrap().clone();
        let mut distinct = colors.clone();
        distinct.sort_by_key(|c| format!("{c:?}"));
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            colors.len(),
            "fresh colors repeat: {colors:?}"
        );
    });
}

#[test]
fn http2_executor_in_one_color() {
    let _w = common::watchdog("http2_executor_in_one_color");
    let rt = common::runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let color = Color::of(&"h2-streams");
        let server_exec = Recording::new(HueExecutor::in_color(color));
        let exec = server_exec.clone();
        spawn_server(listener, Arc::new(AtomicUsize::new(0)), move |stream| {
            let exec = exec.clone();
            async move {
                // Answers the color its request's future runs in.
                let service = service_fn(|_req: Request<Incoming>| async {
                    let color = format!("{:?}", hue::current_color());
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(color))))
                });
                let _ = hyper::server::conn::http2::Builder::new(exec)
                    .serve_connection(HueIo::new(stream), service)
                    .await;
            }
        });
        let mut sender = http2_client(addr, Recording::new(HueExecutor::inherit())).await;
        for i in 0..5 {
            let res = sender
                .send_request(post(&format!("/c{i}"), "x"))
                .await
                .unwrap();
            // Over HTTP/2 the request's future runs in the executor's task.
            assert_eq!(body_text(res).await, format!("{color:?}"));
        }
        let colors = server_exec.colors.lock().unwrap().clone();
        assert!(colors.len() >= 5);
        assert!(colors.iter().all(|&c| c == color), "{colors:?}");
    });
}

#[test]
fn auto_builder_serves_http1_and_http2_on_one_port() {
    let _w = common::watchdog("auto_builder_serves_http1_and_http2_on_one_port");
    let rt = common::runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn_server(
            listener,
            Arc::new(AtomicUsize::new(0)),
            |stream| async move {
                let mut builder = hyper_util::server::conn::auto::Builder::new(HueExecutor::new());
                builder.http1().timer(HueTimer);
                builder.http2().timer(HueTimer);
                let _ = builder
                    .serve_connection(HueIo::new(stream), service_fn(echo))
                    .await;
            },
        );

        let io = HueIo::new(TcpStream::connect(addr).await.unwrap());
        let (mut h1, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        spawn_colored(Color::fresh(), conn);
        let res = h1.send_request(post("/one", "1")).await.unwrap();
        assert_eq!(res.version(), Version::HTTP_11);
        assert_eq!(body_text(res).await, "POST /one: 1");

        let mut h2 = http2_client(addr, Recording::new(HueExecutor::new())).await;
        let res = h2.send_request(post("/two", "2")).await.unwrap();
        assert_eq!(res.version(), Version::HTTP_2);
        assert_eq!(body_text(res).await, "POST /two: 2");
    });
}

#[test]
fn many_connections_in_parallel_with_color_owned_state() {
    let _w = common::watchdog("many_connections_in_parallel_with_color_owned_state");
    let rt = common::runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // A hit counter owned by a color: no lock, handlers visit the color to count.
        let counter = Arc::new(ColorCell::new(Color::of(&"hits"), 0u64));
        let c = counter.clone();
        spawn_server(listener, Arc::new(AtomicUsize::new(0)), move |stream| {
            let counter = c.clone();
            async move {
                let service = service_fn(move |_req: Request<Incoming>| {
                    let counter = counter.clone();
                    async move {
                        let n = hue::in_color(counter.color(), async {
                            counter.with(|n| {
                                *n += 1;
                                *n
                            })
                        })
                        .await;
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(n.to_string()))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(HueIo::new(stream), service)
                    .await;
            }
        });

        let clients: Vec<_> = (0..16)
            .map(|_| {
                spawn_colored(Color::fresh(), async move {
                    let io = HueIo::new(TcpStream::connect(addr).await.unwrap());
                    let (mut sender, conn) =
                        hyper::client::conn::http1::handshake(io).await.unwrap();
                    spawn_colored(Color::fresh(), conn);
                    for _ in 0..10 {
                        // An HTTP/1 connection takes the next request once the last one is
                        // done: wait for that (sending early is a `Canceled` error).
                        sender.ready().await.unwrap();
                        let req = Request::get("/").body(Empty::<Bytes>::new()).unwrap();
                        let res = sender.send_request(req).await.unwrap();
                        let n: u64 = body_text(res).await.parse().unwrap();
                        assert!((1..=160).contains(&n));
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        let total = hue::in_color(counter.color(), async { counter.with(|n| *n) }).await;
        assert_eq!(total, 160);
    });
}

#[test]
fn timer_reset_moves_a_hue_sleep_and_replaces_others() {
    let _w = common::watchdog("timer_reset_moves_a_hue_sleep_and_replaces_others");
    let rt = common::runtime(2);
    rt.block_on(async {
        let timer = HueTimer;
        let start = hue::time::Instant::now();
        let mut s = timer.sleep(Duration::from_secs(3600));
        assert!(s.as_mut().downcast_mut_pin::<HueSleep>().is_some());
        let soon = start + Duration::from_millis(20);
        timer.reset(&mut s, soon);
        s.as_mut().await;
        assert!(hue::time::Instant::now() >= soon);

        /// A `Sleep` not made by `HueTimer`: ready at once.
        struct Foreign;
        impl Future for Foreign {
            type Output = ();
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
                Poll::Ready(())
            }
        }
        impl hyper::rt::Sleep for Foreign {}
        let mut f: Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Foreign);
        let later = hue::time::Instant::now() + Duration::from_millis(10);
        timer.reset(&mut f, later);
        assert!(f.as_mut().downcast_mut_pin::<HueSleep>().is_some());
        f.await;
        assert!(hue::time::Instant::now() >= later);

        let until = timer.sleep_until(hue::time::Instant::now() + Duration::from_millis(5));
        until.await;
    });
}

#[test]
fn hue_io_adapts_both_ways() {
    let _w = common::watchdog("hue_io_adapts_both_ways");
    futures::executor::block_on(async {
        // futures-io -> hyper -> futures-io again, over an in-memory cursor.
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let mut twice = HueIo::new(HueIo::new(futures::io::Cursor::new(data.clone())));
        let mut back = Vec::new();
        twice.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, data);

        let mut sink = HueIo::new(HueIo::new(futures::io::Cursor::new(Vec::new())));
        sink.write_all(b"hello ").await.unwrap();
        let bufs = [io::IoSlice::new(b"vectored "), io::IoSlice::new(b"world")];
        let n = sink.write_vectored(&bufs).await.unwrap();
        assert!(n > 0);
        sink.flush().await.unwrap();
        sink.close().await.unwrap();
        let written = sink.into_inner().into_inner().into_inner();
        assert!(written.starts_with(b"hello vectored "), "{written:?}");
    });
}

/// An `AsyncRead` that claims to have read more than it was given.
struct Liar;

impl futures::AsyncRead for Liar {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len() + 1))
    }
}

#[test]
fn hue_io_rejects_a_reader_claiming_too_much() {
    let _w = common::watchdog("hue_io_rejects_a_reader_claiming_too_much");
    futures::executor::block_on(async {
        let mut io = HueIo::new(HueIo::new(Liar));
        let mut buf = [0u8; 16];
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("17"), "{err}");
    });
}

#[test]
fn executor_bound_to_a_handle_spawns_from_outside() {
    let _w = common::watchdog("executor_bound_to_a_handle_spawns_from_outside");
    let rt = common::runtime(2);
    let exec = HueExecutor::new().on(rt.handle().clone());
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..10 {
        let tx = tx.clone();
        exec.execute(async move {
            tx.send((i, hue::current_color())).unwrap();
        });
    }
    let mut got: Vec<_> = (0..10).map(|_| rx.recv().unwrap()).collect();
    got.sort_by_key(|(i, _)| *i);
    assert_eq!(
        got.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    assert!(got.iter().all(|(_, c)| *c != Color::DEFAULT));
    assert!(format!("{exec:?}").contains("fresh"));
}
