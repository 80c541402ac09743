//! PLACEHOLDER: to be written.

use deadpool_postgres::{GenericClient, Transaction};

use super::pending;
#[allow(unused_imports)]
use crate::*;
#[allow(unused_imports)]
use keywarden_core::model::AccessKeyStatus;

#[allow(unused_variables)]
pub(super) async fn insert(tx: &Transaction<'_>, version: &VersionRecord) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn get(
    c: &impl GenericClient,
    version_id: &str,
) -> StoreResult<Option<VersionRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list(
    c: &impl GenericClient,
    key_id: &str,
    page: Page,
) -> StoreResult<Paged<VersionRecord>> {
    Err(pending())
}
