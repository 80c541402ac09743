//! The audit trail's writer: every API call becomes one [`AuditRecord`] (see
//! `keywarden_core::audit` for the format and the hash chain), appended to the store by one
//! background task with group commit.
//!
//! # Path of a record
//!
//! The HTTP handler builds the record from the call's [`Exchange`] once the answer is decided,
//! and hands it to the [`AuditSink`] *before* the answer is sent. The sink is a bounded queue
//! ([`AuditOptions::queue`] records): handing over waits only while the queue is full, so an
//! audit store that falls behind slows the API down instead of losing records. The writer task
//! takes whatever is queued (up to [`AuditOptions::max_batch`]) and appends it in one store
//! transaction, one fsync: while one batch commits the next one gathers (and after a small
//! batch the writer waits [`AuditOptions::gather`] first), so the cost per call falls as load
//! rises; calls never wait for a commit, only for room in the queue. A call takes its room
//! ([`AuditSink::reserve`]) before it runs, so recording it afterwards cannot wait or fail. A
//! failed append is retried (with backoff) and never skipped; meanwhile the trail counts as
//! failing and new calls are refused with 503 before they run: the API stops rather than run
//! unaudited. The writer loop is supervised: after a panic it restarts with its batch kept.
//!
//! # What is guaranteed
//!
//! - Every call that was answered has its record queued before the answer left.
//! - Graceful shutdown (SIGTERM, Ctrl-C) stores every queued record before the process exits
//!   ([`AuditWriter::finish`]) and logs the final head.
//! - A crash or SIGKILL loses the records still queued or in the uncommitted batch: calls
//!   answered in the last moments (normally a few milliseconds: one gather pause,
//!   [`AuditOptions::gather`], and one commit; at most
//!   `queue + max_batch` calls). Records that were committed survive (SQLite
//!   `synchronous=FULL`).
//! - A call runs to its end even when its client disconnects or the shutdown drain (10 s) cuts
//!   its connection (the rest of it then runs on a task of its own, `http::RunsToEnd`), so a
//!   call that ran is recorded; shutdown waits up to 10 s more for such calls before it closes
//!   the trail (and logs an error if any is left). A call that panicked (a bug) has no record.
//!
//! # Head anchoring
//!
//! The hash chain shows edits, but someone who can write the database could cut its tail or
//! rewrite it whole. So the writer logs the head (`<seq>:<hash>`) at start, every
//! [`AuditOptions::anchor_records`] records, every [`AuditOptions::anchor_interval`] when it
//! moved, and at shutdown; keep those lines elsewhere and check with
//! `keywarden audit --verify --expect-head <seq>:<hash>`.
//!
//! # What a record holds
//!
//! Time, request id, access key (the claimed one when the signature did not verify) and its
//! user, source address, `<product>:<Action>`, the key and version the answer names (else the
//! `KeyId` / `KeyVersionId` parameters as given), the encryption context, the outcome code
//! and HTTP status. Never plaintext, data keys, blobs or secrets: the record type has no field
//! for them. For requests that did not authenticate, the context is left out and the strings
//! taken from the request are cut to [`MAX_FIELD_BYTES`].
//!
//! # Requests that did not authenticate
//!
//! They changed nothing, and anyone can send them, so they do not get a row each: the
//! [`Aggregator`] counts them per source address, outcome code and status over
//! [`AGGREGATE_INTERVAL`], and each group becomes one record with its `count` (the first
//! request's time and id; the access key, action and key only when every request of the group
//! named the same). Groups are bounded ([`MAX_GROUPS`]; beyond that, one group per outcome
//! with source `*`), so a flood costs at most about `MAX_GROUPS` records per interval, however
//! fast it comes. A group of one is exactly the record the request would have had alone. They
//! are written at the end of each interval and at shutdown; a crash loses at most one
//! interval's counts.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use keywarden_core::audit::AuditRecord;
use keywarden_store::{AuditHead, KeyStore, StoreError};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::action::Product;
use crate::error::{ApiError, Unavailable};
use crate::exchange::Exchange;

