//! A real `steward serve` on a temporary SQLite data dir with a user, its ingest token and a
//! `compliance.read` key; the `steward` CLI run against the same store; raw HTTP calls.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use steward_test_support::steward::StewardServer;
use tempfile::TempDir;

use crate::common::{post, steward_bin};

pub const USER: &str = "dev.user@example.com";

/// Server-side configuration for tests that seal with the CLI only: the scheduled sealer never
/// finds anything due (a year), so every file comes from an explicit `steward compliance seal`.
pub const NO_AUTO_SEAL: (&str, &str) = ("STEWARD_COMPLIANCE__SEAL_INTERVAL_SECS", "31536000");

pub struct Env {
    pub server: StewardServer,
    /// The data dir; the server and every CLI call use it.
    pub dir: TempDir,
    /// Environment given to the server and to every CLI call.
    pub vars: Vec<(String, String)>,
    pub ws: String,
    pub ingest_token: String,
    /// A `compliance.read` API key of `ws`.
    pub key: String,
    /// An HTTP client that never follows redirects (tests follow them explicitly).
    pub http: reqwest::Client,
}

/// An HTTP answer: status, headers and body.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A finished CLI run.
pub struct CliRun {
    pub what: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    fn from_output(what: String, out: Output) -> Self {
        CliRun {
            what,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("{self}: stdout is not JSON: {e}"))
    }

    /// The JSON output of a run that must have succeeded.
    pub fn ok_json(&self) -> Value {
        assert_eq!(self.code, Some(0), "{self}");
        self.json()
    }
}

impl std::fmt::Display for CliRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} exited with {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Runs `steward <args>` in an empty working directory (so no `./steward.toml` applies).
pub fn run_steward(args: &[&str], vars: &[(String, String)]) -> CliRun {
    let cwd = tempfile::tempdir().expect("temp cwd");
    let what = format!("steward {}", args.join(" "));
    let out = Command::new(steward_bin())
        .args(args)
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(cwd.path())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {what}: {e}"));
    CliRun::from_output(what, out)
}

/// `steward compliance verify DIR --json [--public-key KEY]` on an exported folder.
pub fn verify_folder(dir: &Path, public_key: Option<&str>) -> CliRun {
    let dir = dir.display().to_string();
    let mut args = vec!["compliance", "verify", dir.as_str(), "--json"];
    if let Some(k) = public_key {
        args.extend(["--public-key", k]);
    }
    run_steward(&args, &[])
}

impl Env {
    /// Starts a server with `vars` (also used for CLI calls) and creates the credentials.
    pub async fn start(vars: &[(&str, &str)]) -> Env {
        let dir = tempfile::tempdir().expect("data dir");
        let server = StewardServer::spawn(&steward_bin(), dir.path(), &[], vars)
            .await
            .expect("steward serve starts");
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut env = Env {
            server,
            dir,
            vars,
            ws: String::new(),
            ingest_token: String::new(),
            key: String::new(),
            http: http_client(),
        };
        env.ws = str_field(&env.cli_json(&["workspaces", "list"])[0], "id");
        env.cli_json(&["users", "add", USER, "--name", "Dev User"]);
        let token = env.cli_json(&["tokens", "create", "--user", USER]);
        env.ingest_token = str_field(&token, "token");
        env.key = env.create_key("compliance.read");
        env
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The compliance object store (`<data_dir>/compliance`).
    pub fn compliance_dir(&self) -> PathBuf {
        self.dir.path().join("compliance")
    }

    /// `steward <args> --data-dir DIR` with this environment.
    pub fn cli(&self, args: &[&str]) -> CliRun {
        let dir = self.dir.path().display().to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--data-dir", dir.as_str()]);
        run_steward(&all, &self.vars)
    }

    /// `steward <args> --data-dir DIR --json`, which must succeed.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--json");
        self.cli(&all).ok_json()
    }

    /// An API key of this workspace with one scope.
    pub fn create_key(&self, scope: &str) -> String {
        let key = self.cli_json(&["keys", "create", "--scope", scope, "--name", "compliance-test"]);
        str_field(&key, "key")
    }

    /// `steward compliance seal --json`: the outcome for this workspace.
    pub fn seal(&self) -> Value {
        let out = self.cli_json(&["compliance", "seal"]);
        let outcome = out
            .as_array()
            .and_then(|a| a.iter().find(|o| o["workspace_id"] == self.ws.as_str()))
            .cloned();
        outcome.unwrap_or_else(|| panic!("seal reports no outcome for {}: {out}", self.ws))
    }

    /// POSTs an OTLP body with the ingest token and requires 200.
    pub async fn ingest(&self, path: &str, content_type: &str, body: Vec<u8>) {
        let url = format!("{}{path}", self.server.base_url());
        let (status, _, resp) = post(&url, Some(&self.ingest_token), content_type, None, body).await;
        assert_eq!(status, 200, "POST {path}: {}", String::from_utf8_lossy(&resp));
    }

    /// GET `path_and_query` with an optional bearer token.
    pub async fn get(&self, path_and_query: &str, bearer: Option<&str>) -> Reply {
        self.get_url(&format!("{}{path_and_query}", self.server.base_url()), bearer)
            .await
    }

    pub async fn get_url(&self, url: &str, bearer: Option<&str>) -> Reply {
        let mut rb = self.http.get(url);
        if let Some(t) = bearer {
            rb = rb.bearer_auth(t);
        }
        reply(rb).await
    }

    /// DELETE `path` with an optional bearer token.
    pub async fn delete(&self, path: &str, bearer: Option<&str>) -> Reply {
        let mut rb = self.http.delete(format!("{}{path}", self.server.base_url()));
        if let Some(t) = bearer {
            rb = rb.bearer_auth(t);
        }
        reply(rb).await
    }

    /// The Compliance API list call with explicit query pairs.
    pub async fn list(&self, query: &[(&str, &str)], bearer: Option<&str>) -> Reply {
        let url = format!(
            "{}/v1/compliance/workspaces/{}/logs",
            self.server.base_url(),
            self.ws
        );
        let mut rb = self.http.get(url).query(query);
        if let Some(t) = bearer {
            rb = rb.bearer_auth(t);
        }
        reply(rb).await
    }
}

async fn reply(rb: reqwest::RequestBuilder) -> Reply {
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

pub fn str_field(v: &Value, field: &str) -> String {
    v[field]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no string field `{field}` in {v}"))
}
