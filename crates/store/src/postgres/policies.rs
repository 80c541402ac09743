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
    policy: &PolicyRecord,
    first: &PolicyVersionRecord,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn get(
    c: &impl GenericClient,
    policy_name: &str,
) -> StoreResult<Option<PolicyRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list(
    c: &impl GenericClient,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<PolicyRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn delete(
    tx: &Transaction<'_>,
    policy_name: &str,
    cascade: bool,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn add_version(
    tx: &Transaction<'_>,
    policy_name: &str,
    document: &str,
    create_date: i64,
    options: VersionOptions,
) -> StoreResult<PolicyVersionRecord> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn get_version(
    c: &impl GenericClient,
    policy_name: &str,
    version_id: &str,
) -> StoreResult<Option<PolicyVersionRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list_versions(
    c: &impl GenericClient,
    policy_name: &str,
) -> StoreResult<Vec<PolicyVersionRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn set_default_version(
    tx: &Transaction<'_>,
    policy_name: &str,
    version_id: &str,
    update_date: i64,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn delete_version(
    tx: &Transaction<'_>,
    policy_name: &str,
    version_id: &str,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn attach(tx: &Transaction<'_>, attachment: &AttachmentRecord) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn detach(
    tx: &Transaction<'_>,
    principal_type: &str,
    principal_name: &str,
    policy_type: &str,
    policy_name: &str,
) -> StoreResult<()> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn list_attachments(
    c: &impl GenericClient,
    principal_type: &str,
    principal_name: &str,
) -> StoreResult<Vec<AttachmentRecord>> {
    Err(pending())
}

#[allow(unused_variables)]
pub(super) async fn count_attachments(
    c: &impl GenericClient,
    policy_type: &str,
    policy_name: &str,
) -> StoreResult<u64> {
    Err(pending())
}
