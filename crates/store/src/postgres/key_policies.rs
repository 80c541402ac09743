//! PLACEHOLDER: to be written.

use deadpool_postgres::{GenericClient, Transaction};

use super::pending;
#[allow(unused_imports)]
use crate::*;
#[allow(unused_imports)]
use keywarden_core::model::AccessKeyStatus;

#[allow(unused_variables)]
pub(super) async fn put(tx: &Transaction<'_>, policy: &KeyPolicyRecord) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn get(
    c: &impl GenericClient,
    key_id: &str,
) -> StoreResult<Option<KeyPolicyRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn get_many(
    c: &impl GenericClient,
    key_ids: &[String],
) -> StoreResult<Vec<KeyPolicyRecord>> {
    Err(pending())
}
