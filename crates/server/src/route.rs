//! Routing of an authenticated request: by API version to the product (KMS 2016-01-20, RAM
//! 2015-05-01; anything else is `InvalidVersion`), then by action, authorizing the caller
//! (`authz`) before the operation runs.

use crate::auth::Caller;
use crate::authz::{self, Target};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::ops::{self, Body, KMS_VERSION};
use crate::ram::{self, RAM_VERSION};
use crate::request::ApiRequest;

/// Authorizes and runs `action` of the request's product for `caller`.
pub async fn run(
    kms: &Kms,
    caller: &Caller,
    action: &str,
    req: &ApiRequest,
) -> Result<Body, ApiError> {
    match req.version() {
        Some(KMS_VERSION) => {
            if !ops::ACTIONS.contains(&action) {
                return Err(ApiError::ActionNotFound);
            }
            let targets = authz::kms_targets(kms, action, req).await?;
            authorize(kms, caller, req, "kms", action, targets).await?;
            ops::dispatch(kms, caller, action, req).await
        }
        Some(RAM_VERSION) => {
            if !ram::ACTIONS.contains(&action) {
                return Err(ApiError::ActionNotFound);
            }
            let targets = authz::ram_targets(kms, caller, action, req);
            authorize(kms, caller, req, "ram", action, targets).await?;
            ram::dispatch(kms, caller, action, req).await
        }
        _ => Err(ApiError::InvalidVersion),
    }
}

async fn authorize(
    kms: &Kms,
    caller: &Caller,
    req: &ApiRequest,
    product: &str,
    action: &str,
    targets: Vec<Target>,
) -> Result<(), ApiError> {
    authz::authorize(kms, caller, req, &format!("{product}:{action}"), targets).await
}
