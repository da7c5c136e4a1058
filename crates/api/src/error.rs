//! One error type for the HTTP layer, mapped to status codes and bodies in one place.
//!
//! The Analytics API answers FastAPI-style `{"detail": ...}` bodies like OpenAI's
//! (`../shared/spec/wire-formats.md` §1.9). The OTLP receiver answers `google.rpc.Status` in
//! the request's encoding (see `otlp.rs`), using the same status codes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use steward_compliance::chain::ChainError;
use steward_core::analytics::FieldProblem;
use steward_core::policies::DocumentDiagnostics;
use steward_core::{AnalyticsError, ComplianceError, IdentityError, PolicyError, PrincipalsError};
use steward_ingest::IngestError;
use steward_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Listed but no longer retrievable (HTTP 410, as OpenAI's expired files).
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("invalid query parameters")]
    Validation(Vec<FieldProblem>),
    /// A policy document Codex would refuse to load (422), with every diagnostic.
    #[error("the policy does not validate: {}", .0.summary())]
    InvalidPolicy(DocumentDiagnostics),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("database unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<PrincipalsError> for ApiError {
    fn from(err: PrincipalsError) -> Self {
        match err {
            PrincipalsError::Store(e) => e.into(),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<AnalyticsError> for ApiError {
    fn from(err: AnalyticsError) -> Self {
        match err {
            AnalyticsError::Validation(p) => ApiError::Validation(p),
            AnalyticsError::BadRequest(m) => ApiError::BadRequest(m),
            AnalyticsError::WorkspaceNotFound => ApiError::NotFound("Workspace not found".to_owned()),
            e @ AnalyticsError::UserNotFound(_) => ApiError::NotFound(e.to_string()),
            AnalyticsError::Store(e) => e.into(),
        }
    }
}

impl From<ComplianceError> for ApiError {
    fn from(err: ComplianceError) -> Self {
        match err {
            ComplianceError::BadRequest(m) => ApiError::BadRequest(m),
            ComplianceError::NotFound(m) => ApiError::NotFound(m),
            ComplianceError::Conflict(m) => ApiError::Conflict(m),
            ComplianceError::Gone(m) => ApiError::Gone(m),
            ComplianceError::Chain(ChainError::NotFound { path }) => {
                ApiError::Gone(format!("log file is no longer in the object store ({path})"))
            }
            ComplianceError::Chain(e) => ApiError::Internal(e.to_string()),
            ComplianceError::Store(e) => e.into(),
        }
    }
}

impl From<PolicyError> for ApiError {
    fn from(err: PolicyError) -> Self {
        match err {
            PolicyError::BadRequest(m) => ApiError::BadRequest(m),
            PolicyError::Invalid(d) => ApiError::InvalidPolicy(d),
            PolicyError::NotFound(m) => ApiError::NotFound(m),
            PolicyError::Conflict(m) => ApiError::Conflict(m),
            PolicyError::Store(e) => e.into(),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(err: IdentityError) -> Self {
        match err {
            IdentityError::UnknownRole(_)
            | IdentityError::UnknownUser(_)
            | IdentityError::UnknownGroup(_)
            | IdentityError::UnknownWorkspace(_)
            | IdentityError::UnknownCredential(_) => ApiError::NotFound(err.to_string()),
            IdentityError::BuiltinRole(_) | IdentityError::RoleIsDefault(_) => {
                ApiError::Conflict(err.to_string())
            }
            IdentityError::InvalidRoleName(_)
            | IdentityError::UnknownPermission(_)
            | IdentityError::BadRequest(_) => ApiError::BadRequest(err.to_string()),
            IdentityError::Forbidden(_) => ApiError::Forbidden {
                code: "permission_denied",
                message: err.to_string(),
            },
            IdentityError::Escalation(_) => ApiError::Forbidden {
                code: "escalation_denied",
                message: err.to_string(),
            },
            IdentityError::Store(e) => e.into(),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) | ApiError::InvalidPolicy(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Ingest(e) => match e {
                IngestError::UnsupportedContentType(_) | IngestError::UnsupportedEncoding(_) => {
                    StatusCode::UNSUPPORTED_MEDIA_TYPE
                }
                IngestError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                IngestError::CorruptGzip(_)
                | IngestError::MalformedProtobuf { .. }
                | IngestError::MalformedJson { .. } => StatusCode::BAD_REQUEST,
                IngestError::QueueFull => StatusCode::SERVICE_UNAVAILABLE,
                IngestError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
                IngestError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden { code, .. } => code,
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Gone(_) => "gone",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Validation(_) => "validation_error",
            ApiError::InvalidPolicy(_) => "invalid_policy",
            ApiError::Ingest(e) => match e {
                IngestError::UnsupportedContentType(_) => "unsupported_content_type",
                IngestError::UnsupportedEncoding(_) => "unsupported_content_encoding",
                IngestError::TooLarge { .. } => "body_too_large",
                IngestError::CorruptGzip(_) => "corrupt_gzip",
                IngestError::MalformedProtobuf { .. } => "malformed_protobuf",
                IngestError::MalformedJson { .. } => "malformed_json",
                IngestError::QueueFull => "overloaded",
                IngestError::Store(_) => "storage_unavailable",
            },
            ApiError::Unavailable(_) => "storage_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// Seconds a client should wait before retrying, for retryable errors.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::Ingest(IngestError::QueueFull) => Some(1),
            ApiError::Ingest(IngestError::Store(StoreError::Unavailable(_))) | ApiError::Unavailable(_) => {
                Some(5)
            }
            _ => None,
        }
    }

    /// The message shown to clients; 5xx details stay in the server log.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) | ApiError::Ingest(IngestError::Store(_)) | ApiError::Unavailable(_) => {
                match self.retry_after() {
                    Some(_) => "storage is unavailable, retry later".to_owned(),
                    None => "internal error".to_owned(),
                }
            }
            ApiError::Ingest(IngestError::QueueFull) => {
                "server is overloaded (write queue full), retry later".to_owned()
            }
            other => other.to_string(),
        }
    }

    pub fn log(&self) {
        match self {
            ApiError::Internal(detail) | ApiError::Unavailable(detail) => {
                tracing::error!(%detail, "request failed")
            }
            ApiError::Ingest(IngestError::Store(e)) => tracing::error!(error = %e, "ingest storage failed"),
            _ => {}
        }
    }
}

/// Adds `Retry-After` (and `WWW-Authenticate` on 401) to an error response.
pub fn decorate(mut response: Response, err: &ApiError) -> Response {
    if let Some(secs) = err.retry_after() {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    if matches!(err, ApiError::Unauthenticated(_)) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let body: Value = match &self {
            ApiError::Unauthenticated(m) => json!({ "detail": m }),
            ApiError::NotFound(m) => json!({ "detail": m }),
            ApiError::Forbidden { code, message } => {
                json!({ "detail": { "code": code, "message": message } })
            }
            ApiError::Validation(problems) => json!({
                "detail": problems.iter().map(|p| json!({
                    "loc": ["query", p.field], "msg": p.msg, "type": p.kind, "input": p.input,
                })).collect::<Vec<_>>()
            }),
            ApiError::InvalidPolicy(diagnostics) => json!({
                "detail": self.public_message(), "code": self.code(), "diagnostics": diagnostics,
            }),
            other => json!({ "detail": other.public_message(), "code": other.code() }),
        };
        let response = (self.status(), axum::Json(body)).into_response();
        decorate(response, &self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overload_is_503_with_retry_after() {
        let response = ApiError::Ingest(IngestError::QueueFull).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
    }

    #[test]
    fn storage_details_stay_out_of_client_messages() {
        let err = ApiError::Internal("disk I/O error at /var/lib/secret".into());
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.public_message().contains("secret"));
    }
}
