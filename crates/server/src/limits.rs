//! Request limits: what one client can make the server spend.
//!
//! | limit | where | default |
//! |---|---|---|
//! | requests per second per access key (token bucket) | [`RateLimiter`], after authentication | 1000/s, burst 1000 |
//! | concurrent connections | [`crate::listener`]: excess connections wait in the kernel's accept backlog | 1024 |
//! | concurrent connections from one address | [`crate::listener::Connections`]: excess ones are closed at once | 256 |
//! | time to the first byte of a new connection | [`crate::listener::FIRST_BYTE_TIMEOUT`] | 5 s |
//! | failed authentications per second per address (token bucket) | [`FailureLimiter`], before authentication | 10/s, burst 100 |
//! | unknown access key ids remembered (no store read for a repeat) | `Kms::credential`'s negative cache | 4096 for the cache TTL |
//! | TLS handshake time | `axum_server`'s rustls acceptor | 10 s |
//! | request line + headers | hyper: at most [`MAX_HEADER_BYTES`] buffered, [`MAX_HEADERS`] headers (431 beyond) | 64 KiB, 64 |
//! | time to receive the request line and headers; idle time between keep-alive requests | hyper's header read timeout | 10 s |
//! | request body size | `http::MAX_BODY_BYTES` (413 `RequestEntityTooLarge`) | 64 KiB |
//! | time to receive the body | `http::read_body` (408 `RequestTimeout`) | 10 s |
//!
//! Only HTTP/1.1 is served (no HTTP/2), so a connection carries one request at a time and the
//! connection bound is also the bound on requests in progress. Worst-case buffered request data
//! is about `max_connections × (64 KiB + 64 KiB)`, 128 MiB at the defaults.
//!
//! The rate limit applies to authenticated calls only: a request is counted against its access
//! key once its signature verified, so nobody can spend someone else's budget. Requests that
//! fail authentication are counted against their source address instead ([`FailureLimiter`]):
//! once an address has failed `burst` times faster than `rate` per second, its requests are
//! refused with `Throttling` before any signature check or store read, until its bucket
//! refills. An address that authenticates correctly is never slowed by this; behind a load
//! balancer all clients share the balancer's address, so raise or disable it there.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// Largest request line plus headers, in bytes (hyper's read buffer; larger requests get 431).
/// The old SDK sends every parameter in the query: 6 KiB of Encrypt plaintext percent-encodes
/// to at most 18 KiB, well within this.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Most header fields in one request (431 beyond). The SDKs send about a dozen.
pub const MAX_HEADERS: usize = 64;

/// Buckets kept at most; when full, buckets that have refilled completely (idle keys) are
/// dropped, which changes nothing for them.
const MAX_BUCKETS: usize = 65_536;

/// The serve-time limits (flags of `keywarden serve`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitsConfig {
    /// Sustained requests per second per access key; 0 turns rate limiting off.
    pub rate_limit: u32,
    /// Requests an idle access key may send at once (bucket size); at least 1.
    pub rate_burst: u32,
    /// Connections served at once; more wait in the kernel's accept backlog.
    pub max_connections: usize,
    /// Connections served at once from one client address; more are closed at once.
    pub max_connections_per_ip: usize,
    /// Sustained failed authentications per second per client address; 0 turns it off.
    pub auth_failure_rate: u32,
    /// Failed authentications an address may have at once (bucket size); at least 1.
    pub auth_failure_burst: u32,
    /// Time to receive a request's line and headers, and the idle time allowed between
    /// requests on a keep-alive connection.
    pub header_timeout: Duration,
    /// Time to receive a request's body once its headers arrived.
    pub body_timeout: Duration,
    /// Time to complete a TLS handshake.
    pub tls_handshake_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            rate_limit: 1000,
            rate_burst: 1000,
            max_connections: 1024,
            max_connections_per_ip: 256,
            auth_failure_rate: 10,
            auth_failure_burst: 100,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl LimitsConfig {
    /// No rate limit and generous timeouts: for tests and embedding, never for `serve`.
    pub fn unlimited() -> Self {
        Self {
            rate_limit: 0,
            auth_failure_rate: 0,
            ..Self::default()
        }
    }
}

