//! The raw form of a request that the `request` and `sig` targets read, close to HTTP/1.1 so
//! that seeds are real requests written down:
//!
//! ```text
//! POST /?Action=Encrypt&KeyId=... HTTP/1.1     (the version is optional)
//! host: 127.0.0.1:8443
//! content-type: application/x-www-form-urlencoded
//!
//! Plaintext=aGVsbG8%3D
//! ```
//!
//! Lines end in `\n` (a `\r` before it is dropped); the first empty line ends the headers and
//! everything after it is the body. Headers go through `axum::http` and the server's own filter
//! (`http::request_headers`), as they do in the server.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use keywarden_server::error::ApiError;
use keywarden_server::request::ApiRequest;

/// A request as the server's HTTP layer hands it to the request path.
pub struct Wire<'a> {
    /// `GET` or `POST` (the server refuses anything else before parsing).
    pub method: &'a str,
    /// The query string of the request target.
    pub query: Option<String>,
    /// The headers the request path reads (`http::request_headers`).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: &'a [u8],
}

impl<'a> Wire<'a> {
    /// Splits `data`; `None` when hyper would not have delivered it (bad request line, header
    /// name or value) or the method is neither GET nor POST.
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (head, body) = split_head(data);
        let head = std::str::from_utf8(head).ok()?;
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let mut start = lines.next()?.split(' ');
        let method = start.next()?;
        if method != "GET" && method != "POST" {
            return None;
        }
        let uri: Uri = start.next()?.parse().ok()?;
        let mut map = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':')?;
            let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
            let value = HeaderValue::from_str(value.trim_matches([' ', '\t'])).ok()?;
            map.append(name, value);
        }
        Some(Self {
            method,
            query: uri.query().map(str::to_owned),
            headers: keywarden_server::http::request_headers(&map),
            body,
        })
    }

    /// `data` as a request and its `ApiRequest::parse`, when both succeed.
    pub fn request(data: &'a [u8]) -> Option<(Self, ApiRequest)> {
        let wire = Self::parse(data)?;
        let req = wire.api_request().ok()?;
        Some((wire, req))
    }

    /// `ApiRequest::parse` of this request, as the server calls it.
    pub fn api_request(&self) -> Result<ApiRequest, ApiError> {
        ApiRequest::parse(
            self.method,
            self.query.as_deref(),
            self.headers.clone(),
            self.body,
            None,
        )
    }
}

/// `FUZZ_DEBUG=1`: targets print what each input parsed to (to check that the seeds reach the
/// code they are meant for).
pub static DEBUG: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("FUZZ_DEBUG").is_some());

/// The head (up to the first empty line) and the body.
fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    let mut at = 0;
    while let Some(nl) = data[at..].iter().position(|&b| b == b'\n') {
        let next = at + nl + 1;
        let rest = &data[next..];
        let blank = if rest.starts_with(b"\n") {
            Some(1)
        } else if rest.starts_with(b"\r\n") {
            Some(2)
        } else {
            None
        };
        if let Some(len) = blank {
            return (&data[..at + nl], &data[next + len..]);
        }
        at = next;
    }
    (data, &[])
}
