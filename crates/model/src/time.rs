//! UTC day and week buckets, as Unix seconds. Weeks start Monday 00:00 UTC.

pub const DAY_SECS: i64 = 86_400;
pub const WEEK_SECS: i64 = 7 * DAY_SECS;

/// Start of the UTC day containing `unix_secs`.
pub fn day_start(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(DAY_SECS) * DAY_SECS
}

/// Start of the ISO week (Monday 00:00 UTC) containing `unix_secs`.
pub fn week_start(unix_secs: i64) -> i64 {
    let day_index = unix_secs.div_euclid(DAY_SECS);
    // 1970-01-01 was a Thursday: Monday-based weekday index is (days + 3) mod 7.
    let weekday = (day_index + 3).rem_euclid(7);
    (day_index - weekday) * DAY_SECS
}

/// Parses an RFC 3339 timestamp (Codex's `event.timestamp`) into Unix milliseconds.
pub fn parse_rfc3339_ms(value: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(value.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The UTC date of `unix_secs` as `YYYY-MM-DD`.
pub fn format_date(unix_secs: i64) -> String {
    chrono::DateTime::from_timestamp(unix_secs, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-20 is a Friday; its week starts Monday 2026-11-16.
        let friday = 1_795_212_253; // 2026-11-20T22:04:13Z
        assert_eq!(week_start(friday), 1_794_787_200); // Monday 2026-11-16T00:00Z
        assert_eq!(week_start(week_start(friday)), week_start(friday));
        assert_eq!((week_start(friday) / DAY_SECS + 3) % 7, 0);
    }

    #[test]
    fn day_start_floors() {
        assert_eq!(day_start(1_795_212_253), 1_795_132_800);
        assert_eq!(day_start(-1), -DAY_SECS);
        assert_eq!(format_date(1_767_225_600), "2026-01-01");
    }

    #[test]
    fn parses_codex_timestamps() {
        assert_eq!(
            parse_rfc3339_ms("2026-11-20T22:04:13.522Z"),
            Some(1_795_212_253_522)
        );
        assert_eq!(parse_rfc3339_ms("yesterday"), None);
    }
}
