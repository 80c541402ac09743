//! DeletePolicy: a custom policy that is not attached and has only its default version, or
//! with `CascadingDelete=true` any custom policy (its attachments and versions go too). Needs
//! `policy/<PolicyName>`.

use super::params::policy_name;
use super::{RAM, policy_target};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The validated parameters.
pub struct DeletePolicy {
    name: String,
    cascade: bool,
}

impl Operation for DeletePolicy {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "DeletePolicy";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(DeletePolicy {
            name: policy_name(req)?.to_owned(),
            cascade: req.bool("CascadingDelete")?.unwrap_or(false),
        })
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        policy_target(kms, &p.name)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        call.kms.delete_policy(&p.name, p.cascade).await?;
        Ok(Reply::default())
    }
}
