//! Connection churn over loopback: hue against tokio, in one process.
//!
//! Criterion group `churn`, functions `hue` and `tokio` (results in
//! `target/criterion/churn/<system>/new/estimates.json`; `benches/report.py` prints the table
//! and `tokio/hue`, above 1: hue faster; goal >= 1.0).
//!
//! # Workload
//!
//! One iteration: [`CONNECTIONS`] connections, [`CONCURRENT`] at a time. Each is opened
//! (`connect` and the server's `accept`), carries one request of [`REQUEST`] bytes and one
//! response of the same size, and is closed: the client reads the response and closes with a
//! reset (`SO_LINGER` 0, so no socket is left in `TIME_WAIT` and the ports do not run out over
//! many iterations); the server's task sees the reset and ends. The server's accept loop runs
//! in a task of its own and gives **each connection a task in a fresh color** (tokio:
//! `tokio::spawn`), so what is measured is accept, registering a socket with the reactor, a
//! task in a color of its own, its first wake, and the teardown of all of it: the part of a
//! server's life that nothing else here measures. The clients are [`CONCURRENT`] tasks (fresh
//! colors) in the same runtime, each making its share of the connections one after another.
//! Each system has one runtime with 2 workers.
//!
//! `CHURN_PAIRED=N cargo bench --bench churn` alternates hue and tokio iterations N times
//! instead of running criterion and prints the median of the per-pair ratios (the machine's
//! speed drifts; pairs see the same drift).

mod common;
use common::{hue_rt, tokio_rt, NUM_WORKERS};

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use hue::Color;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Connections per iteration.
const CONNECTIONS: usize = 10_000;
/// Connections open at once (client tasks).
const CONCURRENT: usize = 64;
/// Bytes of the request, and of the response.
const REQUEST: usize = 64;

const PAIRED_ENV: &str = "CHURN_PAIRED";

/// The reply to a request: the request with every byte incremented.
fn reply(req: &[u8; REQUEST]) -> [u8; REQUEST] {
    req.map(|b| b.wrapping_add(1))
}

// hue's sockets implement tokio's I/O traits too: both sides use tokio's extension traits.

fn hue_server(rt: &hue::Runtime) -> SocketAddr {
    rt.block_on(async {
        let listener = hue::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        hue::spawn_colored(Color::fresh(), async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                hue::spawn_colored(Color::fresh(), async move {
                    let mut req = [0u8; REQUEST];
                    if stream.read_exact(&mut req).await.is_err() {
                        return;
                    }
                    if stream.write_all(&reply(&req)).await.is_err() {
                        return;
                    }
                    // Until the client's reset (or close).
                    let _ = stream.read(&mut req).await;
                });
            }
        });
        addr
    })
}

fn hue_iteration(rt: &hue::Runtime, addr: SocketAddr, check: bool) {
    rt.block_on(async move {
        let clients: Vec<_> = (0..CONCURRENT)
            .map(|c| {
                hue::spawn_colored(Color::fresh(), async move {
                    for i in (c..CONNECTIONS).step_by(CONCURRENT) {
                        let mut stream = hue::net::TcpStream::connect(addr).await.unwrap();
                        let req = [(i % 251) as u8; REQUEST];
                        stream.write_all(&req).await.unwrap();
                        let mut resp = [0u8; REQUEST];
                        stream.read_exact(&mut resp).await.unwrap();
                        if check {
                            assert_eq!(resp, reply(&req), "hue: connection {i} got a wrong reply");
                        }
                        stream.set_linger(Some(Duration::ZERO)).unwrap();
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
    });
}

fn tokio_server(rt: &tokio::runtime::Runtime) -> SocketAddr {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let mut req = [0u8; REQUEST];
                    if stream.read_exact(&mut req).await.is_err() {
                        return;
                    }
                    if stream.write_all(&reply(&req)).await.is_err() {
                        return;
                    }
                    let _ = stream.read(&mut req).await;
                });
            }
        });
        addr
    })
}

fn tokio_iteration(rt: &tokio::runtime::Runtime, addr: SocketAddr, check: bool) {
    rt.block_on(async move {
        let clients: Vec<_> = (0..CONCURRENT)
            .map(|c| {
                tokio::spawn(async move {
                    for i in (c..CONNECTIONS).step_by(CONCURRENT) {
                        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                        let req = [(i % 251) as u8; REQUEST];
                        stream.write_all(&req).await.unwrap();
                        let mut resp = [0u8; REQUEST];
                        stream.read_exact(&mut resp).await.unwrap();
                        if check {
                            assert_eq!(
                                resp,
                                reply(&req),
                                "tokio: connection {i} got a wrong reply"
                            );
                        }
                        socket2::SockRef::from(&stream)
                            .set_linger(Some(Duration::ZERO))
                            .unwrap();
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
    });
}

fn paired(
    hue: &hue::Runtime,
    hue_addr: SocketAddr,
    tokio: &tokio::runtime::Runtime,
    tokio_addr: SocketAddr,
    n: usize,
) {
    let (mut hue_ms, mut tokio_ms, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..n.max(1) {
        let t = Instant::now();
        hue_iteration(hue, hue_addr, false);
        let h = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        tokio_iteration(tokio, tokio_addr, false);
        let k = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "{round:3}  hue {h:8.2} ms  tokio {k:8.2} ms  tokio/hue {:.2}",
            k / h
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
        "paired, {} pairs: median hue {h:.2} ms, median tokio {k:.2} ms, median of tokio/hue \
         per pair {r:.2}",
        ratios.len()
    );
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();

    let hue = hue_rt(NUM_WORKERS, true, "hue-bench-worker");
    let tokio = tokio_rt();
    let hue_addr = hue_server(&hue);
    let tokio_addr = tokio_server(&tokio);
    // Check once that every reply is right, then measure without the comparison.
    hue_iteration(&hue, hue_addr, true);
    tokio_iteration(&tokio, tokio_addr, true);

    if let Ok(n) = std::env::var(PAIRED_ENV) {
        paired(&hue, hue_addr, &tokio, tokio_addr, n.parse().unwrap_or(10));
        return;
    }

    let mut g = c.benchmark_group("churn");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("hue", |b| b.iter(|| hue_iteration(&hue, hue_addr, false)));
    g.bench_function("tokio", |b| {
        b.iter(|| tokio_iteration(&tokio, tokio_addr, false))
    });
    g.finish();
    c.final_summary();
}
