//! Answers given below the API layer, in the API's shape.
//!
//! hyper answers a request it cannot parse (a bad request line, a NUL or non-ASCII byte in a
//! header, duplicate or negative `Content-Length`, more than [`crate::limits::MAX_HEADERS`]
//! headers, a URI or head over [`crate::limits::MAX_HEADER_BYTES`]) itself, with a bodiless
//! 400, 414 or 431 (`connection: close`, `content-length: 0`), before any handler runs. Clients
//! and SDKs expect every answer to carry `Code`, `Message` and `RequestId`, so
//! [`ApiShapedAcceptor`] wraps each connection (above TLS) in an [`ApiShaped`] stream that
//! replaces exactly those canned answers with [`crate::http::error_body`] of
//! [`ApiError::MalformedRequest`], [`ApiError::UriTooLong`] or [`ApiError::HeadersTooLarge`].
//! The API's own answers always have a body, so they never match and pass through untouched.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::ApiError;

/// An acceptor that wraps what `A` accepts in [`ApiShaped`].
#[derive(Debug, Clone)]
pub struct ApiShapedAcceptor<A>(pub A);

impl<A, I, S> Accept<I, S> for ApiShapedAcceptor<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
{
    type Stream = ApiShaped<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let accepted = self.0.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((ApiShaped::new(stream), service))
        })
    }
}

/// A connection whose canned parse-error answers are rewritten in the API's error shape.
#[derive(Debug)]
pub struct ApiShaped<S> {
    inner: S,
    /// An answer being written in place of hyper's, and how much of it is written.
    replacing: Option<(Vec<u8>, usize)>,
}

impl<S> ApiShaped<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            replacing: None,
        }
    }
}

/// The error behind hyper's canned answer `head`, if `head` is one: a whole bodiless
/// 400/414/431 head with `content-length: 0` and nothing after it.
fn canned_error(head: &[u8]) -> Option<ApiError> {
    let status = head.strip_prefix(b"HTTP/1.1 ")?.get(..3)?;
    let error = match status {
        b"400" => ApiError::MalformedRequest("the request line, a header or the framing"),
        b"414" => ApiError::UriTooLong,
        b"431" => ApiError::HeadersTooLarge,
        _ => return None,
    };
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let bodiless = head
        .windows(21)
        .any(|w| w.eq_ignore_ascii_case(b"\r\ncontent-length: 0\r\n"));
    (end == head.len() && bodiless).then_some(error)
}

/// The full HTTP answer for `e`: the API's JSON error shape, and the connection closed.
fn api_answer(e: &ApiError) -> Vec<u8> {
    let request_id = crate::http::new_request_id();
    let body = serde_json::to_vec(&crate::http::error_body(e, &request_id)).unwrap_or_default();
    let status = e.status();
    tracing::info!(
        request_id,
        status = status.as_u16(),
        code = e.code(),
        "refused below the API"
    );
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json;charset=utf-8\r\n\
         x-acs-request-id: {request_id}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

impl<S: AsyncRead + Unpin> AsyncRead for ApiShaped<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ApiShaped<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacing.is_none() {
            this.replacing = canned_error(buf).map(|e| (api_answer(&e), 0));
        }
        let Some((answer, written)) = this.replacing.as_mut() else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        while let Some(rest) = answer.get(*written..).filter(|r| !r.is_empty()) {
            let n = ready!(Pin::new(&mut this.inner).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        // All of hyper's answer is "written" (as ours).
        this.replacing = None;
        Poll::Ready(Ok(buf.len()))
    }

    /// Not vectored: hyper then hands each answer over as one buffer, so a canned head is
    /// always seen whole.
    fn is_write_vectored(&self) -> bool {
        false
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

    const CANNED_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\
        content-length: 0\r\ndate: Thu, 03 Dec 2026 13:24:31 GMT\r\n\r\n";

    #[test]
    fn only_hypers_bodiless_refusals_are_recognised() {
        assert!(matches!(
            canned_error(CANNED_400),
            Some(ApiError::MalformedRequest(_))
        ));
        let too_long =
            b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert!(matches!(canned_error(too_long), Some(ApiError::UriTooLong)));
        let too_many = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert!(matches!(
            canned_error(too_many),
            Some(ApiError::HeadersTooLarge)
        ));
        // An answer with a body (every answer of the API) is left alone.
        let api = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        assert!(canned_error(api).is_none());
        // A part of a head, another status, or a body that happens to start like a head.
        assert!(canned_error(&CANNED_400[..30]).is_none());
        assert!(canned_error(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(canned_error(b"{\"HTTP/1.1 400\"}").is_none());
    }

    #[tokio::test]
    async fn a_canned_answer_is_written_as_the_apis_error_shape() {
        let (client, server) = tokio::io::duplex(64);
        let mut shaped = ApiShaped::new(server);
        let writer = tokio::spawn(async move {
            let n = tokio::io::AsyncWriteExt::write(&mut shaped, CANNED_400)
                .await
                .unwrap();
            assert_eq!(n, CANNED_400.len(), "hyper's bytes count as written");
            tokio::io::AsyncWriteExt::shutdown(&mut shaped)
                .await
                .unwrap();
        });
        let mut out = Vec::new();
        let mut client = client;
        tokio::io::AsyncReadExt::read_to_end(&mut client, &mut out)
            .await
            .unwrap();
        writer.await.unwrap();
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("connection: close"));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["Code"], "MalformedRequest");
        assert!(
            body["Message"]
                .as_str()
                .unwrap()
                .contains("not well-formed HTTP")
        );
        assert_eq!(body["RequestId"].as_str().unwrap().len(), 36);
        assert!(head.contains(&format!("content-length: {}", body.to_string().len())));
    }
}
