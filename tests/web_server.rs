//! Integration tests of the web server example (`examples/web_server/`): the happy paths
//! (GET, HEAD, `304`, keep-alive, pipelining, `index.html`, content types) and every bad input
//! of the issue (malformed request line, a head over 8 KiB, unknown methods, path traversal,
//! a missing file, a client that never finishes its head, a client that leaves mid-response,
//! 1,000 concurrent keep-alive connections), each over a raw `std::net::TcpStream`.
//!
//! The server's modules are compiled into this test with `#[path]`, so the test drives the
//! same code the example runs (an example cannot be imported). Each test serves a temporary
//! folder of its own with a runtime of its own, and checks at the end that no task panicked.

mod common;

#[path = "../examples/web_server/cache.rs"]
mod cache;
#[path = "../examples/web_server/files.rs"]
mod files;
#[path = "../examples/web_server/http.rs"]
mod http;
#[path = "../examples/web_server/lru.rs"]
mod lru;
#[path = "../examples/web_server/server.rs"]
mod server;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Once};
use std::time::Duration;

use hue::{Color, Runtime};
use server::{Config, Site};

/// Panics on the runtime's threads seen by the panic hook (a task's panic is caught by the
/// runtime, so a test would not notice it otherwise).
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().unwrap_or("").to_string();
            if name.starts_with("hue-") {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

fn assert_no_panics() {
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        0,
        "a task panicked (see stderr)"
    );
}

const HELLO: &str = "Hello from hue!\n";
const SECRET: &str = "TOP SECRET: outside the root\n";
/// Bigger than the socket buffers, under the streaming limit: cached, written with writev.
const CACHED_BIG: usize = 512 * 1024;
/// Over the streaming limit (1 MiB): streamed in chunks.
const STREAMED_BIG: usize = 3 * 1024 * 1024;

/// A temporary folder: `root/` (served) and `outside/` (next to it, never served).
struct Site0 {
    base: PathBuf,
}

impl Site0 {
    fn new() -> Site0 {
        static N: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::temp_dir().join(format!(
            "hue-web-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(base.join("outside")).unwrap();
        std::fs::write(base.join("outside/secret.txt"), SECRET).unwrap();
        std::fs::write(root.join("index.html"), "<h1>root index</h1>\n").unwrap();
        std::fs::write(root.join("hello.txt"), HELLO).unwrap();
        std::fs::write(root.join("style.css"), "body {}\n").unwrap();
        std::fs::write(root.join("data.json"), "{\"a\": 1}\n").unwrap();
        std::fs::write(root.join("image.PNG"), [0x89, b'P', b'N', b'G']).unwrap();
        std::fs::write(root.join("noext"), "x").unwrap();
        std::fs::write(root.join("sub/index.html"), "<h1>sub index</h1>\n").unwrap();
        std::fs::write(root.join("with space.txt"), "spaced\n").unwrap();
        std::fs::write(root.join("cached_big.bin"), pattern(CACHED_BIG)).unwrap();
        std::fs::write(root.join("streamed_big.bin"), pattern(STREAMED_BIG)).unwrap();
        // Symlinks: one that stays inside, two that leave the root.
        std::os::unix::fs::symlink("hello.txt", root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink("../outside/secret.txt", root.join("escape.txt")).unwrap();
        std::os::unix::fs::symlink("../outside", root.join("escdir")).unwrap();
        Site0 { base }
    }

    fn root(&self) -> PathBuf {
        self.base.join("root")
    }
}

impl Drop for Site0 {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// A server on a runtime of its own, on 127.0.0.1 and a free port.
struct TestServer {
    addr: SocketAddr,
    site: Arc<Site>,
    rt: Runtime,
    files: Site0,
}

fn start(workers: usize, tweak: impl FnOnce(&mut Config)) -> TestServer {
    count_panics();
    let files = Site0::new();
    let mut config = Config {
        root: files.root(),
        ..Config::default()
    };
    tweak(&mut config);
    let site = Site::new(config).unwrap();
    let rt = common::runtime(workers);
    let listener = rt
        .block_on(async { server::listen("127.0.0.1:0".parse().unwrap(), false) })
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.handle().spawn(server::serve(listener, site.clone()));
    TestServer {
        addr,
        site,
        rt,
        files,
    }
}

impl TestServer {
    fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// One request on a new connection; its response.
    fn get(&self, target: &str) -> Response {
        let mut c = self.connect();
        c.send(&format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n"));
        c.response(false)
    }
}

/// A client connection with a 10 s read timeout (the watchdog is the last resort).
struct Client {
    reader: BufReader<TcpStream>,
}

/// A parsed response.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, raw: &str) {
        self.send_bytes(raw.as_bytes());
    }

    fn send_bytes(&mut self, raw: &[u8]) {
        self.reader.get_mut().write_all(raw).unwrap();
    }

    /// Reads one response (no body for `HEAD`, 304 and 1xx).
    fn response(&mut self, head_only: bool) -> Response {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let mut parts = line.trim_end().splitn(3, ' ');
        assert_eq!(parts.next(), Some("HTTP/1.1"), "status line: {line:?}");
        let status: u16 = parts.next().unwrap().parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).expect("header line");
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (n, v) = h.split_once(':').expect("a header line has a colon");
            headers.push((n.to_string(), v.trim().to_string()));
        }
        let mut resp = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if !head_only && status != 304 {
            let len: usize = resp
                .header("content-length")
                .expect("Content-Length")
                .parse()
                .unwrap();
            resp.body = vec![0; len];
            self.reader.read_exact(&mut resp.body).unwrap();
        }
        resp
    }

    /// Whether the server closed the connection (EOF, or a reset, with nothing more sent).
    fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => rest.is_empty(),
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    }
}

