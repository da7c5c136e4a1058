//! Shared fixture of the migration-0006 backfill tests (one per backend, since each rewinds its
//! own schema): events as stored before 0006, and the check that backfilled threads and
//! environments equal what ingest keeps.

use steward_model::{EventKind, NormalizedEvent, Source, TokenUsage};

use crate::{CodexEnvironment, CodexThread, EnvironmentQuery, Store, ThreadQuery};

/// An event as Codex would have left it: `host.name` in the raw record's resource (one raw
/// record, at ts 30, is not JSON at all).
fn ev(
    (ws, user, thread, ts): (&str, &str, Option<&str>, i64),
    kind: EventKind,
    model: Option<&str>,
    host: Option<&str>,
) -> NormalizedEvent {
    let raw = match host {
        Some(h) => format!(r#"{{"attributes":{{}},"resource":{{"host.name":"{h}"}}}}"#),
        None if ts == 30 => "not JSON".to_owned(),
        None => "{}".to_owned(),
    };
    NormalizedEvent {
        dedup_key: format!("{ws}-{ts}"),
        workspace_id: ws.into(),
        user_id: user.into(),
        source: Source::OtlpLogs,
        event_name: "codex.test".into(),
        kind,
        thread_id: thread.map(str::to_owned),
        trace_id: None,
        turn_id: None,
        timestamp_ms: ts,
        client_id: "CODEX_CLI".into(),
        model: model.map(str::to_owned),
        credits_micro: 0,
        usd_micro: 0,
        rate_card_version: String::new(),
        raw,
        host_name: host.map(str::to_owned),
    }
}

/// One host-attributed prompt event (for tests that need many threads).
pub fn prompt_on_host(ws: &str, user: &str, thread: &str, ts: i64, host: &str) -> NormalizedEvent {
    ev(
        (ws, user, Some(thread), ts),
        EventKind::UserPrompt,
        Some("m"),
        Some(host),
    )
}

/// Events stored before migration 0006: threads over two hosts, a thread whose host changes,
/// one without a host, one without a thread, one in another workspace.
pub fn backfill_events() -> Vec<NormalizedEvent> {
    let usage = TokenUsage {
        input: 100,
        cached_input: 10,
        output: 7,
        reasoning_output: 2,
        total: 107,
    };
    let (m1, m2, devbox) = (Some("m1"), Some("m2"), Some("devbox"));
    vec![
        ev(
            ("ws", "u1", Some("t1"), 10),
            EventKind::ConversationStart,
            None,
            devbox,
        ),
        ev(("ws", "u1", Some("t1"), 11), EventKind::UserPrompt, m1, devbox),
        ev(
            ("ws", "u1", Some("t1"), 12),
            EventKind::ResponseCompleted(usage),
            m1,
            None,
        ),
        ev(
            ("ws", "u1", Some("t1"), 20),
            EventKind::UserPrompt,
            m2,
            Some("laptop"),
        ),
        ev(
            ("ws", "u1", Some("t1"), 21),
            EventKind::ResponseCompleted(usage),
            m2,
            None,
        ),
        ev(("ws", "u2", Some("t2"), 15), EventKind::UserPrompt, m1, None),
        ev(("ws", "u2", Some("t3"), 30), EventKind::UserPrompt, None, None),
        ev(("ws", "u2", None, 40), EventKind::UserPrompt, None, devbox),
        ev(("ws", "u3", Some("t4"), 50), EventKind::UserPrompt, m1, devbox),
        ev(
            ("ws2", "u9", Some("t1"), 60),
            EventKind::UserPrompt,
            Some("m3"),
            devbox,
        ),
    ]
}

/// Every thread and environment of a workspace (first 100).
pub async fn everything(store: &dyn Store, ws: &str) -> (Vec<CodexThread>, Vec<CodexEnvironment>) {
    let threads = store
        .list_codex_threads(&ThreadQuery {
            workspace_id: ws.into(),
            limit: 100,
            after: None,
        })
        .await
        .expect("threads");
    let envs = store
        .list_codex_environments(&EnvironmentQuery {
            workspace_id: ws.into(),
            limit: 100,
            after: None,
        })
        .await
        .expect("environments");
    (threads, envs)
}

/// `old` (the [`backfill_events`] stored before 0006, then migrated) holds exactly what `live`
/// (the same events ingested after 0006) holds, with the SQL and the Rust agreeing on ids.
pub async fn assert_backfilled_as_ingested(old: &dyn Store, live: &dyn Store) {
    for ws in ["ws", "ws2"] {
        assert_eq!(everything(old, ws).await, everything(live, ws).await, "{ws}");
    }
    let (threads, envs) = everything(old, "ws").await;
    assert_eq!(threads.len(), 4);
    assert_eq!(
        envs.iter()
            .map(|e| (e.id.clone(), e.task_count))
            .collect::<Vec<_>>(),
        vec![(crate::environment_id("ws", "devbox", None), 2)]
    );
    let t1 = old.get_codex_thread("ws", "t1").await.expect("get").expect("t1");
    assert_eq!(
        (
            t1.turns,
            t1.input_tokens,
            t1.model.as_deref(),
            t1.host_name.as_deref()
        ),
        (2, 200, Some("m2"), Some("devbox"))
    );
}
