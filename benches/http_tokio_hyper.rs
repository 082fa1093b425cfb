//! The peer of the web server benchmark (`benches/http.sh`): a static file server on tokio +
//! hyper with the same in-memory cache as hue's `examples/web_server` (the same LRU, byte
//! budget, shards, path normalization, file loading and headers, compiled in from that
//! example's modules), each shard behind a `std::sync::Mutex` instead of a color.
//!
//! It is a program, not a criterion benchmark: `cargo bench --bench http_tokio_hyper --no-run`
//! builds it (CI does), and the script runs the binary from `target/release/deps`:
//!
//! ```text
//! http_tokio_hyper --addr 127.0.0.1:8082 --root DIR [--workers N] [--cache-mb N]
//! ```
//!
//! `--workers 1` (the default) is tokio's current-thread runtime, the fair peer of a hue
//! runtime with one worker; more is the multi-thread runtime with that many workers. hyper's
//! HTTP/1 server does keep-alive and pipelining and adds `Date`. `GET` and `HEAD` are served,
//! `If-Modified-Since` gives 304, a directory serves its `index.html`; other methods get 405.
//! Files over the streaming limit are read whole (the benchmark's files are all cached).
//! Run with `--bench`-style arguments (as `cargo bench` passes) it just prints how to use it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE, IF_MODIFIED_SINCE, LAST_MODIFIED, SERVER};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

#[path = "../examples/web_server/files.rs"]
mod files;
#[path = "../examples/web_server/http.rs"]
mod http;
#[path = "../examples/web_server/lru.rs"]
mod lru;

use files::Loaded;
use lru::{fnv, Lru};

const SHARDS: usize = 16;
const STREAM_ABOVE: u64 = 1 << 20;
const REVALIDATE: Duration = Duration::from_secs(2);

/// A cached file.
struct Entry {
    body: Bytes,
    content_type: HeaderValue,
    last_modified: Option<HeaderValue>,
    modified: Option<u64>,
    loaded: Instant,
}

/// The same cache as hue's example, with a mutex per shard.
struct Site {
    root: PathBuf,
    shards: Vec<Mutex<Lru<Arc<Entry>>>>,
    per_shard: usize,
}

impl Site {
    fn shard(&self, key: &[u8]) -> &Mutex<Lru<Arc<Entry>>> {
        &self.shards[(fnv(key) % self.shards.len() as u64) as usize]
    }
}

fn usage() -> ! {
    eprintln!("usage: http_tokio_hyper --addr ADDR --root DIR [--workers N] [--cache-mb N]");
    std::process::exit(2);
}

fn main() {
    let mut addr: Option<SocketAddr> = None;
    let mut root = None;
    let mut workers = 1usize;
    let mut cache_mb = 64usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--bench" => {
                // `cargo bench` runs every bench target with `--bench`: nothing to measure here.
                println!("http_tokio_hyper: a server for benches/http.sh; see --help");
                return;
            }
            "-h" | "--help" => usage(),
            _ => {}
        }
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--addr" => addr = Some(value.parse().unwrap_or_else(|_| usage())),
            "--root" => root = Some(PathBuf::from(value)),
            "--workers" => workers = value.parse().unwrap_or_else(|_| usage()),
            "--cache-mb" => cache_mb = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let (Some(addr), Some(root)) = (addr, root) else {
        usage()
    };
    let root = files::canonical_root(&root).unwrap_or_else(|e| {
        eprintln!("http_tokio_hyper: {e}");
        std::process::exit(1)
    });
    let per_shard = (cache_mb << 20) / SHARDS;
    let site = Arc::new(Site {
        root,
        shards: (0..SHARDS)
            .map(|_| Mutex::new(Lru::new(per_shard)))
            .collect(),
        per_shard,
    });
    let rt = if workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
    }
    .expect("tokio runtime");
    rt.block_on(async move {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .expect("socket");
        socket.set_reuseaddr(true).expect("SO_REUSEADDR");
        socket.bind(addr).expect("bind");
        let listener = socket.listen(1024).expect("listen");
        println!(
            "http_tokio_hyper: http://{}/ ({workers} worker(s))",
            listener.local_addr().unwrap()
        );
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let site = site.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(site.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(format!("{code}\n"))));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

async fn handle(
    site: Arc<Site>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let head_only = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut resp = status(StatusCode::METHOD_NOT_ALLOWED);
            resp.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Ok(resp);
        }
    };
    let mut key = Vec::with_capacity(64);
    match http::normalize_path(req.uri().path().as_bytes(), &mut key) {
        Ok(()) => {}
        Err(http::PathError::BadRequest) => return Ok(status(StatusCode::BAD_REQUEST)),
        Err(http::PathError::Forbidden) => return Ok(status(StatusCode::FORBIDDEN)),
    }
    let now = Instant::now();
    let cached = site
        .shard(&key)
        .lock()
        .unwrap()
        .get(&key)
        .filter(|e| now.saturating_duration_since(e.loaded) < REVALIDATE)
        .cloned();
    let entry = match cached {
        Some(entry) => entry,
        None => {
            let root = site.root.clone();
            let k = key.clone();
            let loaded = tokio::task::spawn_blocking(move || files::load(&root, &k, STREAM_ABOVE))
                .await
                .unwrap_or(Loaded::NotFound);
            let (info, body) = match loaded {
                Loaded::Small(info, body) => (info, body),
                Loaded::Large(info, mut file) => {
                    let body = tokio::task::spawn_blocking(move || {
                        let mut body = Vec::new();
                        std::io::Read::read_to_end(&mut file, &mut body).map(|_| body)
                    })
                    .await;
                    match body {
                        Ok(Ok(body)) => (info, body),
                        _ => return Ok(status(StatusCode::INTERNAL_SERVER_ERROR)),
                    }
                }
                Loaded::Redirect(location) => {
                    let mut resp = status(StatusCode::MOVED_PERMANENTLY);
                    if let Ok(v) = HeaderValue::from_bytes(&location) {
                        resp.headers_mut().insert(hyper::header::LOCATION, v);
                    }
                    return Ok(resp);
                }
                Loaded::NotFound => return Ok(status(StatusCode::NOT_FOUND)),
                Loaded::Forbidden => return Ok(status(StatusCode::FORBIDDEN)),
            };
            let entry = Arc::new(Entry {
                body: Bytes::from(body),
                content_type: HeaderValue::from_static(info.content_type),
                last_modified: info
                    .modified
                    .and_then(|m| HeaderValue::from_bytes(&http::http_date(m)).ok()),
                modified: info.modified,
                loaded: now,
            });
            let size = entry.body.len() + key.len() + 256;
            if size <= site.per_shard && info.len <= STREAM_ABOVE {
                site.shard(&key)
                    .lock()
                    .unwrap()
                    .insert(&key, entry.clone(), size);
            }
            entry
        }
    };
    let ims = req.headers().get(IF_MODIFIED_SINCE).map(|v| v.as_bytes());
    let not_modified = http::not_modified(entry.modified, ims);
    let body = if head_only || not_modified {
        Full::new(Bytes::new())
    } else {
        Full::new(entry.body.clone())
    };
    let mut resp = Response::new(body);
    if not_modified {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let headers = resp.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static("tokio-hyper"));
    headers.insert(CONTENT_TYPE, entry.content_type.clone());
    if let Some(lm) = &entry.last_modified {
        headers.insert(LAST_MODIFIED, lm.clone());
    }
    if head_only {
        headers.insert(
            hyper::header::CONTENT_LENGTH,
            HeaderValue::from(entry.body.len() as u64),
        );
    }
    Ok(resp)
}