#[test]
fn get_head_and_content_types() {
    let _w = common::watchdog("get_head_and_content_types");
    let s = start(2, |_| {});
    let r = s.get("/hello.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), HELLO);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("content-length"), Some("16"));
    assert!(r.header("date").unwrap().ends_with(" GMT"));
    let lm = r.header("last-modified").unwrap();
    assert!(http::parse_http_date(lm.as_bytes()).is_some(), "{lm}");
    for (path, ty) in [
        ("/style.css", "text/css; charset=utf-8"),
        ("/data.json", "application/json"),
        ("/image.PNG", "image/png"),
        ("/noext", "application/octet-stream"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/with%20space.txt", "text/plain; charset=utf-8"),
        ("/link.txt", "text/plain; charset=utf-8"), // a symlink inside the root
        ("/./hello.txt?x=1#frag", "text/plain; charset=utf-8"),
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ty), "{path}");
    }

    // HEAD: the same headers, no body (the next response on the connection proves it).
    let mut c = s.connect();
    c.send("HEAD /hello.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /style.css HTTP/1.1\r\nHost: t\r\n\r\n");
    let h = c.response(true);
    assert_eq!(h.status, 200);
    assert_eq!(h.header("content-length"), Some("16"));
    assert_eq!(h.header("content-type"), Some("text/plain; charset=utf-8"));
    let g = c.response(false);
    assert_eq!((g.status, g.text().as_str()), (200, "body {}\n"));

    // Big files: cached (writev from the entry) and streamed, byte for byte; HEAD of both.
    for (path, len) in [
        ("/cached_big.bin", CACHED_BIG),
        ("/streamed_big.bin", STREAMED_BIG),
    ] {
        for _ in 0..2 {
            let r = s.get(path);
            assert_eq!(r.status, 200);
            assert_eq!(r.body.len(), len);
            assert!(r.body == pattern(len), "{path}: wrong bytes");
        }
        let mut c = s.connect();
        c.send(&format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let h = c.response(true);
        assert_eq!(h.header("content-length"), Some(len.to_string().as_str()));
    }
    drop(s);
    assert_no_panics();
}

#[test]
fn index_html_for_directories() {
    let _w = common::watchdog("index_html_for_directories");
    let s = start(2, |_| {});
    let r = s.get("/");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "<h1>root index</h1>\n")
    );
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let r = s.get("/sub/");
    assert_eq!((r.status, r.text().as_str()), (200, "<h1>sub index</h1>\n"));
    // A directory named without its slash is redirected (relative links then work).
    let r = s.get("/sub?q=1");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/sub/"));
    // A file named with a trailing slash is not a directory.
    assert_eq!(s.get("/hello.txt/").status, 404);
    drop(s);
    assert_no_panics();
}

