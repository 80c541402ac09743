//! The identity writes of the RAM API, on [`Kms`]: every change to a user, an access key, a
//! custom policy, a policy version or an attachment goes through one of these methods, which
//! also forgets what the change makes stale in the caches `Kms` owns: a user's effective
//! policies (`Kms::authz`) and signing credentials (`Kms::credential`). So a change applies to
//! the next call at once, also on an open connection; other servers on the same store see it
//! within the cache TTL. Each method says what it forgets. Store errors come back with the RAM
//! codes (`EntityNotExist.*`, `EntityAlreadyExists.*`, `DeleteConflict.*`, `LimitExceeded.*`).

use keywarden_core::model::AccessKeyStatus;
use keywarden_store::{
    AccessKeyRecord, AttachmentRecord, POLICY_CUSTOM, PRINCIPAL_USER, PolicyRecord,
    PolicyVersionRecord, StoreError, UserRecord, VersionOptions,
};

use crate::error::ApiError;
use crate::kms::Kms;
use crate::ram::params::PolicyType;
use crate::ram::{MAX_ACCESS_KEYS_PER_USER, MAX_POLICY_VERSIONS, RamError};

impl Kms {
    /// Creates a user (`EntityAlreadyExists.User` if the name is taken). Forgets nothing: the
    /// user has no access keys and no attached policies yet, and every later change to either
    /// forgets what it makes stale.
    pub async fn create_user(&self, user: &UserRecord) -> Result<(), ApiError> {
        self.store.create_user(user).await.map_err(|e| match e {
            StoreError::AlreadyExists => RamError::UserExists.into(),
            other => other.into(),
        })
    }

