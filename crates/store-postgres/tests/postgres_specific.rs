//! Checks the conformance suite cannot make on one process: several replicas (separate pools)
//! sharing one database, a database whose default collation is not byte order, and the mapping
//! of PostgreSQL failures to `StoreError`.

mod common;

use std::sync::Arc;

use steward_model::{EventKind, NormalizedEvent, Source, TokenUsage};
use steward_store::{Bucket, Grouping, NewCredential, Store, StoreError, UsageCursor, UsageKey, UsageQuery};
use steward_store_postgres::{PostgresStore, MIGRATIONS};

/// Monday 2026-11-16T00:00:00Z.
const MONDAY: i64 = 1_794_787_200;
const DAY: i64 = 86_400;

fn event(ws: &str, user: &str, n: i64) -> NormalizedEvent {
    NormalizedEvent {
        dedup_key: format!("key-{user}-{n}"),
        workspace_id: ws.to_owned(),
        user_id: user.to_owned(),
        source: Source::OtlpLogs,
        event_name: "codex.sse_event".to_owned(),
        kind: EventKind::ResponseCompleted(TokenUsage {
            input: 10,
            cached_input: 1,
            output: 2,
            reasoning_output: 1,
            total: 12,
        }),
        thread_id: Some(format!("thread-{}", n % 7)),
        trace_id: None,
        turn_id: None,
        timestamp_ms: (MONDAY + (n % 3) * DAY) * 1000,
        client_id: "CODEX_CLI".to_owned(),
        model: Some("gpt-5-codex".to_owned()),
        credits_micro: 5,
        usd_micro: 3,
        rate_card_version: "test-1".to_owned(),
        raw: "{}".to_owned(),
        host_name: None,
    }
}

