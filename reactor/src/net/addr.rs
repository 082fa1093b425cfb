//! Socket addresses: the [`ToSocketAddrs`] parameter type and name resolution.
//!
//! IP literals are parsed with no system call. A host name is resolved by the system resolver
//! (`getaddrinfo`, through std's `ToSocketAddrs`) on the runtime's blocking pool, since it may
//! block for seconds. Input that cannot be an address is rejected before any lookup with an
//! `InvalidInput` error quoting it: no port, a port out of range, an empty host, a host with
//! characters no host name has.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Something that names one or more socket addresses: what `bind`, `connect` and `send_to`
/// take.
///
/// Implemented for [`SocketAddr`] (and its V4/V6 forms), `(IpAddr, u16)` (and the V4/V6 forms),
/// `(&str, u16)`, `(String, u16)`, `&str` and `String` in the form `"host:port"`, slices and
/// vectors of `SocketAddr`, and references to all of these. Sealed: it cannot be implemented
/// outside this crate.
///
/// A host name is resolved on the blocking pool (see the [module docs](super#addresses)).
///
/// # Examples
///
/// ```
/// use std::net::{Ipv4Addr, SocketAddr};
/// use hue_reactor::net::TcpListener;
///
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let a = TcpListener::bind("127.0.0.1:0").await?;
///     let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
///     let c = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
///     let d = TcpListener::bind(("localhost", 0)).await?; // resolved on the blocking pool
///     let bad = TcpListener::bind("127.0.0.1").await.unwrap_err(); // no port
///     assert_eq!(bad.kind(), std::io::ErrorKind::InvalidInput);
///     # drop((a, b, c, d));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(crate) mod sealed {
    use super::Resolve;

    /// The hidden half of [`ToSocketAddrs`](super::ToSocketAddrs).
    #[doc(hidden)]
    pub trait ToSocketAddrsPriv {
        /// The addresses, or what to look up.
        fn to_resolve(&self) -> Resolve;
    }
}

/// What an address parameter turned into: addresses (or an error), or a name to look up.
#[doc(hidden)]
#[derive(Debug)]
pub enum Resolve {
    /// Parsed with no lookup.
    Done(io::Result<Vec<SocketAddr>>),
    /// A host name and port for the system resolver.
    Lookup(String, u16),
}

/// Resolves `addr` (on the blocking pool if it is a host name).
pub(crate) async fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    let resolve = addr.to_resolve();
    drop(addr);
    match resolve {
        Resolve::Done(result) => result,
        Resolve::Lookup(host, port) => lookup(host, port).await,
    }
}

/// Resolves `addr` to the socket addresses it names.
///
/// IP literals are returned as they are; a host name is looked up with the system resolver
/// on the blocking pool (see the [module docs](super#addresses)).
///
/// # Errors
///
/// `InvalidInput` for input that is not an address; the resolver's error (with the name in
/// its message) if the lookup fails; an error outside a hue runtime when a lookup is needed.
///
/// # Examples
///
/// ```
/// let rt = hue_executor::Runtime::builder().workers(2).build()?;
/// rt.block_on(async {
///     let addrs: Vec<_> = hue_reactor::net::lookup_host("localhost:80").await?.collect();
///     assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
///     let literal: Vec<_> = hue_reactor::net::lookup_host(("::1", 443)).await?.collect();
///     assert_eq!(literal, ["[::1]:443".parse().unwrap()]);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn lookup_host<A: ToSocketAddrs>(
    addr: A,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    Ok(resolve(addr).await?.into_iter())
}

