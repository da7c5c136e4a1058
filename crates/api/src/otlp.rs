//! OTLP/HTTP receiver (OTLP specification, "OTLP/HTTP"): `POST /v1/logs`, `/v1/traces`,
//! `/v1/metrics`, protobuf or JSON, gzip or identity.
//!
//! Success is 200 with an `Export*ServiceResponse` in the request's encoding, carrying
//! `partial_success` when records were rejected (or stored with a warning). Failures carry a
//! `google.rpc.Status` body: 400 (malformed), 401 (token), 403 (token cannot ingest),
//! 413 (too large), 415 (media type or encoding), 503 + `Retry-After` (overloaded or storage
//! unavailable; OTLP exporters retry those). Nothing is acknowledged before its durable commit.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use serde::Serialize;
use steward_ingest::identity::IngestPrincipal;
use steward_ingest::otlp::{decode_logs, decode_metrics, decode_traces, decompress, Encoding};
use steward_ingest::pipeline::accept_metrics;
use steward_ingest::IngestError;
use steward_model::{ApiScope, CredentialKind};

use crate::auth::authenticate;
use crate::error::{decorate, ApiError};
use crate::state::AppState;

/// `google.rpc.Status`, the OTLP/HTTP error body (details omitted).
#[derive(Clone, PartialEq, Message, Serialize)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// gRPC code matching an HTTP status, as OTLP/HTTP suggests for the Status body.
fn grpc_code(status: StatusCode) -> i32 {
    match status.as_u16() {
        400 | 413 | 415 => 3, // INVALID_ARGUMENT
        401 => 16,            // UNAUTHENTICATED
        403 => 7,             // PERMISSION_DENIED
        429 => 8,             // RESOURCE_EXHAUSTED
        503 => 14,            // UNAVAILABLE
        _ => 13,              // INTERNAL
    }
}

fn encoded<M: Message + Serialize>(status: StatusCode, encoding: Encoding, message: &M) -> Response {
    let body = match encoding {
        Encoding::Protobuf => message.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(message).unwrap_or_default(),
    };
    (status, [(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
}

fn failure(err: ApiError, encoding: Encoding) -> Response {
    err.log();
    let status = err.status();
    let message = format!("{} ({})", err.public_message(), err.code());
    metrics::counter!("steward_ingest_requests_failed_total", "code" => err.code()).increment(1);
    decorate(
        encoded(
            status,
            encoding,
            &RpcStatus {
                code: grpc_code(status),
                message,
            },
        ),
        &err,
    )
}

/// Who may send telemetry: an ingest token (a person's or the workspace's), or an API key
/// with the `ingest` scope. Shared by OTLP and shipped rollouts.
pub(crate) async fn ingest_principal(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<IngestPrincipal, ApiError> {
    let credential = authenticate(state, headers).await?;
    match credential.kind {
        CredentialKind::UserIngest { user_id } => Ok(IngestPrincipal::User {
            workspace_id: credential.workspace_id,
            user_id,
        }),
        CredentialKind::WorkspaceIngest => Ok(IngestPrincipal::Workspace {
            workspace_id: credential.workspace_id,
        }),
        CredentialKind::ApiKey { .. } if credential.has_scope(ApiScope::Ingest) => {
            Ok(IngestPrincipal::Workspace {
                workspace_id: credential.workspace_id,
            })
        }
        CredentialKind::ApiKey { .. } => Err(ApiError::Forbidden {
            code: "insufficient_scope",
            message: "this API key has no `ingest` scope; use an ingest token".to_owned(),
        }),
    }
}

/// A non-OTLP ingest body (rollout pieces, analytics events), within the size limit and
/// decompressed per `Content-Encoding`; errors are the API's JSON ones.
pub(crate) fn plain_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Vec<u8>, ApiError> {
    let limit = state.limits.max_body_bytes;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::Ingest(IngestError::TooLarge { limit })
        } else {
            ApiError::BadRequest(format!("request body: {}", rejection.body_text()))
        }
    })?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    Ok(decompress(&body, encoding, limit)?)
}

/// Everything a signal handler needs before decoding: authentication and a decompressed body.
async fn prepare(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Encoding, IngestPrincipal, Vec<u8>), (ApiError, Encoding)> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    // Errors are answered in the request's encoding when it is known, else as protobuf.
    let encoding = Encoding::from_content_type(content_type);
    let reply_as = *encoding.as_ref().unwrap_or(&Encoding::Protobuf);
    let principal = ingest_principal(state, headers)
        .await
        .map_err(|e| (e, reply_as))?;
    let encoding = encoding.map_err(|e| (ApiError::Ingest(e), reply_as))?;
    let limit = state.limits.max_body_bytes;
    let body = body.map_err(|rejection| {
        let err = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            IngestError::TooLarge { limit }
        } else {
            IngestError::MalformedProtobuf {
                message: "request body",
                detail: rejection.body_text(),
            }
        };
        (ApiError::Ingest(err), encoding)
    })?;
    let content_encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let bytes = decompress(&body, content_encoding, limit).map_err(|e| (ApiError::Ingest(e), encoding))?;
    Ok((encoding, principal, bytes))
}

/// Authentication, decompression and decoding: what every signal does before its own work.
/// On failure, the error response in the request's encoding.
async fn decoded<Req>(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    decode: fn(&[u8], Encoding) -> Result<Req, IngestError>,
) -> Result<(Encoding, IngestPrincipal, Req), Response> {
    let (encoding, principal, bytes) = prepare(state, headers, body)
        .await
        .map_err(|(err, enc)| failure(err, enc))?;
    let request = decode(&bytes, encoding).map_err(|e| failure(ApiError::Ingest(e), encoding))?;
    Ok((encoding, principal, request))
}

pub async fn logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (encoding, principal, request) = match decoded(&state, &headers, body, decode_logs).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    match state.ingestor.ingest_logs(&principal, &request, now_ms()).await {
        Ok(outcome) => {
            let partial_success =
                (outcome.rejected > 0 || !outcome.message.is_empty()).then(|| ExportLogsPartialSuccess {
                    rejected_log_records: outcome.rejected as i64,
                    error_message: outcome.message.clone(),
                });
            encoded(
                StatusCode::OK,
                encoding,
                &ExportLogsServiceResponse { partial_success },
            )
        }
        Err(e) => failure(ApiError::Ingest(e), encoding),
    }
}

/// Traces: decoded, counted, and Codex's turn spans stored (see `Ingestor::ingest_traces`).
pub async fn traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (encoding, principal, request) = match decoded(&state, &headers, body, decode_traces).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    match state.ingestor.ingest_traces(&principal, &request).await {
        Ok(_) => encoded(
            StatusCode::OK,
            encoding,
            &ExportTraceServiceResponse {
                partial_success: None,
            },
        ),
        Err(e) => failure(ApiError::Ingest(e), encoding),
    }
}

/// Metrics: authenticated, decoded (which validates them) and counted; see
/// `steward_ingest::pipeline::accept_metrics` for why their data is not stored.
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (encoding, _principal, request) = match decoded(&state, &headers, body, decode_metrics).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    accept_metrics(&request);
    encoded(
        StatusCode::OK,
        encoding,
        &ExportMetricsServiceResponse {
            partial_success: None,
        },
    )
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