fn query(ws: &str, grouping: Grouping, limit: u32) -> UsageQuery {
    UsageQuery {
        workspace_id: ws.to_owned(),
        start_day: MONDAY,
        end_day: MONDAY + 7 * DAY,
        bucket: Bucket::Day,
        grouping,
        limit,
        after: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_at_once_migrate_once() {
    let (url, _scratch) = common::fresh_schema().await;
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    for start in starts {
        start.await.expect("task").expect("every replica starts");
    }
    let admin = common::admin_client(&url).await;
    let rows = admin
        .query(
            "SELECT version, name FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .expect("read");
    let applied: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let expected: Vec<(i64, String)> = MIGRATIONS.iter().map(|(v, n, _)| (*v, n.to_string())).collect();
    assert_eq!(applied, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_inserting_the_same_events_count_them_once() {
    let (url, _scratch) = common::fresh_schema().await;
    let a: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.expect("replica a"));
    let b: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.expect("replica b"));
    let ws = a.ensure_default_workspace("Default").await.expect("ws").id;
    let all: Vec<NormalizedEvent> = (0..300)
        .map(|n| event(&ws, &format!("user-{}", n % 5), n))
        .collect();
    // Overlapping batches in opposite orders, sent from both replicas at once, several times
    // (at-least-once delivery to two load-balanced replicas).
    let mut tasks = Vec::new();
    for round in 0..4 {
        for (i, store) in [&a, &b].into_iter().enumerate() {
            let store = store.clone();
            let mut batch: Vec<_> = all[(round * 50)..(round * 50 + 150)].to_vec();
            if (round + i) % 2 == 1 {
                batch.reverse();
            }
            tasks.push(tokio::spawn(
                async move { store.insert_events(batch.clone()).await },
            ));
        }
    }
    let mut inserted = 0;
    for task in tasks {
        inserted += task.await.expect("task").expect("insert").inserted;
    }
    let distinct = all.len(); // the rounds' windows cover every event
    assert_eq!(
        inserted, distinct as u64,
        "each distinct event is inserted by exactly one call"
    );
    assert_eq!(a.count_events(&ws).await.expect("count"), distinct as u64);
    let page = b
        .usage_rows(&query(&ws, Grouping::Workspace, 100))
        .await
        .expect("rows");
    let input: i64 = page.rows.iter().map(|r| r.totals.input_tokens).sum();
    assert_eq!(input, 10 * distinct as i64, "rollups count every event once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_byte_order_under_a_linguistic_collation() {
    let (url, _scratch) = common::fresh_icu_database().await;
    let store = PostgresStore::connect(&url).await.expect("connect");
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    // en-US sorts these user_c, user-a, user-B, userZ; bytes sort user-B, user-a, userZ, user_c.
    let users = ["user-a", "user-B", "user_c", "userZ", "user-\u{e9}"];
    let batch: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(n, u)| event(&ws, u, n as i64 * 3))
        .collect();
    store.insert_events(batch.clone()).await.expect("insert");
    let mut expected: Vec<UsageKey> = users
        .iter()
        .map(|u| UsageKey {
            bucket_start: MONDAY,
            user_id: u.to_string(),
        })
        .collect();
    expected.sort();
    let mut q = query(&ws, Grouping::User, 2);
    let mut paged = Vec::new();
    loop {
        let page = store.usage_rows(&q).await.expect("page");
        paged.extend(page.rows.iter().map(|r| r.key.clone()));
        if !page.has_more {
            break;
        }
        let last = page.rows.last().expect("rows").key.clone();
        q.after = Some(UsageCursor {
            bucket_start: last.bucket_start,
            user_id: last.user_id,
        });
    }
    assert_eq!(
        paged, expected,
        "pages must be in byte order, without gaps or repeats"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_map_to_store_errors() {
    let (url, _scratch) = common::fresh_schema().await;
    let store = PostgresStore::connect(&url).await.expect("connect");
    let ws = store.ensure_default_workspace("Default").await.expect("ws").id;
    let cred = |name: &str| NewCredential {
        workspace_id: ws.clone(),
        name: name.to_owned(),
        kind: steward_model::CredentialKind::WorkspaceIngest,
        prefix: "stw_wt_abcd".to_owned(),
        secret_hash: "d".repeat(64),
        expires_at_ms: None,
        created_by: None,
    };
    store.create_credential(&cred("one")).await.expect("first");
    let err = store
        .create_credential(&cred("two"))
        .await
        .expect_err("same hash twice");
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "unique violation is a conflict: {err:?}"
    );

    // Port 1 on loopback: nothing listens, the connection is refused.
    let err = PostgresStore::connect("postgres://steward@127.0.0.1:1/postgres")
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(err, StoreError::Unavailable(_)),
        "refused connection is unavailable: {err:?}"
    );
    let err = PostgresStore::connect("not a url").await.err().expect("bad url");
    assert!(
        matches!(err, StoreError::Other(_)),
        "bad configuration is not retryable: {err:?}"
    );
}

/// A database at version 1 with thread_seen rows keeps them through migration 0002, under the
/// keys the write path computes in Rust (the SQL and `thread_seen_key` must agree byte for byte).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0002_converts_thread_seen_rows_to_the_rust_keys() {
    let (url, _scratch) = common::fresh_schema().await;
    let client = common::admin_client(&url).await;
    client.batch_execute(MIGRATIONS[0].2).await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'init', 0);
             INSERT INTO thread_seen VALUES ('ws', 'd', 86400, 'u1', 'CODEX_CLI', 'thread-ü');
             INSERT INTO thread_seen VALUES ('ws', 'W', 0, '', '', 'thread-ü');",
        )
        .await
        .unwrap();
    let _store = PostgresStore::connect(&url).await.unwrap();
    let rows = client
        .query("SELECT bucket, key FROM thread_seen ORDER BY bucket", &[])
        .await
        .unwrap();
    let got: Vec<(i64, Vec<u8>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    use steward_store::rollup::thread_seen_key;
    assert_eq!(
        got,
        vec![
            (0, thread_seen_key("ws", "W", "", "", "thread-ü").to_vec()),
            (
                86400,
                thread_seen_key("ws", "d", "u1", "CODEX_CLI", "thread-ü").to_vec()
            ),
        ]
    );
}

/// Migration 0010's backfill of the active-user counters computes the keys and counts ingest
/// keeps: re-running it over ingested data adds no `thread_seen` row and restores the counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0010_backfills_the_counters_ingest_keeps() {
    let (url, _scratch) = common::fresh_schema().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let ws = store.ensure_default_workspace("Default").await.unwrap().id;
    let events: Vec<NormalizedEvent> = (0..12)
        .map(|n| event(&ws, &format!("user-ü{}", n % 4), n))
        .collect();
    store.insert_events(events).await.unwrap();
    let client = common::admin_client(&url).await;
    let counters = || async {
        let rows = client
            .query(
                "SELECT grain, bucket, client_id, threads FROM thread_counts WHERE grain IN ('a', 'b') ORDER BY 1, 2, 3",
                &[],
            )
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (
                    r.get::<_, String>(0),
                    r.get::<_, i64>(1),
                    r.get::<_, String>(2),
                    r.get::<_, i64>(3),
                )
            })
            .collect::<Vec<_>>()
    };
    let seen = || async {
        client
            .query_one("SELECT COUNT(*) FROM thread_seen", &[])
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let (kept, seen_before) = (counters().await, seen().await);
    assert!(
        kept.contains(&("b".to_owned(), MONDAY, String::new(), 4)),
        "{kept:?}"
    );
    client
        .batch_execute("DELETE FROM thread_counts WHERE grain IN ('a', 'b')")
        .await
        .unwrap();
    let sql = MIGRATIONS.iter().find(|m| m.0 == 10).unwrap().2;
    client.batch_execute(sql).await.unwrap();
    assert_eq!(
        seen().await,
        seen_before,
        "the SQL keys are the write path's keys"
    );
    assert_eq!(counters().await, kept);
}
