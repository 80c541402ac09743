//! SetDefaultPolicyVersion: the version a custom policy grants, for every caller it is attached
//! to at once. Needs `policy/<PolicyName>`.

use super::params::VersionRef;
use super::{RAM, lookup, policy_target};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The validated `PolicyName` and `VersionId`.
pub struct SetDefaultPolicyVersion(VersionRef);

impl Operation for SetDefaultPolicyVersion {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "SetDefaultPolicyVersion";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        VersionRef::parse(req).map(SetDefaultPolicyVersion)
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        policy_target(kms, &p.0.policy)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let VersionRef { policy, version_id } = &p.0;
        lookup::custom(call.kms, policy).await?;
        call.kms
            .set_default_policy_version(policy, version_id)
            .await?;
        Ok(Reply::default())
    }
}
