//! DeleteUser: only a user without access keys and attached policies. Needs `user/<UserName>`.

use super::params::user_name;
use super::{RAM, user_target};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The validated `UserName`.
pub struct DeleteUser(String);

impl Operation for DeleteUser {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "DeleteUser";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        user_name(req, "UserName").map(|n| DeleteUser(n.to_owned()))
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        user_target(kms, &p.0)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        call.kms.delete_user(&p.0).await?;
        Ok(Reply::default())
    }
}
