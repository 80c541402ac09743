//! UntagResources: removes the `TagKey.N` tags (or, with `All=true` and no tag key, every tag)
//! from every `ResourceId.N` key, all checked before any write (see TagResources).

use super::shared::KMS;
use super::tagging::{self, batch_targets, mutable_keys, not_found, resolve_all};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;
use crate::resolve::KeyTarget;

/// The parameters: the keys, and the tag keys to remove (`None`: all of them).
pub struct UntagResources {
    ids: Vec<String>,
    tag_keys: Option<Vec<String>>,
}

/// The keys resolved.
pub struct Resolved {
    keys: Vec<KeyTarget>,
    tag_keys: Option<Vec<String>>,
}

impl Operation for UntagResources {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "UntagResources";
    type Resolved = Resolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        tagging::resource_type(req)?;
        let ids = tagging::resource_ids(req, true)?;
        let named: Vec<String> = req
            .indexed_values("TagKey")?
            .into_iter()
            .map(str::to_owned)
            .collect();
        let all = req.bool("All")?.unwrap_or(false);
        let tag_keys = match (named.is_empty(), all) {
            (false, _) => Some(tagging::tag_keys("TagKey", named)?),
            (true, true) => None,
            (true, false) => return Err(ApiError::MissingParameter("TagKey.1")),
        };
        Ok(UntagResources { ids, tag_keys })
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<Resolved, ApiError> {
        Ok(Resolved {
            keys: resolve_all(kms, &self.ids).await?,
            tag_keys: self.tag_keys,
        })
    }

    fn targets(r: &Resolved, kms: &Kms) -> Vec<Target> {
        batch_targets(&r.keys, kms, kms.realm.key_arn("*"))
    }

    async fn run(r: Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        let store = &call.kms.store;
        for key in mutable_keys(&r.keys)? {
            let keys = match &r.tag_keys {
                Some(keys) => keys.clone(),
                None => {
                    let tags = store.list_tags(&key.key_id).await?;
                    tags.into_iter().map(|t| t.tag_key).collect()
                }
            };
            store
                .delete_tags(&key.key_id, &keys)
                .await
                .map_err(not_found)?;
        }
        Ok(Reply::default())
    }
}
