//! PLACEHOLDER: to be written.

use deadpool_postgres::{GenericClient, Transaction};

use super::pending;
#[allow(unused_imports)]
use crate::*;
#[allow(unused_imports)]
use keywarden_core::model::AccessKeyStatus;

#[allow(unused_variables)]
pub(super) async fn create(tx: &Transaction<'_>, user: &UserRecord) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn get(
    c: &impl GenericClient,
    user_name: &str,
) -> StoreResult<Option<UserRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list(
    c: &impl GenericClient,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<UserRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
/// Returns the ids of the access keys moved to the new name (empty without a rename).
pub(super) async fn update(
    tx: &Transaction<'_>,
    user_name: &str,
    user: &UserRecord,
) -> StoreResult<Vec<String>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn delete(tx: &Transaction<'_>, user_name: &str) -> StoreResult<()> {
    Err(pending())
}
