//! The HTTP/1.1 static file server: the accept loop, one task per connection (each in a fresh
//! color), request parsing with `httparse`, responses, streaming, timeouts, and the long-poll
//! watch.
//!
//! # A connection
//!
//! A connection is one task in `Color::fresh()`: connections share nothing, so they run in
//! parallel on every worker, and a connection's buffers are its own. The task loops:
//!
//! 1. Parse every complete request in the read buffer and answer each in turn, appending the
//!    responses to one output buffer (pipelining: responses go out in request order, and a
//!    batch of pipelined requests costs one `writev`). A cache hit is answered inside the
//!    shard's color: a small body is copied from the entry into that buffer there (no
//!    reference to the entry is taken, so two workers serving one hot file do not bounce its
//!    reference count between their caches); a larger one (16 KiB or more) is written from the
//!    entry with a vectored write (headers and body in one `writev`, no copy).
//! 2. Flush the output buffer.
//! 3. Read more, with a deadline: a request head must be complete within the header timeout
//!    (default 10 s) of the server starting to wait for it, or the answer is `408` and the
//!    connection closes (an idle keep-alive connection that sent nothing is closed silently).
//!    The deadline is one `Sleep` per connection, re-armed only when it fires early, so a
//!    request costs a clock reading, not a timer insert.
//!
//! # A request
//!
//! `GET` and `HEAD` are served; other methods get `405` (known methods) or `501`, both with
//! `Allow: GET, HEAD`. The target is percent-decoded and normalized (`crate::http`); a `..`
//! segment is `403`. Then the cache is asked (in the shard's color, see `crate::cache`); on a
//! miss the file is found and read on the blocking pool (`hue::spawn_blocking`, see
//! `crate::files`: symlinks leaving the root are `403`, a directory serves its `index.html`, a
//! directory named without its `/` is redirected), and inserted. A file over the streaming
//! limit is not cached: it is read in 64 KiB chunks on the blocking pool and written as it
//! comes. `If-Modified-Since` at or after the file's `Last-Modified` gives `304`.
//!
//! # Closing
//!
//! HTTP/1.1 connections stay open unless the client sends `Connection: close`; HTTP/1.0 ones
//! only if it sends `Connection: keep-alive`. A malformed request is `400`, a request head over
//! 8 KiB `431`; both close the connection, as does a request with a body (this server reads
//! none). When the server closes, it shuts down its side and discards what the client still
//! sends for up to a second (a "lingering close"), so the client reads the error response
//! instead of a reset. A client that goes away mid-response ends only its own task.

#![allow(dead_code)] // the tests use a different subset than the example

use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::io::{AsyncRead, AsyncWrite};
use hue::net::{TcpListener, TcpSocket, TcpStream};
use hue::time::{sleep_until, Sleep};
use hue::{Color, Handle};

use crate::cache::{Cache, Entry};
use crate::files::{self, Loaded};
use crate::http::{self, PathError};

/// The largest request head (request line and headers) accepted: 8 KiB, then `431`.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// The read buffer of a connection: a full head and room for pipelined requests.
const READ_BUF: usize = 16 * 1024;
/// The most header fields in a request (more is `431`).
const MAX_HEADERS: usize = 64;
/// The chunk size of streamed files.
const CHUNK: usize = 64 * 1024;
/// Bodies smaller than this are copied into the output buffer (so pipelined responses go out
/// in one write); larger ones are written from the cache entry with a vectored write.
const COPY_BODY_BELOW: usize = 16 * 1024;
/// The output buffer is flushed once it holds this much.
const FLUSH_AT: usize = 64 * 1024;
/// How long a closing connection keeps discarding what the client sends.
const LINGER: Duration = Duration::from_secs(1);
/// The listen backlog.
const BACKLOG: u32 = 1024;
/// The methods served, for `Allow`.
const ALLOW: &[u8] = b"Allow: GET, HEAD\r\n";

/// The server's settings.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// The directory served.
    pub(crate) root: PathBuf,
    /// The page cache's budget in bytes.
    pub(crate) cache_bytes: usize,
    /// Cache shards (each owned by a color).
    pub(crate) shards: usize,
    /// Files larger than this are streamed, not cached.
    pub(crate) stream_above: usize,
    /// How long a client has to send a complete request head.
    pub(crate) header_timeout: Duration,
    /// Cached files are re-read when older than this (so edits show up).
    pub(crate) revalidate: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            root: PathBuf::from("."),
            cache_bytes: 64 << 20,
            shards: 16,
            stream_above: 1 << 20,
            header_timeout: Duration::from_secs(10),
            revalidate: Duration::from_secs(2),
        }
    }
}

