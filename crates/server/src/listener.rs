//! The TCP listener with a bound on concurrent connections.
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
//! axum-server accepts through an [`Address`] type; [`Peer`] is ours, and converts to the
//! `SocketAddr` that `ConnectInfo` hands to the API handler.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum_server::{AddrListener, Address};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// A TCP listener that serves at most `max_connections` connections at once.
#[derive(Debug)]
pub struct BoundedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
}

impl BoundedListener {
    /// Bounds `inner` to `max_connections` (at least 1) open connections.
    pub fn new(inner: TcpListener, max_connections: usize) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(
                max_connections.clamp(1, Semaphore::MAX_PERMITS),
            )),
        }
    }

    /// Binds `addr` with a bound of `max_connections`.
    pub async fn bind(addr: SocketAddr, max_connections: usize) -> io::Result<Self> {
        Ok(Self::new(TcpListener::bind(addr).await?, max_connections))
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
        Self::bind(
            addr.0,
            crate::limits::LimitsConfig::default().max_connections,
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
        let (stream, addr) = self.inner.accept().await?;
        // Small JSON answers: do not let Nagle's algorithm hold them back.
        stream.set_nodelay(true)?;
        Ok((
            BoundedStream {
                inner: stream,
                _permit: permit,
            },
            Peer(addr),
        ))
    }

    fn get_local_addr(&self) -> io::Result<Peer> {
        self.inner.local_addr().map(Peer)
    }
}

/// An accepted connection holding one of the listener's permits until it is dropped.
#[derive(Debug)]
pub struct BoundedStream {
    inner: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for BoundedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
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
        let listener = BoundedListener::bind("127.0.0.1:0".parse().unwrap(), 2)
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
}
