//! Bad input and faults for `hue::net`: connection refused, a peer that
//! resets in the middle of a read and of a write, half-close, writes far larger than the
//! socket buffer, invalid addresses, `accept` failing with `EMFILE` (in a child process with a
//! lowered descriptor limit), and runtime shutdown with tasks blocked on sockets.

use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use hue::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use hue::Color;

mod common;
use common::{runtime, tcp_pair, watchdog};

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Resets the connection: `SO_LINGER` 0, then close (the peer gets an RST, not a FIN).
fn reset(stream: TcpStream) {
    stream.set_linger(Some(Duration::ZERO)).unwrap();
    drop(stream);
}

// ---------------------------------------------------------------------------------------------
// refused, reset, half-close, large writes

#[test]
fn connect_to_a_closed_port_is_refused() {
    let _w = watchdog("connect_to_a_closed_port_is_refused");
    let rt = runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err:?}");
        let err = TcpSocket::new_v4()
            .unwrap()
            .connect(addr)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err:?}");
        // Several addresses, all refused: the last error.
        let addrs = [addr, addr];
        let err = TcpStream::connect(&addrs[..]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err:?}");
    });
}

#[test]
fn peer_reset_in_the_middle_of_a_read() {
    let _w = watchdog("peer_reset_in_the_middle_of_a_read");
    let rt = runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, server) = tcp_pair(&listener).await;
        let (first_tx, first_rx) = futures::channel::oneshot::channel();
        let reader = hue::spawn_colored(Color::fresh(), async move {
            let mut server = server;
            let mut buf = [0u8; 5];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hello");
            first_tx.send(()).unwrap();
            // Now blocked: nothing more comes, until the reset.
            let mut more = [0u8; 64];
            server.read(&mut more).await
        });
        client.write_all(b"hello").await.unwrap();
        first_rx.await.unwrap();
        thread::sleep(Duration::from_millis(20)); // let the reader wait
        reset(client);
        let result = reader.await.unwrap();
        let err = result.expect_err("a reset connection cannot read");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?}");
    });
}

#[test]
fn peer_reset_in_the_middle_of_a_write() {
    let _w = watchdog("peer_reset_in_the_middle_of_a_write");
    let rt = runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = tcp_pair(&listener).await;
        let written = Arc::new(AtomicUsize::new(0));
        let progress = written.clone();
        let writer = hue::spawn_colored(Color::fresh(), async move {
            let mut server = server;
            let chunk = vec![9u8; 64 * 1024];
            // Far more than the socket buffers hold: the writer blocks until the reset.
            for _ in 0..1024 {
                server.write_all(&chunk).await?;
                progress.fetch_add(chunk.len(), SeqCst);
            }
            io::Result::Ok(())
        });
        // Wait until the writer is stuck (no progress for a while), then reset.
        let mut last = usize::MAX;
        loop {
            thread::sleep(Duration::from_millis(30));
            let now = written.load(SeqCst);
            if now == last {
                break;
            }
            last = now;
        }
        reset(client);
        let err = writer
            .await
            .unwrap()
            .expect_err("a reset connection cannot write");
        assert!(
            matches!(
                err.kind(),
                ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
            ),
            "ConnectionReset or BrokenPipe expected: {err:?}"
        );
    });
}

#[test]
fn half_close_reads_eof_and_still_writes_back() {
    let _w = watchdog("half_close_reads_eof_and_still_writes_back");
    let rt = runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut client, server) = tcp_pair(&listener).await;
        let peer = hue::spawn_colored(Color::fresh(), async move {
            let mut server = server;
            let mut request = Vec::new();
            server.read_to_end(&mut request).await.unwrap(); // ends at the client's EOF
            let mut reply = b"got ".to_vec();
            reply.extend_from_slice(&request);
            server.write_all(&reply).await.unwrap();
            // Reading again after EOF: still EOF, no error, no hang.
            assert_eq!(server.read(&mut [0u8; 8]).await.unwrap(), 0);
        });
        client.write_all(b"request").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        // Writing after shutdown(Write) fails, cleanly.
        let err = client.write_all(b"more").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err:?}");
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply, b"got request");
        peer.await.unwrap();

        // The same through futures-io's close (poll_close shuts down writing).
        let (mut client, mut server) = tcp_pair(&listener).await;
        client.write_all(b"x").await.unwrap();
        client.close().await.unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"x");
        server.write_all(b"y").await.unwrap();
        let mut y = [0u8; 1];
        client.read_exact(&mut y).await.unwrap();
        assert_eq!(&y, b"y");
    });
}

