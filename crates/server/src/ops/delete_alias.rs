//! DeleteAlias: needs the alias's ARN and its current key's. The alias is deleted only if it
//! still names the key that was authorized (else 409 `Rejected.StateModifiedFailed`).

use super::shared::KMS;
use crate::action::AuditFacts;
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The parameters.
pub struct DeleteAlias {
    name: String,
}

/// The alias and its current key.
pub struct Resolved {
    name: String,
    current: Option<String>,
}

impl Operation for DeleteAlias {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "DeleteAlias";
    type Resolved = Resolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(DeleteAlias {
            name: req.required("AliasName")?.to_owned(),
        })
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<Resolved, ApiError> {
        let current = match self.name.starts_with("alias/") {
            true => kms.alias_current(&self.name).await?,
            false => None,
        };
        Ok(Resolved {
            name: self.name,
            current,
        })
    }

    fn targets(r: &Resolved, kms: &Kms) -> Vec<Target> {
        let mut resources = vec![kms.realm.alias_arn(&r.name)];
        resources.extend(r.current.as_deref().map(|k| kms.realm.key_arn(k)));
        vec![Target::of(resources)]
    }

    fn audit(r: &Resolved, facts: &mut AuditFacts) {
        facts.key_id.clone_from(&r.current);
    }

    async fn run(r: Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        let current = r.current.as_deref().ok_or(ApiError::AliasNotFound)?;
        call.kms.delete_alias(&r.name, current).await?;
        Ok(Reply::default())
    }
}
