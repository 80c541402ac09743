//! GetPolicy: the policy, its attachment count, and its default version with the document.
//! System policies (`keywarden_core::policy::SYSTEM_POLICIES`) are built in, with one version
//! `v1`. Needs `policy/<PolicyName>`.

use serde_json::Value;

use super::params::{PolicyRef, PolicyType};
use super::{RAM, lookup, policy_target, render};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::body;
use crate::request::ApiRequest;

/// The validated `PolicyName` and `PolicyType`.
pub struct GetPolicy(PolicyRef);

impl Operation for GetPolicy {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "GetPolicy";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        PolicyRef::parse(req).map(GetPolicy)
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        policy_target(kms, &p.0.name)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let (mut policy, version) = summary_and_default(call.kms, &p.0).await?;
        policy["PolicyDocument"] = version["PolicyDocument"].clone();
        Ok(body([("Policy", policy), ("DefaultPolicyVersion", version)]).into())
    }
}

/// The summary of the policy and its default version.
async fn summary_and_default(kms: &Kms, p: &PolicyRef) -> Result<(Value, Value), ApiError> {
    match p.kind {
        PolicyType::System => {
            let s = lookup::system(&p.name)?;
            Ok((
                render::system_summary(kms, s).await?,
                render::system_version(s),
            ))
        }
        PolicyType::Custom => {
            let c = lookup::custom(kms, &p.name).await?;
            let v = lookup::version(kms, &p.name, &c.default_version).await?;
            Ok((
                render::custom_summary(kms, &c).await?,
                render::custom_version(&v, true),
            ))
        }
    }
}
