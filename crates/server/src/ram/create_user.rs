//! CreateUser: a new user with a RAM-like 16-digit id. Needs `user/<UserName>`.

use keywarden_store::UserRecord;

use super::params::{PROFILE, Profile, user_name};
use super::{RAM, render, user_target};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::body;
use crate::request::ApiRequest;

/// The validated parameters.
pub struct CreateUser {
    name: String,
    profile: Profile,
}

impl Operation for CreateUser {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "CreateUser";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(CreateUser {
            name: user_name(req, "UserName")?.to_owned(),
            profile: Profile::parse(req, PROFILE)?,
        })
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(p: &Self, kms: &Kms) -> Vec<Target> {
        user_target(kms, &p.name)
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let now = call.kms.now();
        let profile = p.profile;
        let user = UserRecord {
            user_name: p.name,
            user_id: new_user_id(),
            display_name: profile.display_name.unwrap_or_default(),
            mobile_phone: profile.mobile_phone.unwrap_or_default(),
            email: profile.email.unwrap_or_default(),
            comments: profile.comments.unwrap_or_default(),
            create_date: now,
            update_date: now,
        };
        call.kms.create_user(&user).await?;
        Ok(body([("User", render::user(&user, false))]).into())
    }
}

/// A new user id: 16 digits, like RAM's.
fn new_user_id() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000_000;
    format!("2{n:015}")
}
