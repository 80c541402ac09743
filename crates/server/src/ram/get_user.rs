//! GetUser. Needs `user/<UserName>`.

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
pub struct GetUser(String);

impl Operation for GetUser {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "GetUser";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        user_name(req, "UserName").map(|n| GetUser(n.to_owned()))
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        user_target(kms, &p.0)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let user = lookup::user(call.kms, &p.0).await?;
        Ok(body([("User", render::user(&user, true))]).into())
    }
}
