//! Drives the pinned Codex CLI in **ChatGPT mode**: signed in with (unsigned, test) ChatGPT
//! tokens and with `chatgpt_base_url` pointing at a local server, so that the CLI fetches its
//! workspace-managed policies from `GET {base}/api/codex/config/bundle` and enforces them
//! (`../shared/spec/chatgpt-backend-integration.md`).
//!
//! Built on [`crate::codex`]: the same binary, config (custom provider pointed at the Responses
//! stand-in, `[otel]` exporters) and isolated `CODEX_HOME`, plus
//! - `$CODEX_HOME/auth.json` in ChatGPT mode ([`ChatgptIdentity::auth_json`]),
//! - `chatgpt_base_url` and `cli_auth_credentials_store = "file"` at the top of `config.toml`,
//! - runs in human (non-`--json`) mode so the header (`sandbox:`, `approval:`) and warnings are
//!   printed, without `--dangerously-bypass-approvals-and-sandbox` (the point is to see which
//!   sandbox and approval policy the CLI ends up with), see [`ChatgptRun`].
//!
//! [`ChatgptBackendStandin`] is a minimal ChatGPT backend: it serves a settable bundle, `{}` for
//! every other path, and records every request.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::bg_server::BackgroundServer;
use crate::codex::{codex_bin, CodexHome, CodexHomeBuilder, OtelExporter, PROVIDER_KEY_ENV};
use crate::time_fmt::rfc3339_millis;

/// The bundle path for a `chatgpt_base_url` without `/backend-api` (Codex API path style).
pub const BUNDLE_PATH: &str = "/api/codex/config/bundle";
/// The older requirements-only endpoint (`codex-facts.md` §7). 0.169.0 does not call it.
pub const REQUIREMENTS_PATH: &str = "/api/codex/config/requirements";
/// Where the CLI posts its product analytics (`[analytics] enabled = true` only).
pub const ANALYTICS_EVENTS_PATH: &str = "/codex/analytics-events/events";
/// Where the CLI tries to refresh its tokens after a 401 (via `CODEX_REFRESH_TOKEN_URL_OVERRIDE`,
/// set to `{chatgpt_base_url}/oauth/token` by this harness so nothing reaches auth.openai.com).
pub const TOKEN_REFRESH_PATH: &str = "/oauth/token";

/// The CLI's caches of cloud-managed policies in `$CODEX_HOME`: the bundle (0.169.0, HMAC-signed,
/// one hour) and the older requirements cache (not written by 0.169.0; deleted too).
pub const CLOUD_CACHE_FILES: [&str; 2] = ["cloud-config-bundle-cache.json", "cloud-requirements-cache.json"];

/// Claim namespaces of ChatGPT tokens.
pub const AUTH_CLAIM: &str = "https://api.openai.com/auth";
pub const PROFILE_CLAIM: &str = "https://api.openai.com/profile";

/// Who the fake ChatGPT login claims to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatgptIdentity {
    pub email: String,
    pub account_id: String,
    pub user_id: String,
    /// `enterprise` or `business` make the CLI fetch managed policies; `plus`, `pro` do not.
    pub plan_type: String,
}

impl Default for ChatgptIdentity {
    fn default() -> Self {
        Self {
            email: "alice@example.com".to_owned(),
            account_id: "acct-steward-test".to_owned(),
            user_id: "user-steward-test".to_owned(),
            plan_type: "enterprise".to_owned(),
        }
    }
}

