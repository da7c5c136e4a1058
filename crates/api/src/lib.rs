//! Steward's HTTP surface: the OTLP/HTTP receiver (`/v1/logs`, `/v1/traces`, `/v1/metrics`),
//! the Analytics API (`/v1/analytics/codex/workspaces/{id}/usage`), the Compliance API
//! (`/v1/compliance/workspaces/{id}/logs`), `/healthz` and `/metrics`.
//!
//! The only crate that knows axum. Handlers authenticate, call one service, and map the result
//! to the wire format; errors are mapped to HTTP once, in [`error`].

mod analytics;
mod auth;
mod compliance;
mod compliance_delete;
mod compliance_tasks;
pub mod error;
mod health;
mod otlp;
mod state;
mod telemetry;
mod wire;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

pub use state::{ApiLimits, AppState};
pub use telemetry::install_metrics_recorder;

/// Builds the router with every route of the public API.
pub fn router(state: AppState) -> Router {
    let body_limit = state.limits.max_body_bytes;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/v1/logs", post(otlp::logs))
        .route("/v1/traces", post(otlp::traces))
        .route("/v1/metrics", post(otlp::metrics))
        .route(
            "/v1/analytics/codex/workspaces/{workspace_id}/usage",
            get(analytics::usage),
        )
        .route(
            "/v1/compliance/workspaces/{workspace_id}/logs",
            get(compliance::list_logs),
        )
        .route(
            "/v1/compliance/workspaces/{workspace_id}/logs/{log_file_id}",
            get(compliance::download_log),
        )
        .route("/v1/compliance/public_key", get(compliance::public_key))
        .route(
            "/v1/compliance/workspaces/{workspace_id}/codex_tasks",
            get(compliance_tasks::list_tasks),
        )
        .route(
            "/v1/compliance/workspaces/{workspace_id}/codex_tasks/{task_id}",
            get(compliance_tasks::get_task).delete(compliance_delete::delete_codex_task),
        )
        .route(
            "/v1/compliance/workspaces/{workspace_id}/codex_environments",
            get(compliance_tasks::list_environments),
        )
        .route(
            "/v1/compliance/workspaces/{workspace_id}/codex_environments/{environment_id}",
            get(compliance_tasks::get_environment),
        )
        // One byte more than allowed reaches the handler, which answers 413 in OTLP's format.
        .layer(DefaultBodyLimit::max(body_limit + 1))
        .route_layer(axum::middleware::from_fn(telemetry::record_request))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