#[test]
fn if_modified_since_gives_304() {
    let _w = common::watchdog("if_modified_since_gives_304");
    let s = start(2, |_| {});
    for path in ["/hello.txt", "/streamed_big.bin"] {
        let lm = s.get(path).header("last-modified").unwrap().to_string();
        let ask = |ims: &str| {
            let mut c = s.connect();
            c.send(&format!(
                "GET {path} HTTP/1.1\r\nHost: t\r\nIf-Modified-Since: {ims}\r\n\r\n"
            ));
            c.response(false)
        };
        let r = ask(&lm);
        assert_eq!(r.status, 304, "{path}");
        assert!(r.body.is_empty());
        assert_eq!(r.header("last-modified"), Some(lm.as_str()));
        // A later date (in the other two HTTP-date forms too): still not modified.
        assert_eq!(ask("Fri, 01 Jan 2100 00:00:00 GMT").status, 304);
        assert_eq!(ask("Friday, 01-Jan-99 00:00:00 GMT").status, 200); // 1999: before
        assert_eq!(ask("Fri Jan  1 00:00:00 2100").status, 304);
        // An earlier date: the file.
        assert_eq!(ask("Sat, 01 Jan 2000 00:00:00 GMT").status, 200);
        // Not a date: ignored.
        assert_eq!(ask("yesterday").status, 200);
    }
    drop(s);
    assert_no_panics();
}

