//! CreatePolicy: a custom policy with version `v1` as its default. A custom policy cannot take
//! a system policy's name. Needs `policy/<PolicyName>`.

use keywarden_core::policy::system_policy;
use keywarden_store::{POLICY_CUSTOM, PolicyRecord, PolicyVersionRecord};
use serde_json::json;

use super::params::{MAX_DESCRIPTION, policy_document, policy_name, refuse_tags, text};
use super::{RAM, RamError, policy_target, render};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::body;
use crate::request::ApiRequest;

/// The validated parameters.
pub struct CreatePolicy {
    name: String,
    document: String,
    description: String,
}

impl Operation for CreatePolicy {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "CreatePolicy";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        let name = policy_name(req)?.to_owned();
        let document = policy_document(req)?.to_owned();
        let description = text(req, "Description", MAX_DESCRIPTION)?.unwrap_or_default();
        refuse_tags(req)?;
        Ok(CreatePolicy {
            name,
            document,
            description,
        })
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        policy_target(kms, &p.name)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        if system_policy(&p.name).is_some() {
            return Err(RamError::PolicyExists.into());
        }
        let now = call.kms.now();
        let version = PolicyVersionRecord {
            policy_name: p.name.clone(),
            version_id: "v1".into(),
            document: p.document,
            create_date: now,
        };
        let policy = PolicyRecord {
            policy_name: p.name,
            description: p.description,
            default_version: version.version_id.clone(),
            create_date: now,
            update_date: now,
        };
        call.kms.create_policy(&policy, &version).await?;
        let answer = json!({
            "PolicyName": policy.policy_name,
            "PolicyType": POLICY_CUSTOM,
            "Description": policy.description,
            "DefaultVersion": policy.default_version,
            "CreateDate": render::date(now),
        });
        Ok(body([("Policy", answer)]).into())
    }
}
