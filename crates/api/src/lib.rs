//! Steward's HTTP surface: the OTLP/HTTP receiver (`/v1/logs`, `/v1/traces`, `/v1/metrics`),
//! the Analytics API (`/v1/analytics/codex/workspaces/{id}/usage`), the Compliance API
//! (`/v1/compliance/workspaces/{id}/logs`), `/healthz` and `/metrics`.
//!
//! The only crate that knows axum. Handlers authenticate, call one service, and map the result
//! to the wire format; errors are mapped to HTTP once, in [`error`].

mod agent_policy;
mod analytics;
mod auth;
pub mod chatgpt_backend;
pub mod chatgpt_token;
mod compliance;
mod compliance_delete;
mod compliance_tasks;
pub mod error;
mod health;
mod otlp;
mod policies;
mod policy_assignment;
mod state;
mod telemetry;
mod wire;

use std::future::Future;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
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
        .merge(policy_routes())
        .merge(chatgpt_backend_routes())
        // One byte more than allowed reaches the handler, which answers 413 in OTLP's format.
        .layer(DefaultBodyLimit::max(body_limit + 1))
        .route_layer(axum::middleware::from_fn(telemetry::record_request))
        .with_state(state)
}

/// Managed policies, groups and their assignment: `/v1/workspaces/{workspace_id}/...`.
fn policy_routes() -> Router<AppState> {
    use policy_assignment as pa;
    let ws = |tail: &str| format!("/v1/workspaces/{{workspace_id}}/{tail}");
    Router::new()
        .route("/v1/agent/policy", get(agent_policy::get_policy))
        .route("/v1/agent/policy/report", post(agent_policy::report))
        .route(&ws("policies"), get(policies::list).post(policies::create))
        .route(&ws("policies/validate"), post(policies::validate))
        .route(
            &ws("policies/{name}"),
            get(policies::show).put(policies::update).delete(policies::delete),
        )
        .route(&ws("policies/{name}/revisions"), get(policies::revisions))
        .route(&ws("policies/{name}/diff"), get(policies::diff))
        .route(
            &ws("policy_assignment"),
            get(pa::get_assignment).put(pa::put_assignment),
        )
        .route(&ws("policy_lookup"), get(pa::lookup))
        .route(&ws("policy_status"), get(pa::status))
        .route(&ws("groups"), get(pa::list_groups).post(pa::create_group))
        .route(&ws("groups/{name}"), axum::routing::delete(pa::delete_group))
        .route(&ws("groups/{name}/members"), get(pa::members))
        .route(
            &ws("groups/{name}/members/{email}"),
            put(pa::add_member).delete(pa::remove_member),
        )
}

/// The ChatGPT-backend paths a Codex CLI calls under its `chatgpt_base_url`, in both path
/// styles (`/api/codex/...` for a plain base URL, `/backend-api/wham/...` for one that ends in
/// `/backend-api`).
fn chatgpt_backend_routes() -> Router<AppState> {
    use axum::routing::any;
    use chatgpt_backend as cb;
    Router::new()
        .route("/api/codex/config/bundle", get(cb::bundle))
        .route("/backend-api/wham/config/bundle", get(cb::bundle))
        .route("/api/codex/config/requirements", get(cb::requirements))
        .route("/backend-api/wham/config/requirements", get(cb::requirements))
        .route("/api/codex/{*rest}", any(cb::harmless))
        .route("/backend-api/{*rest}", any(cb::harmless))
        .route("/ps/{*rest}", any(cb::harmless))
        .route("/codex/analytics-events/events", post(cb::harmless))
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
