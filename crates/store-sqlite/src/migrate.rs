//! Embedded, forward-only migrations. Never edit an applied migration: add a new one, with the
//! same number and name in store-postgres (a test checks the two lists match).

use rusqlite::{Connection, TransactionBehavior};
use steward_store::StoreResult;

use crate::conn::map_err;

pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "thread_seen_keys",
        include_str!("../migrations/0002_thread_seen_keys.sql"),
    ),
    (3, "compliance", include_str!("../migrations/0003_compliance.sql")),
    (
        4,
        "pending_queued_at",
        include_str!("../migrations/0004_pending_queued_at.sql"),
    ),
    (5, "retention", include_str!("../migrations/0005_retention.sql")),
    (
        6,
        "codex_threads",
        include_str!("../migrations/0006_codex_threads.sql"),
    ),
    (7, "policies", include_str!("../migrations/0007_policies.sql")),
    (
        8,
        "users_by_lower_email",
        include_str!("../migrations/0008_users_by_lower_email.sql"),
    ),
    (9, "identity", include_str!("../migrations/0009_identity.sql")),
    (
        10,
        "active_users",
        include_str!("../migrations/0010_active_users.sql"),
    ),
    (
        11,
        "rollout_files",
        include_str!("../migrations/0011_rollout_files.sql"),
    ),
    (
        12,
        "turn_reports",
        include_str!("../migrations/0012_turn_reports.sql"),
    ),
    (
        13,
        "fact_sightings",
        include_str!("../migrations/0013_fact_sightings.sql"),
    ),
    (
        14,
        "pairing_from_events",
        include_str!("../migrations/0014_pairing_from_events.sql"),
    ),
    (
        15,
        "sign_in_failures",
        include_str!("../migrations/0015_sign_in_failures.sql"),
    ),
    (
        16,
        "scim_pages",
        include_str!("../migrations/0016_scim_pages.sql"),
    ),
];

pub fn apply(conn: &mut Connection) -> StoreResult<()> {
    apply_through(conn, i64::MAX)
}

/// Applies the migrations up to and including `last`: [`apply`] uses every one; tests build
/// the database an older Steward left behind (e.g. through 0005) to check a later migration.
pub(crate) fn apply_through(conn: &mut Connection, last: i64) -> StoreResult<()> {
    register_functions(conn)?;
    // IMMEDIATE takes the write lock up front, so two processes starting at once serialise here.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)",
    )
    .map_err(map_err)?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    for (version, name, sql) in MIGRATIONS {
        if *version <= current || *version > last {
            continue;
        }
        tracing::info!(version, name, "applying sqlite migration");
        tx.execute_batch(sql).map_err(map_err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?1, ?2, ?3)",
            rusqlite::params![version, name, now_ms()],
        )
        .map_err(map_err)?;
    }
    tx.commit().map_err(map_err)
}

