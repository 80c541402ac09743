//! What the API handler needs besides the KMS state: the audit sink, the per-access-key rate
//! limiter, the per-address limiter of failed authentications and the body read timeout ([`Guards`]), and the router state that carries both
//! ([`AppState`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::audit::{AuditSink, AuditSlot};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::limits::{FailureLimiter, LimitsConfig, RateLimiter};

/// Calls tracked at most by [`Guards::track`] (far above the connection bound).
const IN_FLIGHT_CAP: u32 = 1 << 24;

/// The serve-time guards of the API handler. Cheap to clone.
#[derive(Clone)]
pub struct Guards {
    audit: Option<AuditSink>,
    limiter: Arc<RateLimiter>,
    failures: Arc<FailureLimiter>,
    body_timeout: Duration,
    in_flight: Arc<Semaphore>,
}

impl Guards {
    /// Guards with an audit sink (`None`: calls are not audited) and `limits`.
    pub fn new(audit: Option<AuditSink>, limits: &LimitsConfig) -> Self {
        Self {
            audit,
            limiter: Arc::new(RateLimiter::new(limits)),
            failures: Arc::new(FailureLimiter::new(limits)),
            body_timeout: limits.body_timeout,
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT_CAP as usize)),
        }
    }

    /// Marks a call as running until the returned permit is dropped.
    pub fn track(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.in_flight).try_acquire_owned().ok()
    }

    /// Waits until no call is running, for at most `patience`; whether that happened.
    pub async fn wait_idle(&self, patience: Duration) -> bool {
        let all = self.in_flight.acquire_many(IN_FLIGHT_CAP);
        tokio::time::timeout(patience, all).await.is_ok()
    }

    /// No audit trail and no rate limit: for tests and embedding. `serve` never uses this.
    pub fn none() -> Self {
        Self::new(None, &LimitsConfig::unlimited())
    }

    /// Admits one authenticated call, or refuses it with `Throttling`.
    pub fn admit(&self, caller: &Caller) -> Result<(), ApiError> {
        self.limiter.admit(&caller.access_key_id)
    }

    /// Refuses with `Throttling` a request from `ip` while `ip` has failed authentication
    /// too often; checked before anything is verified or read.
    pub fn check_failures(&self, ip: std::net::IpAddr) -> Result<(), ApiError> {
        self.failures.check(ip)
    }

    /// Counts a failed authentication of `ip`.
    pub fn charge_failure(&self, ip: std::net::IpAddr) {
        self.failures.charge(ip);
    }

    /// How long a request body may take to arrive.
    pub fn body_timeout(&self) -> Duration {
        self.body_timeout
    }

    /// Room for the audit record of a call about to run (`None` without an audit trail), or
    /// 503 when the trail cannot be written: the call must then not run.
    pub async fn reserve_audit(&self) -> Result<Option<AuditSlot<'_>>, ApiError> {
        match &self.audit {
            Some(sink) => sink.reserve().await.map(Some),
            None => Ok(None),
        }
    }
}

/// The router's state: the KMS and the guards, shared by every call behind one `Arc` (one
/// reference count per call, not one per part).
#[derive(Clone)]
pub struct AppState {
    /// Shared KMS state.
    pub kms: Arc<Kms>,
    /// Audit and limits.
    pub guards: Guards,
}
