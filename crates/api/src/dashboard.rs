//! Steward's own read API behind the dashboard (docs/dashboard.md): active users, the user
//! ranking and one person's summary, exports, and the compliance log's status. Public and
//! documented: the dashboard has no private back door, so scripts can read all of it too.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use steward_core::analytics::{Cell, Dataset, RankingParams, RankingRow, Table};
use steward_core::RawUsageParams;

use steward_core::identity::access::Caller;

use crate::access::{Authorized, SignedIn};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) fn now_secs() -> i64 {
    crate::otlp::now_ms() / 1000
}

/// `GET /v1/workspaces/{id}/analytics/active_users`: distinct users with usage per bucket,
/// over all surfaces and per surface.
pub async fn active_users(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
    Query(params): Query<RawUsageParams>,
) -> Result<Json<Value>, ApiError> {
    let page = state
        .usage
        .active_users(&workspace_id, &params, now_secs())
        .await?;
    let data: Vec<Value> = page
        .buckets
        .iter()
        .map(|b| {
            json!({
                "object": "steward.active_users.result",
                "start_time": b.start,
                "end_time": b.start + page.bucket_secs,
                "active_users": b.users,
                "clients": b.clients.iter()
                    .map(|(client, users)| json!({"client_id": client, "active_users": users}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(
        json!({"object": "list", "total_active_users": page.total, "data": data}),
    ))
}

fn ranking_row(r: &RankingRow) -> Value {
    let s = &r.sums;
    json!({
        "rank": r.rank,
        "user_id": r.user_id,
        "email": r.email,
        "name": r.name,
        "credits": s.credits(),
        "estimated_cost_usd": s.estimated_cost_usd(),
        "threads": r.threads,
        "turns": s.turns,
        "text_tokens": s.text_total_tokens(),
        "uncached_text_input_tokens": s.uncached_input_tokens(),
        "cached_text_input_tokens": s.cached_input_tokens,
        "text_output_tokens": s.output_tokens,
        "current_streak": r.current_streak,
        "active_days": r.active_days,
        "last_active": r.last_active,
    })
}

/// `GET /v1/workspaces/{id}/analytics/users`: the user ranking (filter by `client`, search
/// with `q`, `sort` by credits, threads, turns, text_tokens or streak, `limit`/`offset`).
pub async fn ranking(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
    Query(params): Query<RankingParams>,
) -> Result<Json<Value>, ApiError> {
    let page = state.usage.ranking(&workspace_id, &params, now_secs()).await?;
    Ok(Json(json!({
        "object": "list",
        "data": page.rows.iter().map(ranking_row).collect::<Vec<_>>(),
        "total": page.total,
        "offset": page.offset,
        "has_more": page.has_more,
    })))
}

/// `GET /v1/workspaces/{id}/analytics/users/{user_id}`: one person's figures over the window.
pub async fn user_summary(
    State(state): State<AppState>,
    _grant: Authorized,
    Path((workspace_id, user_id)): Path<(String, String)>,
    Query(params): Query<RawUsageParams>,
) -> Result<Json<Value>, ApiError> {
    let row = state
        .usage
        .user_summary(&workspace_id, &user_id, &params, now_secs())
        .await?;
    Ok(Json(ranking_row(&row)))
}

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    dataset: Option<String>,
    format: Option<String>,
    #[serde(flatten)]
    window: RawUsageParams,
}

/// `GET /v1/workspaces/{id}/analytics/export?dataset=...&format=csv|json`: a download.
pub async fn export(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
    Query(params): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let dataset: Dataset = params
        .dataset
        .as_deref()
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "dataset is required: one of {}",
                steward_core::analytics::DATASETS
            ))
        })?
        .parse()?;
    let csv = match params.format.as_deref().map(str::trim) {
        None | Some("") | Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format must be csv or json; got {other:?}"
            )))
        }
    };
    let table = state
        .usage
        .export(&workspace_id, dataset, &params.window, now_secs())
        .await?;
    let (body, content_type, ext) = if csv {
        (to_csv(&table)?, "text/csv; charset=utf-8", "csv")
    } else {
        (to_json(dataset, &table), "application/json", "json")
    };
    let file = format!(
        "steward-{}-{}.{ext}",
        dataset.name(),
        steward_model::time::format_date(now_secs())
    );
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