impl ChatgptIdentity {
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            ..Self::default()
        }
    }

    fn auth_claims(&self) -> Value {
        json!({
            "chatgpt_plan_type": self.plan_type,
            "chatgpt_account_id": self.account_id,
            "chatgpt_user_id": self.user_id,
            "user_id": self.user_id,
        })
    }

    /// The `id_token`: top-level `email` plus the auth claims (what the CLI reads its plan,
    /// account and user from). Valid for 30 days.
    pub fn id_token(&self) -> String {
        let now = unix_now();
        unsigned_jwt(&json!({
            "iss": "https://auth.openai.com",
            "aud": ["app_EMoamEEZ73f0CkXaXp7hrann"],
            "sub": format!("auth0|{}", self.user_id),
            "email": self.email,
            "email_verified": true,
            "iat": now,
            "exp": now + 30 * 86_400,
            AUTH_CLAIM: self.auth_claims(),
        }))
    }

    /// The `access_token` (the bearer the CLI sends to `chatgpt_base_url`): shaped like a real
    /// one, with the email under the profile claim only. Valid for 30 days, so the CLI never
    /// tries to refresh it.
    pub fn access_token(&self) -> String {
        let now = unix_now();
        unsigned_jwt(&json!({
            "iss": "https://auth.openai.com",
            "aud": ["https://api.openai.com/v1"],
            "sub": format!("auth0|{}", self.user_id),
            "iat": now,
            "nbf": now,
            "exp": now + 30 * 86_400,
            PROFILE_CLAIM: { "email": self.email, "email_verified": true },
            AUTH_CLAIM: self.auth_claims(),
        }))
    }

    /// `$CODEX_HOME/auth.json` as the 0.169.0 CLI reads it in ChatGPT mode.
    pub fn auth_json(&self) -> Value {
        json!({
            "OPENAI_API_KEY": null,
            "tokens": {
                "id_token": self.id_token(),
                "access_token": self.access_token(),
                "refresh_token": "steward-test-refresh-token",
                "account_id": self.account_id,
            },
            "last_refresh": rfc3339_millis(SystemTime::now()),
        })
    }
}

/// An unsigned JWT (`alg: none`). The signature part is a non-empty dummy: the CLI rejects a
/// token with an empty part ("invalid ID token format").
pub fn unsigned_jwt(claims: &Value) -> String {
    let header = json!({ "alg": "none", "typ": "JWT" });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode("unsigned"),
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Deletes the CLI's cloud-policy caches, so the next run fetches the bundle again.
pub fn clear_cloud_caches(codex_home: &Path) -> Result<()> {
    for name in CLOUD_CACHE_FILES {
        let path = codex_home.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("deleting {}", path.display())),
        }
    }
    Ok(())
}

/// Builder of a [`ChatgptCodexHome`]; the `[otel]` options are those of [`CodexHomeBuilder`].
pub struct ChatgptCodexHomeBuilder {
    inner: CodexHomeBuilder,
    chatgpt_base_url: String,
    identity: ChatgptIdentity,
    analytics: bool,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl ChatgptCodexHomeBuilder {
    /// Who the login claims to be (default [`ChatgptIdentity::default`]).
    pub fn identity(mut self, identity: ChatgptIdentity) -> Self {
        self.identity = identity;
        self
    }

    /// See [`CodexHomeBuilder::otel`].
    pub fn otel(mut self, exporter: OtelExporter) -> Self {
        self.inner = self.inner.otel(exporter);
        self
    }

    /// See [`CodexHomeBuilder::trace_exporter`].
    pub fn trace_exporter(mut self, exporter: OtelExporter) -> Self {
        self.inner = self.inner.trace_exporter(exporter);
        self
    }

    /// See [`CodexHomeBuilder::log_user_prompt`].
    pub fn log_user_prompt(mut self, on: bool) -> Self {
        self.inner = self.inner.log_user_prompt(on);
        self
    }

    /// `[analytics] enabled` (default `false`, as in [`crate::codex`]). When on, the CLI posts
    /// its product analytics to `{chatgpt_base_url}/codex/analytics-events/events`.
    pub fn analytics(mut self, on: bool) -> Self {
        self.analytics = on;
        self
    }

    /// Extra environment for every run.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Upper bound of one run (default 90 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn build(self) -> Result<ChatgptCodexHome> {
        let home = self.inner.build()?;
        let config_path = home.path().join("config.toml");
        let base = std::fs::read_to_string(&config_path).context("reading config.toml")?;
        // Top-level keys must come before the first table, so they go first.
        let config = format!(
            "chatgpt_base_url = {}\ncli_auth_credentials_store = \"file\"\n{base}",
            toml_str(&self.chatgpt_base_url)
        );
        std::fs::write(&config_path, config).context("writing config.toml")?;
        let auth = serde_json::to_string_pretty(&self.identity.auth_json())?;
        std::fs::write(home.path().join("auth.json"), auth).context("writing auth.json")?;
        Ok(ChatgptCodexHome {
            bin: codex_bin()?,
            home,
            chatgpt_base_url: self.chatgpt_base_url,
            identity: self.identity,
            analytics: self.analytics,
            env: self.env,
            timeout: self.timeout,
        })
    }
}

