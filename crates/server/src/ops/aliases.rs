//! CreateAlias, UpdateAlias, DeleteAlias, ListAliases and ListAliasesByKeyId.

use keywarden_core::lifecycle::Requirement;
use keywarden_core::model::validate_alias;
use keywarden_store::{AliasRecord, Paged, StoreError};
use serde_json::{Value, json};

use super::{Body, body};
use crate::error::ApiError;
use crate::kms::{Kms, require};
use crate::request::{ApiRequest, PageParams};

fn alias_name(req: &ApiRequest) -> Result<&str, ApiError> {
    let name = req.required("AliasName")?;
    validate_alias(name).map_err(|e| ApiError::invalid("AliasName", e.to_string()))?;
    Ok(name)
}

/// CreateAlias: binds a new alias to a key that is not pending deletion.
pub async fn create(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = alias_name(req)?;
    let key = kms.resolve(req.required("KeyId")?).await?;
    require(&key, Requirement::AliasTarget)?;
    let alias = AliasRecord {
        alias_name: name.to_owned(),
        key_id: key.key_id.clone(),
        creation_date: kms.now(),
    };
    kms.store.create_alias(&alias).await.map_err(|e| match e {
        StoreError::AlreadyExists => ApiError::AliasAlreadyExists,
        StoreError::NotFound => ApiError::KeyNotFound,
        other => other.into(),
    })?;
    kms.invalidate_alias(name);
    Ok(Body::new())
}

/// UpdateAlias: points an existing alias at another key.
pub async fn update(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = alias_name(req)?;
    let key = kms.resolve(req.required("KeyId")?).await?;
    require(&key, Requirement::Mutable)?;
    kms.store
        .update_alias(name, &key.key_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::AliasNotFound,
            other => other.into(),
        })?;
    kms.invalidate_alias(name);
    Ok(Body::new())
}

/// DeleteAlias.
pub async fn delete(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let name = req.required("AliasName")?;
    kms.store.delete_alias(name).await.map_err(|e| match e {
        StoreError::NotFound => ApiError::AliasNotFound,
        other => other.into(),
    })?;
    kms.invalidate_alias(name);
    Ok(Body::new())
}

/// ListAliases: every alias, paged.
pub async fn list(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let page = PageParams::read(req, 100)?;
    let aliases = kms.store.list_aliases(None, page.page()).await?;
    Ok(render(kms, &aliases, page))
}

/// ListAliasesByKeyId: the aliases of one key, paged.
pub async fn list_by_key_id(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let key = kms.resolve(req.required("KeyId")?).await?;
    let page = PageParams::read(req, 101)?;
    let aliases = kms
        .store
        .list_aliases(Some(&key.key_id), page.page())
        .await?;
    Ok(render(kms, &aliases, page))
}

fn render(kms: &Kms, aliases: &Paged<AliasRecord>, page: PageParams) -> Body {
    let items: Vec<Value> = aliases
        .items
        .iter()
        .map(|a| json!({ "AliasName": a.alias_name, "AliasArn": kms.realm.alias_arn(&a.alias_name), "KeyId": a.key_id }))
        .collect();
    body([
        ("Aliases", json!({ "Alias": items })),
        ("TotalCount", json!(aliases.total)),
        ("PageNumber", json!(page.number)),
        ("PageSize", json!(page.size)),
    ])
}
