//! Changes to keys that must happen exactly once, whatever the number of servers on the store:
//! state and metadata updates ([`modify_key`]), rotation ([`rotate`]) and destruction
//! ([`destroy_if_due`]). The API actions and the [`scheduler`](crate::scheduler) share them.
//!
//! Every change is a compare-and-set on the key row's `revision`: read the row from the store
//! (never from the cache), check the rules against *that* row, write it back only if nobody
//! wrote in between. On a conflict the row is read again and the rules checked again, so a
//! change never lands on a state it was not checked against. Exactly-once therefore comes from
//! the store's transaction, not from timing or locks held by one process.
//!
//! After a local change the node's caches are invalidated at once; other nodes see it when
//! their cached entry expires (`--cache-ttl`, default 2 s).

use keywarden_core::lifecycle::{Requirement, Transition};
use keywarden_core::model::{AutomaticRotation, KeySpec, KeyState};
use keywarden_store::{KeyRecord, StoreError, VersionRecord};

use crate::error::ApiError;
use crate::kms::{Kms, require};

/// Compare-and-set attempts before answering 409 `Rejected.StateModifiedFailed`.
const MAX_ATTEMPTS: usize = 8;

/// Reads key `key_id` from the store, lets `change` check it and return the new row (given the
/// current time), and writes it back with compare-and-set, retrying on conflicts. Returns the
/// stored row. A change that leaves the row as it was writes nothing.
pub async fn modify_key<F>(kms: &Kms, key_id: &str, mut change: F) -> Result<KeyRecord, ApiError>
where
    F: FnMut(&KeyRecord, i64) -> Result<KeyRecord, ApiError>,
{
    for _ in 0..MAX_ATTEMPTS {
        let current = fresh(kms, key_id).await?;
        let next = change(&current, kms.now())?;
        if next == current {
            return Ok(current);
        }
        match kms.update_key(&next).await {
            Ok(()) => {
                return Ok(stored(next));
            }
            Err(StoreError::Conflict) => continue,
            Err(StoreError::NotFound) => return Err(gone(kms, key_id)),
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::StateModifiedFailed)
}

/// Applies `transition` (EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion) to key
/// `key_id`. `delete_date` checks the key (after the transition was allowed) and gives its new
/// `DeleteDate` (`None` clears it).
pub async fn change_state<F>(
    kms: &Kms,
    key_id: &str,
    transition: Transition,
    delete_date: F,
) -> Result<KeyRecord, ApiError>
where
    F: Fn(&KeyRecord, i64) -> Result<Option<i64>, ApiError>,
{
    modify_key(kms, key_id, |current, now| {
        Ok(KeyRecord {
            state: transition.apply(current.state)?,
            delete_date: delete_date(current, now)?,
            ..current.clone()
        })
    })
    .await
}

/// Why a rotation is attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// CreateKeyVersion: the key must be Enabled (else `Rejected.<State>`).
    OnDemand,
    /// The scheduler: only if automatic rotation is due at the time of the attempt.
    Scheduled,
}

/// A new primary version and the key row that names it.
#[derive(Debug)]
pub struct Rotated {
    /// The stored key row.
    pub key: KeyRecord,
    /// The new version (its material sealed).
    pub version: VersionRecord,
}

