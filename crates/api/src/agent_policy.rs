//! What `steward agent sync` talks to: `GET /v1/agent/policy` returns the caller's effective
//! policy (ETag = its content hash, so an unchanged policy costs a 304), and
//! `POST /v1/agent/policy/report` records which revision a machine now enforces.
//!
//! Authenticated with an ingest token: a user's token is that user; a workspace (machine)
//! token names the user with `?email=` (the same trust as attributing telemetry by email).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use steward_core::policies::MatchedBy;
use steward_model::{Credential, CredentialKind};
use steward_store::PolicySyncReport;

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::policies::json_error;
use crate::policy_assignment::query_error;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct Caller {
    email: Option<String>,
}

/// The user an ingest token acts for.
/// The agent's ingest token, checked before anything in the request is looked at: an API
/// key is refused whatever the body says.
async fn agent_credential(state: &AppState, headers: &HeaderMap) -> Result<Credential, ApiError> {
    let key = authenticate(state, headers).await?;
    if matches!(key.kind, CredentialKind::ApiKey { .. }) {
        return Err(wrong_credential());
    }
    Ok(key)
}

fn wrong_credential() -> ApiError {
    ApiError::Forbidden {
        code: "wrong_credential",
        message: "use an ingest token (`steward tokens create --user EMAIL`), not an API key".into(),
    }
}

async fn user_of(
    state: &AppState,
    key: &Credential,
    email: Option<&str>,
) -> Result<(String, Option<String>), ApiError> {
    match (&key.kind, email) {
        (CredentialKind::UserIngest { user_id }, None) => Ok((user_id.clone(), None)),
        (CredentialKind::UserIngest { .. }, Some(_)) => Err(ApiError::BadRequest(
            "email: a user's token acts for its own user only; drop `email`".into(),
        )),
        (CredentialKind::WorkspaceIngest, Some(email)) => {
            let user = state
                .store
                .find_user_by_email(&key.workspace_id, email)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("email: no user with email {email:?}")))?;
            Ok((user.id, Some(email.to_owned())))
        }
        (CredentialKind::WorkspaceIngest, None) => Err(ApiError::BadRequest(
            "email: a workspace token must name the machine's user with `?email=`".into(),
        )),
        (CredentialKind::ApiKey { .. }, _) => Err(wrong_credential()),
    }
}

#[derive(Serialize)]
pub struct AgentPolicy {
    workspace_id: String,
    user_id: String,
    policy: Option<String>,
    policy_id: Option<String>,
    revision: Option<i64>,
    sha256: String,
    requirements_toml: String,
    managed_config_toml: String,
    matched_by: MatchedBy,
}

fn etag(sha256: &str) -> String {
    format!("\"{sha256}\"")
}

pub async fn get_policy(
    State(state): State<AppState>,
    query: Result<Query<Caller>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = agent_credential(&state, &headers).await?;
    let Query(caller) = query.map_err(query_error)?;
    let (user_id, _) = user_of(&state, &key, caller.email.as_deref()).await?;
    let effective = state
        .policies
        .effective_for_user(&key.workspace_id, &user_id)
        .await?;
    let tag = etag(&effective.sha256);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let tag_value = HeaderValue::from_str(&tag).map_err(|e| ApiError::Internal(e.to_string()))?;
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag_value)]).into_response());
    }
    let body = AgentPolicy {
        workspace_id: key.workspace_id,
        user_id,
        policy: effective.policy,
        policy_id: effective.policy_id,
        revision: effective.revision,
        sha256: effective.sha256,
        requirements_toml: effective.requirements_toml,
        managed_config_toml: effective.managed_config_toml,
        matched_by: effective.matched_by,
    };
    Ok(([(header::ETAG, tag_value)], Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    host: String,
    policy_id: Option<String>,
    revision: Option<i64>,
    sha256: String,
    #[serde(default)]
    client_version: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<Report>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let key = agent_credential(&state, &headers).await?;
    let Json(r) = body.map_err(json_error)?;
    let (user_id, _) = user_of(&state, &key, r.email.as_deref()).await?;
    if r.sha256.len() != 64 || !r.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::BadRequest("sha256: expected 64 hex digits".into()));
    }
    state
        .policies
        .record_sync(PolicySyncReport {
            workspace_id: key.workspace_id,
            user_id,
            host: r.host,
            channel: "agent".into(),
            policy_id: r.policy_id,
            revision: r.revision,
            sha256: Some(r.sha256),
            client_version: r.client_version,
            reported_at_ms: 0,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
