//! TCP echo over loopback: hue's sockets and reactor against tokio's, in one process.
//!
//! Criterion group `tcp_echo`, functions `hue` and `tokio`, so results land in
//! `target/criterion/tcp_echo/<system>/new/estimates.json`; `python3 benches/tcp_echo_ratios.py`
//! prints the table and `tokio/hue` (above 1: hue faster; goal >= 1.0).
//!
//! # Workload
//!
//! Each system has one runtime with 2 workers (the machine has 2 cores), built once for the
//! whole binary, and in it an echo server and 64 client connections over 127.0.0.1, set up
//! once before measuring (`TCP_NODELAY` on both ends). The server runs one task per
//! connection: read up to 1 KiB, write it back, repeat. In hue every server task and every
//! client task has a fresh color (`Color::fresh()`), so hue may run them as much in parallel
//! as tokio does.
//!
//! One iteration: from `block_on`, spawn 64 client tasks (one per connection; in hue each in a
//! fresh color), each doing 100 round trips of a 1 KiB message (`write_all`, then `read_exact`
//! of the echo), then await all 64. That is 6,400 round trips and 12.8 MiB moved through the
//! sockets per iteration. Connecting is not measured; spawning and joining the 64 client tasks
//! is (a few microseconds of the iteration). The first iteration of each system is checked:
//! every echo must equal its message.
//!
//! Both sides of every connection live in the same runtime, so both the client's and the
//! server's wake-ups go through that system's reactor and scheduler.
//!
//! # Reading the numbers
//!
//! The work is mostly the kernel's (about 80% of the CPU time is loopback TCP in `sendto` and
//! `recvfrom`, for both systems), and on a VM the machine's speed drifts by tens of percent
//! over seconds, while criterion measures one system for ~10 s and then the other. Two runs
//! can thus disagree on the ratio. For a drift-free comparison, `TCP_ECHO_PAIRED=30 cargo
//! bench --bench tcp_echo` alternates hue and tokio iterations instead of running criterion,
//! and prints the median of the per-pair ratios (with hue's per-worker counters per
//! iteration).

mod common;
use common::{hue_rt, tokio_rt, NUM_WORKERS};

use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use hue::Color;

/// Client connections.
const CONNECTIONS: usize = 64;
/// Round trips per connection per iteration.
const ROUND_TRIPS: usize = 100;
/// Bytes per message.
const MESSAGE: usize = 1024;

/// The message of connection `c` (distinct per connection, so a mixed-up echo is caught).
fn message(c: usize) -> Vec<u8> {
    (0..MESSAGE).map(|i| (i * 7 + c * 13) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// hue

/// Starts the echo server and connects the clients.
fn hue_setup(rt: &hue::Runtime) -> Vec<hue::net::TcpStream> {
    // hue's sockets implement tokio's traits too; hue's side measures futures-io's.
    use futures::io::{AsyncReadExt as _, AsyncWriteExt as _};
    rt.block_on(async {
        let listener = hue::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        hue::spawn_colored(Color::fresh(), async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                hue::spawn_colored(Color::fresh(), async move {
                    let mut buf = [0u8; MESSAGE];
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if stream.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        let mut clients = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let stream = hue::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            clients.push(stream);
        }
        clients
    })
}

/// One iteration: every connection does its round trips in a task of a fresh color.
fn hue_iteration(rt: &hue::Runtime, clients: &Mutex<Vec<hue::net::TcpStream>>, check: bool) {
    use futures::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let streams = std::mem::take(&mut *clients.lock().unwrap());
    let back = rt.block_on(async move {
        let tasks: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(c, mut stream)| {
                hue::spawn_colored(Color::fresh(), async move {
                    let msg = message(c);
                    let mut echo = vec![0u8; MESSAGE];
                    for _ in 0..ROUND_TRIPS {
                        stream.write_all(&msg).await.unwrap();
                        stream.read_exact(&mut echo).await.unwrap();
                        if check {
                            assert_eq!(echo, msg, "hue: connection {c} got a wrong echo");
                        }
                    }
                    stream
                })
            })
            .collect();
        let mut back = Vec::with_capacity(CONNECTIONS);
        for t in tasks {
            back.push(t.await.unwrap());
        }
        back
    });
    *clients.lock().unwrap() = back;
}

// ---------------------------------------------------------------------------------------------
// tokio

fn tokio_setup(rt: &tokio::runtime::Runtime) -> Vec<tokio::net::TcpStream> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; MESSAGE];
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if stream.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        let mut clients = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            clients.push(stream);
        }
        clients
    })
}

