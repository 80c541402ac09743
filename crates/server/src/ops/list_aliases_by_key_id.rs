//! ListAliasesByKeyId: the aliases of one key, paged.

use std::sync::Arc;

use keywarden_store::KeyRecord;

use super::list_aliases::render;
use super::shared::on_key_action;
use crate::action::{Call, Reply};
use crate::error::ApiError;
use crate::request::{ApiRequest, PageParams};

on_key_action!(
    ListAliasesByKeyId,
    "ListAliasesByKeyId",
    PageParams,
    dry_run = false,
    parse = |req: &ApiRequest| PageParams::read(req, 101),
    run = run
);

async fn run(key: &Arc<KeyRecord>, page: &PageParams, call: &Call<'_>) -> Result<Reply, ApiError> {
    let aliases = call
        .kms
        .store
        .list_aliases(Some(&key.key_id), page.page())
        .await?;
    Ok(render(call.kms, &aliases, *page).into())
}
