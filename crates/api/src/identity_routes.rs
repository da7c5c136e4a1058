//! People and access over HTTP: roles, role assignments, the default role, users with their
//! effective permissions, activation, API keys and ingest tokens, and `/v1/me`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::{delete, get, post, put};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use steward_core::identity::{Caller, SubjectRef};
use steward_model::{ApiScope, Permission::*, PermissionSet};

use crate::access::Access::{SignedIn as SignedInAccess, Workspace};
use crate::access::{Authorized, SignedIn};
use crate::error::ApiError;
use crate::policies::json_error;
use crate::routes::Route;
use crate::state::AppState;

pub fn table() -> Vec<Route> {
    let r = |method: Method, path: &'static str, access, handler| Route {
        method,
        path,
        access,
        handler,
    };
    vec![
        r(Method::GET, "/v1/me", SignedInAccess, get(me)),
        r(
            Method::GET,
            "/v1/workspaces/{workspace_id}/roles",
            Workspace(&[UsersRead]),
            get(list_roles),
        ),
        r(
            Method::PUT,
            "/v1/workspaces/{workspace_id}/roles/{role}",
            Workspace(&[WorkspaceAdmin]),
            put(put_role),
        ),
        r(
            Method::DELETE,
            "/v1/workspaces/{workspace_id}/roles/{role}",
            Workspace(&[WorkspaceAdmin]),
            delete(delete_role),
        ),
        r(
            Method::GET,
            "/v1/workspaces/{workspace_id}/role_assignments",
            Workspace(&[UsersRead]),
            get(list_assignments),
        ),
        r(
            Method::PUT,
            "/v1/workspaces/{workspace_id}/roles/{role}/{kind}/{subject}",
            Workspace(&[UsersManage]),
            put(assign),
        ),
        r(
            Method::DELETE,
            "/v1/workspaces/{workspace_id}/roles/{role}/{kind}/{subject}",
            Workspace(&[UsersManage]),
            delete(unassign),
        ),
        r(
            Method::PUT,
            "/v1/workspaces/{workspace_id}/default_role",
            Workspace(&[WorkspaceAdmin]),
            put(set_default_role),
        ),
        r(
            Method::GET,
            "/v1/workspaces/{workspace_id}/users",
            Workspace(&[UsersRead]),
            get(list_users),
        ),
        r(
            Method::GET,
            "/v1/workspaces/{workspace_id}/users/{email}/permissions",
            Workspace(&[UsersRead]),
            get(user_permissions),
        ),
        r(
            Method::POST,
            "/v1/workspaces/{workspace_id}/users/{email}/deactivate",
            Workspace(&[UsersManage]),
            post(deactivate),
        ),
        r(
            Method::POST,
            "/v1/workspaces/{workspace_id}/users/{email}/activate",
            Workspace(&[UsersManage]),
            post(activate),
        ),
        r(
            Method::GET,
            "/v1/workspaces/{workspace_id}/keys",
            Workspace(&[KeysManage]),
            get(list_keys),
        ),
        r(
            Method::POST,
            "/v1/workspaces/{workspace_id}/keys",
            Workspace(&[KeysManage]),
            post(create_key),
        ),
        r(
            Method::POST,
            "/v1/workspaces/{workspace_id}/tokens",
            Workspace(&[KeysManage]),
            post(create_token),
        ),
        r(
            Method::DELETE,
            "/v1/workspaces/{workspace_id}/keys/{id}",
            Workspace(&[KeysManage]),
            delete(revoke_key),
        ),
    ]
}

/// Who am I: the caller, their workspace and permissions (and the CSRF token for sessions).
async fn me(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    headers: axum::http::HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let mut body = match &caller {
        Caller::Key(key) => json!({
            "kind": "api_key", "id": key.id, "name": key.name, "workspace_id": key.workspace_id,
            "permissions": caller.permissions_in(&key.workspace_id).to_names(),
        }),
        Caller::Person { user, session, .. } => {
            let effective = state.identity.effective_permissions(user).await?;
            json!({
                "kind": "user", "user_id": user.id, "email": user.email, "name": user.name,
                "workspace_id": session.workspace_id, "sign_in_method": session.method,
                "permissions": effective.permissions, "roles": effective.roles,
                "explanation": effective.explanation,
                "session_expires_at_ms": session.expires_at_ms,
            })
        }
        Caller::Admin { admin, session } => json!({
            "kind": "local_admin", "username": admin.username, "workspace_id": session.workspace_id,
            "sign_in_method": session.method, "permissions": PermissionSet::all().to_names(),
            "session_expires_at_ms": session.expires_at_ms,
        }),
        Caller::Operator(_) => json!({"kind": "operator"}),
    };
    // A browser app reads the token here and sends it as X-CSRF-Token on unsafe requests.
    if matches!(caller, Caller::Person { .. } | Caller::Admin { .. }) {
        body["csrf_token"] = json!(crate::session::csrf_token_of(&headers));
    }
    Ok(Json(body))
}

async fn list_roles(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
) -> Result<Json<Value>, ApiError> {
    let roles = state.identity.list_roles(grant.workspace_id()).await?;
    Ok(Json(json!({"object": "list", "data": roles})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    #[serde(default)]
    description: String,
    permissions: Vec<String>,
}

async fn put_role(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((_, role)): Path<(String, String)>,
    body: Result<Json<RoleBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(json_error)?;
    let mut set = PermissionSet::EMPTY;
    for (i, name) in body.permissions.iter().enumerate() {
        let p = steward_model::Permission::parse(name).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "permissions[{i}]: unknown permission `{name}` (known: {})",
                PermissionSet::all().to_names().join(", ")
            ))
        })?;
        set.insert(p);
    }
    let view = state
        .identity
        .put_role(&grant, &role, &body.description, set)
        .await?;
    Ok(Json(json!(view)))
}

