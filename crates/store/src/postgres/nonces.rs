//! The shared signature-nonce window: table `nonces`, one row per remembered request (its
//! 16-byte digest and the last second it could be replayed), so a request accepted by one node
//! is refused by every other.
//!
//! Nonces go through a pool of their own (`PgStore::connect`), whose connections run with
//! `synchronous_commit` off.
//!
//! [`remember`] is one statement: insert, or take over a row whose window has passed; a live row
//! makes it return no row, which is the replay. Those connections run with `synchronous_commit` off
//! (a nonce is not an acknowledged write: a database crash can forget the last few hundred
//! milliseconds of nonces, never a key). [`janitor`] deletes expired rows every
//! [`PRUNE_EVERY`], by the time the callers of [`remember`] gave (not this machine's clock),
//! less [`PRUNE_MARGIN`] for nodes whose clocks run behind: within
//! `conformance::NONCE_FORGET_WITHIN` after expiry.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};

use super::error::PgResultExt;
use crate::{NonceDigest, StoreResult};

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
