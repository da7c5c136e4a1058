//! Retention, legal holds, deletion requests and exports against a real SQLite store and a
//! local object store, with time moved forward through `apply_retention_at`.

use std::sync::Arc;
use std::time::Duration;

use steward_compliance::chain::{verify_with, LogStore, ProblemKind, SigningKeyFile, VerifyOptions};
use steward_core::compliance::audit::Actor;
use steward_core::compliance::{FileListParams, RetentionPolicy, RetentionWindow};
use steward_core::{ComplianceConfig, ComplianceError, ComplianceService};
use steward_model::{EventKind, LogType, NormalizedEvent, Source, TokenUsage, UserKind};
use steward_store::{NewUser, Store};
use steward_store_sqlite::SqliteStore;

const DAY_US: i64 = 86_400_000_000;

struct Env {
    _dir: tempfile::TempDir,
    svc: ComplianceService,
    store: Arc<dyn Store>,
    ws: String,
    /// User ids of alice and bob.
    alice: String,
    bob: String,
}

async fn env(retention: RetentionPolicy) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("steward.db")).await.unwrap());
    let ws = store.ensure_default_workspace("Default").await.unwrap().id;
    let logs = LogStore::open(&dir.path().join("compliance").display().to_string()).unwrap();
    let key = SigningKeyFile::load_or_create(dir.path().join("key.pem")).unwrap();
    logs.publish_public_key(&key.public_key()).await.unwrap();
    let svc = ComplianceService::new(
        store.clone(),
        Arc::new(logs),
        Arc::new(key),
        ComplianceConfig {
            retention,
            ..ComplianceConfig::default()
        },
    );
    let mut ids = Vec::new();
    for email in ["alice@example.com", "bob@example.com"] {
        let u = store
            .upsert_user(&NewUser {
                workspace_id: ws.clone(),
                email: Some(email.into()),
                name: None,
                account_id: None,
                kind: UserKind::Person,
                principal_key: format!("email:{email}"),
            })
            .await
            .unwrap();
        ids.push(u.id);
    }
    Env {
        _dir: dir,
        svc,
        store,
        ws,
        bob: ids.pop().unwrap(),
        alice: ids.pop().unwrap(),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn prompt(ws: &str, user: &str, thread: &str, text: &str, n: i64) -> NormalizedEvent {
    NormalizedEvent {
        dedup_key: format!("{n:032x}"),
        workspace_id: ws.into(),
        user_id: user.into(),
        source: Source::OtlpLogs,
        event_name: "codex.user_prompt".into(),
        kind: EventKind::UserPrompt,
        thread_id: Some(thread.into()),
        trace_id: None,
        turn_id: None,
        timestamp_ms: now_ms() - 1000 + n,
        client_id: "codex_cli_rs".into(),
        model: Some("gpt-5-codex".into()),
        credits_micro: 0,
        usd_micro: 0,
        rate_card_version: String::new(),
        raw: serde_json::json!({"attributes": {"event.name": "codex.user_prompt", "prompt": text}})
            .to_string(),
        host_name: None,
    }
}

fn response(ws: &str, user: &str, thread: &str, n: i64) -> NormalizedEvent {
    NormalizedEvent {
        event_name: "codex.sse_event".into(),
        kind: EventKind::ResponseCompleted(TokenUsage {
            input: 100,
            cached_input: 10,
            output: 20,
            reasoning_output: 5,
            total: 120,
        }),
        raw: r#"{"attributes":{"event.name":"codex.sse_event","event.kind":"response.completed"}}"#.into(),
        ..prompt(ws, user, thread, "", n + 500)
    }
}

impl Env {
    async fn ingest_two_threads(&self) {
        let events = vec![
            prompt(&self.ws, &self.alice, "thread-alice", "alice's secret plan", 1),
            response(&self.ws, &self.alice, "thread-alice", 1),
            prompt(&self.ws, &self.bob, "thread-bob", "bob's secret plan", 2),
            response(&self.ws, &self.bob, "thread-bob", 2),
        ];
        assert_eq!(self.store.insert_events(events).await.unwrap().inserted, 4);
        self.svc.seal_workspace(&self.ws).await.unwrap();
    }

    async fn codex_log_text(&self) -> String {
        let params = FileListParams {
            event_types: vec!["CODEX_LOG".into()],
            after: None,
            limit: None,
        };
        let page = self.svc.list_files(&self.ws, &params).await.unwrap();
        let mut text = String::new();
        for f in &page.files {
            text.push_str(std::str::from_utf8(&self.svc.log_store().get(&f.path).await.unwrap()).unwrap());
        }
        text
    }

    /// One retention pass as of `at_us`: the outcome of this (the only) workspace.
    async fn retention_at(&self, at_us: i64) -> steward_core::compliance::RetentionOutcome {
        let mut all = self.svc.apply_retention_at(at_us).await;
        assert_eq!(all.len(), 1, "one workspace has sealed files");
        all.remove(0).unwrap()
    }

    async fn verify_ok(&self) -> steward_compliance::chain::VerifyReport {
        let report = self.svc.verify(Some(&self.ws)).await.unwrap();
        assert!(report.ok, "{:#?}", report.problems);
        report
    }

    async fn audit_actions(&self) -> Vec<String> {
        self.svc.seal_workspace(&self.ws).await.unwrap();
        let params = FileListParams {
            event_types: vec!["AUDIT_LOG".into()],
            after: None,
            limit: None,
        };
        let mut actions = Vec::new();
        for f in self.svc.list_files(&self.ws, &params).await.unwrap().files {
            let bytes = self.svc.log_store().get(&f.path).await.unwrap();
            for line in String::from_utf8(bytes.to_vec()).unwrap().lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                actions.push(v["action"].as_str().unwrap().to_owned());
            }
        }
        actions
    }
}