#[test]
fn a_write_much_larger_than_the_buffer_arrives_whole_and_in_order() {
    let _w = watchdog("a_write_much_larger_than_the_buffer_arrives_whole_and_in_order");
    const LEN: usize = 16 << 20;
    let rt = runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = tcp_pair(&listener).await;
        let writer = hue::spawn_colored(Color::fresh(), async move {
            let mut client = client;
            let data = pattern(LEN);
            // One call: partial writes underneath, resumed after each wait.
            client.write_all(&data).await.unwrap();
            client.close().await.unwrap();
        });
        let reader = hue::spawn_colored(Color::fresh(), async move {
            let mut server = server;
            let mut got = Vec::with_capacity(LEN);
            let mut buf = [0u8; 4096];
            let mut reads = 0u64;
            loop {
                let n = server.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                reads += 1;
                if reads % 16 == 0 {
                    hue::yield_now().await; // a slow reader
                }
            }
            got
        });
        writer.await.unwrap();
        let got = reader.await.unwrap();
        assert_eq!(got.len(), LEN);
        if let Some(i) = got.iter().zip(pattern(LEN)).position(|(a, b)| *a != b) {
            panic!("byte {i} differs: the stream was reordered or corrupted");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// invalid addresses

#[test]
fn invalid_addresses_are_invalid_input_naming_the_input() {
    let _w = watchdog("invalid_addresses_are_invalid_input_naming_the_input");
    let rt = runtime(2);
    rt.block_on(async {
        fn check(result: io::Result<impl std::fmt::Debug>, needle: &str) {
            let err = result.expect_err("an invalid address must fail");
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err:?}");
            assert!(
                err.to_string().contains(needle),
                "`{err}` should name `{needle}`"
            );
        }
        check(TcpStream::connect("not an address").await, "not an address");
        check(TcpStream::connect("localhost:99999").await, "99999");
        check(TcpStream::connect(("", 80)).await, "(\"\", 80)");
        check(TcpStream::connect(":80").await, ":80");
        check(TcpStream::connect("127.0.0.1").await, "127.0.0.1");
        check(TcpStream::connect(("bad host!", 80)).await, "bad host!");
        check(TcpListener::bind("nope").await, "nope");
        check(UdpSocket::bind(String::from("1.2.3.4:port")).await, "port");
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        check(udp.send_to(b"x", "no-port").await, "no-port");
        let empty: &[std::net::SocketAddr] = &[];
        check(TcpStream::connect(empty).await, "empty");
        // A valid address of the wrong family for the socket: the OS says InvalidInput.
        let socket = TcpSocket::new_v4().unwrap();
        let err = socket.bind("[::1]:0".parse().unwrap()).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::InvalidInput | ErrorKind::AddrNotAvailable
            ) || err.raw_os_error() == Some(libc::EAFNOSUPPORT),
            "{err:?}"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// accept with EMFILE (child process)

const EMFILE_CHILD_ENV: &str = "HUE_NET_EMFILE_CHILD";
const EMFILE_CHILD_OK: &str = "EMFILE child: accept failed with EMFILE and recovered";

/// The parent re-runs this test alone in a child process (its own binary, `--exact`), where
/// it lowers RLIMIT_NOFILE and uses up every descriptor: other tests are not disturbed.
#[test]
fn accept_fails_with_emfile_then_recovers() {
    if std::env::var_os(EMFILE_CHILD_ENV).is_some() {
        emfile_child();
        return;
    }
    let _w = watchdog("accept_fails_with_emfile_then_recovers");
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "accept_fails_with_emfile_then_recovers",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(EMFILE_CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(EMFILE_CHILD_OK),
        "child failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
}

fn emfile_child() {
    let _w = watchdog("emfile_child");
    let rt = runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(addr).unwrap();

        // A low limit, then no descriptor left.
        let low = libc::rlimit {
            rlim_cur: 256,
            rlim_max: libc::RLIM_INFINITY,
        };
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: valid rlimit pointers.
        unsafe {
            assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut old), 0);
        }
        let low = libc::rlimit {
            rlim_max: old.rlim_max,
            ..low
        };
        // SAFETY: a valid rlimit; lowering the soft limit is always allowed.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
        let mut hogs = Vec::new();
        loop {
            match std::fs::File::open("/dev/null") {
                Ok(f) => hogs.push(f),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e:?}");
                    break;
                }
            }
        }

        // accept fails, with the error (no panic, no hang), as often as it is tried.
        for _ in 0..3 {
            let err = listener.accept().await.unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err:?}");
        }
        // Nobody retries now: the runtime goes quiet (no task is woken over and over).
        let before = hue::Handle::current().metrics().polls();
        thread::sleep(Duration::from_millis(100));
        let after = hue::Handle::current().metrics().polls();
        assert!(
            after - before <= 2,
            "tasks kept running: {before} -> {after} polls"
        );

        // Descriptors freed: the queued connection is accepted.
        drop(hogs);
        let (conn, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        drop(conn);
    });
    println!("{EMFILE_CHILD_OK}");
}

