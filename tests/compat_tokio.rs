//! Integration tests of `hue::compat::tokio`: tokio's I/O traits over futures-io types through
//! `Compat` (here hue's sockets seen as futures-io types, which have tokio's traits
//! themselves as well: `tests/native_io.rs`; tokio-util codecs, `tokio::io` helpers), the reverse direction checked against
//! tokio-test's scripted mocks (partial writes, errors), tokio's runtime-independent parts
//! (`tokio::sync`, `tokio::select!`) across colors and workers, and `TokioContext` for code
//! that calls tokio's own timers and sockets.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use hue::compat::tokio::{
    Compat, FuturesAsyncReadCompatExt, FuturesAsyncWriteCompatExt, TokioAsyncReadCompatExt,
    TokioAsyncWriteCompatExt, TokioContextExt,
};
use hue::net::{TcpListener, UnixStream};
use hue::{Color, ColorCell};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio_util::codec::{Framed, LengthDelimitedCodec, LinesCodec};

mod common;
use common::{loopback_tcp_pair, panic_message, runtime, watchdog};

// ---------------------------------------------------------------------------------------------
// futures-io -> tokio: hue sockets with tokio's I/O helpers and tokio-util's codecs

#[test]
fn lines_codec_over_hue_tcp() {
    let _w = watchdog("lines_codec_over_hue_tcp");
    let rt = runtime(2);
    rt.block_on(async {
        let (client, server) = loopback_tcp_pair().await;
        let server = hue::compat::spawn(async move {
            let mut lines =
                Framed::new(FuturesAsyncReadCompatExt::compat(server), LinesCodec::new());
            let mut n = 0;
            while let Some(line) = lines.next().await {
                let line = line.unwrap();
                lines
                    .send(format!("{}:{}", n, line.to_uppercase()))
                    .await
                    .unwrap();
                n += 1;
            }
            n
        });
        let mut client = Framed::new(FuturesAsyncReadCompatExt::compat(client), LinesCodec::new());
        for i in 0..100 {
            client.send(format!("line {i}")).await.unwrap();
        }
        for i in 0..100 {
            assert_eq!(
                client.next().await.unwrap().unwrap(),
                format!("{i}:LINE {i}")
            );
        }
        // Closing the sink shuts our write side down (poll_shutdown -> poll_close): the
        // server sees the end of its stream and finishes.
        SinkExt::<String>::close(&mut client).await.unwrap();
        assert_eq!(server.await.unwrap(), 100);
        assert!(client.next().await.is_none());
    });
}

#[test]
fn length_delimited_codec_over_hue_unix_stream() {
    let _w = watchdog("length_delimited_codec_over_hue_unix_stream");
    let rt = runtime(2);
    rt.block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        // Frames up to 1 MiB: far more than a socket buffer, so reads and writes are partial.
        let sizes = [0usize, 1, 100, 65_536, 1 << 20, 7];
        let echo = hue::compat::spawn(async move {
            let mut frames = Framed::new(
                FuturesAsyncReadCompatExt::compat(b),
                LengthDelimitedCodec::new(),
            );
            while let Some(frame) = frames.next().await {
                let frame: BytesMut = frame.unwrap();
                frames.send(frame.freeze()).await.unwrap();
            }
        });
        let mut frames = Framed::new(
            FuturesAsyncReadCompatExt::compat(a),
            LengthDelimitedCodec::new(),
        );
        for (i, &size) in sizes.iter().enumerate() {
            let frame: Vec<u8> = (0..size).map(|j| (i * 31 + j) as u8).collect();
            frames.send(Bytes::from(frame.clone())).await.unwrap();
            let got = frames.next().await.expect("echo closed").unwrap();
            assert_eq!(&got[..], &frame[..], "frame {i} of {size} bytes");
        }
        drop(frames);
        echo.await.unwrap();
    });
}