/// Rust functions some migrations call, so that keys computed in SQL equal the write path's.
fn register_functions(conn: &Connection) -> StoreResult<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "steward_thread_seen_key",
        5,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let part = |i| ctx.get::<String>(i);
            let key =
                steward_store::rollup::thread_seen_key(&part(0)?, &part(1)?, &part(2)?, &part(3)?, &part(4)?);
            Ok(key.to_vec())
        },
    )
    .map_err(map_err)?;
    conn.create_scalar_function(
        "steward_environment_id",
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let cwd = ctx.get::<Option<String>>(2)?;
            Ok(steward_store::environment_id(
                &ctx.get::<String>(0)?,
                &ctx.get::<String>(1)?,
                cwd.as_deref(),
            ))
        },
    )
    .map_err(map_err)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database at version 1 with thread_seen rows keeps them through 0002, under the same
    /// keys the write path computes, so no thread is counted twice after the upgrade.
    #[test]
    fn migration_0002_converts_thread_seen_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::conn::open(&dir.path().join("v1.db")).unwrap();
        conn.execute_batch(MIGRATIONS[0].2).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'init', 0);
             INSERT INTO thread_seen VALUES ('ws', 'd', 86400, 'u1', 'CODEX_CLI', 'thread-a');
             INSERT INTO thread_seen VALUES ('ws', 'W', 0, '', '', 'thread-a');",
        )
        .unwrap();
        apply(&mut conn).unwrap();
        let mut rows: Vec<(i64, Vec<u8>)> = conn
            .prepare("SELECT bucket, key FROM thread_seen ORDER BY bucket")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        use steward_store::rollup::thread_seen_key;
        assert_eq!(
            rows,
            vec![
                (0, thread_seen_key("ws", "W", "", "", "thread-a").to_vec()),
                (
                    86400,
                    thread_seen_key("ws", "d", "u1", "CODEX_CLI", "thread-a").to_vec()
                ),
            ]
        );
    }

    /// Migration 0010's backfill of the active-user counters computes the very keys and counts
    /// that ingest keeps: re-running it over ingested data adds no `thread_seen` row (the keys
    /// agree, so later events of a backfilled user and day are not counted again) and restores
    /// the counters exactly.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migration_0010_backfills_the_counters_ingest_keeps() {
        use steward_model::{EventKind, NormalizedEvent, Source, TokenUsage};
        use steward_store::Store;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steward.db");
        let store = crate::SqliteStore::open(&path).await.unwrap();
        let ws = store.ensure_default_workspace("Default").await.unwrap().id;
        let event = |user: &str, client: &str, day: i64, n: u32| NormalizedEvent {
            dedup_key: format!("{user}-{client}-{day}-{n}"),
            workspace_id: ws.clone(),
            user_id: user.to_owned(),
            source: Source::OtlpLogs,
            event_name: "codex.sse_event".to_owned(),
            kind: EventKind::ResponseCompleted(TokenUsage {
                input: 10,
                cached_input: 0,
                output: 1,
                reasoning_output: 0,
                total: 11,
            }),
            thread_id: Some(format!("t-{user}")),
            trace_id: None,
            turn_id: None,
            timestamp_ms: (1_794_787_200 + day * 86_400) * 1000,
            client_id: client.to_owned(),
            model: Some("gpt-5".to_owned()),
            credits_micro: 1,
            usd_micro: 1,
            rate_card_version: "v".to_owned(),
            raw: "{}".to_owned(),
            host_name: None,
        };
        let events = vec![
            event("u1", "CODEX_CLI", 0, 0),
            event("u1", "CODEX_IDE_VSCODE", 0, 1),
            event("u2", "CODEX_CLI", 0, 2),
            event("u2", "CODEX_CLI", 3, 3),
        ];
        store.insert_events(events).await.unwrap();
        drop(store);
        let mut conn = crate::conn::open(&path).unwrap();
        register_functions(&conn).unwrap();
        let counters = |c: &Connection| -> Vec<(String, i64, String, i64)> {
            c.prepare("SELECT grain, bucket, client_id, threads FROM thread_counts WHERE grain IN ('a', 'b') ORDER BY 1, 2, 3")
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let seen = |c: &Connection| -> i64 {
            c.query_row("SELECT COUNT(*) FROM thread_seen", [], |r| r.get(0))
                .unwrap()
        };
        let (kept, seen_before) = (counters(&conn), seen(&conn));
        let monday = 1_794_787_200;
        assert!(
            kept.contains(&("a".to_owned(), monday, String::new(), 2)),
            "{kept:?}"
        );
        assert!(
            kept.contains(&("b".to_owned(), monday, "CODEX_CLI".to_owned(), 2)),
            "{kept:?}"
        );
        let tx = conn.transaction().unwrap();
        tx.execute("DELETE FROM thread_counts WHERE grain IN ('a', 'b')", [])
            .unwrap();
        tx.execute_batch(MIGRATIONS.iter().find(|m| m.0 == 10).unwrap().2)
            .unwrap();
        tx.commit().unwrap();
        assert_eq!(seen(&conn), seen_before, "the SQL keys are the write path's keys");
        assert_eq!(counters(&conn), kept);
    }
}
