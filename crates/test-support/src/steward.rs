//! Runs the real `steward` binary: `steward serve` as a child process, and admin subcommands.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;
use tempfile::{NamedTempFile, TempDir};

/// How long `serve` may take to answer `GET /healthz`: migrations and `--demo` data come first,
/// and CI disks can be slow (each commit is an fsync). A wait limit, not a speed assertion.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// A `steward serve` child process; killed (SIGKILL) on drop.
pub struct StewardServer {
    child: Option<Child>,
    base_url: String,
    bin: PathBuf,
    store_args: Vec<String>,
    /// stdout and stderr of the server, appended to a file so a chatty server never blocks on a
    /// full pipe and the log can be shown when something fails.
    log: NamedTempFile,
    /// The data dir when [`StewardServer::spawn_fresh`] created it; deleted on drop.
    owned_data_dir: Option<TempDir>,
}

impl StewardServer {
    /// Starts `<bin> serve --listen 127.0.0.1:PORT --data-dir DIR <extra_args>` on a free port
    /// and waits until `GET /healthz` answers 200.
    pub async fn spawn(
        bin: &Path,
        data_dir: &Path,
        extra_args: &[&str],
        extra_env: &[(&str, &str)],
    ) -> Result<Self> {
        let port = free_port()?;
        let log = NamedTempFile::with_prefix("steward-serve-log-").context("creating a log file")?;
        let out = log.reopen().context("opening the log file")?;
        let err = out.try_clone().context("duplicating the log file handle")?;
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(bin)
            .arg("serve")
            .args(["--listen", &listen])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra_args)
            .envs(extra_env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("spawning {} serve", bin.display()))?;
        let mut server = Self {
            child: Some(child),
            base_url: format!("http://{listen}"),
            bin: bin.to_owned(),
            store_args: store_args(data_dir, extra_args),
            log,
            owned_data_dir: None,
        };
        server.wait_healthy().await?;
        Ok(server)
    }

    /// Starts a server on a new, empty data dir (SQLite) that lives as long as the server.
    pub async fn spawn_fresh(bin: &Path) -> Result<Self> {
        let dir = TempDir::with_prefix("steward-data-").context("creating a data dir")?;
        let mut server = Self::spawn(bin, dir.path(), &[], &[]).await?;
        server.owned_data_dir = Some(dir);
        Ok(server)
    }

    async fn wait_healthy(&mut self) -> Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .context("building an HTTP client")?;
        let url = format!("{}/healthz", self.base_url);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().context("polling steward serve")? {
                    bail!(
                        "steward serve exited early with {status}\n--- log ---\n{}",
                        self.logs()
                    );
                }
            }
            match http.get(&url).send().await {
                Ok(r) if r.status().as_u16() == 200 => return Ok(()),
                Ok(r) => last = format!("HTTP {}", r.status()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "steward serve did not answer 200 on {url} within {STARTUP_TIMEOUT:?} (last: {last})\n--- log ---\n{}",
            self.logs()
        )
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The OTLP logs endpoint, as configured in clients.
    pub fn logs_endpoint(&self) -> String {
        format!("{}/v1/logs", self.base_url)
    }

    /// Everything the server printed so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_else(|e| format!("(log unreadable: {e})"))
    }

    /// Kills the server with SIGKILL (no graceful shutdown), e.g. to test crash safety.
    pub fn kill_hard(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().context("killing steward serve")?;
            child.wait().context("reaping steward serve")?;
        }
        Ok(())
    }

    /// Runs an admin subcommand against the same store as this server; see [`run_admin`].
    pub fn admin(&self, args: &[&str]) -> Result<Value> {
        let store: Vec<&str> = self.store_args.iter().map(String::as_str).collect();
        run_admin(&self.bin, &store, args)
    }
}

/// Shortcuts for the admin commands most tests need (the CLI contract, `--json` output).
impl StewardServer {
    /// Id of the workspace flagged `is_default` in `steward workspaces list`.
    pub fn default_workspace_id(&self) -> Result<String> {
        let list = self.admin(&["workspaces", "list"])?;
        let ws = list
            .as_array()
            .and_then(|a| a.iter().find(|w| w["is_default"] == true))
            .with_context(|| format!("no default workspace in `workspaces list`: {list}"))?;
        string_field(ws, "id")
    }

    /// `steward users add EMAIL`; returns the user id.
    pub fn add_user(&self, email: &str) -> Result<String> {
        let user = self.admin(&["users", "add", email, "--name", email])?;
        string_field(&user, "id")
    }

    /// A per-user ingest token (`steward tokens create --user EMAIL`).
    pub fn user_ingest_token(&self, email: &str) -> Result<String> {
        string_field(&self.admin(&["tokens", "create", "--user", email])?, "token")
    }

    /// A workspace-wide ingest token (`steward tokens create --workspace`); the user is then
    /// taken from the telemetry itself (e.g. resource attribute `user.email`).
    pub fn workspace_ingest_token(&self) -> Result<String> {
        string_field(&self.admin(&["tokens", "create", "--workspace"])?, "token")
    }

    /// An Analytics API key with scope `codex.enterprise.analytics.read`.
    pub fn analytics_key(&self) -> Result<String> {
        let key = self.admin(&[
            "keys",
            "create",
            "--scope",
            "codex.enterprise.analytics.read",
            "--name",
            "integration-test",
        ])?;
        string_field(&key, "key")
    }
}

fn string_field(v: &Value, field: &str) -> Result<String> {
    v[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no string field `{field}` in {v}"))
}

impl Drop for StewardServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The options that select the store (`--data-dir` plus any `--database-url` / `--config`
/// among the serve arguments), so admin commands see what the server sees.
fn store_args(data_dir: &Path, extra_args: &[&str]) -> Vec<String> {
    let mut out = vec!["--data-dir".to_owned(), data_dir.display().to_string()];
    let mut it = extra_args.iter();
    while let Some(a) = it.next() {
        if matches!(*a, "--database-url" | "--config") {
            out.push((*a).to_owned());
            if let Some(v) = it.next() {
                out.push((*v).to_owned());
            }
        } else if a.starts_with("--database-url=") || a.starts_with("--config=") {
            out.push((*a).to_owned());
        }
    }
    out
}

/// Runs `<bin> <args> <store_args> --json` and parses its stdout as JSON.
/// `store_args` selects the store, e.g. `["--data-dir", dir]` or `["--database-url", url]`.
pub fn run_admin(bin: &Path, store_args: &[&str], args: &[&str]) -> Result<Value> {
    let what = format!("steward {}", args.join(" "));
    let out = Command::new(bin)
        .args(args)
        .args(store_args)
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {what}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "{what} failed with {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            out.status
        );
    }
    serde_json::from_str(stdout.trim()).with_context(|| {
        format!("{what}: stdout is not JSON\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}")
    })
}

/// A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; we release it for the
/// child to bind, a small race that is acceptable in tests).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr().context("reading the free port")?.port())
}