/// Token buckets by key (an access key id, a client address): each key may spend `burst`
/// tokens at once and `rate` per second sustained. Memory is bounded: at most 65,536 buckets
/// are kept.
pub struct RateLimiter<K = String> {
    /// Tokens per second; `None` when rate limiting is off.
    rate: Option<f64>,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// A per-access-key limiter for `config` (`rate_limit` 0: every call is admitted).
    pub fn new(config: &LimitsConfig) -> Self {
        Self::with_rate(config.rate_limit, config.rate_burst)
    }
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// `rate` tokens per second (0: no limit), `burst` at once (at least 1).
    fn with_rate(rate: u32, burst: u32) -> Self {
        Self {
            rate: (rate > 0).then_some(f64::from(rate)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one call of `key`, or refuses it with `Throttling` and the time until a call
    /// would be admitted.
    pub fn admit<Q>(&self, key: &Q) -> Result<(), ApiError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.admit_at(key, Instant::now())
    }

    /// Whether `key` has a token left, without spending it.
    pub fn peek_at<Q>(&self, key: &Q, now: Instant) -> Result<(), ApiError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match buckets.get(key) {
            Some(b) => {
                let tokens = refilled(b, now, rate, self.burst);
                if tokens >= 1.0 {
                    Ok(())
                } else {
                    Err(throttled(1.0 - tokens, rate))
                }
            }
            None => Ok(()),
        }
    }

    /// [`RateLimiter::admit`] at time `now` (tests move time by hand).
    pub fn admit_at<Q>(&self, key: &Q, now: Instant) -> Result<(), ApiError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !buckets.contains_key(key) && buckets.len() >= MAX_BUCKETS {
            let (burst, rate) = (self.burst, rate);
            buckets.retain(|_, b| refilled(b, now, rate, burst) < burst);
            if buckets.len() >= MAX_BUCKETS {
                // Every bucket is in use: refuse the newcomer rather than forget a busy key.
                return Err(throttled(1.0, rate));
            }
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = refilled(bucket, now, rate, self.burst);
        // A clock read that went backwards (another thread's earlier `now`) refills nothing.
        let at = now.max(bucket.at);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at,
            };
            Ok(())
        } else {
            *bucket = Bucket { tokens, at };
            Err(throttled(1.0 - tokens, rate))
        }
    }
}

/// Failed authentications per client address: [`FailureLimiter::check`] before a request is
/// authenticated, [`FailureLimiter::charge`] when it failed.
pub struct FailureLimiter(RateLimiter<IpAddr>);

impl FailureLimiter {
    /// A limiter for `config` (`auth_failure_rate` 0: never refuses).
    pub fn new(config: &LimitsConfig) -> Self {
        Self(RateLimiter::with_rate(
            config.auth_failure_rate,
            config.auth_failure_burst,
        ))
    }

    /// Refuses with `Throttling` a request from `ip` while `ip` has used up its failures.
    pub fn check(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.check_at(ip, Instant::now())
    }

    /// Counts one failed authentication of `ip`.
    pub fn charge(&self, ip: IpAddr) {
        self.charge_at(ip, Instant::now());
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), ApiError> {
        self.0.peek_at(&ip, now)
    }

    fn charge_at(&self, ip: IpAddr, now: Instant) {
        // An address already out of tokens stays at zero: the refusal is the answer.
        let _ = self.0.admit_at(&ip, now);
    }
}

/// The tokens in `b` at `now` (never more than `burst`).
fn refilled(b: &Bucket, now: Instant, rate: f64, burst: f64) -> f64 {
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    (b.tokens + elapsed * rate).min(burst)
}

