//! Conformance checks of retention storage: legal holds, subjects and content stripping at
//! sealing, erasure updates and expiry.

use steward_model::{EventKind, LogType};

use super::{event, file, files_query, head, ids, named, pending_ids, seal, user, Fixture, MONDAY};
use crate::{ErasureUpdate, FileSubject, LegalHold, RetentionQuery, RetentionStage, StoreError, SubjectKind};

fn hold(id: &str, ws: &str, user: Option<&str>, at: i64) -> LegalHold {
    LegalHold {
        id: id.to_owned(),
        workspace_id: ws.to_owned(),
        user_id: user.map(str::to_owned),
        reason: format!("matter {id}"),
        created_at_ms: at,
        created_by: "ops@admin-1".to_owned(),
    }
}

pub async fn legal_holds_are_added_listed_and_removed(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    let a = hold("hold-a", &ws, None, 1_000);
    let b = hold("hold-b", &ws, Some("user-1"), 2_000);
    let c = hold("hold-c", &ws2, Some("user-2"), 1_500);
    for h in [&a, &b, &c] {
        store.add_legal_hold(h).await.expect("add hold");
    }
    assert!(matches!(
        store.add_legal_hold(&a).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.legal_holds(Some(&ws)).await.expect("list"),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        store.legal_holds(None).await.expect("list all"),
        vec![a.clone(), c.clone(), b.clone()]
    );
    assert_eq!(store.remove_legal_hold("hold-a").await.expect("remove"), Some(a));
    assert_eq!(store.remove_legal_hold("hold-a").await.expect("again"), None);
    assert_eq!(store.legal_holds(Some(&ws)).await.expect("list"), vec![b]);
}

pub async fn sealing_strips_content_and_records_subjects(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let a = user(&store, &ws, "a@example.com").await;
    let mut prompt = named(
        event(&ws, &a, "t1", MONDAY, EventKind::UserPrompt, "CODEX_CLI", "m", 0),
        "codex.user_prompt",
        None,
    );
    prompt.raw = r#"{"attributes":{"event.name":"codex.user_prompt","prompt":"secret plan","prompt_length":"11"},"resource":{"host.name":"dev-1"}}"#.to_owned();
    let mut tool = named(
        event(&ws, &a, "t1", MONDAY + 1, EventKind::Other, "CODEX_CLI", "m", 1),
        "codex.tool_result",
        None,
    );
    tool.raw = r#"{"attributes":{"event.name":"codex.tool_result","arguments":"rm -rf /","output":"ok","call_id":"c1"}}"#.to_owned();
    store
        .insert_events(vec![prompt.clone(), tool.clone()])
        .await
        .expect("insert");
    let pending = pending_ids(&store.pending_records(&ws, 10).await.expect("pending"));
    assert_eq!(pending.len(), 2);

    // Only the consumed record's event is stripped.
    let subjects = vec![
        FileSubject {
            file_id: "file-1".into(),
            kind: SubjectKind::Thread,
            value: "t1".into(),
        },
        FileSubject {
            file_id: "file-1".into(),
            kind: SubjectKind::User,
            value: a.clone(),
        },
    ];
    let mut commit = seal(
        &ws,
        None,
        head(1, 100),
        vec![file(&ws, "file-1", LogType::CodexLog, 100, 1)],
        pending[..1].to_vec(),
    );
    commit.subjects = subjects.clone();
    commit.strip_event_attributes = vec!["prompt".into(), "arguments".into(), "output".into()];
    store.commit_seal(commit).await.expect("seal");

    let raw = store
        .event_raw(&ws, &prompt.dedup_key)
        .await
        .expect("raw")
        .expect("stored");
    let v: serde_json::Value = serde_json::from_str(&raw).expect("still JSON");
    assert_eq!(
        v["attributes"],
        serde_json::json!({"event.name": "codex.user_prompt", "prompt_length": "11"}),
        "the prompt left the raw event, the rest stayed"
    );
    assert_eq!(v["resource"]["host.name"], "dev-1");
    let raw = store
        .event_raw(&ws, &tool.dedup_key)
        .await
        .expect("raw")
        .expect("stored");
    assert!(
        raw.contains("rm -rf /"),
        "an unsealed event keeps its content: {raw}"
    );
    assert_eq!(store.event_raw(&ws, "no-such-key").await.expect("raw"), None);

    assert_eq!(store.file_subjects(&ws, "file-1").await.expect("subjects"), {
        let mut s = subjects.clone();
        s.sort();
        s
    });
    let by_thread = store
        .files_with_subject(&ws, SubjectKind::Thread, "t1")
        .await
        .expect("by thread");
    assert_eq!(ids(&by_thread), ["file-1"]);
    assert!(store
        .files_with_subject(&ws, SubjectKind::Thread, "t2")
        .await
        .expect("none")
        .is_empty());
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    assert!(store
        .files_with_subject(&ws2, SubjectKind::User, &a)
        .await
        .expect("isolated")
        .is_empty());
}

pub async fn erasure_and_expiry_update_files(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    // file() marks odd end times as already erased.
    let f1 = file(&ws, "file-1", LogType::CodexLog, 100, 1);
    let f2 = file(&ws, "file-2", LogType::CodexLog, 202, 1);
    let f3 = file(&ws, "file-3", LogType::CodexLog, 300, 1);
    let audit = file(&ws, "file-4", LogType::AuditLog, 50, 1);
    store
        .commit_seal(seal(
            &ws,
            None,
            head(1, 300),
            vec![f1.clone(), f2.clone(), f3.clone(), audit.clone()],
            Vec::new(),
        ))
        .await
        .expect("seal");
    assert_eq!(
        store.compliance_workspaces().await.expect("workspaces"),
        vec![ws.clone()]
    );

    let query = |stage, before| RetentionQuery {
        workspace_id: ws.clone(),
        log_type: LogType::CodexLog,
        before_end_time: before,
        stage,
        limit: 10,
    };
    let content = store
        .retention_candidates(&query(RetentionStage::Content, 300))
        .await
        .expect("content");
    assert_eq!(
        ids(&content),
        ["file-1", "file-2"],
        "before is exclusive; log type filtered"
    );

    let update = ErasureUpdate {
        workspace_id: ws.clone(),
        file_id: "file-2".into(),
        sha256: "e".repeat(64),
        size: 77,
        content_erased_at_ms: None,
    };
    store.record_erasure(&update).await.expect("partial erasure");
    let got = store
        .get_compliance_file(&ws, "file-2")
        .await
        .expect("get")
        .expect("file");
    assert_eq!(
        (got.sha256.as_str(), got.size, got.content_erased_at_ms),
        (update.sha256.as_str(), 77, None)
    );
    store
        .record_erasure(&ErasureUpdate {
            content_erased_at_ms: Some(9_000),
            ..update.clone()
        })
        .await
        .expect("full erasure");
    assert!(store
        .retention_candidates(&query(RetentionStage::Content, 1_000))
        .await
        .expect("content")
        .iter()
        .all(|f| f.id != "file-2"));
    assert!(matches!(
        store
            .record_erasure(&ErasureUpdate {
                file_id: "nope".into(),
                ..update.clone()
            })
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Expiry goes with a digest: the file leaves the listing and the candidates, stays gettable.
    let mut expire = seal(&ws, Some(1), head(2, 300), Vec::new(), Vec::new());
    expire.expired_file_ids = vec!["file-1".into()];
    store.commit_seal(expire).await.expect("expire");
    let listed = store
        .list_compliance_files(&files_query(&ws, &LogType::ALL, 0, 100))
        .await
        .expect("list");
    assert_eq!(ids(&listed), ["file-4", "file-2", "file-3"]);
    let gone = store
        .get_compliance_file(&ws, "file-1")
        .await
        .expect("get")
        .expect("kept");
    assert!(gone.expired_at_ms.is_some());
    assert_eq!(
        ids(&store
            .retention_candidates(&query(RetentionStage::Metadata, 1_000))
            .await
            .expect("metadata")),
        ["file-2", "file-3"]
    );
    assert!(matches!(
        store
            .record_erasure(&ErasureUpdate {
                file_id: "file-1".into(),
                ..update.clone()
            })
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Expiring it again loses, and nothing of that commit is kept.
    let mut again = seal(&ws, Some(2), head(3, 300), Vec::new(), Vec::new());
    again.expired_file_ids = vec!["file-3".into(), "file-1".into()];
    assert!(matches!(
        store.commit_seal(again).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.chain_head(&ws).await.expect("head"), Some(head(2, 300)));
    let f3_now = store
        .get_compliance_file(&ws, "file-3")
        .await
        .expect("get")
        .expect("file");
    assert_eq!(f3_now.expired_at_ms, None);
}
