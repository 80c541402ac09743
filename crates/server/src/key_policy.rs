//! Key policies in the server: the cached, parsed policy of each key (`CreateKey Policy`,
//! `SetKeyPolicy`, read by authorization on every call that names a key).
//!
//! A key without a stored policy has the default one ([`KeyPolicy::default_document`]: the
//! account's RAM identities get `kms:*`, which grants nothing by itself), which changes no
//! decision, so authorization skips it. Entries live the cache TTL; a local `SetKeyPolicy` and a
//! key's destruction drop theirs at once. A stored document that no longer parses (it was
//! valid when stored) fails the calls on its key with an internal error: ignoring it could
//! drop a Deny.

use std::sync::Arc;
use std::time::Duration;

use keywarden_core::policy::KeyPolicy;
use keywarden_store::{KeyPolicyRecord, KeyStore};

use crate::cache::TtlCache;
use crate::error::ApiError;

/// The `PolicyName` of every key policy (the only one the API has).
pub const DEFAULT_POLICY_NAME: &str = "default";

/// A key's policy as authorization uses it: `None` when the key has the default policy.
pub type Effective = Option<Arc<KeyPolicy>>;

/// The cache of parsed key policies, by key id.
pub struct KeyPolicies {
    cache: TtlCache<String, Effective>,
}

impl KeyPolicies {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            // Parsed policies can be large (32 KiB documents): fewer entries than the key cache.
            cache: TtlCache::new(ttl, 10_000),
        }
    }

    /// The policy of `key_id` (`None`: the default, or no such key).
    pub async fn get(&self, store: &dyn KeyStore, key_id: &str) -> Result<Effective, ApiError> {
        let entry = self
            .cache
            .get_or_load(key_id, async {
                let record = store.get_key_policy(key_id).await?;
                record.as_ref().map(parse_stored).transpose()
            })
            .await?;
        Ok(entry.as_ref().clone())
    }

    /// Forgets the cached policy of `key_id` (after it changed or the key was destroyed).
    pub fn invalidate(&self, key_id: &str) {
        self.cache.remove(key_id);
    }

    /// Forgets every cached policy.
    pub fn invalidate_all(&self) {
        self.cache.clear();
    }
}

/// A stored document, parsed; one that does not parse any more refuses the call.
pub fn parse_stored(record: &KeyPolicyRecord) -> Result<Arc<KeyPolicy>, ApiError> {
    KeyPolicy::parse(&record.document)
        .map(Arc::new)
        .map_err(|e| {
            tracing::error!(key = record.key_id, error = %e, "stored key policy does not parse");
            ApiError::internal(e)
        })
}
