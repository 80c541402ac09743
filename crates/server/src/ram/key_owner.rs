//! The user whose access keys CreateAccessKey, ListAccessKeys, UpdateAccessKey and
//! DeleteAccessKey manage: `UserName`, or the caller's own name when it is absent. It is what the
//! action is authorized on (managing one's own keys needs a permission too).

use super::user_target;
use crate::auth::Caller;
use crate::authz::Target;
use crate::kms::Kms;

/// An access-key action resolved: the user whose keys it manages, and its other parameters.
pub struct OfUser<P> {
    /// The user.
    pub user: String,
    /// The other parameters.
    pub params: P,
}

impl<P> OfUser<P> {
    /// `user` (the validated `UserName`), or the caller's own name when it was absent.
    pub fn resolve(user: Option<String>, caller: &Caller, params: P) -> Self {
        OfUser {
            user: user.unwrap_or_else(|| caller.user_name.clone()),
            params,
        }
    }

    /// `user/<user>`.
    pub fn targets(&self, kms: &Kms) -> Vec<Target> {
        user_target(kms, &self.user)
    }
}
