//! The HTTP layer: `POST /` and `GET /` carry the API, `GET /health` answers once the server is
//! ready. Each API call runs parse → authenticate → route → operation, and answers JSON with a
//! `RequestId` (also in `x-acs-request-id`), or the error shape with the variant's status.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};

use crate::action::AuditFacts;
use crate::action::{Origin, Product, Reply};
use crate::auth;
use crate::error::ApiError;
use crate::exchange::Exchange;
use crate::guards::{AppState, Guards};
use crate::kms::Kms;
use crate::request::ApiRequest;

/// Largest request body accepted (the API carries parameters in the query; bodies are small).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How much of an oversized body is read and discarded before answering.
const DRAIN_BYTES: usize = 1 << 20;

/// The router over shared state, without the serve-time guards (no audit trail, no rate
/// limit): for tests and embedding. `serve` uses [`guarded_router`].
pub fn router(kms: Arc<Kms>) -> Router {
    guarded_router(AppState {
        kms,
        guards: Guards::none(),
    })
}

/// The router with its guards: every API call audited, rate-limited per access key, its body
/// read within the body timeout.
pub fn guarded_router(state: AppState) -> Router {
    Router::new()
        .route("/", any(api))
        .route("/health", get(health))
        .fallback(not_found)
        .with_state(Arc::new(state))
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
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    // The call runs to its end even if the client disconnects (which drops this future) or the
    // shutdown drain cuts the connection: a call that ran is audited. It runs here, on the
    // connection's task (no task hop per call); if this future is dropped first, the rest of
    // the call is handed to a task of its own (`RunsToEnd`).
    RunsToEnd(Some(Box::pin(answer(app, peer, req)))).await
}

/// A call's future that is never cancelled: polled in place, and spawned to finish on its own
/// if dropped before it completes. A panic in the call (a bug) answers 500 and is logged; the
/// connection and the server carry on.
struct RunsToEnd<F: Future<Output = Response> + Send + 'static>(Option<std::pin::Pin<Box<F>>>);

impl<F: Future<Output = Response> + Send + 'static> Future for RunsToEnd<F> {
    type Output = Response;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Response> {
        let Some(call) = self.0.as_mut() else {
            // Polled after completion: a bug in the caller; answer rather than panic.
            return std::task::Poll::Ready(error_response(
                &ApiError::internal(std::io::Error::other("call polled after completion")),
                &new_request_id(),
            ));
        };
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call.as_mut().poll(cx)));
        let out = polled.unwrap_or_else(|_| {
            // A bug: the call is abandoned (no record), the client gets a 500, the log says so.
            let request_id = new_request_id();
            tracing::error!(request_id, "API call panicked");
            std::task::Poll::Ready(error_response(
                &ApiError::internal(std::io::Error::other("the call panicked")),
                &request_id,
            ))
        });
        if out.is_ready() {
            self.0 = None;
        }
        out
    }
}

impl<F: Future<Output = Response> + Send + 'static> Drop for RunsToEnd<F> {
    fn drop(&mut self) {
        if let Some(call) = self.0.take() {
            // The answer has no one to go to; the call's effect and audit record still happen.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(call);
            }
        }
    }
}

async fn answer(app: Arc<AppState>, peer: SocketAddr, req: Request) -> Response {
    let AppState { kms, guards } = &*app;
    let _in_flight = guards.track();
    let started = Instant::now();
    let received_ms = crate::audit::now_ms();
    let mut ex = Exchange::new(new_request_id(), peer);
    // Room for the record first: a call runs only when its record can be queued, so nothing
    // happens unaudited (503 while the trail cannot be written; such a call has no effect and
    // no record).
    match guards.reserve_audit().await {
        Ok(slot) => {
            ex.result = run(kms, guards, &mut ex, req).await;
            if let Some(slot) = slot {
                let record = crate::audit::record_of(&ex, received_ms);
                if ex.caller.is_some() {
                    slot.record(record);
                } else {
                    // Did not authenticate, changed nothing: counted per source and outcome.
                    slot.aggregate(record);
                }
            }
        }
        Err(e) => ex.result = Err(e),
    }
    log(&ex, started);
    match ex.result {
        Ok(Reply { mut body, .. }) => {
            body.insert("RequestId".into(), Value::String(ex.request_id.clone()));
            json_response(StatusCode::OK, &Value::Object(body), Some(&ex.request_id))
        }
        Err(e) => error_response(&e, &ex.request_id),
    }
}

/// Reads the body and handles the call.
async fn run(
    kms: &Kms,
    guards: &Guards,
    ex: &mut Exchange,
    req: Request,
) -> Result<Reply, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts.method, &parts.headers, body, guards.body_timeout()).await?;
    handle(
        kms,
        guards,
        ex,
        parts.method.as_str(),
        parts.uri.query(),
        request_headers(&parts.headers),
        &bytes,
    )
    .await
}