#[test]
fn tokio_io_helpers_over_hue_tcp() {
    let _w = watchdog("tokio_io_helpers_over_hue_tcp");
    let rt = runtime(2);
    rt.block_on(async {
        let (client, server) = loopback_tcp_pair().await;
        // The server echoes with tokio::io::copy over the owned halves.
        let echo = hue::compat::spawn(async move {
            let (r, w) = server.into_split();
            let (mut r, mut w) = (
                FuturesAsyncReadCompatExt::compat(r),
                FuturesAsyncWriteCompatExt::compat_write(w),
            );
            let n = tokio::io::copy(&mut r, &mut w).await.unwrap();
            w.shutdown().await.unwrap();
            n
        });
        let (r, w) = client.into_split();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = hue::compat::spawn(async move {
            let mut w = FuturesAsyncWriteCompatExt::compat_write(w);
            w.write_u32(sent.len() as u32).await.unwrap();
            w.write_all(&sent).await.unwrap();
            // A vectored write (the socket buffer may be full: finish what it did not take).
            let all = b"abcd\n";
            let bufs = [io::IoSlice::new(&all[..2]), io::IoSlice::new(&all[2..])];
            let n = w.write_vectored(&bufs).await.unwrap();
            assert!((1..=5).contains(&n));
            w.write_all(&all[n..]).await.unwrap();
            w.write_all(b"last line\n").await.unwrap();
            w.shutdown().await.unwrap();
        });
        let mut r = BufReader::new(FuturesAsyncReadCompatExt::compat(r));
        let len = r.read_u32().await.unwrap() as usize;
        assert_eq!(len, data.len());
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await.unwrap();
        assert!(body == data, "the echoed body differs");
        let mut line = String::new();
        r.read_line(&mut line).await.unwrap();
        assert_eq!(line, "abcd\n");
        line.clear();
        r.read_line(&mut line).await.unwrap();
        assert_eq!(line, "last line\n");
        assert_eq!(r.read_line(&mut line).await.unwrap(), 0, "end of stream");
        writer.await.unwrap();
        assert_eq!(echo.await.unwrap(), 4 + data.len() as u64 + 5 + 10);
    });
}

#[test]
fn futures_read_of_a_misbehaving_count_panics_with_a_message() {
    // A futures-io reader that claims more bytes than it was given.
    struct Liar;
    impl futures::io::AsyncRead for Liar {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<io::Result<usize>> {
            std::task::Poll::Ready(Ok(buf.len() + 1))
        }
    }
    let _w = watchdog("futures_read_of_a_misbehaving_count_panics_with_a_message");
    let rt = runtime(1);
    let err = rt.block_on(async {
        hue::compat::spawn(async {
            let mut buf = [0u8; 4];
            let _ = Liar.compat().read(&mut buf).await;
        })
        .await
        .unwrap_err()
    });
    assert!(panic_message(&*err.into_panic()).contains("returned 5 for a buffer of 4"));
}

// ---------------------------------------------------------------------------------------------
// tokio -> futures-io: tokio-test's scripted mocks

