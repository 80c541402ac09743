//! DetachPolicyFromUser: applies to the user's next call at once. Needs `user/<UserName>` and
//! `policy/<PolicyName>`.

use super::params::AttachmentRef;
use super::{RAM, attachment_target, lookup};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The validated `PolicyType`, `PolicyName` and `UserName`.
pub struct DetachPolicyFromUser(AttachmentRef);

impl Operation for DetachPolicyFromUser {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "DetachPolicyFromUser";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        AttachmentRef::parse(req).map(DetachPolicyFromUser)
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        attachment_target(kms, &p.0)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let a = &p.0;
        lookup::parties(call.kms, a).await?;
        call.kms.detach_policy(&a.user, a.kind, &a.policy).await?;
        Ok(Reply::default())
    }
}
