//! Migration 0006 on PostgreSQL: threads stored before it are backfilled exactly as ingest
//! keeps them, with the SQL and the Rust computing the same environment ids; and replicas
//! ingesting the same batches at once count every thread's figures once.

mod common;

use std::sync::Arc;

use steward_model::NormalizedEvent;
use steward_store::conformance::backfill::{
    assert_backfilled_as_ingested, backfill_events, everything, prompt_on_host,
};
use steward_store::Store;
use steward_store_postgres::{PostgresStore, MIGRATIONS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0006_backfills_threads_as_ingest_keeps_them() {
    let (live_url, _live) = common::fresh_schema().await;
    let live = PostgresStore::connect(&live_url).await.expect("live store");
    live.insert_events(backfill_events()).await.expect("insert");

    // A database from before 0006, as an older Steward left it: migrations 0001-0005 only
    // (the same statements and bookkeeping `migrate::apply` runs).
    let (old_url, _old) = common::fresh_schema().await;
    assert_eq!(MIGRATIONS[5].1, "codex_threads");
    let admin = common::admin_client(&old_url).await;
    admin
        .batch_execute(
            "CREATE TABLE schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)",
        )
        .await
        .expect("schema_migrations");
    for (version, name, sql) in &MIGRATIONS[..5] {
        admin.batch_execute(sql).await.expect("migration up to 0005");
        admin
            .execute(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, 0)",
                &[version, name],
            )
            .await
            .expect("record migration");
    }
    for e in backfill_events() {
        let u = e.kind.usage();
        admin
            .execute(
                "INSERT INTO events (workspace_id, dedup_key, user_id, source, event_name, kind, thread_id, ts_ms,
                    client_id, model, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
                    total_tokens, received_at_ms, raw)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16)",
                &[
                    &e.workspace_id,
                    &e.dedup_key,
                    &e.user_id,
                    &e.source.as_str(),
                    &e.event_name,
                    &e.kind.as_str(),
                    &e.thread_id,
                    &e.timestamp_ms,
                    &e.client_id,
                    &e.model,
                    &u.map(|u| u.input),
                    &u.map(|u| u.cached_input),
                    &u.map(|u| u.output),
                    &u.map(|u| u.reasoning_output),
                    &u.map(|u| u.total),
                    &e.raw,
                ],
            )
            .await
            .expect("old event");
    }
    let old = PostgresStore::connect(&old_url).await.expect("migrates 0006");
    assert_backfilled_as_ingested(&old, &live).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_ingesting_the_same_batches_count_thread_figures_once() {
    let (url, _scratch) = common::fresh_schema().await;
    let a: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.expect("replica a"));
    let b: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.expect("replica b"));
    let all: Vec<NormalizedEvent> = (0..240)
        .map(|n| {
            let thread = format!("thread-{}", n % 9);
            let host = format!("host-{}", n % 9 % 4);
            let mut e = prompt_on_host("ws", "u1", &thread, 1000 + n, &host);
            e.dedup_key = format!("k{n}");
            e
        })
        .collect();
    let mut tasks = Vec::new();
    for round in 0..4 {
        for (i, store) in [&a, &b].into_iter().enumerate() {
            let store = store.clone();
            let mut batch: Vec<_> = all[(round * 40)..(round * 40 + 120)].to_vec();
            if (round + i) % 2 == 1 {
                batch.reverse();
            }
            tasks.push(tokio::spawn(async move { store.insert_events(batch).await }));
        }
    }
    for task in tasks {
        task.await.expect("task").expect("insert");
    }
    let (threads, envs) = everything(a.as_ref(), "ws").await;
    assert_eq!(threads.len(), 9);
    assert_eq!(threads.iter().map(|t| t.turns).sum::<i64>(), 240);
    for t in &threads {
        let n: i64 = t.thread_id["thread-".len()..].parse().expect("n");
        assert_eq!(t.created_ms, 1000 + n, "{t:?}");
        assert_eq!(t.host_name.as_deref(), Some(format!("host-{}", n % 4).as_str()));
    }
    assert_eq!(envs.len(), 4);
    assert_eq!(envs.iter().map(|e| e.task_count).sum::<i64>(), 9, "{envs:?}");
}