/// Rotates key `key_id`: a new version with fresh material becomes the primary version, in one
/// store transaction with the key row. `Ok(None)` when a scheduled rotation is no longer due
/// (another server did it, the policy or state changed).
pub async fn rotate(
    kms: &Kms,
    key_id: &str,
    trigger: Trigger,
) -> Result<Option<Rotated>, ApiError> {
    for _ in 0..MAX_ATTEMPTS {
        let current = fresh(kms, key_id).await?;
        let now = kms.now();
        if !rotation_allowed(&current, trigger, now)? {
            return Ok(None);
        }
        let (key, version) = next_version(kms, &current, now)?;
        match kms.rotate_key(&key, &version).await {
            Ok(()) => {
                let key = stored(key);
                return Ok(Some(Rotated { key, version }));
            }
            Err(StoreError::Conflict | StoreError::AlreadyExists) => continue,
            Err(StoreError::NotFound) => return Err(gone(kms, key_id)),
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::StateModifiedFailed)
}

/// Whether `key` may rotate now for `trigger`; on-demand refusals are errors.
fn rotation_allowed(key: &KeyRecord, trigger: Trigger, now: i64) -> Result<bool, ApiError> {
    match trigger {
        Trigger::OnDemand => {
            require(key, Requirement::Usable)?;
            symmetric_spec(key)?;
            Ok(true)
        }
        Trigger::Scheduled => Ok(key.state == KeyState::Enabled
            && key.automatic_rotation == AutomaticRotation::Enabled
            && key.next_rotation_date.is_some_and(|due| due <= now)),
    }
}

/// The spec of a key that can have versions made on demand or by schedule (symmetric only).
pub fn symmetric_spec(key: &KeyRecord) -> Result<KeySpec, ApiError> {
    Some(key.key_spec)
        .filter(|spec| spec.symmetric_len().is_some())
        .ok_or_else(|| {
            ApiError::UnsupportedOperation(format!(
                "keys of spec {} cannot be rotated",
                key.key_spec
            ))
        })
}

/// The rotated key row (same revision: the store compares it) and its new version.
fn next_version(
    kms: &Kms,
    key: &KeyRecord,
    now: i64,
) -> Result<(KeyRecord, VersionRecord), ApiError> {
    let spec = symmetric_spec(key)?;
    let version_id = uuid::Uuid::new_v4().to_string();
    let sealed_material = kms.new_material(spec, &key.key_id, &version_id)?;
    let automatic = key.automatic_rotation == AutomaticRotation::Enabled;
    let next = KeyRecord {
        primary_version_id: version_id.clone(),
        last_rotation_date: now,
        next_rotation_date: match (automatic, key.rotation_interval) {
            (true, Some(interval)) => now.checked_add(interval),
            _ => key.next_rotation_date,
        },
        ..key.clone()
    };
    let version = VersionRecord {
        key_id: key.key_id.clone(),
        version_id,
        creation_date: now,
        sealed_material,
    };
    Ok((next, version))
}

/// What [`destroy_if_due`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destruction {
    /// This call destroyed the key.
    Destroyed,
    /// The key was already gone (another server destroyed it).
    AlreadyGone,
    /// The key is no longer due (deletion cancelled, or the date moved).
    NotDue,
}

/// Destroys `key` (as read from the store) if it is still pending deletion with its date
/// passed: versions (the material), aliases, tags and the key row go in one transaction that
/// succeeds only if the row is unchanged since it was read.
pub async fn destroy_if_due(kms: &Kms, key: KeyRecord) -> Result<Destruction, ApiError> {
    let mut current = key;
    for _ in 0..MAX_ATTEMPTS {
        let now = kms.now();
        let due = current.state == KeyState::PendingDeletion
            && current.delete_date.is_some_and(|date| date <= now);
        if !due {
            return Ok(Destruction::NotDue);
        }
        match kms.destroy_key(&current.key_id, current.revision).await {
            Ok(()) => return Ok(Destruction::Destroyed),
            Err(StoreError::NotFound) => return Ok(Destruction::AlreadyGone),
            Err(StoreError::Conflict) => match kms.store.get_key(&current.key_id).await? {
                Some(reread) => current = reread,
                None => return Ok(Destruction::AlreadyGone),
            },
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::StateModifiedFailed)
}

/// The key row as the store has it now.
async fn fresh(kms: &Kms, key_id: &str) -> Result<KeyRecord, ApiError> {
    match kms.store.get_key(key_id).await? {
        Some(key) => Ok(key),
        None => Err(gone(kms, key_id)),
    }
}

/// The key is not in the store: forget what this node cached about it.
fn gone(kms: &Kms, key_id: &str) -> ApiError {
    kms.forget_key(key_id);
    ApiError::KeyNotFound
}

/// A row as the store holds it after a successful compare-and-set of `written`.
fn stored(written: KeyRecord) -> KeyRecord {
    KeyRecord {
        revision: written.revision.saturating_add(1),
        ..written
    }
}
