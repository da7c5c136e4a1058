//! ccusage (npm `ccusage`, a native binary), the usage tool people already run on their Codex
//! sessions: `steward report` is checked against it and benchmarked beside it. Installed by
//! `scripts/install-test-deps`; missing is an error with that hint.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

pub const CCUSAGE_VERSION: &str = "20.0.24";

/// `$STEWARD_TEST_CCUSAGE`, else the native binary under `~/.cache/steward-test` (npm hoists or
/// nests the optional package; both places are tried).
pub fn ccusage_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("STEWARD_TEST_CCUSAGE") {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let dir = PathBuf::from(home).join(format!(
        ".cache/steward-test/ccusage-{CCUSAGE_VERSION}/node_modules"
    ));
    let native = "@ccusage/ccusage-linux-x64/bin/ccusage";
    for p in [dir.join(native), dir.join("ccusage/node_modules").join(native)] {
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!(
        "ccusage {CCUSAGE_VERSION} is not installed under {}: run scripts/install-test-deps",
        dir.display()
    )
}

/// `ccusage codex <report> --json --offline -z UTC` over one Codex home.
pub fn codex_report(home: &Path, report: &str) -> Result<Value> {
    let bin = ccusage_bin()?;
    let out = Command::new(&bin)
        .args([
            "codex",
            report,
            "--json",
            "--offline",
            "--timezone",
            "UTC",
            "--no-color",
        ])
        .env("CODEX_HOME", home)
        .env("NO_COLOR", "1")
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "ccusage codex {report} failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "ccusage printed no JSON: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
