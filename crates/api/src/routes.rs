//! The route table: every route of the public API with the access it needs. The router is
//! built from it (so no route exists without a rule) and the authorization matrix test
//! (`crates/cli/tests/authz_matrix.rs`) walks it.

use axum::http::Method;
use axum::routing::{self, MethodRouter};
use steward_model::Permission::{self, *};

use crate::access::Access::{self, *};
use crate::state::AppState;
use crate::{
    agent_policy, analytics, chatgpt_backend as cb, compliance, compliance_delete, compliance_tasks,
    dashboard, health, otlp, policies, policy_assignment as pa, rollouts, web,
};

/// One route: method, axum path pattern, who may call it, and its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub handler: MethodRouter<AppState>,
}

/// A path whose one handler answers several methods itself (SCIM: its own 405 bodies).
pub struct Mount {
    pub path: &'static str,
    pub methods: &'static [Method],
    pub access: Access,
    pub handler: MethodRouter<AppState>,
}

/// Every route with its methods and rule, mounts included: what the access layer enforces.
pub fn rules() -> Vec<(Method, &'static str, Access)> {
    let mut rules: Vec<_> = table()
        .into_iter()
        .map(|r| (r.method, r.path, r.access))
        .collect();
    for m in mounts() {
        rules.extend(m.methods.iter().map(|method| (method.clone(), m.path, m.access)));
    }
    rules
}

/// The mounted paths: SCIM 2.0 (`/scim/v2/...`, docs/scim.md).
pub fn mounts() -> Vec<Mount> {
    crate::scim::mounts()
}

const POLICIES_READ: &[Permission] = &[PoliciesRead];
const POLICIES_MANAGE: &[Permission] = &[PoliciesManage];
/// Groups serve policy assignment and role assignment: either kind of admin manages them.
const GROUPS_READ: &[Permission] = &[PoliciesRead, UsersRead];
const GROUPS_MANAGE: &[Permission] = &[PoliciesManage, UsersManage];
const COMPLIANCE_READ: &[Permission] = &[ComplianceRead];

fn r(method: Method, path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        access,
        handler,
    }
}

