//! PLACEHOLDER: to be written.

use deadpool_postgres::{GenericClient, Transaction};

use super::pending;
#[allow(unused_imports)]
use crate::*;
#[allow(unused_imports)]
use keywarden_core::model::AccessKeyStatus;

#[allow(unused_variables)]
pub(super) async fn create(
    tx: &Transaction<'_>,
    key: &KeyRecord,
    first: &VersionRecord,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn get(c: &impl GenericClient, key_id: &str) -> StoreResult<Option<KeyRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list(
    c: &impl GenericClient,
    filter: &KeyFilter,
    page: Page,
) -> StoreResult<Paged<KeyRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn update(tx: &Transaction<'_>, key: &KeyRecord) -> StoreResult<()> {
    Err(pending())
}
