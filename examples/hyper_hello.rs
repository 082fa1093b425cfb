//! hyper serving "Hello, world!" on hue, over HTTP/1.1 and HTTP/2 on one port.
//!
//! ```sh
//! cargo run --release --example hyper_hello                     # serve on 127.0.0.1:3000
//! cargo run --release --example hyper_hello -- 0.0.0.0:8080 --workers 4
//! cargo run --release --example hyper_hello -- --self-test      # serve, ask, check, exit
//! cargo run --release --example hyper_hello -- --runtime tokio  # the same on tokio
//! curl http://127.0.0.1:3000/ ; curl --http2-prior-knowledge http://127.0.0.1:3000/
//! ```
//!
//! The server is hyper-util's `auto` builder (HTTP/1.1, or HTTP/2 with prior knowledge, chosen
//! by the connection's first bytes) on hue's sockets as they are (they implement hyper's
//! `rt::Read`/`rt::Write`), with hue's adapters from `hue::compat::hyper`: hyper's background
//! futures spawned by `HueExecutor` (a fresh color each), its timeouts on `HueTimer`. The accept loop runs in a task of its own color; each
//! accepted connection is served in a task of a fresh color, so connections run in parallel on
//! every worker and share nothing.
//!
//! Options:
//! - `ADDR`: where to listen (default 127.0.0.1:3000; with `--self-test`, 127.0.0.1:0).
//! - `--workers N`: worker threads (default: hue's default, one per CPU).
//! - `--runtime hue|tokio`: `tokio` serves the same service on tokio's multi-threaded runtime
//!   with `N` workers, through hyper-util's `TokioIo`/`TokioExecutor`/`TokioTimer`: the peer
//!   that `benches/hyper_hello.sh` compares hue with.
//! - `--self-test` (or the environment variable `HUE_HYPER_SELF_TEST` set): bind, then make
//!   HTTP/1.1 and HTTP/2 requests with hyper's client on the same runtime (keep-alive and
//!   concurrent streams included), check every response, print a summary, exit 0 (1 on any
//!   failure).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hue::compat::hyper::{HueExecutor, HueTimer};
use hue::{Color, Runtime};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, Version};

const DEFAULT_ADDR: &str = "127.0.0.1:3000";
const SELF_TEST_ENV: &str = "HUE_HYPER_SELF_TEST";
const HELLO: &[u8] = b"Hello, world!";
const USAGE: &str = "usage: hyper_hello [ADDR] [--workers N] [--runtime hue|tokio] [--self-test]";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Hue,
    Tokio,
}

#[derive(Debug)]
struct Options {
    addr: String,
    workers: Option<usize>,
    runtime: Kind,
    self_test: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut addr = None;
    let mut workers = None;
    let mut runtime = Kind::Hue;
    let mut self_test = std::env::var_os(SELF_TEST_ENV).is_some();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--self-test" => self_test = true,
            "--workers" => {
                let n = args.next().ok_or("--workers needs a number")?;
                match n.parse::<usize>() {
                    Ok(n) if n > 0 => workers = Some(n),
                    _ => return Err(format!("--workers: `{n}` is not a positive number")),
                }
            }
            "--runtime" => match args.next().as_deref() {
                Some("hue") => runtime = Kind::Hue,
                Some("tokio") => runtime = Kind::Tokio,
                other => return Err(format!("--runtime: expected hue or tokio, got {other:?}")),
            },
            "-h" | "--help" => {
                println!("{USAGE}   (default ADDR: {DEFAULT_ADDR})");
                std::process::exit(0);
            }
            other if addr.is_none() && !other.starts_with('-') => addr = Some(other.to_string()),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    let addr = addr.unwrap_or_else(|| {
        if self_test {
            "127.0.0.1:0"
        } else {
            DEFAULT_ADDR
        }
        .to_string()
    });
    Ok(Options {
        addr,
        workers,
        runtime,
        self_test,
    })
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(opts) => opts,
        Err(err) => {
            eprintln!("hyper_hello: {err}");
            return ExitCode::from(2);
        }
    };
    let result = match opts.runtime {
        Kind::Hue => run_hue(&opts),
        Kind::Tokio => run_tokio(&opts),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hyper_hello: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The service, the same on both runtimes.
async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(HELLO))))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ---------------------------------------------------------------------------------------------
// hue

fn run_hue(opts: &Options) -> Result<(), BoxError> {
    let mut builder = Runtime::builder();
    if let Some(n) = opts.workers {
        builder.workers(n);
    }
    let rt = builder.build()?;
    rt.block_on(async {
        let listener = hue::net::TcpListener::bind(opts.addr.as_str()).await?;
        let addr = listener.local_addr()?;
        hue::spawn_colored(Color::fresh(), accept_loop_hue(listener));
        if opts.self_test {
            self_test(addr, "hue", hue_client).await
        } else {
            println!("hyper_hello (hue) listening on http://{addr}");
            hue::signal::ctrl_c().await?;
            Ok(())
        }
    })
}

