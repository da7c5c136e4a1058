//! Where each shipped rollout file stands (`steward_store::RolloutStore`). Same semantics as the
//! SQLite backend.

use async_trait::async_trait;
use steward_store::{RolloutFileRow, RolloutStore, StoreError, StoreResult};
use tokio_postgres::Row;

use crate::conn::map_err;
use crate::PostgresStore;

const SELECT_FILE: &str = "SELECT workspace_id, file_key, machine, path, thread_id, acked_offset,
    state_json, lines, problems, unknown, updated_at_ms
    FROM rollout_files WHERE workspace_id = $1 AND file_key = $2";

// The WHERE turns a stale writer's update into a no-op (the offset never moves back); RETURNING
// then yields no row, and the stored offset is read separately.
const SAVE_FILE: &str = "INSERT INTO rollout_files (workspace_id, file_key, machine, path, thread_id,
        acked_offset, state_json, lines, problems, unknown, updated_at_ms)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (workspace_id, file_key) DO UPDATE SET
        machine = EXCLUDED.machine, path = EXCLUDED.path, thread_id = EXCLUDED.thread_id,
        acked_offset = EXCLUDED.acked_offset, state_json = EXCLUDED.state_json,
        lines = EXCLUDED.lines, problems = EXCLUDED.problems, unknown = EXCLUDED.unknown,
        updated_at_ms = EXCLUDED.updated_at_ms
    WHERE rollout_files.acked_offset <= EXCLUDED.acked_offset
    RETURNING acked_offset";

const STORED_OFFSET: &str =
    "SELECT acked_offset FROM rollout_files WHERE workspace_id = $1 AND file_key = $2";

const TURN_FOR_TRACE: &str = "SELECT turn_id FROM turn_spans WHERE workspace_id = $1 AND trace_id = $2";

fn row_from(r: &Row) -> RolloutFileRow {
    RolloutFileRow {
        workspace_id: r.get(0),
        file_key: r.get(1),
        machine: r.get(2),
        path: r.get(3),
        thread_id: r.get(4),
        acked_offset: r.get(5),
        state_json: r.get(6),
        lines: r.get(7),
        problems: r.get(8),
        unknown: r.get(9),
        updated_at_ms: r.get(10),
    }
}

#[async_trait]
impl RolloutStore for PostgresStore {
    async fn rollout_file(&self, workspace_id: &str, file_key: &str) -> StoreResult<Option<RolloutFileRow>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(SELECT_FILE).await.map_err(map_err)?;
        let row = c
            .query_opt(&stmt, &[&workspace_id, &file_key])
            .await
            .map_err(map_err)?;
        Ok(row.as_ref().map(row_from))
    }

    async fn save_rollout_file(&self, row: &RolloutFileRow) -> StoreResult<i64> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(SAVE_FILE).await.map_err(map_err)?;
        let saved = c
            .query_opt(
                &stmt,
                &[
                    &row.workspace_id,
                    &row.file_key,
                    &row.machine,
                    &row.path,
                    &row.thread_id,
                    &row.acked_offset,
                    &row.state_json,
                    &row.lines,
                    &row.problems,
                    &row.unknown,
                    &row.updated_at_ms,
                ],
            )
            .await
            .map_err(map_err)?;
        if let Some(saved) = saved {
            return Ok(saved.get(0));
        }
        // A row further along was stored already: its offset stands. (A later statement sees
        // that row, committed before the upsert found the conflict, or a newer one.)
        let stmt = c.prepare_cached(STORED_OFFSET).await.map_err(map_err)?;
        let stored = c
            .query_opt(&stmt, &[&row.workspace_id, &row.file_key])
            .await
            .map_err(map_err)?;
        stored.map(|r| r.get(0)).ok_or_else(|| {
            StoreError::NotFound(format!(
                "rollout file {} of workspace {} vanished while being saved",
                row.file_key, row.workspace_id
            ))
        })
    }

    async fn turn_for_trace(&self, workspace_id: &str, trace_id: &str) -> StoreResult<Option<String>> {
        let c = self.client().await?;
        let stmt = c.prepare_cached(TURN_FOR_TRACE).await.map_err(map_err)?;
        let row = c
            .query_opt(&stmt, &[&workspace_id, &trace_id])
            .await
            .map_err(map_err)?;
        Ok(row.map(|r| r.get(0)))
    }
}
