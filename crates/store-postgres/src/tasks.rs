//! Codex tasks and environments: thread rows kept by the ingest transaction (one statement
//! for all threads of a batch), working directories from traces, and the listings.
//!
//! Same semantics as the SQLite backend. Rows are written in sorted order (threads by
//! `(workspace, thread)`, then environments by `(workspace, id)`), threads always before
//! environments, so concurrent replicas lock them in one order; what PostgreSQL still reports
//! as a deadlock is retried whole by the caller's transaction loop.

use std::collections::HashMap;

use deadpool_postgres::{GenericClient, Object, Pool, Transaction};
use steward_model::NormalizedEvent;
use steward_store::{
    CodexEnvironment, CodexThread, EnvironmentDelta, EnvironmentQuery, StoreResult, ThreadDelta, ThreadPlace,
    ThreadQuery, TraceCwds,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::conn::{self, is_retryable, map_err, TX_ATTEMPTS};

/// Adds each thread's batch delta to its row (see store-sqlite's `UPSERT_THREAD`; `LEAST` and
/// `GREATEST` ignore NULLs) and returns where every thread stands.
const UPSERT_THREADS: &str = "
INSERT INTO codex_threads AS t (workspace_id, thread_id, user_id, client_id, model, model_ms, created_ms,
    updated_ms, turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, host_name)
SELECT workspace_id, thread_id, user_id, client_id, model, model_ms, created_ms,
    updated_ms, turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, host_name
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::int8[],
    $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::text[])
    WITH ORDINALITY AS d(workspace_id, thread_id, user_id, client_id, model, model_ms, created_ms,
        updated_ms, turns, input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens,
        host_name, ord)
ORDER BY ord
ON CONFLICT (workspace_id, thread_id) DO UPDATE SET
    user_id = CASE WHEN t.created_ms IS NULL OR EXCLUDED.created_ms < t.created_ms
        THEN EXCLUDED.user_id ELSE t.user_id END,
    client_id = CASE WHEN t.created_ms IS NULL OR EXCLUDED.created_ms < t.created_ms
        THEN EXCLUDED.client_id ELSE t.client_id END,
    model = CASE WHEN EXCLUDED.model IS NOT NULL AND (t.model_ms IS NULL OR EXCLUDED.model_ms >= t.model_ms)
        THEN EXCLUDED.model ELSE t.model END,
    model_ms = CASE WHEN EXCLUDED.model IS NOT NULL AND (t.model_ms IS NULL OR EXCLUDED.model_ms >= t.model_ms)
        THEN EXCLUDED.model_ms ELSE t.model_ms END,
    created_ms = LEAST(t.created_ms, EXCLUDED.created_ms),
    updated_ms = GREATEST(t.updated_ms, EXCLUDED.updated_ms),
    turns = t.turns + EXCLUDED.turns,
    input_tokens = t.input_tokens + EXCLUDED.input_tokens,
    cached_input_tokens = t.cached_input_tokens + EXCLUDED.cached_input_tokens,
    output_tokens = t.output_tokens + EXCLUDED.output_tokens,
    reasoning_output_tokens = t.reasoning_output_tokens + EXCLUDED.reasoning_output_tokens,
    host_name = COALESCE(t.host_name, EXCLUDED.host_name)
RETURNING t.workspace_id, t.thread_id, t.host_name, t.cwd, t.environment_id, t.created_ms, t.user_id";

const INSERT_TRACE_CWDS: &str = "
INSERT INTO trace_cwds (workspace_id, trace_id, cwd)
SELECT $1::text, trace_id, cwd
FROM UNNEST($2::text[], $3::text[]) WITH ORDINALITY AS d(trace_id, cwd, ord)
ORDER BY ord
ON CONFLICT DO NOTHING";

/// The working directory of each thread that has a turn among the traces (of its first such
/// trace, by id: the same choice as the SQLite backend's).
const THREAD_CWDS_OF_TRACES: &str = "
SELECT DISTINCT ON (t.thread_id) t.thread_id, c.cwd
FROM turn_spans t
JOIN trace_cwds c ON c.workspace_id = t.workspace_id AND c.trace_id = t.trace_id
WHERE t.workspace_id = $1 AND t.trace_id = ANY($2::text[]) AND t.thread_id IS NOT NULL
ORDER BY t.thread_id, t.trace_id";

/// Gives threads their working directory unless they have one; rows come back only where the
/// directory was set.
const SET_THREAD_CWDS: &str = "
INSERT INTO codex_threads AS t (workspace_id, thread_id, cwd)
SELECT $1::text, thread_id, cwd
FROM UNNEST($2::text[], $3::text[]) WITH ORDINALITY AS d(thread_id, cwd, ord)
ORDER BY ord
ON CONFLICT (workspace_id, thread_id) DO UPDATE SET cwd = EXCLUDED.cwd WHERE t.cwd IS NULL
RETURNING t.workspace_id, t.thread_id, t.host_name, t.cwd, t.environment_id, t.created_ms, t.user_id";

