//! ListKeyVersions: a key's versions, oldest first, paged (`PageSize` 1 to 100).

use std::sync::Arc;

use keywarden_store::KeyRecord;
use serde_json::{Value, json};

use super::describe_key_version::render;
use super::shared::{body, on_key_action};
use crate::action::{Call, Reply};
use crate::error::ApiError;
use crate::request::{ApiRequest, PageParams};

on_key_action!(
    ListKeyVersions,
    "ListKeyVersions",
    PageParams,
    dry_run = false,
    parse = |req: &ApiRequest| PageParams::read(req, 100),
    run = run
);

async fn run(key: &Arc<KeyRecord>, page: &PageParams, call: &Call<'_>) -> Result<Reply, ApiError> {
    let versions = call
        .kms
        .store
        .list_versions(&key.key_id, page.page())
        .await?;
    let items: Vec<Value> = versions.items.iter().map(render).collect();
    Ok(body([
        ("KeyVersions", json!({ "KeyVersion": items })),
        ("TotalCount", json!(versions.total)),
        ("PageNumber", json!(page.number)),
        ("PageSize", json!(page.size)),
    ])
    .into())
}