#[test]
fn keep_alive_and_pipelining() {
    let _w = common::watchdog("keep_alive_and_pipelining");
    let s = start(2, |_| {});
    // Many requests, one at a time, on one connection.
    let mut c = s.connect();
    for i in 0..50 {
        let path = if i % 2 == 0 {
            "/hello.txt"
        } else {
            "/data.json"
        };
        c.send(&format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.response(false);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), None);
    }
    // Pipelined: several requests in one write (one a miss, one a 404, one big), answered in
    // order; the last asks to close.
    let mut c = s.connect();
    c.send(
        "GET /style.css HTTP/1.1\r\nHost: t\r\n\r\n\
         GET /nothing-here HTTP/1.1\r\nHost: t\r\n\r\n\
         HEAD /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n\
         GET /cached_big.bin HTTP/1.1\r\nHost: t\r\n\r\n\
         GET /data.json HTTP/1.1\r\nHost: t\r\n\r\n\
         GET /hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let r = c.response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "body {}\n"));
    assert_eq!(c.response(false).status, 404);
    let h = c.response(true);
    assert_eq!((h.status, h.header("content-length")), (200, Some("16")));
    assert_eq!(c.response(false).body.len(), CACHED_BIG);
    assert_eq!(c.response(false).text(), "{\"a\": 1}\n");
    let last = c.response(false);
    assert_eq!((last.status, last.text().as_str()), (200, HELLO));
    assert_eq!(last.header("connection"), Some("close"));
    assert!(c.closed(), "Connection: close must close");

    // A request split across writes.
    let mut c = s.connect();
    c.send("GET /hel");
    std::thread::sleep(Duration::from_millis(20));
    c.send("lo.txt HTTP/1.1\r\nHo");
    std::thread::sleep(Duration::from_millis(20));
    c.send("st: t\r\n\r\n");
    assert_eq!(c.response(false).text(), HELLO);

    // HTTP/1.0: closes unless asked to keep alive.
    let mut c = s.connect();
    c.send("GET /hello.txt HTTP/1.0\r\n\r\n");
    let r = c.response(false);
    assert_eq!((r.status, r.header("connection")), (200, Some("close")));
    assert!(c.closed());
    let mut c = s.connect();
    c.send("GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(c.response(false).header("connection"), Some("keep-alive"));
    c.send("GET /hello.txt HTTP/1.0\r\n\r\n");
    assert_eq!(c.response(false).status, 200);
    drop(s);
    assert_no_panics();
}

#[test]
fn malformed_request_line_is_400_and_closes() {
    let _w = common::watchdog("malformed_request_line_is_400_and_closes");
    let s = start(2, |_| {});
    for raw in [
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "GET /hello.txt\r\n\r\n",
        "GET /hello.txt HTTP/1.1 extra\r\n\r\n",
        "GET /hello.txt HTTX/1.1\r\nHost: t\r\n\r\n",
        "G E T / HTTP/1.1\r\n\r\n",
        "GET hello.txt HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /a%00b HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n", // HTTP/1.1 without Host
        "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: lots\r\n\r\n",
        "\u{1}\u{2}\u{3}\r\n\r\n",
    ] {
        let mut c = s.connect();
        c.send(raw);
        let r = c.response(false);
        assert_eq!(r.status, 400, "{raw:?}");
        assert_eq!(r.header("connection"), Some("close"), "{raw:?}");
        assert!(c.closed(), "{raw:?}: must close");
    }
    // Binary junk.
    let mut c = s.connect();
    c.send_bytes(&[0xff, 0xfe, 0x00, 0x80, b'\r', b'\n', b'\r', b'\n']);
    assert_eq!(c.response(false).status, 400);
    assert!(c.closed());
    // The server still serves.
    assert_eq!(s.get("/hello.txt").status, 200);
    drop(s);
    assert_no_panics();
}

#[test]
fn header_block_over_8k_is_431() {
    let _w = common::watchdog("header_block_over_8k_is_431");
    let s = start(2, |_| {});
    // One huge header, never finished: the server does not wait for the end.
    let mut c = s.connect();
    c.send(&format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}",
        "a".repeat(9000)
    ));
    let r = c.response(false);
    assert_eq!(r.status, 431);
    assert!(c.closed());
    // A complete head over 8 KiB in one write.
    let mut c = s.connect();
    c.send(&format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(8300)
    ));
    assert_eq!(c.response(false).status, 431);
    // A huge request line.
    let mut c = s.connect();
    c.send(&format!(
        "GET /{} HTTP/1.1\r\nHost: t\r\n\r\n",
        "c".repeat(10_000)
    ));
    assert_eq!(c.response(false).status, 431);
    // Too many header fields.
    let mut c = s.connect();
    let many: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
    c.send(&format!("GET / HTTP/1.1\r\nHost: t\r\n{many}\r\n"));
    assert_eq!(c.response(false).status, 431);
    // Just under the limit is fine.
    let mut c = s.connect();
    c.send(&format!(
        "GET /hello.txt HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "d".repeat(7000)
    ));
    assert_eq!(c.response(false).status, 200);
    assert_eq!(s.get("/hello.txt").status, 200);
    drop(s);
    assert_no_panics();
}