fn to_csv(table: &Table) -> Result<Vec<u8>, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::Internal(format!("writing CSV: {e}"));
    w.write_record(&table.columns).map_err(fail)?;
    for row in &table.rows {
        w.write_record(row.iter().map(|c| match c {
            Cell::Int(n) => n.to_string(),
            Cell::Num(x) => x.to_string(),
            Cell::Text(s) => s.clone(),
            Cell::Null => String::new(),
        }))
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| ApiError::Internal(format!("writing CSV: {e}")))
}

fn to_json(dataset: Dataset, table: &Table) -> Vec<u8> {
    let data: Vec<Value> = table
        .rows
        .iter()
        .map(|row| {
            let mut obj = Map::new();
            for (name, cell) in table.columns.iter().zip(row) {
                obj.insert(
                    (*name).to_owned(),
                    match cell {
                        Cell::Int(n) => json!(n),
                        Cell::Num(x) => json!(x),
                        Cell::Text(s) => json!(s),
                        Cell::Null => Value::Null,
                    },
                );
            }
            Value::Object(obj)
        })
        .collect();
    serde_json::to_vec(&json!({
        "object": "list", "dataset": dataset.name(), "columns": table.columns, "data": data,
    }))
    .unwrap_or_default()
}

/// `GET /v1/workspaces/{id}/compliance/status`: sealed files per event type, records waiting,
/// retention, sealing interval and legal holds.
pub async fn compliance_status(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let status = state.compliance.status(&workspace_id).await?;
    let config = state.compliance.config();
    let days = |d: Option<std::time::Duration>| d.map(|d| d.as_secs() / 86_400);
    let retention: Vec<Value> = steward_model::LogType::ALL
        .iter()
        .map(|t| {
            let w = config.retention.by_log_type.get(t).copied().unwrap_or_default();
            json!({"event_type": t.to_string(), "content_days": days(w.content), "metadata_days": days(w.metadata)})
        })
        .collect();
    Ok(Json(json!({
        "files": status.files.iter().map(|f| json!({
            "event_type": f.log_type.to_string(),
            "files": f.files,
            "records": f.records,
            "bytes": f.bytes,
            "content_erased": f.content_erased,
            "last_end_time": f.last_end_time.map(steward_core::compliance::format_time),
        })).collect::<Vec<_>>(),
        "pending_records": status.pending_records,
        "seal_interval_secs": config.seal_interval.as_secs(),
        "retention": retention,
        "legal_holds": status.legal_holds.iter().map(|h| json!({
            "id": h.id, "user_id": h.user_id, "scope": if h.user_id.is_some() { "user" } else { "workspace" },
            "reason": h.reason, "created_at_ms": h.created_at_ms, "created_by": h.created_by,
        })).collect::<Vec<_>>(),
    })))
}

/// `GET /v1/workspaces/{id}/compliance/verification`: checks this workspace's files and digest
/// chain now (as `steward compliance verify` does) and reports what it found.
pub async fn compliance_verification(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    // The verifier's future is not provably `Send` (a compiler limitation with its stream
    // closures), so it runs to completion on a blocking thread of its own.
    let service = state.compliance.clone();
    let handle = tokio::runtime::Handle::current();
    let report = tokio::task::spawn_blocking(move || handle.block_on(service.verify(Some(&workspace_id))))
        .await
        .map_err(|e| ApiError::Internal(format!("verification task: {e}")))??;
    Ok(Json(json!({
        "ok": report.ok,
        "files_checked": report.files_checked,
        "records_checked": report.records_checked,
        "digests_checked": report.digests_checked,
        "files_expired": report.files_expired,
        "erased_fields": report.erased_fields,
        "problems": report.problems,
        "checked_at": steward_core::compliance::format_time(crate::otlp::now_ms() * 1000),
    })))
}

