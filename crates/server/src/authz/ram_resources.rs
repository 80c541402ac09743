//! The resources of each RAM action (`acs:ram:*:<account>:...`; RAM is global, so the region is
//! always `*`).
//!
//! | action | resources |
//! |---|---|
//! | ListUsers | `user/*` |
//! | ListPolicies | `policy/*` |
//! | CreateUser, GetUser, DeleteUser, ListPoliciesForUser | `user/<UserName>` |
//! | UpdateUser | `user/<UserName>`, and `user/<NewUserName>` for a rename |
//! | CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey | `user/<UserName>` (the caller's own name when absent: managing one's own keys needs a permission too) |
//! | AttachPolicyToUser, DetachPolicyFromUser | `user/<UserName>`, `policy/<PolicyName>` |
//! | the policy and policy-version actions | `policy/<PolicyName>` |
//!
//! A missing name is authorized as the literal `user/*` or `policy/*` (only permissions on every
//! user or policy cover it); the action then refuses the request with `MissingParameter`.

use super::Target;
use crate::auth::Caller;
use crate::kms::Kms;
use crate::ram::{policy_arn, user_arn};
use crate::request::ApiRequest;

/// The targets of RAM `action` (already known to be one of `ram::ACTIONS`).
pub fn ram_targets(kms: &Kms, caller: &Caller, action: &str, req: &ApiRequest) -> Vec<Target> {
    let user = |name: Option<&str>| user_arn(kms, name.unwrap_or("*"));
    let policy = |name: Option<&str>| policy_arn(kms, name.unwrap_or("*"));
    let resources = match action {
        "ListUsers" => vec![user(None)],
        "ListPolicies" => vec![policy(None)],
        "CreateUser" | "GetUser" | "DeleteUser" | "ListPoliciesForUser" => {
            vec![user(req.optional("UserName"))]
        }
        "UpdateUser" => {
            let mut r = vec![user(req.optional("UserName"))];
            if let Some(new) = req.optional("NewUserName") {
                r.push(user(Some(new)));
            }
            r
        }
        "CreateAccessKey" | "ListAccessKeys" | "UpdateAccessKey" | "DeleteAccessKey" => {
            vec![user(Some(
                req.optional("UserName").unwrap_or(&caller.user_name),
            ))]
        }
        "AttachPolicyToUser" | "DetachPolicyFromUser" => vec![
            user(req.optional("UserName")),
            policy(req.optional("PolicyName")),
        ],
        _ => vec![policy(req.optional("PolicyName"))],
    };
    vec![Target::of(resources)]
}
