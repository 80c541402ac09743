//! A trivial responder on the server's own HTTP/TLS stack, for `keywarden bench hello`: the
//! same [`BoundedListener`], the same hyper settings (HTTP/1.1 only, header size, count and
//! timeouts from [`LimitsConfig`]), the same rustls configuration ([`tls_config::server_config`])
//! and certificate generation ([`tls::ensure`]) as `serve`, but every request on `/` is answered
//! with the fixed [`BODY`] without parsing or verifying anything. What `bench kms` measures
//! against it is the cost of the stack alone; against `serve`, the stack plus the KMS.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum_server::Handle;
use axum_server::accept::DefaultAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};

use crate::listener::{BoundedListener, Peer};
use crate::tls_config::TlsFiles;
use crate::wire::ApiShapedAcceptor;
use crate::{LimitsConfig, ServeError, tls, tls_config};

/// The answer: a GenerateDataKey answer's fields and sizes (a 108-byte blob, a 32-byte key).
pub const BODY: &str = concat!(
    r#"{"CiphertextBlob":"#,
    r#""MDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAxAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","#,
    r#""KeyId":"00000000-0000-4000-8000-000000000000","#,
    r#""KeyVersionId":"00000000-0000-4000-8000-000000000001","#,
    r#""Plaintext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","#,
    r#""RequestId":"00000000-0000-4000-8000-000000000002"}"#
);

/// The `x-acs-request-id` of every answer.
pub const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000002";

/// What to serve.
#[derive(Debug, Clone)]
pub struct HelloConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The certificate and key to serve HTTPS with; plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
    /// Connection bound and timeouts (the rate limit does not apply: nothing is authenticated).
    pub limits: LimitsConfig,
}

/// Ensures a CA and a server certificate for localhost, 127.0.0.1 and ::1 under `dir/tls/`
/// (created, or reused when present, exactly as a data dir's); returns their paths (the CA is
/// `ca_cert`) and the files to serve.
pub fn ensure_tls(dir: &Path) -> Result<(tls::TlsPaths, TlsFiles), tls::TlsError> {
    let paths = tls::ensure(dir, &[])?;
    let files = TlsFiles {
        cert: paths.cert.clone(),
        key: paths.key.clone(),
        client_ca: None,
    };
    Ok((paths, files))
}

/// The router: `/` (any method) answers [`BODY`]; anything else 404 with no body.
pub fn router() -> Router {
    Router::new()
        .route("/", any(hello))
        .fallback(|| async { StatusCode::NOT_FOUND })
}

async fn hello(body: Body) -> Response {
    // Read the body as the API does (so the connection stays usable), and ignore it.
    let _ = axum::body::to_bytes(body, crate::http::MAX_BODY_BYTES).await;
    let mut resp = (StatusCode::OK, BODY).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    h.insert("x-acs-request-id", HeaderValue::from_static(REQUEST_ID));
    resp
}

/// Serves until `shutdown` completes, then drains connections for up to 1 s. `on_listening`
/// is called with the bound address once connections are accepted.
pub async fn serve_until(
    config: HelloConfig,
    on_listening: impl FnOnce(SocketAddr) + Send + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let limits = config.limits;
    let listener = BoundedListener::bind(
        config.listen,
        limits.max_connections,
        limits.max_connections_per_ip,
    )
    .await?;
    let handle: Handle<Peer> = Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(1)));
    });
    let watcher = handle.clone();
    tokio::spawn(async move {
        if let Some(addr) = watcher.listening().await {
            on_listening(addr.0);
        }
    });
    let app = router().into_make_service_with_connect_info::<SocketAddr>();
    let server = crate::http_server(listener, handle, &limits);
    match &config.tls {
        Some(files) => {
            let rustls = RustlsConfig::from_config(Arc::new(tls_config::server_config(files)?));
            let acceptor =
                RustlsAcceptor::new(rustls).handshake_timeout(limits.tls_handshake_timeout);
            server
                .acceptor(ApiShapedAcceptor(acceptor))
                .serve(app)
                .await?;
        }
        None => {
            server
                .acceptor(ApiShapedAcceptor(DefaultAcceptor))
                .serve(app)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_a_generate_data_key_answer() {
        let v: serde_json::Value = serde_json::from_str(BODY).unwrap();
        assert_eq!(v["RequestId"], REQUEST_ID);
        for (field, len) in [("CiphertextBlob", 144), ("Plaintext", 44), ("KeyId", 36)] {
            assert_eq!(v[field].as_str().unwrap().len(), len, "{field}");
        }
    }
}
