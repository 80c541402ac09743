//! UpdateKeyDescription: refused while the key is pending deletion (`Rejected.PendingDeletion`),
//! a compare-and-set on the key row. `Description` is required but may be empty (which clears
//! it).

use std::sync::Arc;

use keywarden_core::lifecycle::Requirement;
use keywarden_store::KeyRecord;

use super::create_key::MAX_DESCRIPTION_CHARS;
use super::shared::on_key_action;
use crate::action::{Call, Reply};
use crate::error::ApiError;
use crate::kms::require;
use crate::lifecycle::modify_key;
use crate::request::{ApiRequest, plain_text};

on_key_action!(
    UpdateKeyDescription,
    "UpdateKeyDescription",
    String,
    dry_run = false,
    parse = description,
    run = run
);

fn description(req: &ApiRequest) -> Result<String, ApiError> {
    let description = req
        .param("Description")
        .ok_or(ApiError::MissingParameter("Description"))?;
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::invalid(
            "Description",
            format!("longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    plain_text("Description", description)?;
    Ok(description.to_owned())
}

async fn run(key: &Arc<KeyRecord>, description: &str, call: &Call<'_>) -> Result<Reply, ApiError> {
    modify_key(call.kms, &key.key_id, |current, _| {
        require(current, Requirement::Mutable)?;
        Ok(KeyRecord {
            description: description.to_owned(),
            ..current.clone()
        })
    })
    .await?;
    Ok(Reply::default())
}
