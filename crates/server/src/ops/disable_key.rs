//! DisableKey: a state change of the key-state machine (`keywarden_core::lifecycle`), a
//! compare-and-set on the key row.

use std::sync::Arc;

use keywarden_core::lifecycle::Transition;
use keywarden_store::KeyRecord;

use super::shared::{no_params, on_key_action};
use crate::action::{Call, Reply};
use crate::error::ApiError;
use crate::lifecycle::change_state;

on_key_action!(
    DisableKey,
    "DisableKey",
    (),
    dry_run = false,
    parse = no_params,
    run = run
);

async fn run(key: &Arc<KeyRecord>, _: &(), call: &Call<'_>) -> Result<Reply, ApiError> {
    change_state(call.kms, &key.key_id, Transition::Disable, |_, _| Ok(None)).await?;
    Ok(Reply::default())
}