async fn accept_loop_hue(listener: hue::net::TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                eprintln!("hyper_hello: accept failed: {err}");
                hue::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        hue::spawn_colored(Color::fresh(), async move {
            let mut builder = hyper_util::server::conn::auto::Builder::new(HueExecutor::new());
            builder.http1().timer(HueTimer);
            builder.http2().timer(HueTimer);
            if let Err(err) = builder.serve_connection(stream, service_fn(hello)).await {
                // Clients that hang up mid-request are routine; report, keep serving.
                if std::env::var_os("HYPER_HELLO_VERBOSE").is_some() {
                    eprintln!("hyper_hello: connection error: {err}");
                }
            }
        });
    }
}

/// The HTTP/1.1 and HTTP/2 clients of the self-test, on hue.
async fn hue_client(addr: SocketAddr) -> Result<Clients, BoxError> {
    let io = hue::net::TcpStream::connect(addr).await?;
    let (h1, conn) = hyper::client::conn::http1::handshake(io).await?;
    hue::spawn_colored(Color::fresh(), conn);
    let io = hue::net::TcpStream::connect(addr).await?;
    let (h2, conn) = hyper::client::conn::http2::Builder::new(HueExecutor::new())
        .timer(HueTimer)
        .handshake(io)
        .await?;
    hue::spawn_colored(Color::fresh(), conn);
    Ok(Clients { h1, h2 })
}

// ---------------------------------------------------------------------------------------------
// tokio (the peer of the benchmark)

fn run_tokio(opts: &Options) -> Result<(), BoxError> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = opts.workers {
        builder.worker_threads(n);
    }
    let rt = builder.enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(opts.addr.as_str()).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(accept_loop_tokio(listener));
        if opts.self_test {
            self_test(addr, "tokio", tokio_client).await
        } else {
            println!("hyper_hello (tokio) listening on http://{addr}");
            tokio::signal::ctrl_c().await?;
            Ok(())
        }
    })
}

async fn accept_loop_tokio(listener: tokio::net::TcpListener) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                eprintln!("hyper_hello: accept failed: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new());
            builder.http2().timer(TokioTimer::new());
            if let Err(err) = builder
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await
            {
                if std::env::var_os("HYPER_HELLO_VERBOSE").is_some() {
                    eprintln!("hyper_hello: connection error: {err}");
                }
            }
        });
    }
}

async fn tokio_client(addr: SocketAddr) -> Result<Clients, BoxError> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    let io = TokioIo::new(tokio::net::TcpStream::connect(addr).await?);
    let (h1, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(conn);
    let io = TokioIo::new(tokio::net::TcpStream::connect(addr).await?);
    let (h2, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .handshake(io)
        .await?;
    tokio::spawn(conn);
    Ok(Clients { h1, h2 })
}

// ---------------------------------------------------------------------------------------------
// self-test

struct Clients {
    h1: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    h2: hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
}

async fn check(res: Response<Incoming>, version: Version) -> Result<(), BoxError> {
    if res.version() != version || !res.status().is_success() {
        return Err(format!("unexpected response: {:?} {}", res.version(), res.status()).into());
    }
    let body = res.into_body().collect().await?.to_bytes();
    if body != HELLO {
        return Err(format!("unexpected body: {body:?}").into());
    }
    Ok(())
}

fn get() -> Request<Empty<Bytes>> {
    Request::get("http://localhost/")
        .body(Empty::new())
        .expect("a valid request")
}

async fn self_test<F, Fut>(addr: SocketAddr, name: &str, connect: F) -> Result<(), BoxError>
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: Future<Output = Result<Clients, BoxError>>,
{
    const H1: usize = 10;
    const H2: usize = 20;
    let start = Instant::now();
    let Clients { mut h1, h2 } = connect(addr).await?;
    // HTTP/1.1: requests one after the other on one kept-alive connection.
    for _ in 0..H1 {
        h1.ready().await?;
        check(h1.send_request(get()).await?, Version::HTTP_11).await?;
    }
    // HTTP/2: concurrent streams on one connection.
    let responses = (0..H2).map(|_| {
        let mut h2 = h2.clone();
        async move { check(h2.send_request(get()).await?, Version::HTTP_2).await }
    });
    for result in futures::future::join_all(responses).await {
        result?;
    }
    println!(
        "hyper_hello self-test ({name}) on {addr}: {H1} HTTP/1.1 requests (one connection), \
         {H2} concurrent HTTP/2 requests: all answered \"Hello, world!\" in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
