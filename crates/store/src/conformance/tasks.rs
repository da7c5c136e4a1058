//! Conformance checks of Codex tasks and environments: thread rows kept by `insert_events`,
//! working directories from `record_trace_cwds`, listings newest first with keyset paging.

use std::collections::BTreeSet;

use steward_model::{EventKind, NormalizedEvent};

use super::{event, tokens, user, Fixture, MONDAY};
use crate::{
    environment_id, CodexEnvironment, CodexThread, EnvironmentCursor, EnvironmentQuery, Store, ThreadCursor,
    ThreadQuery, TraceCwds, TurnSpan,
};

fn on_host(mut e: NormalizedEvent, host: &str) -> NormalizedEvent {
    e.host_name = Some(host.to_owned());
    e
}

fn threads_query(ws: &str, limit: u32, after: Option<&CodexThread>) -> ThreadQuery {
    ThreadQuery {
        workspace_id: ws.to_owned(),
        limit,
        after: after.map(|t| ThreadCursor {
            updated_ms: t.updated_ms,
            thread_id: t.thread_id.clone(),
        }),
    }
}

fn environments_query(ws: &str, limit: u32, after: Option<&CodexEnvironment>) -> EnvironmentQuery {
    EnvironmentQuery {
        workspace_id: ws.to_owned(),
        limit,
        after: after.map(|e| EnvironmentCursor {
            created_ms: e.created_ms,
            id: e.id.clone(),
        }),
    }
}

async fn thread(store: &std::sync::Arc<dyn Store>, ws: &str, id: &str) -> CodexThread {
    store
        .get_codex_thread(ws, id)
        .await
        .expect("get thread")
        .unwrap_or_else(|| panic!("thread {id} exists"))
}

async fn environment(store: &std::sync::Arc<dyn Store>, ws: &str, id: &str) -> CodexEnvironment {
    store
        .get_codex_environment(ws, id)
        .await
        .expect("get environment")
        .unwrap_or_else(|| panic!("environment {id} exists"))
}

fn span(ws: &str, trace: &str, thread: &str) -> TurnSpan {
    TurnSpan {
        workspace_id: ws.to_owned(),
        trace_id: trace.to_owned(),
        turn_id: format!("turn-of-{trace}"),
        thread_id: Some(thread.to_owned()),
    }
}

fn cwds(ws: &str, cwds: &[(&str, &str)], turn_traces: &[&str]) -> TraceCwds {
    TraceCwds {
        workspace_id: ws.to_owned(),
        cwds: cwds
            .iter()
            .map(|(t, c)| ((*t).to_owned(), (*c).to_owned()))
            .collect(),
        turn_trace_ids: turn_traces.iter().map(|t| (*t).to_owned()).collect(),
    }
}