/// What one server (one runtime) shares between its connections: the canonical root, the
/// cache, the settings. Read-only apart from the cache, whose shards are owned by colors.
#[derive(Debug)]
pub(crate) struct Site {
    root: Arc<PathBuf>,
    cache: Cache,
    config: Config,
}

impl Site {
    /// A site serving `config.root` (which must be a directory).
    ///
    /// # Errors
    ///
    /// If the root does not exist or is not a directory.
    pub(crate) fn new(config: Config) -> io::Result<Arc<Site>> {
        let root = files::canonical_root(&config.root)?;
        Ok(Arc::new(Site {
            root: Arc::new(root),
            cache: Cache::new(config.cache_bytes, config.shards, config.revalidate),
            config,
        }))
    }

    /// The page cache.
    pub(crate) fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The settings.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }
}

/// A listener on `addr` (`SO_REUSEADDR`, and `SO_REUSEPORT` if `reuseport`: the N-copy mode's
/// copies each listen on the same port), with a backlog of 1024. Must be called inside a hue
/// runtime (the listener belongs to its reactor).
///
/// # Errors
///
/// The socket's errors (`AddrInUse`...), with the address in the message.
pub(crate) fn listen(addr: SocketAddr, reuseport: bool) -> io::Result<TcpListener> {
    let with_addr =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"));
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(with_addr)?;
    socket.set_reuseaddr(true).map_err(with_addr)?;
    if reuseport {
        socket.set_reuseport(true).map_err(with_addr)?;
    }
    socket.bind(addr).map_err(with_addr)?;
    socket.listen(BACKLOG).map_err(with_addr)
}

/// Accepts connections forever, each served by a task in a fresh color.
pub(crate) async fn serve(listener: TcpListener, site: Arc<Site>) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                let site = site.clone();
                hue::spawn_colored(Color::fresh(), connection(stream, site));
            }
            Err(err) if err.kind() == io::ErrorKind::ConnectionAborted => {}
            Err(err) => {
                eprintln!("web_server: accept failed: {err}");
                if matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                    // Out of descriptors: wait for connections to close instead of spinning.
                    hue::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Watches the current runtime's metrics once a second and calls `report` with a warning
/// when polls took longer than the long-poll threshold since the last look: at most one line
/// a second, however many there were. A long poll is a task that blocked its worker, which the
/// colored model forbids (blocking work belongs on `spawn_blocking`).
pub(crate) async fn watch_long_polls(threshold: Duration, mut report: impl FnMut(String)) {
    let handle = Handle::current();
    let total = |h: &Handle| {
        let m = h.metrics();
        let mut n = 0;
        let mut longest = Duration::ZERO;
        for w in 0..m.workers() {
            n += m.worker(w).long_polls;
            longest = longest.max(m.worker(w).longest_poll);
        }
        (n, longest)
    };
    let (mut seen, _) = total(&handle);
    let mut tick = hue::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(hue::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let (now, longest) = total(&handle);
        if now > seen {
            report(format!(
                "web_server: warning: {} poll(s) took longer than {} in the last second \
                 (longest so far {longest:?}): a task blocked its worker; blocking work \
                 belongs on spawn_blocking",
                now - seen,
                http::human_duration(threshold),
            ));
        }
        seen = now;
    }
}

/// The methods a request may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    /// A method HTTP defines that this server does not allow: 405.
    NotAllowed,
    /// Anything else: 501.
    Unknown,
}

/// The parts of a request the server uses, borrowed from the read buffer.
#[derive(Debug)]
struct Request<'a> {
    method: Method,
    target: &'a [u8],
    /// HTTP/1.`minor`.
    minor: u8,
    keep_alive: bool,
    if_modified_since: Option<&'a [u8]>,
    /// A body follows (`Content-Length` > 0 or `Transfer-Encoding`): not read, so the
    /// connection closes after the response.
    has_body: bool,
    has_host: bool,
}

/// What the start of the read buffer holds.
#[derive(Debug)]
enum Parsed<'a> {
    /// A complete request head of this many bytes.
    Request(Request<'a>, usize),
    /// Not yet a complete head.
    Partial,
    /// A head the server refuses: answer with this status and close.
    Invalid(u16),
}

