//! Codex tasks and environments: thread rows kept by the ingest transaction (one upsert per
//! thread per batch), working directories from traces, and the listings.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use steward_model::NormalizedEvent;
use steward_store::{
    CodexEnvironment, CodexThread, EnvironmentDelta, EnvironmentQuery, StoreResult, ThreadDelta, ThreadPlace,
    ThreadQuery, TraceCwds,
};

use crate::conn::map_err;

/// Adds a batch's delta to a thread's row. The thread's first event decides its user and
/// client; the latest event naming a model decides the model. Returns where the thread stands.
const UPSERT_THREAD: &str = "
INSERT INTO codex_threads (workspace_id, thread_id, user_id, client_id, model, model_ms, created_ms, updated_ms,
    turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, host_name)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
ON CONFLICT (workspace_id, thread_id) DO UPDATE SET
    user_id = CASE WHEN created_ms IS NULL OR excluded.created_ms < created_ms
        THEN excluded.user_id ELSE user_id END,
    client_id = CASE WHEN created_ms IS NULL OR excluded.created_ms < created_ms
        THEN excluded.client_id ELSE client_id END,
    model = CASE WHEN excluded.model IS NOT NULL AND (model_ms IS NULL OR excluded.model_ms >= model_ms)
        THEN excluded.model ELSE model END,
    model_ms = CASE WHEN excluded.model IS NOT NULL AND (model_ms IS NULL OR excluded.model_ms >= model_ms)
        THEN excluded.model_ms ELSE model_ms END,
    created_ms = CASE WHEN created_ms IS NULL OR excluded.created_ms < created_ms
        THEN excluded.created_ms ELSE created_ms END,
    updated_ms = CASE WHEN updated_ms IS NULL OR excluded.updated_ms > updated_ms
        THEN excluded.updated_ms ELSE updated_ms END,
    turns = turns + excluded.turns,
    input_tokens = input_tokens + excluded.input_tokens,
    cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    reasoning_output_tokens = reasoning_output_tokens + excluded.reasoning_output_tokens,
    host_name = COALESCE(host_name, excluded.host_name)
RETURNING host_name, cwd, environment_id, created_ms, user_id";

/// Gives a thread its working directory unless it has one (the first one told wins); a row
/// is returned only when the directory was set.
const SET_THREAD_CWD: &str = "
INSERT INTO codex_threads (workspace_id, thread_id, cwd) VALUES (?1, ?2, ?3)
ON CONFLICT (workspace_id, thread_id) DO UPDATE SET cwd = excluded.cwd WHERE cwd IS NULL
RETURNING host_name, cwd, environment_id, created_ms, user_id";

const INSERT_TRACE_CWD: &str =
    "INSERT INTO trace_cwds (workspace_id, trace_id, cwd) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";

const THREAD_CWD_OF_TRACE: &str = "
SELECT t.thread_id, c.cwd FROM turn_spans t
JOIN trace_cwds c ON c.workspace_id = t.workspace_id AND c.trace_id = t.trace_id
WHERE t.workspace_id = ?1 AND t.trace_id = ?2 AND t.thread_id IS NOT NULL";

const SET_THREAD_ENVIRONMENT: &str =
    "UPDATE codex_threads SET environment_id = ?3 WHERE workspace_id = ?1 AND thread_id = ?2";

const ENVIRONMENT_DEPARTURES: &str =
    "UPDATE codex_environments SET task_count = task_count - ?3 WHERE workspace_id = ?1 AND id = ?2";

const UPSERT_ENVIRONMENT: &str = "
INSERT INTO codex_environments (workspace_id, id, host_name, cwd, created_ms, creator_id, task_count)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (workspace_id, id) DO UPDATE SET
    task_count = task_count + excluded.task_count,
    creator_id = CASE WHEN excluded.created_ms < created_ms THEN excluded.creator_id ELSE creator_id END,
    created_ms = MIN(created_ms, excluded.created_ms)";

const THREAD_COLUMNS: &str = "workspace_id, thread_id, user_id, client_id, model, created_ms, updated_ms, turns,
    input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, host_name, cwd, environment_id";

const ENVIRONMENT_COLUMNS: &str = "workspace_id, id, host_name, cwd, created_ms, creator_id, task_count";

/// The threads part of the ingest transaction: one upsert per thread of the newly inserted
/// events, then the (rare) environment changes.
pub fn apply_threads(tx: &Connection, inserted: &[&NormalizedEvent]) -> StoreResult<()> {
    let deltas = ThreadDelta::from_events(inserted.iter().copied());
    if deltas.is_empty() {
        return Ok(());
    }
    let mut environments = EnvironmentDelta::default();
    {
        let mut upsert = tx.prepare_cached(UPSERT_THREAD).map_err(map_err)?;
        for d in &deltas {
            let place = upsert
                .query_row(
                    params![
                        d.workspace_id,
                        d.thread_id,
                        d.user_id,
                        d.client_id,
                        d.model,
                        d.model.as_ref().map(|_| d.model_ms),
                        d.created_ms,
                        d.updated_ms,
                        d.turns,
                        d.input_tokens,
                        d.cached_input_tokens,
                        d.output_tokens,
                        d.reasoning_output_tokens,
                        d.host_name,
                    ],
                    place_from_row,
                )
                .map_err(map_err)?;
            environments.observe(&d.workspace_id, &d.thread_id, &place, Some(d.created_ms));
        }
    }
    apply_environments(tx, &environments)
}

