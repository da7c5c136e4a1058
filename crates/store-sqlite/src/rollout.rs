//! Where each shipped rollout file stands (`steward_store::RolloutStore`).

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use steward_store::{RolloutFileRow, RolloutStore, StoreResult};

use crate::conn::map_err;
use crate::SqliteStore;

const COLUMNS: &str = "workspace_id, file_key, machine, path, thread_id, acked_offset, state_json,
    lines, problems, unknown, updated_at_ms";

fn row_from(r: &Row<'_>) -> rusqlite::Result<RolloutFileRow> {
    Ok(RolloutFileRow {
        workspace_id: r.get(0)?,
        file_key: r.get(1)?,
        machine: r.get(2)?,
        path: r.get(3)?,
        thread_id: r.get(4)?,
        acked_offset: r.get(5)?,
        state_json: r.get(6)?,
        lines: r.get(7)?,
        problems: r.get(8)?,
        unknown: r.get(9)?,
        updated_at_ms: r.get(10)?,
    })
}

fn rollout_file(c: &Connection, workspace_id: &str, file_key: &str) -> StoreResult<Option<RolloutFileRow>> {
    c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM rollout_files WHERE workspace_id = ?1 AND file_key = ?2"
    ))
    .map_err(map_err)?
    .query_row(params![workspace_id, file_key], row_from)
    .optional()
    .map_err(map_err)
}

fn save_rollout_file(c: &mut Connection, row: &RolloutFileRow) -> StoreResult<i64> {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    // The WHERE turns a stale writer's update into a no-op: the offset never moves back.
    tx.prepare_cached(&format!(
        "INSERT INTO rollout_files ({COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (workspace_id, file_key) DO UPDATE SET
             machine = excluded.machine, path = excluded.path, thread_id = excluded.thread_id,
             acked_offset = excluded.acked_offset, state_json = excluded.state_json,
             lines = excluded.lines, problems = excluded.problems, unknown = excluded.unknown,
             updated_at_ms = excluded.updated_at_ms
         WHERE rollout_files.acked_offset <= excluded.acked_offset"
    ))
    .map_err(map_err)?
    .execute(params![
        row.workspace_id,
        row.file_key,
        row.machine,
        row.path,
        row.thread_id,
        row.acked_offset,
        row.state_json,
        row.lines,
        row.problems,
        row.unknown,
        row.updated_at_ms,
    ])
    .map_err(map_err)?;
    let stored: i64 = tx
        .prepare_cached("SELECT acked_offset FROM rollout_files WHERE workspace_id = ?1 AND file_key = ?2")
        .map_err(map_err)?
        .query_row(params![row.workspace_id, row.file_key], |r| r.get(0))
        .map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(stored)
}

fn turn_for_trace(c: &Connection, workspace_id: &str, trace_id: &str) -> StoreResult<Option<String>> {
    c.prepare_cached("SELECT turn_id FROM turn_spans WHERE workspace_id = ?1 AND trace_id = ?2")
        .map_err(map_err)?
        .query_row(params![workspace_id, trace_id], |r| r.get(0))
        .optional()
        .map_err(map_err)
}

#[async_trait]
impl RolloutStore for SqliteStore {
    async fn rollout_file(&self, workspace_id: &str, file_key: &str) -> StoreResult<Option<RolloutFileRow>> {
        let (workspace_id, file_key) = (workspace_id.to_owned(), file_key.to_owned());
        self.read(move |c| rollout_file(c, &workspace_id, &file_key))
            .await
    }

    async fn save_rollout_file(&self, row: &RolloutFileRow) -> StoreResult<i64> {
        let row = row.clone();
        self.write(move |c| save_rollout_file(c, &row)).await
    }

    async fn turn_for_trace(&self, workspace_id: &str, trace_id: &str) -> StoreResult<Option<String>> {
        let (workspace_id, trace_id) = (workspace_id.to_owned(), trace_id.to_owned());
        self.read(move |c| turn_for_trace(c, &workspace_id, &trace_id))
            .await
    }
}