/// Longest string copied from an unauthenticated request into a record, in bytes.
pub const MAX_FIELD_BYTES: usize = 256;

/// How long unauthenticated requests are counted before their groups are written.
pub const AGGREGATE_INTERVAL: Duration = Duration::from_secs(10);

/// Groups of unauthenticated requests counted at most per interval (then: per outcome only).
pub const MAX_GROUPS: usize = 4096;

/// How long shutdown keeps retrying a failing append before giving up (and saying so).
const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(30);

/// How long a call waits for room in a full audit queue before it is refused (503).
pub const RESERVE_PATIENCE: Duration = Duration::from_secs(2);

/// The longest pause between retries of a failing append (so the trail is back within about
/// this long after the fault clears).
const MAX_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Pause before the writer loop is restarted after a panic.
const RESTART_DELAY: Duration = Duration::from_millis(100);

/// Tunables of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditOptions {
    /// Records queued at most; a call waits while the queue is full.
    pub queue: usize,
    /// Records appended in one transaction at most.
    pub max_batch: usize,
    /// Log the head after this many records.
    pub anchor_records: u64,
    /// Log the head this often (when it moved).
    pub anchor_interval: Duration,
    /// After a batch of fewer than a quarter of `max_batch` records, wait this long before
    /// taking the next one (records gather meanwhile: fewer, larger commits).
    pub gather: Duration,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            queue: 4096,
            max_batch: 512,
            anchor_records: 1000,
            anchor_interval: Duration::from_secs(300),
            gather: Duration::from_millis(2),
        }
    }
}

