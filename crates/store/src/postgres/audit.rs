//! PLACEHOLDER: to be written.

use deadpool_postgres::{GenericClient, Transaction};

use super::pending;
#[allow(unused_imports)]
use crate::*;
#[allow(unused_imports)]
use keywarden_core::model::AccessKeyStatus;

#[allow(unused_variables)]
/// Appends under the audit lock (`pg_advisory_xact_lock`), chained after the head.
pub(super) async fn append(
    tx: &Transaction<'_>,
    records: &[AuditRecord],
) -> StoreResult<Option<AuditHead>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list(
    c: &impl GenericClient,
    since_ms: Option<i64>,
    after_seq: u64,
    limit: i64,
) -> StoreResult<Vec<ChainedRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn head(c: &impl GenericClient) -> StoreResult<Option<AuditHead>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn prune(
    tx: &Transaction<'_>,
    before_ms: i64,
    now_ms: i64,
) -> StoreResult<Option<AuditPruned>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn anchor(c: &impl GenericClient) -> StoreResult<Option<AuditHead>> {
    Err(pending())
}
