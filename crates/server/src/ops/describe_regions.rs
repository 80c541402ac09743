//! DescribeRegions: the one region this server serves.

use serde_json::json;

use super::{Body, body};
use crate::kms::Kms;

/// Runs the action.
pub fn run(kms: &Kms) -> Body {
    body([(
        "Regions",
        json!({ "Region": [{ "RegionId": kms.realm.region }] }),
    )])
}