/// Checks the method and reads the body, refusing more than [`MAX_BODY_BYTES`] or a body that
/// takes longer than `timeout` to arrive.
async fn read_body(
    method: &Method,
    headers: &HeaderMap,
    body: Body,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    if method != Method::GET && method != Method::POST {
        return Err(ApiError::UnsupportedMethod);
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = declared.is_some_and(|n| n > MAX_BODY_BYTES as u64);
    let limit = if too_large {
        DRAIN_BYTES
    } else {
        MAX_BODY_BYTES
    };
    if body.is_end_stream() {
        // Nothing to read (the SDKs send RPC parameters in the query): no timer to arm.
        return Ok(Bytes::new());
    }
    let Ok(read) = tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await else {
        return Err(ApiError::RequestTimeout);
    };
    match read {
        Ok(bytes) if !too_large => Ok(bytes),
        // Read (and drop) a moderately oversized body so the client sees the answer instead of a
        // reset; beyond DRAIN_BYTES the connection is simply closed after the answer.
        _ => Err(ApiError::BodyTooLarge(MAX_BODY_BYTES)),
    }
}

fn log(ex: &Exchange, started: Instant) {
    let status = match &ex.result {
        Ok(_) => StatusCode::OK,
        Err(e) => e.status(),
    };
    let action = ex.action_name();
    match &ex.result {
        Err(ApiError::Internal(detail)) => {
            tracing::error!(request_id = ex.request_id, action, error = %detail, "internal failure");
        }
        // The audit writer reports an unwritable trail itself, once when it starts and once
        // when it ends (with the number of calls refused): one line per refused call would
        // flood the log during an outage.
        Err(ApiError::ServiceUnavailable(why @ crate::error::Unavailable::AuditTrail)) => {
            tracing::debug!(request_id = ex.request_id, action, reason = ?why, "service unavailable");
        }
        Err(ApiError::ServiceUnavailable(why)) => {
            tracing::warn!(request_id = ex.request_id, action, reason = ?why, "service unavailable");
        }
        _ => {}
    }
    let access_key = ex.caller.as_ref().map_or("-", |c| c.access_key_id.as_str());
    tracing::info!(
        request_id = ex.request_id, action, status = status.as_u16(), access_key,
        peer = %ex.peer, micros = started.elapsed().as_micros() as u64, "api"
    );
}

/// Parse, claim, authenticate, rate-limit, route on the signed action, then the action's
/// pipeline (resolve, authorize, run): each fact established once, recorded in `ex`.
async fn handle(
    kms: &Kms,
    guards: &Guards,
    ex: &mut Exchange,
    method: &str,
    query: Option<&str>,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let peer_ip = ex.peer.ip();
    guards.check_failures(peer_ip)?;
    let unauthenticated = |ex: &mut Exchange, req: &ApiRequest| {
        ex.facts = AuditFacts::unverified(req);
        guards.charge_failure(peer_ip);
    };
    let req = ApiRequest::parse(method, query, headers, body, Some(ex.peer))
        .inspect_err(|_| guards.charge_failure(peer_ip))?;
    let claim = auth::claim(&req).inspect_err(|_| unauthenticated(ex, &req))?;
    ex.claimed_access_key_id = Some(claim.access_key_id.clone());
    ex.claimed_action = Some(claim.action.clone());
    ex.claimed_product = Product::of_version(&claim.version);
    let caller = auth::authenticate(kms, &req, &claim)
        .await
        .inspect_err(|_| unauthenticated(ex, &req))?;
    let caller = ex.caller.insert(caller);
    guards.admit(caller)?;
    let product = ex.claimed_product.ok_or(ApiError::InvalidVersion)?;
    let action = crate::table::find(product, &claim.action).ok_or(ApiError::ActionNotFound)?;
    ex.action = Some(action);
    let origin = Origin {
        peer: Some(ex.peer),
    };
    action.run(kms, caller, origin, &req, &mut ex.facts).await
}

/// The headers the request path reads, as `(name, value)` pairs (`http` keeps names
/// lower-case). With an `Authorization` header (ACS3, ACS4: they may sign any header) every
/// header; without one (RPC v1 signs no header) only `content-type` and the `x-acs-*` headers,
/// which are all that path reads. A value that is not visible ASCII is left out (no signature
/// scheme can cover it).
pub fn request_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    let all = headers.contains_key(header::AUTHORIZATION);
    headers
        .iter()
        .filter(|(n, _)| all || *n == header::CONTENT_TYPE || n.as_str().starts_with("x-acs-"))
        .filter_map(|(n, v)| {
            v.to_str()
                .ok()
                .map(|v| (n.as_str().to_owned(), v.to_owned()))
        })
        .collect()
}

