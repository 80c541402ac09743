//! The RAM API (product `Ram`, version 2015-05-01) on the same endpoint as KMS: users, their
//! access keys, custom policies with versions, and policy attachments, so that the official RAM
//! SDKs manage keywarden unchanged.
//!
//! One file per action, named after it, each an [`Operation`](crate::action::Operation): its
//! typed, validated parameters (`parse`, before authorization: a missing or malformed parameter
//! is refused without looking at anything stored), the resources it is authorized on
//! (`targets`), and the run, which looks up what the names refer to (a caller learns what exists
//! only where it is allowed). [`ACTIONS`] is the table. Every write goes through a method of
//! [`Kms`] (`crate::kms_identity`) that invalidates the caches it affects (a caller's policies, a
//! signing credential), so a change applies to the next call at once.
//!
//! Helpers: [`params`] (parameter rules), `lookup` (the entities names refer to), `render`
//! (users, policies, versions and pages as RAM answers them), `key_owner` (the user whose access
//! keys an action manages).
//!
//! The resources of each action (`acs:ram:*:<account>:...`; RAM is global, so the region is
//! always `*`):
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

mod attach_policy_to_user;
mod create_access_key;
mod create_policy;
mod create_policy_version;
mod create_user;
mod delete_access_key;
mod delete_policy;
mod delete_policy_version;
mod delete_user;
mod detach_policy_from_user;
mod get_policy;
mod get_policy_version;
mod get_user;
mod key_owner;
mod list_access_keys;
mod list_policies;
mod list_policies_for_user;
mod list_policy_versions;
mod list_users;
mod lookup;
pub mod params;
mod render;
mod set_default_policy_version;
mod update_access_key;
mod update_user;

pub use crate::error::ram::{Problem, RamError};

use crate::action::{Action, Product};
use crate::authz::Target;
use crate::kms::Kms;

/// The RAM API version.
pub const RAM_VERSION: &str = "2015-05-01";

/// Most access keys a user may have (RAM's limit).
pub const MAX_ACCESS_KEYS_PER_USER: u64 = 2;

/// Most versions a custom policy may have (RAM's limit).
pub const MAX_POLICY_VERSIONS: u64 = 5;

/// This product.
const RAM: Product = Product::Ram;

/// Every RAM action keywarden implements.
pub static ACTIONS: &[Action] = &[
    Action::of::<create_user::CreateUser>(),
    Action::of::<get_user::GetUser>(),
    Action::of::<list_users::ListUsers>(),
    Action::of::<update_user::UpdateUser>(),
    Action::of::<delete_user::DeleteUser>(),
    Action::of::<create_access_key::CreateAccessKey>(),
    Action::of::<list_access_keys::ListAccessKeys>(),
    Action::of::<update_access_key::UpdateAccessKey>(),
    Action::of::<delete_access_key::DeleteAccessKey>(),
    Action::of::<create_policy::CreatePolicy>(),
    Action::of::<get_policy::GetPolicy>(),
    Action::of::<list_policies::ListPolicies>(),
    Action::of::<delete_policy::DeletePolicy>(),
    Action::of::<create_policy_version::CreatePolicyVersion>(),
    Action::of::<get_policy_version::GetPolicyVersion>(),
    Action::of::<list_policy_versions::ListPolicyVersions>(),
    Action::of::<delete_policy_version::DeletePolicyVersion>(),
    Action::of::<set_default_policy_version::SetDefaultPolicyVersion>(),
    Action::of::<attach_policy_to_user::AttachPolicyToUser>(),
    Action::of::<detach_policy_from_user::DetachPolicyFromUser>(),
    Action::of::<list_policies_for_user::ListPoliciesForUser>(),
];

/// `acs:ram:*:<account>:user/<name>`.
pub fn user_arn(kms: &Kms, user_name: &str) -> String {
    format!("acs:ram:*:{}:user/{user_name}", kms.realm.account)
}

/// `acs:ram:*:<account>:policy/<name>`.
pub fn policy_arn(kms: &Kms, policy_name: &str) -> String {
    format!("acs:ram:*:{}:policy/{policy_name}", kms.realm.account)
}

/// The one target of an action on these RAM resources (RAM has no encryption context).
fn target(resources: Vec<String>) -> Vec<Target> {
    vec![Target::of(resources)]
}

/// The target of an action on the user `user_name` (`*`: every user).
fn user_target(kms: &Kms, user_name: &str) -> Vec<Target> {
    target(vec![user_arn(kms, user_name)])
}

/// The target of an action on the policy `policy_name` (`*`: every policy).
fn policy_target(kms: &Kms, policy_name: &str) -> Vec<Target> {
    target(vec![policy_arn(kms, policy_name)])
}

/// The target of an action on an attachment: `user/<UserName>` and `policy/<PolicyName>`.
fn attachment_target(kms: &Kms, a: &params::AttachmentRef) -> Vec<Target> {
    target(vec![user_arn(kms, &a.user), policy_arn(kms, &a.policy)])
}
