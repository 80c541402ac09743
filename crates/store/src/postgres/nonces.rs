//! The shared signature-nonce window: table `nonces`, one row per remembered request (its
//! 16-byte digest and the last second it could be replayed), so a request accepted by one node
//! is refused by every other.
//!
//! Nonces go through a pool of their own (`PgStore::connect`), whose connections run with
//! `synchronous_commit` off.
//!
//! [`remember`] is one statement: insert, or take over a row whose window has passed; a live row
//! makes it return no row, which is the replay. Under load the [`Batcher`] sends the nonces of
//! concurrent calls as one such statement (arrays of digests and expiries): one round trip and
//! one commit for every call waiting while the previous batch ran, instead of one each. Those
//! connections run with `synchronous_commit` off
//! (a nonce is not an acknowledged write: a database crash can forget the last few hundred
//! milliseconds of nonces, never a key). [`janitor`] deletes expired rows every
//! [`PRUNE_EVERY`], by the time the callers of [`remember`] gave (not this machine's clock),
//! less [`PRUNE_MARGIN`] for nodes whose clocks run behind: within
//! `conformance::NONCE_FORGET_WITHIN` after expiry.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};
use tokio::sync::{mpsc, oneshot};

use super::error::{PgResultExt, pool_failed};
use crate::{NonceDigest, StoreError, StoreResult};

/// How often expired nonces are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Seconds an expired nonce is kept beyond its expiry, for nodes whose clocks are behind.
const PRUNE_MARGIN: i64 = 60;

/// The latest time any caller of [`remember`] on this node gave (Unix seconds; 0: none yet).
#[derive(Debug, Default)]
pub(super) struct Clock(AtomicI64);

impl Clock {
    pub(super) fn saw(&self, now: i64) {
        self.0.fetch_max(now, Ordering::Relaxed);
    }

    fn latest(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }
}

/// Rows deleted per statement (so that one prune never holds many row locks for long).
const PRUNE_BATCH: i64 = 10_000;

const REMEMBER: &str = "
INSERT INTO nonces (digest, expires_at) VALUES ($1, $2)
ON CONFLICT (digest) DO UPDATE SET expires_at = EXCLUDED.expires_at
    WHERE nonces.expires_at < $3
RETURNING 1";

/// Records `digest` until `expires_at`; `false` if it is recorded and `now <= ` its expiry.
pub(super) async fn remember(
    c: &impl GenericClient,
    digest: &NonceDigest,
    expires_at: i64,
    now: i64,
) -> StoreResult<bool> {
    let stmt = c.prepare_cached(REMEMBER).await.db()?;
    let row = c
        .query_opt(&stmt, &[&digest.as_slice(), &expires_at, &now])
        .await
        .db()?;
    Ok(row.is_some())
}

/// Many records at once: the digests (and expiries) that were inserted, or whose stored window
/// had passed before `$3`, come back; the others are replays.
const REMEMBER_MANY: &str = "
INSERT INTO nonces (digest, expires_at)
    SELECT * FROM unnest($1::bytea[], $2::bigint[])
ON CONFLICT (digest) DO UPDATE SET expires_at = EXCLUDED.expires_at
    WHERE nonces.expires_at < $3
RETURNING digest";

/// Calls whose nonces one statement records at most.
const MAX_BATCH: usize = 1024;

/// Calls that may wait for the batcher at once (beyond, `remember` waits for room).
const QUEUE: usize = 8192;

/// One call's nonce, and where its answer goes.
struct Pending {
    digest: NonceDigest,
    expires_at: i64,
    now: i64,
    reply: oneshot::Sender<StoreResult<bool>>,
}

/// Gathers the nonces of concurrent calls into one statement (see the module docs).
#[derive(Debug, Clone)]
pub(super) struct Batcher {
    queue: mpsc::Sender<Pending>,
}

