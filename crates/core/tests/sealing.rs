//! Sealing against a real SQLite store and a local object store: what a crash between writing
//! a digest and committing it leaves behind, and that sealing recovers from it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use steward_compliance::chain::{digest_path, LogStore, SigningKeyFile};
use steward_core::compliance::audit::{self, Actor};
use steward_core::compliance::SealOutcome;
use steward_core::{ComplianceConfig, ComplianceError, ComplianceService};
use steward_model::{EventKind, NormalizedEvent, Source, UserKind};
use steward_store::Store;
use steward_store::{NewUser, TurnSpan};
use steward_store_sqlite::SqliteStore;

async fn service(dir: &std::path::Path) -> (ComplianceService, Arc<dyn Store>, String) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("steward.db")).await.unwrap());
    let ws = store.ensure_default_workspace("Default").await.unwrap().id;
    let svc = service_over(dir, &store, ComplianceConfig::default());
    (svc, store, ws)
}

/// A sealer over an existing store and object store (another replica, or other settings).
fn service_over(
    dir: &std::path::Path,
    store: &Arc<dyn Store>,
    config: ComplianceConfig,
) -> ComplianceService {
    let logs = LogStore::open(&dir.join("compliance").display().to_string()).unwrap();
    let key = SigningKeyFile::load_or_create(dir.join("key.pem")).unwrap();
    ComplianceService::new(store.clone(), Arc::new(logs), Arc::new(key), config)
}

async fn pend(store: &Arc<dyn Store>, ws: &str, n: i64) {
    let actor = Actor::System {
        reason: "test".into(),
    };
    let r = audit::record(
        ws,
        &actor,
        "test.action",
        None,
        Some(serde_json::json!({ "n": n })),
        1_000 + n,
    );
    store.append_audit_record(r).await.unwrap();
}

#[tokio::test]
async fn an_orphan_digest_from_an_interrupted_sealing_is_cleared_and_sealing_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, store, ws) = service(dir.path()).await;
    pend(&store, &ws, 1).await;
    assert_eq!(svc.seal_workspace(&ws).await.unwrap().digests, vec![1]);

    // A crash after the objects of sealing #2 were written, before its commit: digest #2
    // exists in the object store, the database head is still #1.
    let orphan = dir.path().join("compliance").join(digest_path(&ws, 2));
    std::fs::write(&orphan, b"{\"not\":\"a digest this database knows\"}").unwrap();
    pend(&store, &ws, 2).await;

    // Fresh orphan: could be another sealer about to commit, so it is left alone.
    assert!(matches!(
        svc.seal_workspace(&ws).await,
        Err(ComplianceError::Conflict(_))
    ));
    assert!(orphan.exists());

    // Old enough to be an orphan: cleared, and the next round seals the still-pending record.
    let old = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&orphan)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert!(matches!(
        svc.seal_workspace(&ws).await,
        Err(ComplianceError::Conflict(_))
    ));
    assert!(!orphan.exists(), "the orphan digest was removed");
    let outcome = svc.seal_workspace(&ws).await.unwrap();
    assert_eq!((outcome.digests, outcome.records), (vec![2], 1));
    let report = svc.verify(Some(&ws)).await.unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.digests_checked, 2);
}

#[tokio::test]
async fn nothing_pending_seals_nothing_and_records_seal_once() {
    let dir = tempfile::tempdir().unwrap();
    let (svc, store, ws) = service(dir.path()).await;
    let none = svc.seal_workspace(&ws).await.unwrap();
    assert!(none.files.is_empty() && none.digests.is_empty());
    for n in 0..5 {
        pend(&store, &ws, n).await;
    }
    let first = svc.seal_workspace(&ws).await.unwrap();
    assert_eq!((first.records, first.files.len()), (5, 1));
    assert!(
        svc.seal_workspace(&ws).await.unwrap().digests.is_empty(),
        "consumed records are not sealed again"
    );
}

