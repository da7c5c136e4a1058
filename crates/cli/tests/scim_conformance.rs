//! A real SCIM client as the oracle: the pinned `scim2-tester` (through `scim2-cli`'s
//! `scim2 test`) runs its full check suite against `/scim/v2` of a real `steward serve`, and
//! every check must succeed.
//!
//! The checker discovers what to test from `/Schemas` and `/ResourceTypes`: User (RFC 7643
//! attributes except `password` and `groups`), the enterprise extension, and Group. Each
//! published attribute is created, read, filtered by `attributes` / `excludedAttributes`,
//! replaced, PATCHed (add, remove, replace) and deleted; discovery endpoints must refuse
//! other methods with 405, unknown URLs must be SCIM 404s. `scim2 test` has no JSON output:
//! each result is one line starting with its status (`SUCCESS`, `ERROR`, `SKIPPED`, ...),
//! which this test parses. No check is skipped or excluded.
//!
//! Install the checker with `scripts/install-test-deps` (scim2-tester 0.5.2, scim2-cli 0.6.0 in
//! `$STEWARD_TEST_CACHE/venv`, default `~/.cache/steward-test/venv`), or point
//! `STEWARD_TEST_SCIM2` at a `scim2` executable.

mod common;
mod compliance;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use compliance::harness::{str_field, Env, NO_AUTO_SEAL};

const SCIM2_TESTER: &str = "0.5.2";
const SCIM2_CLI: &str = "0.6.0";
/// Checks `scim2 test` 0.5.2 runs against what Steward publishes (discovery, then per
/// resource type and per attribute); fewer means part of the suite did not run.
const EXPECTED_CHECKS: usize = 133;

/// `$STEWARD_TEST_SCIM2`, else `scim2` in the test venv; fails with how to install it.
fn scim2_bin() -> PathBuf {
    let hint =
        "Run `scripts/install-test-deps` (it installs scim2-tester and scim2-cli into the test venv), \
                or set STEWARD_TEST_SCIM2 to a `scim2` executable";
    let bin = match std::env::var_os("STEWARD_TEST_SCIM2") {
        Some(p) => PathBuf::from(p),
        None => {
            let cache = std::env::var_os("STEWARD_TEST_CACHE")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/steward-test")))
                .unwrap_or_else(|| panic!("neither STEWARD_TEST_CACHE nor HOME is set. {hint}."));
            cache.join("venv/bin/scim2")
        }
    };
    assert!(
        bin.is_file(),
        "the SCIM checker `scim2` (scim2-cli {SCIM2_CLI}, scim2-tester {SCIM2_TESTER}) is not at {}. {hint}.",
        bin.display()
    );
    // The versions the expectations above were written for.
    if let Some(python) = bin.parent().map(|d| d.join("python")).filter(|p| p.is_file()) {
        let out = std::process::Command::new(&python)
            .args([
                "-c",
                "from importlib.metadata import version as v; print(v('scim2-tester'), v('scim2-cli'))",
            ])
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
        let versions = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(
            versions,
            format!("{SCIM2_TESTER} {SCIM2_CLI}"),
            "scim2-tester / scim2-cli versions in {}. {hint}.",
            python.display()
        );
    }
    bin
}

const STATUSES: [&str; 7] = [
    "SUCCESS",
    "COMPLIANT",
    "ACCEPTABLE",
    "DEVIATION",
    "ERROR",
    "CRITICAL",
    "SKIPPED",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim2_tester_passes_every_check() {
    let scim2 = scim2_bin();
    let env = Env::start(&[NO_AUTO_SEAL]).await;
    let key = str_field(
        &env.cli_json(&["keys", "create", "--scope", "scim", "--name", "scim2-tester"]),
        "key",
    );
    let url = format!("{}/scim/v2", env.server.base_url());
    let cwd = tempfile::tempdir().expect("temp cwd");
    let child = tokio::process::Command::new(&scim2)
        .args(["--url", &url, "test"])
        // The CLI reads headers from here too; the key stays out of the process list.
        .env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {key}"))
        .current_dir(cwd.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {}: {e}", scim2.display()));
    let out = tokio::time::timeout(Duration::from_secs(600), child.wait_with_output())
        .await
        .expect("scim2 test finishes within 10 minutes")
        .expect("scim2 test runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = format!("--- scim2 test stdout ---\n{stdout}\n--- stderr ---\n{stderr}");

    // One line per check: `STATUS check_name`, followed by indented reason/data lines.
    let mut results: Vec<(&str, &str)> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let lines: Vec<&str> = stdout.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some((status, title)) = line.split_once(' ') else {
            continue;
        };
        if !STATUSES.contains(&status) {
            continue;
        }
        results.push((status, title));
        if status != "SUCCESS" {
            let reason = lines.get(i + 1).copied().unwrap_or_default().trim();
            failures.push(format!("{status} {title}: {reason}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} SCIM checks did not succeed:\n  {}\n{report}",
        failures.len(),
        results.len(),
        failures.join("\n  ")
    );
    assert_eq!(
        results.len(),
        EXPECTED_CHECKS,
        "every check of the suite ran (did discovery or a resource type fail early?)\n{report}"
    );
    assert!(
        out.status.success(),
        "scim2 test exited with {}\n{report}",
        out.status
    );
    eprintln!(
        "scim2-tester {SCIM2_TESTER}: {}/{} checks SUCCESS",
        results.len(),
        EXPECTED_CHECKS
    );
}