/// A TOML basic string; JSON string escaping is a valid subset of it.
fn toml_str(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// An isolated `CODEX_HOME` signed in to ChatGPT; deleted on drop.
pub struct ChatgptCodexHome {
    bin: std::path::PathBuf,
    home: CodexHome,
    chatgpt_base_url: String,
    identity: ChatgptIdentity,
    analytics: bool,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl ChatgptCodexHome {
    /// A home whose model provider is the Responses stand-in at `provider_base_url` and whose
    /// ChatGPT backend is `chatgpt_base_url` (e.g. `http://127.0.0.1:PORT`, no `/backend-api`,
    /// so the CLI uses the `/api/codex/...` paths).
    pub fn builder(
        provider_base_url: impl Into<String>,
        chatgpt_base_url: impl Into<String>,
    ) -> ChatgptCodexHomeBuilder {
        ChatgptCodexHomeBuilder {
            inner: CodexHome::builder(provider_base_url),
            chatgpt_base_url: chatgpt_base_url.into().trim_end_matches('/').to_owned(),
            identity: ChatgptIdentity::default(),
            analytics: false,
            env: Vec::new(),
            timeout: Duration::from_secs(90),
        }
    }

    pub fn path(&self) -> &Path {
        self.home.path()
    }

    pub fn workdir(&self) -> &Path {
        self.home.workdir()
    }

    pub fn identity(&self) -> &ChatgptIdentity {
        &self.identity
    }

    /// The underlying home, e.g. for [`CodexHome::exec`] (JSON mode, sandbox bypassed; note
    /// that it does not get this builder's `env`).
    pub fn codex_home(&self) -> &CodexHome {
        &self.home
    }

    /// The access token in `auth.json`: what the CLI sends as `Authorization: Bearer ...`.
    pub fn access_token(&self) -> Result<String> {
        let text = std::fs::read_to_string(self.path().join("auth.json"))?;
        let v: Value = serde_json::from_str(&text)?;
        v["tokens"]["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("auth.json has no tokens.access_token")
    }

    /// See [`clear_cloud_caches`].
    pub fn clear_cloud_caches(&self) -> Result<()> {
        clear_cloud_caches(self.path())
    }

    /// Whether the CLI has a cached bundle.
    pub fn has_bundle_cache(&self) -> bool {
        self.path().join(CLOUD_CACHE_FILES[0]).is_file()
    }

    /// `codex exec --skip-git-repo-check <args...> <prompt>` in human output mode. A failing
    /// run is returned, not an error (see [`ChatgptRun::ensure_success`]); only a run that
    /// cannot start or does not finish in time is an error.
    pub async fn exec(&self, args: &[&str], prompt: &str) -> Result<ChatgptRun> {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.arg("exec").arg("--skip-git-repo-check");
        if self.analytics {
            cmd.args(["-c", "analytics.enabled=true"]);
        }
        cmd.args(args)
            .arg(prompt)
            .current_dir(self.workdir())
            .env("CODEX_HOME", self.path())
            .env(PROVIDER_KEY_ENV, "standin-dummy-key")
            .env(
                "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
                format!("{}{TOKEN_REFRESH_PATH}", self.chatgpt_base_url),
            )
            // Keep the developer's own credentials out of the run.
            .env_remove("OPENAI_API_KEY")
            .env_remove("CODEX_API_KEY")
            .env_remove("CODEX_ACCESS_TOKEN")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let what = format!("codex exec {} {prompt:?}", args.join(" "));
        let child = cmd.spawn().with_context(|| format!("spawning {what}"))?;
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .with_context(|| format!("{what} did not finish within {:?}", self.timeout))?
            .with_context(|| format!("waiting for {what}"))?;
        Ok(ChatgptRun::parse(
            what,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }
}

/// One finished `codex exec` in human output mode.
#[derive(Clone, Debug)]
pub struct ChatgptRun {
    /// The command line, for messages.
    pub what: String,
    /// `None` when killed by a signal.
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The header block (`key: value` lines between the `--------` rules after
    /// `OpenAI Codex v...`), e.g. `workdir`, `model`, `provider`, `approval`, `sandbox`,
    /// `session id`. Empty when the CLI stopped before printing it.
    pub header: BTreeMap<String, String>,
    /// Effective sandbox mode from the header's `sandbox:` line, first word only
    /// (`read-only`, `workspace-write`, `danger-full-access`).
    pub sandbox: Option<String>,
    /// Effective approval policy from the header's `approval:` line (`on-request`, `never`,
    /// `untrusted`, `on-failure`).
    pub approval: Option<String>,
    /// Lines `warning: ...` of stderr, prefix removed, e.g. "Configured value for
    /// `approval_policy` is disallowed by requirements; falling back to ...".
    pub warnings: Vec<String>,
    /// The `Error: ...` line of a failed run, prefix removed.
    pub error: Option<String>,
}

impl ChatgptRun {
    /// Parses the CLI's human output (the header and warnings go to stderr; stdout carries the
    /// final message).
    pub fn parse(what: String, exit_code: Option<i32>, stdout: String, stderr: String) -> Self {
        let mut header = parse_header(&stderr);
        if header.is_empty() {
            header = parse_header(&stdout);
        }
        let first_word = |key: &str| {
            header
                .get(key)
                .and_then(|v| v.split_whitespace().next())
                .map(str::to_owned)
        };
        let sandbox = first_word("sandbox");
        let approval = first_word("approval");
        let warnings = stderr
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("warning: "))
            .map(|w| w.trim().to_owned())
            .collect();
        let error = stderr
            .lines()
            .find_map(|l| l.trim_start().strip_prefix("Error: "))
            .map(|e| e.trim().to_owned());
        Self {
            what,
            exit_code,
            stdout,
            stderr,
            header,
            sandbox,
            approval,
            warnings,
            error,
        }
    }

    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// Fails with the whole output unless the run exited 0.
    pub fn ensure_success(&self) -> Result<&Self> {
        if !self.success() {
            bail!(
                "{} exited with {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.what,
                self.exit_code,
                self.stdout,
                self.stderr
            );
        }
        Ok(self)
    }

    /// The warnings about configured values overridden by managed requirements.
    pub fn requirement_warnings(&self) -> Vec<&str> {
        self.warnings
            .iter()
            .filter(|w| w.contains("disallowed by requirements"))
            .map(String::as_str)
            .collect()
    }

    /// `session id:` from the header (the thread id).
    pub fn session_id(&self) -> Option<&str> {
        self.header.get("session id").map(String::as_str)
    }
}

/// The `key: value` lines after `OpenAI Codex v...`, between the first two `--------` rules.
/// Tolerates a missing opening rule and stops at the closing one (or a blank line).
fn parse_header(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("OpenAI Codex v"))
        .skip(1)
        .map(str::trim)
        .peekable();
    if lines.peek().is_some_and(|l| is_rule(l)) {
        lines.next();
    }
    for line in lines {
        if is_rule(line) || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    out
}

fn is_rule(line: &str) -> bool {
    line.len() >= 3 && line.chars().all(|c| c == '-')
}

/// One request the [`ChatgptBackendStandin`] received.
#[derive(Clone, Debug)]
pub struct BackendRequest {
    pub method: String,
    /// Path and query, e.g. `/ps/plugins/installed?limit=200`.
    pub path_and_query: String,
    pub authorization: Option<String>,
    /// The `chatgpt-account-id` header.
    pub account_id: Option<String>,
    pub user_agent: Option<String>,
    /// The body, if it was JSON.
    pub body: Option<Value>,
}

impl BackendRequest {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(self.path_and_query.as_str(), |(p, _)| p)
    }

    /// `METHOD /path?query`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path_and_query)
    }
}

/// How the stand-in answers `GET /api/codex/config/bundle`.
#[derive(Clone, Debug)]
enum BundleReply {
    Json(Value),
    Status(StatusCode, Value),
}

struct BackendInner {
    bundle: BundleReply,
    requests: Vec<BackendRequest>,
}

type Backend = Arc<Mutex<BackendInner>>;

/// A stand-in ChatGPT backend: `GET /api/codex/config/bundle` answers the current bundle
/// (default: no managed config, `{}`), every other request `200 {}`. Every request is recorded.
/// Dropping it stops the server.
pub struct ChatgptBackendStandin {
    server: BackgroundServer,
    inner: Backend,
}

impl ChatgptBackendStandin {
    pub fn start() -> Result<Self> {
        let inner: Backend = Arc::new(Mutex::new(BackendInner {
            bundle: BundleReply::Json(json!({})),
            requests: Vec::new(),
        }));
        let app = Router::new().fallback(backend_any).with_state(inner.clone());
        let server = BackgroundServer::spawn("chatgpt-backend-standin", app)?;
        Ok(Self { server, inner })
    }

    /// The value for `chatgpt_base_url` (no `/backend-api`: `/api/codex/...` path style).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Serves `bundle` (200) from now on.
    pub fn set_bundle(&self, bundle: Value) {
        lock(&self.inner).bundle = BundleReply::Json(bundle);
    }

    /// Serves a bundle of requirements only: one `enterprise_managed` entry with this TOML.
    pub fn set_requirements(&self, id: &str, name: &str, requirements_toml: &str) {
        self.set_bundle(requirements_bundle(id, name, requirements_toml));
    }

    /// Answers the bundle endpoint with `status` and a `{"detail": ...}` body from now on.
    pub fn fail_bundle(&self, status: u16) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({ "detail": status.canonical_reason().unwrap_or("error") });
        lock(&self.inner).bundle = BundleReply::Status(status, body);
    }

    /// Every request so far, in order of arrival.
    pub fn requests(&self) -> Vec<BackendRequest> {
        lock(&self.inner).requests.clone()
    }

    /// Requests to `path` (query ignored).
    pub fn requests_to(&self, path: &str) -> Vec<BackendRequest> {
        self.requests().into_iter().filter(|r| r.path() == path).collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.inner).requests.clear();
    }
}

/// `{"requirements_toml": {"enterprise_managed": [{id, name, contents}]}, "config_toml":
/// {"enterprise_managed": []}}`: the bundle shape the 0.169.0 CLI accepts.
pub fn requirements_bundle(id: &str, name: &str, requirements_toml: &str) -> Value {
    json!({
        "requirements_toml": {
            "enterprise_managed": [{ "id": id, "name": name, "contents": requirements_toml }],
        },
        "config_toml": { "enterprise_managed": [] },
    })
}

fn lock(inner: &Backend) -> MutexGuard<'_, BackendInner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

async fn backend_any(
    State(inner): State<Backend>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let request = BackendRequest {
        method: method.to_string(),
        path_and_query: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        authorization: header("authorization"),
        account_id: header("chatgpt-account-id"),
        user_agent: header("user-agent"),
        body: serde_json::from_slice(&body).ok(),
    };
    let is_bundle = method == Method::GET && request.path() == BUNDLE_PATH;
    let mut g = lock(&inner);
    g.requests.push(request);
    if !is_bundle {
        return Json(json!({})).into_response();
    }
    match g.bundle.clone() {
        BundleReply::Json(v) => Json(v).into_response(),
        BundleReply::Status(status, body) => (status, Json(body)).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STDERR: &str = "\
WARNING: proceeding, even though we could not create PATH aliases: ...
Reading additional input from stdin...
OpenAI Codex v0.169.0
--------
workdir: /tmp/w
model: gpt-5-codex
provider: standin
approval: on-request
sandbox: workspace-write [workdir, /tmp, $TMPDIR]
reasoning effort: none
reasoning summaries: none
session id: 01a1fbda-121d-7080-84aa-79c5242303f3
--------
user
hi
warning: Configured value for `approval_policy` is disallowed by requirements; falling back to required value OnRequest. Details: ...
warning: Model metadata for `gpt-5-codex` not found. Defaulting to fallback metadata; this can degrade performance and cause issues.
codex
Done.
";

    #[test]
    fn parses_the_header_and_warnings() {
        let run = ChatgptRun::parse("t".into(), Some(0), "Done.\n".into(), STDERR.into());
        assert_eq!(run.sandbox.as_deref(), Some("workspace-write"));
        assert_eq!(run.approval.as_deref(), Some("on-request"));
        assert_eq!(run.header["provider"], "standin");
        assert_eq!(run.header["workdir"], "/tmp/w");
        assert_eq!(run.session_id(), Some("01a1fbda-121d-7080-84aa-79c5242303f3"));
        assert!(!run.header.contains_key("user"));
        assert_eq!(run.warnings.len(), 2);
        assert_eq!(run.requirement_warnings().len(), 1);
        assert!(run.error.is_none());
        assert!(run.ensure_success().is_ok());
    }

    #[test]
    fn a_failed_run_has_no_header_but_an_error() {
        let stderr = "WARNING: proceeding ...\nError: Failed to load cloud config bundle \
                      (workspace-managed policies).\n\nStack backtrace:\n   0: <unknown>\n";
        let run = ChatgptRun::parse("t".into(), Some(1), String::new(), stderr.into());
        assert!(run.header.is_empty());
        assert_eq!(run.sandbox, None);
        assert_eq!(
            run.error.as_deref(),
            Some("Failed to load cloud config bundle (workspace-managed policies).")
        );
        assert!(run.ensure_success().is_err());
    }

    #[test]
    fn unsigned_tokens_carry_the_identity() {
        let id = ChatgptIdentity::new("bob@example.com");
        let token = id.access_token();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| !p.is_empty()));
        let decode =
            |p: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap() };
        assert_eq!(decode(parts[0])["alg"], "none");
        let claims = decode(parts[1]);
        assert_eq!(claims[PROFILE_CLAIM]["email"], "bob@example.com");
        assert_eq!(claims[AUTH_CLAIM]["chatgpt_plan_type"], "enterprise");
        let id_claims = decode(id.id_token().split('.').nth(1).unwrap());
        assert_eq!(id_claims["email"], "bob@example.com");
        assert_eq!(id_claims[AUTH_CLAIM]["chatgpt_account_id"], "acct-steward-test");
        let auth = id.auth_json();
        assert!(auth["OPENAI_API_KEY"].is_null());
        assert_eq!(auth["tokens"]["account_id"], "acct-steward-test");
        assert!(auth["last_refresh"].as_str().unwrap().ends_with('Z'));
    }
}