/// A Codex prompt in the turn whose trace is `trace`, as OTLP ingest stores it.
fn prompt(ws: &str, user: &str, trace: &str, n: i64) -> NormalizedEvent {
    NormalizedEvent {
        dedup_key: format!("prompt-{n}"),
        workspace_id: ws.to_owned(),
        user_id: user.to_owned(),
        source: Source::OtlpLogs,
        event_name: "codex.user_prompt".to_owned(),
        kind: EventKind::UserPrompt,
        thread_id: Some("thread-1".to_owned()),
        trace_id: Some(trace.to_owned()),
        turn_id: None,
        timestamp_ms: 1_794_787_200_000 + n,
        client_id: "CODEX_SERVICE_EXEC".to_owned(),
        model: Some("gpt-5-codex".to_owned()),
        credits_micro: 0,
        usd_micro: 0,
        rate_card_version: String::new(),
        raw: format!(r#"{{"attributes":{{"prompt":"prompt {n}"}}}}"#),
        host_name: None,
    }
}

/// The sealed records of an outcome, in file order.
async fn sealed_records(svc: &ComplianceService, ws: &str, outcome: &SealOutcome) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for f in &outcome.files {
        let file = svc.file(ws, &f.id).await.unwrap();
        let bytes = svc.log_store().get(&file.path).await.unwrap();
        for line in String::from_utf8(bytes.to_vec()).unwrap().lines() {
            out.push(serde_json::from_str(line).unwrap());
        }
    }
    out
}

/// Codex sends logs and traces in separate requests, in either order. A record whose turn
/// span has not arrived waits (a sealed file never changes, so sealing it at once would lose
/// its turn id for good); records without a trace id do not wait; once the span is there the
/// record is sealed with its turn, and after the wait it is sealed without one.
#[tokio::test]
async fn records_wait_for_their_turn_span_but_not_forever() {
    let dir = tempfile::tempdir().unwrap();
    let (_, store, ws) = service(dir.path()).await;
    let patient = service_over(
        dir.path(),
        &store,
        ComplianceConfig {
            turn_span_wait: Duration::from_secs(3600),
            ..ComplianceConfig::default()
        },
    );
    let user = store
        .upsert_user(&NewUser {
            workspace_id: ws.clone(),
            email: Some("dana@example.com".into()),
            name: None,
            account_id: None,
            kind: UserKind::Person,
            principal_key: "email:dana@example.com".into(),
        })
        .await
        .unwrap()
        .id;
    store
        .insert_events(vec![
            prompt(&ws, &user, "trace-a", 1),
            prompt(&ws, &user, "trace-b", 2),
        ])
        .await
        .unwrap();
    pend(&store, &ws, 3).await;

    let first = patient.seal_workspace(&ws).await.unwrap();
    assert_eq!((first.records, first.waiting_for_turn), (1, 2), "{first:?}");
    let audit_only = sealed_records(&patient, &ws, &first).await;
    assert_eq!(audit_only.len(), 1);
    assert_eq!(audit_only[0]["type"], "AUDIT_LOG", "{audit_only:?}");

    // The span of trace-a arrives: that prompt is sealed, with its turn id.
    store
        .insert_turn_spans(vec![TurnSpan {
            workspace_id: ws.clone(),
            trace_id: "trace-a".into(),
            turn_id: "turn-a".into(),
            thread_id: Some("thread-1".into()),
        }])
        .await
        .unwrap();
    let second = patient.seal_workspace(&ws).await.unwrap();
    assert_eq!((second.records, second.waiting_for_turn), (1, 1), "{second:?}");
    let with_turn = sealed_records(&patient, &ws, &second).await;
    assert_eq!(with_turn.len(), 1);
    assert_eq!(
        with_turn[0]["event_details"]["turn_id"], "turn-a",
        "{with_turn:?}"
    );
    assert_eq!(
        with_turn[0]["event_details"]["prompt_text"], "prompt 1",
        "{with_turn:?}"
    );

    // trace-b's span never comes: once the wait is over (here: none) it is sealed without one.
    let impatient = service_over(
        dir.path(),
        &store,
        ComplianceConfig {
            turn_span_wait: Duration::ZERO,
            ..ComplianceConfig::default()
        },
    );
    let third = impatient.seal_workspace(&ws).await.unwrap();
    assert_eq!((third.records, third.waiting_for_turn), (1, 0), "{third:?}");
    let without = sealed_records(&impatient, &ws, &third).await;
    assert_eq!(without.len(), 1);
    assert_eq!(
        without[0]["event_details"]["prompt_text"], "prompt 2",
        "{without:?}"
    );
    assert!(without[0]["event_details"]["turn_id"].is_null(), "{without:?}");
    assert!(patient.seal_workspace(&ws).await.unwrap().digests.is_empty());
    let report = patient.verify(Some(&ws)).await.unwrap();
    assert!(report.ok, "{:?}", report.problems);
}