fn codex_log_policy(content_days: u64, metadata_days: u64) -> RetentionPolicy {
    let mut p = RetentionPolicy::default();
    p.by_log_type.insert(
        LogType::CodexLog,
        RetentionWindow {
            content: Some(Duration::from_secs(content_days * 86_400)),
            metadata: Some(Duration::from_secs(metadata_days * 86_400)),
        },
    );
    p
}

#[tokio::test]
async fn sealing_moves_prompt_text_out_of_the_stored_event() {
    let e = env(RetentionPolicy::default()).await;
    let p = prompt(&e.ws, &e.alice, "t", "only in the sealed file", 1);
    e.store.insert_events(vec![p.clone()]).await.unwrap();
    let before = e.store.event_raw(&e.ws, &p.dedup_key).await.unwrap().unwrap();
    assert!(before.contains("only in the sealed file"));
    e.svc.seal_workspace(&e.ws).await.unwrap();
    let after = e.store.event_raw(&e.ws, &p.dedup_key).await.unwrap().unwrap();
    assert!(!after.contains("only in the sealed file"), "{after}");
    assert!(e.codex_log_text().await.contains("only in the sealed file"));
}

#[tokio::test]
async fn retention_erases_content_then_deletes_files_and_legal_holds_stop_both() {
    let e = env(codex_log_policy(30, 365)).await;
    e.ingest_two_threads().await;
    let now = chrono::Utc::now().timestamp_micros();
    let hold = e
        .svc
        .place_legal_hold(
            &e.ws,
            Some(&e.alice),
            "matter 42",
            &Actor::System {
                reason: "test".into(),
            },
        )
        .await
        .unwrap();

    // Before the window: nothing changes.
    let early = e.retention_at(now + 29 * DAY_US).await;
    assert!(early.content_erased_files.is_empty() && early.expired_files.is_empty());

    // Past the content window: bob's prompt is erased, alice's (held) is kept, the tokens stay.
    let o = e.retention_at(now + 31 * DAY_US).await;
    assert_eq!(o.fields_erased, 1, "{o:?}");
    assert!(!o.held_files.is_empty());
    let text = e.codex_log_text().await;
    assert!(!text.contains("bob's secret plan"), "{text}");
    assert!(text.contains("alice's secret plan"));
    assert!(text.contains("\"$erased\""));
    assert!(text.contains("\"input_tokens\":100"), "metadata survives: {text}");
    let report = e.verify_ok().await;
    assert_eq!(report.erased_fields, 1);

    // Past the metadata window, the held file stays.
    let o = e.retention_at(now + 366 * DAY_US).await;
    assert!(o.expired_files.is_empty(), "{o:?}");
    assert!(e.codex_log_text().await.contains("alice's secret plan"));

    // Released: alice's content goes, then the file itself, and the chain still verifies.
    e.svc
        .release_legal_hold(
            &hold.id,
            &Actor::System {
                reason: "test".into(),
            },
        )
        .await
        .unwrap();
    let o = e.retention_at(now + 366 * DAY_US).await;
    assert_eq!(o.fields_erased, 1);
    assert_eq!(o.expired_files.len(), 1, "{o:?}");
    let file_id = o.expired_files[0].clone();
    assert_eq!(
        e.codex_log_text().await,
        "",
        "no CODEX_LOG file is listed any more"
    );
    assert!(matches!(
        e.svc.download(&e.ws, &file_id).await,
        Err(ComplianceError::Gone(_))
    ));
    let report = e.verify_ok().await;
    assert_eq!(report.files_expired, 1);

    let actions = e.audit_actions().await;
    for expected in [
        "compliance.legal_hold_placed",
        "compliance.retention_applied",
        "compliance.legal_hold_released",
    ] {
        assert!(actions.iter().any(|a| a == expected), "{expected} in {actions:?}");
    }
    // The audit files themselves have no retention configured: still verifiable, still listed.
    e.verify_ok().await;
}

