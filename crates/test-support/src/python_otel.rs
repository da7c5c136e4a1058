//! Locates the Python interpreter of the venv holding the pinned OpenTelemetry Python SDK,
//! which tests use as a second, independent OTLP client (the first being Codex itself).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::AsyncWriteExt;

/// Version of `opentelemetry-sdk` / `opentelemetry-exporter-otlp-proto-http` installed by
/// `scripts/install-test-deps`.
pub const OTEL_PYTHON_VERSION: &str = "1.45.2";

/// `$STEWARD_TEST_PYTHON`, else `$HOME/.cache/steward-test/venv/bin/python`; checked to import
/// the SDK and the OTLP/HTTP log exporter.
pub fn otel_python() -> Result<PathBuf> {
    let python = match std::env::var_os("STEWARD_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").context("HOME is not set")?;
            PathBuf::from(home).join(".cache/steward-test/venv/bin/python")
        }
    };
    let hint = "Run `scripts/install-test-deps` (or set STEWARD_TEST_PYTHON to a python with \
                opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http)";
    if !python.is_file() {
        bail!(
            "Python venv for the OpenTelemetry SDK not found at {}. {hint}.",
            python.display()
        );
    }
    let probe = Command::new(&python)
        .args([
            "-c",
            "import opentelemetry.sdk._logs, opentelemetry.exporter.otlp.proto.http._log_exporter",
        ])
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !probe.status.success() {
        bail!(
            "{} cannot import the OpenTelemetry SDK: {}. {hint}.",
            python.display(),
            String::from_utf8_lossy(&probe.stderr).trim()
        );
    }
    Ok(python)
}

/// Runs a sender script with the SDK's interpreter, `spec` as JSON on stdin; fails with the
/// script's output if it exits non-zero. Returns its stdout.
pub async fn run_script(script: &Path, spec: &serde_json::Value) -> Result<String> {
    let python = otel_python()?;
    let mut child = tokio::process::Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawning {} {}", python.display(), script.display()))?;
    let mut stdin = child.stdin.take().context("no stdin pipe")?;
    stdin
        .write_all(spec.to_string().as_bytes())
        .await
        .context("writing the spec")?;
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .context("the OTel Python sender did not finish within 60 s")?
        .context("waiting for the OTel Python sender")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "{} failed with {}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}
