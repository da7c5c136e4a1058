//! Browser sessions: the `steward_session` cookie and its CSRF header.

use axum::http::{HeaderMap, Method};
use steward_core::identity::Caller;

use crate::error::ApiError;
use crate::state::AppState;

/// The caller a session cookie names, if the request carries a live one. Unsafe methods must
/// also carry the session's CSRF token in `X-CSRF-Token`.
pub async fn caller_from_cookie(
    _state: &AppState,
    _headers: &HeaderMap,
    _method: &Method,
) -> Result<Option<Caller>, ApiError> {
    Ok(None)
}
