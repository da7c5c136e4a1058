//! Drives the pinned, real Codex CLI (`codex exec`) in an isolated `CODEX_HOME`.
//!
//! The binary is never downloaded here: `scripts/install-test-deps` installs it, and a missing
//! binary is an error telling you so (tests must not silently skip).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use tempfile::TempDir;

/// The Codex CLI version Steward's end-to-end tests are pinned to.
pub const CODEX_VERSION: &str = "0.169.0";

/// Env var naming the API-key variable of the stand-in provider. Codex refuses to start when a
/// provider's `env_key` variable is unset, so it is always set, to a dummy value.
pub const PROVIDER_KEY_ENV: &str = "STEWARD_STANDIN_API_KEY";

/// Where `scripts/install-test-deps` puts the binary, relative to `$HOME`.
const DEFAULT_BIN_UNDER_HOME: &str = ".cache/steward-test/codex-0.169.0/node_modules/@openai/\
     codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex";

/// Locates the Codex CLI: `$STEWARD_CODEX_BIN`, else the copy installed by
/// `scripts/install-test-deps` under `$HOME/.cache/steward-test`.
pub fn codex_bin() -> Result<PathBuf> {
    let path = match std::env::var_os("STEWARD_CODEX_BIN") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").context("HOME is not set")?;
            PathBuf::from(home).join(DEFAULT_BIN_UNDER_HOME)
        }
    };
    if !path.is_file() {
        bail!(
            "Codex CLI {CODEX_VERSION} not found at {}. Run `scripts/install-test-deps` \
             (or set STEWARD_CODEX_BIN to a codex {CODEX_VERSION} binary).",
            path.display()
        );
    }
    Ok(path)
}

/// OTLP/HTTP body encoding, as spelled in Codex's `[otel]` config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtlpProtocol {
    Json,
    Binary,
}

impl OtlpProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::Json => "json",
            OtlpProtocol::Binary => "binary",
        }
    }
}

/// Where Codex exports one OTel signal (log events by default; see
/// [`CodexHomeBuilder::trace_exporter`] for traces).
#[derive(Clone, Debug)]
pub struct OtelExporter {
    /// Full URL including the signal path, e.g. `http://127.0.0.1:PORT/v1/logs` (Codex POSTs to
    /// exactly this URL; it never appends `/v1/<signal>`).
    pub endpoint: String,
    pub protocol: OtlpProtocol,
    /// Sent as `authorization: Bearer <token>`.
    pub bearer_token: String,
}

/// Builder of an isolated Codex home (config + working directory).
pub struct CodexHomeBuilder {
    provider_base_url: String,
    otel: OtelSection,
    env: Vec<(String, String)>,
    timeout: Duration,
}

/// What goes into the `[otel]` table of the generated config.
#[derive(Clone, Debug)]
struct OtelSection {
    /// `exporter`: log events.
    logs: Option<OtelExporter>,
    /// `trace_exporter`: spans.
    traces: Option<OtelExporter>,
    /// `log_user_prompt`: the prompt text in `codex.user_prompt` (else `"[REDACTED]"`).
    log_user_prompt: bool,
}

impl Default for OtelSection {
    fn default() -> Self {
        Self {
            logs: None,
            traces: None,
            log_user_prompt: true,
        }
    }
}

impl CodexHomeBuilder {
    /// Exports Codex's OTel log events to `exporter` (`[otel] exporter`).
    pub fn otel(mut self, exporter: OtelExporter) -> Self {
        self.otel.logs = Some(exporter);
        self
    }

    /// Exports Codex's OTel traces to `exporter` (`[otel] trace_exporter`); its endpoint is the
    /// traces URL, e.g. `http://127.0.0.1:PORT/v1/traces`. Off unless called.
    pub fn trace_exporter(mut self, exporter: OtelExporter) -> Self {
        self.otel.traces = Some(exporter);
        self
    }

    /// `[otel] log_user_prompt` (default `true`): whether `codex.user_prompt` carries the prompt
    /// text or the literal `"[REDACTED]"`.
    pub fn log_user_prompt(mut self, on: bool) -> Self {
        self.otel.log_user_prompt = on;
        self
    }