fn tokio_iteration(
    rt: &tokio::runtime::Runtime,
    clients: &Mutex<Vec<tokio::net::TcpStream>>,
    check: bool,
) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let streams = std::mem::take(&mut *clients.lock().unwrap());
    let back = rt.block_on(async move {
        let tasks: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(c, mut stream)| {
                tokio::spawn(async move {
                    let msg = message(c);
                    let mut echo = vec![0u8; MESSAGE];
                    for _ in 0..ROUND_TRIPS {
                        stream.write_all(&msg).await.unwrap();
                        stream.read_exact(&mut echo).await.unwrap();
                        if check {
                            assert_eq!(echo, msg, "tokio: connection {c} got a wrong echo");
                        }
                    }
                    stream
                })
            })
            .collect();
        let mut back = Vec::with_capacity(CONNECTIONS);
        for t in tasks {
            back.push(t.await.unwrap());
        }
        back
    });
    *clients.lock().unwrap() = back;
}

// ---------------------------------------------------------------------------------------------

/// Environment variable: run N paired iterations instead of criterion (see [`paired`]).
const PAIRED_ENV: &str = "TCP_ECHO_PAIRED";

/// A paired measurement: hue and tokio iterations alternate, so a drift of the machine's speed
/// (frequency, neighbours on a VM) hits both alike, where criterion measures one system for
/// several seconds and then the other. Prints each pair with hue's scheduler counters for the
/// iteration, then the medians and the median of the per-pair ratios.
fn paired(
    hue: &hue::Runtime,
    hue_clients: &Mutex<Vec<hue::net::TcpStream>>,
    tokio: &tokio::runtime::Runtime,
    tokio_clients: &Mutex<Vec<tokio::net::TcpStream>>,
    n: usize,
) {
    let (mut hue_ms, mut tokio_ms, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..n.max(1) {
        let before = hue.handle().metrics();
        let t = Instant::now();
        hue_iteration(hue, hue_clients, false);
        let h = t.elapsed().as_secs_f64() * 1e3;
        let after = hue.handle().metrics();
        let t = Instant::now();
        tokio_iteration(tokio, tokio_clients, false);
        let k = t.elapsed().as_secs_f64() * 1e3;
        let delta = |f: fn(&hue::WorkerMetrics) -> u64| -> Vec<u64> {
            (0..NUM_WORKERS)
                .map(|w| f(after.worker(w)) - f(before.worker(w)))
                .collect()
        };
        println!(
            "{round:3}  hue {h:7.2} ms  tokio {k:7.2} ms  tokio/hue {:.2}  | hue per worker: \
             polls {:?} driver_polls {:?} parks {:?} steals {:?}",
            k / h,
            delta(|m| m.polls),
            delta(|m| m.driver_polls),
            delta(|m| m.parks),
            delta(|m| m.steals),
        );
        hue_ms.push(h);
        tokio_ms.push(k);
        ratios.push(k / h);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (h, k, r) = (
        median(&mut hue_ms),
        median(&mut tokio_ms),
        median(&mut ratios),
    );
    println!(
        "paired, {} pairs: median hue {h:.2} ms, median tokio {k:.2} ms, \
         median of tokio/hue per pair {r:.2}",
        ratios.len()
    );
}

fn main() {
    // Defaults that keep the binary to about half a minute on 2 cores; command-line flags
    // (`--warm-up-time`, `--measurement-time`, `--sample-size`, a name filter) override.
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();

    let hue = hue_rt(NUM_WORKERS, true, "hue-bench-worker");
    let tokio = tokio_rt();
    let hue_clients = Mutex::new(hue_setup(&hue));
    let tokio_clients = Mutex::new(tokio_setup(&tokio));
    // Check once that every echo is right, then measure without the comparison.
    hue_iteration(&hue, &hue_clients, true);
    tokio_iteration(&tokio, &tokio_clients, true);

    if let Ok(n) = std::env::var(PAIRED_ENV) {
        paired(
            &hue,
            &hue_clients,
            &tokio,
            &tokio_clients,
            n.parse().unwrap_or(30),
        );
        return;
    }

    let mut g = c.benchmark_group("tcp_echo");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("hue", |b| {
        b.iter(|| hue_iteration(&hue, &hue_clients, false))
    });
    g.bench_function("tokio", |b| {
        b.iter(|| tokio_iteration(&tokio, &tokio_clients, false))
    });
    g.finish();

    c.final_summary();
}
