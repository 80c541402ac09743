//! Background work with a date: destroying keys whose deletion window has ended
//! (crypto-shredding) and rotating keys whose automatic rotation is due.
//!
//! The schedule lives in the store (`delete_date`, `next_rotation_date` of each key row), not
//! in this process: a restarted server, or any other server on the same store, finds the same
//! due work. Every server runs [`spawn`]; exactly-once comes from the store's compare-and-set
//! (see [`lifecycle`]), so two servers ticking at the same moment destroy or rotate a key once
//! between them, and the loser simply finds nothing left to do.
//!
//! [`tick`] does one round with the time of [`Kms::now`], so tests move a
//! [`ManualClock`](crate::kms::ManualClock) and call it directly.

use std::sync::Arc;
use std::time::Duration;

use keywarden_store::KeyRecord;

use crate::error::ApiError;
use crate::kms::Kms;
use crate::lifecycle::{self, Destruction, Trigger};

/// Keys fetched per query.
const BATCH: u64 = 100;

/// Most batches of each kind per tick, so that one tick stays short; the rest waits a tick.
const MAX_BATCHES: usize = 10;

/// How the background loop runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedulerOptions {
    /// Time between ticks.
    pub interval: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
        }
    }
}

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Keys this tick destroyed.
    pub destroyed: usize,
    /// Keys this tick rotated.
    pub rotated: usize,
    /// Due keys another server (or a concurrent change) dealt with first.
    pub skipped: usize,
    /// Keys whose work failed; they are retried next tick.
    pub failed: usize,
}

/// Runs [`tick`] every `options.interval` until the task is aborted. The first tick runs at
/// once, so a restarted server catches up with work that fell due while it was down.
pub fn spawn(kms: Arc<Kms>, options: SchedulerOptions) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(options.interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match tick(&kms).await {
                Ok(report) if report != TickReport::default() => {
                    tracing::info!(?report, "scheduler: key lifecycle work");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "scheduler: tick failed"),
            }
        }
    })
}

/// One round: destroys every key whose deletion is due, then rotates every key whose automatic
/// rotation is due (at most ten batches of a hundred keys of each kind; the rest waits a tick).
pub async fn tick(kms: &Kms) -> Result<TickReport, ApiError> {
    let mut report = TickReport::default();
    destroy_due(kms, &mut report).await?;
    rotate_due(kms, &mut report).await?;
    Ok(report)
}

async fn destroy_due(kms: &Kms, report: &mut TickReport) -> Result<(), ApiError> {
    for _ in 0..MAX_BATCHES {
        let due = kms.store.due_deletions(kms.now(), BATCH).await?;
        let full = due.len() as u64 == BATCH;
        let before = report.destroyed + report.skipped;
        for key in due {
            destroy_one(kms, key, report).await;
        }
        if !full || report.destroyed + report.skipped == before {
            break;
        }
    }
    Ok(())
}

async fn destroy_one(kms: &Kms, key: KeyRecord, report: &mut TickReport) {
    let key_id = key.key_id.clone();
    match lifecycle::destroy_if_due(kms, key).await {
        Ok(Destruction::Destroyed) => {
            tracing::info!(key_id, "key destroyed: its deletion window ended");
            report.destroyed += 1;
        }
        Ok(Destruction::AlreadyGone | Destruction::NotDue) => report.skipped += 1,
        Err(e) => {
            tracing::warn!(key_id, error = %e, "could not destroy a key due for deletion");
            report.failed += 1;
        }
    }
}

async fn rotate_due(kms: &Kms, report: &mut TickReport) -> Result<(), ApiError> {
    for _ in 0..MAX_BATCHES {
        let due = kms.store.due_rotations(kms.now(), BATCH).await?;
        let full = due.len() as u64 == BATCH;
        let before = report.rotated + report.skipped;
        for key in due {
            rotate_one(kms, &key.key_id, report).await;
        }
        if !full || report.rotated + report.skipped == before {
            break;
        }
    }
    Ok(())
}

async fn rotate_one(kms: &Kms, key_id: &str, report: &mut TickReport) {
    match lifecycle::rotate(kms, key_id, Trigger::Scheduled).await {
        Ok(Some(rotated)) => {
            tracing::info!(
                key_id,
                version_id = rotated.version.version_id,
                "key rotated on schedule"
            );
            report.rotated += 1;
        }
        Ok(None) | Err(ApiError::KeyNotFound) => report.skipped += 1,
        Err(e) => {
            tracing::warn!(key_id, error = %e, "could not rotate a key due for rotation");
            report.failed += 1;
        }
    }
}