    /// Extra environment for every Codex run (e.g. `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Upper bound of one `codex exec` run (default 90 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn build(self) -> Result<CodexHome> {
        let bin = codex_bin()?;
        let home = TempDir::with_prefix("steward-codex-home-").context("creating CODEX_HOME")?;
        let workdir = TempDir::with_prefix("steward-codex-work-").context("creating a workdir")?;
        let config = render_config(&self.provider_base_url, &self.otel);
        std::fs::write(home.path().join("config.toml"), config).context("writing CODEX_HOME/config.toml")?;
        Ok(CodexHome {
            bin,
            home,
            workdir,
            env: self.env,
            timeout: self.timeout,
        })
    }
}

/// The config.toml of a test run. Every key is there for a reason:
/// - a custom provider pointed at the stand-in, with retries off so a stand-in failure is
///   immediate instead of minutes of backoff;
/// - `log_user_prompt` (on unless turned off) so prompts are visible in what Steward ingests;
/// - `[analytics] enabled = false` so nothing (metrics, product analytics) tries to reach OpenAI.
///
/// The `[otel]` table is written only when an exporter is configured.
fn render_config(provider_base_url: &str, otel: &OtelSection) -> String {
    let mut s = format!(
        r#"model = "gpt-5-codex"
model_provider = "standin"

[model_providers.standin]
name = "standin"
base_url = {base}
wire_api = "responses"
env_key = "{PROVIDER_KEY_ENV}"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false
"#,
        base = toml_str(provider_base_url),
    );
    if otel.logs.is_none() && otel.traces.is_none() {
        return s;
    }
    s.push_str(&format!("\n[otel]\nlog_user_prompt = {}\n", otel.log_user_prompt));
    for (key, exporter) in [("exporter", &otel.logs), ("trace_exporter", &otel.traces)] {
        if let Some(o) = exporter {
            s.push_str(&format!("{key} = {}\n", otlp_http(o)));
        }
    }
    s
}

/// An `otlp-http` exporter as an inline TOML table.
fn otlp_http(o: &OtelExporter) -> String {
    format!(
        r#"{{ otlp-http = {{ endpoint = {endpoint}, protocol = "{protocol}", headers = {{ authorization = {auth} }} }} }}"#,
        endpoint = toml_str(&o.endpoint),
        protocol = o.protocol.as_str(),
        auth = toml_str(&format!("Bearer {}", o.bearer_token)),
    )
}

