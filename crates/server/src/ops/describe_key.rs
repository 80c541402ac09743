//! DescribeKey: a key's metadata, by id, alias or ARN.

use super::{Body, body, metadata::key_metadata};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// Runs the action.
pub async fn run(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let key = kms.resolve(req.required("KeyId")?).await?;
    Ok(body([("KeyMetadata", key_metadata(&key, &kms.realm))]))
}
