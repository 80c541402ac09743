//! PLACEHOLDER: to be written.

use deadpool_postgres::{GenericClient, Transaction};

use super::pending;
#[allow(unused_imports)]
use crate::*;
#[allow(unused_imports)]
use keywarden_core::model::AccessKeyStatus;

#[allow(unused_variables)]
pub(super) async fn rotate(
    tx: &Transaction<'_>,
    key: &KeyRecord,
    version: &VersionRecord,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
/// Returns the names of the aliases deleted with the key.
pub(super) async fn destroy(
    tx: &Transaction<'_>,
    key_id: &str,
    expected_revision: i64,
) -> StoreResult<Vec<String>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn due_deletions(
    c: &impl GenericClient,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<KeyRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn due_rotations(
    c: &impl GenericClient,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<KeyRecord>> {
    Err(pending())
}
