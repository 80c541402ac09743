//! ListUsers: by name, `MaxItems` a page, `Marker` to go on. Needs `user/*`.

use super::params::{encode_marker, page};
use super::{RAM, render, user_target};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The page: the last name of the previous one, and its size.
pub struct ListUsers {
    after: Option<String>,
    max: u64,
}

impl Operation for ListUsers {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "ListUsers";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        let (after, max) = page(req)?;
        Ok(ListUsers { after, max })
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(_: &Self, kms: &Kms) -> Vec<Target> {
        user_target(kms, "*")
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let mut users = call
            .kms
            .store
            .list_users(p.after.as_deref(), p.max.saturating_add(1))
            .await?;
        let next = if users.len() as u64 > p.max {
            users.truncate(usize::try_from(p.max).unwrap_or(usize::MAX));
            users.last().map(|u| encode_marker(&u.user_name))
        } else {
            None
        };
        let items = users.iter().map(|u| render::user(u, true)).collect();
        Ok(render::paged("Users", "User", items, next).into())
    }
}
