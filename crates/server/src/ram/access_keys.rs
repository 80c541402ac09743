//! CreateAccessKey, ListAccessKeys, UpdateAccessKey and DeleteAccessKey. `UserName` defaults to
//! the caller. The secret is returned once by CreateAccessKey, stored only sealed under the root
//! key, and never logged. A status change or deletion takes effect on the next call, also on an
//! open connection: the server's cached credential is dropped at once.

use keywarden_core::secret::SecretBytes;
use keywarden_store::{AccessKeyRecord, StoreError};
use serde_json::{Value, json};

use super::params::user_name_or;
use super::users::existing;
use super::{MAX_ACCESS_KEYS_PER_USER, Problem, RamError, date};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::{Body, body};
use crate::request::ApiRequest;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// CreateAccessKey: a new Active key for the user (at most [`MAX_ACCESS_KEYS_PER_USER`]).
pub async fn create(kms: &Kms, caller: &Caller, req: &ApiRequest) -> Result<Body, ApiError> {
    let user = user_name_or(req, &caller.user_name)?;
    existing(kms, user).await?;
    let id = format!("KW{}", random_text(22)?);
    let secret = zeroize::Zeroizing::new(random_text(30)?);
    let record = AccessKeyRecord {
        access_key_id: id.clone(),
        sealed_secret: kms.seal_secret(&id, &secret)?,
        status: "Active".into(),
        user_name: user.to_owned(),
        creation_date: kms.now(),
    };
    kms.store
        .create_access_key(&record, MAX_ACCESS_KEYS_PER_USER)
        .await
        .map_err(|e| match e {
            StoreError::LimitExceeded => RamError::AccessKeyLimit(MAX_ACCESS_KEYS_PER_USER).into(),
            StoreError::NotFound => RamError::UserNotFound.into(),
            other => ApiError::from(other),
        })?;
    Ok(body([(
        "AccessKey",
        json!({
            "AccessKeyId": id,
            "AccessKeySecret": secret.as_str(),
            "Status": record.status,
            "CreateDate": date(record.creation_date),
        }),
    )]))
}

/// ListAccessKeys: ids, statuses and dates (never secrets).
pub async fn list(kms: &Kms, caller: &Caller, req: &ApiRequest) -> Result<Body, ApiError> {
    let user = user_name_or(req, &caller.user_name)?;
    existing(kms, user).await?;
    let keys = kms.store.list_access_keys(user).await?;
    let items: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "AccessKeyId": k.access_key_id,
                "Status": k.status,
                "CreateDate": date(k.creation_date),
            })
        })
        .collect();
    Ok(body([("AccessKeys", json!({ "AccessKey": items }))]))
}

/// UpdateAccessKey: `Status` `Active` or `Inactive`.
pub async fn update(kms: &Kms, caller: &Caller, req: &ApiRequest) -> Result<Body, ApiError> {
    let id = req.required("UserAccessKeyId")?;
    let status = match req.required("Status")? {
        s @ ("Active" | "Inactive") => s,
        _ => {
            return Err(RamError::invalid(
                "Status",
                Problem::Format,
                "must be Active or Inactive",
            ));
        }
    };
    owned_key(kms, caller, req, id).await?;
    kms.store
        .set_access_key_status(id, status)
        .await
        .map_err(not_found)?;
    kms.invalidate_credential(id);
    Ok(Body::new())
}

/// DeleteAccessKey.
pub async fn delete(kms: &Kms, caller: &Caller, req: &ApiRequest) -> Result<Body, ApiError> {
    let id = req.required("UserAccessKeyId")?;
    owned_key(kms, caller, req, id).await?;
    kms.store.delete_access_key(id).await.map_err(not_found)?;
    kms.invalidate_credential(id);
    Ok(Body::new())
}

/// The key `id` of the user named by the request: `EntityNotExist.User` if the user is absent,
/// `EntityNotExist.User.AccessKey` if the key is absent or another user's.
async fn owned_key(
    kms: &Kms,
    caller: &Caller,
    req: &ApiRequest,
    id: &str,
) -> Result<AccessKeyRecord, ApiError> {
    let user = user_name_or(req, &caller.user_name)?;
    existing(kms, user).await?;
    match kms.store.get_access_key(id).await? {
        Some(k) if k.user_name == user => Ok(k),
        _ => Err(RamError::AccessKeyNotFound.into()),
    }
}

fn not_found(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => RamError::AccessKeyNotFound.into(),
        other => other.into(),
    }
}

/// `n` random letters and digits.
fn random_text(n: usize) -> Result<String, ApiError> {
    let bytes = SecretBytes::random(n * 2)
        .map_err(|_| ApiError::internal(std::io::Error::other("rng failure")))?;
    // 16-bit samples modulo 62: the bias is below 2^-10.
    Ok(bytes
        .expose_secret()
        .chunks_exact(2)
        .map(|c| {
            let v = c.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            ALNUM.get(v % ALNUM.len()).map_or('0', |b| char::from(*b))
        })
        .collect())
}
