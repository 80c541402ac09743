//! DeletePolicyVersion: any version of a custom policy but the default. Needs
//! `policy/<PolicyName>`.

use super::params::VersionRef;
use super::{RAM, lookup, policy_target};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The validated `PolicyName` and `VersionId`.
pub struct DeletePolicyVersion(VersionRef);

impl Operation for DeletePolicyVersion {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "DeletePolicyVersion";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        VersionRef::parse(req).map(DeletePolicyVersion)
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
        call.kms.delete_policy_version(policy, version_id).await?;
        Ok(Reply::default())
    }
}