#[tokio::test]
async fn a_workspace_hold_stops_retention() {
    let e = env(codex_log_policy(1, 2)).await;
    e.ingest_two_threads().await;
    e.svc
        .place_legal_hold(
            &e.ws,
            None,
            "litigation",
            &Actor::System {
                reason: "test".into(),
            },
        )
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp_micros();
    let o = e.retention_at(now + 10 * DAY_US).await;
    assert!(o.workspace_held && o.content_erased_files.is_empty() && o.expired_files.is_empty());
    let text = e.codex_log_text().await;
    assert!(text.contains("alice's secret plan") && text.contains("bob's secret plan"));
}

#[tokio::test]
async fn deleting_a_thread_erases_only_its_content_and_is_refused_under_hold() {
    let e = env(RetentionPolicy::default()).await;
    e.ingest_two_threads().await;
    let actor = Actor::ApiKey {
        credential_id: "cred_1".into(),
        name: Some("dpo".into()),
    };
    let o = e.svc.erase_thread(&e.ws, "thread-bob", &actor).await.unwrap();
    assert_eq!((o.records_erased, o.fields_erased), (1, 1), "{o:?}");
    let text = e.codex_log_text().await;
    assert!(!text.contains("bob's secret plan") && text.contains("alice's secret plan"));
    e.verify_ok().await;
    assert!(matches!(
        e.svc.erase_thread(&e.ws, "no-such-thread", &actor).await,
        Err(ComplianceError::NotFound(_))
    ));
    e.svc
        .place_legal_hold(&e.ws, Some(&e.alice), "matter 7", &actor)
        .await
        .unwrap();
    assert!(matches!(
        e.svc.erase_thread(&e.ws, "thread-alice", &actor).await,
        Err(ComplianceError::Conflict(_))
    ));
    assert!(matches!(
        e.svc.erase_user(&e.ws, &e.alice, &actor).await,
        Err(ComplianceError::Conflict(_))
    ));
    assert!(e.codex_log_text().await.contains("alice's secret plan"));
    assert!(e
        .audit_actions()
        .await
        .contains(&"compliance.content_deleted".to_owned()));
}

#[tokio::test]
async fn an_export_verifies_on_its_own_and_names_a_missing_file_in_range() {
    let e = env(RetentionPolicy::default()).await;
    e.ingest_two_threads().await;
    let out = tempfile::tempdir().unwrap();
    let dest = LogStore::open(&out.path().display().to_string()).unwrap();
    let now = chrono::Utc::now().timestamp_micros();
    let done = std::sync::atomic::AtomicU64::new(0);
    let progress = |d: u64, _t: u64| done.store(d, std::sync::atomic::Ordering::Relaxed);
    let outcome = e
        .svc
        .export(&e.ws, now - DAY_US, now, &dest, &progress)
        .await
        .unwrap();
    let m = outcome.manifest;
    assert!(m.files >= 1 && m.digests >= 1);
    assert_eq!(done.load(std::sync::atomic::Ordering::Relaxed), m.bytes);

    let key = dest.read_public_key().await.unwrap();
    let options = VerifyOptions {
        exported_end_times: Some((m.end_time_from, m.end_time_to)),
        ..VerifyOptions::default()
    };
    let report = verify_with(&dest, &key, &options).await.unwrap();
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.files_checked, m.files);

    // An export of a later range has the digests but no files, and still verifies.
    let later = tempfile::tempdir().unwrap();
    let later_dest = LogStore::open(&later.path().display().to_string()).unwrap();
    let m2 = e
        .svc
        .export(&e.ws, now + DAY_US, now + 2 * DAY_US, &later_dest, &|_, _| {})
        .await
        .unwrap()
        .manifest;
    assert_eq!(m2.files, 0);
    let options2 = VerifyOptions {
        exported_end_times: Some((m2.end_time_from, m2.end_time_to)),
        ..VerifyOptions::default()
    };
    let report = verify_with(&later_dest, &key, &options2).await.unwrap();
    assert!(report.ok, "{:#?}", report.problems);
    assert_eq!(report.files_not_exported, m.files);

    // A file of the range removed from the export is named.
    let listed = e
        .svc
        .list_files(
            &e.ws,
            &FileListParams {
                event_types: vec!["CODEX_LOG".into()],
                after: None,
                limit: None,
            },
        )
        .await
        .unwrap();
    let victim = &listed.files[0].path;
    std::fs::remove_file(out.path().join(victim)).unwrap();
    let report = verify_with(&dest, &key, &options).await.unwrap();
    assert!(report
        .problems_of(ProblemKind::FileRemoved)
        .any(|p| &p.path == victim));
}
