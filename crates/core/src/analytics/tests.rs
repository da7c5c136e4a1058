use super::*;

const NOW: i64 = 1_795_212_253; // 2026-11-20T22:04:13Z
const TODAY: i64 = 1_795_132_800;

/// Validation is a function of the configuration alone: no store is involved.
fn config() -> AnalyticsConfig {
    AnalyticsConfig::default()
}

fn raw(pairs: &[(&str, &str)]) -> RawUsageParams {
    let mut r = RawUsageParams::default();
    for (k, v) in pairs {
        let v = Some((*v).to_owned());
        match *k {
            "start_time" => r.start_time = v,
            "end_time" => r.end_time = v,
            "group" => r.group = v,
            "group_by" => r.group_by = v,
            "limit" => r.limit = v,
            "page" => r.page = v,
            _ => panic!("unknown param {k}"),
        }
    }
    r
}

#[test]
fn defaults_are_the_last_30_days_including_today() {
    let q = config().validate("ws", &raw(&[]), NOW).expect("valid");
    assert_eq!(q.end_day, TODAY + DAY_SECS);
    assert_eq!(q.start_day, TODAY + DAY_SECS - 30 * DAY_SECS);
    assert_eq!(
        (q.limit, q.bucket, q.grouping),
        (1000, Bucket::Day, Grouping::User)
    );
}

#[test]
fn end_is_exclusive_and_days_are_whole() {
    let q = config()
        .validate(
            "ws",
            &raw(&[
                ("start_time", &(TODAY - 5 * DAY_SECS + 7).to_string()),
                ("end_time", &TODAY.to_string()),
            ]),
            NOW,
        )
        .expect("valid");
    assert_eq!(q.start_day, TODAY - 5 * DAY_SECS);
    assert_eq!(q.end_day, TODAY, "a window ending at midnight excludes that day");
}

#[test]
fn limit_out_of_range_is_a_422_naming_limit() {
    for bad in ["0", "30001", "abc", "-4"] {
        match config().validate("ws", &raw(&[("limit", bad)]), NOW) {
            Err(AnalyticsError::Validation(p)) => assert_eq!(p[0].field, "limit", "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(
        config()
            .validate("ws", &raw(&[("limit", "30000")]), NOW)
            .expect("max ok")
            .limit,
        30_000
    );
}

#[test]
fn reversed_window_is_a_400() {
    let err = config()
        .validate(
            "ws",
            &raw(&[
                ("start_time", &TODAY.to_string()),
                ("end_time", &(TODAY - 1).to_string()),
            ]),
            NOW,
        )
        .unwrap_err();
    assert!(
        matches!(&err, AnalyticsError::BadRequest(m) if m.contains("end_time")),
        "{err:?}"
    );
}

#[test]
fn lookback_beyond_the_cap_is_a_400() {
    let too_old = TODAY - 91 * DAY_SECS;
    let err = config()
        .validate("ws", &raw(&[("start_time", &too_old.to_string())]), NOW)
        .unwrap_err();
    assert!(
        matches!(&err, AnalyticsError::BadRequest(m) if m.contains("90 days")),
        "{err:?}"
    );
    assert!(config()
        .validate(
            "ws",
            &raw(&[("start_time", &(TODAY - 90 * DAY_SECS).to_string())]),
            NOW
        )
        .is_ok());
}

#[test]
fn rfc3339_times_are_accepted() {
    let q = config()
        .validate(
            "ws",
            &raw(&[
                ("start_time", "2026-11-10T00:00:00Z"),
                ("end_time", "2026-11-12T00:00:00Z"),
            ]),
            NOW,
        )
        .expect("valid");
    assert_eq!(q.end_day - q.start_day, 2 * DAY_SECS);
}

#[test]
fn group_and_group_by() {
    let q = config()
        .validate("ws", &raw(&[("group", "workspace"), ("group_by", "week")]), NOW)
        .expect("valid");
    assert_eq!((q.grouping, q.bucket), (Grouping::Workspace, Bucket::Week));
    let q = config()
        .validate("ws", &raw(&[("group_by", "fortnight")]), NOW)
        .expect("unknown group_by is ignored");
    assert_eq!(q.bucket, Bucket::Day);
    assert!(matches!(
        config().validate("ws", &raw(&[("group", "team")]), NOW),
        Err(AnalyticsError::Validation(_))
    ));
}

#[test]
fn cursors_round_trip_and_are_bound_to_the_query() {
    let q = config().validate("ws", &raw(&[]), NOW).expect("valid");
    let fp = fingerprint(&q, None);
    let token = encode_cursor(TODAY, "user-1", &fp);
    assert_eq!(
        decode_cursor(&token, &fp).expect("round trip"),
        UsageCursor {
            bucket_start: TODAY,
            user_id: "user-1".into()
        }
    );
    assert_eq!(token, encode_cursor(TODAY, "user-1", &fp), "stable");
    let other = config()
        .validate("ws", &raw(&[("group", "workspace")]), NOW)
        .expect("valid");
    assert!(matches!(
        decode_cursor(&token, &fingerprint(&other, None)),
        Err(AnalyticsError::BadRequest(_))
    ));
    for garbage in ["", "!!!", "bm90IGpzb24", "eyJ2IjoyfQ"] {
        assert!(
            matches!(decode_cursor(garbage, &fp), Err(AnalyticsError::BadRequest(_))),
            "{garbage}"
        );
    }
}

#[test]
fn week_windows_cover_whole_weeks() {
    // 2026-11-18 (Wednesday) to 2026-11-20: the week of Monday 2026-11-16.
    let q = config()
        .validate(
            "ws",
            &raw(&[
                ("start_time", "1794960000"),
                ("end_time", "1795132800"),
                ("group_by", "week"),
            ]),
            NOW,
        )
        .expect("valid");
    assert_eq!(
        (q.start_day, q.end_day),
        (1_794_787_200, 1_794_787_200 + 7 * DAY_SECS)
    );
}
