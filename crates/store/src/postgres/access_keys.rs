//! PLACEHOLDER: to be written.

use deadpool_postgres::{GenericClient, Transaction};

use super::pending;
#[allow(unused_imports)]
use crate::*;
#[allow(unused_imports)]
use keywarden_core::model::AccessKeyStatus;

#[allow(unused_variables)]
pub(super) async fn put(tx: &Transaction<'_>, key: &AccessKeyRecord) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn get(
    c: &impl GenericClient,
    access_key_id: &str,
) -> StoreResult<Option<AccessKeyRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn create(
    tx: &Transaction<'_>,
    key: &AccessKeyRecord,
    max_per_user: i64,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list_by_user(
    c: &impl GenericClient,
    user_name: &str,
) -> StoreResult<Vec<AccessKeyRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn set_status(
    tx: &Transaction<'_>,
    access_key_id: &str,
    status: AccessKeyStatus,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn delete(tx: &Transaction<'_>, access_key_id: &str) -> StoreResult<()> {
    Err(pending())
}