fn parse(buf: &[u8]) -> Parsed<'_> {
    // Uninitialized header slots: no need to clear 64 of them for every request.
    let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let n = match req.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::Invalid(431),
        Err(_) => return Parsed::Invalid(400),
    };
    if n > MAX_HEAD {
        return Parsed::Invalid(431);
    }
    let method = match req.method.unwrap_or("") {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" | "PUT" | "DELETE" | "CONNECT" | "OPTIONS" | "TRACE" | "PATCH" => Method::NotAllowed,
        _ => Method::Unknown,
    };
    let minor = req.version.unwrap_or(1);
    let mut keep_alive = minor >= 1;
    let mut if_modified_since = None;
    let mut has_body = false;
    let mut has_host = false;
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        if name.eq_ignore_ascii_case(b"host") {
            has_host = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && minor == 0 {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"if-modified-since") {
            if_modified_since = Some(h.value);
        } else if name.eq_ignore_ascii_case(b"content-length") {
            match std::str::from_utf8(h.value.trim_ascii())
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
            {
                Some(0) => {}
                Some(_) => has_body = true,
                None => return Parsed::Invalid(400),
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            has_body = true;
        }
    }
    let target = req.path.unwrap_or("").as_bytes();
    Parsed::Request(
        Request {
            method,
            target,
            minor,
            keep_alive,
            if_modified_since,
            has_body,
            has_host,
        },
        n,
    )
}

/// A deadline for reads: one `Sleep` per connection, armed at the first deadline and moved
/// forward only when it fires before the current one.
struct Deadline {
    sleep: Option<Pin<Box<Sleep>>>,
    at: Instant,
}

impl Deadline {
    /// Polls the deadline: ready once `at` has passed.
    fn poll(&mut self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let at = self.at;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(sleep_until(at)));
        loop {
            match sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if Instant::now() >= at => return Poll::Ready(()),
                Poll::Ready(()) => sleep.as_mut().reset(at),
            }
        }
    }
}

/// One connection's state (besides its read buffer, which requests borrow from).
struct Conn {
    stream: TcpStream,
    site: Arc<Site>,
    /// Responses not yet written.
    out: Vec<u8>,
    /// The normalized path of the current request.
    key: Vec<u8>,
    /// The current request's HTTP/1.x minor version (1.0 keep-alive is said in responses).
    minor: u8,
    deadline: Deadline,
}

/// Serves one connection until it closes.
async fn connection(stream: TcpStream, site: Arc<Site>) {
    let _ = stream.set_nodelay(true);
    let timeout = site.config.header_timeout;
    let mut conn = Conn {
        stream,
        site,
        out: Vec::with_capacity(4096),
        key: Vec::with_capacity(64),
        minor: 1,
        deadline: Deadline {
            sleep: None,
            at: Instant::now() + timeout,
        },
    };
    let mut rbuf = vec![0u8; READ_BUF].into_boxed_slice();
    let (mut lo, mut hi) = (0, 0);
    let mut served = 0u64;
    let mut new_request = false;
    // Whether the server ends the connection (and so should close gracefully).
    let server_closes = 'conn: loop {
        // 1. Answer every complete request in the buffer, in order.
        while lo < hi {
            match parse(&rbuf[lo..hi]) {
                Parsed::Partial if hi - lo >= MAX_HEAD => {
                    let _ = conn.simple(431, b"", true, false).await;
                    break 'conn true;
                }
                Parsed::Partial => break,
                Parsed::Invalid(status) => {
                    let _ = conn.simple(status, b"", true, false).await;
                    break 'conn true;
                }
                Parsed::Request(req, n) => {
                    lo += n;
                    served += 1;
                    new_request = true;
                    match conn.respond(&req).await {
                        Ok(true) => {}
                        Ok(false) => {
                            let flushed = conn.flush(&[]).await.is_ok();
                            break 'conn flushed;
                        }
                        Err(_) => break 'conn false, // the client went away
                    }
                }
            }
        }
        // 2. Send the answers.
        if conn.flush(&[]).await.is_err() {
            break false;
        }
        // 3. Read more, within the deadline.
        if lo == hi {
            (lo, hi) = (0, 0);
        } else if hi == rbuf.len() {
            rbuf.copy_within(lo..hi, 0);
            (lo, hi) = (0, hi - lo);
        }
        if new_request {
            conn.deadline.at = Instant::now() + timeout;
            new_request = false;
        }
        let read = {
            let stream = &conn.stream;
            let deadline = &mut conn.deadline;
            let buf = &mut rbuf[hi..];
            poll_fn(|cx| {
                if let Poll::Ready(r) = Pin::new(&mut &*stream).poll_read(cx, buf) {
                    return Poll::Ready(Some(r));
                }
                deadline.poll(cx).map(|()| None)
            })
            .await
        };
        match read {
            Some(Ok(0)) | Some(Err(_)) => break false,
            Some(Ok(n)) => hi += n,
            None if lo == hi && served > 0 => break true, // idle keep-alive connection
            None => {
                let _ = conn.simple(408, b"", true, false).await;
                break true;
            }
        }
    };
    if server_closes {
        conn.linger().await;
    }
}

