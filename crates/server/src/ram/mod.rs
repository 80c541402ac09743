//! The RAM API (product `Ram`, version 2015-05-01) on the same endpoint as KMS: users, their
//! access keys, custom policies with versions, and policy attachments, so that the official RAM
//! SDKs manage keywarden unchanged. One file per group of actions; [`dispatch`] maps names to
//! functions. Authorization happens before (see `crate::authz`); every change that affects a
//! caller's permissions or credentials invalidates the caches at once.

mod access_keys;
mod attachments;
pub mod error;
pub mod params;
mod policies;
mod policy_versions;
mod users;

pub use error::{Problem, RamError};

use serde_json::{Value, json};

use crate::action::{Action, Body, Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The RAM API version.
pub const RAM_VERSION: &str = "2015-05-01";

/// Most access keys a user may have (RAM's limit).
pub const MAX_ACCESS_KEYS_PER_USER: u64 = 2;

/// Most versions a custom policy may have (RAM's limit).
pub const MAX_POLICY_VERSIONS: u64 = 5;

/// Every RAM action keywarden implements.
pub static ACTIONS: &[Action] = &[
    Action::of::<CreateUser>(),
    Action::of::<GetUser>(),
    Action::of::<ListUsers>(),
    Action::of::<UpdateUser>(),
    Action::of::<DeleteUser>(),
    Action::of::<CreateAccessKey>(),
    Action::of::<ListAccessKeys>(),
    Action::of::<UpdateAccessKey>(),
    Action::of::<DeleteAccessKey>(),
    Action::of::<CreatePolicy>(),
    Action::of::<GetPolicy>(),
    Action::of::<ListPolicies>(),
    Action::of::<DeletePolicy>(),
    Action::of::<CreatePolicyVersion>(),
    Action::of::<GetPolicyVersion>(),
    Action::of::<ListPolicyVersions>(),
    Action::of::<DeletePolicyVersion>(),
    Action::of::<SetDefaultPolicyVersion>(),
    Action::of::<AttachPolicyToUser>(),
    Action::of::<DetachPolicyFromUser>(),
    Action::of::<ListPoliciesForUser>(),
];

/// A RAM call before its run: the request and the caller it was authorized for.
pub struct RamCall {
    req: ApiRequest,
    caller: Caller,
}

/// Declares a RAM action run by `$run(kms, caller, req)` with the resources of
/// `authz::ram_targets`.
macro_rules! ram_action {
    ($ty:ident, $run:path) => {
        ram_action!($ty, |kms, _caller, req| $run(kms, req));
    };
    ($ty:ident, $run:path, caller) => {
        ram_action!($ty, |kms, caller, req| $run(kms, caller, req));
    };
    ($ty:ident, |$k:ident, $c:ident, $r:ident| $call:expr) => {
        /// The request of the action.
        pub struct $ty(ApiRequest);

        impl Operation for $ty {
            const PRODUCT: Product = Product::Ram;
            const NAME: &'static str = stringify!($ty);
            type Resolved = RamCall;

            fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
                Ok($ty(req.clone()))
            }

            async fn resolve(self, _: &Kms, caller: &Caller) -> Result<RamCall, ApiError> {
                Ok(RamCall {
                    req: self.0,
                    caller: caller.clone(),
                })
            }

            fn targets(r: &RamCall, kms: &Kms) -> Vec<Target> {
                crate::authz::ram_targets(kms, &r.caller, stringify!($ty), &r.req)
            }

            async fn run(r: RamCall, call: &Call<'_>) -> Result<Reply, ApiError> {
                let ($k, $c, $r) = (call.kms, call.caller, &r.req);
                let _ = $c;
                $call.await.map(Reply::from)
            }
        }
    };
}

ram_action!(CreateUser, users::create);
ram_action!(GetUser, users::get);
ram_action!(ListUsers, users::list);
ram_action!(UpdateUser, users::update);
ram_action!(DeleteUser, users::delete);
ram_action!(CreateAccessKey, access_keys::create, caller);
ram_action!(ListAccessKeys, access_keys::list, caller);
ram_action!(UpdateAccessKey, access_keys::update, caller);
ram_action!(DeleteAccessKey, access_keys::delete, caller);
ram_action!(CreatePolicy, policies::create);
ram_action!(GetPolicy, policies::get);
ram_action!(ListPolicies, policies::list);
ram_action!(DeletePolicy, policies::delete);
ram_action!(CreatePolicyVersion, policy_versions::create);
ram_action!(GetPolicyVersion, policy_versions::get);
ram_action!(ListPolicyVersions, policy_versions::list);
ram_action!(DeletePolicyVersion, policy_versions::delete);
ram_action!(SetDefaultPolicyVersion, policy_versions::set_default);
ram_action!(AttachPolicyToUser, attachments::attach);
ram_action!(DetachPolicyFromUser, attachments::detach);
ram_action!(ListPoliciesForUser, attachments::list_for_user);

/// `acs:ram:*:<account>:user/<name>`.
pub fn user_arn(kms: &Kms, user_name: &str) -> String {
    format!("acs:ram:*:{}:user/{user_name}", kms.realm.account)
}

/// `acs:ram:*:<account>:policy/<name>`.
pub fn policy_arn(kms: &Kms, policy_name: &str) -> String {
    format!("acs:ram:*:{}:policy/{policy_name}", kms.realm.account)
}

/// A RAM date (`YYYY-MM-DDThh:mm:ssZ`).
fn date(unix: i64) -> Value {
    json!(keywarden_core::dates::format_unix(unix))
}

/// The list of `items` under `{outer: {inner: [...]}}`, with `IsTruncated` and, when truncated,
/// the `Marker` of the next page.
fn paged(outer: &str, inner: &str, items: Vec<Value>, next: Option<String>) -> Body {
    let mut body = Body::new();
    body.insert("IsTruncated".into(), json!(next.is_some()));
    if let Some(marker) = next {
        body.insert("Marker".into(), json!(marker));
    }
    body.insert(outer.into(), json!({ inner: items }));
    body
}
