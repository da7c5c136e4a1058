//! The authorization matrix: every route of the route table × every kind of caller, against a
//! real `steward serve`, asserting who gets in (any status but 401/403) and who is turned away
//! (401 without valid credentials, 403 without the permission or from another workspace).
//!
//! The expectations below are written independently of the route table and must list exactly
//! its routes: adding a route without adding its row here fails `every_route_has_an_expectation`.
//! Callers: no credentials, a forged key, a revoked and an expired admin key, one key per scope,
//! both kinds of ingest token, another workspace's admin key, and people holding each built-in
//! role (signed in with a session cookie) once sessions exist.

mod common;
mod compliance;
#[path = "common/oidc.rs"]
mod oidc;
#[path = "common/policy.rs"]
mod policy;

use std::collections::BTreeSet;

use compliance::harness::{str_field, Env, NO_AUTO_SEAL};
use policy::{key_in, send, Body};
use reqwest::Method;
use serde_json::json;

/// Who may call a route, as this test expects it (not read from the route table).
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// Anyone.
    Public,
    /// OTLP telemetry: an ingest token or an API key with scope `ingest`.
    Telemetry,
    /// The policy agent: an ingest token only.
    Agent,
    /// A Codex CLI's ChatGPT access token (none of this test's credentials is one).
    Chatgpt,
    /// An API key with scope `scim`.
    Scim,
    /// Any API key or signed-in person.
    SignedIn,
    /// Any of these permissions in the path's workspace.
    Perm(&'static [&'static str]),
}

use Rule::*;

const ANALYTICS: &[&str] = &["analytics.read"];
const COMPLIANCE: &[&str] = &["compliance.read"];
const POLICY_READ: &[&str] = &["policies.read"];
const POLICY_MANAGE: &[&str] = &["policies.manage"];
const GROUPS_READ: &[&str] = &["policies.read", "users.read"];
const GROUPS_MANAGE: &[&str] = &["policies.manage", "users.manage"];
const USERS_READ: &[&str] = &["users.read"];
const USERS_MANAGE: &[&str] = &["users.manage"];
const KEYS: &[&str] = &["keys.manage"];
const ADMIN: &[&str] = &["workspace.admin"];

