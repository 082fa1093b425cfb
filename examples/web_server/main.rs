//! The paper's web server: an HTTP/1.1 static file server on hue, with one color per
//! connection and a page cache sharded into colors (no lock anywhere in it).
//!
//! ```sh
//! cargo run --release --example web_server                        # a demo site on :8080
//! cargo run --release --example web_server -- --root DIR          # serve DIR
//! cargo run --release --example web_server -- --workers 4         # one colored runtime
//! cargo run --release --example web_server -- --ncopy 4           # 4 independent copies
//! cargo run --release --example web_server -- --help              # every setting
//! ```
//!
//! With no `--root`, the server writes a small demo site to a temporary folder (removed on
//! Ctrl-C) and serves it. It prints the URL and the settings.
//!
//! # Colors, as in the paper
//!
//! - Each connection is a task in `Color::fresh()`: connections run in parallel and each
//!   one's buffers need no lock (`server.rs`).
//! - The page cache is split into shards; shard `i` is a `ColorCell` owned by color
//!   `SHARD_COLOR_BASE + i`. Lookups and inserts run `in_color(shard, ..)`: a critical section
//!   is code run in the color that owns the data (`cache.rs`). The cache has a byte budget,
//!   split between the shards, each evicting its least recently used files.
//! - Misses read the file on the blocking pool (`spawn_blocking`), never on a worker; files
//!   over the streaming limit (1 MiB) are streamed in chunks, not cached (`files.rs`).
//! - A task that blocks its worker anyway shows up: the metrics count polls longer than the
//!   long-poll threshold, and the server prints a warning, at most once a second.
//!
//! # Two ways to use N cores
//!
//! - `--workers N`: one runtime with N workers, one listener, one cache. Colors spread the
//!   connections over the workers and serialize only the cache shards.
//! - `--ncopy N`: the paper's N-copy baseline: N independent runtimes of one worker each, each
//!   with its own listener on the same port (`SO_REUSEPORT`: the kernel spreads connections)
//!   and its own cache. Nothing is shared, so nothing needs colors; the cost is N caches.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use hue::{Color, Runtime};

mod cache;
mod files;
mod http;
mod lru;
mod server;

use server::{Config, Site};

const DEFAULT_ADDR: &str = "127.0.0.1:8080";

const USAGE: &str = "\
usage: web_server [OPTIONS]

  --addr ADDR              listen address (default 127.0.0.1:8080)
  --root DIR               directory to serve (default: a demo site in a temporary folder)
  --workers N              one runtime with N workers, colored (default: HUE_WORKERS, else
                           the machine's parallelism)
  --ncopy N                N independent single-worker runtimes sharing the port with
                           SO_REUSEPORT, each with its own cache (the N-copy baseline)
  --cache-mb N             page cache budget in MiB (default 64), split between the shards
  --shards N               cache shards, each owned by a color (default 16)
  --stream-kb N            files larger than this many KiB are streamed, not cached (1024)
  --header-timeout-ms N    time a client has to send a request head (default 10000)
  --long-poll-ms N         polls longer than this are reported (default 10)
  --steal on|off           let idle workers steal colors (default on; off pins each
                           connection to the worker its color hashes to)
  -h, --help               this text";

/// The command line.
#[derive(Debug)]
struct Args {
    addr: String,
    root: Option<PathBuf>,
    workers: Option<usize>,
    ncopy: Option<usize>,
    config: Config,
    long_poll: Duration,
    steal: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: DEFAULT_ADDR.to_string(),
        root: None,
        workers: None,
        ncopy: None,
        config: Config::default(),
        long_poll: Duration::from_millis(10),
        steal: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it
            .next()
            .ok_or_else(|| format!("`{flag}` needs a value (see --help)"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("`{flag}` wants a number, not `{value}`"))
        };
        let positive = || match number()? {
            0 => Err(format!("`{flag}` must be at least 1")),
            n => Ok(n),
        };
        match flag.as_str() {
            "--addr" => args.addr = value.clone(),
            "--root" => args.root = Some(PathBuf::from(&value)),
            "--workers" => args.workers = Some(positive()? as usize),
            "--ncopy" => args.ncopy = Some(positive()? as usize),
            "--cache-mb" => args.config.cache_bytes = (number()? as usize) << 20,
            "--shards" => args.config.shards = positive()? as usize,
            "--stream-kb" => args.config.stream_above = (number()? as usize) << 10,
            "--header-timeout-ms" => {
                args.config.header_timeout = Duration::from_millis(positive()?)
            }
            "--long-poll-ms" => args.long_poll = Duration::from_millis(positive()?),
            "--steal" => {
                args.steal = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err(format!("`--steal` wants on or off, not `{value}`")),
                }
            }
            _ => return Err(format!("unknown option `{flag}` (see --help)")),
        }
    }
    if args.workers.is_some() && args.ncopy.is_some() {
        return Err("--workers and --ncopy are two different modes: give one".into());
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("web_server: {msg}");
            std::process::exit(2);
        }
    };
    if let Err(msg) = run(args) {
        eprintln!("web_server: {msg}");
        std::process::exit(1);
    }
}