/// A new request id (upper-case UUID, like the service's).
pub fn new_request_id() -> String {
    let id = uuid::Builder::from_random_bytes(request_id_bytes()).into_uuid();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_upper(&mut text).to_owned()
}

/// How many request ids one call of the random generator provides.
const IDS_PER_FILL: usize = 32;

thread_local! {
    /// Random bytes for the next request ids on this thread, and how many are used.
    static ID_BYTES: std::cell::RefCell<([u8; 16 * IDS_PER_FILL], usize)> =
        const { std::cell::RefCell::new(([0; 16 * IDS_PER_FILL], 16 * IDS_PER_FILL)) };
}

/// 16 random bytes for a request id. A request id must be unique, not secret: each thread
/// draws them from aws-lc's generator `IDS_PER_FILL` at a time (one call, no system call).
fn request_id_bytes() -> [u8; 16] {
    ID_BYTES.with_borrow_mut(|(buf, used)| {
        if *used + 16 > buf.len() {
            if aws_lc_rs::rand::fill(buf).is_err() {
                // The generator failed (it does not, short of a broken system): still unique.
                return *uuid::Uuid::new_v4().as_bytes();
            }
            *used = 0;
        }
        let mut id = [0u8; 16];
        if let Some(next) = buf.get(*used..*used + 16) {
            id.copy_from_slice(next);
        }
        *used += 16;
        id
    })
}

/// The API's error shape for `e`: `RequestId`, `HostId`, `Code`, `Message`, `Recommend`.
pub(crate) fn error_body(e: &ApiError, request_id: &str) -> Value {
    let code = e.code();
    json!({
        "RequestId": request_id,
        "HostId": "keywarden",
        "Code": code,
        "Message": e.to_string(),
        "Recommend": format!("See the keywarden README, error {code}; request {request_id}"),
    })
}

fn error_response(e: &ApiError, request_id: &str) -> Response {
    let body = error_body(e, request_id);
    let mut resp = json_response(e.status(), &body, Some(request_id));
    match e {
        // Milliseconds; the new SDK raises ThrottlingException when this is a positive integer.
        ApiError::Throttling { retry_after_ms } => {
            resp.headers_mut()
                .insert("x-acs-retry-after", HeaderValue::from(*retry_after_ms));
        }
        // The rest of a body that is not arriving is not waited for: close the connection.
        ApiError::RequestTimeout => {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        _ => {}
    }
    resp
}

fn json_response(status: StatusCode, body: &Value, request_id: Option<&str>) -> Response {
    // Room for a typical answer (a data key's is ~400 bytes) in one allocation. A `Value`
    // always serializes (its map keys are strings).
    let mut bytes = Vec::with_capacity(512);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes.clear();
    }
    let mut resp = (status, bytes).into_response();
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn request_ids_are_upper_case_uuids_and_differ() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(a, a.to_uppercase());
        assert_eq!(a.len(), 36);
        // Past one buffer of random bytes: ids stay distinct across refills.
        let ids: std::collections::HashSet<String> =
            (0..3 * IDS_PER_FILL).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 3 * IDS_PER_FILL);
    }

    #[tokio::test]
    async fn a_call_dropped_midway_still_runs_to_its_end() {
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let finished = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&finished);
        let call = RunsToEnd(Some(Box::pin(async move {
            let _ = wait.await;
            flag.store(true, Ordering::SeqCst);
            let _ = done_tx.send(());
            StatusCode::OK.into_response()
        })));
        // The client goes away while the call waits: the future is polled once, then dropped.
        let mut call = call;
        assert!(poll_once(&mut call).await.is_none());
        drop(call);
        assert!(!finished.load(Ordering::SeqCst));
        go.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), done_rx)
            .await
            .expect("the rest of the call ran on its own task")
            .unwrap();
        assert!(finished.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_call_polled_to_the_end_answers_in_place() {
        let call = RunsToEnd(Some(Box::pin(async {
            StatusCode::ACCEPTED.into_response()
        })));
        assert_eq!(call.await.status(), StatusCode::ACCEPTED);
    }

    #[tokio::test]
    async fn a_call_that_panics_answers_500() {
        let call = RunsToEnd(Some(Box::pin(async {
            let v: Vec<u8> = Vec::new();
            // An out-of-bounds index: the kind of bug this guards against.
            #[allow(clippy::indexing_slicing)]
            let byte = v[std::hint::black_box(3)];
            StatusCode::from_u16(u16::from(byte) + 200)
                .unwrap()
                .into_response()
        })));
        let resp = call.await;
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    /// Polls `fut` once: its output if it was ready.
    async fn poll_once<F: Future + Unpin>(mut fut: F) -> Option<F::Output> {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut fut).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
