//! ListKeys: key ids and ARNs, paged.

use serde_json::{Value, json};

use super::{Body, body};
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::{ApiRequest, PageParams};

/// Runs the action.
pub async fn run(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let page = PageParams::read(req, 100)?;
    let keys = kms.store.list_keys(page.page()).await?;
    let items: Vec<Value> = keys
        .items
        .iter()
        .map(|k| json!({ "KeyId": k.key_id, "KeyArn": kms.realm.key_arn(&k.key_id) }))
        .collect();
    Ok(body([
        ("Keys", json!({ "Key": items })),
        ("TotalCount", json!(keys.total)),
        ("PageNumber", json!(page.number)),
        ("PageSize", json!(page.size)),
    ]))
}