const SET_THREAD_ENVIRONMENTS: &str = "
UPDATE codex_threads t SET environment_id = d.environment_id
FROM UNNEST($1::text[], $2::text[], $3::text[]) AS d(workspace_id, thread_id, environment_id)
WHERE t.workspace_id = d.workspace_id AND t.thread_id = d.thread_id";

const ENVIRONMENT_DEPARTURES: &str = "
UPDATE codex_environments e SET task_count = e.task_count - d.n
FROM UNNEST($1::text[], $2::text[], $3::int8[]) AS d(workspace_id, id, n)
WHERE e.workspace_id = d.workspace_id AND e.id = d.id";

const UPSERT_ENVIRONMENTS: &str = "
INSERT INTO codex_environments AS e (workspace_id, id, host_name, cwd, created_ms, creator_id, task_count)
SELECT workspace_id, id, host_name, cwd, created_ms, creator_id, task_count
FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::int8[])
    WITH ORDINALITY AS d(workspace_id, id, host_name, cwd, created_ms, creator_id, task_count, ord)
ORDER BY ord
ON CONFLICT (workspace_id, id) DO UPDATE SET
    task_count = e.task_count + EXCLUDED.task_count,
    creator_id = CASE WHEN EXCLUDED.created_ms < e.created_ms THEN EXCLUDED.creator_id ELSE e.creator_id END,
    created_ms = LEAST(e.created_ms, EXCLUDED.created_ms)";

const THREAD_COLUMNS: &str = "workspace_id, thread_id, user_id, client_id, model, created_ms, updated_ms, turns,
    input_tokens, cached_input_tokens, output_tokens, reasoning_output_tokens, host_name, cwd, environment_id";

const ENVIRONMENT_COLUMNS: &str = "workspace_id, id, host_name, cwd, created_ms, creator_id, task_count";

/// The threads part of the ingest transaction (`write.rs`): one statement for every thread of
/// the newly inserted events, then the (rare) environment changes.
pub async fn apply_threads(
    tx: &Transaction<'_>,
    inserted: &[&NormalizedEvent],
) -> Result<(), tokio_postgres::Error> {
    let deltas = ThreadDelta::from_events(inserted.iter().copied());
    if deltas.is_empty() {
        return Ok(());
    }
    let cols = ThreadColumns::of(&deltas);
    let stmt = tx.prepare_cached(UPSERT_THREADS).await?;
    let rows = tx.query(&stmt, &cols.params()).await?;
    let created: HashMap<(&str, &str), i64> = deltas
        .iter()
        .map(|d| ((d.workspace_id.as_str(), d.thread_id.as_str()), d.created_ms))
        .collect();
    let mut environments = EnvironmentDelta::default();
    for r in &rows {
        let (ws, thread): (&str, &str) = (r.get(0), r.get(1));
        let batch_created = created.get(&(ws, thread)).copied();
        environments.observe(ws, thread, &place_from_row(r), batch_created);
    }
    apply_environments(tx, &environments).await
}

/// Columns 2.. of a `RETURNING t.workspace_id, t.thread_id, host_name, cwd, ...` row.
fn place_from_row(r: &Row) -> ThreadPlace {
    ThreadPlace {
        host_name: r.get(2),
        cwd: r.get(3),
        environment_id: r.get(4),
        created_ms: r.get(5),
        user_id: r.get(6),
    }
}

async fn apply_environments(
    tx: &Transaction<'_>,
    delta: &EnvironmentDelta,
) -> Result<(), tokio_postgres::Error> {
    if !delta.threads.is_empty() {
        let ws: Vec<&str> = delta.threads.keys().map(|(w, _)| w.as_str()).collect();
        let thread: Vec<&str> = delta.threads.keys().map(|(_, t)| t.as_str()).collect();
        let env: Vec<Option<&str>> = delta.threads.values().map(|e| e.as_deref()).collect();
        let stmt = tx.prepare_cached(SET_THREAD_ENVIRONMENTS).await?;
        tx.execute(&stmt, &[&ws, &thread, &env]).await?;
    }
    if !delta.departures.is_empty() {
        let ws: Vec<&str> = delta.departures.keys().map(|(w, _)| w.as_str()).collect();
        let id: Vec<&str> = delta.departures.keys().map(|(_, i)| i.as_str()).collect();
        let n: Vec<i64> = delta.departures.values().copied().collect();
        let stmt = tx.prepare_cached(ENVIRONMENT_DEPARTURES).await?;
        tx.execute(&stmt, &[&ws, &id, &n]).await?;
    }
    if !delta.upserts.is_empty() {
        let u = &delta.upserts;
        let ws: Vec<&str> = u.keys().map(|(w, _)| w.as_str()).collect();
        let id: Vec<&str> = u.keys().map(|(_, i)| i.as_str()).collect();
        let host: Vec<&str> = u.values().map(|e| e.host_name.as_str()).collect();
        let cwd: Vec<Option<&str>> = u.values().map(|e| e.cwd.as_deref()).collect();
        let created: Vec<i64> = u.values().map(|e| e.created_ms).collect();
        let creator: Vec<Option<&str>> = u.values().map(|e| e.creator_id.as_deref()).collect();
        let tasks: Vec<i64> = u.values().map(|e| e.add_tasks).collect();
        let stmt = tx.prepare_cached(UPSERT_ENVIRONMENTS).await?;
        tx.execute(&stmt, &[&ws, &id, &host, &cwd, &created, &creator, &tasks])
            .await?;
    }
    Ok(())
}