/// `s` cut to at most [`MAX_FIELD_BYTES`] on a character boundary.
fn bounded(s: &str) -> String {
    let mut end = s.len().min(MAX_FIELD_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_owned()
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// The record of a finished call received at `time_ms`: every field from what the call
/// established (claimed and verified caller, verified action, resolved key, context).
pub fn record_of(ex: &Exchange, time_ms: i64) -> AuditRecord {
    let facts = &ex.facts;
    let authenticated = ex.caller.is_some();
    let (outcome_code, http_status) = match &ex.result {
        Ok(_) => ("Success".to_owned(), 200),
        Err(e) => (e.code().to_owned(), e.status().as_u16()),
    };
    let action = match (ex.action, &ex.claimed_action) {
        (Some(action), _) => action.permission(),
        (None, Some(claimed)) => {
            let product = ex.claimed_product.unwrap_or(Product::Kms);
            bounded(&format!("{}:{claimed}", product.prefix()))
        }
        (None, None) => String::new(),
    };
    AuditRecord {
        seq: 0,
        time_ms,
        request_id: ex.request_id.clone(),
        access_key_id: match &ex.caller {
            Some(caller) => Some(caller.access_key_id.clone()),
            None => ex.claimed_access_key_id.as_deref().map(bounded),
        },
        user_name: ex.caller.as_ref().map(|c| c.user_name.clone()),
        source_ip: ex.peer.ip().to_string(),
        action,
        key_id: facts.key_id.as_deref().map(bounded),
        key_version_id: facts.key_version_id.as_deref().map(bounded),
        encryption_context: if authenticated {
            facts.encryption_context.clone()
        } else {
            None
        },
        outcome_code,
        http_status,
        count: 1,
    }
}

/// What groups unauthenticated requests: source address, outcome code, status.
type GroupKey = (String, String, u16);

/// Counts unauthenticated requests per group until [`Aggregator::take`] (see the module docs).
#[derive(Debug, Default)]
pub struct Aggregator {
    groups: std::sync::Mutex<std::collections::HashMap<GroupKey, AuditRecord>>,
}

impl Aggregator {
    /// Counts `record` (of a request that did not authenticate) in its group.
    pub fn add(&self, record: AuditRecord) {
        let mut groups = self
            .groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut key = (
            record.source_ip.clone(),
            record.outcome_code.clone(),
            record.http_status,
        );
        if !groups.contains_key(&key) && groups.len() >= MAX_GROUPS {
            // Full: this request counts in its outcome's catch-all group.
            key.0 = "*".to_owned();
        }
        match groups.get_mut(&key) {
            Some(group) => merge(group, &record),
            None => {
                let source_ip = key.0.clone();
                groups.insert(
                    key,
                    AuditRecord {
                        source_ip,
                        ..record
                    },
                );
            }
        }
    }

    /// The groups counted so far, oldest first, and a fresh start.
    pub fn take(&self) -> Vec<AuditRecord> {
        let groups = std::mem::take(
            &mut *self
                .groups
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut records: Vec<AuditRecord> = groups.into_values().collect();
        records.sort_by_key(|r| r.time_ms);
        records
    }
}

/// Adds `other` to `group`: one more request; a field they do not share is cleared.
fn merge(group: &mut AuditRecord, other: &AuditRecord) {
    group.count = group.count.saturating_add(other.count);
    if group.source_ip != other.source_ip {
        "*".clone_into(&mut group.source_ip);
    }
    if group.action != other.action {
        group.action.clear();
    }
    for (mine, theirs) in [
        (&mut group.access_key_id, &other.access_key_id),
        (&mut group.user_name, &other.user_name),
        (&mut group.key_id, &other.key_id),
        (&mut group.key_version_id, &other.key_version_id),
    ] {
        if mine != theirs {
            *mine = None;
        }
    }
    if group.encryption_context != other.encryption_context {
        group.encryption_context = None;
    }
}

/// Whether the trail can be written, shared by the writer (which knows) and the sink (which
/// refuses calls while it cannot).
#[derive(Debug, Default)]
struct TrailHealth {
    /// The last append failed (or the writer panicked) and none has succeeded since.
    failing: AtomicBool,
    /// Calls refused while failing, reported when the trail recovers.
    refused: AtomicU64,
}

impl TrailHealth {
    fn failed(&self, why: &dyn std::fmt::Display) {
        if !self.failing.swap(true, Ordering::SeqCst) {
            tracing::error!(error = %why, "the audit trail cannot be written: API calls are refused with 503 until it can");
        }
    }

    fn recovered(&self) {
        if self.failing.swap(false, Ordering::SeqCst) {
            let refused = self.refused.swap(0, Ordering::SeqCst);
            tracing::warn!(
                refused,
                "the audit trail is writable again; calls are served"
            );
        }
    }
}

/// Where the HTTP layer hands records over. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<AuditRecord>,
    health: Arc<TrailHealth>,
    unauthenticated: Arc<Aggregator>,
}

/// Room in the audit queue for the record of one call, taken before the call runs: once a
/// call has a slot, recording it can neither wait nor fail.
#[derive(Debug)]
pub struct AuditSlot<'a> {
    permit: mpsc::Permit<'a, AuditRecord>,
    unauthenticated: &'a Aggregator,
}

impl AuditSlot<'_> {
    /// Queues the call's record (at once: the room is already taken).
    pub fn record(self, record: AuditRecord) {
        self.permit.send(record);
    }

    /// Counts the record of a request that did not authenticate in its group (the room is
    /// given back; the group's record is queued at the end of the interval).
    pub fn aggregate(self, record: AuditRecord) {
        self.unauthenticated.add(record);
    }
}

