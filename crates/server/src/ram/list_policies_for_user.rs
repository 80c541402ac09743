//! ListPoliciesForUser: every policy attached to the user, oldest attachment first (a custom
//! policy deleted meanwhile is left out). Needs `user/<UserName>`.

use keywarden_core::policy::system_policy;
use keywarden_store::{AttachmentRecord, POLICY_SYSTEM, PRINCIPAL_USER};
use serde_json::{Value, json};

use super::params::user_name;
use super::{RAM, lookup, render, user_target};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::body;
use crate::request::ApiRequest;

/// The validated `UserName`.
pub struct ListPoliciesForUser(String);

impl Operation for ListPoliciesForUser {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "ListPoliciesForUser";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        user_name(req, "UserName").map(|n| ListPoliciesForUser(n.to_owned()))
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        user_target(kms, &p.0)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let kms = call.kms;
        lookup::user(kms, &p.0).await?;
        let mut items: Vec<Value> = Vec::new();
        for a in kms.store.list_attachments(PRINCIPAL_USER, &p.0).await? {
            if let Some(item) = attached(kms, a).await? {
                items.push(item);
            }
        }
        Ok(body([("Policies", json!({ "Policy": items }))]).into())
    }
}

/// One attached policy, if it still exists.
async fn attached(kms: &Kms, a: AttachmentRecord) -> Result<Option<Value>, ApiError> {
    let (description, default_version) = if a.policy_type == POLICY_SYSTEM {
        match system_policy(&a.policy_name) {
            Some(p) => (p.description.to_owned(), "v1".to_owned()),
            None => return Ok(None),
        }
    } else {
        match kms.store.get_policy(&a.policy_name).await? {
            Some(p) => (p.description, p.default_version),
            None => return Ok(None),
        }
    };
    Ok(Some(json!({
        "PolicyName": a.policy_name,
        "PolicyType": a.policy_type,
        "Description": description,
        "DefaultVersion": default_version,
        "AttachDate": render::date(a.attach_date),
    })))
}