fn run(mut args: Args) -> Result<(), String> {
    let addr: SocketAddr = args
        .addr
        .to_socket_addrs()
        .map_err(|e| format!("bad --addr `{}`: {e}", args.addr))?
        .next()
        .ok_or_else(|| format!("--addr `{}` names no address", args.addr))?;
    let demo = match &args.root {
        Some(root) => {
            args.config.root = root.clone();
            None
        }
        None => {
            let dir = std::env::temp_dir().join(format!("hue-web-demo-{}", std::process::id()));
            write_demo_site(&dir).map_err(|e| format!("cannot write the demo site: {e}"))?;
            args.config.root = dir.clone();
            Some(dir)
        }
    };
    let result = match args.ncopy {
        Some(n) => run_ncopy(&args, addr, n, demo.as_deref()),
        None => run_workers(&args, addr, demo.as_deref()),
    };
    if let Some(dir) = demo {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

/// `--workers N`: one colored runtime.
fn run_workers(args: &Args, addr: SocketAddr, demo: Option<&Path>) -> Result<(), String> {
    let mut builder = Runtime::builder();
    if let Some(n) = args.workers {
        builder.workers(n);
    }
    let rt = builder
        .long_poll_threshold(args.long_poll)
        .steal(args.steal)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let site = Site::new(args.config.clone()).map_err(|e| e.to_string())?;
    let workers = rt.handle().metrics().workers();
    rt.block_on(async {
        let listener = server::listen(addr, false).map_err(|e| e.to_string())?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let steal = if args.steal { "" } else { ", no stealing" };
        let mode = format!("{workers} worker(s) in one runtime, one color per connection{steal}");
        banner(args, local, &mode, demo);
        let long_poll = args.long_poll;
        hue::spawn_colored(
            Color::fresh(),
            server::watch_long_polls(long_poll, |m| eprintln!("{m}")),
        );
        hue::spawn(server::serve(listener, site));
        stop_signal().await
    })?;
    println!("web_server: stopped");
    Ok(())
}

/// `--ncopy N`: N single-worker runtimes, each with its own listener (`SO_REUSEPORT`) and
/// cache. The first copy binds first, so `--addr` with port 0 gives every copy the same port.
fn run_ncopy(args: &Args, addr: SocketAddr, n: usize, demo: Option<&Path>) -> Result<(), String> {
    let mut addr = addr;
    for copy in 0..n {
        let (tx, rx) = mpsc::channel();
        let config = args.config.clone();
        let long_poll = args.long_poll;
        std::thread::Builder::new()
            .name(format!("copy-{copy}"))
            .spawn(move || {
                let started = Runtime::builder()
                    .workers(1)
                    .thread_name(format!("copy-{copy}-worker"))
                    .long_poll_threshold(long_poll)
                    .build()
                    .map_err(|e| format!("copy {copy}: cannot start its runtime: {e}"))
                    .and_then(|rt| Ok((rt, Site::new(config).map_err(|e| e.to_string())?)));
                let (rt, site) = match started {
                    Ok(started) => started,
                    Err(msg) => {
                        let _ = tx.send(Err(msg));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match server::listen(addr, true) {
                        Ok(listener) => listener,
                        Err(err) => {
                            let _ = tx.send(Err(format!("copy {copy}: {err}")));
                            return;
                        }
                    };
                    let _ = tx.send(listener.local_addr().map_err(|e| e.to_string()));
                    hue::spawn_colored(
                        Color::fresh(),
                        server::watch_long_polls(long_poll, move |m| eprintln!("copy {copy}: {m}")),
                    );
                    // The accept loop runs on the copy's worker, like every connection; this
                    // thread only waits.
                    let _ = hue::spawn(server::serve(listener, site)).await;
                });
            })
            .map_err(|e| format!("cannot start copy {copy}: {e}"))?;
        let local = rx
            .recv()
            .map_err(|_| format!("copy {copy} stopped before it listened"))??;
        addr = local;
    }
    let mode = format!(
        "{n} independent copies (N-copy), one worker each, own listener (SO_REUSEPORT) and own cache"
    );
    banner(args, addr, &mode, demo);
    // The copies run forever on their threads; this thread waits for Ctrl-C.
    let rt = Runtime::builder()
        .workers(1)
        .build()
        .map_err(|e| format!("cannot start the signal runtime: {e}"))?;
    rt.block_on(stop_signal())?;
    println!("web_server: stopped");
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM, so the demo site is removed either way.
async fn stop_signal() -> Result<(), String> {
    use hue::signal::{signal, SignalKind};
    let error = |e: std::io::Error| format!("cannot wait for a signal: {e}");
    let mut interrupt = signal(SignalKind::interrupt()).map_err(error)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(error)?;
    futures::future::select(Box::pin(interrupt.recv()), Box::pin(terminate.recv())).await;
    Ok(())
}

/// Prints the URL and the settings.
fn banner(args: &Args, local: SocketAddr, mode: &str, demo: Option<&Path>) {
    let c = &args.config;
    println!("hue web server: http://{local}/");
    match demo {
        Some(dir) => println!(
            "  root:     {} (a demo site, removed on exit)",
            dir.display()
        ),
        None => println!("  root:     {}", c.root.display()),
    }
    println!("  mode:     {mode}");
    println!(
        "  cache:    {} MiB in {} shards, each owned by a color; files over {} KiB streamed",
        c.cache_bytes >> 20,
        c.shards,
        c.stream_above >> 10
    );
    println!(
        "  limits:   request head 8 KiB, sent within {}; polls over {} are reported",
        http::human_duration(c.header_timeout),
        http::human_duration(args.long_poll)
    );
    println!("try: curl -i http://{local}/   (Ctrl-C to stop)");
}

/// Writes the demo site into `dir`.
fn write_demo_site(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("docs"))?;
    let index = "<!doctype html>
<html><head><meta charset=\"utf-8\"><title>hue web server</title>
<link rel=\"stylesheet\" href=\"/style.css\"></head>
<body>
<h1>hue web server</h1>
<p>An HTTP/1.1 static file server on <b>hue</b>, an async runtime with libasync-smp's colors:
each connection runs in a color of its own, and the page cache is split into shards, each
owned by a color, with no lock.</p>
<ul>
<li><a href=\"/hello.txt\">hello.txt</a> (text/plain)</li>
<li><a href=\"/data.json\">data.json</a> (application/json)</li>
<li><a href=\"/docs\">docs</a> (a directory: redirected to docs/, served by its index.html)</li>
<li><a href=\"/big.bin\">big.bin</a> (2 MiB: over the cache limit, so streamed)</li>
</ul>
</body></html>
";
    std::fs::write(dir.join("index.html"), index)?;
    std::fs::write(
        dir.join("style.css"),
        "body { font-family: sans-serif; max-width: 40em; margin: 2em auto; }\n",
    )?;
    std::fs::write(dir.join("hello.txt"), "Hello from hue!\n")?;
    std::fs::write(
        dir.join("data.json"),
        "{\"server\": \"hue\", \"colors\": true, \"locks\": 0}\n",
    )?;
    std::fs::write(
        dir.join("docs/index.html"),
        "<!doctype html><title>docs</title><p>The index of a directory. <a href=\"../\">Back</a></p>\n",
    )?;
    let big: Vec<u8> = (0..2u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), big)?;
    Ok(())
}
