//! UpdateKeyDescription and SetDeletionProtection: metadata changes, refused while the key is
//! pending deletion (`Rejected.PendingDeletion`), each a compare-and-set on the key row.

use keywarden_core::lifecycle::Requirement;
use keywarden_store::KeyRecord;

use super::Body;
use super::create_key::MAX_DESCRIPTION_CHARS;
use crate::error::ApiError;
use crate::kms::{Kms, require};
use crate::lifecycle::modify_key;
use crate::request::ApiRequest;

/// Longest deletion-protection description, in characters.
const MAX_PROTECTION_DESCRIPTION_CHARS: usize = 8192;

/// UpdateKeyDescription. `Description` is required but may be empty (which clears it).
pub async fn update_description(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let key_ref = req.required("KeyId")?;
    let description = req
        .param("Description")
        .ok_or(ApiError::MissingParameter("Description"))?;
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::invalid(
            "Description",
            format!("longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    let key = kms.resolve(key_ref).await?;
    modify_key(kms, &key.key_id, |current, _| {
        require(current, Requirement::Mutable)?;
        Ok(KeyRecord {
            description: description.to_owned(),
            ..current.clone()
        })
    })
    .await?;
    Ok(Body::new())
}

/// SetDeletionProtection: the key is named by `ProtectedResourceArn` (its ARN) or `KeyId`.
/// Turning protection off clears its description.
pub async fn set_deletion_protection(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let enable = req
        .bool("EnableDeletionProtection")?
        .ok_or(ApiError::MissingParameter("EnableDeletionProtection"))?;
    let key_ref = req
        .optional("ProtectedResourceArn")
        .or_else(|| req.optional("KeyId"))
        .ok_or(ApiError::MissingParameter("ProtectedResourceArn"))?;
    let description = if enable {
        req.param("DeletionProtectionDescription")
            .unwrap_or_default()
    } else {
        ""
    };
    if description.chars().count() > MAX_PROTECTION_DESCRIPTION_CHARS {
        return Err(ApiError::invalid(
            "DeletionProtectionDescription",
            format!("longer than {MAX_PROTECTION_DESCRIPTION_CHARS} characters"),
        ));
    }
    let key = kms.resolve(key_ref).await?;
    modify_key(kms, &key.key_id, |current, _| {
        require(current, Requirement::Mutable)?;
        Ok(KeyRecord {
            deletion_protection: enable,
            deletion_protection_description: description.to_owned(),
            ..current.clone()
        })
    })
    .await?;
    Ok(Body::new())
}