    /// Replaces the user called `name` with `user`, which may carry a new name (the store moves
    /// its access keys and attachments along). A rename forgets the cached policies of both
    /// names and the cached credentials of the user's access keys, which sign as the new name at
    /// once; other changes forget nothing (neither cache holds them).
    pub async fn update_user(&self, name: &str, user: &UserRecord) -> Result<(), ApiError> {
        self.store
            .update_user(name, user)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists => RamError::UserExists.into(),
                StoreError::NotFound => RamError::UserNotFound.into(),
                other => ApiError::from(other),
            })?;
        if user.user_name != name {
            self.authz.invalidate_user(name);
            self.authz.invalidate_user(&user.user_name);
            for key in self.store.list_access_keys(&user.user_name).await? {
                self.invalidate_credential(&key.access_key_id);
            }
        }
        Ok(())
    }

    /// Deletes a user that has no access keys and no attached policies
    /// (`DeleteConflict.User.AccessKey` / `.Policy` otherwise). Forgets the user's cached
    /// policies.
    pub async fn delete_user(&self, name: &str) -> Result<(), ApiError> {
        match self.store.delete_user(name).await {
            Ok(()) => {
                self.authz.invalidate_user(name);
                Ok(())
            }
            Err(StoreError::NotFound) => Err(RamError::UserNotFound.into()),
            Err(StoreError::Conflict) => Err(self.user_conflict(name).await?),
            Err(other) => Err(other.into()),
        }
    }

    /// Why user `name` could not be deleted: it still has access keys, else attached policies.
    async fn user_conflict(&self, name: &str) -> Result<ApiError, ApiError> {
        Ok(if self.store.list_access_keys(name).await?.is_empty() {
            RamError::UserHasPolicies.into()
        } else {
            RamError::UserHasAccessKeys.into()
        })
    }

    /// Adds an access key for an existing user with fewer than [`MAX_ACCESS_KEYS_PER_USER`].
    /// Forgets nothing: no credential is cached under a new id.
    pub async fn create_access_key(&self, record: &AccessKeyRecord) -> Result<(), ApiError> {
        let created = self
            .store
            .create_access_key(record, MAX_ACCESS_KEYS_PER_USER)
            .await
            .map_err(|e| match e {
                StoreError::LimitExceeded => {
                    RamError::AccessKeyLimit(MAX_ACCESS_KEYS_PER_USER).into()
                }
                StoreError::NotFound => RamError::UserNotFound.into(),
                other => ApiError::from(other),
            });
        // An id someone tried before it existed is no longer unknown.
        self.invalidate_credential(&record.access_key_id);
        created
    }

    /// Sets an access key's status (`Active`, `Inactive`). Forgets its cached credential, so
    /// the status applies to the key's next call.
    pub async fn set_access_key_status(
        &self,
        id: &str,
        status: AccessKeyStatus,
    ) -> Result<(), ApiError> {
        self.store
            .set_access_key_status(id, status)
            .await
            .map_err(access_key_error)?;
        self.invalidate_credential(id);
        Ok(())
    }

    /// Deletes an access key. Forgets its cached credential, so the key's next call fails.
    pub async fn delete_access_key(&self, id: &str) -> Result<(), ApiError> {
        self.store
            .delete_access_key(id)
            .await
            .map_err(access_key_error)?;
        self.invalidate_credential(id);
        Ok(())
    }

    /// Creates a custom policy with its first version. Forgets nothing: it is attached to no
    /// one yet.
    pub async fn create_policy(
        &self,
        policy: &PolicyRecord,
        version: &PolicyVersionRecord,
    ) -> Result<(), ApiError> {
        self.store
            .create_policy(policy, version)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists => RamError::PolicyExists.into(),
                other => ApiError::from(other),
            })
    }

    /// Deletes a custom policy and its versions; with `cascade` also its attachments, else only
    /// an unattached policy with just its default version (`DeleteConflict.Policy.User` /
    /// `.Version` otherwise). Forgets every user's cached policies (any of them may have had it
    /// attached).
    pub async fn delete_policy(&self, name: &str, cascade: bool) -> Result<(), ApiError> {
        match self.store.delete_policy(name, cascade).await {
            Ok(()) => {
                self.authz.invalidate_all();
                Ok(())
            }
            Err(StoreError::NotFound) => Err(RamError::PolicyNotFound.into()),
            Err(StoreError::Conflict) => Err(self.policy_conflict(name).await?),
            Err(other) => Err(other.into()),
        }
    }

    /// Why policy `name` could not be deleted: it is attached, else it has other versions.
    async fn policy_conflict(&self, name: &str) -> Result<ApiError, ApiError> {
        Ok(
            if self.store.count_attachments(POLICY_CUSTOM, name).await? > 0 {
                RamError::PolicyAttached.into()
            } else {
                RamError::PolicyHasVersions.into()
            },
        )
    }

    /// Adds a version to custom policy `name` (at most [`MAX_POLICY_VERSIONS`]; with `rotate`
    /// the oldest non-default one makes room), the default one if `set_default`. A new default
    /// forgets every user's cached policies (what the policy grants changed for everyone it is
    /// attached to); a non-default version forgets nothing (it grants nothing).
    pub async fn add_policy_version(
        &self,
        name: &str,
        document: &str,
        set_default: bool,
        rotate: bool,
    ) -> Result<PolicyVersionRecord, ApiError> {
        let options = VersionOptions {
            set_default,
            rotate,
            max_versions: MAX_POLICY_VERSIONS,
        };
        let version = self
            .store
            .add_policy_version(name, document, self.now(), options)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => RamError::PolicyNotFound.into(),
                StoreError::LimitExceeded => {
                    RamError::PolicyVersionLimit(MAX_POLICY_VERSIONS).into()
                }
                other => ApiError::from(other),
            })?;
        if set_default {
            self.authz.invalidate_all();
        }
        Ok(version)
    }

    /// Makes version `id` the default of custom policy `name`. Forgets every user's cached
    /// policies (what the policy grants changed for everyone it is attached to).
    pub async fn set_default_policy_version(&self, name: &str, id: &str) -> Result<(), ApiError> {
        self.store
            .set_default_policy_version(name, id, self.now())
            .await
            .map_err(|e| match e {
                StoreError::NotFound => RamError::PolicyVersionNotFound.into(),
                other => ApiError::from(other),
            })?;
        self.authz.invalidate_all();
        Ok(())
    }

    /// Deletes a non-default version of custom policy `name`
    /// (`DeleteConflict.Policy.Version.Default` for the default one). Forgets nothing: only a
    /// default version grants anything, and the default cannot be deleted.
    pub async fn delete_policy_version(&self, name: &str, id: &str) -> Result<(), ApiError> {
        self.store
            .delete_policy_version(name, id)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => RamError::PolicyVersionNotFound.into(),
                StoreError::Conflict => RamError::DefaultVersion.into(),
                other => ApiError::from(other),
            })
    }

    /// Attaches a policy to a user. Forgets the user's cached policies, also when the store
    /// refused (so nothing cached can be older than the refusal).
    pub async fn attach_policy(&self, attachment: &AttachmentRecord) -> Result<(), ApiError> {
        let attached = self.store.attach_policy(attachment).await;
        self.authz.invalidate_user(&attachment.principal_name);
        attached.map_err(|e| match e {
            StoreError::AlreadyExists => RamError::AlreadyAttached.into(),
            StoreError::NotFound => RamError::UserNotFound.into(),
            other => ApiError::from(other),
        })
    }

    /// Detaches policy `policy` of type `kind` from user `user`. Forgets the user's cached
    /// policies, also when the store refused.
    pub async fn detach_policy(
        &self,
        user: &str,
        kind: PolicyType,
        policy: &str,
    ) -> Result<(), ApiError> {
        let detached = self
            .store
            .detach_policy(PRINCIPAL_USER, user, kind.as_str(), policy)
            .await;
        self.authz.invalidate_user(user);
        detached.map_err(|e| match e {
            StoreError::NotFound => RamError::NotAttached.into(),
            other => ApiError::from(other),
        })
    }
}

/// An access-key write that found the key gone.
fn access_key_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => RamError::AccessKeyNotFound.into(),
        other => other.into(),
    }
}
