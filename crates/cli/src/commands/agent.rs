//! `steward agent sync`: puts the policy that applies to this machine's user where Codex reads
//! it (`DIR/requirements.toml`, `DIR/managed_config.toml`) and reports the revision back.
//!
//! The server's side is `GET /v1/agent/policy` (ETag = `content_sha256` of the two documents,
//! 304 on a matching `If-None-Match`) and `POST /v1/agent/policy/report`. The files on disk are
//! the last known good policy: they change only after a complete, verified answer, each by an
//! atomic rename, so a failed sync (or a crash mid-way) leaves Codex with a consistent file.
//!
//! Besides the two documents the agent keeps `DIR/steward-agent.json`: which policy and
//! revision the files are, so an unchanged policy (a 304, which has no body) can still be
//! reported by name and revision. It is trusted only while its hash matches the files.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use steward_core::policies::content_sha256;

mod install;
mod ship;

use install::{install, write_atomically};

use crate::cli::{AgentCommand, AgentServerArgs, GlobalArgs, SyncArgs};
use crate::output::print_json;

const REQUIREMENTS: &str = "requirements.toml";
const MANAGED_CONFIG: &str = "managed_config.toml";
/// What the agent last installed (policy, revision, hash); see the module docs.
const STATE: &str = "steward-agent.json";
const CLIENT_VERSION: &str = concat!("steward-agent/", env!("CARGO_PKG_VERSION"));
/// Connecting, sending and reading one answer, together.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Policies are small; anything bigger is not a Steward answer.
const MAX_REPLY_BYTES: u64 = 16 << 20;

pub async fn run(global: &GlobalArgs, cmd: AgentCommand) -> Result<()> {
    match cmd {
        AgentCommand::Sync(args) => sync(global, args).await,
        AgentCommand::Ship(args) => ship::run(global, args).await,
    }
}

/// The checked server and machine name of an agent command, after making sure exactly one of
/// `--token` and `--token-file` is given (the token itself is read where it is used: `sync`
/// reads the file again on every run, so a rotated token is picked up).
fn server_and_host(to: &AgentServerArgs) -> Result<(Server, String)> {
    match (&to.token, &to.token_file) {
        (Some(_), Some(_)) => bail!(
            "give one of --token (STEWARD_AGENT_TOKEN) or --token-file (STEWARD_AGENT_TOKEN_FILE), not both"
        ),
        (None, None) => bail!(
            "no token: give --token or --token-file (or set STEWARD_AGENT_TOKEN / STEWARD_AGENT_TOKEN_FILE)"
        ),
        _ => {}
    }
    let host = match &to.host {
        Some(h) if !h.trim().is_empty() => h.trim().to_owned(),
        Some(_) => bail!("--host: must not be empty"),
        None => hostname()?,
    };
    Ok((Server::parse(&to.server)?, host))
}

