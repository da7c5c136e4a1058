//! `GET /v1/analytics/codex/workspaces/{workspace_id}/usage`, wire-compatible with OpenAI's
//! Codex Analytics API (`../shared/spec/wire-formats.md` §1).

use axum::extract::{Path, Query, State};
use axum::Json;
use steward_core::RawUsageParams;

use crate::access::Authorized;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::{usage_row, Page};

pub async fn usage(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
    Query(params): Query<RawUsageParams>,
) -> Result<Json<Page>, ApiError> {
    page(&state, &workspace_id, &params).await.map(Json)
}

/// One page of usage rows in the wire format (also `/v1/me/usage`'s).
pub async fn page(state: &AppState, workspace_id: &str, params: &RawUsageParams) -> Result<Page, ApiError> {
    let page = state
        .usage
        .usage(workspace_id, params, crate::dashboard::now_secs())
        .await?;
    let data = page
        .rows
        .iter()
        .map(|r| usage_row(r, page.bucket_secs, page.emails_allowed))
        .collect();
    Ok(Page {
        object: "page",
        data,
        has_more: page.has_more,
        next_page: page.next_page,
    })
}
