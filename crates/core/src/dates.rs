//! Timestamps as the API writes them: `YYYY-MM-DDTHH:MM:SSZ`, UTC, whole seconds.

use time::{OffsetDateTime, format_description::FormatItem, macros::format_description};

const API_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Formats unix seconds as `YYYY-MM-DDTHH:MM:SSZ`; out-of-range values give an empty string.
pub fn format_unix(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(API_FORMAT).ok())
        .unwrap_or_default()
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` into unix seconds.
pub fn parse_api(s: &str) -> Option<i64> {
    let t = time::PrimitiveDateTime::parse(s, API_FORMAT).ok()?;
    Some(t.assume_utc().unix_timestamp())
}

/// The current time in unix seconds.
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(format_unix(1_459_134_788), "2016-03-28T03:13:08Z");
        assert_eq!(parse_api("2016-03-28T03:13:08Z"), Some(1_459_134_788));
        assert_eq!(parse_api("2016-03-28 03:13:08"), None);
        assert_eq!(parse_api("2016-03-28T03:13:08"), None);
    }
}
