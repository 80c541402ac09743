//! TagResources: sets the `Tag.N` tags (flattened `Tag.N.Key`/`Tag.N.Value`) on every
//! `ResourceId.N` key (`ResourceType=key`). Every named key is resolved (ids, aliases and ARNs
//! work) and checked before anything is written, so an unknown key or a key pending deletion
//! fails the whole call; the writes are then one store call per key.

use keywarden_store::TagRecord;

use super::shared::KMS;
use super::tagging::{self, batch_targets, mutable_keys, not_found, resolve_all};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;
use crate::resolve::KeyTarget;

/// The parameters.
pub struct TagResources {
    ids: Vec<String>,
    tags: Vec<TagRecord>,
}

/// The keys resolved.
pub struct Resolved {
    keys: Vec<KeyTarget>,
    tags: Vec<TagRecord>,
}

impl Operation for TagResources {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "TagResources";
    type Resolved = Resolved;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        tagging::resource_type(req)?;
        let ids = tagging::resource_ids(req, true)?;
        let tags = tagging::tags_flat(req, "Tag")?;
        if tags.is_empty() {
            return Err(ApiError::MissingParameter("Tag.1.Key"));
        }
        Ok(TagResources { ids, tags })
    }

    async fn resolve(self, kms: &Kms, _: &Caller) -> Result<Resolved, ApiError> {
        Ok(Resolved {
            keys: resolve_all(kms, &self.ids).await?,
            tags: self.tags,
        })
    }

    fn targets(r: &Resolved, kms: &Kms) -> Vec<Target> {
        batch_targets(&r.keys, kms, kms.realm.key_arn("*"))
    }

    async fn run(r: Resolved, call: &Call<'_>) -> Result<Reply, ApiError> {
        for key in mutable_keys(&r.keys)? {
            call.kms
                .store
                .put_tags(&key.key_id, &r.tags)
                .await
                .map_err(not_found)?;
        }
        Ok(Reply::default())
    }
}
