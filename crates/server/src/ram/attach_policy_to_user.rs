//! AttachPolicyToUser: applies to the user's next call at once. Needs `user/<UserName>` and
//! `policy/<PolicyName>`.

use keywarden_store::{AttachmentRecord, PRINCIPAL_USER};

use super::params::AttachmentRef;
use super::{RAM, attachment_target, lookup};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The validated `PolicyType`, `PolicyName` and `UserName`.
pub struct AttachPolicyToUser(AttachmentRef);

impl Operation for AttachPolicyToUser {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "AttachPolicyToUser";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        AttachmentRef::parse(req).map(AttachPolicyToUser)
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        attachment_target(kms, &p.0)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        lookup::parties(call.kms, &p.0).await?;
        let AttachmentRef { kind, policy, user } = p.0;
        let attachment = AttachmentRecord {
            principal_type: PRINCIPAL_USER.into(),
            principal_name: user,
            policy_type: kind.as_str().into(),
            policy_name: policy,
            attach_date: call.kms.now(),
        };
        call.kms.attach_policy(&attachment).await?;
        Ok(Reply::default())
    }
}
