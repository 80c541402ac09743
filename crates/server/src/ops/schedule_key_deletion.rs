//! ScheduleKeyDeletion: records `DeleteDate` = now + `PendingWindowInDays` (7 to 366) on the
//! key row; the [`scheduler`](crate::scheduler) destroys the key once that date has passed. A
//! key with deletion protection is refused.

use std::sync::Arc;

use keywarden_core::lifecycle::{PENDING_WINDOW_DAYS, Transition, delete_date};
use keywarden_store::KeyRecord;

use super::shared::on_key_action;
use crate::action::{Call, Reply};
use crate::error::ApiError;
use crate::lifecycle::change_state;
use crate::request::ApiRequest;

on_key_action!(
    ScheduleKeyDeletion,
    "ScheduleKeyDeletion",
    i64,
    dry_run = false,
    parse = days,
    run = run
);

/// `PendingWindowInDays`.
fn days(req: &ApiRequest) -> Result<i64, ApiError> {
    req.int_in("PendingWindowInDays", PENDING_WINDOW_DAYS)?
        .ok_or(ApiError::MissingParameter("PendingWindowInDays"))
}

async fn run(key: &Arc<KeyRecord>, days: &i64, call: &Call<'_>) -> Result<Reply, ApiError> {
    let days = *days;
    change_state(
        call.kms,
        &key.key_id,
        Transition::ScheduleDeletion,
        |key, now| {
            if key.deletion_protection {
                return Err(ApiError::DeletionProtected);
            }
            delete_date(now, days)
                .map(Some)
                .ok_or_else(|| ApiError::invalid("PendingWindowInDays", "out of range"))
        },
    )
    .await?;
    Ok(Reply::default())
}
