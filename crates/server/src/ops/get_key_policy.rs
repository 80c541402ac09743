//! GetKeyPolicy: a key's policy as it was set (`PolicyName` may only be `default`); a key that
//! was never given one answers the default key policy
//! (`keywarden_core::policy::KeyPolicy::default_document`: the account's RAM identities get
//! `kms:*`, so their RAM policies decide).

use std::sync::Arc;

use keywarden_core::policy::KeyPolicy;
use keywarden_store::KeyRecord;
use serde_json::json;

use super::set_key_policy::policy_name;
use super::shared::{body, on_key_action};
use crate::action::{Call, Reply};
use crate::error::ApiError;

on_key_action!(
    GetKeyPolicy,
    "GetKeyPolicy",
    (),
    dry_run = false,
    parse = policy_name,
    run = run
);

async fn run(key: &Arc<KeyRecord>, _: &(), call: &Call<'_>) -> Result<Reply, ApiError> {
    let stored = call.kms.store.get_key_policy(&key.key_id).await?;
    let document = match stored {
        Some(record) => record.document,
        None => KeyPolicy::default_document(&call.kms.realm.account),
    };
    let out = body([("Policy", json!(document))]);
    Ok(Reply::about(out, &key.key_id, None))
}
