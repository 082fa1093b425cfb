//! A TCP echo server on hue: one color per connection.
//!
//! ```sh
//! cargo run --release --example echo                  # serve on 127.0.0.1:7000
//! cargo run --release --example echo -- 0.0.0.0:9000  # another address
//! cargo run --release --example echo -- --self-test   # serve, check with clients, exit
//! ```
//!
//! Each accepted connection gets a task in a fresh color (`Color::fresh()`): connections share
//! nothing, so they run in parallel on every worker, and each one's state (its buffer) needs no
//! lock. The accept loop runs in color 0, in `block_on`. A failed `accept` is reported and the
//! loop goes on; when the process is out of file descriptors (`EMFILE`) it pauses 100 ms first,
//! since the listener stays ready and retrying at once would only spin.
//!
//! With `--self-test` (or the environment variable `HUE_ECHO_SELF_TEST` set), the server binds
//! the address (or 127.0.0.1 with any free port if none is given), then 8 clients, each in its
//! own color, send 10 messages of 1 byte to 64 KiB and check the echoes; the program prints a
//! summary and exits with status 0 (1 on any failure), so it can run unattended.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use hue::net::{TcpListener, TcpStream};
use hue::{Color, Runtime};

const DEFAULT_ADDR: &str = "127.0.0.1:7000";
const SELF_TEST_ENV: &str = "HUE_ECHO_SELF_TEST";
const CLIENTS: usize = 8;
const MESSAGES: usize = 10;

fn main() {
    let mut addr = None;
    let mut self_test = std::env::var_os(SELF_TEST_ENV).is_some();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--self-test" => self_test = true,
            "-h" | "--help" => {
                println!("usage: echo [ADDR] [--self-test]   (default ADDR: {DEFAULT_ADDR})");
                return;
            }
            other if addr.is_none() => addr = Some(other.to_string()),
            other => {
                eprintln!("echo: unexpected argument `{other}` (see --help)");
                std::process::exit(2);
            }
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

    let rt = match Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("echo: cannot start the runtime: {err}");
            std::process::exit(1);
        }
    };
    let code = rt.block_on(async {
        let listener = match TcpListener::bind(addr.as_str()).await {
            Ok(listener) => listener,
            Err(err) => {
                eprintln!("echo: cannot listen on {addr}: {err}");
                return 1;
            }
        };
        let local = listener
            .local_addr()
            .expect("a bound listener has an address");
        if self_test {
            hue::spawn(accept_loop(listener, false));
            self_test_clients(local).await
        } else {
            println!("echo: listening on {local} (Ctrl-C to stop)");
            accept_loop(listener, true).await;
            0
        }
    });
    std::process::exit(code);
}

/// Accepts connections forever, each served by a task in a fresh color.
async fn accept_loop(listener: TcpListener, verbose: bool) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                hue::spawn_colored(Color::fresh(), serve(stream, peer, verbose));
            }
            Err(err) => {
                eprintln!("echo: accept failed: {err}");
                if matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) {
                    // Out of descriptors: wait for connections to close instead of spinning.
                    hue::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Echoes one connection until the peer closes it (or an error).
async fn serve(mut stream: TcpStream, peer: SocketAddr, verbose: bool) {
    if verbose {
        println!("{peer}: connected (color {:?})", hue::current_color());
    }
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0u64;
    let result = loop {
        match stream.read(&mut buf).await {
            Ok(0) => break Ok(()),
            Ok(n) => {
                if let Err(err) = stream.write_all(&buf[..n]).await {
                    break Err(err);
                }
                total += n as u64;
            }
            Err(err) => break Err(err),
        }
    };
    if verbose {
        match result {
            Ok(()) => println!("{peer}: closed after {total} bytes"),
            Err(err) => println!("{peer}: {err} after {total} bytes"),
        }
    }
}

/// Runs the clients of `--self-test`; the exit status.
async fn self_test_clients(addr: SocketAddr) -> i32 {
    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| hue::spawn_colored(Color::fresh(), client(addr, c)))
        .collect();
    let mut bytes = 0;
    let mut failed = 0;
    for (c, handle) in clients.into_iter().enumerate() {
        match handle.await {
            Ok(Ok(n)) => bytes += n,
            Ok(Err(err)) => {
                eprintln!("echo: client {c} failed: {err}");
                failed += 1;
            }
            Err(err) => {
                eprintln!("echo: client {c} panicked: {err}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!("echo self-test: {failed} of {CLIENTS} clients FAILED");
        return 1;
    }
    println!(
        "echo self-test: {CLIENTS} clients x {MESSAGES} messages ({bytes} bytes) echoed \
         correctly by {addr} in {:?}",
        start.elapsed()
    );
    0
}

/// One client: sends messages of growing sizes and checks each echo; the bytes echoed.
async fn client(addr: SocketAddr, c: usize) -> std::io::Result<usize> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut total = 0;
    for m in 0..MESSAGES {
        let len = 1 << (m * 16 / MESSAGES); // 1 B up to 16 KiB, then 64 KiB last
        let len = if m + 1 == MESSAGES { 64 * 1024 } else { len };
        let msg: Vec<u8> = (0..len).map(|i| (i * 31 + c * 7 + m) as u8).collect();
        // Write and read at once: a large message does not fit in the socket buffers.
        let (mut rd, mut wr) = TcpStream::split(&mut stream);
        let mut back = vec![0u8; len];
        let (written, read) = futures::join!(wr.write_all(&msg), rd.read_exact(&mut back));
        written?;
        read?;
        if back != msg {
            return Err(std::io::Error::other(format!(
                "client {c}: message {m} ({len} bytes) came back different"
            )));
        }
        total += len;
    }
    Ok(total)
}
