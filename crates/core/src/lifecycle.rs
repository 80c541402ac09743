//! The key-state machine: which state changes are allowed, and what each kind of action needs
//! from the state of the key it touches (the API's key-state × action matrix).
//!
//! ```text
//!              EnableKey / DisableKey
//!   Enabled  <----------------------->  Disabled
//!      |  ^                                 |
//!      |  |  CancelKeyDeletion              |  ScheduleKeyDeletion
//!      |  +------------------+              |  (PendingImport too)
//!      v                     |              v
//!   ScheduleKeyDeletion --> PendingDeletion --(window ends)--> destroyed
//! ```
//!
//! Cancelling always returns the key to `Enabled`, as the service documents, whatever state the
//! key was in before it was scheduled.

use std::ops::RangeInclusive;

use crate::model::KeyState;

/// Days a deletion may be scheduled ahead (`PendingWindowInDays`).
pub const PENDING_WINDOW_DAYS: RangeInclusive<i64> = 7..=366;

/// Seconds in a day.
pub const DAY_SECS: i64 = 86_400;

/// Why a key's state refuses an action. The server answers 409 with the matching code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The action needs another state (`Rejected.<State>`).
    #[error("the key state is {0}")]
    Rejected(KeyState),
    /// The state change is not allowed from the current state (`Rejected.StateModifiedFailed`).
    #[error("the key state cannot change this way")]
    StateModifiedFailed,
}

/// A state change an action asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// EnableKey.
    Enable,
    /// DisableKey.
    Disable,
    /// ScheduleKeyDeletion.
    ScheduleDeletion,
    /// CancelKeyDeletion.
    CancelDeletion,
}

impl Transition {
    /// The state after this change from `from`, or why it is refused. Enabling an Enabled key
    /// (or disabling a Disabled one) is allowed and changes nothing.
    pub fn apply(self, from: KeyState) -> Result<KeyState, Refusal> {
        use KeyState::{Disabled, Enabled, PendingDeletion, PendingImport};
        match (self, from) {
            (Transition::Enable, Enabled | Disabled) => Ok(Enabled),
            (Transition::Disable, Enabled | Disabled) => Ok(Disabled),
            (Transition::ScheduleDeletion, Enabled | Disabled | PendingImport) => {
                Ok(PendingDeletion)
            }
            (Transition::CancelDeletion, PendingDeletion) => Ok(Enabled),
            _ => Err(Refusal::StateModifiedFailed),
        }
    }
}

/// What an action needs from the state of a key it reads or changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Reads (DescribeKey, ListKeyVersions, ListResourceTags, ...): any state.
    Any,
    /// Cryptographic use and new versions: `Enabled`, else `Rejected.<State>`.
    Usable,
    /// Changes to metadata, rotation policy and tags: anything but `PendingDeletion`
    /// (`Rejected.PendingDeletion`): a key waiting to be destroyed is frozen until cancelled.
    Mutable,
    /// CreateAlias: anything but `PendingDeletion` (`Rejected.StateModifiedFailed`).
    AliasTarget,
}

impl Requirement {
    /// Checks `state` against this requirement.
    pub fn check(self, state: KeyState) -> Result<(), Refusal> {
        match (self, state) {
            (Requirement::Any, _)
            | (Requirement::Usable, KeyState::Enabled)
            | (
                Requirement::Mutable | Requirement::AliasTarget,
                KeyState::Enabled | KeyState::Disabled | KeyState::PendingImport,
            ) => Ok(()),
            (Requirement::Usable | Requirement::Mutable, other) => Err(Refusal::Rejected(other)),
            (Requirement::AliasTarget, KeyState::PendingDeletion) => {
                Err(Refusal::StateModifiedFailed)
            }
        }
    }
}

/// When a deletion scheduled at `now` for `days` days happens, if `days` is in range.
pub fn delete_date(now: i64, days: i64) -> Option<i64> {
    if !PENDING_WINDOW_DAYS.contains(&days) {
        return None;
    }
    now.checked_add(days.checked_mul(DAY_SECS)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyState::{Disabled, Enabled, PendingDeletion, PendingImport};

    const SMF: Refusal = Refusal::StateModifiedFailed;

    #[test]
    fn transitions_follow_the_matrix() {
        let table: [(Transition, [Result<KeyState, Refusal>; 4]); 4] = [
            (
                Transition::Enable,
                [Ok(Enabled), Ok(Enabled), Err(SMF), Err(SMF)],
            ),
            (
                Transition::Disable,
                [Ok(Disabled), Ok(Disabled), Err(SMF), Err(SMF)],
            ),
            (
                Transition::ScheduleDeletion,
                [
                    Ok(PendingDeletion),
                    Ok(PendingDeletion),
                    Err(SMF),
                    Ok(PendingDeletion),
                ],
            ),
            (
                Transition::CancelDeletion,
                [Err(SMF), Err(SMF), Ok(Enabled), Err(SMF)],
            ),
        ];
        for (t, expected) in table {
            for (from, want) in [Enabled, Disabled, PendingDeletion, PendingImport]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(t.apply(from), want, "{t:?} from {from}");
            }
        }
    }

    #[test]
    fn requirements_follow_the_matrix() {
        use Requirement::*;
        let rej = Refusal::Rejected;
        let table: [(Requirement, [Result<(), Refusal>; 4]); 4] = [
            (Any, [Ok(()), Ok(()), Ok(()), Ok(())]),
            (
                Usable,
                [
                    Ok(()),
                    Err(rej(Disabled)),
                    Err(rej(PendingDeletion)),
                    Err(rej(PendingImport)),
                ],
            ),
            (Mutable, [Ok(()), Ok(()), Err(rej(PendingDeletion)), Ok(())]),
            (AliasTarget, [Ok(()), Ok(()), Err(SMF), Ok(())]),
        ];
        for (r, expected) in table {
            for (state, want) in [Enabled, Disabled, PendingDeletion, PendingImport]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(r.check(state), want, "{r:?} in {state}");
            }
        }
    }

    #[test]
    fn pending_window() {
        assert_eq!(delete_date(1_000, 7), Some(1_000 + 7 * DAY_SECS));
        assert_eq!(delete_date(1_000, 366), Some(1_000 + 366 * DAY_SECS));
        assert_eq!(delete_date(1_000, 6), None);
        assert_eq!(delete_date(1_000, 367), None);
        assert_eq!(delete_date(i64::MAX, 7), None);
    }
}