#[test]
fn mock_reads_pass_through_including_errors() {
    use futures::io::AsyncReadExt as _;
    let _w = watchdog("mock_reads_pass_through_including_errors");
    let rt = runtime(1);
    rt.block_on(async {
        let mock = tokio_test::io::Builder::new()
            .read(b"hello ")
            .read(b"world")
            .read_error(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "scripted reset",
            ))
            .read(b"after")
            .build();
        let mut r = mock.compat();
        let mut buf = [0u8; 64];
        // One read per scripted chunk: the adapter returns what the inner read filled.
        assert_eq!(r.read(&mut buf).await.unwrap(), 6);
        assert_eq!(&buf[..6], b"hello ");
        // A buffer smaller than the chunk: a partial read, the rest comes next.
        assert_eq!(r.read(&mut buf[..3]).await.unwrap(), 3);
        assert_eq!(&buf[..3], b"wor");
        assert_eq!(r.read(&mut buf).await.unwrap(), 2);
        assert_eq!(&buf[..2], b"ld");
        let err = r.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(err.to_string(), "scripted reset");
        assert_eq!(r.read(&mut buf).await.unwrap(), 5);
        // End of the script: end of stream.
        assert_eq!(r.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn mock_partial_writes_pass_through() {
    use futures::io::AsyncWriteExt as _;
    let _w = watchdog("mock_partial_writes_pass_through");
    let rt = runtime(1);
    rt.block_on(async {
        // The mock takes "abcd", then fails one write, then takes "efghij".
        let mock = tokio_test::io::Builder::new()
            .write(b"abcd")
            .write_error(io::Error::new(io::ErrorKind::BrokenPipe, "scripted pipe"))
            .write(b"efghij")
            .build();
        let mut w = mock.compat_write();
        // A write of 10 bytes where the mock takes 4: the adapter returns 4, not 10.
        assert_eq!(w.write(b"abcdefghij").await.unwrap(), 4);
        let err = w.write(b"efghij").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(w.write(b"efghij").await.unwrap(), 6);
        w.flush().await.unwrap();
        w.close().await.unwrap();
        // Dropping the mock asserts that the whole script was consumed.
    });
}

#[test]
fn mock_write_all_retries_partial_writes() {
    use futures::io::AsyncWriteExt as _;
    let _w = watchdog("mock_write_all_retries_partial_writes");
    let rt = runtime(1);
    rt.block_on(async {
        // A scripted wait between two chunks makes the first write partial; the mock sleeps
        // with tokio's timer, so it runs in a TokioContext.
        async {
            let mock = tokio_test::io::Builder::new()
                .write(b"abcd")
                .wait(Duration::from_millis(5))
                .write(b"efghij")
                .build();
            let mut w = mock.compat_write();
            assert_eq!(w.write(b"abcdefghij").await.unwrap(), 4);
            w.write_all(b"efghij").await.unwrap();
        }
        .with_tokio()
        .await;
    });
}

#[test]
fn mock_in_futures_io_code_via_duplex() {
    // tokio's in-memory duplex pipe through the adapter into futures' copy: the reverse
    // direction end to end.
    let _w = watchdog("mock_in_futures_io_code_via_duplex");
    let rt = runtime(2);
    rt.block_on(async {
        let (a, b) = tokio::io::duplex(64);
        let writer = hue::compat::spawn(async move {
            let mut a = a;
            for i in 0..1000u32 {
                a.write_all(format!("{i}\n").as_bytes()).await.unwrap();
            }
        });
        let mut out = Vec::new();
        futures::io::copy(b.compat(), &mut out).await.unwrap();
        writer.await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1000);
        assert_eq!(text.lines().last(), Some("999"));
    });
}

// ---------------------------------------------------------------------------------------------
// tokio::sync across colors and workers

/// The shared named color some of the tasks below run in.
fn shared() -> Color {
    Color::of(&"compat-tokio-shared")
}

#[test]
fn mpsc_and_oneshot_across_colors() {
    let _w = watchdog("mpsc_and_oneshot_across_colors");
    let rt = runtime(2);
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, u64)>(4); // small: backpressure
                                                                          // The consumer lives in the shared color and keeps its totals in a ColorCell.
        let totals = Arc::new(ColorCell::new(shared(), vec![0u64; 8]));
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<usize>();
        let consumer = {
            let totals = totals.clone();
            hue::spawn_colored(shared(), async move {
                let mut n = 0;
                while let Some((producer, v)) = rx.recv().await {
                    totals.with(|t| t[producer] += v);
                    n += 1;
                }
                done_tx.send(n).unwrap();
            })
        };
        // Four producers in fresh colors, four in the shared color.
        let producers: Vec<_> = (0..8)
            .map(|p| {
                let tx = tx.clone();
                let color = if p % 2 == 0 { Color::fresh() } else { shared() };
                hue::spawn_colored(color, async move {
                    for v in 1..=200u64 {
                        tx.send((p, v)).await.unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        for p in producers {
            p.await.unwrap();
        }
        assert_eq!(done_rx.await.unwrap(), 8 * 200);
        consumer.await.unwrap();
        let totals = hue::in_color(shared(), async { totals.with(|t| t.clone()) }).await;
        assert_eq!(totals, vec![200 * 201 / 2; 8]);

        // oneshot: a fresh-colored task answers a shared-colored one; a dropped sender is an
        // error on the other side.
        let (q_tx, q_rx) = tokio::sync::oneshot::channel::<u32>();
        let (a_tx, a_rx) = tokio::sync::oneshot::channel::<u32>();
        let asker = hue::spawn_colored(shared(), async move {
            q_tx.send(20).unwrap();
            a_rx.await.unwrap()
        });
        let answerer = hue::compat::spawn(async move {
            let q = q_rx.await.unwrap();
            a_tx.send(q + 22).unwrap();
        });
        answerer.await.unwrap();
        assert_eq!(asker.await.unwrap(), 42);
        let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
        hue::compat::spawn(async move { drop(dropped_tx) })
            .await
            .unwrap();
        assert!(dropped_rx.await.is_err());
    });
}

#[test]
fn mutex_notify_broadcast_semaphore_across_colors() {
    let _w = watchdog("mutex_notify_broadcast_semaphore_across_colors");
    let rt = runtime(2);
    rt.block_on(async {
        // tokio::sync::Mutex held across awaits by tasks of fresh colors (in parallel) and of
        // the shared color: the read-yield-write is never interleaved.
        let counter = Arc::new(tokio::sync::Mutex::new(0u64));
        let inside = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (counter, inside) = (counter.clone(), inside.clone());
                let color = if i % 4 == 0 { shared() } else { Color::fresh() };
                hue::spawn_colored(color, async move {
                    for _ in 0..50 {
                        let mut g = counter.lock().await;
                        assert!(!inside.swap(true, SeqCst), "two holders of the mutex");
                        let v = *g;
                        hue::yield_now().await;
                        *g = v + 1;
                        inside.store(false, SeqCst);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*counter.lock().await, 16 * 50);

        // Notify: waiters in several colors, woken by notify_waiters from another color.
        let notify = Arc::new(tokio::sync::Notify::new());
        let registered = Arc::new(tokio::sync::Semaphore::new(0));
        let waiters: Vec<_> = (0..6)
            .map(|i| {
                let (notify, registered) = (notify.clone(), registered.clone());
                let color = if i % 2 == 0 { shared() } else { Color::fresh() };
                hue::spawn_colored(color, async move {
                    let notified = notify.notified();
                    let mut notified = std::pin::pin!(notified);
                    notified.as_mut().enable();
                    registered.add_permits(1);
                    notified.await;
                    i
                })
            })
            .collect();
        let _all = registered.acquire_many(6).await.unwrap();
        {
            let notify = notify.clone();
            hue::compat::spawn(async move { notify.notify_waiters() })
                .await
                .unwrap();
        }
        let mut sum = 0;
        for w in waiters {
            sum += w.await.unwrap();
        }
        assert_eq!(sum, 15);
        // notify_one stores a permit for a later waiter.
        notify.notify_one();
        hue::compat::spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        })
        .await
        .unwrap();

        // broadcast: every subscriber, in its own color, sees every message in order.
        let (btx, _) = tokio::sync::broadcast::channel::<u32>(128);
        let subscribers: Vec<_> = (0..4)
            .map(|i| {
                let mut brx = btx.subscribe();
                let color = if i == 0 { shared() } else { Color::fresh() };
                hue::spawn_colored(color, async move {
                    let mut seen = Vec::new();
                    while let Ok(v) = brx.recv().await {
                        seen.push(v);
                    }
                    seen
                })
            })
            .collect();
        let sender = hue::compat::spawn(async move {
            for v in 0..100 {
                btx.send(v).unwrap();
                if v % 10 == 0 {
                    hue::yield_now().await;
                }
            }
        });
        sender.await.unwrap();
        for s in subscribers {
            assert_eq!(s.await.unwrap(), (0..100).collect::<Vec<_>>());
        }

        // Semaphore: at most 2 holders at a time among tasks of many colors.
        let sem = Arc::new(tokio::sync::Semaphore::new(2));
        let holders = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let (sem, holders, max) = (sem.clone(), holders.clone(), max.clone());
                let color = if i % 3 == 0 { shared() } else { Color::fresh() };
                hue::spawn_colored(color, async move {
                    for _ in 0..10 {
                        let _permit = sem.acquire().await.unwrap();
                        let now = holders.fetch_add(1, SeqCst) + 1;
                        max.fetch_max(now, SeqCst);
                        hue::time::sleep(Duration::from_millis(1)).await;
                        holders.fetch_sub(1, SeqCst);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let max = max.load(SeqCst);
        assert!(
            (1..=2).contains(&max),
            "{max} holders of a 2-permit semaphore"
        );
        assert_eq!(sem.available_permits(), 2);
        sem.close();
        assert!(sem.acquire().await.is_err());
    });
}

// ---------------------------------------------------------------------------------------------
// tokio::select! with hue timers and channels

#[test]
fn select_with_hue_timers_and_channels() {
    let _w = watchdog("select_with_hue_timers_and_channels");
    let rt = runtime(2);
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();

        // Nothing sent: the hue timer wins.
        let r = tokio::select! {
            v = rx.recv() => Err(v),
            _ = hue::time::sleep(Duration::from_millis(10)) => Ok("timer"),
        };
        assert_eq!(r, Ok("timer"));

        // A value sent: the channel wins over a long hue timer.
        tx.send(7).unwrap();
        let r = tokio::select! {
            v = rx.recv() => v,
            _ = hue::time::sleep(Duration::from_secs(30)) => None,
        };
        assert_eq!(r, Some(7));

        // A loop in a colored task: a producer in another color sends 5 values with hue sleeps
        // between them; an interval ticks meanwhile; the loop ends when the channel closes.
        let producer = hue::compat::spawn(async move {
            for v in 0..5 {
                hue::time::sleep(Duration::from_millis(3)).await;
                tx.send(v).unwrap();
            }
        });
        let consumer = hue::spawn_colored(shared(), async move {
            let mut got = Vec::new();
            let mut ticks = 0u32;
            let mut interval = hue::time::interval(Duration::from_millis(1));
            let deadline = hue::time::sleep(Duration::from_secs(30));
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    biased;
                    v = rx.recv() => match v {
                        Some(v) => got.push(v),
                        None => break,
                    },
                    _ = interval.tick() => ticks += 1,
                    _ = &mut deadline => panic!("the channel never closed"),
                }
            }
            (got, ticks)
        });
        producer.await.unwrap();
        let (got, ticks) = consumer.await.unwrap();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        assert!(ticks >= 1, "the interval branch never ran");

        // select! over a hue socket read and a hue timeout.
        let (a, b) = loopback_tcp_pair().await;
        let mut b = FuturesAsyncReadCompatExt::compat(b);
        let mut buf = [0u8; 4];
        let r = tokio::select! {
            r = b.read(&mut buf) => Some(r.unwrap()),
            _ = hue::time::sleep(Duration::from_millis(20)) => None,
        };
        assert_eq!(r, None, "nothing was written yet");
        let mut a = FuturesAsyncReadCompatExt::compat(a);
        a.write_all(b"ping").await.unwrap();
        let r = tokio::select! {
            r = b.read_exact(&mut buf) => Some(r.unwrap()),
            _ = hue::time::sleep(Duration::from_secs(30)) => None,
        };
        assert_eq!(r, Some(4));
        assert_eq!(&buf, b"ping");
    });
}

// ---------------------------------------------------------------------------------------------
// TokioContext: code that calls tokio's own timers and sockets

/// A "library" function written for tokio: it sleeps with tokio's timer and connects with
/// tokio's TcpStream.
async fn tokio_library_call(addr: std::net::SocketAddr) -> io::Result<String> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(b"from tokio\n").await?;
    let mut reply = String::new();
    tokio::io::BufReader::new(&mut s)
        .read_line(&mut reply)
        .await?;
    Ok(reply)
}

#[test]
fn tokio_context_runs_tokio_timers_and_sockets_on_hue() {
    let _w = watchdog("tokio_context_runs_tokio_timers_and_sockets_on_hue");
    let rt = runtime(2);
    rt.block_on(async {
        // A hue listener; the server side is plain hue.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = hue::compat::spawn(async move {
            for _ in 0..2 {
                let (s, _) = listener.accept().await.unwrap();
                let mut s = BufReader::new(FuturesAsyncReadCompatExt::compat(s));
                let mut line = String::new();
                s.read_line(&mut line).await.unwrap();
                s.get_mut()
                    .write_all(format!("hue got {line}").as_bytes())
                    .await
                    .unwrap();
            }
        });

        // Wrapped, in a task of a fresh color and in one of the shared color.
        let a = hue::compat::spawn(tokio_library_call(addr).with_tokio());
        let b = hue::spawn_colored(shared(), async move {
            let reply = tokio_library_call(addr).with_tokio().await;
            (reply, hue::current_color())
        });
        assert_eq!(a.await.unwrap().unwrap(), "hue got from tokio\n");
        let (reply, color) = b.await.unwrap();
        assert_eq!(reply.unwrap(), "hue got from tokio\n");
        assert_eq!(color, shared(), "the wrapper does not move the task");
        server.await.unwrap();

        // tokio::time::timeout inside, with a tokio sleep that loses.
        let r = async {
            tokio::time::timeout(
                Duration::from_millis(5),
                tokio::time::sleep(Duration::from_secs(30)),
            )
            .await
        }
        .with_tokio()
        .await;
        assert!(r.is_err());

        // tokio::spawn inside runs on tokio's thread (documented), and its result comes back.
        let on =
            async { tokio::spawn(async { std::thread::current().name().map(String::from) }).await }
                .with_tokio()
                .await
                .unwrap();
        assert_eq!(on.as_deref(), Some("hue-compat-tokio"));
    });
}