async fn sync(global: &GlobalArgs, args: SyncArgs) -> Result<()> {
    let (server, host) = server_and_host(&args.to)?;
    let job = Job {
        server,
        host,
        email: args.to.email.clone().filter(|e| !e.trim().is_empty()),
        dir: args.dir.clone(),
        token: args.to.token.clone(),
        token_file: args.to.token_file.clone(),
    };
    if !args.follow {
        return match job.run().await {
            Ok(outcome) => outcome.finish(global.json, false),
            Err(err) => {
                if global.json {
                    print_json(&job.error_json(&err))?;
                }
                Err(err)
            }
        };
    }
    // --follow: never exits on a failed sync; quiet while nothing changes.
    let mut last_printed: Option<(String, &'static str)> = None;
    loop {
        match job.run().await {
            Ok(outcome) => {
                let key = (outcome.sha256.clone(), outcome.status);
                let report_failed = outcome.report_error.is_some();
                if last_printed.as_ref() != Some(&key) || report_failed {
                    if let Err(err) = outcome.finish(global.json, true) {
                        eprintln!("error: {err:#} (retrying in {}s)", args.interval);
                        last_printed = None;
                    } else {
                        last_printed = Some(key);
                    }
                }
            }
            Err(err) => {
                if global.json {
                    println!("{}", job.error_json(&err));
                }
                eprintln!("error: {err:#} (retrying in {}s)", args.interval);
                last_printed = None;
            }
        }
        tokio::time::sleep(Duration::from_secs(args.interval)).await;
    }
}

/// One machine's sync settings.
struct Job {
    server: Server,
    host: String,
    email: Option<String>,
    dir: PathBuf,
    token: Option<String>,
    token_file: Option<PathBuf>,
}

/// The result of a sync whose files are in place (updated or not).
#[derive(Debug, Serialize)]
struct Outcome {
    /// "updated" or "unchanged".
    status: &'static str,
    policy: Option<String>,
    policy_id: Option<String>,
    revision: Option<i64>,
    sha256: String,
    matched_by: Value,
    dir: String,
    host: String,
    /// The documents rewritten by this sync (empty when unchanged).
    written: Vec<&'static str>,
    /// Whether the server recorded what this machine now enforces.
    reported: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_error: Option<String>,
}

impl Outcome {
    /// Prints the result; an unrecorded report is an error (exit status 1), after printing.
    fn finish(&self, json: bool, compact: bool) -> Result<()> {
        if json {
            if compact {
                println!("{}", serde_json::to_string(self)?);
            } else {
                print_json(self)?;
            }
        } else {
            println!("{}", self.text());
        }
        match &self.report_error {
            None => Ok(()),
            Some(e) => Err(anyhow!(
                "{}, but the server did not record it: {e}",
                if self.status == "updated" {
                    "the policy files were updated"
                } else {
                    "the policy files are up to date"
                }
            )),
        }
    }

    fn text(&self) -> String {
        let short = short_sha(&self.sha256);
        let what = describe(self.policy.as_deref(), self.revision);
        match (self.status, &self.policy) {
            ("updated", Some(_)) => format!(
                "{REQUIREMENTS} and {MANAGED_CONFIG} in {} updated to {what} (sha256 {short})",
                self.dir
            ),
            ("updated", None) => format!(
                "{REQUIREMENTS} and {MANAGED_CONFIG} in {} emptied: no policy applies to this user, Codex runs unconstrained (sha256 {short})",
                self.dir
            ),
            _ => format!("up to date ({what})"),
        }
    }
}

fn describe(policy: Option<&str>, revision: Option<i64>) -> String {
    match (policy, revision) {
        (Some(p), Some(r)) => format!("policy {p:?} revision {r}"),
        (Some(p), None) => format!("policy {p:?}"),
        (None, _) => "no policy applies: empty files".to_owned(),
    }
}

fn short_sha(sha: &str) -> String {
    format!("{}…", sha.get(..12).unwrap_or(sha))
}

/// What the server answers on `GET /v1/agent/policy`.
#[derive(Debug, Deserialize)]
struct AgentPolicy {
    policy: Option<String>,
    policy_id: Option<String>,
    revision: Option<i64>,
    sha256: String,
    requirements_toml: String,
    managed_config_toml: String,
    #[serde(default)]
    matched_by: Value,
}

/// `DIR/steward-agent.json`: which policy the files in DIR are.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    policy: Option<String>,
    policy_id: Option<String>,
    revision: Option<i64>,
    sha256: String,
    #[serde(default)]
    matched_by: Value,
    server: String,
    synced_at_ms: i64,
}

/// The two documents as they are on disk (`None`: the file does not exist).
struct OnDisk {
    requirements: Option<Vec<u8>>,
    managed_config: Option<Vec<u8>>,
}

impl OnDisk {
    fn read(dir: &Path) -> Result<Self> {
        Ok(Self {
            requirements: read_optional(&dir.join(REQUIREMENTS))?,
            managed_config: read_optional(&dir.join(MANAGED_CONFIG))?,
        })
    }

    fn complete(&self) -> bool {
        self.requirements.is_some() && self.managed_config.is_some()
    }

