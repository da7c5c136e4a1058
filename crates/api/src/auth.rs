//! Bearer-token authentication shared by the OTLP receiver and the APIs.

use axum::http::HeaderMap;
use steward_model::Credential;

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