fn place_from_row(r: &Row<'_>) -> rusqlite::Result<ThreadPlace> {
    Ok(ThreadPlace {
        host_name: r.get(0)?,
        cwd: r.get(1)?,
        environment_id: r.get(2)?,
        created_ms: r.get(3)?,
        user_id: r.get(4)?,
    })
}

fn apply_environments(tx: &Connection, delta: &EnvironmentDelta) -> StoreResult<()> {
    if delta.is_empty() {
        return Ok(());
    }
    let mut set = tx.prepare_cached(SET_THREAD_ENVIRONMENT).map_err(map_err)?;
    for ((ws, thread), env) in &delta.threads {
        set.execute(params![ws, thread, env]).map_err(map_err)?;
    }
    let mut depart = tx.prepare_cached(ENVIRONMENT_DEPARTURES).map_err(map_err)?;
    for ((ws, id), n) in &delta.departures {
        depart.execute(params![ws, id, n]).map_err(map_err)?;
    }
    let mut upsert = tx.prepare_cached(UPSERT_ENVIRONMENT).map_err(map_err)?;
    for ((ws, id), u) in &delta.upserts {
        upsert
            .execute(params![
                ws,
                id,
                u.host_name,
                u.cwd,
                u.created_ms,
                u.creator_id,
                u.add_tasks
            ])
            .map_err(map_err)?;
    }
    Ok(())
}

