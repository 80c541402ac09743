//! The HTTP layer: `POST /` and `GET /` carry the API, `GET /health` answers once the server is
//! ready. Each API call runs parse → authenticate → route → operation, and answers JSON with a
//! `RequestId` (also in `x-acs-request-id`), or the error shape with the variant's status.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::{self, KMS_VERSION};
use crate::request::ApiRequest;

/// Largest request body accepted (the API carries parameters in the query; bodies are small).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The router over shared state.
pub fn router(kms: Arc<Kms>) -> Router {
    Router::new()
        .route("/", get(api).post(api))
        .route("/health", get(health))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(kms)
}

async fn health() -> Response {
    json_response(StatusCode::OK, &json!({ "Status": "ok" }), None)
}

async fn not_found(method: Method) -> Response {
    let err = if method == Method::GET || method == Method::POST {
        ApiError::ActionNotFound
    } else {
        ApiError::UnsupportedMethod
    };
    error_response(&err, &new_request_id())
}

async fn api(
    State(kms): State<Arc<Kms>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let request_id = new_request_id();
    let headers = lower_headers(&headers);
    let outcome = handle(&kms, method.as_str(), uri.query(), headers, &body, peer).await;
    let (status, action, caller) = match &outcome {
        Ok((action, caller, _)) => (
            StatusCode::OK,
            action.clone(),
            Some(caller.access_key_id.clone()),
        ),
        Err((action, e)) => (e.status(), action.clone(), None),
    };
    if let Err((_, ApiError::Internal(detail))) = &outcome {
        tracing::error!(request_id, action, error = %detail, "internal failure");
    }
    tracing::info!(
        request_id, action, status = status.as_u16(), access_key = caller.as_deref().unwrap_or("-"),
        peer = %peer, micros = started.elapsed().as_micros() as u64, "api"
    );
    match outcome {
        Ok((_, _, mut body)) => {
            body.insert("RequestId".into(), Value::String(request_id.clone()));
            json_response(StatusCode::OK, &Value::Object(body), Some(&request_id))
        }
        Err((_, e)) => error_response(&e, &request_id),
    }
}

type Outcome = Result<(String, Caller, ops::Body), (String, ApiError)>;

async fn handle(
    kms: &Kms,
    method: &str,
    query: Option<&str>,
    headers: Vec<(String, String)>,
    body: &[u8],
    peer: SocketAddr,
) -> Outcome {
    let req = ApiRequest::parse(method, query, headers, body, Some(peer))
        .map_err(|e| (String::from("-"), e))?;
    let action = req.action().unwrap_or("-").to_owned();
    let fail = |e| (action.clone(), e);
    let caller = auth::authenticate(kms, &req).await.map_err(fail)?;
    if req.version() != Some(KMS_VERSION) {
        return Err(fail(ApiError::InvalidVersion));
    }
    let result = ops::dispatch(kms, &caller, &action, &req)
        .await
        .map_err(fail)?;
    Ok((action, caller, result))
}

fn lower_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(n, v)| {
            v.to_str()
                .ok()
                .map(|v| (n.as_str().to_ascii_lowercase(), v.to_owned()))
        })
        .collect()
}

/// A new request id (upper-case UUID, like the service's).
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

fn error_response(e: &ApiError, request_id: &str) -> Response {
    let code = e.code();
    let body = json!({
        "RequestId": request_id,
        "HostId": "keywarden",
        "Code": code,
        "Message": e.to_string(),
        "Recommend": format!("See the keywarden README, error {code}; request {request_id}"),
    });
    let mut resp = json_response(e.status(), &body, Some(request_id));
    if matches!(e, ApiError::Throttling) {
        resp.headers_mut()
            .insert("x-acs-retry-after", HeaderValue::from_static("1000"));
    }
    resp
}

fn json_response(status: StatusCode, body: &Value, request_id: Option<&str>) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        h.insert("x-acs-request-id", id);
    }
    resp
}
