use super::*;

const NOW: i64 = 1_795_212_253; // 2026-11-20T22:04:13Z
const TODAY: i64 = 1_795_132_800;

fn svc() -> UsageService {
    // validate() never touches the store; a real one is exercised by the API tests.
    UsageService {
        store: Arc::new(steward_store_stub::Never),
        config: AnalyticsConfig::default(),
    }
}

mod steward_store_stub {
    //! A store that fails every call: proves validation happens before any storage access.
    use async_trait::async_trait;
    use steward_model::*;
    use steward_store::*;
    pub struct Never;
    fn no<T>() -> StoreResult<T> {
        Err(StoreError::Other("validation must not reach the store".into()))
    }
    #[async_trait]
    impl Store for Never {
        fn backend(&self) -> &'static str {
            "never"
        }
        async fn ping(&self) -> StoreResult<()> {
            no()
        }
        async fn ensure_default_workspace(&self, _: &str) -> StoreResult<Workspace> {
            no()
        }
        async fn list_workspaces(&self) -> StoreResult<Vec<Workspace>> {
            no()
        }
        async fn get_workspace(&self, _: &str) -> StoreResult<Option<Workspace>> {
            no()
        }
        async fn create_workspace(&self, _: &str) -> StoreResult<Workspace> {
            no()
        }
        async fn upsert_user(&self, _: &NewUser) -> StoreResult<User> {
            no()
        }
        async fn find_user_by_email(&self, _: &str, _: &str) -> StoreResult<Option<User>> {
            no()
        }
        async fn list_users(&self, _: &str) -> StoreResult<Vec<User>> {
            no()
        }
        async fn create_credential(&self, _: &NewCredential) -> StoreResult<Credential> {
            no()
        }
        async fn find_credential_by_hash(&self, _: &str) -> StoreResult<Option<Credential>> {
            no()
        }
        async fn list_credentials(&self, _: &str) -> StoreResult<Vec<Credential>> {
            no()
        }
        async fn insert_events(&self, _: Vec<NormalizedEvent>) -> StoreResult<InsertOutcome> {
            no()
        }
        async fn count_events(&self, _: &str) -> StoreResult<u64> {
            no()
        }
        async fn usage_rows(&self, _: &UsageQuery) -> StoreResult<UsageRowsPage> {
            no()
        }
        // --- Codex tasks and environments ---
        async fn record_trace_cwds(&self, _: steward_store::TraceCwds) -> StoreResult<()> {
            no()
        }
        async fn list_codex_threads(
            &self,
            _: &steward_store::ThreadQuery,
        ) -> StoreResult<Vec<steward_store::CodexThread>> {
            no()
        }
        async fn get_codex_thread(
            &self,
            _: &str,
            _: &str,
        ) -> StoreResult<Option<steward_store::CodexThread>> {
            no()
        }
        async fn list_codex_environments(
            &self,
            _: &steward_store::EnvironmentQuery,
        ) -> StoreResult<Vec<steward_store::CodexEnvironment>> {
            no()
        }
        async fn get_codex_environment(
            &self,
            _: &str,
            _: &str,
        ) -> StoreResult<Option<steward_store::CodexEnvironment>> {
            no()
        }
        async fn insert_turn_spans(&self, _: Vec<TurnSpan>) -> StoreResult<u64> {
            no()
        }
        async fn append_audit_record(&self, _: NewAuditRecord) -> StoreResult<()> {
            no()
        }
        async fn pending_workspaces(&self) -> StoreResult<Vec<(String, i64)>> {
            no()
        }
        async fn pending_records(&self, _: &str, _: u32) -> StoreResult<Vec<PendingRecord>> {
            no()
        }
        async fn chain_head(&self, _: &str) -> StoreResult<Option<ChainHeadRow>> {
            no()
        }
        async fn commit_seal(&self, _: SealCommit) -> StoreResult<()> {
            no()
        }
        async fn list_compliance_files(&self, _: &FileQuery) -> StoreResult<Vec<ComplianceFile>> {
            no()
        }
        async fn get_compliance_file(&self, _: &str, _: &str) -> StoreResult<Option<ComplianceFile>> {
            no()
        }
        async fn event_raw(&self, _: &str, _: &str) -> StoreResult<Option<String>> {
            no()
        }
        async fn compliance_workspaces(&self) -> StoreResult<Vec<String>> {
            no()
        }
        async fn retention_candidates(&self, _: &RetentionQuery) -> StoreResult<Vec<ComplianceFile>> {
            no()
        }
        async fn files_with_subject(
            &self,
            _: &str,
            _: SubjectKind,
            _: &str,
        ) -> StoreResult<Vec<ComplianceFile>> {
            no()
        }
        async fn file_subjects(&self, _: &str, _: &str) -> StoreResult<Vec<FileSubject>> {
            no()
        }
        async fn record_erasure(&self, _: &ErasureUpdate) -> StoreResult<()> {
            no()
        }
        async fn add_legal_hold(&self, _: &LegalHold) -> StoreResult<()> {
            no()
        }
        async fn legal_holds(&self, _: Option<&str>) -> StoreResult<Vec<LegalHold>> {
            no()
        }
        async fn remove_legal_hold(&self, _: &str) -> StoreResult<Option<LegalHold>> {
            no()
        }
    }
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
    let q = svc().validate("ws", &raw(&[]), NOW).expect("valid");
    assert_eq!(q.end_day, TODAY + DAY_SECS);
    assert_eq!(q.start_day, TODAY + DAY_SECS - 30 * DAY_SECS);
    assert_eq!(
        (q.limit, q.bucket, q.grouping),
        (1000, Bucket::Day, Grouping::User)
    );
}

