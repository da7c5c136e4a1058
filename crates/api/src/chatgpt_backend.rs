//! Steward as the ChatGPT backend of Codex CLIs whose `chatgpt_base_url` points at it
//! (`../shared/spec/chatgpt-backend-integration.md`, observed on Codex 0.169.0).
//!
//! `GET /api/codex/config/bundle` (and `/backend-api/wham/config/bundle`) answers the caller's
//! effective policy as workspace-managed configuration: `requirements_toml` is enforced by the
//! CLI, `config_toml` (the policy's managed_config.toml) applied, e.g. an `[otel]` table that
//! rolls telemetry out to every CLI. The caller is the email of its bearer token, verified
//! against the configured JWKS (or trusted unsigned, in tests). The older
//! `/config/requirements` shape is served too. The other calls such a CLI makes to its
//! ChatGPT backend get harmless empty answers. Tokens are never logged or stored.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use steward_core::policies::EffectivePolicy;
use steward_store::PolicySyncReport;

use crate::chatgpt_token::{ChatgptTokenVerifier, TokenError};
use crate::state::AppState;

/// What the ChatGPT-backend routes need: the token check and the workspace they serve.
pub struct ChatgptBackend {
    pub verifier: ChatgptTokenVerifier,
    pub workspace_id: String,
}

pub type SharedChatgptBackend = Arc<ChatgptBackend>;

/// An error as the CLI's backend client expects it: JSON with a `detail`.
fn refuse(status: StatusCode, code: &str, message: String) -> Response {
    (status, Json(json!({ "detail": message, "code": code }))).into_response()
}

fn token_error(e: &TokenError) -> Response {
    let status = match e {
        TokenError::JwksUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    };
    tracing::warn!(code = e.code(), "ChatGPT-backend request refused");
    refuse(status, e.code(), e.to_string())
}

/// The caller, from its verified ChatGPT bearer token (refused as the CLI expects otherwise).
pub(crate) async fn caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<crate::chatgpt_token::ChatgptClaims, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    state
        .chatgpt
        .verifier
        .verify(bearer)
        .await
        .map_err(|e| token_error(&e))
}

/// Resolves the caller to its effective policy, recording the fetch as a `bundle` report.
async fn effective(state: &AppState, headers: &HeaderMap) -> Result<EffectivePolicy, Response> {
    let claims = caller(state, headers).await?;
    let ws = &state.chatgpt.workspace_id;
    let policy = state
        .policies
        .effective_for_email(ws, &claims.email, claims.account_id.as_deref())
        .await
        .map_err(|e| crate::error::ApiError::from(e).into_response())?;
    let client = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| {
            ua.split_whitespace()
                .next()
                .unwrap_or(ua)
                .chars()
                .take(100)
                .collect::<String>()
        });
    let report = PolicySyncReport {
        workspace_id: ws.clone(),
        user_id: policy.user_id.clone(),
        // The CLI names no machine; one row per user and client tells "fetched revision N".
        host: client.clone().unwrap_or_else(|| "codex".to_owned()),
        channel: "bundle".into(),
        policy_id: policy.policy_id.clone(),
        revision: policy.revision,
        sha256: Some(policy.sha256.clone()),
        client_version: client,
        reported_at_ms: 0,
    };
    if let Err(e) = state.policies.record_sync(report).await {
        tracing::warn!(error = %e, "could not record the bundle fetch");
    }
    Ok(policy)
}

/// The layer's id and name as the CLI shows them ("set by enterprise-managed requirements
/// <name> (<id>)").
fn layer(p: &EffectivePolicy, contents: &str) -> Vec<Value> {
    match (&p.policy, &p.policy_id, p.revision) {
        (Some(name), Some(id), Some(rev)) if !contents.trim().is_empty() => vec![json!({
            "id": format!("{id}@{rev}"),
            "name": format!("{name} r{rev}"),
            "contents": contents,
        })],
        _ => Vec::new(),
    }
}

pub async fn bundle(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let p = match effective(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    Json(json!({
        "requirements_toml": { "enterprise_managed": layer(&p, &p.requirements_toml) },
        "config_toml": { "enterprise_managed": layer(&p, &p.managed_config_toml) },
    }))
    .into_response()
}

/// The older single-document endpoint (`ConfigFileResponse`).
pub async fn requirements(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let p = match effective(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.requirements_toml.trim().is_empty() {
        return Json(json!({})).into_response();
    }
    Json(json!({
        "contents": p.requirements_toml,
        "sha256": p.sha256,
        "updated_by_user_id": Value::Null,
    }))
    .into_response()
}

/// Plugin listings, user settings, the MCP bridge: answered empty so the
/// CLI carries on (observed: `{}` breaks nothing), and never forwarded to OpenAI.
pub async fn harmless() -> Json<Value> {
    Json(json!({}))
}
