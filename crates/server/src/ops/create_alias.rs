//! CreateAlias: binds a new alias to a key that is not pending deletion. Needs the alias's ARN
//! and the key's.

use keywarden_core::lifecycle::Requirement;
use keywarden_core::model::validate_alias;
use keywarden_store::AliasRecord;

use super::shared::KMS;
use crate::action::AuditFacts;
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::{Kms, require};
use crate::request::ApiRequest;
use crate::resolve::KeyTarget;

/// The parameters.
pub struct CreateAlias {
    name: String,
    key_id: String,
}

/// The alias name and the key resolved.
pub struct Resolved {
    name: String,
    key: KeyTarget,
}

/// A valid `AliasName`.
pub fn alias_name(req: &ApiRequest) -> Result<String, ApiError> {
    let name = req.required("AliasName")?;
    validate_alias(name).map_err(|e| ApiError::invalid("AliasName", e.to_string()))?;
    Ok(name.to_owned())
}

impl Operation for CreateAlias {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "CreateAlias";
    type Resolved = Resolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(CreateAlias {
            name: alias_name(req)?,
            key_id: req.required("KeyId")?.to_owned(),
        })
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<Resolved, ApiError> {
        Ok(Resolved {
            key: KeyTarget::resolve(kms, &self.key_id).await?,
            name: self.name,
        })
    }

    fn targets(r: &Resolved, kms: &Kms) -> Vec<Target> {
        vec![Target::of(vec![
            kms.realm.alias_arn(&r.name),
            r.key.arn(kms),
        ])]
    }

    fn audit(r: &Resolved, facts: &mut AuditFacts) {
        facts.key_id = Some(r.key.audit_id());
    }

    async fn run(r: Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        let key = r.key.found()?;
        require(key, Requirement::AliasTarget)?;
        let alias = AliasRecord {
            alias_name: r.name,
            key_id: key.key_id.clone(),
            creation_date: call.kms.now(),
        };
        call.kms.create_alias(&alias).await?;
        Ok(Reply::default())
    }
}
