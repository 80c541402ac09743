//! UpdateUser: any of `NewUserName`, `NewDisplayName`, `NewMobilePhone`, `NewEmail`,
//! `NewComments`. A rename moves the user's access keys and policies along; its access keys
//! then sign as the new name at once. Needs `user/<UserName>`, and `user/<NewUserName>` for a
//! rename.

use keywarden_store::UserRecord;

use super::params::{NEW_PROFILE, Profile, check_user_name, user_name};
use super::{RAM, lookup, render, target, user_arn};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::body;
use crate::request::ApiRequest;

/// The validated parameters: the user, and what changes.
pub struct UpdateUser {
    name: String,
    new_name: Option<String>,
    profile: Profile,
}

impl Operation for UpdateUser {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "UpdateUser";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        let name = user_name(req, "UserName")?.to_owned();
        let new_name = req.optional("NewUserName");
        if let Some(n) = new_name {
            check_user_name("NewUserName", n)?;
        }
        Ok(UpdateUser {
            name,
            new_name: new_name.map(str::to_owned),
            profile: Profile::parse(req, NEW_PROFILE)?,
        })
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        let names = std::iter::once(&p.name).chain(&p.new_name);
        target(names.map(|n| user_arn(kms, n)).collect())
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let current = lookup::user(call.kms, &p.name).await?;
        let new = p.profile;
        let user = UserRecord {
            user_name: p.new_name.unwrap_or(current.user_name),
            display_name: new.display_name.unwrap_or(current.display_name),
            mobile_phone: new.mobile_phone.unwrap_or(current.mobile_phone),
            email: new.email.unwrap_or(current.email),
            comments: new.comments.unwrap_or(current.comments),
            update_date: call.kms.now(),
            ..current
        };
        call.kms.update_user(&p.name, &user).await?;
        Ok(body([("User", render::user(&user, true))]).into())
    }
}