#[test]
fn without_tokio_context_tokio_timers_panic_into_a_join_error() {
    let _w = watchdog("without_tokio_context_tokio_timers_panic_into_a_join_error");
    let rt = runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let err = hue::compat::spawn(tokio_library_call(addr))
            .await
            .unwrap_err();
        assert!(err.is_panic());
        let msg = panic_message(&*err.into_panic());
        assert!(
            msg.contains("there is no reactor running"),
            "unexpected panic message: {msg}"
        );
        // tokio's sockets too, directly.
        let err = hue::compat::spawn(async move { tokio::net::TcpStream::connect(addr).await })
            .await
            .unwrap_err();
        let msg = panic_message(&*err.into_panic());
        assert!(
            msg.contains("no reactor running"),
            "unexpected panic message: {msg}"
        );
        // The runtime lives on.
        assert_eq!(hue::compat::spawn(async { 1 }).await.unwrap(), 1);
    });
}

#[test]
fn tokio_context_drops_pending_tokio_resources_at_shutdown() {
    let _w = watchdog("tokio_context_drops_pending_tokio_resources_at_shutdown");
    let rt = runtime(2);
    let dropped = Arc::new(AtomicBool::new(false));
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, SeqCst);
        }
    }
    let guard = SetOnDrop(dropped.clone());
    let started = Arc::new(tokio::sync::Notify::new());
    let started2 = started.clone();
    rt.block_on(async move {
        hue::compat::spawn(
            async move {
                let _guard = guard;
                let sleep = tokio::time::sleep(Duration::from_secs(3600));
                started2.notify_one();
                sleep.await;
            }
            .with_tokio(),
        );
        started.notified().await;
    });
    drop(rt);
    assert!(
        dropped.load(SeqCst),
        "the task's future was dropped at shutdown"
    );
}

#[test]
fn compat_wraps_hue_sockets_and_unwraps_them() {
    let _w = watchdog("compat_wraps_hue_sockets_and_unwraps_them");
    let rt = runtime(1);
    rt.block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = Compat::new(a);
        a.write_all(b"x").await.unwrap();
        // Vectored writes reach the socket's native writev: both slices in one call.
        assert!(a.is_write_vectored());
        let bufs = [io::IoSlice::new(b"ab"), io::IoSlice::new(b"cd")];
        assert_eq!(a.write_vectored(&bufs).await.unwrap(), 4);
        // Back to the hue socket, and its own futures-io API.
        let a: UnixStream = a.into_inner();
        let mut b = b;
        let mut five = [0u8; 5];
        futures::io::AsyncReadExt::read_exact(&mut b, &mut five)
            .await
            .unwrap();
        assert_eq!(&five, b"xabcd");
        drop(a);
        let mut rest = Vec::new();
        futures::io::AsyncReadExt::read_to_end(&mut b, &mut rest)
            .await
            .unwrap();
        assert!(rest.is_empty());
    });
}