async fn delete_role(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((_, role)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.identity.delete_role(&grant, &role).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_assignments(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
) -> Result<Json<Value>, ApiError> {
    let data = state.identity.role_assignments(grant.workspace_id()).await?;
    Ok(Json(json!({"object": "list", "data": data})))
}

fn subject(kind: &str, subject: String) -> Result<SubjectRef, ApiError> {
    match kind {
        "users" => Ok(SubjectRef::Email(subject)),
        "groups" => Ok(SubjectRef::Group(subject)),
        other => Err(ApiError::NotFound(format!(
            "`{other}`: roles are assigned to `users/{{email}}` or `groups/{{name}}`"
        ))),
    }
}

async fn set_assignment(
    state: AppState,
    grant: steward_core::identity::Grant,
    role: String,
    kind: String,
    who: String,
    present: bool,
) -> Result<Json<Value>, ApiError> {
    let subject_ref = subject(&kind, who.clone())?;
    let changed = state
        .identity
        .assign_role(&grant, &role, &subject_ref, present)
        .await?;
    Ok(Json(
        json!({"role": role, "subject_kind": kind.trim_end_matches('s'), "subject": who, "assigned": present, "changed": changed}),
    ))
}

async fn assign(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((_, role, kind, who)): Path<(String, String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    set_assignment(state, grant, role, kind, who, true).await
}

async fn unassign(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((_, role, kind, who)): Path<(String, String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    set_assignment(state, grant, role, kind, who, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultRoleBody {
    role: String,
}

async fn set_default_role(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    body: Result<Json<DefaultRoleBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(json_error)?;
    state.identity.set_default_role(&grant, &body.role).await?;
    Ok(Json(json!({"default_role": body.role})))
}

async fn list_users(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
) -> Result<Json<Value>, ApiError> {
    let users = state.store.list_users(grant.workspace_id()).await?;
    let data: Vec<Value> = users
        .iter()
        .filter(|u| u.deleted_at_ms.is_none())
        .map(|u| {
            json!({
                "id": u.id, "email": u.email, "name": u.name, "kind": u.kind.as_str(),
                "user_name": u.user_name, "external_id": u.external_id, "active": u.active,
                "created_at_ms": u.created_at_ms,
            })
        })
        .collect();
    Ok(Json(json!({"object": "list", "data": data})))
}

async fn user_permissions(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((_, email)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let user = state
        .store
        .find_user_by_email(grant.workspace_id(), &email)
        .await?
        .filter(|u| u.deleted_at_ms.is_none())
        .ok_or_else(|| ApiError::NotFound(format!("no user with email `{email}` in this workspace")))?;
    Ok(Json(json!(state.identity.effective_permissions(&user).await?)))
}

async fn set_active(
    state: AppState,
    grant: steward_core::identity::Grant,
    email: String,
    active: bool,
) -> Result<Json<Value>, ApiError> {
    let (user, done) = state.identity.set_user_active(&grant, &email, active).await?;
    Ok(Json(json!({
        "id": user.id, "email": user.email, "active": user.active,
        "credentials_revoked": done.credentials_revoked, "sessions_revoked": done.sessions_revoked,
    })))
}

async fn deactivate(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((_, email)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    set_active(state, grant, email, false).await
}

async fn activate(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((_, email)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    set_active(state, grant, email, true).await
}

async fn list_keys(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
) -> Result<Json<Value>, ApiError> {
    let data = state.identity.list_credentials(&grant).await?;
    Ok(Json(json!({"object": "list", "data": data})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyBody {
    scopes: Vec<String>,
    name: Option<String>,
    /// Unix milliseconds.
    expires_at_ms: Option<i64>,
}

fn issued(secret: steward_core::IssuedSecret) -> (StatusCode, Json<Value>) {
    let view =
        steward_core::identity::keys::CredentialView::of(&secret.credential, secret.credential.created_at_ms);
    (
        StatusCode::CREATED,
        Json(json!({"credential": view, "secret": secret.secret, "note": "the secret is shown once"})),
    )
}

async fn create_key(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    body: Result<Json<KeyBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(json_error)?;
    let mut scopes = Vec::with_capacity(body.scopes.len());
    for (i, s) in body.scopes.iter().enumerate() {
        scopes.push(ApiScope::parse(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "scopes[{i}]: unknown scope `{s}` (known: {})",
                ApiScope::ALL.map(|s| s.as_str()).join(", ")
            ))
        })?);
    }
    let secret = state
        .identity
        .issue_api_key(&grant, scopes, body.name.as_deref(), body.expires_at_ms)
        .await?;
    Ok(issued(secret))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    /// The user the token's telemetry belongs to; without it, a workspace token.
    user: Option<String>,
    name: Option<String>,
    expires_at_ms: Option<i64>,
}

async fn create_token(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    body: Result<Json<TokenBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(json_error)?;
    let secret = state
        .identity
        .issue_ingest_token(
            &grant,
            body.user.as_deref(),
            body.name.as_deref(),
            body.expires_at_ms,
        )
        .await?;
    Ok(issued(secret))
}

async fn revoke_key(
    State(state): State<AppState>,
    Authorized(grant): Authorized,
    Path((_, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!(state.identity.revoke_credential(&grant, &id).await?)))
}