const EXPECTED: &[(&str, &str, Rule)] = &[
    // The dashboard's page and files: public (the page signs in through the API it calls).
    ("GET", "/", Public),
    ("GET", "/ui/{file}", Public),
    ("GET", "/healthz", Public),
    ("GET", "/metrics", Public),
    ("POST", "/v1/logs", Telemetry),
    ("POST", "/v1/traces", Telemetry),
    ("POST", "/v1/metrics", Telemetry),
    // Shipped rollout pieces (`steward agent ship`): the same credentials as OTLP.
    ("POST", "/v1/rollouts", Telemetry),
    (
        "GET",
        "/v1/analytics/codex/workspaces/{workspace_id}/usage",
        Perm(ANALYTICS),
    ),
    // One's own usage: anyone signed in (a 404 for keys and admins, who have none).
    ("GET", "/v1/me/usage", SignedIn),
    ("GET", "/v1/me/usage/summary", SignedIn),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/analytics/active_users",
        Perm(ANALYTICS),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/analytics/users",
        Perm(ANALYTICS),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/analytics/users/{user_id}",
        Perm(ANALYTICS),
    ),
    // Which source reported what: analytics readers, like the figures it explains.
    (
        "GET",
        "/v1/workspaces/{workspace_id}/analytics/coverage",
        Perm(ANALYTICS),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/analytics/export",
        Perm(&["analytics.export"]),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/compliance/status",
        Perm(COMPLIANCE),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/compliance/verification",
        Perm(COMPLIANCE),
    ),
    (
        "GET",
        "/v1/compliance/workspaces/{workspace_id}/logs",
        Perm(COMPLIANCE),
    ),
    (
        "GET",
        "/v1/compliance/workspaces/{workspace_id}/logs/{log_file_id}",
        Perm(COMPLIANCE),
    ),
    ("GET", "/v1/compliance/public_key", Public),
    (
        "GET",
        "/v1/compliance/workspaces/{workspace_id}/codex_tasks",
        Perm(COMPLIANCE),
    ),
    (
        "GET",
        "/v1/compliance/workspaces/{workspace_id}/codex_tasks/{task_id}",
        Perm(COMPLIANCE),
    ),
    (
        "DELETE",
        "/v1/compliance/workspaces/{workspace_id}/codex_tasks/{task_id}",
        Perm(&["compliance.delete"]),
    ),
    (
        "GET",
        "/v1/compliance/workspaces/{workspace_id}/codex_environments",
        Perm(COMPLIANCE),
    ),
    (
        "GET",
        "/v1/compliance/workspaces/{workspace_id}/codex_environments/{environment_id}",
        Perm(COMPLIANCE),
    ),
    ("GET", "/v1/agent/policy", Agent),
    ("POST", "/v1/agent/policy/report", Agent),
    ("GET", "/v1/workspaces/{workspace_id}/policies", Perm(POLICY_READ)),
    (
        "POST",
        "/v1/workspaces/{workspace_id}/policies",
        Perm(POLICY_MANAGE),
    ),
    (
        "POST",
        "/v1/workspaces/{workspace_id}/policies/validate",
        Perm(POLICY_READ),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/policies/{name}",
        Perm(POLICY_READ),
    ),
    (
        "PUT",
        "/v1/workspaces/{workspace_id}/policies/{name}",
        Perm(POLICY_MANAGE),
    ),
    (
        "DELETE",
        "/v1/workspaces/{workspace_id}/policies/{name}",
        Perm(POLICY_MANAGE),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/policies/{name}/revisions",
        Perm(POLICY_READ),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/policies/{name}/diff",
        Perm(POLICY_READ),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/policy_assignment",
        Perm(POLICY_READ),
    ),
    (
        "PUT",
        "/v1/workspaces/{workspace_id}/policy_assignment",
        Perm(POLICY_MANAGE),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/policy_lookup",
        Perm(POLICY_READ),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/policy_status",
        Perm(POLICY_READ),
    ),
    ("GET", "/v1/workspaces/{workspace_id}/groups", Perm(GROUPS_READ)),
    (
        "POST",
        "/v1/workspaces/{workspace_id}/groups",
        Perm(GROUPS_MANAGE),
    ),
    (
        "DELETE",
        "/v1/workspaces/{workspace_id}/groups/{name}",
        Perm(GROUPS_MANAGE),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/groups/{name}/members",
        Perm(GROUPS_READ),
    ),
    (
        "PUT",
        "/v1/workspaces/{workspace_id}/groups/{name}/members/{email}",
        Perm(GROUPS_MANAGE),
    ),
    (
        "DELETE",
        "/v1/workspaces/{workspace_id}/groups/{name}/members/{email}",
        Perm(GROUPS_MANAGE),
    ),
    ("GET", "/api/codex/config/bundle", Chatgpt),
    ("GET", "/backend-api/wham/config/bundle", Chatgpt),
    ("GET", "/api/codex/config/requirements", Chatgpt),
    ("GET", "/backend-api/wham/config/requirements", Chatgpt),
    ("POST", "/codex/analytics-events/events", Chatgpt),
    ("GET", "/api/codex/{*rest}", Public),
    ("POST", "/api/codex/{*rest}", Public),
    ("PUT", "/api/codex/{*rest}", Public),
    ("PATCH", "/api/codex/{*rest}", Public),
    ("DELETE", "/api/codex/{*rest}", Public),
    ("GET", "/backend-api/{*rest}", Public),
    ("POST", "/backend-api/{*rest}", Public),
    ("PUT", "/backend-api/{*rest}", Public),
    ("PATCH", "/backend-api/{*rest}", Public),
    ("DELETE", "/backend-api/{*rest}", Public),
    ("GET", "/ps/{*rest}", Public),
    ("POST", "/ps/{*rest}", Public),
    ("PUT", "/ps/{*rest}", Public),
    ("PATCH", "/ps/{*rest}", Public),
    ("DELETE", "/ps/{*rest}", Public),
    ("GET", "/v1/me", SignedIn),
    ("GET", "/auth/login", Public),
    ("GET", "/auth/callback", Public),
    ("GET", "/auth/sign-in", Public),
    ("POST", "/auth/password", Public),
    ("POST", "/auth/logout", SignedIn),
    ("GET", "/v1/workspaces/{workspace_id}/roles", Perm(USERS_READ)),
    ("PUT", "/v1/workspaces/{workspace_id}/roles/{role}", Perm(ADMIN)),
    (
        "DELETE",
        "/v1/workspaces/{workspace_id}/roles/{role}",
        Perm(ADMIN),
    ),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/role_assignments",
        Perm(USERS_READ),
    ),
    (
        "PUT",
        "/v1/workspaces/{workspace_id}/roles/{role}/{kind}/{subject}",
        Perm(USERS_MANAGE),
    ),
    (
        "DELETE",
        "/v1/workspaces/{workspace_id}/roles/{role}/{kind}/{subject}",
        Perm(USERS_MANAGE),
    ),
    ("PUT", "/v1/workspaces/{workspace_id}/default_role", Perm(ADMIN)),
    ("GET", "/v1/workspaces/{workspace_id}/users", Perm(USERS_READ)),
    (
        "GET",
        "/v1/workspaces/{workspace_id}/users/{email}/permissions",
        Perm(USERS_READ),
    ),
    (
        "POST",
        "/v1/workspaces/{workspace_id}/users/{email}/deactivate",
        Perm(USERS_MANAGE),
    ),
    (
        "POST",
        "/v1/workspaces/{workspace_id}/users/{email}/activate",
        Perm(USERS_MANAGE),
    ),
    ("GET", "/v1/workspaces/{workspace_id}/keys", Perm(KEYS)),
    ("POST", "/v1/workspaces/{workspace_id}/keys", Perm(KEYS)),
    ("POST", "/v1/workspaces/{workspace_id}/tokens", Perm(KEYS)),
    ("DELETE", "/v1/workspaces/{workspace_id}/keys/{id}", Perm(KEYS)),
    // SCIM 2.0: every method of every path needs a `scim` key (unsupported methods then get
    // SCIM's own 405 from the handler).
    ("GET", "/scim/v2/Users", Scim),
    ("POST", "/scim/v2/Users", Scim),
    ("PUT", "/scim/v2/Users", Scim),
    ("PATCH", "/scim/v2/Users", Scim),
    ("DELETE", "/scim/v2/Users", Scim),
    ("GET", "/scim/v2/Groups", Scim),
    ("POST", "/scim/v2/Groups", Scim),
    ("PUT", "/scim/v2/Groups", Scim),
    ("PATCH", "/scim/v2/Groups", Scim),
    ("DELETE", "/scim/v2/Groups", Scim),
    ("GET", "/scim/v2/{resource}/{id}", Scim),
    ("POST", "/scim/v2/{resource}/{id}", Scim),
    ("PUT", "/scim/v2/{resource}/{id}", Scim),
    ("PATCH", "/scim/v2/{resource}/{id}", Scim),
    ("DELETE", "/scim/v2/{resource}/{id}", Scim),
    ("GET", "/scim/v2/ServiceProviderConfig", Scim),
    ("POST", "/scim/v2/ServiceProviderConfig", Scim),
    ("PUT", "/scim/v2/ServiceProviderConfig", Scim),
    ("PATCH", "/scim/v2/ServiceProviderConfig", Scim),
    ("DELETE", "/scim/v2/ServiceProviderConfig", Scim),
    ("GET", "/scim/v2/ResourceTypes", Scim),
    ("POST", "/scim/v2/ResourceTypes", Scim),
    ("PUT", "/scim/v2/ResourceTypes", Scim),
    ("PATCH", "/scim/v2/ResourceTypes", Scim),
    ("DELETE", "/scim/v2/ResourceTypes", Scim),
    ("GET", "/scim/v2/ResourceTypes/{id}", Scim),
    ("POST", "/scim/v2/ResourceTypes/{id}", Scim),
    ("PUT", "/scim/v2/ResourceTypes/{id}", Scim),
    ("PATCH", "/scim/v2/ResourceTypes/{id}", Scim),
    ("DELETE", "/scim/v2/ResourceTypes/{id}", Scim),
    ("GET", "/scim/v2/Schemas", Scim),
    ("POST", "/scim/v2/Schemas", Scim),
    ("PUT", "/scim/v2/Schemas", Scim),
    ("PATCH", "/scim/v2/Schemas", Scim),
    ("DELETE", "/scim/v2/Schemas", Scim),
    ("GET", "/scim/v2/Schemas/{id}", Scim),
    ("POST", "/scim/v2/Schemas/{id}", Scim),
    ("PUT", "/scim/v2/Schemas/{id}", Scim),
    ("PATCH", "/scim/v2/Schemas/{id}", Scim),
    ("DELETE", "/scim/v2/Schemas/{id}", Scim),
    ("GET", "/scim/v2/.search", Scim),
    ("POST", "/scim/v2/.search", Scim),
    ("PUT", "/scim/v2/.search", Scim),
    ("PATCH", "/scim/v2/.search", Scim),
    ("DELETE", "/scim/v2/.search", Scim),
    ("GET", "/scim/v2", Scim),
    ("POST", "/scim/v2", Scim),
    ("PUT", "/scim/v2", Scim),
    ("PATCH", "/scim/v2", Scim),
    ("DELETE", "/scim/v2", Scim),
    ("GET", "/scim/v2/{unknown}", Scim),
    ("POST", "/scim/v2/{unknown}", Scim),
    ("PUT", "/scim/v2/{unknown}", Scim),
    ("PATCH", "/scim/v2/{unknown}", Scim),
    ("DELETE", "/scim/v2/{unknown}", Scim),
];