pub fn record_trace_cwds(c: &mut Connection, t: &TraceCwds) -> StoreResult<()> {
    if t.is_empty() {
        return Ok(());
    }
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    {
        let mut insert = tx.prepare_cached(INSERT_TRACE_CWD).map_err(map_err)?;
        for (trace, cwd) in &t.cwds {
            insert
                .execute(params![t.workspace_id, trace, cwd])
                .map_err(map_err)?;
        }
        let traces: BTreeSet<&str> = t
            .cwds
            .iter()
            .map(|(trace, _)| trace.as_str())
            .chain(t.turn_trace_ids.iter().map(String::as_str))
            .collect();
        let mut find = tx.prepare_cached(THREAD_CWD_OF_TRACE).map_err(map_err)?;
        let mut cwd_of_thread: BTreeMap<String, String> = BTreeMap::new();
        for trace in traces {
            let found = find
                .query_row(params![t.workspace_id, trace], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .optional()
                .map_err(map_err)?;
            if let Some((thread, cwd)) = found {
                cwd_of_thread.entry(thread).or_insert(cwd);
            }
        }
        let mut set = tx.prepare_cached(SET_THREAD_CWD).map_err(map_err)?;
        let mut environments = EnvironmentDelta::default();
        for (thread, cwd) in &cwd_of_thread {
            let place = set
                .query_row(params![t.workspace_id, thread, cwd], place_from_row)
                .optional()
                .map_err(map_err)?;
            if let Some(place) = place {
                environments.observe(&t.workspace_id, thread, &place, None);
            }
        }
        apply_environments(&tx, &environments)?;
    }
    tx.commit().map_err(map_err)
}

fn thread_from_row(r: &Row<'_>) -> rusqlite::Result<CodexThread> {
    Ok(CodexThread {
        workspace_id: r.get(0)?,
        thread_id: r.get(1)?,
        user_id: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        client_id: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        model: r.get(4)?,
        created_ms: r.get(5)?,
        updated_ms: r.get(6)?,
        turns: r.get(7)?,
        input_tokens: r.get(8)?,
        cached_input_tokens: r.get(9)?,
        output_tokens: r.get(10)?,
        reasoning_output_tokens: r.get(11)?,
        host_name: r.get(12)?,
        cwd: r.get(13)?,
        environment_id: r.get(14)?,
    })
}

fn environment_from_row(r: &Row<'_>) -> rusqlite::Result<CodexEnvironment> {
    Ok(CodexEnvironment {
        workspace_id: r.get(0)?,
        id: r.get(1)?,
        host_name: r.get(2)?,
        cwd: r.get(3)?,
        created_ms: r.get(4)?,
        creator_id: r.get(5)?,
        task_count: r.get(6)?,
    })
}

pub fn list_threads(c: &Connection, q: &ThreadQuery) -> StoreResult<Vec<CodexThread>> {
    // A row that only traces created (no stored event yet) has no times and is not a task.
    let rows = match &q.after {
        None => {
            let sql = format!(
                "SELECT {THREAD_COLUMNS} FROM codex_threads
                 WHERE workspace_id = ?1 AND updated_ms IS NOT NULL
                 ORDER BY updated_ms DESC, thread_id DESC LIMIT ?2"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
            let rows = stmt
                .query_map(params![q.workspace_id, q.limit], thread_from_row)
                .map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>()
        }
        Some(after) => {
            let sql = format!(
                "SELECT {THREAD_COLUMNS} FROM codex_threads
                 WHERE workspace_id = ?1 AND (updated_ms, thread_id) < (?2, ?3)
                 ORDER BY updated_ms DESC, thread_id DESC LIMIT ?4"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
            let rows = stmt
                .query_map(
                    params![q.workspace_id, after.updated_ms, after.thread_id, q.limit],
                    thread_from_row,
                )
                .map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>()
        }
    };
    rows.map_err(map_err)
}

pub fn get_thread(c: &Connection, workspace_id: &str, thread_id: &str) -> StoreResult<Option<CodexThread>> {
    let sql = format!(
        "SELECT {THREAD_COLUMNS} FROM codex_threads
         WHERE workspace_id = ?1 AND thread_id = ?2 AND updated_ms IS NOT NULL"
    );
    c.prepare_cached(&sql)
        .map_err(map_err)?
        .query_row(params![workspace_id, thread_id], thread_from_row)
        .optional()
        .map_err(map_err)
}

pub fn list_environments(c: &Connection, q: &EnvironmentQuery) -> StoreResult<Vec<CodexEnvironment>> {
    let rows = match &q.after {
        None => {
            let sql = format!(
                "SELECT {ENVIRONMENT_COLUMNS} FROM codex_environments
                 WHERE workspace_id = ?1 AND task_count > 0
                 ORDER BY created_ms DESC, id DESC LIMIT ?2"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
            let rows = stmt
                .query_map(params![q.workspace_id, q.limit], environment_from_row)
                .map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>()
        }
        Some(after) => {
            let sql = format!(
                "SELECT {ENVIRONMENT_COLUMNS} FROM codex_environments
                 WHERE workspace_id = ?1 AND task_count > 0 AND (created_ms, id) < (?2, ?3)
                 ORDER BY created_ms DESC, id DESC LIMIT ?4"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(map_err)?;
            let rows = stmt
                .query_map(
                    params![q.workspace_id, after.created_ms, after.id, q.limit],
                    environment_from_row,
                )
                .map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>()
        }
    };
    rows.map_err(map_err)
}

pub fn get_environment(
    c: &Connection,
    workspace_id: &str,
    id: &str,
) -> StoreResult<Option<CodexEnvironment>> {
    let sql =
        format!("SELECT {ENVIRONMENT_COLUMNS} FROM codex_environments WHERE workspace_id = ?1 AND id = ?2");
    c.prepare_cached(&sql)
        .map_err(map_err)?
        .query_row(params![workspace_id, id], environment_from_row)
        .optional()
        .map_err(map_err)
}

#[cfg(test)]
mod tests {
    use rusqlite::params;
    use steward_store::conformance::backfill::{assert_backfilled_as_ingested, backfill_events};
    use steward_store::Store as _;

    use crate::migrate::{self, MIGRATIONS};
    use crate::SqliteStore;

    /// Threads stored before migration 0006 are backfilled exactly as ingest would have kept
    /// them (with "host, directory unknown" environments), SQL and Rust agreeing on ids.
    #[tokio::test]
    async fn migration_0006_backfills_threads_as_ingest_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let live = SqliteStore::open(&dir.path().join("live.db")).await.unwrap();
        live.insert_events(backfill_events()).await.unwrap();

        // A database from before 0006, as an older Steward left it: migrations 0001-0005 only.
        let old_path = dir.path().join("old.db");
        let mut old = crate::conn::open(&old_path).unwrap();
        assert_eq!(MIGRATIONS[5].1, "codex_threads");
        migrate::apply_through(&mut old, 5).unwrap();
        for e in backfill_events() {
            let u = e.kind.usage();
            old.execute(
                "INSERT INTO events (workspace_id, dedup_key, user_id, source, event_name, kind, thread_id, ts_ms,
                    client_id, model, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
                    total_tokens, received_at_ms, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0, ?16)",
                params![
                    e.workspace_id,
                    e.dedup_key,
                    e.user_id,
                    e.source.as_str(),
                    e.event_name,
                    e.kind.as_str(),
                    e.thread_id,
                    e.timestamp_ms,
                    e.client_id,
                    e.model,
                    u.map(|u| u.input),
                    u.map(|u| u.cached_input),
                    u.map(|u| u.output),
                    u.map(|u| u.reasoning_output),
                    u.map(|u| u.total),
                    e.raw
                ],
            )
            .unwrap();
        }
        drop(old);
        // Opening applies the pending migration (0006).
        let old = SqliteStore::open(&old_path).await.unwrap();
        assert_backfilled_as_ingested(&old, &live).await;
    }
}
