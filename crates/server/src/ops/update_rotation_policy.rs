//! UpdateRotationPolicy: turns automatic rotation on (with an interval of 7 to 730 days, in
//! `d`, `h`, `m` or `s` units) or off. The next rotation is due one interval after the last
//! rotation (so enabling it on an old key rotates it at the next scheduler tick); the
//! [`scheduler`](crate::scheduler) performs it. Also the rotation parameters of CreateKey.

use keywarden_core::lifecycle::Requirement;
use keywarden_core::model::{AutomaticRotation, ROTATION_INTERVAL_RANGE, parse_interval};
use keywarden_store::KeyRecord;

use std::sync::Arc;

use super::shared::on_key_action;
use crate::action::{Call, Reply};
use crate::error::ApiError;
use crate::kms::require;
use crate::lifecycle::{modify_key, symmetric_spec};
use crate::request::ApiRequest;

on_key_action!(
    UpdateRotationPolicy,
    "UpdateRotationPolicy",
    Option<i64>,
    dry_run = false,
    parse = policy,
    run = run
);

/// `EnableAutomaticRotation` and `RotationInterval`: the interval, or `None` for off.
fn policy(req: &ApiRequest) -> Result<Option<i64>, ApiError> {
    let enabled = req
        .bool("EnableAutomaticRotation")?
        .ok_or(ApiError::MissingParameter("EnableAutomaticRotation"))?;
    interval(req, enabled)
}

async fn run(
    key: &Arc<KeyRecord>,
    interval: &Option<i64>,
    call: &Call<'_>,
) -> Result<Reply, ApiError> {
    modify_key(call.kms, &key.key_id, |current, _now| {
        require(current, Requirement::Mutable)?;
        symmetric_spec(current)?;
        Ok(with_policy(current, *interval))
    })
    .await?;
    Ok(Reply::default())
}

/// `key` with automatic rotation every `interval` seconds, or off when `None`. Turning it off
/// keeps the interval (not shown while off) and clears the next date.
fn with_policy(key: &KeyRecord, interval: Option<i64>) -> KeyRecord {
    match interval {
        Some(secs) => KeyRecord {
            automatic_rotation: AutomaticRotation::Enabled,
            rotation_interval: Some(secs),
            next_rotation_date: key.last_rotation_date.checked_add(secs),
            ..key.clone()
        },
        None => KeyRecord {
            automatic_rotation: AutomaticRotation::Disabled,
            next_rotation_date: None,
            ..key.clone()
        },
    }
}

/// The rotation interval in seconds when `enabled` (`RotationInterval` is then required and
/// must be 7 to 730 days), else `None` (a given interval is still checked for its form).
pub fn interval(req: &ApiRequest, enabled: bool) -> Result<Option<i64>, ApiError> {
    let interval = req
        .optional("RotationInterval")
        .map(|s| {
            parse_interval(s).ok_or_else(|| {
                ApiError::invalid(
                    "RotationInterval",
                    format!("{s:?} is not <integer><d|h|m|s>"),
                )
            })
        })
        .transpose()?;
    match (enabled, interval) {
        (false, _) => Ok(None),
        (true, None) => Err(ApiError::MissingParameter("RotationInterval")),
        (true, Some(secs)) if !ROTATION_INTERVAL_RANGE.contains(&secs) => Err(ApiError::invalid(
            "RotationInterval",
            "must be between 7 and 730 days",
        )),
        (true, Some(secs)) => Ok(Some(secs)),
    }
}