/// The permissions each key scope grants (the documented table in docs/identity.md).
fn scope_permissions(scope: &str) -> &'static [&'static str] {
    match scope {
        "codex.enterprise.analytics.read" => &["analytics.read", "analytics.export"],
        "compliance.read" => &["compliance.read"],
        "compliance.delete" => &["compliance.delete"],
        "policies.read" => &["policies.read"],
        "policies.manage" => &["policies.read", "policies.manage"],
        "admin" => &[
            "analytics.read",
            "analytics.export",
            "compliance.read",
            "compliance.delete",
            "policies.read",
            "policies.manage",
            "users.read",
            "users.manage",
            "keys.manage",
            "budgets.manage",
            "workspace.admin",
        ],
        "ingest" | "scim" => &[],
        other => panic!("scope {other} has no row in scope_permissions"),
    }
}

const SCOPES: &[&str] = &[
    "codex.enterprise.analytics.read",
    "compliance.read",
    "compliance.delete",
    "policies.read",
    "policies.manage",
    "ingest",
    "admin",
    "scim",
];

/// A caller of the matrix.
#[derive(Debug, Clone)]
enum Who {
    Nobody,
    /// A well-formed key that was never issued.
    Forged,
    Revoked,
    Expired,
    Key {
        scope: &'static str,
    },
    UserToken,
    WorkspaceToken,
    /// An admin key of another workspace.
    OtherWorkspace,
    /// A person signed in through SSO holding one built-in role.
    Person {
        role: &'static str,
    },
}

