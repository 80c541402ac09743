//! ListPolicyVersions: every version of a policy, oldest first. Needs `policy/<PolicyName>`.

use serde_json::{Value, json};

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
pub struct ListPolicyVersions(PolicyRef);

impl Operation for ListPolicyVersions {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "ListPolicyVersions";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        PolicyRef::parse(req).map(ListPolicyVersions)
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        policy_target(kms, &p.0.name)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let items = versions(call.kms, &p.0).await?;
        Ok(body([("PolicyVersions", json!({ "PolicyVersion": items }))]).into())
    }
}

/// The versions of the policy, rendered.
async fn versions(kms: &Kms, policy: &PolicyRef) -> Result<Vec<Value>, ApiError> {
    match policy.kind {
        PolicyType::System => Ok(vec![render::system_version(lookup::system(&policy.name)?)]),
        PolicyType::Custom => {
            let p = lookup::custom(kms, &policy.name).await?;
            let all = kms.store.list_policy_versions(&policy.name).await?;
            Ok(all.iter().map(|v| render::version_of(&p, v)).collect())
        }
    }
}