/// `Throttling` with the milliseconds until `missing` tokens have accrued (at least 1).
fn throttled(missing: f64, rate: f64) -> ApiError {
    // (The small bias keeps float noise from rounding 60 ms up to 61.)
    let ms = (missing / rate * 1000.0 - 1e-6).ceil();
    // In range: `missing` is at most 1 and `rate` at least 1, so `ms` is within 1..=1000.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let retry_after_ms = (ms as u64).max(1);
    ApiError::Throttling { retry_after_ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rate: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(&LimitsConfig {
            rate_limit: rate,
            rate_burst: burst,
            ..LimitsConfig::default()
        })
    }

    fn retry_after(r: Result<(), ApiError>) -> u64 {
        match r {
            Err(ApiError::Throttling { retry_after_ms }) => retry_after_ms,
            other => panic!("expected Throttling, got {other:?}"),
        }
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let l = limiter(10, 5);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.admit_at("ak", t0).is_ok());
        }
        assert_eq!(
            retry_after(l.admit_at("ak", t0)),
            100,
            "one token per 100 ms"
        );
        // Another key has its own bucket.
        assert!(l.admit_at("other", t0).is_ok());
        // 40 ms later: 0.4 token, 60 ms to go.
        let t = t0 + Duration::from_millis(40);
        assert_eq!(retry_after(l.admit_at("ak", t)), 60);
        let t = t0 + Duration::from_millis(100);
        assert!(l.admit_at("ak", t).is_ok());
        assert!(l.admit_at("ak", t).is_err());
        // A long pause refills to the burst, not beyond.
        let t = t0 + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(l.admit_at("ak", t).is_ok());
        }
        assert!(l.admit_at("ak", t).is_err());
    }

    #[test]
    fn zero_turns_it_off() {
        let l = limiter(0, 1);
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert!(l.admit_at("ak", t0).is_ok());
        }
        assert!(l.buckets.lock().unwrap().is_empty(), "no state kept");
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let l = limiter(1, 1);
        let t0 = Instant::now() + Duration::from_secs(10);
        assert!(l.admit_at("ak", t0).is_ok());
        assert_eq!(
            retry_after(l.admit_at("ak", t0 - Duration::from_secs(5))),
            1000
        );
    }

    #[test]
    fn memory_is_bounded_and_idle_buckets_are_dropped_first() {
        let l = limiter(1000, 2);
        let t0 = Instant::now();
        for i in 0..MAX_BUCKETS {
            assert!(l.admit_at(&format!("k{i}"), t0).is_ok());
        }
        // All buckets busy: a newcomer waits, the map does not grow.
        assert!(l.admit_at("new", t0).is_err());
        assert_eq!(l.buckets.lock().unwrap().len(), MAX_BUCKETS);
        // Once they refilled, they are dropped to make room.
        let later = t0 + Duration::from_secs(1);
        assert!(l.admit_at("new", later).is_ok());
        assert_eq!(l.buckets.lock().unwrap().len(), 1);
    }

    #[test]
    fn failures_are_counted_per_address_and_successes_cost_nothing() {
        let l = FailureLimiter::new(&LimitsConfig {
            auth_failure_rate: 2,
            auth_failure_burst: 3,
            ..LimitsConfig::default()
        });
        let (bad, good): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at(bad, t0).is_ok());
            l.charge_at(bad, t0);
        }
        assert_eq!(retry_after(l.check_at(bad, t0)), 500, "two per second");
        // Checks alone (requests that then authenticate) spend nothing.
        for _ in 0..1000 {
            assert!(l.check_at(good, t0).is_ok());
        }
        assert!(l.0.buckets.lock().unwrap().get(&good).is_none());
        // Refilled after 500 ms: one more failure allowed.
        let t = t0 + Duration::from_millis(500);
        assert!(l.check_at(bad, t).is_ok());
        l.charge_at(bad, t);
        assert!(l.check_at(bad, t).is_err());
        // Off: nothing refused, nothing kept.
        let off = FailureLimiter::new(&LimitsConfig::unlimited());
        for _ in 0..1000 {
            off.charge_at(bad, t0);
        }
        assert!(off.check_at(bad, t0).is_ok());
        assert!(off.0.buckets.lock().unwrap().is_empty());
    }
}
