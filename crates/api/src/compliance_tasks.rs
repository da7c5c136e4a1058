//! Codex tasks and environments of the Compliance API (wire-formats §2.5), read side:
//! `GET /v1/compliance/workspaces/{id}/codex_tasks[/{task_id}]` and
//! `GET /v1/compliance/workspaces/{id}/codex_environments[/{environment_id}]`, with the
//! `compliance.read` scope. A task is a Codex thread; an environment is a host and working
//! directory threads ran in (docs/compliance.md, "Codex tasks and environments").

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use steward_core::compliance::tasks::{environment_label, EnvironmentListParams, TaskListParams};
use steward_store::{CodexEnvironment, CodexThread};

use crate::access::Authorized;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
pub struct TaskList {
    object: &'static str,
    cursor: Option<String>,
    has_more: bool,
    data: Vec<Task>,
}

#[derive(Serialize)]
pub struct Task {
    object: &'static str,
    id: String,
    created_at: f64,
    updated_at: f64,
    created_by_id: String,
    /// Steward has no title that is not prompt text (which retention may erase): null.
    title: Option<String>,
    denormalized_metadata: Value,
}

#[derive(Serialize)]
pub struct EnvironmentList {
    object: &'static str,
    has_more: bool,
    last_id: Option<String>,
    data: Vec<Environment>,
}

#[derive(Serialize)]
pub struct Environment {
    object: &'static str,
    id: String,
    created_at: f64,
    machine_id: String,
    label: String,
    description: Option<String>,
    workspace_dir: Option<String>,
    is_pinned: bool,
    repos: Vec<String>,
    setup: Vec<String>,
    repo_map: Option<Value>,
    env_vars: BTreeMap<String, String>,
    secrets: Option<BTreeMap<String, String>>,
    task_count: Option<i64>,
    creator_id: Option<String>,
    share_settings: Option<String>,
}

/// Unix milliseconds as the API's timestamps: Unix seconds, fractional.
fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn task(t: CodexThread) -> Task {
    Task {
        object: "compliance.workspace.codex_task",
        created_at: seconds(t.created_ms),
        updated_at: seconds(t.updated_ms),
        created_by_id: t.user_id,
        title: None,
        denormalized_metadata: json!({
            "client_id": t.client_id,
            "model": t.model,
            "turns": t.turns,
            "token_usage": {
                "input_tokens": t.input_tokens,
                "cached_input_tokens": t.cached_input_tokens,
                "output_tokens": t.output_tokens,
                "reasoning_output_tokens": t.reasoning_output_tokens,
                "total_tokens": t.input_tokens + t.output_tokens,
            },
            "host_name": t.host_name,
            "workspace_dir": t.cwd,
            "environment_id": t.environment_id,
        }),
        id: t.thread_id,
    }
}

fn environment(e: CodexEnvironment) -> Environment {
    Environment {
        object: "compliance.workspace.codex_environment",
        label: environment_label(&e),
        created_at: seconds(e.created_ms),
        machine_id: e.host_name,
        description: None,
        workspace_dir: e.cwd,
        is_pinned: false,
        repos: Vec::new(),
        setup: Vec::new(),
        repo_map: None,
        env_vars: BTreeMap::new(),
        secrets: None,
        task_count: Some(e.task_count),
        creator_id: e.creator_id,
        share_settings: None,
        id: e.id,
    }
}

/// `(name, value)` pairs of a query string (the last of a repeated name wins).
fn query_pairs(query: Option<String>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

pub async fn list_tasks(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<TaskList>, ApiError> {
    let mut q = query_pairs(query);
    let params = TaskListParams {
        cursor: q.remove("cursor"),
        limit: q.remove("limit"),
    };
    let page = state.compliance.list_codex_tasks(&workspace_id, &params).await?;
    Ok(Json(TaskList {
        object: "list",
        cursor: page.cursor,
        has_more: page.has_more,
        data: page.tasks.into_iter().map(task).collect(),
    }))
}

pub async fn get_task(
    State(state): State<AppState>,
    _grant: Authorized,
    Path((workspace_id, task_id)): Path<(String, String)>,
) -> Result<Json<Task>, ApiError> {
    let t = state.compliance.codex_task(&workspace_id, &task_id).await?;
    Ok(Json(task(t)))
}

pub async fn list_environments(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<EnvironmentList>, ApiError> {
    let mut q = query_pairs(query);
    let params = EnvironmentListParams {
        after: q.remove("after"),
        limit: q.remove("limit"),
    };
    let page = state
        .compliance
        .list_codex_environments(&workspace_id, &params)
        .await?;
    Ok(Json(EnvironmentList {
        object: "list",
        has_more: page.has_more,
        last_id: page.last_id,
        data: page.environments.into_iter().map(environment).collect(),
    }))
}

pub async fn get_environment(
    State(state): State<AppState>,
    _grant: Authorized,
    Path((workspace_id, environment_id)): Path<(String, String)>,
) -> Result<Json<Environment>, ApiError> {
    let e = state
        .compliance
        .codex_environment(&workspace_id, &environment_id)
        .await?;
    Ok(Json(environment(e)))
}
