//! GetPolicyVersion: one version of a policy (a system policy has only `v1`). Needs
//! `policy/<PolicyName>`.

use serde_json::Value;

use super::params::{PolicyRef, PolicyType, version_id};
use super::{RAM, RamError, lookup, policy_target, render};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::body;
use crate::request::ApiRequest;

/// The validated parameters.
pub struct GetPolicyVersion {
    policy: PolicyRef,
    version_id: String,
}

impl Operation for GetPolicyVersion {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "GetPolicyVersion";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(GetPolicyVersion {
            policy: PolicyRef::parse(req)?,
            version_id: version_id(req)?.to_owned(),
        })
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        policy_target(kms, &p.policy.name)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let version = version(call.kms, &p.policy, &p.version_id).await?;
        Ok(body([("PolicyVersion", version)]).into())
    }
}

/// Version `id` of the policy, rendered.
async fn version(kms: &Kms, policy: &PolicyRef, id: &str) -> Result<Value, ApiError> {
    match policy.kind {
        PolicyType::System => {
            let p = lookup::system(&policy.name)?;
            if id != "v1" {
                return Err(RamError::PolicyVersionNotFound.into());
            }
            Ok(render::system_version(p))
        }
        PolicyType::Custom => {
            let p = lookup::custom(kms, &policy.name).await?;
            let v = lookup::version(kms, &policy.name, id).await?;
            Ok(render::version_of(&p, &v))
        }
    }
}