/// The built-in roles as docs/identity.md documents them (not read from the code).
fn role_permissions(role: &str) -> &'static [&'static str] {
    match role {
        "workspace_owner" => scope_permissions("admin"),
        "security_owner" => &[
            "policies.read",
            "policies.manage",
            "compliance.read",
            "compliance.delete",
            "users.read",
            "analytics.read",
        ],
        "analytics_owner" => &[
            "analytics.read",
            "analytics.export",
            "compliance.read",
            "keys.manage",
        ],
        "codex_admin" => &["analytics.read", "policies.read", "policies.manage"],
        "member" => &[],
        other => panic!("role {other} has no row in role_permissions"),
    }
}

const ROLES: &[&str] = &[
    "workspace_owner",
    "security_owner",
    "analytics_owner",
    "codex_admin",
    "member",
];

struct Caller {
    who: Who,
    bearer: Option<String>,
}

/// What should happen: `Ok(())` the caller gets past authorization; `Err(statuses)` it is
/// turned away with one of these.
fn expected(rule: Rule, who: &Who) -> Result<(), &'static [u16]> {
    let invalid = matches!(who, Who::Nobody | Who::Forged | Who::Revoked | Who::Expired);
    match rule {
        Public => Ok(()),
        _ if invalid => Err(&[401]),
        Telemetry | Agent | Chatgpt | Scim if matches!(who, Who::Person { .. }) => Err(&[401]),
        Telemetry => match who {
            Who::UserToken | Who::WorkspaceToken | Who::Key { scope: "ingest" } => Ok(()),
            _ => Err(&[403]),
        },
        Agent => match who {
            Who::UserToken | Who::WorkspaceToken => Ok(()),
            _ => Err(&[403]),
        },
        // Not a ChatGPT token; with no verifier configured every bundle request is a 401.
        Chatgpt => Err(&[401]),
        Scim => match who {
            Who::Key { scope: "scim" } => Ok(()),
            _ => Err(&[401, 403]),
        },
        SignedIn => match who {
            Who::Key { .. } | Who::OtherWorkspace | Who::Person { .. } => Ok(()),
            _ => Err(&[403]),
        },
        Perm(any_of) => match who {
            Who::Key { scope } if any_of.iter().any(|p| scope_permissions(scope).contains(p)) => Ok(()),
            Who::Person { role } if any_of.iter().any(|p| role_permissions(role).contains(p)) => Ok(()),
            _ => Err(&[403]),
        },
    }
}