impl Conn {
    /// Answers one request (appending to the output buffer, or writing); whether the
    /// connection stays open.
    async fn respond(&mut self, req: &Request<'_>) -> io::Result<bool> {
        let close = !req.keep_alive || req.has_body;
        self.minor = req.minor;
        let head_only = req.method == Method::Head;
        match req.method {
            Method::Get | Method::Head => {}
            Method::NotAllowed => return self.simple(405, ALLOW, close, false).await,
            Method::Unknown => return self.simple(501, ALLOW, close, false).await,
        }
        if req.minor >= 1 && !req.has_host {
            return self.simple(400, b"", true, head_only).await;
        }
        match http::normalize_path(req.target, &mut self.key) {
            Ok(()) => {}
            Err(PathError::BadRequest) => return self.simple(400, b"", true, head_only).await,
            Err(PathError::Forbidden) => return self.simple(403, b"", close, head_only).await,
        }
        let now = Instant::now();
        // A hit is answered inside the shard's color, straight from the entry: a small body is
        // copied into the output buffer there, so the entry's reference count is not touched
        // (two workers serving one hot file would otherwise bounce it between their caches).
        let ims = req.if_modified_since;
        let (out, minor) = (&mut self.out, self.minor);
        let hit = self.site.cache.with_entry(&self.key, now, |entry| {
            let Some(entry) = entry else {
                return Hit::Miss;
            };
            let status = if http::not_modified(entry.modified, ims) {
                304
            } else {
                200
            };
            write_head(out, minor, status, &entry.head, close);
            if status != 200 || head_only {
                Hit::Written
            } else if entry.body.len() < COPY_BODY_BELOW {
                out.extend_from_slice(&entry.body);
                Hit::Written
            } else {
                Hit::Body(entry.clone())
            }
        });
        match hit.await {
            Hit::Written => {}
            Hit::Body(entry) => self.flush(&entry.body).await?,
            Hit::Miss => match self.miss(now).await {
                Miss::Entry(entry) => {
                    let status = if http::not_modified(entry.modified, ims) {
                        304
                    } else {
                        200
                    };
                    self.head(status, &entry.head, close);
                    if status == 200 && !head_only {
                        if entry.body.len() < COPY_BODY_BELOW {
                            self.out.extend_from_slice(&entry.body);
                        } else {
                            self.flush(&entry.body).await?;
                        }
                    }
                }
                Miss::Large(info, file) => {
                    return self.stream_file(req, info, file, close).await;
                }
                Miss::Status(status, extra) => {
                    return self.simple(status, &extra, close, head_only).await;
                }
            },
        }
        if self.out.len() >= FLUSH_AT {
            self.flush(&[]).await?;
        }
        Ok(!close)
    }

    /// Finds and reads the file on the blocking pool; caches small files.
    async fn miss(&mut self, now: Instant) -> Miss {
        let root = self.site.root.clone();
        let key = self.key.clone();
        let limit = self.site.config.stream_above as u64;
        let loaded = hue::spawn_blocking(move || files::load(&root, &key, limit)).await;
        match loaded {
            Ok(Loaded::Small(info, body)) => {
                let head = http::entity_headers(info.content_type, info.len, info.modified);
                let entry = Arc::new(Entry {
                    head: head.into_boxed_slice(),
                    body: body.into_boxed_slice(),
                    modified: info.modified,
                    loaded: now,
                });
                if entry.body.len() <= self.site.cache.max_entry() {
                    self.site.cache.insert(&self.key, entry.clone()).await;
                }
                Miss::Entry(entry)
            }
            Ok(Loaded::Large(info, file)) => Miss::Large(info, file),
            Ok(Loaded::Redirect(location)) => {
                let mut extra = b"Location: ".to_vec();
                extra.extend_from_slice(&location);
                extra.extend_from_slice(b"\r\n");
                Miss::Status(301, extra)
            }
            Ok(Loaded::NotFound) => Miss::Status(404, Vec::new()),
            Ok(Loaded::Forbidden) => Miss::Status(403, Vec::new()),
            Err(_) => Miss::Status(500, Vec::new()),
        }
    }