#[test]
fn unknown_methods_get_405_or_501_with_allow() {
    let _w = common::watchdog("unknown_methods_get_405_or_501_with_allow");
    let s = start(2, |_| {});
    for (method, status) in [
        ("BREW", 501),
        ("DELETE", 405),
        ("PUT", 405),
        ("OPTIONS", 405),
    ] {
        let mut c = s.connect();
        c.send(&format!("{method} /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.response(false);
        assert_eq!(r.status, status, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
        // No body came with it: the connection stays usable.
        c.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(c.response(false).status, 200, "after {method}");
    }
    // A POST with a body: answered, then closed (the body is not read).
    let mut c = s.connect();
    c.send("POST /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    let r = c.response(false);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed());
    drop(s);
    assert_no_panics();
}

#[test]
fn path_traversal_never_leaves_the_root() {
    let _w = common::watchdog("path_traversal_never_leaves_the_root");
    let s = start(2, |_| {});
    let root = s.files.root();
    assert!(root.join("../outside/secret.txt").exists());
    for target in [
        "/../outside/secret.txt",
        "/../../../../../../etc/passwd",
        "/sub/../../outside/secret.txt",
        "/%2e%2e/outside/secret.txt",
        "/%2E%2E/outside/secret.txt",
        "/.%2e/outside/secret.txt",
        "/%2e%2e%2foutside%2fsecret.txt",
        "/..%2f..%2fetc%2fpasswd",
        "/sub/%2e%2e/%2e%2e/outside/secret.txt",
        "/..\\outside\\secret.txt",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/etc/passwd",
        &format!("{}/../outside/secret.txt", root.display()),
        &format!("/%2f{}", s.files.base.join("outside/secret.txt").display()),
        "http://t/../outside/secret.txt",
        "http://t/%2e%2e/outside/secret.txt",
        "/escape.txt",        // a symlink to a file outside
        "/escdir/secret.txt", // through a symlinked directory outside
        "/escdir/",
    ] {
        let mut c = s.connect();
        c.send(&format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.response(false);
        assert!(
            matches!(r.status, 400 | 403 | 404),
            "{target}: status {}",
            r.status
        );
        assert!(
            !r.text().contains("SECRET"),
            "{target}: served a file outside the root"
        );
        assert!(!r.text().contains("root:"), "{target}: served /etc/passwd");
    }
    // The `..` forms are refused outright (403), the symlinks too.
    assert_eq!(s.get("/%2e%2e/outside/secret.txt").status, 403);
    assert_eq!(s.get("/escape.txt").status, 403);
    assert_eq!(s.get("/hello.txt").status, 200);
    drop(s);
    assert_no_panics();
}

#[test]
fn missing_file_is_404_and_keeps_the_connection() {
    let _w = common::watchdog("missing_file_is_404_and_keeps_the_connection");
    let s = start(2, |_| {});
    let mut c = s.connect();
    for target in ["/nope.txt", "/sub/nope.html", "/nope/", "/hello.txt/x"] {
        c.send(&format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n"));
        let r = c.response(false);
        assert_eq!(r.status, 404, "{target}");
        assert_eq!(r.header("connection"), None);
    }
    c.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response(false).text(), HELLO);
    drop(s);
    assert_no_panics();
}

#[test]
fn incomplete_head_times_out_with_408() {
    let _w = common::watchdog("incomplete_head_times_out_with_408");
    let s = start(2, |c| c.header_timeout = Duration::from_millis(300));
    // Part of a head, then nothing.
    let mut partial = s.connect();
    partial.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\n");
    // Nothing at all.
    let mut silent = s.connect();
    // A slow client that keeps sending a byte at a time never completes in time either.
    let mut slow = s.connect();
    for b in "GET /hello.txt HTTP/1.1\r\nX-Slow: ".bytes() {
        slow.send_bytes(&[b]);
    }
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(60));
        if slow.reader.get_mut().write_all(b"a").is_err() {
            break;
        }
    }
    for (name, c) in [
        ("partial", &mut partial),
        ("silent", &mut silent),
        ("slow", &mut slow),
    ] {
        let r = c.response(false);
        assert_eq!(r.status, 408, "{name}");
        assert_eq!(r.header("connection"), Some("close"), "{name}");
        assert!(c.closed(), "{name}: must close");
    }
    // A keep-alive connection that goes idle after a request is closed without a 408.
    let mut idle = s.connect();
    idle.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(idle.response(false).status, 200);
    assert!(idle.closed());
    // Others are served meanwhile and after.
    assert_eq!(s.get("/hello.txt").status, 200);
    drop(s);
    assert_no_panics();
}

#[test]
fn client_leaving_mid_response_harms_no_one() {
    let _w = common::watchdog("client_leaving_mid_response_harms_no_one");
    let s = start(2, |_| {});
    for round in 0..10 {
        let path = if round % 2 == 0 {
            "/streamed_big.bin"
        } else {
            "/cached_big.bin"
        };
        let mut c = s.connect();
        c.send(&format!(
            "GET {path} HTTP/1.1\r\nHost: t\r\n\r\nGET {path} HTTP/1.1\r\nHost: t\r\n\r\n"
        ));
        let mut some = [0u8; 1000];
        c.reader.read_exact(&mut some).unwrap();
        if round % 3 == 0 {
            // Leave with a reset rather than a FIN.
            let sock = socket_with_linger_zero(c.reader.into_inner());
            drop(sock);
        } else {
            drop(c);
        }
    }
    // Everyone else is still served, big files included.
    for _ in 0..3 {
        assert_eq!(s.get("/hello.txt").text(), HELLO);
        assert_eq!(s.get("/streamed_big.bin").body.len(), STREAMED_BIG);
        assert_eq!(s.get("/cached_big.bin").body.len(), CACHED_BIG);
    }
    drop(s);
    assert_no_panics();
}

/// Sets `SO_LINGER` to zero, so closing the socket sends a reset.
fn socket_with_linger_zero(stream: TcpStream) -> TcpStream {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a `linger` of the right size.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    stream
}

#[test]
fn a_thousand_keep_alive_connections_all_answered() {
    let _w = common::watchdog("a_thousand_keep_alive_connections_all_answered");
    // Both ends of 1,000 connections live in this process: make sure it may open them.
    let limit = common::raise_fd_limit(4096);
    assert!(
        limit >= 2100,
        "this test needs 2,100 open files; the hard limit allows {limit}"
    );
    let s = start(2, |_| {});
    let mut clients: Vec<Client> = (0..1000).map(|_| s.connect()).collect();
    for round in 0..2 {
        for (i, c) in clients.iter_mut().enumerate() {
            let path = if i % 2 == 0 {
                "/hello.txt"
            } else {
                "/data.json"
            };
            c.send(&format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let r = c.response(false);
            assert_eq!(r.status, 200, "connection {i}, round {round}");
            let want = if i % 2 == 0 { HELLO } else { "{\"a\": 1}\n" };
            assert_eq!(r.text(), want);
        }
    }
    drop(clients);
    drop(s);
    assert_no_panics();
}

#[test]
fn ncopy_servers_share_a_port() {
    let _w = common::watchdog("ncopy_servers_share_a_port");
    count_panics();
    let files = Site0::new();
    let (tx, rx) = mpsc::channel();
    let mut runtimes = Vec::new();
    let mut addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    for _ in 0..2 {
        let rt = common::runtime(1);
        let site = Site::new(Config {
            root: files.root(),
            ..Config::default()
        })
        .unwrap();
        let listener = rt.block_on(async { server::listen(addr, true) }).unwrap();
        addr = listener.local_addr().unwrap();
        let tx = tx.clone();
        rt.handle().spawn(async move {
            let _ = tx.send(());
            server::serve(listener, site).await
        });
        runtimes.push(rt);
    }
    rx.recv().unwrap();
    rx.recv().unwrap();
    for _ in 0..20 {
        let mut c = Client::connect(addr);
        c.send("GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(c.response(false).text(), HELLO);
    }
    drop(runtimes);
    assert_no_panics();
}

#[test]
fn cache_respects_its_budget_and_sees_changes() {
    let _w = common::watchdog("cache_respects_its_budget_and_sees_changes");
    // 64 KiB in 2 shards, re-read at once.
    let s = start(2, |c| {
        c.cache_bytes = 64 * 1024;
        c.shards = 2;
        c.revalidate = Duration::ZERO;
    });
    let root = s.files.root();
    for i in 0..40 {
        std::fs::write(root.join(format!("f{i}.txt")), vec![b'x'; 4000 + i]).unwrap();
    }
    for round in 0..2 {
        for i in 0..40 {
            let r = s.get(&format!("/f{i}.txt"));
            assert_eq!(r.body.len(), 4000 + i, "round {round}");
        }
    }
    let site = s.site.clone();
    let (entries, bytes) = s.rt.block_on(async move {
        hue::spawn_colored(Color::fresh(), async move { site.cache().usage().await })
            .await
            .unwrap()
    });
    assert!(
        entries > 0 && bytes <= 64 * 1024,
        "{entries} entries, {bytes} bytes"
    );
    // A changed file is seen (revalidation age 0).
    std::fs::write(root.join("hello.txt"), "changed\n").unwrap();
    assert_eq!(s.get("/hello.txt").text(), "changed\n");
    drop(s);
    assert_no_panics();
}

#[test]
fn long_polls_are_reported_at_most_once_a_second() {
    let _w = common::watchdog("long_polls_are_reported_at_most_once_a_second");
    let rt = Runtime::builder()
        .workers(2)
        .long_poll_threshold(Duration::from_millis(5))
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    rt.handle().spawn_colored(
        Color::fresh(),
        server::watch_long_polls(Duration::from_millis(5), move |m| {
            let _ = tx.send(m);
        }),
    );
    // A task that blocks its worker, on purpose, three times.
    rt.handle().spawn_colored(Color::fresh(), async {
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(30));
            hue::yield_now().await;
        }
    });
    let msg = rx.recv_timeout(Duration::from_secs(10)).expect("a warning");
    assert!(msg.contains("took longer than 5ms"), "{msg}");
    drop(rt);
}

#[test]
fn paths_dates_types_and_lru() {
    let norm = |t: &str| {
        let mut out = Vec::new();
        http::normalize_path(t.as_bytes(), &mut out).map(|()| String::from_utf8(out).unwrap())
    };
    assert_eq!(norm("/a/b"), Ok("/a/b".into()));
    assert_eq!(norm("//a/./b//"), Ok("/a/b/".into()));
    assert_eq!(norm("/a%20b?x"), Ok("/a b".into()));
    assert_eq!(norm("/a%2fb"), Ok("/a/b".into()));
    assert_eq!(norm("http://h:80/x?y"), Ok("/x".into()));
    assert_eq!(norm("HTTP://h"), Ok("/".into()));
    assert_eq!(norm("/a/../b"), Err(http::PathError::Forbidden));
    assert_eq!(norm("/%2e%2E/b"), Err(http::PathError::Forbidden));
    assert_eq!(norm("a/b"), Err(http::PathError::BadRequest));
    assert_eq!(norm("/%4"), Err(http::PathError::BadRequest));
    assert_eq!(norm("/%00"), Err(http::PathError::BadRequest));
    assert_eq!(norm("*"), Err(http::PathError::BadRequest));

    assert_eq!(
        &http::http_date(784_111_777),
        b"Sun, 06 Nov 1994 08:49:37 GMT"
    );
    for form in [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ] {
        assert_eq!(
            http::parse_http_date(form.as_bytes()),
            Some(784_111_777),
            "{form}"
        );
    }
    for secs in [0, 951_782_400, 1_709_164_800, 4_102_444_800] {
        assert_eq!(http::parse_http_date(&http::http_date(secs)), Some(secs));
    }
    assert_eq!(
        http::parse_http_date(b"Sun, 06 Nov 1994 25:49:37 GMT"),
        None
    );
    assert_eq!(http::content_type(b"/x/y.HTML"), "text/html; charset=utf-8");
    assert_eq!(http::content_type(b"/x.y/z"), "application/octet-stream");

    let mut lru = lru::Lru::new(100);
    assert!(lru.insert(b"a", 1, 40));
    assert!(lru.insert(b"b", 2, 40));
    assert_eq!(lru.get(b"a"), Some(&1)); // a is now the most recent
    assert!(lru.insert(b"c", 3, 40)); // evicts b
    assert_eq!(lru.get(b"b"), None);
    assert_eq!(lru.get(b"a"), Some(&1));
    assert_eq!(lru.get(b"c"), Some(&3));
    assert!(!lru.insert(b"huge", 4, 101));
    assert_eq!(lru.used(), 80);
    assert!(lru.insert(b"a", 5, 10)); // replace
    assert_eq!((lru.len(), lru.used()), (2, 50));
    assert!(Path::new("/").is_absolute());
}