fn concrete(path: &str, ws: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{workspace_id}" => ws.to_owned(),
            "{email}" | "{subject}" => "nobody@example.com".to_owned(),
            "{kind}" => "users".to_owned(),
            "{file}" => "app.js".to_owned(),
            "{role}" => "matrix-none".to_owned(),
            s if s.starts_with("{*") => "matrix/probe".to_owned(),
            s if s.starts_with('{') => "matrix-none".to_owned(),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_route_has_an_expectation() {
    let table: BTreeSet<(String, String)> = steward_api::route_rules()
        .into_iter()
        .map(|(m, p, _)| (m.to_string(), p.to_owned()))
        .collect();
    let expected: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let missing: Vec<_> = table.difference(&expected).collect();
    let stale: Vec<_> = expected.difference(&table).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without an expectation in authz_matrix.rs: {missing:?}; expectations without a route: {stale:?}"
    );
    assert_eq!(EXPECTED.len(), table.len(), "duplicate rows in EXPECTED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_admits_exactly_the_callers_it_should() {
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    let ws = env.ws.clone();
    let other_ws = {
        let store = steward_store_sqlite::SqliteStore::open(&env.data_dir().join("steward.db"))
            .await
            .expect("open the server's database");
        steward_store::Store::create_workspace(&store, "Other")
            .await
            .expect("second workspace")
            .id
    };
    env.cli_json(&["users", "add", "matrix-user@example.com"]);
    let mut callers = vec![
        Caller {
            who: Who::Nobody,
            bearer: None,
        },
        Caller {
            who: Who::Forged,
            bearer: Some(format!("stw_ak_{}", "x".repeat(40))),
        },
    ];
    for scope in SCOPES {
        callers.push(Caller {
            who: Who::Key { scope },
            bearer: Some(key_in(&env, &[scope], &format!("matrix {scope}"), &[])),
        });
    }
    let admin = key_in(&env, &["admin"], "matrix admin", &[]);
    let revoked = env.cli_json(&["keys", "create", "--scope", "admin", "--name", "revoked"]);
    env.cli_json(&["keys", "revoke", &str_field(&revoked, "id")]);
    callers.push(Caller {
        who: Who::Revoked,
        bearer: Some(str_field(&revoked, "key")),
    });
    // An admin key that expires 1.5 s from now, issued over HTTP.
    let expiring = send(
        &env,
        Method::POST,
        &format!("/v1/workspaces/{ws}/keys"),
        Some(&admin),
        Some(Body::Json(json!({
            "scopes": ["admin"], "name": "expiring",
            "expires_at_ms": common::now_ms() + 1_500,
        }))),
    )
    .await;
    assert_eq!(expiring.status, 201, "{}", expiring.text());
    callers.push(Caller {
        who: Who::Expired,
        bearer: Some(str_field(&expiring.json(), "secret")),
    });
    let user_token = env.cli_json(&["tokens", "create", "--user", "matrix-user@example.com"]);
    callers.push(Caller {
        who: Who::UserToken,
        bearer: Some(str_field(&user_token, "token")),
    });
    let ws_token = env.cli_json(&["tokens", "create", "--workspace"]);
    callers.push(Caller {
        who: Who::WorkspaceToken,
        bearer: Some(str_field(&ws_token, "token")),
    });
    callers.push(Caller {
        who: Who::OtherWorkspace,
        bearer: Some(key_in(
            &env,
            &["admin"],
            "other admin",
            &["--workspace-id", &other_ws],
        )),
    });
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;

    let mut failures = Vec::new();
    let mut checked = 0;
    for (method, pattern, rule) in EXPECTED {
        let path = concrete(pattern, &ws);
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        for caller in &callers {
            let body =
                matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| Body::Json(json!({})));
            let reply = send(&env, method.clone(), &path, caller.bearer.as_deref(), body).await;
            checked += 1;
            let status = reply.status;
            let ok = match expected(*rule, &caller.who) {
                Ok(()) => !matches!(status, 401 | 403) && status < 500,
                Err(allowed) => allowed.contains(&status),
            };
            if !ok {
                failures.push(format!(
                    "{method} {path} as {:?}: got {status}, expected {:?}: {}",
                    caller.who,
                    expected(*rule, &caller.who),
                    reply.text().chars().take(160).collect::<String>()
                ));
            }
        }
        // Workspace isolation: another workspace's admin key on this workspace's paths.
        if let Perm(_) = rule {
            let other = callers
                .iter()
                .find(|c| matches!(c.who, Who::OtherWorkspace))
                .expect("other-workspace caller");
            let body =
                matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| Body::Json(json!({})));
            let reply = send(&env, method.clone(), &path, other.bearer.as_deref(), body).await;
            let code = reply.json()["detail"]["code"].clone();
            if reply.status != 403 || code != "workspace_mismatch" {
                failures.push(format!(
                    "{method} {path} with another workspace's admin key: {} {}",
                    reply.status,
                    reply.text()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("authorization matrix: {checked} route x caller checks passed");
}

/// A request with a session cookie, and the CSRF header on unsafe methods.
async fn send_as_person(base: &str, method: Method, path: &str, session: &oidc::Session) -> (u16, String) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut rb = http
        .request(method.clone(), format!("{base}{path}"))
        .header("cookie", &session.cookie);
    if matches!(
        method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        rb = rb.header("x-csrf-token", &session.csrf).json(&json!({}));
    }
    let resp = rb.send().await.expect("request reaches steward");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_admits_people_by_their_roles() {
    let scripts = oidc::script_dir(&oidc::node_modules());
    let idp_port = steward_test_support::steward::free_port().expect("port");
    let port = steward_test_support::steward::free_port().expect("port");
    let base = format!("http://127.0.0.1:{port}");
    let redirect = format!("{base}/auth/callback");
    let _provider = oidc::start_provider(scripts.path(), idp_port, &redirect);
    let data = tempfile::tempdir().expect("data dir");
    let (_server, _log) = oidc::start_steward(
        data.path(),
        port,
        &format!("http://127.0.0.1:{idp_port}"),
        &redirect,
        &[NO_AUTO_SEAL],
    )
    .await;
    let dir = data.path().display().to_string();
    let cli = |args: &[&str]| {
        steward_test_support::steward::run_admin(&common::steward_bin(), &["--data-dir", &dir], args)
            .expect("steward admin command")
    };
    let ws = str_field(&cli(&["workspaces", "list"])[0], "id");
    let other_ws = str_field(&cli(&["workspaces", "create", "Other"]), "id");
    let mut people = Vec::new();
    for role in ROLES {
        let login = role.replace('_', "-");
        let email = format!("{login}@example.com");
        cli(&["users", "add", &email]);
        // `member` is what the default role gives; the others are assigned explicitly.
        if *role != "member" {
            cli(&["roles", "assign", role, "--user", &email]);
        }
        let effective = cli(&["users", "permissions", &email]);
        let mut held: Vec<&str> = effective["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .collect();
        let mut documented = role_permissions(role).to_vec();
        held.sort_unstable();
        documented.sort_unstable();
        assert_eq!(held, documented, "{role}: {effective}");
        people.push((Who::Person { role }, oidc::sign_in(&base, &login).await));
    }

    let mut failures = Vec::new();
    let mut checked = 0;
    for (method, pattern, rule) in EXPECTED {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        // Signing out would end the session the next rows need; it is checked last.
        if pattern == &"/auth/logout" {
            continue;
        }
        for (who, session) in &people {
            let path = concrete(pattern, &ws);
            let (status, text) = send_as_person(&base, method.clone(), &path, session).await;
            checked += 1;
            let ok = match expected(*rule, who) {
                Ok(()) => !matches!(status, 401 | 403) && status < 500,
                Err(allowed) => allowed.contains(&status),
            };
            if !ok {
                failures.push(format!(
                    "{method} {path} as {who:?}: got {status}, expected {:?}: {}",
                    expected(*rule, who),
                    text.chars().take(160).collect::<String>()
                ));
            }
            // A person's session is bound to their workspace.
            if let (
                Perm(_),
                Who::Person {
                    role: "workspace_owner",
                },
            ) = (rule, who)
            {
                let path = concrete(pattern, &other_ws);
                let (status, text) = send_as_person(&base, method.clone(), &path, session).await;
                if status != 403 || !text.contains("workspace_mismatch") {
                    failures.push(format!(
                        "{method} {path} (another workspace) as {who:?}: {status} {text}"
                    ));
                }
            }
        }
    }
    for (who, session) in &people {
        let (status, text) = send_as_person(&base, Method::POST, "/auth/logout", session).await;
        if matches!(status, 401 | 403) || status >= 500 {
            failures.push(format!("POST /auth/logout as {who:?}: {status} {text}"));
        }
        let (after, _) = send_as_person(&base, Method::GET, "/v1/me", session).await;
        if after != 401 {
            failures.push(format!("GET /v1/me after logout as {who:?}: {after}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("authorization matrix (people): {checked} route x role checks passed");
}
