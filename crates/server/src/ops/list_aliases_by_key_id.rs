//! ListAliasesByKeyId: the aliases of one key, paged, without those the caller is explicitly
//! denied `kms:ListAliasesByKeyId` on.

use std::sync::Arc;

use keywarden_store::KeyRecord;

use super::list_aliases::render;
use super::shared::on_key_action;
use super::visible;
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
    let visible = visible::aliases(call, "kms:ListAliasesByKeyId", Some(&key.key_id)).await?;
    let aliases = visible::page_of(&visible, page.page());
    Ok(render(call.kms, &aliases, *page).into())
}
