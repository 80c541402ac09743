//! ListUsers: by name, `MaxItems` a page, `Marker` to go on. Needs `user/*`; leaves out the
//! users the caller is explicitly denied `ram:ListUsers` on (`user/<name>`).

use super::params::{encode_marker, page};
use super::{RAM, render, user_arn, user_target};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;
use keywarden_store::UserRecord;

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
        let mut users = visible_users(call, p.after, p.max.saturating_add(1)).await?;
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

/// Up to `want` users after `after` that the caller is not explicitly denied listing: reads
/// pages until that many are kept or the users run out.
async fn visible_users(
    call: &Call<'_>,
    mut after: Option<String>,
    want: u64,
) -> Result<Vec<UserRecord>, ApiError> {
    let mut kept = Vec::new();
    loop {
        let batch = call.kms.store.list_users(after.as_deref(), want).await?;
        let exhausted = (batch.len() as u64) < want;
        after = batch.last().map(|u| u.user_name.clone());
        for user in batch {
            let arn = user_arn(call.kms, &user.user_name);
            if !call
                .access
                .hides_with("ram:ListUsers", vec![arn], &Vec::new())
            {
                kept.push(user);
            }
        }
        if exhausted || kept.len() as u64 >= want {
            kept.truncate(usize::try_from(want).unwrap_or(usize::MAX));
            return Ok(kept);
        }
    }
}
