//! Helpers for the managed-policy tests (`policy_http.rs`, `policy_lookup.rs`): a server with a
//! `policies.manage` and a `policies.read` key, raw HTTP calls with any method and body, and
//! the policy API's paths. Included with `#[path = "common/policy.rs"]`; it builds on the
//! compliance harness (`compliance::harness::Env`), which tests include as `mod compliance`.

#![allow(dead_code)]

use reqwest::Method;
use serde_json::{json, Value};

use crate::compliance::harness::{str_field, Env, Reply, NO_AUTO_SEAL};

/// A request body: JSON, or raw bytes with an optional content type.
pub enum Body {
    Json(Value),
    Raw {
        content_type: Option<&'static str>,
        bytes: Vec<u8>,
    },
}

/// A server (sealing only on `steward compliance seal`) with keys for the policy API.
pub struct PolicyEnv {
    pub env: Env,
    /// `policies.manage`.
    pub manage: String,
    /// `policies.read` only.
    pub read: String,
}

impl PolicyEnv {
    pub async fn start() -> PolicyEnv {
        let env = Env::start(&[NO_AUTO_SEAL]).await;
        let manage = key(&env, &["policies.manage"], "policy-admin");
        let read = key(&env, &["policies.read"], "policy-reader");
        PolicyEnv { env, manage, read }
    }

    pub fn ws(&self) -> &str {
        &self.env.ws
    }

    /// `/v1/workspaces/{ws}/{tail}`.
    pub fn path(&self, tail: &str) -> String {
        ws_path(&self.env.ws, tail)
    }

    pub async fn send(&self, method: Method, path: &str, bearer: Option<&str>, body: Option<Body>) -> Reply {
        send(&self.env, method, path, bearer, body).await
    }

    /// GET `tail` (under the workspace) with the manage key.
    pub async fn get(&self, tail: &str) -> Reply {
        self.send(Method::GET, &self.path(tail), Some(&self.manage), None)
            .await
    }

    /// GET `tail` with the manage key; must be 200.
    pub async fn get_ok(&self, tail: &str) -> Value {
        let r = self.get(tail).await;
        assert_eq!(r.status, 200, "GET {tail}: {}", r.text());
        r.json()
    }

    /// A JSON request to `tail` with the manage key.
    pub async fn call(&self, method: Method, tail: &str, body: Value) -> Reply {
        self.send(
            method,
            &self.path(tail),
            Some(&self.manage),
            Some(Body::Json(body)),
        )
        .await
    }

    /// POST /policies; must be 201.
    pub async fn create_policy(&self, name: &str, requirements: &str, managed_config: &str) -> Value {
        let r = self
            .call(
                Method::POST,
                "policies",
                json!({ "name": name, "requirements_toml": requirements,
                        "managed_config_toml": managed_config }),
            )
            .await;
        assert_eq!(r.status, 201, "create {name}: {}", r.text());
        r.json()
    }

    /// POST /groups; must be 201.
    pub async fn create_group(&self, name: &str) -> Value {
        let r = self.call(Method::POST, "groups", json!({ "name": name })).await;
        assert_eq!(r.status, 201, "create group {name}: {}", r.text());
        r.json()
    }

    /// PUT /groups/{group}/members/{email}; must be 200 and change something.
    pub async fn add_member(&self, group: &str, email: &str) {
        let r = self
            .send(
                Method::PUT,
                &self.path(&format!("groups/{group}/members/{email}")),
                Some(&self.manage),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "add {email} to {group}: {}", r.text());
        assert_eq!(
            r.json(),
            json!({ "group": group, "email": email, "member": true, "changed": true })
        );
    }

    /// PUT /policy_assignment (optionally `?dry_run=true`).
    pub async fn assign(
        &self,
        rules: &[(&str, &str)],
        default: Option<&str>,
        based_on: Option<i64>,
        dry_run: bool,
    ) -> Reply {
        let tail = if dry_run {
            "policy_assignment?dry_run=true"
        } else {
            "policy_assignment"
        };
        self.call(Method::PUT, tail, assignment_body(rules, default, based_on))
            .await
    }

    /// PUT /policy_assignment; must be 200.
    pub async fn assign_ok(
        &self,
        rules: &[(&str, &str)],
        default: Option<&str>,
        based_on: Option<i64>,
        dry_run: bool,
    ) -> Value {
        let r = self.assign(rules, default, based_on, dry_run).await;
        assert_eq!(
            r.status,
            200,
            "assign {rules:?} default {default:?}: {}",
            r.text()
        );
        r.json()
    }

    /// `GET /policies` names, in the listed order.
    pub async fn policy_names(&self) -> Vec<String> {
        data(&self.get_ok("policies").await)
            .iter()
            .map(|p| str_field(p, "name"))
            .collect()
    }

    /// `GET /policy_assignment`.
    pub async fn assignment(&self) -> Value {
        self.get_ok("policy_assignment").await
    }
}

/// The JSON of an assignment.
pub fn assignment_body(rules: &[(&str, &str)], default: Option<&str>, based_on: Option<i64>) -> Value {
    json!({
        "rules": rules.iter().map(|(g, p)| json!({ "group": g, "policy": p })).collect::<Vec<_>>(),
        "default_policy": default,
        "based_on_version": based_on,
    })
}

/// `/v1/workspaces/{ws}/{tail}`.
pub fn ws_path(ws: &str, tail: &str) -> String {
    format!("/v1/workspaces/{ws}/{tail}")
}

/// An API key of `env`'s workspace (or another, with `--workspace-id` in `extra`).
pub fn key(env: &Env, scopes: &[&str], name: &str) -> String {
    key_in(env, scopes, name, &[])
}

pub fn key_in(env: &Env, scopes: &[&str], name: &str, extra: &[&str]) -> String {
    let mut args = vec!["keys", "create", "--name", name];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    args.extend_from_slice(extra);
    str_field(&env.cli_json(&args), "key")
}

/// A raw request to the server of `env`.
pub async fn send(env: &Env, method: Method, path: &str, bearer: Option<&str>, body: Option<Body>) -> Reply {
    let mut rb = env
        .http
        .request(method, format!("{}{path}", env.server.base_url()));
    if let Some(t) = bearer {
        rb = rb.bearer_auth(t);
    }
    match body {
        Some(Body::Json(v)) => rb = rb.json(&v),
        Some(Body::Raw { content_type, bytes }) => {
            if let Some(ct) = content_type {
                rb = rb.header("content-type", ct);
            }
            rb = rb.body(bytes);
        }
        None => {}
    }
    let resp = rb.send().await.expect("request reaches steward");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.expect("response body").to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// `data` of a list envelope (`{"object": "list", "data": [...]}`), checking the envelope.
pub fn data(list: &Value) -> Vec<Value> {
    assert_eq!(list["object"], "list", "{list}");
    list["data"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no data array: {list}"))
}

/// `detail` of an error body as a string.
pub fn detail(r: &Reply) -> String {
    r.json()["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("HTTP {} without a string detail: {}", r.status, r.text()))
        .to_owned()
}

/// Asserts an error status with the `{"detail": ..., "code": ...}` body, returns `detail`.
pub fn expect_error(r: &Reply, status: u16, code: &str, what: &str) -> String {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert_eq!(r.json()["code"], code, "{what}: {}", r.text());
    detail(r)
}

/// Asserts a 403 with `{"detail": {"code": code, ...}}`.
pub fn expect_forbidden(r: &Reply, code: &str, what: &str) {
    assert_eq!(r.status, 403, "{what}: {}", r.text());
    assert_eq!(r.json()["detail"]["code"], code, "{what}: {}", r.text());
}