/// Every route. Paths with `{workspace_id}` are checked against that workspace.
pub fn table() -> Vec<Route> {
    use routing::{delete, get, post, put};
    use Method as M;
    let mut t = vec![
        r(M::GET, "/", Public, get(web::index)),
        r(M::GET, "/ui/{file}", Public, get(web::file)),
        r(M::GET, "/healthz", Public, get(health::healthz)),
        r(M::GET, "/metrics", Public, get(health::metrics)),
        r(M::POST, "/v1/logs", IngestToken, post(otlp::logs)),
        r(M::POST, "/v1/traces", IngestToken, post(otlp::traces)),
        r(M::POST, "/v1/metrics", IngestToken, post(otlp::metrics)),
        // Shipped Codex session rollouts (`steward agent ship`, docs/rollouts.md).
        r(M::POST, "/v1/rollouts", IngestToken, post(rollouts::post_piece)),
        r(
            M::GET,
            "/v1/analytics/codex/workspaces/{workspace_id}/usage",
            Workspace(&[AnalyticsRead]),
            get(analytics::usage),
        ),
        r(M::GET, "/v1/me/usage", SignedIn, get(dashboard::my_usage)),
        r(
            M::GET,
            "/v1/me/usage/summary",
            SignedIn,
            get(dashboard::my_summary),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/analytics/active_users",
            Workspace(&[AnalyticsRead]),
            get(dashboard::active_users),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/analytics/users",
            Workspace(&[AnalyticsRead]),
            get(dashboard::ranking),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/analytics/users/{user_id}",
            Workspace(&[AnalyticsRead]),
            get(dashboard::user_summary),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/analytics/coverage",
            Workspace(&[AnalyticsRead]),
            get(dashboard::coverage),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/analytics/export",
            Workspace(&[AnalyticsExport]),
            get(dashboard::export),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/compliance/status",
            Workspace(COMPLIANCE_READ),
            get(dashboard::compliance_status),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/compliance/verification",
            Workspace(COMPLIANCE_READ),
            get(dashboard::compliance_verification),
        ),
        r(
            M::GET,
            "/v1/compliance/workspaces/{workspace_id}/logs",
            Workspace(COMPLIANCE_READ),
            get(compliance::list_logs),
        ),
        r(
            M::GET,
            "/v1/compliance/workspaces/{workspace_id}/logs/{log_file_id}",
            Workspace(COMPLIANCE_READ),
            get(compliance::download_log),
        ),
        r(
            M::GET,
            "/v1/compliance/public_key",
            Public,
            get(compliance::public_key),
        ),
        r(
            M::GET,
            "/v1/compliance/workspaces/{workspace_id}/codex_tasks",
            Workspace(COMPLIANCE_READ),
            get(compliance_tasks::list_tasks),
        ),
        r(
            M::GET,
            "/v1/compliance/workspaces/{workspace_id}/codex_tasks/{task_id}",
            Workspace(COMPLIANCE_READ),
            get(compliance_tasks::get_task),
        ),
        r(
            M::DELETE,
            "/v1/compliance/workspaces/{workspace_id}/codex_tasks/{task_id}",
            Workspace(&[ComplianceDelete]),
            delete(compliance_delete::delete_codex_task),
        ),
        r(
            M::GET,
            "/v1/compliance/workspaces/{workspace_id}/codex_environments",
            Workspace(COMPLIANCE_READ),
            get(compliance_tasks::list_environments),
        ),
        r(
            M::GET,
            "/v1/compliance/workspaces/{workspace_id}/codex_environments/{environment_id}",
            Workspace(COMPLIANCE_READ),
            get(compliance_tasks::get_environment),
        ),
        // Managed policies (docs/policies.md).
        r(
            M::GET,
            "/v1/agent/policy",
            IngestToken,
            get(agent_policy::get_policy),
        ),
        r(
            M::POST,
            "/v1/agent/policy/report",
            IngestToken,
            post(agent_policy::report),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/policies",
            Workspace(POLICIES_READ),
            get(policies::list),
        ),
        r(
            M::POST,
            "/v1/workspaces/{workspace_id}/policies",
            Workspace(POLICIES_MANAGE),
            post(policies::create),
        ),
        r(
            M::POST,
            "/v1/workspaces/{workspace_id}/policies/validate",
            Workspace(POLICIES_READ),
            post(policies::validate),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/policies/{name}",
            Workspace(POLICIES_READ),
            get(policies::show),
        ),
        r(
            M::PUT,
            "/v1/workspaces/{workspace_id}/policies/{name}",
            Workspace(POLICIES_MANAGE),
            put(policies::update),
        ),
        r(
            M::DELETE,
            "/v1/workspaces/{workspace_id}/policies/{name}",
            Workspace(POLICIES_MANAGE),
            delete(policies::delete),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/policies/{name}/revisions",
            Workspace(POLICIES_READ),
            get(policies::revisions),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/policies/{name}/diff",
            Workspace(POLICIES_READ),
            get(policies::diff),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/policy_assignment",
            Workspace(POLICIES_READ),
            get(pa::get_assignment),
        ),
        r(
            M::PUT,
            "/v1/workspaces/{workspace_id}/policy_assignment",
            Workspace(POLICIES_MANAGE),
            put(pa::put_assignment),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/policy_lookup",
            Workspace(POLICIES_READ),
            get(pa::lookup),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/policy_status",
            Workspace(POLICIES_READ),
            get(pa::status),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/groups",
            Workspace(GROUPS_READ),
            get(pa::list_groups),
        ),
        r(
            M::POST,
            "/v1/workspaces/{workspace_id}/groups",
            Workspace(GROUPS_MANAGE),
            post(pa::create_group),
        ),
        r(
            M::DELETE,
            "/v1/workspaces/{workspace_id}/groups/{name}",
            Workspace(GROUPS_MANAGE),
            delete(pa::delete_group),
        ),
        r(
            M::GET,
            "/v1/workspaces/{workspace_id}/groups/{name}/members",
            Workspace(GROUPS_READ),
            get(pa::members),
        ),
        r(
            M::PUT,
            "/v1/workspaces/{workspace_id}/groups/{name}/members/{email}",
            Workspace(GROUPS_MANAGE),
            put(pa::add_member),
        ),
        r(
            M::DELETE,
            "/v1/workspaces/{workspace_id}/groups/{name}/members/{email}",
            Workspace(GROUPS_MANAGE),
            delete(pa::remove_member),
        ),
        // Steward as a Codex CLI's ChatGPT backend, in both path styles (`/api/codex/...` for a
        // plain base URL, `/backend-api/wham/...` for one that ends in `/backend-api`).
        r(M::GET, "/api/codex/config/bundle", ChatgptToken, get(cb::bundle)),
        r(
            M::GET,
            "/backend-api/wham/config/bundle",
            ChatgptToken,
            get(cb::bundle),
        ),
        r(
            M::GET,
            "/api/codex/config/requirements",
            ChatgptToken,
            get(cb::requirements),
        ),
        r(
            M::GET,
            "/backend-api/wham/config/requirements",
            ChatgptToken,
            get(cb::requirements),
        ),
        // Codex's product analytics: a source of turns and tokens (docs/analytics-events.md).
        r(
            M::POST,
            "/codex/analytics-events/events",
            ChatgptToken,
            post(crate::analytics_events::post_events),
        ),
    ];
    // The CLI's other ChatGPT-backend calls (plugins, settings, MCP) get a harmless `{}`
    // whatever the method, without reading or storing anything.
    for path in ["/api/codex/{*rest}", "/backend-api/{*rest}", "/ps/{*rest}"] {
        for method in [M::GET, M::POST, M::PUT, M::PATCH, M::DELETE] {
            let filter = routing::MethodFilter::try_from(method.clone()).expect("a standard method");
            t.push(r(method, path, Public, routing::on(filter, cb::harmless)));
        }
    }
    t.extend(crate::identity_routes::table());
    t.extend(crate::sso::table());
    t
}