pub async fn record_trace_cwds(pool: &Pool, t: &TraceCwds) -> StoreResult<()> {
    if t.is_empty() {
        return Ok(());
    }
    let mut cwds: Vec<(&str, &str)> = t.cwds.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    // Sorted by key (first of a trace wins, as in SQLite): overlapping inserts lock in one order.
    cwds.sort_by(|a, b| a.0.cmp(b.0));
    cwds.dedup_by(|a, b| a.0 == b.0);
    let mut traces: Vec<&str> = cwds
        .iter()
        .map(|(trace, _)| *trace)
        .chain(t.turn_trace_ids.iter().map(String::as_str))
        .collect();
    traces.sort_unstable();
    traces.dedup();
    let mut client = conn::get(pool).await?;
    let mut attempt = 1;
    loop {
        match try_record_trace_cwds(&mut client, &t.workspace_id, &cwds, &traces).await {
            Ok(()) => return Ok(()),
            // Nothing of a failed try was kept: running it again is safe.
            Err(e) if is_retryable(&e) && attempt < TX_ATTEMPTS => {
                tokio::time::sleep(conn::backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(map_err(e)),
        }
    }
}

async fn try_record_trace_cwds(
    client: &mut Object,
    workspace_id: &str,
    cwds: &[(&str, &str)],
    traces: &[&str],
) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    if !cwds.is_empty() {
        let trace: Vec<&str> = cwds.iter().map(|(t, _)| *t).collect();
        let cwd: Vec<&str> = cwds.iter().map(|(_, c)| *c).collect();
        let stmt = tx.prepare_cached(INSERT_TRACE_CWDS).await?;
        tx.execute(&stmt, &[&workspace_id, &trace, &cwd]).await?;
    }
    let stmt = tx.prepare_cached(THREAD_CWDS_OF_TRACES).await?;
    let found = tx.query(&stmt, &[&workspace_id, &traces]).await?;
    if !found.is_empty() {
        // Sorted by thread (DISTINCT ON's order).
        let thread: Vec<&str> = found.iter().map(|r| r.get(0)).collect();
        let cwd: Vec<&str> = found.iter().map(|r| r.get(1)).collect();
        let stmt = tx.prepare_cached(SET_THREAD_CWDS).await?;
        let rows = tx.query(&stmt, &[&workspace_id, &thread, &cwd]).await?;
        let mut environments = EnvironmentDelta::default();
        for r in &rows {
            environments.observe(r.get(0), r.get(1), &place_from_row(r), None);
        }
        apply_environments(&tx, &environments).await?;
    }
    tx.commit().await
}

fn thread_from_row(r: &Row) -> CodexThread {
    CodexThread {
        workspace_id: r.get(0),
        thread_id: r.get(1),
        user_id: r.get::<_, Option<String>>(2).unwrap_or_default(),
        client_id: r.get::<_, Option<String>>(3).unwrap_or_default(),
        model: r.get(4),
        created_ms: r.get(5),
        updated_ms: r.get(6),
        turns: r.get(7),
        input_tokens: r.get(8),
        cached_input_tokens: r.get(9),
        output_tokens: r.get(10),
        reasoning_output_tokens: r.get(11),
        host_name: r.get(12),
        cwd: r.get(13),
        environment_id: r.get(14),
    }
}

fn environment_from_row(r: &Row) -> CodexEnvironment {
    CodexEnvironment {
        workspace_id: r.get(0),
        id: r.get(1),
        host_name: r.get(2),
        cwd: r.get(3),
        created_ms: r.get(4),
        creator_id: r.get(5),
        task_count: r.get(6),
    }
}

pub async fn list_threads(c: &impl GenericClient, q: &ThreadQuery) -> StoreResult<Vec<CodexThread>> {
    let limit = i64::from(q.limit);
    // A row that only traces created (no stored event yet) has no times and is not a task.
    let rows = match &q.after {
        None => {
            let sql = format!(
                "SELECT {THREAD_COLUMNS} FROM codex_threads
                 WHERE workspace_id = $1 AND updated_ms IS NOT NULL
                 ORDER BY updated_ms DESC, thread_id DESC LIMIT $2"
            );
            query(c, &sql, &[&q.workspace_id, &limit]).await?
        }
        Some(after) => {
            let sql = format!(
                "SELECT {THREAD_COLUMNS} FROM codex_threads
                 WHERE workspace_id = $1 AND (updated_ms, thread_id) < ($2, $3)
                 ORDER BY updated_ms DESC, thread_id DESC LIMIT $4"
            );
            query(
                c,
                &sql,
                &[&q.workspace_id, &after.updated_ms, &after.thread_id, &limit],
            )
            .await?
        }
    };
    Ok(rows.iter().map(thread_from_row).collect())
}

pub async fn get_thread(
    c: &impl GenericClient,
    workspace_id: &str,
    thread_id: &str,
) -> StoreResult<Option<CodexThread>> {
    let sql = format!(
        "SELECT {THREAD_COLUMNS} FROM codex_threads
         WHERE workspace_id = $1 AND thread_id = $2 AND updated_ms IS NOT NULL"
    );
    let rows = query(c, &sql, &[&workspace_id, &thread_id]).await?;
    Ok(rows.first().map(thread_from_row))
}

pub async fn list_environments(
    c: &impl GenericClient,
    q: &EnvironmentQuery,
) -> StoreResult<Vec<CodexEnvironment>> {
    let limit = i64::from(q.limit);
    let rows = match &q.after {
        None => {
            let sql = format!(
                "SELECT {ENVIRONMENT_COLUMNS} FROM codex_environments
                 WHERE workspace_id = $1 AND task_count > 0
                 ORDER BY created_ms DESC, id DESC LIMIT $2"
            );
            query(c, &sql, &[&q.workspace_id, &limit]).await?
        }
        Some(after) => {
            let sql = format!(
                "SELECT {ENVIRONMENT_COLUMNS} FROM codex_environments
                 WHERE workspace_id = $1 AND task_count > 0 AND (created_ms, id) < ($2, $3)
                 ORDER BY created_ms DESC, id DESC LIMIT $4"
            );
            query(c, &sql, &[&q.workspace_id, &after.created_ms, &after.id, &limit]).await?
        }
    };
    Ok(rows.iter().map(environment_from_row).collect())
}

pub async fn get_environment(
    c: &impl GenericClient,
    workspace_id: &str,
    id: &str,
) -> StoreResult<Option<CodexEnvironment>> {
    let sql =
        format!("SELECT {ENVIRONMENT_COLUMNS} FROM codex_environments WHERE workspace_id = $1 AND id = $2");
    let rows = query(c, &sql, &[&workspace_id, &id]).await?;
    Ok(rows.first().map(environment_from_row))
}

async fn query(c: &impl GenericClient, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
    let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
    c.query(&stmt, params).await.map_err(map_err)
}

/// The thread deltas as one array per column, in `UPSERT_THREADS` parameter order.
struct ThreadColumns<'a> {
    text: [Vec<&'a str>; 4],
    model: Vec<Option<&'a str>>,
    model_ms: Vec<Option<i64>>,
    numbers: [Vec<i64>; 7],
    host_name: Vec<Option<&'a str>>,
}

impl<'a> ThreadColumns<'a> {
    fn of(deltas: &'a [ThreadDelta]) -> Self {
        let mut c = ThreadColumns {
            text: Default::default(),
            model: Vec::with_capacity(deltas.len()),
            model_ms: Vec::with_capacity(deltas.len()),
            numbers: Default::default(),
            host_name: Vec::with_capacity(deltas.len()),
        };
        for d in deltas {
            for (col, v) in c
                .text
                .iter_mut()
                .zip([&d.workspace_id, &d.thread_id, &d.user_id, &d.client_id])
            {
                col.push(v.as_str());
            }
            c.model.push(d.model.as_deref());
            c.model_ms.push(d.model.as_ref().map(|_| d.model_ms));
            let numbers = [
                d.created_ms,
                d.updated_ms,
                d.turns,
                d.input_tokens,
                d.cached_input_tokens,
                d.output_tokens,
                d.reasoning_output_tokens,
            ];
            for (col, v) in c.numbers.iter_mut().zip(numbers) {
                col.push(v);
            }
            c.host_name.push(d.host_name.as_deref());
        }
        c
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 14] {
        let [ws, thread, user, client] = &self.text;
        let [created, updated, turns, input, cached, output, reasoning] = &self.numbers;
        [
            ws,
            thread,
            user,
            client,
            &self.model,
            &self.model_ms,
            created,
            updated,
            turns,
            input,
            cached,
            output,
            reasoning,
            &self.host_name,
        ]
    }
}
