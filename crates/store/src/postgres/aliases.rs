//! PLACEHOLDER: to be written.

use deadpool_postgres::{GenericClient, Transaction};

use super::pending;
#[allow(unused_imports)]
use crate::*;
#[allow(unused_imports)]
use keywarden_core::model::AccessKeyStatus;

#[allow(unused_variables)]
pub(super) async fn insert(tx: &Transaction<'_>, alias: &AliasRecord) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn repoint(
    tx: &Transaction<'_>,
    alias_name: &str,
    key_id: &str,
    expected: &str,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn delete(
    tx: &Transaction<'_>,
    alias_name: &str,
    expected: &str,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn get(
    c: &impl GenericClient,
    alias_name: &str,
) -> StoreResult<Option<AliasRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list(
    c: &impl GenericClient,
    key_id: Option<&str>,
    page: Page,
) -> StoreResult<Paged<AliasRecord>> {
    Err(pending())
}