/// A TOML basic string; JSON string escaping is a valid subset of it.
fn toml_str(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// An isolated `CODEX_HOME` plus a working directory; both are deleted on drop.
pub struct CodexHome {
    bin: PathBuf,
    home: TempDir,
    workdir: TempDir,
    env: Vec<(String, String)>,
    timeout: Duration,
}

/// Output of one finished Codex run.
#[derive(Clone, Debug)]
pub struct CodexRun {
    pub stdout: String,
    pub stderr: String,
    /// The thread (conversation) id from the `thread.started` JSONL event.
    pub thread_id: String,
    /// The agent's final messages (`item.completed` of type `agent_message`).
    pub agent_messages: Vec<String>,
}

impl CodexHome {
    /// Starts building a home whose model provider is the Responses stand-in at
    /// `provider_base_url` (e.g. `ResponsesStandin::base_url()`).
    pub fn builder(provider_base_url: impl Into<String>) -> CodexHomeBuilder {
        CodexHomeBuilder {
            provider_base_url: provider_base_url.into(),
            otel: OtelSection::default(),
            env: Vec::new(),
            timeout: Duration::from_secs(90),
        }
    }

    pub fn path(&self) -> &Path {
        self.home.path()
    }

    /// The cwd of every run. `resume --last` only looks at sessions started in the same cwd.
    pub fn workdir(&self) -> &Path {
        self.workdir.path()
    }

    /// `codex exec <prompt>`: a new thread with one turn.
    pub async fn exec(&self, prompt: &str) -> Result<CodexRun> {
        self.run(&["exec"], prompt).await
    }

    /// `codex exec resume --last <prompt>`: one more turn on the most recent thread.
    pub async fn resume_last(&self, prompt: &str) -> Result<CodexRun> {
        self.run(&["exec", "resume", "--last"], prompt).await
    }

    async fn run(&self, subcommand: &[&str], prompt: &str) -> Result<CodexRun> {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(subcommand)
            // --json: machine-readable events on stdout (gives us the thread id).
            // --skip-git-repo-check: the workdir is a bare temp dir.
            // --dangerously-bypass-approvals-and-sandbox: tool calls must run without a prompt,
            //   and bubblewrap/landlock may be unavailable on CI machines.
            .args([
                "--json",
                "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox",
            ])
            .arg(prompt)
            .current_dir(self.workdir.path())
            .env("CODEX_HOME", self.home.path())
            .env(PROVIDER_KEY_ENV, "standin-dummy-key")
            // Keep a real OpenAI key of the developer's environment out of the run.
            .env_remove("OPENAI_API_KEY")
            .env_remove("CODEX_API_KEY")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // Without this Codex waits for stdin to append it to the prompt.
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let what = format!("codex {} {prompt:?}", subcommand.join(" "));
        let child = cmd.spawn().with_context(|| format!("spawning {what}"))?;
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .with_context(|| format!("{what} did not finish within {:?}", self.timeout))?
            .with_context(|| format!("waiting for {what}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            bail!(
                "{what} failed with {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
                out.status
            );
        }
        let events: Vec<Value> = stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let thread_id = events
            .iter()
            .find(|e| e["type"] == "thread.started")
            .and_then(|e| e["thread_id"].as_str())
            .map(str::to_owned)
            .with_context(|| format!("{what}: no thread.started event\n{stdout}\n{stderr}"))?;
        if let Some(failed) = events.iter().find(|e| e["type"] == "turn.failed") {
            bail!("{what}: turn failed: {failed}\n--- stderr ---\n{stderr}");
        }
        let agent_messages = events
            .iter()
            .filter(|e| e["type"] == "item.completed" && e["item"]["type"] == "agent_message")
            .filter_map(|e| e["item"]["text"].as_str().map(str::to_owned))
            .collect();
        Ok(CodexRun {
            stdout,
            stderr,
            thread_id,
            agent_messages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_valid_toml_with_the_otel_table() {
        let otel = OtelExporter {
            endpoint: "http://127.0.0.1:1/v1/logs".into(),
            protocol: OtlpProtocol::Binary,
            bearer_token: "tok\"en".into(),
        };
        let section = OtelSection {
            logs: Some(otel),
            ..OtelSection::default()
        };
        let text = render_config("http://127.0.0.1:2/v1", &section);
        let v: toml::Table = text.parse().expect("valid TOML");
        assert_eq!(v["otel"]["log_user_prompt"].as_bool(), Some(true));
        assert!(v["otel"].get("trace_exporter").is_none());
        let exp = &v["otel"]["exporter"]["otlp-http"];
        assert_eq!(exp["protocol"].as_str(), Some("binary"));
        assert_eq!(exp["headers"]["authorization"].as_str(), Some("Bearer tok\"en"));
        assert_eq!(
            v["model_providers"]["standin"]["base_url"].as_str(),
            Some("http://127.0.0.1:2/v1")
        );
        assert_eq!(v["analytics"]["enabled"].as_bool(), Some(false));
    }

    #[test]
    fn config_with_trace_exporter_and_redacted_prompts() {
        let exporter = |path: &str, protocol| OtelExporter {
            endpoint: format!("http://127.0.0.1:1{path}"),
            protocol,
            bearer_token: "tok".into(),
        };
        let section = OtelSection {
            logs: Some(exporter("/v1/logs", OtlpProtocol::Json)),
            traces: Some(exporter("/v1/traces", OtlpProtocol::Json)),
            log_user_prompt: false,
        };
        let v: toml::Table = render_config("http://127.0.0.1:2/v1", &section)
            .parse()
            .expect("valid TOML");
        let otel = &v["otel"];
        assert_eq!(otel["log_user_prompt"].as_bool(), Some(false));
        let logs = &otel["exporter"]["otlp-http"];
        let traces = &otel["trace_exporter"]["otlp-http"];
        assert_eq!(logs["endpoint"].as_str(), Some("http://127.0.0.1:1/v1/logs"));
        assert_eq!(traces["endpoint"].as_str(), Some("http://127.0.0.1:1/v1/traces"));
        assert_eq!(traces["protocol"].as_str(), Some("json"));
        assert_eq!(traces["headers"]["authorization"].as_str(), Some("Bearer tok"));
    }

    #[test]
    fn config_without_exporters_has_no_otel_table() {
        let v: toml::Table = render_config("http://127.0.0.1:2/v1", &OtelSection::default())
            .parse()
            .expect("valid TOML");
        assert!(v.get("otel").is_none());
    }
}
