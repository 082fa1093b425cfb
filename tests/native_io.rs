//! hue's stream sockets implement tokio's and hyper's I/O traits themselves (the `tokio` and
//! `hyper` features): ported code hands them to tokio's helpers and to hyper with no adapter,
//! and reads land in the callers' uninitialized buffers.

use std::convert::Infallible;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hue::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use hue::Color;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::codec::{Framed, LinesCodec};

mod common;
use common::{runtime, watchdog};

const LIMIT: Duration = Duration::from_secs(10);

/// A connected pair of hue TCP streams.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

#[test]
fn tokio_read_buf_fills_spare_capacity_without_zeroing_first() {
    let _w = watchdog("tokio_read_buf_fills_spare_capacity_without_zeroing_first");
    runtime(2).block_on(async {
        let (mut client, mut server) = tcp_pair().await;
        let payload: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let sent = payload.clone();
        let writer = hue::compat::spawn(async move {
            client.write_all(&sent).await.unwrap();
            AsyncWriteExt::shutdown(&mut client).await.unwrap();
        });
        // `read_buf` into a `BytesMut` hands the socket the buffer's uninitialized spare
        // capacity (tokio's `ReadBuf::uninit`): the bytes must arrive intact and in order.
        let mut got = BytesMut::with_capacity(64);
        loop {
            got.reserve(1000);
            let n = hue::time::timeout(LIMIT, server.read_buf(&mut got))
                .await
                .expect("read timed out")
                .unwrap();
            if n == 0 {
                break;
            }
        }
        writer.await.unwrap();
        assert_eq!(&got[..], &payload[..]);
    });
}

#[test]
fn tokio_helpers_take_hue_streams_and_halves_as_they_are() {
    let _w = watchdog("tokio_helpers_take_hue_streams_and_halves_as_they_are");
    runtime(2).block_on(async {
        // `Framed` over the stream itself.
        let (client, server) = tcp_pair().await;
        let echo = hue::compat::spawn(async move {
            let mut lines = Framed::new(server, LinesCodec::new());
            while let Some(line) = lines.next().await {
                lines.send(line.unwrap().to_uppercase()).await.unwrap();
            }
        });
        let mut lines = Framed::new(client, LinesCodec::new());
        lines.send("hello").await.unwrap();
        let reply = hue::time::timeout(LIMIT, lines.next()).await.unwrap();
        assert_eq!(reply.unwrap().unwrap(), "HELLO");
        drop(lines);
        echo.await.unwrap();

        // Borrowed and owned halves, `BufReader` and `copy`.
        let (mut client, mut server) = tcp_pair().await;
        let relay = hue::compat::spawn(async move {
            let (rd, mut wr) = server.split();
            let mut rd = BufReader::new(rd);
            tokio::io::copy_buf(&mut rd, &mut wr).await.unwrap()
        });
        let (rd, mut wr) = client.split();
        wr.write_all(b"one\ntwo\n").await.unwrap();
        wr.shutdown().await.unwrap();
        let mut rd = BufReader::new(rd);
        let mut first = String::new();
        rd.read_line(&mut first).await.unwrap();
        let mut rest = String::new();
        hue::time::timeout(LIMIT, rd.read_to_string(&mut rest))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((first.as_str(), rest.as_str()), ("one\n", "two\n"));
        assert_eq!(relay.await.unwrap(), 8);

        let (client, server) = tcp_pair().await;
        let (mut crd, mut cwr) = client.into_split();
        let (mut srd, mut swr) = server.into_split();
        cwr.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        srd.read_exact(&mut buf).await.unwrap();
        swr.write_all(&buf).await.unwrap();
        crd.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
    });
}

#[test]
fn unix_streams_have_tokio_traits_too() {
    let _w = watchdog("unix_streams_have_tokio_traits_too");
    let dir = std::env::temp_dir().join(format!("hue-native-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sock");
    let _ = std::fs::remove_file(&path);
    runtime(2).block_on(async {
        let listener = UnixListener::bind(&path).unwrap();
        let mut client = UnixStream::connect(&path).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"over unix").await.unwrap();
        let mut buf = vec![0u8; 9];
        hue::time::timeout(LIMIT, server.read_exact(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf, b"over unix");
        let (mut rd, _wr) = server.into_split();
        client.write_all(b"!").await.unwrap();
        assert_eq!(rd.read_u8().await.unwrap(), b'!');
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hyper_serves_and_fetches_over_bare_hue_streams() {
    let _w = watchdog("hyper_serves_and_fetches_over_bare_hue_streams");
    runtime(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        hue::spawn_colored(Color::fresh(), async move {
            while let Ok((stream, _)) = listener.accept().await {
                hue::spawn_colored(Color::fresh(), async move {
                    let service = hyper::service::service_fn(
                        |req: hyper::Request<hyper::body::Incoming>| async move {
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(body)))
                        },
                    );
                    // No `HueIo`: the stream is hyper's transport as it is.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(stream, service)
                        .await;
                });
            }
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
        hue::compat::spawn(conn);
        for size in [0usize, 5, 100_000] {
            sender.ready().await.unwrap();
            let body = Bytes::from(vec![b'x'; size]);
            let req = hyper::Request::post("/")
                .body(Full::new(body.clone()))
                .unwrap();
            let res = hue::time::timeout(LIMIT, sender.send_request(req))
                .await
                .unwrap()
                .unwrap();
            let got = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(got, body, "a {size}-byte body came back changed");
        }
    });
}
