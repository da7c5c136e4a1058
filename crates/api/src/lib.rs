//! Steward's HTTP surface: the OTLP/HTTP receiver (`/v1/logs`, `/v1/traces`, `/v1/metrics`),
//! the Analytics API (`/v1/analytics/codex/workspaces/{id}/usage`), the Compliance API
//! (`/v1/compliance/workspaces/{id}/logs`), `/healthz` and `/metrics`.
//!
//! The only crate that knows axum. Handlers authenticate, call one service, and map the result
//! to the wire format; errors are mapped to HTTP once, in [`error`].

pub mod access;
mod agent_policy;
mod analytics;
mod analytics_events;
mod auth;
pub mod chatgpt_backend;
pub mod chatgpt_token;
mod compliance;
mod compliance_delete;
mod compliance_tasks;
mod dashboard;
pub mod error;
mod health;
mod identity_routes;
mod otlp;
mod policies;
mod policy_assignment;
mod rollouts;
mod routes;
pub mod scim;
mod session;
mod sso;
mod state;
mod telemetry;
mod web;
mod wire;

use std::future::Future;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::net::TcpListener;

pub use sso::SignIn;
pub use state::{ApiLimits, AppState};
pub use telemetry::install_metrics_recorder;

/// Builds the router from the route table: every route with its access rule, enforced by
/// [`access::enforce`] before the handler runs.
pub fn router(state: AppState) -> Router {
    let body_limit = state.limits.max_body_bytes;
    let rules = Arc::new(access::AccessRules::new(routes::rules()));
    let mut router = Router::new();
    for route in routes::table() {
        router = router.route(route.path, route.handler);
    }
    for mount in routes::mounts() {
        router = router.route(mount.path, mount.handler);
    }
    router
        // One byte more than allowed reaches the handler, which answers 413 in OTLP's format.
        .layer(DefaultBodyLimit::max(body_limit + 1))
        .route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), rules),
            access::enforce,
        ))
        .route_layer(axum::middleware::from_fn(telemetry::record_request))
        .with_state(state)
}

/// Every route's method, path and access rule (for the authorization matrix test).
pub fn route_rules() -> Vec<(axum::http::Method, &'static str, access::Access)> {
    routes::rules()
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
