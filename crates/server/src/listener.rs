//! The TCP listener with a bound on concurrent connections, overall and per client address.
//!
//! [`BoundedListener`] takes a permit from a semaphore *before* it accepts a connection, and the
//! permit lives in the accepted [`BoundedStream`] until the connection closes (after its TLS
//! handshake failed, its peer left, or a timeout cut it). While every permit is taken the
//! listener does not call `accept`, so further connections wait in the kernel's accept backlog
//! (the TCP handshake completes there, but nothing is read or answered) and are served in
//! order as permits come back; once the backlog is full the kernel drops new SYNs and clients
//! retry. The server's own memory and file descriptors therefore stay bounded by
//! `max_connections`, whatever the number of clients.
//!
//!
//! One address may hold at most `max_per_ip` of those connections ([`Connections`]): a
//! connection beyond that is accepted and closed at once, without a permit, so one host cannot
//! take the slots of everyone else (behind a load balancer every client has the balancer's
//! address: raise the cap to the global bound there). And a connection must send its first
//! byte within [`FIRST_BYTE_TIMEOUT`], else it is closed: a client that connects and stays
//! silent holds its slot for seconds, not for the whole header timeout.
//!
//! axum-server accepts through an [`Address`] type; [`Peer`] is ours, and converts to the
//! `SocketAddr` that `ConnectInfo` hands to the API handler.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum_server::{AddrListener, Address};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// Time for a new connection to send its first byte (of a request, or of a TLS handshake).
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(5);

/// A client's address: what [`BoundedListener`] accepts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

impl Address for Peer {
    type Stream = BoundedStream;
    type Listener = BoundedListener;
}

impl Connected<Peer> for SocketAddr {
    fn connect_info(target: Peer) -> Self {
        target.0
    }
}

/// A TCP listener that serves at most `max_connections` connections at once, and at most
/// `max_per_ip` of them from one address.
#[derive(Debug)]
pub struct BoundedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    per_ip: Arc<Connections>,
    first_byte_timeout: Duration,
}

impl BoundedListener {
    /// Bounds `inner` to `max_connections` (at least 1) open connections, `max_per_ip` (at
    /// least 1) from one address.
    pub fn new(inner: TcpListener, max_connections: usize, max_per_ip: usize) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(
                max_connections.clamp(1, Semaphore::MAX_PERMITS),
            )),
            per_ip: Arc::new(Connections::new(max_per_ip)),
            first_byte_timeout: FIRST_BYTE_TIMEOUT,
        }
    }

    /// Binds `addr` with bounds of `max_connections`, `max_per_ip` from one address.
    pub async fn bind(
        addr: SocketAddr,
        max_connections: usize,
        max_per_ip: usize,
    ) -> io::Result<Self> {
        Ok(Self::new(
            TcpListener::bind(addr).await?,
            max_connections,
            max_per_ip,
        ))
    }

    /// The same listener with another first-byte deadline (tests).
    pub fn with_first_byte_timeout(mut self, timeout: Duration) -> Self {
        self.first_byte_timeout = timeout;
        self
    }

    /// Connections that could be accepted now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

impl AddrListener<BoundedStream, Peer> for BoundedListener {
    /// Binds with the default bound (`LimitsConfig::default().max_connections`); `serve` builds
    /// its listener with [`BoundedListener::bind`] instead.
    async fn bind_to(addr: Peer) -> io::Result<Self> {
        let limits = crate::limits::LimitsConfig::default();
        Self::bind(
            addr.0,
            limits.max_connections,
            limits.max_connections_per_ip,
        )
        .await
    }

    async fn accept_stream(&self) -> io::Result<(BoundedStream, Peer)> {
        // Cancel-safe: dropping this future while it waits loses neither a permit nor a
        // connection (both waits are cancel-safe).
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(io::Error::other)?;
        loop {
            let (stream, addr) = self.inner.accept().await?;
            let Some(slot) = Connections::claim(&self.per_ip, addr.ip()) else {
                // Over this address's share: closed at once (the permit serves the next one).
                tracing::debug!(peer = %addr, "connection refused: too many from this address");
                drop(stream);
                continue;
            };
            // Small JSON answers: do not let Nagle's algorithm hold them back.
            stream.set_nodelay(true)?;
            return Ok((
                BoundedStream {
                    inner: stream,
                    first_byte: Some(Box::pin(tokio::time::sleep(self.first_byte_timeout))),
                    _slot: slot,
                    _permit: permit,
                },
                Peer(addr),
            ));
        }
    }

    fn get_local_addr(&self) -> io::Result<Peer> {
        self.inner.local_addr().map(Peer)
    }
}

