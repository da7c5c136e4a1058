//! Who gets which policy, over HTTP: user groups and their members, the ordered assignment
//! (with `?dry_run=true` to see who would change policy first), the lookup "which policy
//! applies to this email or group, and why", and the rollout status (who runs which revision).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use steward_core::policies::{
    AssignmentInput, AssignmentOutcome, AssignmentView, GroupView, Lookup, LookupSubject, SyncStatus,
};

use crate::access::Authorized;
use crate::error::ApiError;
use crate::policies::{json_error, List};
use crate::state::AppState;

pub fn query_error(e: QueryRejection) -> ApiError {
    ApiError::BadRequest(format!("query string: {}", e.body_text()))
}

pub async fn get_assignment(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
) -> Result<Json<AssignmentView>, ApiError> {
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
    Authorized(grant): Authorized,
    Path(workspace_id): Path<String>,
    query: Result<Query<DryRun>, QueryRejection>,
    body: Result<Json<AssignmentInput>, JsonRejection>,
) -> Result<Json<AssignmentOutcome>, ApiError> {
    let actor = grant.actor();
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
    _grant: Authorized,
    Path(workspace_id): Path<String>,
    query: Result<Query<LookupQuery>, QueryRejection>,
) -> Result<Json<Lookup>, ApiError> {
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
    _grant: Authorized,
    Path(workspace_id): Path<String>,
) -> Result<Json<SyncStatus>, ApiError> {
    Ok(Json(state.policies.sync_status(&workspace_id).await?))
}

pub async fn list_groups(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
) -> Result<Json<List<GroupView>>, ApiError> {
    Ok(Json(List::new(state.policies.list_groups(&workspace_id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    name: String,
}

pub async fn create_group(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path(workspace_id): Path<String>,
    body: Result<Json<CreateGroup>, JsonRejection>,
) -> Result<(StatusCode, Json<GroupView>), ApiError> {
    let actor = grant.actor();
    let Json(b) = body.map_err(json_error)?;
    let view = state
        .policies
        .create_group(&workspace_id, &b.name, &actor)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn delete_group(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((workspace_id, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let actor = grant.actor();
    state.policies.delete_group(&workspace_id, &name, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn members(
    State(state): State<AppState>,
    _grant: Authorized,
    Path((workspace_id, name)): Path<(String, String)>,
) -> Result<Json<List<String>>, ApiError> {
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
    grant: steward_core::identity::Grant,
    member: bool,
) -> Result<Json<MembershipChange>, ApiError> {
    let actor = grant.actor();
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
    Authorized(grant): Authorized,
    Path((workspace_id, group, email)): Path<(String, String, String)>,
) -> Result<Json<MembershipChange>, ApiError> {
    set_member(state, workspace_id, group, email, grant, true).await
}

pub async fn remove_member(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((workspace_id, group, email)): Path<(String, String, String)>,
) -> Result<Json<MembershipChange>, ApiError> {
    set_member(state, workspace_id, group, email, grant, false).await
}
