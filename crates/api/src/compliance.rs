//! The Compliance API, wire-compatible with OpenAI's logs platform (wire-formats §2.2–2.3):
//! `GET /v1/compliance/workspaces/{id}/logs` lists sealed files, `GET .../logs/{file_id}`
//! delivers one (307 to a signed URL where the object store has them, else streamed JSONL),
//! and `GET /v1/compliance/public_key` serves the key that signs the digest chain.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::TryStreamExt as _;
use serde::Serialize;
use serde_json::Value;
use steward_core::compliance::{format_time, Download, FileListParams};

use crate::access::Authorized;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
pub struct FileList {
    data: Vec<FileEntry>,
    has_more: bool,
    last_end_time: Option<String>,
}

#[derive(Serialize)]
struct FileEntry {
    id: String,
    event_type: &'static str,
    end_time: String,
    file_name: String,
    file_size: u64,
    file_sha256: String,
    record_count: u64,
}

pub async fn list_logs(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<FileList>, ApiError> {
    // Parsed by hand: `event_type` may repeat (`event_type=A&event_type=B`, as XSOAR sends).
    let mut params = FileListParams::default();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "event_type" => params.event_types.push(v.into_owned()),
            "after" => params.after = Some(v.into_owned()),
            "limit" => params.limit = Some(v.into_owned()),
            _ => {}
        }
    }
    let page = state.compliance.list_files(&workspace_id, &params).await?;
    Ok(Json(FileList {
        data: page
            .files
            .iter()
            .map(|f| FileEntry {
                id: f.id.clone(),
                event_type: f.log_type.as_str(),
                end_time: format_time(f.end_time),
                file_name: f.file_name.clone(),
                file_size: f.size,
                file_sha256: f.sha256.clone(),
                record_count: f.record_count,
            })
            .collect(),
        has_more: page.has_more,
        last_end_time: page.last_end_time.map(format_time),
    }))
}

pub async fn download_log(
    State(state): State<AppState>,
    _grant: Authorized,
    Path((workspace_id, file_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (file, download) = state.compliance.download(&workspace_id, &file_id).await?;
    match download {
        Download::Redirect(url) => {
            let location = HeaderValue::from_str(&url).map_err(|e| ApiError::Internal(e.to_string()))?;
            Ok((StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, location)]).into_response())
        }
        Download::Stream(object) => {
            let body = Body::from_stream(object.stream.map_err(std::io::Error::other));
            let disposition = format!("attachment; filename=\"{}\"", file.file_name);
            let mut response = Response::new(body);
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(object.size));
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            if let Ok(v) = HeaderValue::from_str(&file.sha256) {
                h.insert("x-steward-file-sha256", v);
            }
            Ok(response)
        }
    }
}

/// The public key of the digest chain (no authentication: it is public by design, so anyone
/// holding an export can verify it against the key the server publishes).
pub async fn public_key(State(state): State<AppState>) -> Json<Value> {
    Json(state.compliance.signing_key().public_key_document())
}