/// Calls `op` on each address in turn until one succeeds; the last error otherwise.
pub(crate) async fn each_addr<T, F, Fut>(addrs: Vec<SocketAddr>, mut op: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for addr in addrs {
        match op(addr).await {
            Ok(t) => return Ok(t),
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or_else(|| invalid("no socket address given (an empty list)".into())))
}

async fn lookup(host: String, port: u16) -> io::Result<Vec<SocketAddr>> {
    let handle = hue_executor::Handle::try_current().ok_or_else(|| {
        io::Error::other(format!(
            "hue: cannot resolve `{host}` outside a hue runtime (the lookup runs on its \
             blocking pool)"
        ))
    })?;
    let name = host.clone();
    let result = handle
        .spawn_blocking(move || {
            std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                .map(Iterator::collect::<Vec<_>>)
        })
        .await;
    match result {
        Ok(Ok(addrs)) if addrs.is_empty() => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{name}` resolved to no address"),
        )),
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(err)) => Err(io::Error::new(
            err.kind(),
            format!("failed to resolve `{name}`: {err}"),
        )),
        Err(err) => Err(io::Error::other(format!(
            "failed to resolve `{name}`: the lookup did not finish: {err}"
        ))),
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn done(addr: impl Into<SocketAddr>) -> Resolve {
    Resolve::Done(Ok(vec![addr.into()]))
}

/// A host name as the resolver would accept it: labels of letters, digits, `-`, `_`, `.`.
fn is_host_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// `host` and `port` (from a tuple or from `"host:port"`, quoted in errors as `input`).
fn host_port(host: &str, port: u16, input: &dyn fmt::Display) -> Resolve {
    if host.is_empty() {
        return Resolve::Done(Err(invalid(format!(
            "invalid socket address {input}: the host is empty"
        ))));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return done((ip, port));
    }
    if !is_host_name(host) {
        return Resolve::Done(Err(invalid(format!(
            "invalid socket address {input}: `{host}` is neither an IP address nor a host name"
        ))));
    }
    Resolve::Lookup(host.to_owned(), port)
}

fn parse_str(s: &str) -> Resolve {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return done(addr);
    }
    let quoted = format_args!("`{s}`").to_string();
    let Some((host, port)) = s.rsplit_once(':') else {
        return Resolve::Done(Err(invalid(format!(
            "invalid socket address {quoted}: expected `host:port`, `ip:port` or `[ipv6]:port`"
        ))));
    };
    let Ok(port) = port.parse::<u16>() else {
        return Resolve::Done(Err(invalid(format!(
            "invalid socket address {quoted}: the port `{port}` is not a number in 0-65535"
        ))));
    };
    host_port(host, port, &quoted)
}

macro_rules! direct {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}
        impl sealed::ToSocketAddrsPriv for $ty {
            fn to_resolve(&self) -> Resolve {
                done(*self)
            }
        }
    )*};
}

direct!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for str {}
impl sealed::ToSocketAddrsPriv for str {
    fn to_resolve(&self) -> Resolve {
        parse_str(self)
    }
}

impl ToSocketAddrs for String {}
impl sealed::ToSocketAddrsPriv for String {
    fn to_resolve(&self) -> Resolve {
        parse_str(self)
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::ToSocketAddrsPriv for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        host_port(self.0, self.1, &format_args!("{self:?}"))
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::ToSocketAddrsPriv for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        host_port(&self.0, self.1, &format_args!("{self:?}"))
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl sealed::ToSocketAddrsPriv for [SocketAddr] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Done(Ok(self.to_vec()))
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl sealed::ToSocketAddrsPriv for Vec<SocketAddr> {
    fn to_resolve(&self) -> Resolve {
        Resolve::Done(Ok(self.clone()))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::ToSocketAddrsPriv for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::ToSocketAddrsPriv;
    use super::*;

    fn err(r: Resolve) -> io::Error {
        match r {
            Resolve::Done(Err(e)) => e,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn literals_need_no_lookup() {
        let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        for (input, want) in [("127.0.0.1:80", v4), ("[::1]:80", v6)] {
            match input.to_resolve() {
                Resolve::Done(Ok(addrs)) => assert_eq!(addrs, [want]),
                other => panic!("{input}: {other:?}"),
            }
        }
        match ("::1", 80).to_resolve() {
            Resolve::Done(Ok(addrs)) => assert_eq!(addrs, [v6]),
            other => panic!("{other:?}"),
        }
        match "localhost:80".to_resolve() {
            Resolve::Lookup(host, 80) => assert_eq!(host, "localhost"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_input_is_invalid_input_naming_it() {
        for (r, needle) in [
            ("not an address".to_resolve(), "`not an address`"),
            ("localhost:99999".to_resolve(), "`99999`"),
            (":80".to_resolve(), "host is empty"),
            (("", 80).to_resolve(), "(\"\", 80)"),
            (("no such host", 80).to_resolve(), "`no such host`"),
            ("127.0.0.1".to_resolve(), "`127.0.0.1`"),
        ] {
            let e = err(r);
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
            assert!(
                e.to_string().contains(needle),
                "{e:?} should contain {needle}"
            );
        }
    }
}
