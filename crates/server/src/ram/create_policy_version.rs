//! CreatePolicyVersion: `SetAsDefault` (default false), `RotateStrategy` `None` (default) or
//! `DeleteOldestNonDefaultVersionWhenLimitExceeded`. A custom policy has at most
//! [`MAX_POLICY_VERSIONS`](super::MAX_POLICY_VERSIONS) versions; a new default applies to every
//! caller at once. Needs `policy/<PolicyName>`.

use super::params::{policy_document, policy_name};
use super::{Problem, RAM, RamError, policy_target, render};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::body;
use crate::request::ApiRequest;

/// The validated parameters.
pub struct CreatePolicyVersion {
    name: String,
    document: String,
    set_default: bool,
    rotate: bool,
}

impl Operation for CreatePolicyVersion {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "CreatePolicyVersion";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(CreatePolicyVersion {
            name: policy_name(req)?.to_owned(),
            document: policy_document(req)?.to_owned(),
            set_default: req.bool("SetAsDefault")?.unwrap_or(false),
            rotate: rotate_strategy(req)?,
        })
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        policy_target(kms, &p.name)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let version = call
            .kms
            .add_policy_version(&p.name, &p.document, p.set_default, p.rotate)
            .await?;
        let answer = render::custom_version(&version, p.set_default);
        Ok(body([("PolicyVersion", answer)]).into())
    }
}

/// Whether `RotateStrategy` deletes the oldest non-default version at the limit.
fn rotate_strategy(req: &ApiRequest) -> Result<bool, ApiError> {
    match req.optional("RotateStrategy") {
        None | Some("None") => Ok(false),
        Some("DeleteOldestNonDefaultVersionWhenLimitExceeded") => Ok(true),
        Some(_) => Err(RamError::invalid(
            "RotateStrategy",
            Problem::Format,
            "must be None or DeleteOldestNonDefaultVersionWhenLimitExceeded",
        )),
    }
}