    /// Streams a file over the size limit in chunks read on the blocking pool.
    async fn stream_file(
        &mut self,
        req: &Request<'_>,
        info: files::FileInfo,
        file: std::fs::File,
        close: bool,
    ) -> io::Result<bool> {
        let status = if http::not_modified(info.modified, req.if_modified_since) {
            304
        } else {
            200
        };
        let head = http::entity_headers(info.content_type, info.len, info.modified);
        self.head(status, &head, close);
        if status != 200 || req.method == Method::Head {
            return Ok(!close);
        }
        let mut remaining = info.len;
        let mut file = Some(file);
        let mut buf = Some(Vec::with_capacity(CHUNK));
        while remaining > 0 {
            let (mut f, mut b) = (file.take().unwrap(), buf.take().unwrap());
            let want = remaining.min(CHUNK as u64) as usize;
            let (f, b, read) = hue::spawn_blocking(move || {
                let r = files::read_chunk(&mut f, &mut b, want);
                (f, b, r)
            })
            .await
            .map_err(io::Error::other)?;
            let n = read?;
            if n == 0 {
                // The file shrank: the promised length cannot be sent; end the connection.
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank"));
            }
            self.flush(&b[..n]).await?;
            remaining -= n as u64;
            file = Some(f);
            buf = Some(b);
        }
        Ok(!close)
    }

    /// Appends a status line and headers: `Server`, `Date`, `extra` (lines ending in CRLF),
    /// `Connection` when needed, and the blank line.
    fn head(&mut self, status: u16, extra: &[u8], close: bool) {
        write_head(&mut self.out, self.minor, status, extra, close);
    }

    /// Appends a short plain-text response for `status` (with `extra` headers); whether the
    /// connection stays open (`!close`). Closing responses are flushed at once.
    async fn simple(
        &mut self,
        status: u16,
        extra: &[u8],
        close: bool,
        head_only: bool,
    ) -> io::Result<bool> {
        let body = format!("{status} {}\n", http::reason(status));
        let mut headers = Vec::with_capacity(96 + extra.len());
        headers.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: ");
        headers.extend_from_slice(body.len().to_string().as_bytes());
        headers.extend_from_slice(b"\r\n");
        headers.extend_from_slice(extra);
        self.head(status, &headers, close);
        if !head_only {
            self.out.extend_from_slice(body.as_bytes());
        }
        if close {
            self.flush(&[]).await?;
        }
        Ok(!close)
    }

    /// Writes the output buffer and then `body` (one vectored write when both fit), and
    /// clears the output buffer.
    async fn flush(&mut self, body: &[u8]) -> io::Result<()> {
        if self.out.is_empty() && body.is_empty() {
            return Ok(());
        }
        let result = write_all_vectored(
            &self.stream,
            &mut [IoSlice::new(&self.out), IoSlice::new(body)],
        )
        .await;
        self.out.clear();
        result
    }

    /// Closes gracefully: shuts down the sending side, then discards what the client still
    /// sends (up to a second, or its EOF), so it reads our last response rather than a reset.
    async fn linger(&mut self) {
        if self.stream.shutdown(Shutdown::Write).is_err() {
            return;
        }
        let stream = &self.stream;
        let drain = async {
            let mut scratch = [0u8; 4096];
            loop {
                match poll_fn(|cx| Pin::new(&mut &*stream).poll_read(cx, &mut scratch)).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        let _ = hue::time::timeout(LINGER, drain).await;
    }
}

/// Appends a status line and headers to `out`: `Server`, `Date`, `extra` (lines ending in
/// CRLF), `Connection` when needed (`close`, or keep-alive for HTTP/1.0), and the blank line.
fn write_head(out: &mut Vec<u8>, minor: u8, status: u16, extra: &[u8], close: bool) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(&[
        b'0' + (status / 100) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
        b' ',
    ]);
    out.extend_from_slice(http::reason(status).as_bytes());
    out.extend_from_slice(b"\r\nServer: hue\r\nDate: ");
    out.extend_from_slice(&http::now_http_date());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(extra);
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if minor == 0 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// What a cache lookup did.
enum Hit {
    /// Not cached (or stale).
    Miss,
    /// The response is in the output buffer.
    Written,
    /// The head is in the output buffer; this large body follows (written from the entry).
    Body(Arc<Entry>),
}

/// The outcome of a cache miss.
enum Miss {
    Entry(Arc<Entry>),
    Large(files::FileInfo, std::fs::File),
    /// An error or redirect status, with extra header lines.
    Status(u16, Vec<u8>),
}

/// Writes all of `bufs` (skipping empty ones).
async fn write_all_vectored(stream: &TcpStream, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut &*stream).poll_write_vectored(cx, bufs)).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut bufs, n);
    }
    Ok(())
}
