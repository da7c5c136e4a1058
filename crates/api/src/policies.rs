//! Managed policies over HTTP (`/v1/workspaces/{id}/policies...`): list, create, show (any
//! revision), update (a new revision), delete, revisions, diff, and validation without saving.
//! Reading needs an API key with `policies.read` (or `policies.manage`), changing needs
//! `policies.manage`. A document Codex would refuse is a 422 with every diagnostic (line,
//! column, code, key path, message).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use steward_core::policies::{DocumentDiagnostics, PolicyDocuments, PolicyView, RevisionDiff};
use steward_store::{PolicyRevision, PolicyRow};

use crate::access::Authorized;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
pub struct PolicySummary {
    id: String,
    name: String,
    description: String,
    latest_revision: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
}

impl From<PolicyRow> for PolicySummary {
    fn from(p: PolicyRow) -> Self {
        PolicySummary {
            id: p.id,
            name: p.name,
            description: p.description,
            latest_revision: p.latest_revision,
            created_at_ms: p.created_at_ms,
            updated_at_ms: p.updated_at_ms,
        }
    }
}

/// OpenAI-style list envelope.
#[derive(Serialize)]
pub struct List<T> {
    object: &'static str,
    data: Vec<T>,
}

impl<T> List<T> {
    pub fn new(data: Vec<T>) -> Self {
        List { object: "list", data }
    }
}

pub async fn list(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
) -> Result<Json<List<PolicySummary>>, ApiError> {
    let data = state.policies.list(&workspace_id).await?;
    Ok(Json(List::new(data.into_iter().map(Into::into).collect())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    requirements_toml: String,
    #[serde(default)]
    managed_config_toml: String,
    #[serde(default)]
    comment: String,
}

pub async fn create(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path(workspace_id): Path<String>,
    body: Result<Json<CreateBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<PolicyView>), ApiError> {
    let actor = grant.actor();
    let Json(b) = body.map_err(json_error)?;
    let docs = PolicyDocuments {
        requirements_toml: b.requirements_toml,
        managed_config_toml: b.managed_config_toml,
    };
    let view = state
        .policies
        .create(&workspace_id, &b.name, &b.description, docs, &b.comment, &actor)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// A JSON body that does not parse: 400 naming the problem (serde's message names the field).
pub fn json_error(e: axum::extract::rejection::JsonRejection) -> ApiError {
    ApiError::BadRequest(format!("request body: {}", e.body_text()))
}

#[derive(Serialize)]
pub struct ValidateResponse {
    valid: bool,
    diagnostics: DocumentDiagnostics,
}

pub async fn validate(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(_workspace_id): Path<String>,
    body: Result<Json<PolicyDocuments>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<ValidateResponse>, ApiError> {
    let Json(docs) = body.map_err(json_error)?;
    let diagnostics = state.policies.validate(&docs);
    Ok(Json(ValidateResponse {
        valid: !diagnostics.has_errors(),
        diagnostics,
    }))
}

/// Unknown parameters are refused: a misspelt `revision` must not silently show the latest.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowQuery {
    revision: Option<i64>,
}

pub async fn show(
    State(state): State<AppState>,
    _grant: Authorized,
    Path((workspace_id, name)): Path<(String, String)>,
    query: Result<Query<ShowQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PolicyView>, ApiError> {
    let Query(q) = query.map_err(crate::policy_assignment::query_error)?;
    Ok(Json(state.policies.show(&workspace_id, &name, q.revision).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[serde(default)]
    requirements_toml: String,
    #[serde(default)]
    managed_config_toml: String,
    description: Option<String>,
    #[serde(default)]
    comment: String,
    /// The revision the edit started from; a newer one makes the update a 409.
    based_on_revision: Option<i64>,
}

pub async fn update(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((workspace_id, name)): Path<(String, String)>,
    body: Result<Json<UpdateBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<PolicyView>, ApiError> {
    let actor = grant.actor();
    let Json(b) = body.map_err(json_error)?;
    let docs = PolicyDocuments {
        requirements_toml: b.requirements_toml,
        managed_config_toml: b.managed_config_toml,
    };
    let view = state
        .policies
        .update(
            &workspace_id,
            &name,
            docs,
            b.description.as_deref(),
            &b.comment,
            b.based_on_revision,
            &actor,
        )
        .await?;
    Ok(Json(view))
}

pub async fn delete(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((workspace_id, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let actor = grant.actor();
    state.policies.delete(&workspace_id, &name, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct RevisionView {
    revision: i64,
    sha256: String,
    comment: String,
    created_at_ms: i64,
    created_by: String,
    requirements_toml: String,
    managed_config_toml: String,
}

impl From<PolicyRevision> for RevisionView {
    fn from(r: PolicyRevision) -> Self {
        RevisionView {
            revision: r.revision,
            sha256: r.sha256,
            comment: r.comment,
            created_at_ms: r.created_at_ms,
            created_by: r.created_by,
            requirements_toml: r.requirements_toml,
            managed_config_toml: r.managed_config_toml,
        }
    }
}

pub async fn revisions(
    State(state): State<AppState>,
    _grant: Authorized,
    Path((workspace_id, name)): Path<(String, String)>,
) -> Result<Json<List<RevisionView>>, ApiError> {
    let data = state.policies.revisions(&workspace_id, &name).await?;
    Ok(Json(List::new(data.into_iter().map(Into::into).collect())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    from: Option<i64>,
    to: Option<i64>,
}

pub async fn diff(
    State(state): State<AppState>,
    _grant: Authorized,
    Path((workspace_id, name)): Path<(String, String)>,
    query: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RevisionDiff>, ApiError> {
    let Query(q) = query.map_err(crate::policy_assignment::query_error)?;
    let Some(from) = q.from else {
        return Err(ApiError::BadRequest(
            "from: the revision to compare from is required".into(),
        ));
    };
    Ok(Json(state.policies.diff(&workspace_id, &name, from, q.to).await?))
}
