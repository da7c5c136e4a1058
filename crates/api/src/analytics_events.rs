//! `POST /codex/analytics-events/events`: Codex's own product analytics, posted by a
//! ChatGPT-signed-in CLI whose `chatgpt_base_url` is Steward (authenticated like the config
//! bundle: the caller is the email of its verified ChatGPT token). Body
//! `{"events": [{"event_type", "event_params"}]}`, JSON, gzip allowed. The events become a
//! source of turns and tokens that counts each turn once with OTLP and shipped rollouts
//! (`steward_ingest::analytics`). Answers 200 with what was kept and what was refused.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use steward_ingest::analytics::AnalyticsError;
use steward_ingest::identity::IngestPrincipal;
use steward_ingest::normalize::IdentityHints;

use crate::error::ApiError;
use crate::state::AppState;

pub async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let claims = match crate::chatgpt_backend::caller(&state, &headers).await {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    match handle(&state, &headers, claims, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    claims: crate::chatgpt_token::ChatgptClaims,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = crate::otlp::plain_body(state, headers, body)?;
    let json: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("request body is not JSON: {e}")))?;
    let principal = IngestPrincipal::Workspace {
        workspace_id: state.chatgpt.workspace_id.clone(),
    };
    let hints = IdentityHints {
        email: Some(claims.email),
        account_id: claims.account_id,
        host: None,
    };
    match state
        .ingestor
        .ingest_analytics(&principal, &hints, &json, crate::otlp::now_ms())
        .await
    {
        Ok(outcome) => Ok(Json(outcome).into_response()),
        Err(AnalyticsError::Invalid(m)) => Err(ApiError::BadRequest(m)),
        Err(AnalyticsError::Ingest(e)) => Err(ApiError::Ingest(e)),
    }
}
