//! SetDeletionProtection: the key is named by `ProtectedResourceArn` (its ARN) or `KeyId`.
//! Turning protection off clears its description. Refused while the key is pending deletion;
//! a compare-and-set on the key row.

use keywarden_core::lifecycle::Requirement;
use keywarden_store::KeyRecord;

use super::shared::{KMS, OnKey, on_key_audit, on_key_targets};
use crate::action::AuditFacts;
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::{Kms, require};
use crate::lifecycle::modify_key;
use crate::request::{ApiRequest, plain_text};

/// Longest deletion-protection description, in characters.
const MAX_PROTECTION_DESCRIPTION_CHARS: usize = 8192;

/// The parameters.
pub struct SetDeletionProtection {
    key_ref: String,
    protection: Protection,
}

/// The new protection.
pub struct Protection {
    enable: bool,
    description: String,
}

impl Operation for SetDeletionProtection {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "SetDeletionProtection";
    type Resolved = OnKey<Protection>;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
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
        plain_text("DeletionProtectionDescription", description)?;
        Ok(SetDeletionProtection {
            key_ref: key_ref.to_owned(),
            protection: Protection {
                enable,
                description: description.to_owned(),
            },
        })
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<OnKey<Protection>, ApiError> {
        OnKey::resolve(kms, &self.key_ref, self.protection).await
    }

    fn targets(r: &OnKey<Protection>, kms: &Kms) -> Vec<Target> {
        on_key_targets(r, kms)
    }

    fn audit(r: &OnKey<Protection>, facts: &mut AuditFacts) {
        on_key_audit(r, facts);
    }

    async fn run(r: OnKey<Protection>, call: &Call<'_>) -> Result<Reply, ApiError> {
        let key = r.key_found()?;
        let p = r.params_ref();
        modify_key(call.kms, &key.key_id, |current, _| {
            require(current, Requirement::Mutable)?;
            Ok(KeyRecord {
                deletion_protection: p.enable,
                deletion_protection_description: p.description.clone(),
                ..current.clone()
            })
        })
        .await?;
        Ok(Reply::default())
    }
}
