//! [`UdpSocket`]: datagrams over UDP.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

use crate::io::{Direction, PollEvented};
use crate::net::addr::{each_addr, resolve, ToSocketAddrs};

/// A UDP socket, registered with the reactor.
///
/// Unconnected, it sends to any address ([`send_to`](Self::send_to)) and receives from any
/// ([`recv_from`](Self::recv_from)); after [`connect`](Self::connect) it talks to one peer
/// ([`send`](Self::send), [`recv`](Self::recv)) and drops datagrams from others. Every
/// method takes `&self`: share the socket (in an `Arc`) between a sending and a receiving
/// task, of any colors.
///
/// # Examples
///
/// ```
/// use hue_reactor::net::UdpSocket;
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    io: PollEvented<mio::net::UdpSocket>,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl UdpSocket {
    /// Binds a socket to `addr` (port 0: any free port); with several addresses, the first
    /// that binds.
    ///
    /// # Errors
    ///
    /// `AddrInUse` and other OS errors of `bind`; `InvalidInput` if `addr` is not an address;
    /// an error outside a hue runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert_ne!(socket.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let addrs = resolve(addr).await?;
        each_addr(addrs, |addr| async move {
            UdpSocket::new(mio::net::UdpSocket::bind(addr)?)
        })
        .await
    }

    fn new(sys: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: PollEvented::new(sys)?,
        })
    }

    /// Wraps a std socket, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// If the mode cannot be set or the socket cannot be registered (outside a hue runtime).
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let std_socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let socket = hue_reactor::net::UdpSocket::from_std(std_socket)?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        UdpSocket::new(mio::net::UdpSocket::from_std(socket))
    }

    /// Deregisters the socket and returns it as a std socket, still in non-blocking mode.
    ///
    /// # Errors
    ///
    /// If deregistering fails.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// let addr = socket.local_addr()?;
    /// assert_eq!(socket.into_std()?.local_addr()?, addr);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        self.io.into_inner().map(std::net::UdpSocket::from)
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(socket.local_addr()?.ip().is_loopback());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address of the connected peer.
    ///
    /// # Errors
    ///
    /// `NotConnected` before [`connect`](Self::connect).
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert_eq!(socket.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// socket.connect("127.0.0.1:9").await?;
    /// assert_eq!(socket.peer_addr()?.port(), 9);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Connects the socket to `addr`: [`send`](Self::send) goes there and only its datagrams
    /// are received. With several addresses, the first that connects.
    ///
    /// # Errors
    ///
    /// The OS error of `connect`; `InvalidInput` if `addr` is not an address.
    ///
    /// # Examples
    ///
    /// ```
    /// use hue_reactor::net::UdpSocket;
    ///
    /// let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// rt.block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     a.send(b"hi").await?;
    ///     let mut buf = [0; 2];
    ///     assert_eq!(b.recv(&mut buf).await?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let addrs = resolve(addr).await?;
        each_addr(addrs, |addr| async move { self.io.get_ref().connect(addr) }).await
    }

    /// Sends `buf` as one datagram to the connected peer; waits while the send buffer is full.
    ///
    /// # Errors
    ///
    /// `NotConnected` before [`connect`](Self::connect); `ConnectionRefused` if an earlier
    /// datagram was refused by the peer (an ICMP error); other OS errors of `send`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(b.local_addr()?).await?;
    /// assert_eq!(a.send(b"datagram").await?, 8);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls a [`send`](Self::send).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect("127.0.0.1:9").await?;
    /// std::future::poll_fn(|cx| a.poll_send(cx, b"x")).await?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |s| s.send(buf))
    }

    /// Sends without waiting; `WouldBlock` if the socket is not (known to be) writable.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect("127.0.0.1:9").await?;
    /// a.writable().await?;
    /// assert_eq!(a.try_send(b"x")?, 1);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Receives one datagram from the connected peer into `buf` (the rest of a longer
    /// datagram is dropped); waits until one arrives.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` if an earlier datagram was refused by the peer (an ICMP error);
    /// other OS errors of `recv`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// b.connect(a.local_addr()?).await?;
    /// a.send_to(b"hello", b.local_addr()?).await?;
    /// let mut buf = [0; 16];
    /// let n = b.recv(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"hello");
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Polls a [`recv`](Self::recv).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(a.local_addr()?).await?; // talk to itself
    /// a.send(b"me").await?;
    /// let mut buf = [0; 2];
    /// assert_eq!(std::future::poll_fn(|cx| a.poll_recv(cx, &mut buf)).await?, 2);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv(buf))
    }

    /// Receives without waiting; `WouldBlock` if no datagram is (known to be) waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(a.local_addr()?).await?;
    /// let mut buf = [0; 2];
    /// assert_eq!(a.try_recv(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// a.send(b"me").await?;
    /// let n = loop {
    ///     a.readable().await?;
    ///     match a.try_recv(&mut buf) {
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         n => break n?,
    ///     }
    /// };
    /// assert_eq!(n, 2);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Sends `buf` as one datagram to `target` (resolved first if it is a name: the first
    /// address is used).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `target` is not an address; OS errors of `sendto`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let port = a.local_addr()?.port();
    /// assert_eq!(a.send_to(b"note", ("127.0.0.1", port)).await?, 4);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let addrs = resolve(target).await?;
        let target = *addrs
            .first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to send to"))?;
        std::future::poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Polls a [`send_to`](Self::send_to) to an address.
    ///
    /// # Errors
    ///
    /// OS errors of `sendto`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let to = a.local_addr()?;
    /// std::future::poll_fn(|cx| a.poll_send_to(cx, b"x", to)).await?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Sends to `target` without waiting; `WouldBlock` if the socket is not (known to be)
    /// writable.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors of `sendto`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.writable().await?;
    /// assert_eq!(a.try_send_to(b"x", a.local_addr()?)?, 1);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send_to(buf, target))
    }

    /// Receives one datagram into `buf` (the rest of a longer one is dropped) and the address
    /// it came from; waits until one arrives.
    ///
    /// # Errors
    ///
    /// OS errors of `recvfrom`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"self", a.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// let (n, from) = a.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], from), (&b"self"[..], a.local_addr()?));
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls a [`recv_from`](Self::recv_from).
    ///
    /// # Errors
    ///
    /// OS errors of `recvfrom`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"x", a.local_addr()?).await?;
    /// let mut buf = [0; 1];
    /// let (n, _) = std::future::poll_fn(|cx| a.poll_recv_from(cx, &mut buf)).await?;
    /// assert_eq!(n, 1);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Receives without waiting; `WouldBlock` if no datagram is (known to be) waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or OS errors of `recvfrom`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let mut buf = [0; 1];
    /// assert_eq!(a.try_recv_from(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| s.recv_from(buf))
    }

    /// Receives a datagram without removing it from the queue: the next receive returns it
    /// again. Waits until one arrives.
    ///
    /// # Errors
    ///
    /// OS errors of `recvfrom`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"twice", a.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// let (n, _) = a.peek_from(&mut buf).await?;
    /// let (m, _) = a.recv_from(&mut buf).await?;
    /// assert_eq!((n, m), (5, 5));
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        std::future::poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |s| s.peek_from(buf))).await
    }

    /// Waits until a datagram (or an error) is waiting; then [`try_recv`](Self::try_recv) or
    /// [`try_recv_from`](Self::try_recv_from).
    ///
    /// # Errors
    ///
    /// None today; kept for errors of the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"x", a.local_addr()?).await?;
    /// a.readable().await?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        self.io.ready(Direction::Read).await.map(drop)
    }

    /// Waits until the socket can send; then [`try_send`](Self::try_send) or
    /// [`try_send_to`](Self::try_send_to).
    ///
    /// # Errors
    ///
    /// None today; kept for errors of the reactor.
    ///
    /// # Examples
    ///
    /// ```
    /// # use hue_reactor::net::UdpSocket;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.writable().await?;
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Direction::Write).await.map(drop)
    }

    /// Sets `SO_BROADCAST`: allow sending to a broadcast address.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// socket.set_broadcast(true)?;
    /// assert!(socket.broadcast()?);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(!socket.broadcast()?);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets the IP time-to-live of outgoing datagrams.
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// socket.set_ttl(7)?;
    /// assert_eq!(socket.ttl()?, 7);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing datagrams.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(socket.ttl()? > 0);
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Joins the IPv4 multicast group `multiaddr` on the interface with address `interface`
    /// (`0.0.0.0`: the system's choice).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt` (`EADDRNOTAVAIL` for a non-multicast address...).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("0.0.0.0:0").await?;
    /// let group = Ipv4Addr::new(239, 255, 0, 1);
    /// if socket.join_multicast_v4(group, Ipv4Addr::UNSPECIFIED).is_ok() {
    ///     socket.leave_multicast_v4(group, Ipv4Addr::UNSPECIFIED)?;
    /// } // (a sandbox without multicast routes may refuse)
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&multiaddr, &interface)
    }

    /// Leaves an IPv4 multicast group (see [`join_multicast_v4`](Self::join_multicast_v4)).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt` (`EADDRNOTAVAIL` if not a member).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("0.0.0.0:0").await?;
    /// // Not a member: an error, not a panic.
    /// assert!(socket.leave_multicast_v4(Ipv4Addr::new(239, 255, 0, 2), Ipv4Addr::UNSPECIFIED).is_err());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn leave_multicast_v4(&self, multiaddr: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&multiaddr, &interface)
    }

    /// Joins the IPv6 multicast group `multiaddr` on interface index `interface` (0: the
    /// system's choice).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # if std::net::UdpSocket::bind("[::]:0").is_err() { return Ok(()) } // no IPv6 here
    /// let socket = hue_reactor::net::UdpSocket::bind("[::]:0").await?;
    /// let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x1234);
    /// if socket.join_multicast_v6(group, 0).is_ok() {
    ///     socket.leave_multicast_v6(group, 0)?;
    /// }
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn join_multicast_v6(&self, multiaddr: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(&multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group (see [`join_multicast_v6`](Self::join_multicast_v6)).
    ///
    /// # Errors
    ///
    /// The OS error of `setsockopt` (if not a member, for example).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// # if std::net::UdpSocket::bind("[::]:0").is_err() { return Ok(()) } // no IPv6 here
    /// let socket = hue_reactor::net::UdpSocket::bind("[::]:0").await?;
    /// let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x1235);
    /// assert!(socket.leave_multicast_v6(group, 0).is_err()); // not a member
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn leave_multicast_v6(&self, multiaddr: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(&multiaddr, interface)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// If the option cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = hue_executor::Runtime::builder().workers(2).build()?;
    /// # rt.block_on(async {
    /// let socket = hue_reactor::net::UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(socket.take_error()?.is_none());
    /// # Ok::<(), std::io::Error>(()) })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl AsFd for UdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl TryFrom<std::net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    /// [`UdpSocket::from_std`].
    fn try_from(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(socket)
    }
}