pub async fn codex_threads_sum_batches_once_and_list_newest_first(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let ws2 = store.create_workspace("Second").await.expect("ws2").id;
    let a = user(&store, &ws, "a@example.com").await;
    let b = user(&store, &ws, "b@example.com").await;
    let cli = "CODEX_CLI";
    let first = vec![
        on_host(
            event(
                &ws,
                &a,
                "thread-a",
                MONDAY + 10,
                EventKind::ConversationStart,
                cli,
                "m1",
                0,
            ),
            "devbox",
        ),
        on_host(
            event(
                &ws,
                &a,
                "thread-a",
                MONDAY + 11,
                EventKind::UserPrompt,
                cli,
                "m1",
                0,
            ),
            "devbox",
        ),
        event(
            &ws,
            &a,
            "thread-a",
            MONDAY + 12,
            tokens(1000, 400, 50),
            cli,
            "m1",
            0,
        ),
        event(
            &ws,
            &b,
            "thread-b",
            MONDAY + 50,
            EventKind::UserPrompt,
            "CODEX_VSCODE",
            "m1",
            0,
        ),
    ];
    let mut no_thread = event(&ws, &a, "-", MONDAY + 60, EventKind::UserPrompt, cli, "m1", 9);
    no_thread.thread_id = None;
    let mut batch = first.clone();
    batch.push(no_thread);
    store.insert_events(batch).await.expect("first batch");
    // The exporter re-sends the batch: duplicates, so no thread changes.
    store.insert_events(first.clone()).await.expect("re-sent batch");
    let second = vec![
        on_host(
            event(
                &ws,
                &a,
                "thread-a",
                MONDAY + 100,
                EventKind::UserPrompt,
                cli,
                "m2",
                1,
            ),
            "laptop",
        ),
        event(
            &ws,
            &a,
            "thread-a",
            MONDAY + 101,
            tokens(2000, 0, 70),
            cli,
            "m2",
            1,
        ),
        // An event older than the thread's first one moves its start, not its model.
        event(&ws, &a, "thread-a", MONDAY + 5, EventKind::Other, cli, "m0", 1),
        // The same thread id in another workspace is another thread.
        on_host(
            event(
                &ws2,
                "user-x",
                "thread-a",
                MONDAY + 200,
                EventKind::UserPrompt,
                cli,
                "m9",
                0,
            ),
            "elsewhere",
        ),
    ];
    store.insert_events(second).await.expect("second batch");

    let t = thread(&store, &ws, "thread-a").await;
    let expected = CodexThread {
        workspace_id: ws.clone(),
        thread_id: "thread-a".into(),
        user_id: a.clone(),
        client_id: cli.into(),
        model: Some("m2".into()),
        created_ms: (MONDAY + 5) * 1000 + 123,
        updated_ms: (MONDAY + 101) * 1000 + 123,
        turns: 2,
        input_tokens: 3000,
        cached_input_tokens: 400,
        output_tokens: 120,
        reasoning_output_tokens: 25 + 35,
        host_name: Some("devbox".into()),
        cwd: None,
        environment_id: Some(environment_id(&ws, "devbox", None)),
    };
    assert_eq!(t, expected, "first host wins; sums of both batches, once");
    let tb = thread(&store, &ws, "thread-b").await;
    assert_eq!(
        (
            tb.user_id.as_str(),
            tb.client_id.as_str(),
            tb.turns,
            tb.host_name.as_deref(),
            tb.environment_id.as_deref()
        ),
        (b.as_str(), "CODEX_VSCODE", 1, None, None),
        "no host, no environment"
    );
    let other = thread(&store, &ws2, "thread-a").await;
    assert_eq!((other.user_id.as_str(), other.turns), ("user-x", 1));
    assert_eq!(store.get_codex_thread(&ws, "nope").await.expect("get"), None);
    assert_eq!(store.get_codex_thread(&ws2, "thread-b").await.expect("get"), None);

    let all = store
        .list_codex_threads(&threads_query(&ws, 10, None))
        .await
        .expect("list");
    assert_eq!(all, vec![expected.clone(), tb.clone()], "newest updated first");
    let page1 = store
        .list_codex_threads(&threads_query(&ws, 1, None))
        .await
        .expect("page 1");
    let page2 = store
        .list_codex_threads(&threads_query(&ws, 1, page1.last()))
        .await
        .expect("page 2");
    let page3 = store
        .list_codex_threads(&threads_query(&ws, 1, page2.last()))
        .await
        .expect("page 3");
    assert_eq!((page1, page2, page3), (vec![expected], vec![tb], vec![]));

    // The host-only environment holds thread-a.
    let envs = store
        .list_codex_environments(&environments_query(&ws, 10, None))
        .await
        .expect("environments");
    assert_eq!(
        envs,
        vec![CodexEnvironment {
            workspace_id: ws.clone(),
            id: environment_id(&ws, "devbox", None),
            host_name: "devbox".into(),
            cwd: None,
            created_ms: (MONDAY + 5) * 1000 + 123,
            creator_id: Some(a.clone()),
            task_count: 1,
        }]
    );
    let envs2 = store
        .list_codex_environments(&environments_query(&ws2, 10, None))
        .await
        .expect("environments of ws2");
    assert_eq!(envs2.len(), 1);
    assert_eq!(envs2[0].id, environment_id(&ws2, "elsewhere", None));
    assert_eq!(
        store.get_codex_environment(&ws2, &envs[0].id).await.expect("get"),
        None,
        "environments are per workspace"
    );
}

