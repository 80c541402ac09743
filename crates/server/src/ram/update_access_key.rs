//! UpdateAccessKey: `Status` `Active` or `Inactive`, in force from the key's next call (also on
//! an open connection). Needs `user/<UserName>` (the caller's own name when absent).

use keywarden_core::model::AccessKeyStatus;

use super::key_owner::OfUser;
use super::params::optional_user_name;
use super::{Problem, RAM, RamError, lookup};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The validated parameters.
pub struct UpdateAccessKey {
    user: Option<String>,
    change: StatusChange,
}

/// The key and its new status.
pub struct StatusChange {
    id: String,
    status: AccessKeyStatus,
}

impl Operation for UpdateAccessKey {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "UpdateAccessKey";
    type Resolved = OfUser<StatusChange>;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        let id = req.required("UserAccessKeyId")?.to_owned();
        let status = status(req)?;
        Ok(UpdateAccessKey {
            user: optional_user_name(req)?,
            change: StatusChange { id, status },
        })
    }

    async fn resolve(self, _: &Kms, caller: &Caller) -> Result<Self::Resolved, ApiError> {
        Ok(OfUser::resolve(self.user, caller, self.change))
    }

    fn targets(r: &Self::Resolved, kms: &Kms) -> Vec<Target> {
        r.targets(kms)
    }

    async fn run(r: Self::Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        let StatusChange { id, status } = &r.params;
        lookup::owned_key(call.kms, &r.user, id).await?;
        call.kms.set_access_key_status(id, *status).await?;
        Ok(Reply::default())
    }
}

/// The required `Status`: `Active` or `Inactive`.
fn status(req: &ApiRequest) -> Result<AccessKeyStatus, ApiError> {
    req.required("Status")?
        .parse()
        .map_err(|_| RamError::invalid("Status", Problem::Format, "must be Active or Inactive"))
}
