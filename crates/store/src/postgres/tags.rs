//! PLACEHOLDER: to be written.

use deadpool_postgres::{GenericClient, Transaction};

use super::pending;
#[allow(unused_imports)]
use crate::*;
#[allow(unused_imports)]
use keywarden_core::model::AccessKeyStatus;

#[allow(unused_variables)]
pub(super) async fn put(tx: &Transaction<'_>, key_id: &str, tags: &[TagRecord]) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn delete(
    tx: &Transaction<'_>,
    key_id: &str,
    tag_keys: &[String],
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list(c: &impl GenericClient, key_id: &str) -> StoreResult<Vec<TagRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list_resources(
    c: &impl GenericClient,
    query: &TagQuery,
    after: Option<&TagCursor>,
    limit: i64,
) -> StoreResult<Vec<KeyTag>> {
    Err(pending())
}
