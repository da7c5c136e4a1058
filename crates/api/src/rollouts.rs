//! `POST /v1/rollouts`: a piece of a Codex session rollout file, sent by `steward agent ship`
//! (docs/rollouts.md). Query: `file_key`, `path`, `machine`, `offset` (and `email` when the token
//! is a machine's); body: the file's bytes from `offset`, whole lines, gzip allowed.
//!
//! 200 `{acked_offset, lines, events, problems, ...}`: the piece is durable, continue from
//! `acked_offset`. 409 `{code: "offset_mismatch", acked_offset}`: the server stands elsewhere in
//! this file (a gap, or a shipper that lost its state): resend from `acked_offset`. An empty
//! body at offset 0 asks where the server stands without sending anything.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use steward_ingest::rollout::{PieceError, RolloutPiece};

use crate::error::ApiError;
use crate::otlp::ingest_principal;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct PieceQuery {
    file_key: Option<String>,
    path: Option<String>,
    machine: Option<String>,
    offset: Option<String>,
    email: Option<String>,
}

fn required<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, ApiError> {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::BadRequest(format!(
            "query parameter `{name}` is required"
        ))),
    }
}

pub async fn post_piece(
    State(state): State<AppState>,
    Query(q): Query<PieceQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match handle(&state, &q, &headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &AppState,
    q: &PieceQuery,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let principal = ingest_principal(state, headers).await?;
    let file_key = required(&q.file_key, "file_key")?;
    let path = required(&q.path, "path")?;
    let machine = required(&q.machine, "machine")?;
    let offset: i64 = required(&q.offset, "offset")?.parse().map_err(|_| {
        ApiError::BadRequest("query parameter `offset` must be a byte offset (an integer)".into())
    })?;
    let bytes = crate::otlp::plain_body(state, headers, body)?;
    let piece = RolloutPiece {
        file_key: file_key.to_owned(),
        path: path.to_owned(),
        machine: machine.to_owned(),
        offset,
        bytes: &bytes,
        email: q.email.clone().filter(|e| !e.trim().is_empty()),
    };
    match state.ingestor.ingest_rollout(&principal, piece, crate::otlp::now_ms()).await {
        Ok(outcome) => Ok(Json(outcome).into_response()),
        Err(PieceError::Misaligned { acked_offset, offset }) => Ok((
            StatusCode::CONFLICT,
            Json(json!({
                "detail": format!("this file is read up to byte {acked_offset}; send it from there (the piece started at {offset})"),
                "code": "offset_mismatch",
                "acked_offset": acked_offset,
            })),
        )
            .into_response()),
        Err(PieceError::Invalid(m)) => Err(ApiError::BadRequest(m)),
        Err(PieceError::Ingest(e)) => Err(ApiError::Ingest(e)),
    }
}
