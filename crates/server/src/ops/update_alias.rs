//! UpdateAlias: points an existing alias at another key (not pending deletion). Needs the
//! alias's ARN, the new key's and the current key's. The alias is moved only if it still names
//! the key that was authorized (compare-and-set in the store), else 409
//! `Rejected.StateModifiedFailed`.

use keywarden_core::lifecycle::Requirement;

use super::create_alias::alias_name;
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
pub struct UpdateAlias {
    name: String,
    key_id: String,
}

/// The alias's current key and the new key, resolved.
pub struct Resolved {
    name: String,
    current: Option<String>,
    key: KeyTarget,
}

impl Operation for UpdateAlias {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "UpdateAlias";
    type Resolved = Resolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(UpdateAlias {
            name: alias_name(req)?,
            key_id: req.required("KeyId")?.to_owned(),
        })
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<Resolved, ApiError> {
        Ok(Resolved {
            current: kms.alias_current(&self.name).await?,
            key: KeyTarget::resolve(kms, &self.key_id).await?,
            name: self.name,
        })
    }

    fn targets(r: &Resolved, kms: &Kms) -> Vec<Target> {
        let mut resources = vec![kms.realm.alias_arn(&r.name), r.key.arn(kms)];
        resources.extend(r.current.as_deref().map(|k| kms.realm.key_arn(k)));
        vec![Target::of(resources)]
    }

    fn audit(r: &Resolved, facts: &mut AuditFacts) {
        facts.key_id = Some(r.key.audit_id());
    }

    async fn run(r: Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        let current = r.current.as_deref().ok_or(ApiError::AliasNotFound)?;
        let key = r.key.found()?;
        require(key, Requirement::Mutable)?;
        call.kms.update_alias(&r.name, &key.key_id, current).await?;
        Ok(Reply::default())
    }
}