#[test]
fn end_is_exclusive_and_days_are_whole() {
    let q = svc()
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
        match svc().validate("ws", &raw(&[("limit", bad)]), NOW) {
            Err(AnalyticsError::Validation(p)) => assert_eq!(p[0].field, "limit", "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert_eq!(
        svc()
            .validate("ws", &raw(&[("limit", "30000")]), NOW)
            .expect("max ok")
            .limit,
        30_000
    );
}

#[test]
fn reversed_window_is_a_400() {
    let err = svc()
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
    let err = svc()
        .validate("ws", &raw(&[("start_time", &too_old.to_string())]), NOW)
        .unwrap_err();
    assert!(
        matches!(&err, AnalyticsError::BadRequest(m) if m.contains("90 days")),
        "{err:?}"
    );
    assert!(svc()
        .validate(
            "ws",
            &raw(&[("start_time", &(TODAY - 90 * DAY_SECS).to_string())]),
            NOW
        )
        .is_ok());
}

#[test]
fn rfc3339_times_are_accepted() {
    let q = svc()
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
    let q = svc()
        .validate("ws", &raw(&[("group", "workspace"), ("group_by", "week")]), NOW)
        .expect("valid");
    assert_eq!((q.grouping, q.bucket), (Grouping::Workspace, Bucket::Week));
    let q = svc()
        .validate("ws", &raw(&[("group_by", "fortnight")]), NOW)
        .expect("unknown group_by is ignored");
    assert_eq!(q.bucket, Bucket::Day);
    assert!(matches!(
        svc().validate("ws", &raw(&[("group", "team")]), NOW),
        Err(AnalyticsError::Validation(_))
    ));
}

#[test]
fn cursors_round_trip_and_are_bound_to_the_query() {
    let q = svc().validate("ws", &raw(&[]), NOW).expect("valid");
    let fp = fingerprint(&q);
    let token = encode_cursor(TODAY, "user-1", &fp);
    assert_eq!(
        decode_cursor(&token, &fp).expect("round trip"),
        UsageCursor {
            bucket_start: TODAY,
            user_id: "user-1".into()
        }
    );
    assert_eq!(token, encode_cursor(TODAY, "user-1", &fp), "stable");
    let other = svc()
        .validate("ws", &raw(&[("group", "workspace")]), NOW)
        .expect("valid");
    assert!(matches!(
        decode_cursor(&token, &fingerprint(&other)),
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
    let q = svc()
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
