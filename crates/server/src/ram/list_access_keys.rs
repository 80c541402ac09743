//! ListAccessKeys: ids, statuses and dates of the user's keys (never secrets). Needs
//! `user/<UserName>` (the caller's own name when absent).

use serde_json::{Value, json};

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

/// The validated `UserName`, if given.
pub struct ListAccessKeys(Option<String>);

impl Operation for ListAccessKeys {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "ListAccessKeys";
    type Resolved = OfUser<()>;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        optional_user_name(req).map(ListAccessKeys)
    }

    async fn resolve(self, _: &Kms, caller: &Caller) -> Result<OfUser<()>, ApiError> {
        Ok(OfUser::resolve(self.0, caller, ()))
    }

    fn targets(r: &OfUser<()>, kms: &Kms) -> Vec<Target> {
        r.targets(kms)
    }

    async fn run(r: OfUser<()>, call: &Call<'_>) -> Result<Reply, ApiError> {
        lookup::user(call.kms, &r.user).await?;
        let keys = call.kms.store.list_access_keys(&r.user).await?;
        let items: Vec<Value> = keys
            .iter()
            .map(|k| {
                json!({
                    "AccessKeyId": k.access_key_id,
                    "Status": k.status.as_str(),
                    "CreateDate": render::date(k.creation_date),
                })
            })
            .collect();
        Ok(body([("AccessKeys", json!({ "AccessKey": items }))]).into())
    }
}
