//! The real `steward` binary: admin commands (`--json`) and `steward serve` as a child process.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::stats::{proc_stats, ProcStats};

/// Finds the `steward` binary: `--steward`, else next to this executable (both live in
/// `target/release`), else `target/release/steward` of this workspace.
pub fn resolve_binary(given: Option<&Path>, allow_stale: bool) -> Result<PathBuf> {
    let bin = find_binary(given)?;
    if !allow_stale {
        check_fresh(&bin)?;
    }
    Ok(bin)
}

/// The bench links the store and ingest crates (dataset, ceilings, breakdown) while the server
/// is a separate binary: both must come from the same sources, or the bench would, e.g., build
/// a dataset in a schema the server does not know. Fails when a source file of a crate either
/// binary is built from is newer than one of them.
fn check_fresh(bin: &Path) -> Result<()> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    let mut stack = vec![];
    if let Ok(dir) = std::fs::read_dir(&crates) {
        for e in dir.flatten() {
            let name = e.file_name();
            if name != "bench" && name != "test-support" {
                stack.push(e.path().join("src"));
                stack.push(e.path().join("migrations"));
                stack.push(e.path().join("Cargo.toml"));
            }
        }
    }
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&p) else { continue };
        if meta.is_dir() {
            if let Ok(dir) = std::fs::read_dir(&p) {
                stack.extend(dir.flatten().map(|e| e.path()));
            }
        } else if let Ok(m) = meta.modified() {
            if newest.as_ref().is_none_or(|(t, _)| m > *t) {
                newest = Some((m, p));
            }
        }
    }
    let Some((src_time, src)) = newest else {
        return Ok(());
    };
    for exe in [bin.to_owned(), std::env::current_exe()?] {
        let built = std::fs::metadata(&exe)?.modified()?;
        if built < src_time {
            bail!(
                "{} is older than {} (edited after the build): rebuild both binaries from the same sources with \
                 `cargo build --release -p steward -p steward-bench`, or pass --allow-stale-binary",
                exe.display(),
                src.display()
            );
        }
    }
    Ok(())
}

fn find_binary(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = given {
        if p.is_file() {
            return Ok(p.to_owned());
        }
        bail!("--steward {}: no such file", p.display());
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            candidates.push(dir.join("steward"));
        }
    }
    candidates.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/release/steward"
    )));
    for c in &candidates {
        if c.is_file() {
            return Ok(c.clone());
        }
    }
    bail!(
        "steward binary not found (tried {}); build it with `cargo build --release -p steward` or pass --steward PATH",
        candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ")
    )
}

/// How to reach one store: `--data-dir DIR` plus, for PostgreSQL, `--database-url URL`.
#[derive(Debug, Clone)]
pub struct Steward {
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// Working directory of every child, so a `./steward.toml` of the caller is never picked up.
    pub cwd: PathBuf,
}

impl Steward {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.cwd);
        // Settings must come from our flags only: a STEWARD_DATABASE_URL in the caller's
        // environment would silently turn a SQLite run into a PostgreSQL one.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("STEWARD_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    fn store_args(&self) -> Vec<String> {
        let mut a = vec!["--data-dir".to_owned(), self.data_dir.display().to_string()];
        if let Some(url) = &self.database_url {
            a.push("--database-url".to_owned());
            a.push(url.clone());
        }
        a
    }

    /// Runs `steward <args> <store args> --json` and parses stdout.
    pub fn admin(&self, args: &[&str]) -> Result<Value> {
        let what = format!("steward {}", args.join(" "));
        let out = self
            .command()
            .args(args)
            .args(self.store_args())
            .arg("--json")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {what}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "{what} failed with {}\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        serde_json::from_str(stdout.trim()).with_context(|| format!("{what}: stdout is not JSON: {stdout}"))
    }

    pub fn default_workspace_id(&self) -> Result<String> {
        let list = self.admin(&["workspaces", "list"])?;
        let arr = list
            .as_array()
            .context("`workspaces list --json` is not an array")?;
        let ws = arr
            .iter()
            .find(|w| w["is_default"] == true)
            .or_else(|| arr.first())
            .context("no workspace")?;
        field(ws, "id")
    }

    /// `steward users add EMAIL` then `steward tokens create --user EMAIL`: (user id, token).
    pub fn user_with_token(&self, email: &str) -> Result<(String, String)> {
        let user = self.admin(&["users", "add", email, "--name", email])?;
        let token = self.admin(&["tokens", "create", "--user", email, "--name", "steward-bench"])?;
        Ok((field(&user, "id")?, field(&token, "token")?))
    }

    pub fn analytics_key(&self) -> Result<String> {
        let key = self.admin(&[
            "keys",
            "create",
            "--scope",
            "codex.enterprise.analytics.read",
            "--name",
            "steward-bench",
        ])?;
        field(&key, "key")
    }

    /// Starts `steward serve --listen 127.0.0.1:<free> <store args>` and waits for /healthz.
    pub async fn serve(&self, log: &Path) -> Result<Server> {
        self.serve_with(log, &[]).await
    }

    /// [`Steward::serve`] with more arguments (`--demo`).
    pub async fn serve_with(&self, log: &Path, extra: &[&str]) -> Result<Server> {
        let port = free_port()?;
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let listen = format!("127.0.0.1:{port}");
        let child = self
            .command()
            .arg("serve")
            .args(["--listen", &listen])
            .args(self.store_args())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("spawning {} serve", self.bin.display()))?;
        let mut server = Server {
            pid: child.id(),
            child: Some(child),
            base_url: format!("http://{listen}"),
            log: log.to_owned(),
        };
        server.wait_healthy().await?;
        Ok(server)
    }
}

fn field(v: &Value, name: &str) -> Result<String> {
    v[name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no string field `{name}` in {v}"))
}

pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// A running `steward serve`; SIGKILLed on drop if still running.
pub struct Server {
    child: Option<Child>,
    pub pid: u32,
    pub base_url: String,
    log: PathBuf,
}

impl Server {
    async fn wait_healthy(&mut self) -> Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}/healthz", self.base_url);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("steward serve exited early with {status}\n{}", self.logs());
                }
            }
            if let Ok(r) = http.get(&url).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("steward serve did not become healthy on {url}\n{}", self.logs())
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn stats(&self) -> ProcStats {
        proc_stats(&self.pid.to_string())
    }

    /// Graceful stop (SIGTERM: the server drains its write queue), then waits for the exit.
    /// Returns the process statistics read just before the signal.
    pub fn stop(mut self) -> Result<ProcStats> {
        let stats = self.stats();
        let Some(mut child) = self.child.take() else {
            return Ok(stats);
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    eprintln!("  note: steward serve exited with {status}");
                }
                return Ok(stats);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("steward serve did not stop within 60 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