impl AuditSink {
    /// Room for the record of a call about to run, or 503 `ServiceUnavailableTemporary` when
    /// the trail cannot be written (the last append failed, the writer is gone, or the queue
    /// stayed full for [`RESERVE_PATIENCE`]): then the call must not run, so nothing happens
    /// unaudited.
    pub async fn reserve(&self) -> Result<AuditSlot<'_>, ApiError> {
        let refuse = || {
            self.health.refused.fetch_add(1, Ordering::Relaxed);
            ApiError::ServiceUnavailable(Unavailable::AuditTrail)
        };
        if self.health.failing.load(Ordering::Relaxed) {
            return Err(refuse());
        }
        match tokio::time::timeout(RESERVE_PATIENCE, self.tx.reserve()).await {
            Ok(Ok(permit)) => Ok(AuditSlot {
                permit,
                unauthenticated: &self.unauthenticated,
            }),
            Ok(Err(_)) | Err(_) => Err(refuse()),
        }
    }

    /// Queues `record`, waiting while the queue is full (for writers of many records, such as
    /// benchmarks; API calls use [`AuditSink::reserve`]). After [`AuditWriter::finish`] the
    /// record cannot be stored; that is logged as an error, never skipped silently.
    pub async fn submit(&self, record: AuditRecord) {
        if let Err(mpsc::error::SendError(lost)) = self.tx.send(record).await {
            tracing::error!(
                request_id = lost.request_id,
                action = lost.action,
                "audit trail closed: the record of this call was not stored"
            );
        }
    }
}

/// The running writer task; [`AuditWriter::finish`] flushes and stops it.
#[derive(Debug)]
pub struct AuditWriter {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Option<AuditHead>>,
    stop_flusher: oneshot::Sender<()>,
    flusher: JoinHandle<()>,
}

impl AuditWriter {
    /// Stops taking records, stores every record already queued (and the counts of
    /// unauthenticated requests), logs the final head and returns it.
    pub async fn finish(self) -> Option<AuditHead> {
        // The flusher queues what it counted so far, then ends.
        let _ = self.stop_flusher.send(());
        if let Err(e) = self.flusher.await {
            tracing::error!(error = %e, "the flusher of unauthenticated counts failed");
        }
        // The task may already be gone (its receiver dropped): then there is nothing to stop.
        let _ = self.stop.send(());
        match self.task.await {
            Ok(head) => head,
            Err(e) => {
                tracing::error!(error = %e, "audit writer task failed");
                None
            }
        }
    }
}

/// Starts the writer on `store`: logs the current head and returns the sink and the writer.
pub async fn start(
    store: Arc<dyn KeyStore>,
    options: AuditOptions,
) -> Result<(AuditSink, AuditWriter), StoreError> {
    let head = store.audit_head().await?;
    match head {
        Some(h) => tracing::info!(audit_head = %h, "audit trail open"),
        None => tracing::info!("audit trail open (empty)"),
    }
    let (tx, rx) = mpsc::channel(options.queue.max(1));
    let (stop, stopped) = oneshot::channel();
    let health = Arc::new(TrailHealth::default());
    let writer = Writer {
        store,
        rx,
        stopped,
        max_batch: options.max_batch.max(1),
        batch: Vec::with_capacity(options.max_batch.max(1)),
        options,
        head,
        anchor: Anchor {
            options,
            logged: head,
            since_logged: 0,
        },
        health: Arc::clone(&health),
        #[cfg(test)]
        inject_panics: Arc::default(),
    };
    #[cfg(test)]
    tests::INJECT.with(|n| writer.inject_panics.store(n.get(), Ordering::SeqCst));
    let task = tokio::spawn(supervise(writer));
    let sink = AuditSink {
        tx,
        health,
        unauthenticated: Arc::default(),
    };
    let (stop_flusher, flusher_stopped) = oneshot::channel();
    let flusher = tokio::spawn(flush_every(
        sink.clone(),
        AGGREGATE_INTERVAL,
        flusher_stopped,
    ));
    Ok((
        sink,
        AuditWriter {
            stop,
            task,
            stop_flusher,
            flusher,
        },
    ))
}

/// Queues the groups of unauthenticated requests every `interval`, and once more when told
/// to stop.
async fn flush_every(sink: AuditSink, interval: Duration, mut stop: oneshot::Receiver<()>) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => flush_groups(&sink).await,
            _ = &mut stop => {
                flush_groups(&sink).await;
                return;
            }
        }
    }
}

