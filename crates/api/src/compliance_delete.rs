//! `DELETE /v1/compliance/workspaces/{id}/codex_tasks/{task_id}` (wire-formats §2.5): erases
//! the content of every compliance record of the task (a Codex thread in Steward) and answers
//! OpenAI's `DeletionResponse`. Needs an API key with `compliance.delete`. The records stay,
//! with tombstones that keep each erased field's hash, so the digest chain still verifies; the
//! deletion itself is an `AUDIT_LOG` record naming the key. 409 under a legal hold.

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use steward_core::compliance::ErasureOutcome;

use crate::access::Authorized;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
pub struct DeletionResponse {
    object: &'static str,
    id: String,
    deleted: bool,
    /// Steward's addition: what was erased.
    steward_erasure: ErasureOutcome,
}

pub async fn delete_codex_task(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((workspace_id, task_id)): Path<(String, String)>,
) -> Result<Json<DeletionResponse>, ApiError> {
    let actor = grant.actor();
    let outcome = state
        .compliance
        .erase_thread(&workspace_id, &task_id, &actor)
        .await?;
    Ok(Json(DeletionResponse {
        object: "compliance.workspace.codex_task",
        id: task_id,
        deleted: true,
        steward_erasure: outcome,
    }))
}
