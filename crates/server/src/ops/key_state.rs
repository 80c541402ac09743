//! EnableKey, DisableKey, ScheduleKeyDeletion and CancelKeyDeletion: the state changes of the
//! key-state machine (`keywarden_core::lifecycle`), each a compare-and-set on the key row.
//!
//! ScheduleKeyDeletion records `DeleteDate` = now + `PendingWindowInDays` (7 to 366) in the
//! store; the [`scheduler`](crate::scheduler) destroys the key once that date has passed.
//! CancelKeyDeletion returns the key to Enabled and clears the date.

use keywarden_core::lifecycle::{PENDING_WINDOW_DAYS, Transition, delete_date};
use keywarden_store::KeyRecord;

use super::Body;
use crate::error::ApiError;
use crate::kms::{Kms, state_of};
use crate::lifecycle::modify_key;
use crate::request::ApiRequest;

/// EnableKey.
pub async fn enable(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    change_state(kms, req, Transition::Enable, |_, _| Ok(None)).await
}

/// DisableKey.
pub async fn disable(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    change_state(kms, req, Transition::Disable, |_, _| Ok(None)).await
}

/// CancelKeyDeletion.
pub async fn cancel_deletion(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    change_state(kms, req, Transition::CancelDeletion, |_, _| Ok(None)).await
}

/// ScheduleKeyDeletion. A key with deletion protection is refused.
pub async fn schedule_deletion(kms: &Kms, req: &ApiRequest) -> Result<Body, ApiError> {
    let days = req
        .int_in("PendingWindowInDays", PENDING_WINDOW_DAYS)?
        .ok_or(ApiError::MissingParameter("PendingWindowInDays"))?;
    change_state(kms, req, Transition::ScheduleDeletion, |key, now| {
        if key.deletion_protection {
            return Err(ApiError::DeletionProtected);
        }
        delete_date(now, days)
            .map(Some)
            .ok_or_else(|| ApiError::invalid("PendingWindowInDays", "out of range"))
    })
    .await
}

/// Applies `transition` to the key named by `KeyId`. `delete_date` checks the key (after the
/// transition was allowed) and gives its new `DeleteDate` (`None` clears it).
async fn change_state<F>(
    kms: &Kms,
    req: &ApiRequest,
    transition: Transition,
    delete_date: F,
) -> Result<Body, ApiError>
where
    F: Fn(&KeyRecord, i64) -> Result<Option<i64>, ApiError>,
{
    let key = kms.resolve(req.required("KeyId")?).await?;
    modify_key(kms, &key.key_id, |current, now| {
        let state = transition.apply(state_of(current)?)?;
        Ok(KeyRecord {
            state: state.to_string(),
            delete_date: delete_date(current, now)?,
            ..current.clone()
        })
    })
    .await?;
    Ok(Body::new())
}
