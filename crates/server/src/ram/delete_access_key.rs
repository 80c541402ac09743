//! DeleteAccessKey: the key fails from its next call on (also on an open connection). Needs
//! `user/<UserName>` (the caller's own name when absent).

use super::key_owner::OfUser;
use super::params::optional_user_name;
use super::{RAM, lookup};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The validated parameters: the key id and the `UserName`, if given.
pub struct DeleteAccessKey {
    id: String,
    user: Option<String>,
}

impl Operation for DeleteAccessKey {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "DeleteAccessKey";
    type Resolved = OfUser<String>;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(DeleteAccessKey {
            id: req.required("UserAccessKeyId")?.to_owned(),
            user: optional_user_name(req)?,
        })
    }

    async fn resolve(self, _: &Kms, caller: &Caller) -> Result<OfUser<String>, ApiError> {
        Ok(OfUser::resolve(self.user, caller, self.id))
    }

    fn targets(r: &OfUser<String>, kms: &Kms) -> Vec<Target> {
        r.targets(kms)
    }

    async fn run(r: OfUser<String>, call: &Call<'_>) -> Result<Reply, ApiError> {
        lookup::owned_key(call.kms, &r.user, &r.params).await?;
        call.kms.delete_access_key(&r.params).await?;
        Ok(Reply::default())
    }
}