/// Open connections per client address, each at most `max_per_ip`.
#[derive(Debug)]
pub struct Connections {
    max_per_ip: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl Connections {
    fn new(max_per_ip: usize) -> Self {
        Self {
            max_per_ip: max_per_ip.max(1),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// A slot for one more connection from `ip`, or `None` when it has its share.
    fn claim(this: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut open = this.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        if *n >= this.max_per_ip {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            connections: Arc::clone(this),
            ip,
        })
    }

    /// Connections open from `ip` now.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.get(&ip).copied().unwrap_or(0)
    }
}

/// One connection's share of its address's cap, given back when dropped. The map holds only
/// addresses with an open connection (its size is bounded by the global connection bound).
#[derive(Debug)]
struct IpSlot {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self
            .connections
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// An accepted connection holding one of the listener's permits (and its address's slot) until
/// it is dropped; reads fail with `TimedOut` if its first byte does not arrive in time.
pub struct BoundedStream {
    inner: TcpStream,
    /// Armed until the first byte arrives.
    first_byte: Option<Pin<Box<Sleep>>>,
    _slot: IpSlot,
    _permit: OwnedSemaphorePermit,
}

impl std::fmt::Debug for BoundedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedStream")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Some(deadline) = this.first_byte.as_mut() {
            if read.is_ready() && buf.filled().len() > before {
                this.first_byte = None;
            } else if read.is_pending() && deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no request bytes within the first-byte timeout",
                )));
            }
        }
        read
    }
}

impl AsyncWrite for BoundedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_third_connection_waits_for_a_permit() {
        let listener = BoundedListener::bind("127.0.0.1:0".parse().unwrap(), 2, 2)
            .await
            .unwrap();
        let addr = listener.get_local_addr().unwrap().0;
        let _c1 = TcpStream::connect(addr).await.unwrap();
        let _c2 = TcpStream::connect(addr).await.unwrap();
        let c3 = TcpStream::connect(addr).await.unwrap();
        let (s1, p1) = listener.accept_stream().await.unwrap();
        let (_s2, _) = listener.accept_stream().await.unwrap();
        assert_eq!(listener.available(), 0);
        let waiting =
            tokio::time::timeout(Duration::from_millis(200), listener.accept_stream()).await;
        assert!(
            waiting.is_err(),
            "no permit: the third stays in the backlog"
        );
        assert_eq!(SocketAddr::connect_info(p1), p1.0);
        drop(s1);
        let (_s3, p3) = tokio::time::timeout(Duration::from_secs(5), listener.accept_stream())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p3.0, c3.local_addr().unwrap());
    }

    /// A connection from `source` (any 127.x.y.z address reaches the loopback listener).
    async fn connect_from(source: &str, to: SocketAddr) -> TcpStream {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        socket.connect(to).await.unwrap()
    }

    #[tokio::test]
    async fn one_address_gets_its_share_and_no_more() {
        let listener = BoundedListener::bind("127.0.0.1:0".parse().unwrap(), 10, 2)
            .await
            .unwrap();
        let addr = listener.get_local_addr().unwrap().0;
        let mut greedy = Vec::new();
        for _ in 0..4 {
            greedy.push(connect_from("127.0.0.2", addr).await);
        }
        let polite = connect_from("127.0.0.3", addr).await;
        let (a, pa) = listener.accept_stream().await.unwrap();
        let (_b, _) = listener.accept_stream().await.unwrap();
        assert_eq!(pa.0.ip().to_string(), "127.0.0.2");
        // The third and fourth from 127.0.0.2 are closed unserved; the next one served is the
        // other address's, and only two permits are in use.
        let (_c, pc) = tokio::time::timeout(Duration::from_secs(5), listener.accept_stream())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pc.0, polite.local_addr().unwrap());
        assert_eq!(listener.available(), 7);
        assert_eq!(listener.per_ip.open_from(pa.0.ip()), 2);
        for mut refused in greedy.drain(2..) {
            let mut byte = [0u8; 1];
            let n = tokio::io::AsyncReadExt::read(&mut refused, &mut byte).await;
            assert!(matches!(n, Ok(0) | Err(_)), "closed by the server: {n:?}");
        }
        // A closed connection gives its slot back.
        drop(a);
        assert_eq!(listener.per_ip.open_from(pa.0.ip()), 1);
        let again = connect_from("127.0.0.2", addr).await;
        let (_d, pd) = tokio::time::timeout(Duration::from_secs(5), listener.accept_stream())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(pd.0, again.local_addr().unwrap());
    }

    #[tokio::test]
    async fn a_silent_connection_is_cut_at_the_first_byte_deadline() {
        let listener = BoundedListener::bind("127.0.0.1:0".parse().unwrap(), 4, 4)
            .await
            .unwrap()
            .with_first_byte_timeout(Duration::from_millis(200));
        let addr = listener.get_local_addr().unwrap().0;
        let _silent = TcpStream::connect(addr).await.unwrap();
        let (mut s, _) = listener.accept_stream().await.unwrap();
        let mut buf = [0u8; 8];
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncReadExt::read(&mut s, &mut buf),
        )
        .await
        .expect("the deadline fires");
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::TimedOut);

        // A client that speaks in time is not cut later, however long it then waits.
        let mut talker = TcpStream::connect(addr).await.unwrap();
        let (mut s, _) = listener.accept_stream().await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut talker, b"G")
            .await
            .unwrap();
        assert_eq!(
            tokio::io::AsyncReadExt::read(&mut s, &mut buf)
                .await
                .unwrap(),
            1
        );
        let later = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::io::AsyncReadExt::read(&mut s, &mut buf),
        )
        .await;
        assert!(later.is_err(), "still waiting for the rest: {later:?}");
    }
}
