//! CreateUser, GetUser, ListUsers, UpdateUser and DeleteUser.

use keywarden_store::{StoreError, UserRecord};
use serde_json::{Value, json};

use super::params::{
    self, MAX_COMMENTS, MAX_DISPLAY_NAME, check_user_name, email, mobile_phone, text, user_name,
};
use super::{RamError, date, paged};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::{Body, body};
use crate::request::ApiRequest;

/// CreateUser.
pub async fn create(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = user_name(req, "UserName")?;
    let now = kms.now();
    let user = UserRecord {
        user_name: name.to_owned(),
        user_id: new_user_id(),
        display_name: text(req, "DisplayName", MAX_DISPLAY_NAME)?
            .unwrap_or_default()
            .to_owned(),
        mobile_phone: mobile_phone(req, "MobilePhone")?
            .unwrap_or_default()
            .to_owned(),
        email: email(req, "Email")?.unwrap_or_default().to_owned(),
        comments: text(req, "Comments", MAX_COMMENTS)?
            .unwrap_or_default()
            .to_owned(),
        create_date: now,
        update_date: now,
    };
    kms.store.create_user(&user).await.map_err(|e| match e {
        StoreError::AlreadyExists => RamError::UserExists.into(),
        other => ApiError::from(other),
    })?;
    Ok(body([("User", render(&user, false))]))
}

/// GetUser.
pub async fn get(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let user = existing(kms, user_name(req, "UserName")?).await?;
    Ok(body([("User", render(&user, true))]))
}

/// ListUsers: by name, `MaxItems` a page, `Marker` to go on.
pub async fn list(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let (after, max) = params::page(req)?;
    let mut users = kms
        .store
        .list_users(after.as_deref(), max.saturating_add(1))
        .await?;
    let next = if users.len() as u64 > max {
        users.truncate(usize::try_from(max).unwrap_or(usize::MAX));
        users.last().map(|u| params::encode_marker(&u.user_name))
    } else {
        None
    };
    let items = users.iter().map(|u| render(u, true)).collect();
    Ok(paged("Users", "User", items, next))
}

/// UpdateUser: any of `NewUserName`, `NewDisplayName`, `NewMobilePhone`, `NewEmail`,
/// `NewComments`. A rename moves the user's access keys and policies along; its access keys
/// then sign as the new name at once.
pub async fn update(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = user_name(req, "UserName")?;
    let new_name = req.optional("NewUserName");
    if let Some(n) = new_name {
        check_user_name("NewUserName", n)?;
    }
    let display_name = text(req, "NewDisplayName", MAX_DISPLAY_NAME)?;
    let phone = mobile_phone(req, "NewMobilePhone")?;
    let mail = email(req, "NewEmail")?;
    let comments = text(req, "NewComments", MAX_COMMENTS)?;
    let current = existing(kms, name).await?;
    let pick = |new: Option<&str>, old: &str| new.unwrap_or(old).to_owned();
    let user = UserRecord {
        user_name: pick(new_name, &current.user_name),
        display_name: pick(display_name, &current.display_name),
        mobile_phone: pick(phone, &current.mobile_phone),
        email: pick(mail, &current.email),
        comments: pick(comments, &current.comments),
        update_date: kms.now(),
        ..current
    };
    kms.store
        .update_user(name, &user)
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists => RamError::UserExists.into(),
            StoreError::NotFound => RamError::UserNotFound.into(),
            other => ApiError::from(other),
        })?;
    if user.user_name != name {
        kms.authz.invalidate_user(name);
        kms.authz.invalidate_user(&user.user_name);
        for key in kms.store.list_access_keys(&user.user_name).await? {
            kms.invalidate_credential(&key.access_key_id);
        }
    }
    Ok(body([("User", render(&user, true))]))
}

/// DeleteUser: only a user without access keys and attached policies.
pub async fn delete(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = user_name(req, "UserName")?;
    match kms.store.delete_user(name).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(RamError::UserNotFound.into()),
        Err(StoreError::Conflict) => {
            return Err(if kms.store.list_access_keys(name).await?.is_empty() {
                RamError::UserHasPolicies.into()
            } else {
                RamError::UserHasAccessKeys.into()
            });
        }
        Err(other) => return Err(other.into()),
    }
    kms.authz.invalidate_user(name);
    Ok(Body::new())
}

/// The user called `name`, or `EntityNotExist.User`.
pub async fn existing(kms: &Kms, name: &str) -> Result<UserRecord, ApiError> {
    kms.store
        .get_user(name)
        .await?
        .ok_or_else(|| RamError::UserNotFound.into())
}

fn render(user: &UserRecord, with_update: bool) -> Value {
    let mut v = json!({
        "UserId": user.user_id,
        "UserName": user.user_name,
        "DisplayName": user.display_name,
        "MobilePhone": user.mobile_phone,
        "Email": user.email,
        "Comments": user.comments,
        "CreateDate": date(user.create_date),
    });
    if with_update {
        v["UpdateDate"] = date(user.update_date);
    }
    v
}

/// A new user id: 16 digits, like RAM's.
fn new_user_id() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000_000;
    format!("2{n:015}")
}
