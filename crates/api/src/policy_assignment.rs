//! Who gets which policy, over HTTP: user groups and their members, the ordered assignment
//! (with `?dry_run=true` to see who would change policy first), the lookup "which policy
//! applies to this email or group, and why", and the rollout status (who runs which revision).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use steward_core::policies::{
    AssignmentInput, AssignmentOutcome, AssignmentView, GroupView, Lookup, LookupSubject, SyncStatus,
};

use crate::error::ApiError;
use crate::policies::{authorize_manage, authorize_read, json_error, List};
use crate::state::AppState;

pub fn query_error(e: QueryRejection) -> ApiError {
    ApiError::BadRequest(format!("query string: {}", e.body_text()))
}

pub async fn get_assignment(
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<AssignmentView>, ApiError> {
    authorize_read(&state, &headers, &workspace_id).await?;
    Ok(Json(state.policies.assignment(&workspace_id).await?))
}

/// Unknown parameters are refused: a misspelt `dry_run` must not apply the change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRun {
    #[serde(default)]
    dry_run: bool,
}

pub async fn put_assignment(
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    query: Result<Query<DryRun>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Json<AssignmentInput>, JsonRejection>,
) -> Result<Json<AssignmentOutcome>, ApiError> {
    let actor = authorize_manage(&state, &headers, &workspace_id).await?;
    let Query(q) = query.map_err(query_error)?;
    let Json(input) = body.map_err(json_error)?;
    Ok(Json(
        state
            .policies
            .set_assignment(&workspace_id, &input, q.dry_run, &actor)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    email: Option<String>,
    group: Option<String>,
}

pub async fn lookup(
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    query: Result<Query<LookupQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Json<Lookup>, ApiError> {
    authorize_read(&state, &headers, &workspace_id).await?;
    let Query(q) = query.map_err(query_error)?;
    let subject = match (q.email, q.group) {
        (Some(e), None) => LookupSubject::Email(e),
        (None, Some(g)) => LookupSubject::Group(g),
        _ => {
            return Err(ApiError::BadRequest(
                "email, group: give exactly one of `email` or `group`".into(),
            ))
        }
    };
    Ok(Json(state.policies.lookup(&workspace_id, &subject).await?))
}

pub async fn status(
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SyncStatus>, ApiError> {
    authorize_read(&state, &headers, &workspace_id).await?;
    Ok(Json(state.policies.sync_status(&workspace_id).await?))
}

pub async fn list_groups(
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<List<GroupView>>, ApiError> {
    authorize_read(&state, &headers, &workspace_id).await?;
    Ok(Json(List::new(state.policies.list_groups(&workspace_id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    name: String,
}

pub async fn create_group(
    State(state): State<AppState>,
    Path(workspace_id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<CreateGroup>, JsonRejection>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    let actor = authorize_manage(&state, &headers, &workspace_id).await?;
    let Json(b) = body.map_err(json_error)?;
    let view = state
        .policies
        .create_group(&workspace_id, &b.name, &actor)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn delete_group(
    State(state): State<AppState>,
    Path((workspace_id, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let actor = authorize_manage(&state, &headers, &workspace_id).await?;
    state.policies.delete_group(&workspace_id, &name, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn members(
    State(state): State<AppState>,
    Path((workspace_id, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<List<String>>, ApiError> {
    authorize_read(&state, &headers, &workspace_id).await?;
    Ok(Json(List::new(
        state.policies.group_members(&workspace_id, &name).await?,
    )))
}

#[derive(Serialize)]
pub struct MembershipChange {
    group: String,
    email: String,
    member: bool,
    changed: bool,
}

async fn set_member(
    state: AppState,
    workspace_id: String,
    group: String,
    email: String,
    headers: HeaderMap,
    member: bool,
) -> Result<Json<MembershipChange>, ApiError> {
    let actor = authorize_manage(&state, &headers, &workspace_id).await?;
    let changed = state
        .policies
        .set_membership(&workspace_id, &group, &email, member, &actor)
        .await?;
    Ok(Json(MembershipChange {
        group,
        email,
        member,
        changed,
    }))
}

pub async fn add_member(
    State(state): State<AppState>,
    Path((workspace_id, group, email)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<MembershipChange>, ApiError> {
    set_member(state, workspace_id, group, email, headers, true).await
}

pub async fn remove_member(
    State(state): State<AppState>,
    Path((workspace_id, group, email)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Json<MembershipChange>, ApiError> {
    set_member(state, workspace_id, group, email, headers, false).await
}