pub async fn codex_environments_follow_hosts_and_trace_directories(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let a = user(&store, &ws, "a@example.com").await;
    let b = user(&store, &ws, "b@example.com").await;
    let cli = "CODEX_CLI";
    let prompt = |u: &str, thread: &str, secs: i64, n: u32| {
        on_host(
            event(&ws, u, thread, MONDAY + secs, EventKind::UserPrompt, cli, "m", n),
            "devbox",
        )
    };

    // Traces first (Codex exports them before logs): the directory waits for the thread.
    store
        .insert_turn_spans(vec![span(&ws, "trace-x", "thread-x")])
        .await
        .expect("span x");
    store
        .record_trace_cwds(cwds(&ws, &[("trace-x", "/src/api")], &["trace-x"]))
        .await
        .expect("cwd x");
    assert_eq!(
        store.get_codex_thread(&ws, "thread-x").await.expect("get"),
        None,
        "a thread only traces named is not a task yet"
    );
    assert!(store
        .list_codex_threads(&threads_query(&ws, 10, None))
        .await
        .expect("list")
        .is_empty());
    store
        .insert_events(vec![prompt(&a, "thread-x", 100, 0)])
        .await
        .expect("logs x");
    let api = environment_id(&ws, "devbox", Some("/src/api"));
    let x = thread(&store, &ws, "thread-x").await;
    assert_eq!(
        (x.cwd.as_deref(), x.environment_id.as_deref()),
        (Some("/src/api"), Some(api.as_str()))
    );

    // Logs first: host only; then the directory arrives before its turn span, then the span.
    store
        .insert_events(vec![prompt(&b, "thread-y", 200, 0)])
        .await
        .expect("logs y");
    let host_only = environment_id(&ws, "devbox", None);
    assert_eq!(
        thread(&store, &ws, "thread-y").await.environment_id.as_deref(),
        Some(host_only.as_str())
    );
    assert_eq!(environment(&store, &ws, &host_only).await.task_count, 1);
    store
        .record_trace_cwds(cwds(&ws, &[("trace-y", "/src/web")], &[]))
        .await
        .expect("cwd y before its span");
    assert_eq!(thread(&store, &ws, "thread-y").await.cwd, None);
    store
        .insert_turn_spans(vec![span(&ws, "trace-y", "thread-y")])
        .await
        .expect("span y");
    store
        .record_trace_cwds(cwds(&ws, &[], &["trace-y"]))
        .await
        .expect("span y links the cwd");
    let web = environment_id(&ws, "devbox", Some("/src/web"));
    let y = thread(&store, &ws, "thread-y").await;
    assert_eq!(
        (y.cwd.as_deref(), y.environment_id.as_deref()),
        (Some("/src/web"), Some(web.as_str()))
    );
    let left = environment(&store, &ws, &host_only).await;
    assert_eq!(left.task_count, 0, "the thread left the host-only environment");

    // A second thread in /src/api, and a later turn of thread-x in another directory (the
    // first directory told stays); repeating everything changes no count.
    store
        .insert_turn_spans(vec![
            span(&ws, "trace-z", "thread-z"),
            span(&ws, "trace-x2", "thread-x"),
        ])
        .await
        .expect("spans z, x2");
    for _ in 0..2 {
        store
            .record_trace_cwds(cwds(
                &ws,
                &[("trace-z", "/src/api"), ("trace-x2", "/tmp")],
                &["trace-z", "trace-x2"],
            ))
            .await
            .expect("cwds z, x2");
        store
            .insert_events(vec![
                prompt(&b, "thread-z", 300, 0),
                prompt(&a, "thread-x", 400, 1),
            ])
            .await
            .expect("logs z, x");
    }
    assert_eq!(
        thread(&store, &ws, "thread-x").await.cwd.as_deref(),
        Some("/src/api")
    );
    assert_eq!(thread(&store, &ws, "thread-x").await.turns, 2);

    let expected = vec![
        CodexEnvironment {
            workspace_id: ws.clone(),
            id: web.clone(),
            host_name: "devbox".into(),
            cwd: Some("/src/web".into()),
            created_ms: (MONDAY + 200) * 1000 + 123,
            creator_id: Some(b.clone()),
            task_count: 1,
        },
        CodexEnvironment {
            workspace_id: ws.clone(),
            id: api.clone(),
            host_name: "devbox".into(),
            cwd: Some("/src/api".into()),
            created_ms: (MONDAY + 100) * 1000 + 123,
            creator_id: Some(a.clone()),
            task_count: 2,
        },
    ];
    let all = store
        .list_codex_environments(&environments_query(&ws, 10, None))
        .await
        .expect("environments");
    assert_eq!(
        all, expected,
        "newest first; the emptied environment is not listed"
    );
    let page1 = store
        .list_codex_environments(&environments_query(&ws, 1, None))
        .await
        .expect("page 1");
    let page2 = store
        .list_codex_environments(&environments_query(&ws, 1, page1.last()))
        .await
        .expect("page 2");
    let page3 = store
        .list_codex_environments(&environments_query(&ws, 1, page2.last()))
        .await
        .expect("page 3");
    assert_eq!(
        (page1, page2, page3),
        (expected[..1].to_vec(), expected[1..].to_vec(), vec![])
    );
    // Paging from the emptied environment (a collector's old position) still works.
    let from_left = store
        .list_codex_environments(&environments_query(&ws, 10, Some(&left)))
        .await
        .expect("after the emptied one");
    let want: Vec<CodexEnvironment> = expected
        .iter()
        .filter(|e| (e.created_ms, &e.id) < (left.created_ms, &left.id))
        .cloned()
        .collect();
    assert!(want.iter().any(|e| e.id == api), "{want:?}");
    assert_eq!(from_left, want);
}

pub async fn codex_thread_pages_hold_every_thread_once(fixture: Fixture) {
    let store = fixture.0;
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let a = user(&store, &ws, "a@example.com").await;
    // 23 threads, several sharing an updated time (ties are broken by id).
    let events: Vec<NormalizedEvent> = (0..23)
        .map(|i| {
            event(
                &ws,
                &a,
                &format!("thread-{i:02}"),
                MONDAY + i64::from(i / 3),
                EventKind::UserPrompt,
                "CODEX_CLI",
                "m",
                i,
            )
        })
        .collect();
    store.insert_events(events).await.expect("insert");
    let mut seen = Vec::new();
    let mut after: Option<CodexThread> = None;
    loop {
        let page = store
            .list_codex_threads(&threads_query(&ws, 5, after.as_ref()))
            .await
            .expect("page");
        assert!(page.len() <= 5);
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|t| (t.updated_ms, t.thread_id.clone())));
        after = page.last().cloned();
    }
    let unique: BTreeSet<&(i64, String)> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (23, 23), "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(seen, sorted, "newest first, ties by descending id");
}