/// Queues the groups counted so far.
async fn flush_groups(sink: &AuditSink) {
    for record in sink.unauthenticated.take() {
        sink.submit(record).await;
    }
}

/// When to log the head.
struct Anchor {
    options: AuditOptions,
    logged: Option<AuditHead>,
    since_logged: u64,
}

impl Anchor {
    fn log(&mut self, head: Option<AuditHead>, why: &'static str) {
        if let Some(h) = head {
            if self.logged != head {
                tracing::info!(audit_head = %h, "audit chain head ({why}); verify later with `keywarden audit --verify --expect-head {h}`");
            }
        }
        self.logged = head;
        self.since_logged = 0;
    }

    fn appended(&mut self, head: Option<AuditHead>, records: usize) {
        self.since_logged = self.since_logged.saturating_add(records as u64);
        if self.since_logged >= self.options.anchor_records {
            self.log(head, "periodic");
        }
    }
}

/// The writer's state. It outlives a panic of [`Writer::run`]: the queue and the batch being
/// appended are kept, so [`supervise`] can restart the loop without losing a record.
struct Writer {
    store: Arc<dyn KeyStore>,
    rx: mpsc::Receiver<AuditRecord>,
    stopped: oneshot::Receiver<()>,
    options: AuditOptions,
    max_batch: usize,
    /// Taken from the queue, not yet stored.
    batch: Vec<AuditRecord>,
    head: Option<AuditHead>,
    anchor: Anchor,
    health: Arc<TrailHealth>,
    /// Appends that panic before reaching the store (a stand-in for a bug in the writer).
    #[cfg(test)]
    inject_panics: Arc<AtomicU64>,
}

/// Runs the writer loop, restarting it after a panic (a bug: logged, the trail marked failing
/// so calls are refused meanwhile), then drains the queue at shutdown.
async fn supervise(mut writer: Writer) -> Option<AuditHead> {
    loop {
        match CatchUnwind(Box::pin(writer.run())).await {
            Ok(()) => break,
            Err(_panic) => {
                writer
                    .health
                    .failed(&"the audit writer panicked; restarting it");
                tokio::time::sleep(RESTART_DELAY).await;
            }
        }
    }
    writer.drain().await
}

impl Writer {
    /// Appends what is queued until told to stop (or every sink is gone).
    async fn run(&mut self) {
        // A batch left by a panic is stored first.
        if !self.batch.is_empty() {
            self.append(None).await;
        }
        let mut tick =
            tokio::time::interval(self.options.anchor_interval.max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                biased;
                _ = &mut self.stopped => return,
                received = self.rx.recv_many(&mut self.batch, self.max_batch) => {
                    if received == 0 {
                        return;
                    }
                    self.append(None).await;
                    self.anchor.appended(self.head, received);
                    // A small batch: let the next one gather for a moment, so the commit (and
                    // its fsync) is shared by more calls. Calls do not wait for it (their
                    // records are queued); a crash loses at most this much more (see the
                    // module docs).
                    if received < self.max_batch / 4 {
                        tokio::time::sleep(self.options.gather).await;
                    }
                }
                _ = tick.tick() => self.anchor.log(self.head, "periodic"),
            }
        }
    }

    /// At shutdown: no new records, every queued one stored; logs and returns the head.
    async fn drain(mut self) -> Option<AuditHead> {
        self.rx.close();
        let deadline = Instant::now() + SHUTDOWN_PATIENCE;
        loop {
            if self.batch.is_empty()
                && self.rx.recv_many(&mut self.batch, self.max_batch).await == 0
            {
                break;
            }
            self.append(Some(deadline)).await;
        }
        match self.head {
            Some(h) => {
                tracing::info!(audit_head = %h, "audit trail closed; final head (verify later with `keywarden audit --verify --expect-head {h}`)")
            }
            None => tracing::info!("audit trail closed (empty)"),
        }
        self.head
    }

    /// Appends the batch (emptying it), retrying failures with backoff until it succeeds or,
    /// at shutdown, until `deadline`. While it fails the trail is marked failing, so new
    /// calls are refused instead of running unaudited.
    async fn append(&mut self, deadline: Option<Instant>) {
        let mut delay = Duration::from_millis(50);
        loop {
            #[cfg(test)]
            if self.inject_panics.load(Ordering::SeqCst) > 0 {
                self.inject_panics.fetch_sub(1, Ordering::SeqCst);
                panic!("injected audit writer panic");
            }
            match self.store.append_audit(&self.batch).await {
                Ok(head) => {
                    self.batch.clear();
                    self.head = head.or(self.head);
                    self.health.recovered();
                    return;
                }
                Err(e) => {
                    self.health.failed(&e);
                    tracing::warn!(error = %e, records = self.batch.len(), "audit append failed; retrying");
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        tracing::error!(
                            records = self.batch.len(),
                            "audit append still failing at shutdown: these records are lost"
                        );
                        self.batch.clear();
                        return;
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
            }
        }
    }
}