// ---------------------------------------------------------------------------------------------
// shutdown with tasks blocked on sockets

struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn shutdown_drops_tasks_blocked_on_sockets() {
    let _w = watchdog("shutdown_drops_tasks_blocked_on_sockets");
    const CONNS: usize = 16;
    let rt = runtime(2);
    let drops = Arc::new(AtomicUsize::new(0));
    let (ready_tx, ready_rx) = mpsc::channel();
    let clients = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut clients = Vec::new();
        for i in 0..CONNS {
            clients.push(std::net::TcpStream::connect(addr).unwrap());
            let (stream, _) = listener.accept().await.unwrap();
            let (guard, ready) = (CountDrop(drops.clone()), ready_tx.clone());
            hue::spawn_colored(Color::fresh(), async move {
                let _guard = guard;
                let mut stream = stream;
                let mut buf = [0u8; 16];
                ready.send(i).unwrap();
                // Never completes: the clients send nothing.
                let _ = stream.read(&mut buf).await;
                unreachable!("the client sent nothing");
            });
        }
        // One more blocked in accept, one in a UDP receive.
        let guard = CountDrop(drops.clone());
        hue::spawn_colored(Color::fresh(), async move {
            let _guard = guard;
            let _ = listener.accept().await;
            unreachable!("no one else connects");
        });
        let guard = CountDrop(drops.clone());
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        hue::spawn(async move {
            let _guard = guard;
            let _ = udp.recv(&mut [0u8; 8]).await;
            unreachable!("no datagram comes");
        });
        clients
    });
    for _ in 0..CONNS {
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
    thread::sleep(Duration::from_millis(20)); // let them block
    let start = Instant::now();
    drop(rt);
    let took = start.elapsed();
    assert_eq!(
        drops.load(SeqCst),
        CONNS + 2,
        "every blocked task was dropped once"
    );
    println!("shutdown with {} blocked tasks took {took:?}", CONNS + 2);
    // Their sockets were closed: each client reads EOF.
    for mut c in clients {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let n = io::Read::read(&mut c, &mut [0u8; 8]).unwrap();
        assert_eq!(n, 0, "the server side was closed");
    }
}

/// A socket moved out of its runtime, which then shuts down, fails with an error when used
/// (nothing drives its reactor any more) instead of waiting forever.
#[test]
fn a_socket_that_outlives_its_runtime_fails_instead_of_hanging() {
    let _w = watchdog("a_socket_that_outlives_its_runtime_fails_instead_of_hanging");
    let first = runtime(1);
    let (listener, client, server) = first.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (client, server) = tcp_pair(&listener).await;
        (listener, client, server)
    });
    drop(first);
    let second = runtime(1);
    let (read, accept) = second.block_on(async {
        let mut client = client;
        let mut buf = [0u8; 8];
        (client.read(&mut buf).await, listener.accept().await)
    });
    let err = read.expect_err("a read on a dead runtime's socket");
    assert!(err.to_string().contains("shut down"), "{err}");
    let err = accept.expect_err("an accept on a dead runtime's listener");
    assert!(err.to_string().contains("shut down"), "{err}");
    drop(server);
}