impl Batcher {
    /// The batcher and its task, which sends batches on connections of `pool`.
    pub(super) fn start(pool: Pool) -> (Batcher, tokio::task::JoinHandle<()>) {
        let (queue, waiting) = mpsc::channel(QUEUE);
        (Batcher { queue }, tokio::spawn(run(pool, waiting)))
    }

    /// As [`remember`], batched with the calls waiting at the same time.
    pub(super) async fn remember(
        &self,
        digest: &NonceDigest,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            digest: *digest,
            expires_at,
            now,
            reply,
        };
        let gone = || StoreError::Unavailable("the nonce batcher stopped".into());
        self.queue.send(pending).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// Takes what waits (at least one call, at most [`MAX_BATCH`]), records it, answers, repeats.
async fn run(pool: Pool, mut waiting: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut seen = HashSet::with_capacity(batch.len());
        // A digest repeated within one batch is a replay of its first occurrence.
        let first: Vec<bool> = batch.iter().map(|p| seen.insert(p.digest)).collect();
        let outcome = record(&pool, &batch, &first).await;
        for (pending, first) in batch.drain(..).zip(first) {
            let answer = match &outcome {
                Ok(accepted) => Ok(first && accepted.contains(&pending.digest)),
                Err(e) => Err(like(e)),
            };
            let _ = pending.reply.send(answer);
        }
    }
}

/// Records the first occurrences in `batch` in one statement; the digests accepted.
async fn record(
    pool: &Pool,
    batch: &[Pending],
    first: &[bool],
) -> StoreResult<HashSet<NonceDigest>> {
    let (digests, expiries): (Vec<&[u8]>, Vec<i64>) = batch
        .iter()
        .zip(first)
        .filter(|(_, first)| **first)
        .map(|(p, _)| (p.digest.as_slice(), p.expires_at))
        .unzip();
    // The earliest clock of the batch decides what has expired: a nonce whose window closed
    // between two calls of one batch (milliseconds apart) is refused, never one still open.
    let now = batch.iter().map(|p| p.now).min().unwrap_or(0);
    let conn = pool.get().await.map_err(pool_failed)?;
    let stmt = conn.prepare_cached(REMEMBER_MANY).await.db()?;
    let rows = conn.query(&stmt, &[&digests, &expiries, &now]).await.db()?;
    Ok(rows
        .iter()
        .filter_map(|row| NonceDigest::try_from(row.get::<_, &[u8]>(0)).ok())
        .collect())
}

/// A failure of the same kind as `e` (each call of a failed batch gets one; errors are not
/// `Clone`).
fn like(e: &StoreError) -> StoreError {
    let text = format!("recording the nonces of a batch of calls: {e}");
    match e {
        StoreError::Unavailable(_) => StoreError::Unavailable(text.into()),
        _ => StoreError::Backend(text.into()),
    }
}

/// Deletes expired nonces (those whose window closed before `now`), in batches.
pub(super) async fn prune(c: &impl GenericClient, now: i64) -> StoreResult<u64> {
    let mut total = 0;
    loop {
        let n = c
            .execute(
                "DELETE FROM nonces WHERE digest IN
                   (SELECT digest FROM nonces WHERE expires_at < $1 LIMIT $2)",
                &[&now, &PRUNE_BATCH],
            )
            .await
            .db()?;
        total += n;
        if n < u64::try_from(PRUNE_BATCH).unwrap_or(u64::MAX) {
            return Ok(total);
        }
    }
}

/// Prunes every [`PRUNE_EVERY`] for as long as the store lives; a failure waits for the next
/// round (several nodes pruning at once only delete the same rows).
pub(super) async fn janitor(pool: Pool, clock: Arc<Clock>) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(now) = clock.latest() else {
            continue;
        };
        let now = now.saturating_sub(PRUNE_MARGIN);
        let Ok(conn) = pool.get().await else {
            continue;
        };
        if let Err(e) = prune(&conn, now).await {
            tracing::warn!(error = %e, "could not prune expired nonces");
        }
    }
}