/// A future that turns a panic while polling `F` into an `Err`, so [`supervise`] can restart
/// the loop (tokio would otherwise end the task and drop the queue with it).
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::AuditFacts;
    use crate::action::Reply;
    use crate::auth::Caller;
    use crate::error::ApiError;
    use keywarden_store::sqlite::SqliteStore;
    use serde_json::json;

    thread_local! {
        /// Panics to inject into writers started on this thread.
        pub(super) static INJECT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    fn exchange(facts: AuditFacts, caller: bool, result: Result<Reply, ApiError>) -> Exchange {
        let mut ex = Exchange::new("RID".into(), "10.1.2.3:4567".parse().unwrap());
        ex.action = crate::table::find(Product::Kms, "Encrypt");
        ex.caller = caller.then(|| Caller {
            access_key_id: "KWREAL".into(),
            user_name: "alice".into(),
        });
        ex.result = result;
        ex.facts = facts;
        ex
    }

    fn facts(key: &str, version: Option<&str>, ctx: &[(&str, &str)]) -> AuditFacts {
        AuditFacts {
            key_id: Some(key.into()),
            key_version_id: version.map(str::to_owned),
            encryption_context: Some(
                ctx.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
        }
    }

    #[test]
    fn a_success_names_the_key_and_version_the_call_established() {
        let body = json!({"KeyId": "k-1", "KeyVersionId": "v-1", "CiphertextBlob": "BLOB"});
        let reply = Reply::from(body.as_object().cloned().unwrap());
        let facts = facts("k-1", Some("v-1"), &[("b", "2"), ("a", "1")]);
        let r = record_of(&exchange(facts, true, Ok(reply)), 42);
        assert_eq!(r.time_ms, 42);
        assert_eq!(r.request_id, "RID");
        assert_eq!(r.access_key_id.as_deref(), Some("KWREAL"));
        assert_eq!(r.user_name.as_deref(), Some("alice"));
        assert_eq!(r.source_ip, "10.1.2.3");
        assert_eq!(r.action, "kms:Encrypt");
        assert_eq!(r.key_id.as_deref(), Some("k-1"));
        assert_eq!(r.key_version_id.as_deref(), Some("v-1"));
        let ctx = r.encryption_context.clone().unwrap();
        assert_eq!(ctx.get("a").map(String::as_str), Some("1"));
        assert_eq!((r.outcome_code.as_str(), r.http_status), ("Success", 200));
        let all = serde_json::to_string(&r).unwrap();
        assert!(!all.contains("BLOB"), "{all}");
    }

    #[test]
    fn a_failure_keeps_the_reference_as_given() {
        let facts = facts("alias/missing", None, &[]);
        let r = record_of(&exchange(facts, true, Err(ApiError::AliasNotFound)), 1);
        assert_eq!(r.key_id.as_deref(), Some("alias/missing"));
        assert_eq!(r.key_version_id, None);
        assert_eq!(
            (r.outcome_code.as_str(), r.http_status),
            ("Forbidden.AliasNotFound", 404)
        );
    }

    #[test]
    fn an_unauthenticated_call_keeps_the_claimed_key_and_little_else() {
        let long = "x".repeat(10_000);
        let mut ex = exchange(
            facts(&long, None, &[("big", "context")]),
            false,
            Err(ApiError::SignatureDoesNotMatch("sts".into())),
        );
        ex.action = None;
        ex.claimed_access_key_id = Some("KWCLAIMED".into());
        let r = record_of(&ex, 1);
        assert_eq!(r.access_key_id.as_deref(), Some("KWCLAIMED"));
        assert_eq!(r.user_name, None);
        assert_eq!(r.action, "");
        assert_eq!(r.key_id.as_ref().map(String::len), Some(MAX_FIELD_BYTES));
        assert_eq!(r.encryption_context, None);
        assert_eq!(r.outcome_code, "SignatureDoesNotMatch");
        ex.claimed_action = Some(long.clone());
        ex.claimed_product = Some(Product::Ram);
        let r = record_of(&ex, 1);
        assert!(r.action.starts_with("ram:xxx"), "{}", r.action);
        assert_eq!(r.action.len(), MAX_FIELD_BYTES);
    }

    #[test]
    fn bounded_cuts_on_a_character_boundary() {
        let s = format!("{}é", "a".repeat(MAX_FIELD_BYTES - 1));
        assert_eq!(bounded(&s), "a".repeat(MAX_FIELD_BYTES - 1));
        assert_eq!(bounded("short"), "short");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn every_submitted_record_is_stored_by_finish() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn KeyStore> = Arc::new(
            SqliteStore::open(&dir.path().join("keywarden.db"))
                .await
                .unwrap(),
        );
        let options = AuditOptions {
            queue: 8,
            max_batch: 4,
            ..AuditOptions::default()
        };
        let (sink, writer) = start(Arc::clone(&store), options).await.unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..8 {
            let sink = sink.clone();
            tasks.spawn(async move {
                for i in 0..50 {
                    let mut r = keywarden_store::conformance::sample_audit_record(
                        &format!("t{t}-{i}"),
                        now_ms(),
                    );
                    r.seq = 0;
                    sink.submit(r).await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        let head = writer.finish().await.unwrap();
        assert_eq!(head.seq, 400);
        let all = store.list_audit(None, 0, 1000).await.unwrap();
        assert_eq!(all.len(), 400);
        keywarden_core::audit::verify(keywarden_core::audit::ChainStart::Genesis, all).unwrap();
    }

    fn stranger(ip: &str, key: &str, code: &str, time_ms: i64) -> AuditRecord {
        AuditRecord {
            source_ip: ip.into(),
            access_key_id: Some(key.into()),
            user_name: None,
            encryption_context: None,
            outcome_code: code.into(),
            http_status: 404,
            ..keywarden_store::conformance::sample_audit_record(
                &format!("{key}-{time_ms}"),
                time_ms,
            )
        }
    }

    #[test]
    fn unauthenticated_requests_are_counted_per_source_and_outcome() {
        let agg = Aggregator::default();
        // One request alone: its record exactly.
        let alone = stranger("10.0.0.9", "KWONE", "SignatureDoesNotMatch", 5);
        agg.add(alone.clone());
        // A flood from one address with a fresh access key id each time: one record.
        for i in 0..1000 {
            agg.add(stranger(
                "10.0.0.1",
                &format!("KW{i}"),
                "InvalidAccessKeyId.NotFound",
                10 + i,
            ));
        }
        // The same key from the same address, twice: the key is kept.
        agg.add(stranger(
            "10.0.0.2",
            "KWSAME",
            "InvalidAccessKeyId.NotFound",
            7,
        ));
        agg.add(stranger(
            "10.0.0.2",
            "KWSAME",
            "InvalidAccessKeyId.NotFound",
            8,
        ));
        let records = agg.take();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[0], alone,
            "sorted by time; a group of one is the plain record"
        );
        let same = &records[1];
        assert_eq!(
            (same.count, same.access_key_id.as_deref()),
            (2, Some("KWSAME"))
        );
        assert_eq!(same.time_ms, 7, "the first request's time");
        let flood = &records[2];
        assert_eq!(flood.count, 1000);
        assert_eq!(flood.access_key_id, None, "keys differed");
        assert_eq!(flood.action, "kms:Encrypt", "the action they shared");
        assert_eq!(flood.request_id, "KW0-10");
        assert!(agg.take().is_empty(), "taken once");
    }

    #[test]
    fn the_groups_are_bounded() {
        let agg = Aggregator::default();
        for i in 0..MAX_GROUPS + 500 {
            let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            agg.add(stranger(&ip, "KW", "InvalidAccessKeyId.NotFound", 1));
        }
        let records = agg.take();
        assert_eq!(records.len(), MAX_GROUPS + 1);
        let rest: Vec<_> = records.iter().filter(|r| r.source_ip == "*").collect();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].count, 500);
        let total: u64 = records.iter().map(|r| r.count).sum();
        assert_eq!(total, (MAX_GROUPS + 500) as u64);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn counted_requests_reach_the_trail_at_finish() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn KeyStore> = Arc::new(
            SqliteStore::open(&dir.path().join("keywarden.db"))
                .await
                .unwrap(),
        );
        let (sink, writer) = start(Arc::clone(&store), AuditOptions::default())
            .await
            .unwrap();
        for i in 0..300 {
            let slot = sink.reserve().await.unwrap();
            slot.aggregate(stranger(
                "10.0.0.1",
                &format!("KW{i}"),
                "SignatureDoesNotMatch",
                i,
            ));
        }
        sink.reserve()
            .await
            .unwrap()
            .record(keywarden_store::conformance::sample_audit_record("real", 1));
        writer.finish().await.unwrap();
        let all = store.list_audit(None, 0, 1000).await.unwrap();
        assert_eq!(all.len(), 2, "one call, one group");
        assert_eq!(all[1].record.count, 300);
        keywarden_core::audit::verify(keywarden_core::audit::ChainStart::Genesis, all).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_writer_is_restarted_and_loses_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn KeyStore> = Arc::new(
            SqliteStore::open(&dir.path().join("keywarden.db"))
                .await
                .unwrap(),
        );
        INJECT.with(|n| n.set(2));
        let (sink, writer) = start(Arc::clone(&store), AuditOptions::default())
            .await
            .unwrap();
        INJECT.with(|n| n.set(0));
        let (mut admitted, mut refused) = (0u64, 0u64);
        let deadline = Instant::now() + Duration::from_secs(20);
        // Until the writer has panicked twice and calls are admitted again.
        while refused == 0 || admitted < 10 || sink.health.failing.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the writer did not recover");
            match sink.reserve().await {
                Ok(slot) => {
                    let mut r = keywarden_store::conformance::sample_audit_record(
                        &format!("r{admitted}"),
                        now_ms(),
                    );
                    r.seq = 0;
                    slot.record(r);
                    admitted += 1;
                }
                // While the writer is down calls are refused, never run unaudited.
                Err(e) => {
                    assert_eq!(e.code(), "ServiceUnavailableTemporary");
                    refused += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let head = writer.finish().await.unwrap();
        // Every admitted call's record survived both panics, in one verifiable chain.
        assert_eq!(head.seq, admitted);
        let all = store.list_audit(None, 0, 10_000).await.unwrap();
        assert_eq!(all.len() as u64, admitted);
        keywarden_core::audit::verify(keywarden_core::audit::ChainStart::Genesis, all).unwrap();
    }
}