    /// The server's content hash of these files (a missing file counts as empty); `None` when
    /// one is not UTF-8 (then it cannot be any policy).
    fn sha256(&self) -> Option<String> {
        fn text(b: &Option<Vec<u8>>) -> Option<&str> {
            match b {
                None => Some(""),
                Some(b) => std::str::from_utf8(b).ok(),
            }
        }
        Some(content_sha256(
            text(&self.requirements)?,
            text(&self.managed_config)?,
        ))
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn read_state(dir: &Path) -> Option<State> {
    let bytes = fs::read(dir.join(STATE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

impl Job {
    /// One sync. An error means nothing on disk changed; its message ends with what stays in
    /// force.
    async fn run(&self) -> Result<Outcome> {
        let disk = OnDisk::read(&self.dir)?;
        let sha = disk.sha256();
        let state =
            read_state(&self.dir).filter(|s| disk.complete() && sha.as_deref() == Some(s.sha256.as_str()));
        match self.fetch_and_install(&disk, state.as_ref()).await {
            Ok(outcome) => Ok(outcome),
            Err(err) => Err(anyhow!("{err:#}; {}", self.in_force(&disk, state.as_ref()))),
        }
    }

    fn in_force(&self, disk: &OnDisk, state: Option<&State>) -> String {
        let dir = self.dir.display();
        match (
            state,
            disk.requirements.is_some() || disk.managed_config.is_some(),
        ) {
            (Some(s), _) => format!(
                "keeping the policy in force in {dir} ({})",
                describe(s.policy.as_deref(), s.revision)
            ),
            (None, true) => format!(
                "keeping the files in {dir} as they are (sha256 {})",
                disk.sha256()
                    .map(|s| short_sha(&s))
                    .unwrap_or_else(|| "of non-UTF-8 content".into())
            ),
            (None, false) => format!("{dir} has no policy files yet; nothing was written"),
        }
    }

    fn token(&self) -> Result<String> {
        read_token(self.token.as_deref(), self.token_file.as_deref())
    }

    async fn fetch_and_install(&self, disk: &OnDisk, state: Option<&State>) -> Result<Outcome> {
        let token = self.token()?;
        let auth = format!("Bearer {token}");
        let mut request = self
            .server
            .http
            .get(self.server.endpoint("/v1/agent/policy"))
            .header("Authorization", &auth);
        if let Some(email) = &self.email {
            request = request.query(&[("email", email)]);
        }
        // Conditional only when we know what the files are (the state matches them); otherwise
        // a full answer tells us which policy and revision they are, even if they already match.
        if let Some(s) = state {
            request = request.header("If-None-Match", format!("\"{}\"", s.sha256));
        }
        let reply = self
            .server
            .exchange(request)
            .await
            .map_err(|e| anyhow!("cannot reach the Steward server at {}: {e:#}", self.server.url))?;
        let outcome = match (reply.status, state) {
            (304, Some(s)) => self.outcome("unchanged", s, Vec::new()),
            (304, None) => bail!("the server answered 304 Not Modified to an unconditional request"),
            (200, _) => {
                let policy = parse_policy(&reply)?;
                let written = install(&self.dir, disk, &policy)?;
                let s = State {
                    policy: policy.policy,
                    policy_id: policy.policy_id,
                    revision: policy.revision,
                    sha256: policy.sha256,
                    matched_by: policy.matched_by,
                    server: self.server.url.clone(),
                    synced_at_ms: now_ms(),
                };
                // The state only names the files; losing it costs one full answer next time.
                if let Err(e) = write_atomically(&self.dir, STATE, format!("{:#}\n", json!(s)).as_bytes()) {
                    eprintln!("warning: cannot record the installed revision: {e:#}");
                }
                let status = if written.is_empty() {
                    "unchanged"
                } else {
                    "updated"
                };
                self.outcome(status, &s, written)
            }
            _ => return Err(http_error(&reply, self.email.as_deref())),
        };
        Ok(self.report(outcome, &auth).await)
    }

    fn outcome(&self, status: &'static str, s: &State, written: Vec<&'static str>) -> Outcome {
        Outcome {
            status,
            policy: s.policy.clone(),
            policy_id: s.policy_id.clone(),
            revision: s.revision,
            sha256: s.sha256.clone(),
            matched_by: s.matched_by.clone(),
            dir: self.dir.display().to_string(),
            host: self.host.clone(),
            written,
            reported: false,
            report_error: None,
        }
    }

    /// `POST /v1/agent/policy/report` with what is now on disk.
    async fn report(&self, mut outcome: Outcome, auth: &str) -> Outcome {
        let mut body = json!({
            "host": self.host,
            "policy_id": outcome.policy_id,
            "revision": outcome.revision,
            "sha256": outcome.sha256,
            "client_version": CLIENT_VERSION,
        });
        if let Some(email) = &self.email {
            body["email"] = json!(email);
        }
        let request = self
            .server
            .http
            .post(self.server.endpoint("/v1/agent/policy/report"))
            .header("Authorization", auth)
            .json(&body);
        let sent = self.server.exchange(request).await;
        match sent {
            Ok(r) if (200..300).contains(&r.status) => outcome.reported = true,
            Ok(r) => outcome.report_error = Some(format!("{:#}", http_error(&r, self.email.as_deref()))),
            Err(e) => {
                outcome.report_error = Some(format!(
                    "cannot reach the Steward server at {}: {e:#}",
                    self.server.url
                ))
            }
        }
        outcome
    }

    fn error_json(&self, err: &anyhow::Error) -> Value {
        json!({
            "status": "error",
            "error": format!("{err:#}"),
            "dir": self.dir.display().to_string(),
            "host": self.host,
        })
    }
}

/// Checks a 200 answer: JSON of the expected shape whose hash matches its documents (and the
/// ETag). Nothing is written unless this passes.
fn parse_policy(reply: &Reply) -> Result<AgentPolicy> {
    let policy: AgentPolicy = serde_json::from_slice(&reply.body).with_context(|| {
        format!(
            "the server's answer is not a policy (HTTP 200 but {}); is --server the Steward server?",
            snippet(&reply.body)
        )
    })?;
    let actual = content_sha256(&policy.requirements_toml, &policy.managed_config_toml);
    if policy.sha256 != actual {
        bail!(
            "refusing the server's answer: its sha256 {} does not match its documents ({actual}); they may have been altered on the way",
            policy.sha256
        );
    }
    if let Some(tag) = reply.etag.as_deref() {
        let tag = tag.trim_start_matches("W/").trim_matches('"');
        if tag != actual {
            bail!("refusing the server's answer: its ETag {tag} does not match its documents ({actual})");
        }
    }
    Ok(policy)
}

/// The cause of a non-success answer, in words.
fn http_error(reply: &Reply, email: Option<&str>) -> anyhow::Error {
    let detail = detail(&reply.body);
    let status = reply.status;
    match status {
        401 => anyhow!(
            "the server rejected the token (401): it may have been revoked or mistyped ({detail})"
        ),
        403 => anyhow!("the server refused this credential (403): {detail}"),
        404 if detail.starts_with("email:") => anyhow!(
            "the server knows no user with email {:?} (404): add them (`steward users add`) or fix --email",
            email.unwrap_or_default()
        ),
        404 => anyhow!(
            "the server has no agent endpoint (404: {detail}); is --server the Steward server, and is it recent enough?"
        ),
        400 => anyhow!("the server refused the request (400): {detail}"),
        500..=599 => anyhow!("the server failed (HTTP {status}): {detail}"),
        _ => anyhow!("unexpected answer from the server (HTTP {status}): {detail}"),
    }
}

/// The `detail` of an error body (`{"detail": "..."}` or `{"detail": {"message": ...}}`).
fn detail(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return snippet(body);
    };
    match &v["detail"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| v["detail"].to_string()),
        Value::Null => snippet(body),
        other => other.to_string(),
    }
}

fn snippet(body: &[u8]) -> String {
    if body.is_empty() {
        return "an empty body".to_owned();
    }
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        s.push('…');
    }
    s
}

/// The ingest token from `--token` or `--token-file`, checked for the mistakes people make.
fn read_token(token: Option<&str>, token_file: Option<&Path>) -> Result<String> {
    let token = match (token, token_file) {
        (Some(t), _) => t.trim().to_owned(),
        (None, Some(file)) => fs::read_to_string(file)
            .with_context(|| format!("cannot read the token file {}", file.display()))?
            .trim()
            .to_owned(),
        (None, None) => bail!(
            "no token: give --token or --token-file (or set STEWARD_AGENT_TOKEN / STEWARD_AGENT_TOKEN_FILE)"
        ),
    };
    if token.is_empty() {
        bail!("the token is empty");
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        bail!("the token contains spaces or control characters; check --token / the token file");
    }
    Ok(token)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// This machine's name as the server's status shows it.
fn hostname() -> Result<String> {
    let clean = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    for path in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        if let Some(h) = fs::read_to_string(path).ok().and_then(clean) {
            return Ok(h);
        }
    }
    let from_command = std::process::Command::new("hostname")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| clean(String::from_utf8_lossy(&o.stdout).into_owned()));
    if let Some(h) = from_command {
        return Ok(h);
    }
    for var in ["HOSTNAME", "COMPUTERNAME"] {
        if let Some(h) = std::env::var(var).ok().and_then(clean) {
            return Ok(h);
        }
    }
    bail!("cannot tell this machine's hostname; give --host NAME")
}

/// The Steward server, reached with reqwest (rustls, so `https://` works with the system's
/// trusted web roots).
#[derive(Debug)]
struct Server {
    /// As given, without a trailing slash (for messages and the state file).
    url: String,
    http: reqwest::Client,
}

/// An HTTP answer, read whole (policies are small; larger answers are refused).
#[derive(Debug)]
struct Reply {
    status: u16,
    etag: Option<String>,
    body: Vec<u8>,
}

impl Server {
    fn parse(url: &str) -> Result<Self> {
        let url = url.trim().trim_end_matches('/');
        let parsed = reqwest::Url::parse(url).with_context(|| format!("--server {url:?}: not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            bail!("--server {url:?}: expected http(s)://HOST[:PORT][/PATH]");
        }
        if !parsed.username().is_empty() || parsed.query().is_some() || parsed.fragment().is_some() {
            bail!("--server {url:?}: expected a URL without credentials, query or fragment");
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(CLIENT_VERSION)
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Self {
            url: url.to_owned(),
            http,
        })
    }

    /// One request; the answer's body is read whole, up to [`MAX_REPLY_BYTES`].
    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<Reply> {
        let mut response = request.header("Accept", "application/json").send().await?;
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > MAX_REPLY_BYTES {
                bail!("the answer is larger than {MAX_REPLY_BYTES} bytes");
            }
        }
        Ok(Reply { status, etag, body })
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        let s = Server::parse("https://steward.internal:8443/steward/").unwrap();
        assert_eq!(s.url, "https://steward.internal:8443/steward");
        assert_eq!(
            s.endpoint("/v1/agent/policy"),
            "https://steward.internal:8443/steward/v1/agent/policy"
        );
        assert!(Server::parse("http://[::1]:9000").is_ok());
        for bad in [
            "steward:8080",
            "ftp://h",
            "http://",
            "http://u:p@h",
            "http://h/p?q=1",
        ] {
            assert!(Server::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn install_replaces_keeps_previous_and_skips_identical() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("codex");
        let policy = |r: &str, m: &str| AgentPolicy {
            policy: Some("p".into()),
            policy_id: Some("id".into()),
            revision: Some(1),
            sha256: content_sha256(r, m),
            requirements_toml: r.into(),
            managed_config_toml: m.into(),
            matched_by: Value::Null,
        };
        let disk = OnDisk::read(&d).unwrap();
        assert_eq!(disk.sha256().unwrap(), content_sha256("", ""));
        let written = install(&d, &disk, &policy("r1\n", "m1\n")).unwrap();
        assert_eq!(written, vec![REQUIREMENTS, MANAGED_CONFIG]);
        assert!(!d.join("requirements.toml.previous").exists());
        // Only the changed document is rewritten; its old bytes become .previous.
        let disk = OnDisk::read(&d).unwrap();
        let written = install(&d, &disk, &policy("r2\n", "m1\n")).unwrap();
        assert_eq!(written, vec![REQUIREMENTS]);
        assert_eq!(fs::read(d.join("requirements.toml")).unwrap(), b"r2\n");
        assert_eq!(fs::read(d.join("requirements.toml.previous")).unwrap(), b"r1\n");
        assert!(!d.join("managed_config.toml.previous").exists());
        let disk = OnDisk::read(&d).unwrap();
        assert!(install(&d, &disk, &policy("r2\n", "m1\n")).unwrap().is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(d.join("requirements.toml"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        let leftovers: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn answers_whose_hash_does_not_match_are_refused() {
        let body = json!({
            "policy": "p", "policy_id": "i", "revision": 1,
            "sha256": content_sha256("a", "b"),
            "requirements_toml": "a", "managed_config_toml": "tampered",
        });
        let reply = Reply {
            status: 200,
            etag: None,
            body: body.to_string().into_bytes(),
        };
        let err = parse_policy(&reply).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
    }
}
