//! DescribeRegions: the one region this server serves. Needs the key collection.

use serde_json::json;

use super::shared::{KMS, body, collection};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// No parameters.
pub struct DescribeRegions;

impl Operation for DescribeRegions {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "DescribeRegions";
    type Resolved = Self;

    fn parse(_: &ApiRequest) -> Result<Self, ApiError> {
        Ok(DescribeRegions)
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(_: &Self, kms: &Kms) -> Vec<Target> {
        vec![Target::of(vec![collection(kms, "key")])]
    }

    async fn run(_: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        Ok(body([(
            "Regions",
            json!({ "Region": [{ "RegionId": call.kms.realm.region }] }),
        )])
        .into())
    }
}