/// The signed-in person's workspace and user id: only people have usage of their own.
fn person(caller: &Caller) -> Result<(String, String), ApiError> {
    match caller {
        Caller::Person { user, session, .. } => Ok((session.workspace_id.clone(), user.id.clone())),
        _ => Err(ApiError::NotFound(
            "only people signed in with SSO have usage of their own (local admins and API keys run no Codex)"
                .to_owned(),
        )),
    }
}

/// `GET /v1/me/usage`: the caller's own usage rows (the usage API's shape and parameters),
/// for everyone signed in, whatever their role: seeing one's own usage needs no analytics role.
pub async fn my_usage(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(mut params): Query<RawUsageParams>,
) -> Result<Json<crate::wire::Page>, ApiError> {
    let (workspace_id, user_id) = person(&caller)?;
    params.user_id = Some(user_id);
    params.group = None;
    crate::analytics::page(&state, &workspace_id, &params)
        .await
        .map(Json)
}

/// `GET /v1/me/usage/summary`: the caller's own figures over the window (as one ranking row).
pub async fn my_summary(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(params): Query<RawUsageParams>,
) -> Result<Json<Value>, ApiError> {
    let (workspace_id, user_id) = person(&caller)?;
    let row = state
        .usage
        .user_summary(&workspace_id, &user_id, &params, now_secs())
        .await?;
    Ok(Json(ranking_row(&row)))
}

fn figures_json(f: &steward_store::coverage::SourceFigures) -> Value {
    json!({
        "turns": f.turns,
        "responses": f.responses,
        "input_tokens": f.input_tokens,
        "cached_input_tokens": f.cached_input_tokens,
        "output_tokens": f.output_tokens,
        "reasoning_output_tokens": f.reasoning_output_tokens,
    })
}

fn sources_json(
    sources: &std::collections::BTreeMap<String, steward_store::coverage::SourceFigures>,
) -> Value {
    Value::Object(
        sources
            .iter()
            .map(|(name, f)| (name.clone(), figures_json(f)))
            .collect(),
    )
}

/// `GET /v1/workspaces/{id}/analytics/coverage`: per user and day, what each source (OTLP
/// logs, shipped rollouts, Codex's analytics events) reported next to what is counted, and
/// the threads whose sources disagree (docs/coverage.md).
pub async fn coverage(
    State(state): State<AppState>,
    _grant: Authorized,
    Path(workspace_id): Path<String>,
    Query(params): Query<RawUsageParams>,
) -> Result<Json<Value>, ApiError> {
    let report = state.usage.coverage(&workspace_id, &params, now_secs()).await?;
    let data: Vec<Value> = report
        .days
        .iter()
        .map(|row| {
            let (d, c) = (&row.day, &row.counted);
            json!({
                "object": "steward.coverage.day",
                "start_time": d.day,
                "end_time": d.day + steward_model::time::DAY_SECS,
                "user_id": d.user_id,
                "email": row.email,
                "threads": d.threads,
                "sources": sources_json(&d.sources),
                "counted": {
                    "turns": c.turns,
                    "input_tokens": c.input_tokens,
                    "cached_input_tokens": c.cached_input_tokens,
                    "output_tokens": c.output_tokens,
                    "reasoning_output_tokens": c.reasoning_output_tokens,
                },
            })
        })
        .collect();
    let disagreements: Vec<Value> = report
        .disagreements
        .iter()
        .map(|row| {
            let d = &row.disagreement;
            json!({
                "object": "steward.coverage.disagreement",
                "user_id": d.user_id,
                "email": row.email,
                "thread_id": d.thread_id,
                "first_day": d.first_day,
                "kinds": d.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                "sources": sources_json(&d.sources),
            })
        })
        .collect();
    Ok(Json(json!({
        "object": "steward.coverage_report",
        "start_time": report.start_day,
        "end_time": report.end_day,
        "data": data,
        "disagreements": disagreements,
    })))
}
