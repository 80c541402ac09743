//! CreateAccessKey: a new Active key for the user (at most
//! [`MAX_ACCESS_KEYS_PER_USER`](super::MAX_ACCESS_KEYS_PER_USER)). The secret is returned once,
//! here, stored only sealed under the root key, and never logged. Needs `user/<UserName>` (the
//! caller's own name when absent).

use keywarden_core::model::AccessKeyStatus;
use keywarden_core::secret::SecretBytes;
use keywarden_store::AccessKeyRecord;
use serde_json::json;

use super::key_owner::OfUser;
use super::params::optional_user_name;
use super::{RAM, lookup, render};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::body;
use crate::request::ApiRequest;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The validated `UserName`, if given.
pub struct CreateAccessKey(Option<String>);

impl Operation for CreateAccessKey {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "CreateAccessKey";
    type Resolved = OfUser<()>;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        optional_user_name(req).map(CreateAccessKey)
    }

    async fn resolve(self, _: &Kms, caller: &Caller) -> Result<OfUser<()>, ApiError> {
        Ok(OfUser::resolve(self.0, caller, ()))
    }

    fn targets(r: &OfUser<()>, kms: &Kms) -> Vec<Target> {
        r.targets(kms)
    }

    async fn run(r: OfUser<()>, call: &Call<'_>) -> Result<Reply, ApiError> {
        let kms = call.kms;
        lookup::user(kms, &r.user).await?;
        let id = format!("KW{}", random_text(22)?);
        let secret = zeroize::Zeroizing::new(random_text(30)?);
        let record = AccessKeyRecord {
            access_key_id: id.clone(),
            sealed_secret: kms.seal_secret(&id, &secret)?,
            status: AccessKeyStatus::Active,
            user_name: r.user,
            creation_date: kms.now(),
        };
        kms.create_access_key(&record).await?;
        let key = json!({
            "AccessKeyId": id,
            "AccessKeySecret": secret.as_str(),
            "Status": record.status.as_str(),
            "CreateDate": render::date(record.creation_date),
        });
        Ok(body([("AccessKey", key)]).into())
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
