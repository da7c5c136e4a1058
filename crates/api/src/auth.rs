//! Bearer-token authentication shared by the OTLP receiver and the APIs.

use axum::http::HeaderMap;
use steward_model::{ApiScope, Credential};

use crate::error::ApiError;
use crate::state::AppState;

/// The bearer token of a request, if it has one (scheme matched case-insensitively).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

/// The live credential presented by the request, or 401.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Credential, ApiError> {
    let Some(token) = bearer(headers) else {
        return Err(ApiError::Unauthenticated(
            "missing bearer token: send `Authorization: Bearer <token>`",
        ));
    };
    match state.principals.authenticate(token).await {
        Ok(Some(credential)) => Ok(credential),
        Ok(None) => Err(ApiError::Unauthenticated("invalid authentication credentials")),
        Err(err) => Err(ApiError::from(err)),
    }
}

/// An API key with `scope` that belongs to `workspace_id`: 401 without a valid key, 403 for a
/// missing scope or another workspace's key. Every workspace-scoped API route goes through it.
pub async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    workspace_id: &str,
    scope: ApiScope,
) -> Result<Credential, ApiError> {
    authorize_any(state, headers, workspace_id, &[scope]).await
}

/// As [`authorize`], for routes that any one of `scopes` opens (the first one named in the
/// error): e.g. reading policies needs `policies.read`, which `policies.manage` implies.
pub async fn authorize_any(
    state: &AppState,
    headers: &HeaderMap,
    workspace_id: &str,
    scopes: &[ApiScope],
) -> Result<Credential, ApiError> {
    let key = authenticate(state, headers).await?;
    if !scopes.iter().any(|s| key.has_scope(*s)) {
        let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        let message = match names.split_first() {
            Some((first, [])) => format!("API key lacks {first}"),
            Some((first, rest)) => format!("API key lacks {first} (or {})", rest.join(", or ")),
            None => "API key lacks the scope this route needs".to_owned(),
        };
        return Err(ApiError::Forbidden {
            code: "insufficient_scope",
            message,
        });
    }
    if key.workspace_id != workspace_id {
        return Err(ApiError::Forbidden {
            code: "workspace_mismatch",
            message: "this API key belongs to another workspace".to_owned(),
        });
    }
    Ok(key)
}
