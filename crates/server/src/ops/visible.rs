//! What a list shows: only the items the caller is not explicitly denied (the list's own
//! action, on the item's key and alias, with the key's policy; `authz::Access::hides`).
//!
//! A Deny is a glob or a condition, not a query, so lists filter here: they read the matching
//! rows from the store in batches of [`BATCH`] (with the batch's key policies in one read),
//! keep the visible ones, and page over those, so `TotalCount` and every page count visible
//! items only. Keyset-paged lists (tags) read batches until a page is full.

use std::collections::HashMap;
use std::sync::Arc;

use keywarden_core::policy::KeyPolicy;
use keywarden_store::{AliasRecord, KeyFilter, Page, Paged};

use crate::action::Call;
use crate::authz::KeyPolicies;
use crate::error::ApiError;
use crate::key_policy::parse_stored;

/// Rows read from the store at a time.
pub const BATCH: u64 = 500;

/// The parsed policies of those of `key_ids` that have one: one store read.
pub async fn key_policies(
    call: &Call<'_>,
    key_ids: &[String],
) -> Result<HashMap<String, Arc<KeyPolicy>>, ApiError> {
    let records = call.kms.store.get_key_policies(key_ids).await?;
    records
        .into_iter()
        .map(|r| Ok((r.key_id.clone(), parse_stored(&r)?)))
        .collect()
}

/// The key policy of the resource at `index`, as `Access::hides_with` takes it.
pub fn at(index: usize, policy: Option<&Arc<KeyPolicy>>) -> KeyPolicies {
    policy
        .map(|p| vec![(index, Arc::clone(p))])
        .unwrap_or_default()
}

/// The ids of the keys matching `filter` that `action` may show, in store order.
pub async fn keys(
    call: &Call<'_>,
    action: &str,
    filter: &KeyFilter,
) -> Result<Vec<String>, ApiError> {
    let (kms, mut offset, mut visible) = (call.kms, 0, Vec::new());
    loop {
        let page = Page {
            offset,
            limit: BATCH,
        };
        let batch = kms.store.list_keys(filter, page).await?;
        let ids: Vec<String> = batch.items.into_iter().map(|k| k.key_id).collect();
        let policies = key_policies(call, &ids).await?;
        let read = ids.len() as u64;
        for id in ids {
            let arn = kms.realm.key_arn(&id);
            if !call
                .access
                .hides_with(action, vec![arn], &at(0, policies.get(&id)))
            {
                visible.push(id);
            }
        }
        if read < BATCH {
            return Ok(visible);
        }
        offset += read;
    }
}

/// The aliases (of `key_id` when given) that `action` may show, in store order: an alias is
/// shown unless the action is denied on the alias or on its key.
pub async fn aliases(
    call: &Call<'_>,
    action: &str,
    key_id: Option<&str>,
) -> Result<Vec<AliasRecord>, ApiError> {
    let (kms, mut offset, mut visible) = (call.kms, 0, Vec::new());
    loop {
        let page = Page {
            offset,
            limit: BATCH,
        };
        let batch = kms.store.list_aliases(key_id, page).await?;
        let read = batch.items.len() as u64;
        let ids: Vec<String> = batch.items.iter().map(|a| a.key_id.clone()).collect();
        let policies = key_policies(call, &ids).await?;
        for alias in batch.items {
            let resources = vec![
                kms.realm.alias_arn(&alias.alias_name),
                kms.realm.key_arn(&alias.key_id),
            ];
            let kps = at(1, policies.get(&alias.key_id));
            if !call.access.hides_with(action, resources, &kps) {
                visible.push(alias);
            }
        }
        if read < BATCH {
            return Ok(visible);
        }
        offset += read;
    }
}

/// The page `page` of `items`, with the total.
pub fn page_of<T: Clone>(items: &[T], page: Page) -> Paged<T> {
    let start = usize::try_from(page.offset).unwrap_or(usize::MAX);
    let len = usize::try_from(page.limit).unwrap_or(usize::MAX);
    Paged {
        items: items.iter().skip(start).take(len).cloned().collect(),
        total: items.len() as u64,
    }
}
