//! Retention of the audit trail (`serve --audit-retention DAYS`): at start and then every
//! [`PRUNE_EVERY`], records older than the retention period are removed with
//! `KeyStore::prune_audit`, which first moves the trail's anchor to the last record removed.
//! `keywarden audit --verify` then proves what is left from that anchor; each prune logs the
//! new anchor (`audit_anchor=<seq>:<hash>`), so it can be checked against a copy kept
//! elsewhere, like the head. Without the flag nothing is ever removed.

use std::sync::Arc;
use std::time::Duration;

use keywarden_store::{AuditPruned, KeyStore, StoreError};
use tokio::task::JoinHandle;

/// How often the trail is pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Prunes the trail of `store` to the last `days` days now and every [`PRUNE_EVERY`].
pub fn spawn(store: Arc<dyn KeyStore>, days: u32) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = prune_once(&*store, days, crate::audit::now_ms()).await {
                // Retried at the next tick; the trail only grows meanwhile.
                tracing::warn!(error = %e, "audit retention: pruning failed");
            }
        }
    })
}

/// Removes the records older than `days` days before `now_ms`, logging the new anchor.
pub async fn prune_once(
    store: &dyn KeyStore,
    days: u32,
    now_ms: i64,
) -> Result<Option<AuditPruned>, StoreError> {
    let before_ms = now_ms.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
    let pruned = store.prune_audit(before_ms, now_ms).await?;
    if let Some(p) = pruned {
        tracing::info!(
            removed = p.removed,
            audit_anchor = %p.anchor,
            "audit retention: records older than {days} days removed; the rest verifies from this anchor"
        );
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use keywarden_store::conformance::sample_audit_record;
    use keywarden_store::sqlite::SqliteStore;

    #[tokio::test]
    async fn records_older_than_the_period_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("keywarden.db"))
            .await
            .unwrap();
        let now = 100 * DAY_MS;
        let records: Vec<_> = [1, 50, 69, 71, 99]
            .iter()
            .map(|d| sample_audit_record(&format!("d{d}"), d * DAY_MS))
            .collect();
        store.append_audit(&records).await.unwrap();
        let pruned = prune_once(&store, 30, now).await.unwrap().unwrap();
        assert_eq!((pruned.removed, pruned.anchor.seq), (3, 3));
        assert!(prune_once(&store, 30, now).await.unwrap().is_none());
        let left = store.list_audit(None, 0, 10).await.unwrap();
        assert_eq!(left.len(), 2);
        assert_eq!(left[0].record.request_id, "d71");
    }
}
